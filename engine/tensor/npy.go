package tensor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	gt "gorgonia.org/tensor"
)

// This file is the engine's one contact with gorgonia.org/tensor: .npy
// files are written through gorgonia's Dense (the project's interchange
// tensor type) and read by parseNpy, which checks every header number
// before allocating (gorgonia's reader does not; issue 19). Everything else
// works on plain slices.

var (
	npyDescr  = regexp.MustCompile(`'descr':\s*'([<>|=])([a-z])(\d+)'`)
	npyShape  = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
	npyCOrder = regexp.MustCompile(`'fortran_order':\s*False`)
)

// npyArray is a validated NumPy v1.0 file: dtype, shape and exactly the
// data bytes the shape needs.
type npyArray struct {
	order byte   // '<', '>', '|' or '='
	kind  string // "f", "i", "u", ...
	width int    // bytes per element
	shape Shape
	data  []byte
}

// maxElements bounds the element count a .npy or safetensors header may
// claim before any allocation (2^40: far beyond any CIFAR or ImageNet batch, and small
// enough that count x width never overflows an int).
const maxElements = 1 << 40

// parseNpy checks a .npy file's magic, version, dtype and shape, and that
// the file holds the data bytes the shape needs, before anything is
// allocated from the header's numbers: every dimension a non-negative
// integer, their product at most maxElements.
func parseNpy(path string, raw []byte) (*npyArray, error) {
	if len(raw) < 10 || string(raw[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("%s: not a .npy file (bad magic)", path)
	}
	hlen := int(raw[8]) | int(raw[9])<<8
	if raw[6] != 1 || raw[7] != 0 || len(raw) < 10+hlen {
		return nil, fmt.Errorf("%s: unsupported .npy version %d.%d or truncated header", path, raw[6], raw[7])
	}
	header := raw[10 : 10+hlen]
	m := npyDescr.FindSubmatch(header)
	if m == nil {
		return nil, fmt.Errorf("%s: .npy header has no dtype", path)
	}
	a := &npyArray{order: m[1][0], kind: string(m[2]), data: raw[10+hlen:]}
	if w, err := strconv.Atoi(string(m[3])); err != nil || w < 1 || w > 16 {
		return nil, fmt.Errorf("%s: .npy dtype %s%s%s has no valid width", path, m[1], m[2], m[3])
	} else {
		a.width = w
	}
	if !npyCOrder.Match(header) {
		return nil, fmt.Errorf("%s: .npy header lacks 'fortran_order': False (Fortran order is not supported)", path)
	}
	s := npyShape.FindSubmatch(header)
	if s == nil {
		return nil, fmt.Errorf("%s: .npy header has no shape", path)
	}
	// "(2, 3)", "(3,)" or "()": integers separated by commas, one trailing
	// comma allowed.
	parts := strings.Split(string(s[1]), ",")
	if strings.TrimSpace(parts[len(parts)-1]) == "" {
		parts = parts[:len(parts)-1]
	}
	for _, f := range parts {
		d, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%s: .npy shape (%s) has dimension %q, want non-negative integers", path, s[1], strings.TrimSpace(f))
		}
		a.shape = append(a.shape, d)
	}
	n, ok := checkedSize(a.shape)
	if !ok {
		return nil, fmt.Errorf("%s: .npy shape (%s) claims more than 2^40 elements", path, s[1])
	}
	if need := n * a.width; len(a.data) < need {
		return nil, fmt.Errorf("%s: truncated: %d data bytes, shape %v of %d-byte elements needs %d", path, len(a.data), a.shape, a.width, need)
	} else {
		a.data = a.data[:need]
	}
	return a, nil
}

// ReadNpyFloat32 reads a little-endian float32 .npy array. A file of
// another dtype is an error naming it (no silent conversion: exact
// comparisons with other frameworks need the same bits).
func ReadNpyFloat32(path string) (*Tensor, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeNpyFloat32(path, raw)
}

// decodeNpyFloat32 is ReadNpyFloat32 of a file's bytes (path names it in
// errors). It decodes from parseNpy's validated header and data itself:
// gorgonia's reader re-parses the header with looser rules (a shape
// "(,0)" is a scalar to it) and allocates from them unchecked.
func decodeNpyFloat32(path string, raw []byte) (*Tensor, error) {
	a, err := parseNpy(path, raw)
	if err != nil {
		return nil, err
	}
	if a.order == '>' {
		return nil, fmt.Errorf("%s: big-endian dtype >%s%d is not supported; save as little-endian", path, a.kind, a.width)
	}
	if a.kind != "f" || a.width != 4 {
		return nil, fmt.Errorf("%s: dtype %c%s%d, want float32 (<f4)", path, a.order, a.kind, a.width)
	}
	if len(a.shape) == 0 {
		return nil, fmt.Errorf("%s: a 0-d array (a scalar), want an array with dimensions", path)
	}
	t := &Tensor{Shape: a.shape, Data: make([]float32, a.shape.Size())}
	for i := range t.Data {
		t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(a.data[4*i:]))
	}
	return t, nil
}

// ReadNpyLabels reads a 1-D little-endian integer .npy array (int64,
// int32, int16, int8 or uint8) of class labels. It decodes the data
// itself: gorgonia maps int64 to Go's int, which its reader cannot decode.
func ReadNpyLabels(path string) ([]int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeNpyLabels(path, raw)
}

// decodeNpyLabels is ReadNpyLabels of a file's bytes (path names it in errors).
func decodeNpyLabels(path string, raw []byte) ([]int, error) {
	a, err := parseNpy(path, raw)
	if err != nil {
		return nil, err
	}
	kind, width := a.kind, a.width
	if a.order == '>' || (kind != "i" && kind != "u") || width > 8 || width&(width-1) != 0 || (kind == "u" && width != 1) {
		return nil, fmt.Errorf("%s: labels have dtype %c%s%d, want little-endian int64, int32, int16, int8 or uint8", path, a.order, kind, width)
	}
	if len(a.shape) != 1 {
		return nil, fmt.Errorf("%s: labels have shape %v, want one dimension", path, a.shape)
	}
	data := a.data
	out := make([]int, a.shape[0])
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
