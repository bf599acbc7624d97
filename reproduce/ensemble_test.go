package reproduce

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resnet-repro/resnet-repro/results"
)

// A tiny Table 5: CIFAR-10 proxies of ResNet-18 and its option-A twin, two
// seeds each, at table5.yaml's smoke settings (width 1/8, batch 4), with 6
// iterations and 40 test images so that it trains in seconds.
const tinyEnsembleSpec = `id: tinyens
artifact: Test
title: ensemble test
kind: train
source: ensemble_test.go
dataset: imagenet
recipe: imagenet-paper
protocol: multi-scale
runs:
  - {name: resnet-18-b, model: resnet-18, shortcut: B}
  - {name: resnet-18-a, model: resnet-18, shortcut: A}
ensembles:
  - {name: both, members: [resnet-18-b, resnet-18-a]}
scales:
  smoke: {width: 0.125, batch: 4, iterations: 6, eval_interval: 3, eval_subset: 40, seeds: 2}
`

// Every member of an ensemble stores its test-set predictions, and `repro
// run` records the ensemble: the scores of the members' averaged
// probabilities. A member's own predictions reproduce its recorded top-1
// error; an ensemble with a member not trained is not evaluated and says so.
func TestEnsembleFromStoredPredictions(t *testing.T) {
	requireData(t)
	spec := filepath.Join(t.TempDir(), "tinyens.yaml")
	if err := os.WriteFile(spec, []byte(tinyEnsembleSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, t.TempDir())
	ctx := context.Background()

	partial := smoke
	partial.Only = []string{"resnet-18-a"}
	if sum, err := env.RunSpecs(ctx, []string{spec}, partial); err != nil || sum.Trained != 2 {
		t.Fatalf("resnet-18-a alone: %+v %v", sum, err)
	}
	outs, err := EvaluateEnsembles(env.DB, []string{spec}, smoke)
	if err != nil || len(outs) != 1 || outs[0].Result != nil {
		t.Fatalf("with two members untrained: %+v %v", outs, err)
	}
	if got := outs[0].String(); !strings.Contains(got, "resnet-18-b seed 1 (not trained)") || !strings.Contains(got, "resnet-18-b seed 2 (not trained)") {
		t.Errorf("outcome %q does not name the untrained members", got)
	}

	if sum, err := env.RunSpecs(ctx, []string{spec}, smoke); err != nil || sum.Trained != 2 || sum.Skipped != 2 {
		t.Fatalf("the rest: %+v %v", sum, err)
	}
	ens, err := env.DB.Ensembles("tinyens", "smoke")
	if err != nil || len(ens) != 1 {
		t.Fatalf("recorded ensembles %+v, %v", ens, err)
	}
	got := ens[0]
	if len(got.Members) != 4 || got.Images != 40 || got.Split != results.SplitTest || got.View != "single" {
		t.Fatalf("ensemble %+v: want 4 members (two runs of two seeds) on 40 test images, single view", got)
	}
	var members []*results.Predictions
	for _, id := range got.Members {
		p, ok, err := env.DB.GetPredictions(id, results.SplitTest)
		if err != nil || !ok {
			t.Fatalf("predictions of member %s: %v %v", id, ok, err)
		}
		if p.Images() != 40 || p.Classes != 10 || p.Iteration != 6 {
			t.Errorf("member %s: %d images, %d classes, iteration %d", id, p.Images(), p.Classes, p.Iteration)
		}
		own := results.Score(p.Classes, p.Labels, p.Probs)
		recorded, ok, err := env.DB.LatestMetric(id, results.SplitTest, results.MetricError)
		if err != nil || !ok {
			t.Fatalf("recorded error of %s: %v %v", id, ok, err)
		}
		// Half floats keep 11 significant bits, so the largest probability
		// stays the largest unless two lie within 2^-11 of each other
		// (none does in 40 images of these nets; a tie would count as a hit).
		if own.Top1 != recorded.Value {
			t.Errorf("member %s: top-1 error from its stored predictions %v, recorded %v", id, own.Top1, recorded.Value)
		}
		members = append(members, p)
	}
	// The recorded ensemble is the average of exactly these members.
	want, err := results.Ensemble(members)
	if err != nil {
		t.Fatal(err)
	}
	if got.Top1 != want.Top1 || got.Top5 != want.Top5 || got.Loss != want.Loss {
		t.Errorf("recorded ensemble %+v, recomputed %+v", got.Scores, want)
	}
}
