package tensor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSafetensorsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "w.safetensors")
	in := []NamedTensor{
		{"conv1.weight", FromData([]float32{1, 2, 3, 4, 5, 6}, 1, 2, 3)},
		{"fc.bias", FromData([]float32{-1.5}, 1)},
	}
	if err := WriteSafetensors(p, in, map[string]string{"model": "resnet-20"}); err != nil {
		t.Fatal(err)
	}
	got, meta, err := ReadSafetensors(p)
	if err != nil {
		t.Fatal(err)
	}
	if meta["model"] != "resnet-20" || len(got) != 2 {
		t.Fatalf("meta %v, %d tensors", meta, len(got))
	}
	for _, nt := range in {
		g := got[nt.Name]
		if g == nil || !g.Shape.Equal(nt.Tensor.Shape) {
			t.Fatalf("%s: got %+v", nt.Name, g)
		}
		for i := range g.Data {
			if g.Data[i] != nt.Tensor.Data[i] {
				t.Fatalf("%s[%d] = %v", nt.Name, i, g.Data[i])
			}
		}
	}
	// A truncated file is an error naming the tensor, not garbage.
	raw, _ := os.ReadFile(p)
	os.WriteFile(p, raw[:len(raw)-2], 0o644)
	if _, _, err := ReadSafetensors(p); err == nil || !strings.Contains(err.Error(), "fc.bias") && !strings.Contains(err.Error(), "conv1.weight") {
		t.Fatalf("truncated file: %v", err)
	}
}

// The .npy bytes below were written by NumPy 1.24 (np.save of
// np.arange(6, dtype='<f4').reshape(2,3) and of np.array([3, 1], dtype='<i8')).
func TestNpy(t *testing.T) {
	dir := t.TempDir()
	f32 := filepath.Join(dir, "x.npy")
	x := FromData([]float32{0, 1, 2, 3, 4, 5}, 2, 3)
	if err := WriteNpy(f32, x); err != nil {
		t.Fatal(err)
	}
	got, err := ReadNpyFloat32(f32)
	if err != nil || !got.Shape.Equal(Shape{2, 3}) || got.Data[5] != 5 {
		t.Fatalf("round trip: %v %+v", err, got)
	}
	if _, err := ReadNpyLabels(f32); err == nil || !strings.Contains(err.Error(), "dtype <f4") {
		t.Fatalf("float labels accepted: %v", err)
	}
	lab := filepath.Join(dir, "y.npy")
	header := "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }"
	for (10+len(header)+1)%64 != 0 {
		header += " "
	}
	header += "\n"
	raw := append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), 0)
	raw = append(raw, header...)
	raw = append(raw, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0)
	os.WriteFile(lab, raw, 0o644)
	labels, err := ReadNpyLabels(lab)
	if err != nil || len(labels) != 2 || labels[0] != 3 || labels[1] != 1 {
		t.Fatalf("labels %v %v", labels, err)
	}
	if _, err := ReadNpyFloat32(lab); err == nil || !strings.Contains(err.Error(), "want float32") {
		t.Fatalf("int64 accepted as float32: %v", err)
	}
	os.WriteFile(lab, raw[:len(raw)-4], 0o644)
	if _, err := ReadNpyLabels(lab); err == nil {
		t.Fatalf("truncated .npy accepted")
	}
}

// A state_dict saved from PyTorch carries BN's num_batches_tracked as an
// int64 scalar (shape []); it must load (LoadTensors then ignores it).
func TestSafetensorsInt64(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sd.safetensors")
	header := `{"bn1.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}`
	raw := []byte{byte(len(header)), 0, 0, 0, 0, 0, 0, 0}
	raw = append(append(raw, header...), 7, 0, 0, 0, 0, 0, 0, 0)
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	ts, _, err := ReadSafetensors(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := ts["bn1.num_batches_tracked"]; got == nil || len(got.Data) != 1 || got.Data[0] != 7 {
		t.Fatalf("got %+v", got)
	}
}
