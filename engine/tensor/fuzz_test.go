package tensor

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	gt "gorgonia.org/tensor"
)

// npyBytes builds a NumPy v1.0 file: the 10-byte preamble, the header
// padded with spaces to a multiple of 64 bytes (NumPy's format spec) and data.
func npyBytes(descr, shape string, data []byte) []byte {
	header := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }"
	for (10+len(header)+1)%64 != 0 {
		header += " "
	}
	header += "\n"
	raw := append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), byte(len(header)>>8))
	return append(append(raw, header...), data...)
}

// Each malformed header of issue 19 is refused with an error naming what
// is wrong, before anything is allocated from its numbers.
func TestNpyBadHeaders(t *testing.T) {
	cases := []struct {
		name, descr, shape string
		data               []byte
		want               string
	}{
		{"0-d array", "<f4", "()", make([]byte, 4), "0-d array"},
		{"negative dimension", "<f4", "(-1, 3, 8, 8)", nil, `dimension "-1"`},
		{"header claims more data", "<f4", "(1000, 3, 32, 32)", make([]byte, 16), "truncated"},
		{"claims 2^60 elements", "<f4", "(1073741824, 1073741824)", nil, "2^40"},
		{"not a number", "<f4", "(a, 3)", nil, `dimension "a"`},
		{"float64", "<f8", "(1,)", make([]byte, 8), "want float32"},
		{"big-endian", ">f4", "(1,)", make([]byte, 4), "big-endian"},
	}
	for _, c := range cases {
		_, err := decodeNpyFloat32("x.npy", npyBytes(c.descr, c.shape, c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	// Zero images is a valid array; callers that need images say so.
	if x, err := decodeNpyFloat32("x.npy", npyBytes("<f4", "(0, 3, 8, 8)", nil)); err != nil || x.Shape.Size() != 0 {
		t.Errorf("(0, 3, 8, 8): %v, %v; want an empty tensor", x, err)
	}
	if _, err := decodeNpyLabels("y.npy", npyBytes("<i8", "(5,)", make([]byte, 8))); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("labels claiming 5 of 1: err %v, want truncated", err)
	}
}

// Safetensors headers with a negative or huge shape, or offsets outside
// the data, are refused (issue 19: they panicked or allocated first).
func TestSafetensorsBadHeaders(t *testing.T) {
	cases := []struct{ header, want string }{
		{`{"w":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,16]}}`, "non-negative"},
		{`{"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]}}`, "2^40"},
		{`{"w":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}}`, "offsets"},
		{`{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,1600]}}`, "offsets"},
		{`{"w":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}}`, "dtype Q4"},
	}
	for _, c := range cases {
		_, _, err := decodeSafetensors("w.safetensors", stBytes(c.header, make([]byte, 16)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one mentioning %q", c.header, err, c.want)
		}
	}
}

func stBytes(header string, data []byte) []byte {
	raw := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(raw, header...), data...)
}

// FuzzDecodeNpy: no input panics; an accepted float32 array holds exactly
// its shape's elements, and labels decode to the header's count.
func FuzzDecodeNpy(f *testing.F) {
	var buf bytes.Buffer
	d := gt.New(gt.WithShape(2, 3), gt.WithBacking([]float32{1, 2, 3, 4, 5, 6}))
	if err := d.WriteNpy(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(npyBytes("<f4", "(1, 3, 2, 2)", make([]byte, 48)))
	f.Add(npyBytes("<i8", "(3,)", make([]byte, 24)))
	f.Add(npyBytes("|u1", "(2,)", []byte{1, 9}))
	f.Add(npyBytes("<f4", "()", make([]byte, 4)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if x, err := decodeNpyFloat32("f.npy", raw); err == nil && len(x.Data) != x.Shape.Size() {
			t.Fatalf("shape %v with %d values", x.Shape, len(x.Data))
		}
		decodeNpyLabels("f.npy", raw)
	})
}

// FuzzDecodeSafetensors: no input panics; every accepted tensor holds
// exactly its shape's elements.
func FuzzDecodeSafetensors(f *testing.F) {
	f.Add(stBytes(`{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"a":"b"}}`, make([]byte, 16)))
	f.Add(stBytes(`{"b":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]},"n":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}`, make([]byte, 16)))
	f.Add(stBytes(`{"w":{"dtype":"F16","shape":[0],"data_offsets":[0,0]}}`, nil))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ts, _, err := decodeSafetensors("f.safetensors", raw)
		if err != nil {
			return
		}
		for name, x := range ts {
			if len(x.Data) != x.Shape.Size() {
				t.Fatalf("%s: shape %v with %d values", name, x.Shape, len(x.Data))
			}
		}
	})
}
