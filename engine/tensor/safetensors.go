package tensor

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
)

// Safetensors format (huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header mapping each name to {"dtype", "shape",
// "data_offsets": [begin, end)} relative to the data section, an optional
// "__metadata__" map of strings, then the raw little-endian data.

type stEntry struct {
	Dtype   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

// NamedTensor is one entry of a safetensors file.
type NamedTensor struct {
	Name   string
	Tensor *Tensor
}

// WriteSafetensors writes the tensors as F32 in the given order (names
// must be unique) with optional metadata, atomically.
func WriteSafetensors(path string, tensors []NamedTensor, metadata map[string]string) error {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	off := 0
	for _, nt := range tensors {
		if _, dup := header[nt.Name]; dup {
			return fmt.Errorf("%s: duplicate tensor name %q", path, nt.Name)
		}
		n := 4 * len(nt.Tensor.Data)
		shape := nt.Tensor.Shape
		if shape == nil {
			shape = Shape{}
		}
		header[nt.Name] = stEntry{Dtype: "F32", Shape: shape, Offsets: [2]int{off, off + n}}
		off += n
	}
	hj, err := json.Marshal(header) // map keys are sorted: deterministic bytes
	if err != nil {
		return err
	}
	for len(hj)%8 != 0 { // the format recommends aligning the data section
		hj = append(hj, ' ')
	}
	buf := make([]byte, 8, 8+len(hj)+off)
	binary.LittleEndian.PutUint64(buf, uint64(len(hj)))
	buf = append(buf, hj...)
	for _, nt := range tensors {
		for _, v := range nt.Tensor.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	return WriteFileAtomic(path, buf)
}

// ReadSafetensors reads every tensor of a safetensors file as float32
// (F32 as is, F64 and F16/BF16 converted) and its metadata.
func ReadSafetensors(path string) (map[string]*Tensor, map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return decodeSafetensors(path, raw)
}

// decodeSafetensors is ReadSafetensors of a file's bytes (path names it in
// errors). Every header number is checked before it sizes an allocation.
func decodeSafetensors(path string, raw []byte) (map[string]*Tensor, map[string]string, error) {
	if len(raw) < 8 {
		return nil, nil, fmt.Errorf("%s: not a safetensors file (%d bytes)", path, len(raw))
	}
	hl := binary.LittleEndian.Uint64(raw)
	if hl > uint64(len(raw)-8) {
		return nil, nil, fmt.Errorf("%s: header length %d exceeds file size %d", path, hl, len(raw))
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+hl], &header); err != nil {
		return nil, nil, fmt.Errorf("%s: bad header: %v", path, err)
	}
	data := raw[8+hl:]
	out := map[string]*Tensor{}
	var meta map[string]string
	names := make([]string, 0, len(header))
	for k := range header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "__metadata__" {
			if err := json.Unmarshal(header[name], &meta); err != nil {
				return nil, nil, fmt.Errorf("%s: bad metadata: %v", path, err)
			}
			continue
		}
		var e stEntry
		if err := json.Unmarshal(header[name], &e); err != nil {
			return nil, nil, fmt.Errorf("%s: tensor %q: %v", path, name, err)
		}
		size, ok := checkedSize(e.Shape)
		if !ok {
			return nil, nil, fmt.Errorf("%s: tensor %q has shape %v, want non-negative dimensions of at most 2^40 elements in all", path, name, e.Shape)
		}
		width := map[string]int{"F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1}[e.Dtype]
		if width == 0 {
			return nil, nil, fmt.Errorf("%s: tensor %q has dtype %s, want a float or integer type", path, name, e.Dtype)
		}
		b, end := e.Offsets[0], e.Offsets[1]
		if b < 0 || b > end || end > len(data) || end-b != size*width {
			return nil, nil, fmt.Errorf("%s: tensor %q: offsets [%d,%d) do not hold shape %v of %s in %d data bytes", path, name, b, end, e.Shape, e.Dtype, len(data))
		}
		t := &Tensor{Shape: Shape(e.Shape).Clone(), Data: make([]float32, size)}
		src := data[b:end]
		for i := range t.Data {
			switch e.Dtype {
			case "F32":
				t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
			case "F64":
				t.Data[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
			case "BF16":
				t.Data[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
			case "F16":
				t.Data[i] = halfToFloat(binary.LittleEndian.Uint16(src[2*i:]))
			case "I64": // e.g. PyTorch's BN num_batches_tracked counters
				t.Data[i] = float32(int64(binary.LittleEndian.Uint64(src[8*i:])))
			case "I32":
				t.Data[i] = float32(int32(binary.LittleEndian.Uint32(src[4*i:])))
			case "I16":
				t.Data[i] = float32(int16(binary.LittleEndian.Uint16(src[2*i:])))
			case "I8":
				t.Data[i] = float32(int8(src[i]))
			case "U8":
				t.Data[i] = float32(src[i])
			}
		}
		out[name] = t
	}
	return out, meta, nil
}

// halfToFloat converts an IEEE 754 binary16 value.
func halfToFloat(h uint16) float32 {
	sign := float32(1)
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * float32(math.Ldexp(frac, -24))
	case 31:
		if frac == 0 {
			return sign * float32(math.Inf(1))
		}
		return float32(math.NaN())
	}
	return sign * float32(math.Ldexp(1+frac/1024, exp-15))
}

// checkedSize is the element count of shape, or false when a dimension is
// negative or the count exceeds maxElements (so that the count times an
// element width never overflows and nothing huge is allocated from a
// header's numbers).
func checkedSize(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > maxElements/d) {
			return 0, false
		}
		n *= d
	}
	return n, true
}
