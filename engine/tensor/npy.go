package tensor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	gt "gorgonia.org/tensor"
)

// This file is the engine's one contact with gorgonia.org/tensor: .npy
// files are read and written through gorgonia's Dense (the project's
// interchange tensor type); everything else works on plain slices.

var npyDescr = regexp.MustCompile(`'descr':\s*'([<>|=])([a-z])(\d+)'`)

// readNpyFloat32Dense parses a NumPy v1.0 float32 .npy file into a
// gorgonia Dense, rejecting other dtypes and big-endian data (gorgonia
// assumes little-endian).
func readNpyFloat32Dense(path string) (*gt.Dense, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) < 10 || string(raw[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("%s: not a .npy file (bad magic)", path)
	}
	hlen := int(raw[8]) | int(raw[9])<<8
	if raw[6] != 1 || len(raw) < 10+hlen {
		return nil, fmt.Errorf("%s: unsupported .npy version %d.%d or truncated header", path, raw[6], raw[7])
	}
	m := npyDescr.FindSubmatch(raw[10 : 10+hlen])
	if m == nil {
		return nil, fmt.Errorf("%s: .npy header has no dtype", path)
	}
	if string(m[1]) == ">" {
		return nil, fmt.Errorf("%s: big-endian dtype %s%s%s is not supported; save as little-endian", path, m[1], m[2], m[3])
	}
	if dt := string(m[2]) + string(m[3]); dt != "f4" {
		return nil, fmt.Errorf("%s: dtype %s%s, want float32 (<f4)", path, m[1], dt)
	}
	d := new(gt.Dense)
	if err := d.ReadNpy(bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	want := d.Shape().TotalSize() * int(d.Dtype().Size())
	if got := len(raw) - 10 - hlen; got < want {
		return nil, fmt.Errorf("%s: truncated: %d data bytes, shape %v of %s needs %d", path, got, d.Shape(), d.Dtype(), want)
	}
	return d, nil
}

// ReadNpyFloat32 reads a float32 .npy array. A file of another dtype is an
// error naming it (no silent conversion: exact comparisons with other
// frameworks need the same bits).
func ReadNpyFloat32(path string) (*Tensor, error) {
	d, err := readNpyFloat32Dense(path)
	if err != nil {
		return nil, err
	}
	if d.Dtype() != gt.Float32 {
		return nil, fmt.Errorf("%s: dtype %s, want float32", path, d.Dtype())
	}
	shape := Shape(append([]int(nil), d.Shape()...))
	data := d.Data().([]float32)
	return &Tensor{Shape: shape, Data: append([]float32(nil), data...)}, nil
}

// ReadNpyLabels reads a 1-D little-endian integer .npy array (int64,
// int32, int16, int8 or uint8) of class labels. It parses the header
// itself: gorgonia maps int64 to Go's int, which its reader cannot decode.
func ReadNpyLabels(path string) ([]int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) < 10 || string(raw[:6]) != "\x93NUMPY" || raw[6] != 1 {
		return nil, fmt.Errorf("%s: not a version 1.0 .npy file", path)
	}
	hlen := int(raw[8]) | int(raw[9])<<8
	if len(raw) < 10+hlen {
		return nil, fmt.Errorf("%s: truncated header", path)
	}
	header := raw[10 : 10+hlen]
	m := npyDescr.FindSubmatch(header)
	if m == nil {
		return nil, fmt.Errorf("%s: .npy header has no dtype", path)
	}
	kind, width := string(m[2]), 0
	fmt.Sscan(string(m[3]), &width)
	if string(m[1]) == ">" || (kind != "i" && kind != "u") || width > 8 || (kind == "u" && width != 1) {
		return nil, fmt.Errorf("%s: labels have dtype %s%s%s, want little-endian int64, int32, int16, int8 or uint8", path, m[1], m[2], m[3])
	}
	s := npyShape.FindSubmatch(header)
	if s == nil {
		return nil, fmt.Errorf("%s: .npy header has no shape", path)
	}
	dims := strings.FieldsFunc(string(s[1]), func(r rune) bool { return r == ',' || r == ' ' })
	if len(dims) != 1 {
		return nil, fmt.Errorf("%s: labels have shape (%s), want one dimension", path, s[1])
	}
	n, err := strconv.Atoi(dims[0])
	if err != nil {
		return nil, fmt.Errorf("%s: bad shape (%s)", path, s[1])
	}
	data := raw[10+hlen:]
	if len(data) < n*width {
		return nil, fmt.Errorf("%s: truncated: %d data bytes, %d labels of %d bytes need %d", path, len(data), n, width, n*width)
	}
	out := make([]int, n)
	for i := range out {
		b := data[i*width : (i+1)*width]
		switch {
		case kind == "u":
			out[i] = int(b[0])
		case width == 1:
			out[i] = int(int8(b[0]))
		case width == 2:
			out[i] = int(int16(binary.LittleEndian.Uint16(b)))
		case width == 4:
			out[i] = int(int32(binary.LittleEndian.Uint32(b)))
		default:
			out[i] = int(int64(binary.LittleEndian.Uint64(b)))
		}
	}
	return out, nil
}

var npyShape = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)

// WriteNpy writes t as a little-endian float32 .npy file, atomically.
func WriteNpy(path string, t *Tensor) error {
	d := gt.New(gt.WithShape(t.Shape...), gt.WithBacking(append([]float32(nil), t.Data...)))
	var buf bytes.Buffer
	if err := d.WriteNpy(&buf); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return WriteFileAtomic(path, buf.Bytes())
}

// WriteFileAtomic writes data to a temporary file beside path, syncs it
// and renames it over path, so readers see the old file or the whole new
// one, never a partial write.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
