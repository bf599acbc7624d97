package reproduce

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/results"
)

// sharedData is the shared CIFAR-10 copy beside the repository
// (../shared/datasets from the repo root; this package is one level down).
const sharedData = "../../shared/datasets"

// A tiny CIFAR spec: an 8-layer ResNet at width 0.5 (the smallest 6n+2
// depth, and the ResNet-110 warm-up does not apply below depth 110) on 256
// training images, evaluated every 4 iterations on 100 test images.
const tinySpec = `id: tiny
artifact: Test
title: resume test
kind: train
source: runner_test.go
dataset: cifar10
recipe: cifar-paper
runs:
  - {name: resnet-8, model: resnet-8}
scales:
  smoke: {iterations: 12, batch: 16, train_subset: 256, eval_subset: 100, eval_interval: 4, width: 0.5}
`

func requireData(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(sharedData, "cifar10")); err != nil {
		t.Fatalf("the shared CIFAR-10 copy is missing at %s (the tests need ../shared/datasets beside the repository): %v", sharedData, err)
	}
}

func newEnv(t *testing.T, dir string) *Env {
	t.Helper()
	db, err := results.Open(filepath.Join(dir, "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &Env{DB: db, Backend: backend.Reference(2), DataDir: sharedData, CheckpointDir: filepath.Join(dir, "ck")}
}

func specFile(t *testing.T) string { return writeSpec(t, "tiny.yaml", tinySpec) }

// writeSpec writes a spec's text to a file name in a temporary folder.
func writeSpec(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var smoke = RunOptions{Resolve: experiments.Options{Scale: experiments.ScaleSmoke}}

func allMetrics(t *testing.T, db *results.DB) ([]results.Metric, string) {
	t.Helper()
	runs, err := db.ListRuns(results.RunFilter{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %v, %v", runs, err)
	}
	ms, err := db.Metrics(runs[0].ID, results.MetricFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return ms, runs[0].ID
}

// uninterruptedMetrics trains spec once, uninterrupted, in a fresh
// database and returns its metrics: the reference a resumed run must match.
func uninterruptedMetrics(t *testing.T, spec string) []results.Metric {
	t.Helper()
	env := newEnv(t, t.TempDir())
	if sum, err := env.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Trained != 1 {
		t.Fatalf("uninterrupted run: %+v %v", sum, err)
	}
	ms, _ := allMetrics(t, env.DB)
	return ms
}

// sameMetrics fails the test unless got logs exactly want's metrics: the
// same (split, name, iteration) rows with the same values, bit for bit.
func sameMetrics(t *testing.T, what string, got, want []results.Metric) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d metrics, uninterrupted %d", what, len(got), len(want))
	}
	for i := range want {
		if g, w := got[i], want[i]; g.Value != w.Value || g.Iteration != w.Iteration || g.Split != w.Split || g.Name != w.Name {
			t.Errorf("%s: metric %d %s/%s@%d = %v, uninterrupted %s/%s@%d = %v", what, i, g.Split, g.Name, g.Iteration, g.Value, w.Split, w.Name, w.Iteration, w.Value)
		}
	}
}

// A run stopped mid-way (as by Ctrl-C or kill after a checkpoint) and
// resumed ends with exactly the metrics of an uninterrupted run.
func TestResumeIsExact(t *testing.T) {
	requireData(t)
	spec := specFile(t)

	want := uninterruptedMetrics(t, spec)

	dir := t.TempDir()
	part := newEnv(t, dir)
	part.StopAt = 6 // after the checkpoint at 4, before the one at 8
	if sum, err := part.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Stopped != 1 {
		t.Fatalf("interrupted run: %+v %v", sum, err)
	}
	part.StopAt = 0
	if sum, err := part.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Trained != 1 {
		t.Fatalf("resumed run: %+v %v", sum, err)
	}
	got, id := allMetrics(t, part.DB)
	// 3 evaluations (4, 8, 12) x 7 metrics: train loss, error, lr; test
	// loss, error; val (the 5k held out by the recipe's 45k/5k split) loss,
	// error.
	if len(got) != len(want) || len(want) != 3*7 {
		t.Fatalf("%d metrics resumed, %d uninterrupted", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Iteration != w.Iteration || g.Split != w.Split || g.Name != w.Name || g.Value != w.Value {
			t.Errorf("metric %d: resumed %s/%s@%d = %v, uninterrupted %v", i, g.Split, g.Name, g.Iteration, g.Value, w.Value)
		}
	}
	// The held-out 5k (eval subset: 100 of them) are evaluated each time.
	if vals, err := part.DB.Metrics(id, results.MetricFilter{Split: results.SplitVal, Name: results.MetricError}); err != nil || len(vals) != 3 {
		t.Errorf("val/error: %d values (want one per evaluation, 3), %v", len(vals), err)
	}
	events, _ := part.DB.Events(id)
	resumed := false
	for _, e := range events {
		resumed = resumed || (e.Kind == results.EventResume && e.Iteration == 4)
	}
	if !resumed {
		t.Errorf("no resume event at iteration 4: %+v", events)
	}
	// Fig. 7's responses: one per 3x3 conv of resnet-8 (stem + 3 blocks x 2).
	rs, _ := part.DB.Responses(id)
	if len(rs) != 7 {
		t.Errorf("%d layer responses, want 7", len(rs))
	}
	// A finished run is skipped.
	if sum, err := part.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Skipped != 1 {
		t.Errorf("second run of a done spec: %+v %v", sum, err)
	}
}

// Every built-in spec runs end to end at smoke scale into a temporary
// database: every training run finishes (runs shared between specs train
// once), and analytic, diagram and out-of-scope specs train nothing.
func TestEverySpecAtSmokeScale(t *testing.T) {
	requireData(t)
	specs, err := experiments.Builtin(ValidateModel)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range specs {
		ids = append(ids, s.ID)
	}
	env := newEnv(t, t.TempDir())
	sum, err := env.RunSpecs(context.Background(), ids, smoke)
	if err != nil || sum.Failed+sum.Diverged+sum.Stopped != 0 || sum.Trained == 0 {
		t.Fatalf("%+v: %v", sum, err)
	}
	runs, err := env.DB.ListRuns(results.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != sum.Trained {
		t.Errorf("%d runs recorded, %d trained", len(runs), sum.Trained)
	}
	for _, r := range runs {
		if r.Status != results.StatusDone || r.Iteration != r.Iterations {
			t.Errorf("%s/%s: %s at %d/%d", r.Spec, r.Name, r.Status, r.Iteration, r.Iterations)
		}
	}
}
