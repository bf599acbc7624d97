package reports

import (
	"math"
	"testing"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/results"
)

// seeds builds a run whose finished seeds measured test_error xs.
func seeds(name string, idPrefix string, xs ...float64) *runData {
	r := &runData{RR: experiments.ResolvedRun{Name: name}}
	for i, x := range xs {
		r.Seeds = append(r.Seeds, seedData{Seed: i + 1, ID: idPrefix + string(rune('a'+i)), Present: true,
			Run: results.Run{Status: results.StatusDone}, Values: map[string]float64{"test_error": x}})
	}
	return r
}

func TestPooledSeedStd(t *testing.T) {
	spec := &experiments.Spec{ID: "t"}
	// Run a: 6, 8 (mean 7, squares 1+1 = 2, 1 dof); run b: 1, 2, 3 (mean 2,
	// squares 1+0+1 = 2, 2 dof): pooled sqrt(4/3). Run c has one seed and
	// counts for nothing; run d repeats a's trainings (a shared identity).
	d := &specData{Spec: spec, Runs: []*runData{seeds("a", "x", 6, 8), seeds("b", "y", 1, 2, 3), seeds("c", "z", 5)}}
	shared := &specData{Spec: &experiments.Spec{ID: "u"}, Runs: []*runData{seeds("a", "x", 6, 8)}}
	n, ok := pooledSeedStd([]*specData{d, shared}, "test_error")
	if !ok || math.Abs(n.Margin-math.Sqrt(4.0/3)) > 1e-12 {
		t.Fatalf("pooled %v %v, want sqrt(4/3)", n, ok)
	}
	if want := "pooled seed std of test_error over a (2 seeds, t), b (3 seeds, t)"; n.Source != want {
		t.Errorf("source %q, want %q", n.Source, want)
	}
	if _, ok := pooledSeedStd([]*specData{{Spec: spec, Runs: []*runData{seeds("c", "z", 5)}}}, "test_error"); ok {
		t.Error("one seed gave a noise estimate")
	}
}

// TestNoiseDefault: with no seeds measured at a scale, error metrics fall
// back to the paper's ResNet-110 std and other metrics compare strictly.
func TestNoiseDefault(t *testing.T) {
	st, err := newStore(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &generator{st: st}
	d := &specData{Spec: &experiments.Spec{ID: "t"}, Scale: experiments.ScaleMedium}
	if n := g.noise(d, "test_error"); n.Margin != paperSeedStd {
		t.Errorf("test_error: %+v, want the paper's %v", n, paperSeedStd)
	}
	if n := g.noise(d, "response_std_mean"); n.Margin != 0 {
		t.Errorf("response_std_mean: %+v, want 0", n)
	}
}
