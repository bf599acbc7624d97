package reproduce

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"testing"

	"github.com/resnet-repro/resnet-repro/engine/tensor"
	"github.com/resnet-repro/resnet-repro/results"
)

// A tiny ResNet-110 (width 0.25: 4 to 16 channels), so that the recipe's
// warm-up applies (Sec. 4.2: depth 110 and deeper), on 256 training images:
// 28 iterations of batch 8, evaluated every 8. The warm-up averages the last
// 20 batch errors (cifar-paper's window) and the smoke scale caps it at 2
// iterations, so it ends at iteration 20, the first with a full window.
const tinyWarmupSpec = `id: tinywarm
artifact: Test
title: warm-up resume test
kind: train
source: warmup_test.go
dataset: cifar10
recipe: cifar-paper
runs:
  - {name: resnet-110, model: resnet-110}
scales:
  smoke: {iterations: 28, batch: 8, train_subset: 256, eval_subset: 50, eval_interval: 8, width: 0.25}
`

// TestWarmupWindowResumes: a warm-up run stopped at iteration 18 (its last
// checkpoint at 16 holds 16 of the window's 20 batch errors) and resumed
// ends its warm-up at the same iteration as an uninterrupted run, with the
// same metrics. Resumed instead from a checkpoint in the format written
// before the schedule held the window (the window in the trainer state's
// "window", the schedule without WarmupWindow/WarmupRecent), it does too:
// the campaign's checkpoints stay exact across the change.
func TestWarmupWindowResumes(t *testing.T) {
	requireData(t)
	spec := writeSpec(t, "tinywarm.yaml", tinyWarmupSpec)
	ref := newEnv(t, t.TempDir())
	if sum, err := ref.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Trained != 1 {
		t.Fatalf("uninterrupted run: %+v %v", sum, err)
	}
	want, id := allMetrics(t, ref.DB)
	if got := warmupEnds(t, ref.DB, id); !slices.Equal(got, []int64{20}) {
		t.Fatalf("uninterrupted run: warm-up ended at %v, want [20] (the first full window of 20)", got)
	}
	for _, oldFormat := range []bool{false, true} {
		part := newEnv(t, t.TempDir())
		part.StopAt = 18
		if sum, err := part.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Stopped != 1 {
			t.Fatalf("interrupted run: %+v %v", sum, err)
		}
		if oldFormat {
			rewriteAsOldCheckpoint(t, part.DB, id)
		}
		part.StopAt = 0
		if sum, err := part.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Trained != 1 {
			t.Fatalf("resumed run (old format %v): %+v %v", oldFormat, sum, err)
		}
		got, _ := allMetrics(t, part.DB)
		sameMetrics(t, "resumed warm-up run", got, want)
		if ends := warmupEnds(t, part.DB, id); !slices.Equal(ends, []int64{20}) {
			t.Errorf("resumed run (old format %v): warm-up ended at %v, want [20]", oldFormat, ends)
		}
	}
}

// warmupEnds lists the iterations of the run's learning-rate change events.
func warmupEnds(t *testing.T, db *results.DB, id string) []int64 {
	t.Helper()
	events, err := db.Events(id)
	if err != nil {
		t.Fatal(err)
	}
	var at []int64
	for _, e := range events {
		if e.Kind == results.EventLRChange {
			at = append(at, e.Iteration)
		}
	}
	sort.Slice(at, func(i, j int) bool { return at[i] < at[j] })
	return at
}

// rewriteAsOldCheckpoint turns the run's latest checkpoint into the format
// of checkpoints written before the schedule held the warm-up window, and
// records its new checksum.
func rewriteAsOldCheckpoint(t *testing.T, db *results.DB, id string) {
	t.Helper()
	ck, ok, err := db.LatestCheckpoint(id)
	if err != nil || !ok {
		t.Fatalf("latest checkpoint: %v %v", ok, err)
	}
	ts, meta, err := tensor.ReadSafetensors(ck.Path)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(meta["trainer_state"]), &st); err != nil {
		t.Fatal(err)
	}
	sched := st["schedule"].(map[string]any)
	recent, _ := sched["WarmupRecent"].([]any)
	if len(recent) != 16 {
		t.Fatalf("checkpoint at %d holds %d batch errors, want 16", ck.Iteration, len(recent))
	}
	st["window"] = recent
	delete(sched, "WarmupRecent")
	delete(sched, "WarmupWindow")
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	meta["trainer_state"] = string(raw)
	named := make([]tensor.NamedTensor, 0, len(ts))
	for name, x := range ts {
		named = append(named, tensor.NamedTensor{Name: name, Tensor: x})
	}
	if err := tensor.WriteSafetensors(ck.Path, named, meta); err != nil {
		t.Fatal(err)
	}
	sum, err := fileSHA256(ck.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Recorder(id).Checkpoint(int(ck.Iteration), ck.Path, sum); err != nil {
		t.Fatal(err)
	}
}
