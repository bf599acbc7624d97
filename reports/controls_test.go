package reports

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadControls(t *testing.T) {
	dir := t.TempDir()
	// The shape medium_control.py writes (curve left out; it is not read).
	unit := `{"framework": "PyTorch 1.13.0a0", "model": "resnet-20", "seed": 2, "pixels": "unit", "iterations": 8000,
	  "final": {"iteration": 8000, "test_error": 12.5, "val_error": 11.9, "train_error": 9.8}}`
	// A file from before the pixels field: unit is assumed.
	old := `{"framework": "PyTorch 1.13.0a0", "model": "resnet-20", "seed": 1, "iterations": 8000,
	  "final": {"iteration": 8000, "test_error": 12.7, "val_error": 12.0, "train_error": 9.9}}`
	for name, body := range map[string]string{"b.json": unit, "a.json": old, "notes.txt": "ignored"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := LoadControls(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].File != "a.json" || cs[0].Pixels != "unit" || cs[1].Seed != 2 || cs[1].TestError != 12.5 || cs[1].Iterations != 8000 {
		t.Fatalf("controls %+v", cs)
	}
	if cs, err := LoadControls(filepath.Join(dir, "missing")); err != nil || len(cs) != 0 {
		t.Errorf("missing dir: %v %v, want none", cs, err)
	}
	// An unfinished training (final evaluation before the last iteration)
	// and a file that does not parse are errors naming the file.
	for name, body := range map[string]string{
		"c.json": `{"model": "resnet-20", "iterations": 8000, "final": {"iteration": 500}}`,
		"d.json": `{"model": `,
	} {
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadControls(bad); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
}

func TestControlNoise(t *testing.T) {
	// ours 14, 15 (squares 0.5), PyTorch 12, 13, 14 (squares 2): pooled
	// sqrt(2.5/3).
	n := controlNoise([]float64{14, 15}, []float64{12, 13, 14})
	if math.Abs(n.Margin-math.Sqrt(2.5/3)) > 1e-12 || !strings.Contains(n.Source, "ours (2 seeds) and PyTorch (3 seeds)") {
		t.Errorf("%+v", n)
	}
	if n := controlNoise([]float64{14}, []float64{12}); n.Margin != 0 {
		t.Errorf("one seed each: %+v, want no estimate", n)
	}
}
