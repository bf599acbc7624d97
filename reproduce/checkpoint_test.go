package reproduce

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resnet-repro/resnet-repro/results"
)

// TestResumeRejectsBadCheckpoint: with its latest checkpoint damaged (one
// flipped bit, a truncated or empty file, a deleted file), an interrupted run
// resumes from the previous kept checkpoint, sets the bad one aside with an
// event, and ends with exactly the metrics of an uninterrupted run (issue
// 19: before, a flipped bit gave a "done" run with other numbers). With
// every checkpoint damaged the run fails with a message, is not marked done,
// and the next `repro run` trains it from its start to the same numbers.
func TestResumeRejectsBadCheckpoint(t *testing.T) {
	requireData(t)
	spec := specFile(t)
	want := uninterruptedMetrics(t, spec)
	damage := map[string]func(path string) error{
		"flipped bit": func(p string) error {
			raw, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			raw[len(raw)/2] ^= 0x10 // a bit inside the tensor data
			return os.WriteFile(p, raw, 0o600)
		},
		"truncated": func(p string) error { return os.Truncate(p, 100) },
		"empty":     func(p string) error { return os.Truncate(p, 0) },
		"deleted":   os.Remove,
	}
	for name, harm := range damage {
		t.Run(name, func(t *testing.T) {
			part := newEnv(t, t.TempDir())
			part.StopAt = 10 // checkpoints at 4 and 8 (every 4 iterations)
			if sum, err := part.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Stopped != 1 {
				t.Fatalf("interrupted run: %+v %v", sum, err)
			}
			_, id := allMetrics(t, part.DB)
			latest, ok, err := part.DB.LatestCheckpoint(id)
			if err != nil || !ok || latest.Iteration != 8 {
				t.Fatalf("latest checkpoint %+v %v %v, want iteration 8", latest, ok, err)
			}
			if err := harm(latest.Path); err != nil {
				t.Fatal(err)
			}
			part.StopAt = 0
			if sum, err := part.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Trained != 1 {
				t.Fatalf("resumed run: %+v %v", sum, err)
			}
			got, _ := allMetrics(t, part.DB)
			sameMetrics(t, name, got, want)
			events, _ := part.DB.Events(id)
			var rejected, resumedAt4 bool
			for _, e := range events {
				rejected = rejected || (e.Kind == EventCheckpointRejected && e.Iteration == 8)
				resumedAt4 = resumedAt4 || (e.Kind == results.EventResume && e.Iteration == 4)
			}
			if !rejected || !resumedAt4 {
				t.Errorf("events %+v: want the checkpoint at 8 rejected and a resume at 4", events)
			}
			if name != "deleted" {
				if _, err := os.Stat(latest.Path + rejectedSuffix); err != nil {
					t.Errorf("the rejected checkpoint was not set aside: %v", err)
				}
			}
		})
	}
	t.Run("all damaged", func(t *testing.T) {
		part := newEnv(t, t.TempDir())
		part.StopAt = 10
		if sum, err := part.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Stopped != 1 {
			t.Fatalf("interrupted run: %+v %v", sum, err)
		}
		_, id := allMetrics(t, part.DB)
		cks, _ := part.DB.Checkpoints(id)
		for _, ck := range cks {
			if err := os.Truncate(ck.Path, 0); err != nil {
				t.Fatal(err)
			}
		}
		part.StopAt = 0
		sum, err := part.RunSpecs(context.Background(), []string{spec}, smoke)
		if err == nil || sum.Failed != 1 || !strings.Contains(err.Error(), "no valid checkpoint left (2 rejected") {
			t.Fatalf("resume with no valid checkpoint: %+v %v", sum, err)
		}
		if r, _ := part.DB.GetRun(id); r.Status == results.StatusDone {
			t.Fatal("a run with no valid checkpoint was marked done")
		}
		if sum, err := part.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Trained != 1 {
			t.Fatalf("retry from the start: %+v %v", sum, err)
		}
		got, _ := allMetrics(t, part.DB)
		sameMetrics(t, "retrained from the start", got, want)
	})
}

// What a kill leaves in a run's checkpoint folder (issue 19: a temporary
// file of an interrupted atomic write, a whole checkpoint each at paper
// scale; a checkpoint file whose record pruning had deleted) is removed
// when the run resumes, the set-aside kind is kept, and the run's metrics
// are an uninterrupted run's.
func TestResumeSweepsLeftovers(t *testing.T) {
	requireData(t)
	spec := specFile(t)
	want := uninterruptedMetrics(t, spec)
	part := newEnv(t, t.TempDir())
	part.StopAt = 10
	if sum, err := part.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Stopped != 1 {
		t.Fatalf("interrupted run: %+v %v", sum, err)
	}
	_, id := allMetrics(t, part.DB)
	dir := filepath.Join(part.CheckpointDir, id)
	leftovers := []string{".ckpt-00000012.safetensors.tmp123456", "ckpt-00000002.safetensors"}
	kept := "ckpt-00000001.safetensors" + rejectedSuffix
	for _, name := range append(leftovers, kept) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	part.StopAt = 0
	if sum, err := part.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Trained != 1 {
		t.Fatalf("resumed run: %+v %v", sum, err)
	}
	got, _ := allMetrics(t, part.DB)
	sameMetrics(t, "swept", got, want)
	for _, name := range leftovers {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
		t.Errorf("the set-aside %s was removed: %v", kept, err)
	}
}
