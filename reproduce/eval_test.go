package reproduce

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/resnet-repro/resnet-repro/results"
)

// TestEvaluateReproducesRun: evaluating a freshly trained run's final
// checkpoint gives, bit for bit, the test and validation numbers its
// training recorded at that iteration; its weights saved as a state dict
// and evaluated in the run's place give them too; --record adds an eval
// event.
func TestEvaluateReproducesRun(t *testing.T) {
	requireData(t)
	env := newEnv(t, t.TempDir())
	if sum, err := env.RunSpecs(context.Background(), []string{specFile(t)}, smoke); err != nil || sum.Trained != 1 {
		t.Fatalf("training: %+v %v", sum, err)
	}
	_, id := allMetrics(t, env.DB)
	saved := filepath.Join(t.TempDir(), "w.safetensors")
	res, err := env.Evaluate(context.Background(), EvalRequest{RunID: id, Record: true, SaveWeights: saved})
	if err != nil {
		t.Fatal(err)
	}
	// tinySpec: 12 iterations, the last checkpoint at 12; 100 test images.
	if res.Iteration != 12 || res.Images != 100 {
		t.Errorf("evaluated iteration %d on %d images, want 12 and 100", res.Iteration, res.Images)
	}
	check := func(what string, res EvalResult) {
		t.Helper()
		compared := 0
		for _, m := range res.Metrics {
			if m.Name == results.MetricTop5 {
				continue // not a CIFAR-10 run's metric: nothing recorded
			}
			if !m.Same() {
				t.Errorf("%s: %s/%s = %v, the run recorded %v (recorded: %v)", what, m.Split, m.Name, m.Value, m.Recorded, m.HasRecorded)
			}
			compared++
		}
		// test loss, error; val loss, error.
		if compared != 4 {
			t.Errorf("%s: compared %d metrics, want 4 (%+v)", what, compared, res.Metrics)
		}
	}
	check("latest checkpoint", res)
	again, err := env.Evaluate(context.Background(), EvalRequest{RunID: id, Weights: saved})
	if err != nil {
		t.Fatal(err)
	}
	// A state dict has no iteration of its own: saveWeights records it.
	check("saved state dict", again)
	events, err := env.DB.Events(id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range events {
		if e.Kind == EventEval {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d eval events, want 1 (only the first evaluation asked to record)", n)
	}
}
