package results

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The writer workload of the concurrency test: each writer records its own
// run, then writes batches of metrics (one transaction each) and an event
// per batch, then marks its run done. Sizes are arbitrary: enough commits to
// interleave many times, few enough to keep the test at about a second.
const (
	writerBatches   = 150
	writerBatchSize = 3 // metrics per batch: train loss, train error, lr
)

// writerEnv names the database a re-executed test binary writes to as a
// subprocess writer, and writerIDEnv its run id.
const (
	writerEnv   = "RESULTS_TEST_WRITER_DB"
	writerIDEnv = "RESULTS_TEST_WRITER_ID"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(writerEnv); path != "" {
		// Running as a subprocess writer of TestConcurrentWriters.
		if err := hammer(path, os.Getenv(writerIDEnv)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// writers is how many writers TestConcurrentWriters starts; each waits for
// all of them to have recorded their run before writing metrics, so that the
// writes overlap.
const writers = 4

// hammer opens its own handle on path and runs the writer workload for run id.
func hammer(path, id string) error {
	db, err := Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.UpsertRun(Run{ID: id, Spec: "concurrency", Name: id}); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute) // generous: subprocesses start slowly on a loaded machine
	for {
		var n int
		if err := db.sql.QueryRow(`SELECT count(*) FROM runs WHERE spec = 'concurrency'`).Scan(&n); err != nil {
			return err
		}
		if n == writers {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("writer %s: only %d of %d writers started", id, n, writers)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := db.MarkStarted(id, StartInfo{Host: id}); err != nil {
		return err
	}
	for i := range writerBatches {
		it := int64(i + 1)
		if err := db.AddMetrics([]Metric{
			{RunID: id, Iteration: it, Split: SplitTrain, Name: MetricLoss, Value: 1 / float64(it)},
			{RunID: id, Iteration: it, Split: SplitTrain, Name: MetricError, Value: float64(i)},
			{RunID: id, Iteration: it, Split: SplitTrain, Name: MetricLR, Value: 0.1},
		}); err != nil {
			return err
		}
		if err := db.AddEvent(Event{RunID: id, Iteration: it, Kind: "tick", Detail: strconv.Itoa(i)}); err != nil {
			return err
		}
		if err := db.SetProgress(id, it); err != nil {
			return err
		}
	}
	return db.MarkFinished(id, StatusDone, "")
}

// TestConcurrentWriters runs two subprocesses (re-executions of this test
// binary, as two `repro run` processes would be) and two goroutines, each
// with its own handle on one file, writing at the same time; nothing may be
// lost and the file must pass PRAGMA integrity_check.
func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.db")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	procs := []string{"proc-1", "proc-2"}
	goroutines := []string{"goroutine-1", "goroutine-2"}
	if len(procs)+len(goroutines) != writers {
		t.Fatal("writers does not match the writers started")
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(procs)+len(goroutines))
	for _, id := range procs {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), writerEnv+"="+path, writerIDEnv+"="+id)
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("subprocess %s: %v: %s", id, err, out)
			}
		})
	}
	for _, id := range goroutines {
		wg.Go(func() {
			if err := hammer(path, id); err != nil {
				errs <- fmt.Errorf("goroutine %s: %w", id, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.IntegrityCheck(); err != nil {
		t.Fatal(err)
	}
	for _, id := range append(procs, goroutines...) {
		r, err := db.GetRun(id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != StatusDone || r.Iteration != writerBatches || r.Host != id {
			t.Errorf("run %s: status %s, iteration %d, host %q; want done, %d, %q", id, r.Status, r.Iteration, r.Host, writerBatches, id)
		}
		ms, err := db.Metrics(id, MetricFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != writerBatches*writerBatchSize {
			t.Errorf("run %s: %d metrics, want %d", id, len(ms), writerBatches*writerBatchSize)
		}
		// Every loss value is exactly what was written (1/iteration).
		loss, err := db.Metrics(id, MetricFilter{Split: SplitTrain, Name: MetricLoss})
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range loss {
			if m.Iteration != int64(i+1) || m.Value != 1/float64(i+1) {
				t.Fatalf("run %s: loss %d is %+v, want 1/%d at %d", id, i, m, i+1, i+1)
			}
		}
		es, err := db.Events(id)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != writerBatches {
			t.Errorf("run %s: %d events, want %d", id, len(es), writerBatches)
		}
	}
}
