package experiments

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no spec file panics the loader or the resolver (issue 19:
// `width: .inf` panicked in the run identity); a spec that loads resolves
// at every scale or says why not. Seeded with every built-in spec.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("specs/*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no built-in specs to seed from: %v", err)
	}
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("id: x\nkind: train\nruns:\n  - {name: r, model: resnet-20, width: .inf}\n"))
	anyModel := func(string) error { return nil }
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := Parse("fuzz.yaml", raw, anyModel)
		if err != nil {
			return
		}
		for _, sc := range Scales {
			s.Resolve(Options{Scale: sc})
			s.Resolve(Options{Scale: sc, Seeds: 2, ImageNet: true})
		}
	})
}
