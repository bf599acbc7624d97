package reproduce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/resnet-repro/resnet-repro/datasets/cifar10"
	"github.com/resnet-repro/resnet-repro/datasets/imagenet"
	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/results"
)

// Env is what a `repro run` process shares across its runs.
type Env struct {
	DB      *results.DB
	Backend backend.Backend
	// DataDir is where datasets live (see cifar10.DataDir); CIFAR-10 is
	// fetched there when missing (with a message on Log).
	DataDir string
	// CheckpointDir holds <run-id>/ckpt-<iteration>.safetensors.
	CheckpointDir string
	// Keep is how many checkpoints to keep per run (default 3).
	Keep int
	// Fresh retrains runs that are already done, discarding their data.
	Fresh bool
	// Log receives progress: a line per evaluation interval, and on a
	// terminal a live status line (see Progress).
	Log io.Writer
	// Progress chooses the live status line (default: on a terminal).
	Progress ProgressMode
	// ImageNetDir is the ILSVRC-2012 folder (train/<wnid>/, val/); empty
	// means DataDir/imagenet when that exists (see ImageNetRoot).
	ImageNetDir string
	// Offline forbids downloading data (REPRO_OFFLINE): a missing dataset
	// is an error that says how to point at a local copy.
	Offline           bool
	Host, CodeVersion string
	// AllowInexactResume lets a run resume under another backend or thread
	// count than it trained with; the segment is then recorded as not
	// bit-exact (results.Segment.Exact).
	AllowInexactResume bool
	// Heartbeat and LeaseStale time the run leases (defaultHeartbeat,
	// defaultLeaseStale when zero; tests set less).
	Heartbeat, LeaseStale time.Duration
	// MemoryLimit is the memory a run may need (TrainingFootprint); 0
	// means MachineMemory(), negative means no check. A run estimated
	// to need more is refused before anything is allocated.
	MemoryLimit int64
	// StopAt, when > 0, stops every run before that iteration as if the
	// process had been interrupted (tests use it to exercise resume).
	StopAt int

	once    sync.Once
	dataset *cifar10.Dataset
	dataErr error

	inetOnce sync.Once
	inet     *imagenet.Dataset
	inetErr  error

	holderOnce sync.Once
	holderName string // this runner in leases (holder)

	liveShown bool          // the live status line is on screen
	liveEvery time.Duration // how often it is redrawn; 0 means once a second (tests set less)
}

func (e *Env) memoryLimit() int64 {
	if e.MemoryLimit == 0 {
		return MachineMemory()
	}
	return e.MemoryLimit
}

func (e *Env) backendName() string { return e.Backend.Name() }

func (e *Env) logf(format string, args ...any) {
	if e.Log != nil {
		e.clearLive()
		fmt.Fprintf(e.Log, format+"\n", args...)
	}
}

func (e *Env) event(runID string, it int, kind, detail string) {
	if err := e.DB.Recorder(runID).Event(it, kind, detail); err != nil {
		e.logf("warning: recording event %s of %s: %v", kind, runID, err)
	}
}

// cifar loads CIFAR-10 once per process, fetching it if needed.
func (e *Env) cifar() (*cifar10.Dataset, error) {
	e.once.Do(func() {
		var path string
		if e.Offline {
			path, e.dataErr = cifar10.Locate(cifar10.DataDir(e.DataDir))
			if e.dataErr != nil {
				e.dataErr = fmt.Errorf("%w (offline: not downloading)", e.dataErr)
			}
		} else {
			path, e.dataErr = cifar10.Ensure(context.Background(), cifar10.FetchConfig{DataDir: cifar10.DataDir(e.DataDir)}, e.Log)
		}
		if e.dataErr == nil {
			e.dataset, e.dataErr = cifar10.Load(path)
		}
	})
	return e.dataset, e.dataErr
}

// dataReady opens the run's dataset (once per process), so that a missing
// or broken dataset stops `repro run` with its reason instead of failing
// every run.
func (e *Env) dataReady(j *job) error {
	switch j.cfg.Dataset {
	case "cifar10":
		_, err := e.cifar()
		return err
	case "imagenet":
		_, err := e.imagenetDataset()
		return err
	}
	return nil
}

// RunOptions selects what `repro run` does.
type RunOptions struct {
	Resolve experiments.Options
	Only    []string // run names; empty = all
	// RunIDs, when given, selects exact trainings by identity
	// (experiments.Config.ID), e.g. one Slurm array task's run.
	RunIDs []string
}

// Summary counts what a RunSpecs call did.
type Summary struct {
	Trained, Skipped, Failed, Diverged, Stopped int
	// Busy counts runs skipped because another live process trains them.
	Busy int
}

// RunSpecs trains every run of the named specs (built-in ids or spec
// files) that is not done yet, in order. A failing or diverging run is
// recorded and the others go on; the returned error summarizes failures.
func (e *Env) RunSpecs(ctx context.Context, ids []string, opts RunOptions) (Summary, error) {
	// One OS thread drives every step: the oneDNN backend's OpenMP runtime
	// keeps a worker team per calling OS thread (see package cpu).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var sum Summary
	if e.Keep <= 0 {
		e.Keep = 3
	}
	planned, err := Plan(ids, opts)
	if err != nil {
		return sum, err
	}
	if err := catalogSpecs(e.DB, ids); err != nil {
		return sum, err
	}
	jobs := make([]*job, 0, len(planned))
	for _, p := range planned {
		def, err := DefineRun(p.Config) // Plan checked that it defines
		if err != nil {
			return sum, err
		}
		jobs = append(jobs, &job{spec: p.Spec, name: p.Name, seed: p.Seed, id: p.ID, cfg: p.Config, def: def,
			label: fmt.Sprintf("%s/%s seed %d", p.Spec, p.Name, p.Seed)})
	}
	var failures []string
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			sum.Stopped++
			continue
		}
		status, err := e.prepare(j, opts.Resolve.Scale)
		if err != nil {
			return sum, err
		}
		if status == results.StatusDone {
			e.logf("%s: done already (run %s), skipping; --fresh retrains it", j.label, j.id)
			sum.Skipped++
			continue
		}
		if err := checkFits(PlannedRun{Spec: j.spec, Name: j.name, Config: j.cfg}, e.memoryLimit()); err != nil {
			return sum, err // too large for this machine: nothing of it is allocated
		}
		if err := e.dataReady(j); err != nil {
			return sum, err // no run of this dataset can train: stop with the reason
		}
		if ok, err := e.takeLease(j); err != nil {
			return sum, err
		} else if !ok {
			sum.Busy++
			continue
		}
		if r, err := e.DB.GetRun(j.id); err == nil && r.Status == results.StatusDone {
			// Another process finished it between prepare and the lease.
			e.DB.ReleaseLease(j.id, e.holder())
			e.logf("%s: done by another process meanwhile (run %s), skipping", j.label, j.id)
			sum.Skipped++
			continue
		}
		err = e.trainLeased(ctx, j)
		if errors.Is(err, ErrInexactResume) {
			return sum, err // the same settings or --allow-inexact-resume: nothing else is wrong with the run
		}
		switch {
		case err == nil: // trainLeased recorded it done
			sum.Trained++
			e.logf("%s: done", j.label)
		case errors.Is(err, errStopped):
			sum.Stopped++
			e.logf("%s: %v: `repro run` again resumes it from there", j.label, err)
		case errors.Is(err, errDiverged):
			sum.Diverged++
			e.DB.MarkFinished(j.id, results.StatusDiverged, err.Error())
			e.logf("%s: %v", j.label, err)
		default:
			sum.Failed++
			e.DB.MarkFinished(j.id, results.StatusFailed, err.Error())
			failures = append(failures, fmt.Sprintf("%s: %v", j.label, err))
			e.logf("%s: failed: %v", j.label, err)
		}
	}
	if ctx.Err() == nil {
		outcomes, err := EvaluateEnsembles(e.DB, ids, opts)
		if err != nil {
			return sum, err
		}
		for _, o := range outcomes {
			e.logf("%s", o)
		}
	}
	if len(failures) > 0 {
		return sum, fmt.Errorf("%d run(s) failed: %s", len(failures), strings.Join(failures, "; "))
	}
	return sum, nil
}

// prepare records the run in the database (or refreshes its description:
// UpsertRun never changes a status) and applies --fresh; it returns the
// run's status.
func (e *Env) prepare(j *job, scale string) (results.Status, error) {
	// The stored description is the resolved configuration plus the data
	// checksum (provenance for the reports; not part of the run's identity).
	desc := struct {
		experiments.Config
		DataChecksum string `json:"data_checksum,omitempty"`
	}{Config: j.cfg}
	if j.cfg.Dataset == "cifar10" {
		desc.DataChecksum = cifar10.ContentDigest()
	}
	cfgJSON, err := json.Marshal(desc)
	if err != nil {
		return "", err
	}
	if _, err := e.DB.GetRun(j.id); err == nil && e.Fresh {
		if err := e.DB.DeleteRunData(j.id); err != nil {
			return "", err
		}
		os.RemoveAll(filepath.Join(e.CheckpointDir, j.id))
	} else if err != nil && !errors.Is(err, results.ErrNotFound) {
		return "", err
	}
	r, err := e.DB.UpsertRun(results.Run{ID: j.id, Spec: j.spec, Name: j.name, ConfigJSON: string(cfgJSON), Scale: scale,
		Seed: int64(j.seed), Status: results.StatusPending, Iterations: int64(j.cfg.Training.Iterations)})
	if err != nil {
		return "", err
	}
	if e.Fresh {
		return results.StatusPending, nil
	}
	return r.Status, nil
}
