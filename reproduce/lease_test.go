package reproduce

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/results"
)

// TestTwoRunnersTrainOnce: two runners started at once on the same spec and
// database (as `repro run fig1` and `repro run fig6` sharing runs) train the
// run once: the other finds it leased (busy) or done, and the stored metrics
// are one clean trajectory (issue 19: before, both trained it and the stored
// run matched neither).
func TestTwoRunnersTrainOnce(t *testing.T) {
	requireData(t)
	spec := specFile(t)
	want := uninterruptedMetrics(t, spec)

	dir := t.TempDir()
	envs := []*Env{newEnv(t, dir), nil}
	db2, err := results.Open(filepath.Join(dir, "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	envs[1] = &Env{DB: db2, Backend: backend.Reference(2), DataDir: sharedData, CheckpointDir: filepath.Join(dir, "ck")}
	sums := make([]Summary, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, e := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[i], errs[i] = e.RunSpecs(context.Background(), []string{spec}, smoke)
		}()
	}
	wg.Wait()
	for i := range errs {
		if errs[i] != nil {
			t.Fatalf("runner %d: %v", i, errs[i])
		}
	}
	if trained := sums[0].Trained + sums[1].Trained; trained != 1 {
		t.Fatalf("the run was trained %d times (%+v, %+v), want once", trained, sums[0], sums[1])
	}
	got, id := allMetrics(t, envs[0].DB)
	sameMetrics(t, "two runners", got, want)
	events, _ := envs[0].DB.Events(id)
	starts := 0
	for _, e := range events {
		if e.Kind == results.EventStart || e.Kind == results.EventResume {
			starts++
		}
	}
	if starts != 1 {
		t.Errorf("%d start/resume events, want 1: %+v", starts, events)
	}
	if _, held, _ := envs[0].DB.GetLease(id); held {
		t.Error("the lease is still held after training")
	}
}

// TestResumeWithOtherThreads: a run that trained with 2 threads refuses to
// resume with 1 (its numbers would no longer be an uninterrupted run's),
// without marking the run failed; with AllowInexactResume it resumes and
// its new segment is recorded as not exact.
func TestResumeWithOtherThreads(t *testing.T) {
	requireData(t)
	spec := specFile(t)
	dir := t.TempDir()
	env := newEnv(t, dir)
	env.StopAt = 6
	if sum, err := env.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Stopped != 1 {
		t.Fatalf("interrupted run: %+v %v", sum, err)
	}
	_, id := allMetrics(t, env.DB)
	env.StopAt = 0
	env.Backend = backend.Reference(1)
	_, err := env.RunSpecs(context.Background(), []string{spec}, smoke)
	if !errors.Is(err, ErrInexactResume) {
		t.Fatalf("resume with 1 thread: %v, want ErrInexactResume", err)
	}
	if r, _ := env.DB.GetRun(id); r.Status == results.StatusFailed || r.Status == results.StatusDone {
		t.Errorf("refused resume left the run %s", r.Status)
	}
	env.AllowInexactResume = true
	if sum, err := env.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Trained != 1 {
		t.Fatalf("allowed inexact resume: %+v %v", sum, err)
	}
	segs, err := env.DB.Segments(id)
	if err != nil {
		t.Fatal(err)
	}
	// tinySpec: checkpoints every 4 iterations; stopped at 6, so the first
	// segment ends at its checkpoint 4 and the second runs 4 -> 12.
	if len(segs) != 2 || !segs[0].Exact || segs[0].Threads != 2 || segs[0].ToIteration != 4 ||
		segs[1].Exact || segs[1].Threads != 1 || segs[1].FromIteration != 4 || segs[1].ToIteration != 12 {
		t.Errorf("segments %+v", segs)
	}
}
