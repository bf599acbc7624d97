package main

import (
	"bytes"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/resnet-repro/resnet-repro/results"
)

// The crash-and-fault test of issue 19: a `repro run` killed with SIGKILL
// at random moments again and again, a flipped bit in its latest
// checkpoint, and two `repro run` processes of specs that share the run,
// started at once. Each ends with exactly the uninterrupted run's metrics
// and a database that passes PRAGMA integrity_check.
func TestFaults(t *testing.T) {
	requireShared(t)
	spec := writeSpec(t, t.TempDir(), "tiny.yaml", tinyCIFAR)
	whole := t.TempDir()
	// The reference run is a process too, so that its wall time (start-up,
	// data loading, training, final views) spans the kill moments below.
	start := time.Now()
	if code, killed := startAndKill(t, runArgs(spec, whole), fromStart, 10*time.Minute); code != 0 || killed {
		t.Fatalf("uninterrupted run: exit %d", code)
	}
	took := time.Since(start)
	_, want := dbMetrics(t, filepath.Join(whole, "r.db"))

	t.Run("SIGKILL at random moments", func(t *testing.T) {
		dir := t.TempDir()
		// A fixed seed: the kill moments are the same on every run of the
		// test (logged), spread over the first half of the uninterrupted wall
		// time, so that most kills land before the end and the run advances
		// by a few checkpoints between them.
		rng := rand.New(rand.NewSource(19))
		for kill := 1; kill <= 8; kill++ {
			after := time.Duration(rng.Int63n(int64(took / 2)))
			// Odd kills count from the process start (start-up, data
			// loading, database creation); even ones from the moment the run
			// is recorded as running (training, checkpoints, final views).
			from := fromStart
			if kill%2 == 0 {
				from, after = fromRunning, after/2
			}
			exited, killed := startAndKill(t, runArgs(spec, dir), from, after)
			r, _ := dbMetrics(t, filepath.Join(dir, "r.db"))
			t.Logf("kill %d after %v: killed %v, run %s at %d/%d", kill, after.Round(time.Millisecond), killed, r.Status, r.Iteration, r.Iterations)
			integrityOK(t, filepath.Join(dir, "r.db"))
			if !killed {
				if exited != 0 {
					t.Fatalf("the unkilled run exited %d", exited)
				}
				break // it finished before the kill: nothing left to interrupt
			}
		}
		finishAndCompare(t, spec, dir, want)
	})

	t.Run("flipped bit in the latest checkpoint", func(t *testing.T) {
		dir := t.TempDir()
		if _, killed := startAndKill(t, runArgs(spec, dir), twoCheckpoints, 0); !killed {
			t.Fatal("the run ended before its checkpoint could be damaged")
		}
		tb, err := results.QueryReadOnly(filepath.Join(dir, "r.db"), "SELECT path FROM checkpoints ORDER BY iteration DESC LIMIT 1")
		if err != nil || len(tb.Rows) != 1 {
			t.Fatalf("latest checkpoint: %v %v", tb, err)
		}
		path := tb.Rows[0][0].(string)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		raw[len(raw)/2] ^= 0x10 // a bit inside the tensor data
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		errs := finishAndCompare(t, spec, dir, want)
		if !strings.Contains(errs, "rejected") {
			t.Errorf("the damaged checkpoint was not reported:\n%s", errs)
		}
	})

	t.Run("two processes, one shared run", func(t *testing.T) {
		dir := t.TempDir()
		other := writeSpec(t, t.TempDir(), "other.yaml", strings.Replace(tinyCIFAR, "id: tiny", "id: other", 1))
		var cmds [2]*exec.Cmd
		var outs [2]bytes.Buffer
		for i, s := range []string{spec, other} {
			cmds[i] = exec.Command(os.Args[0], runArgs(s, dir)...)
			cmds[i].Env = append(os.Environ(), mainEnv+"=1")
			cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
			if err := cmds[i].Start(); err != nil {
				t.Fatal(err)
			}
		}
		trained := 0
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Fatalf("process %d: %v\n%s", i, err, outs[i].String())
			}
			if strings.Contains(outs[i].String(), "trained 1") {
				trained++
			}
		}
		if trained != 1 {
			t.Errorf("the shared run was trained %d times, want once:\n%s\n---\n%s", trained, outs[0].String(), outs[1].String())
		}
		integrityOK(t, filepath.Join(dir, "r.db"))
		_, got := dbMetrics(t, filepath.Join(dir, "r.db"))
		sameAs(t, got, want)
	})
}

// Kill moments of startAndKill.
type killFrom int

const (
	fromStart      killFrom = iota // after the given time from the process start
	fromRunning                    // after the given time from the run's status becoming running
	twoCheckpoints                 // once two checkpoints are recorded (a damaged latest one leaves an older one)
)

// startAndKill starts `repro args` and sends SIGKILL at the moment from
// and after say. It returns the exit status and whether the kill hit a
// running process.
func startAndKill(t *testing.T, args []string, from killFrom, after time.Duration) (int, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	db := args[slices.Index(args, "--db")+1]
	var timer <-chan time.Time
	if from == fromStart {
		timer = time.After(after)
	}
	deadline := time.After(5 * time.Minute) // a generous bound for a loaded machine
	for {
		select {
		case <-exited:
			return cmd.ProcessState.ExitCode(), false
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("no kill moment within 5 minutes:\n%s", out.String())
		case <-timer:
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			return -1, cmd.ProcessState.ExitCode() == -1
		case <-time.After(5 * time.Millisecond):
			switch {
			case from == twoCheckpoints && recordedCheckpoints(db) >= 2:
				timer = time.After(0)
			case from == fromRunning && timer == nil && runStatus(db) == string(results.StatusRunning):
				timer = time.After(after)
			}
		}
	}
}

// runStatus is the status of the one run in the database at db, or "".
func runStatus(db string) string {
	if _, err := os.Stat(db); err != nil {
		return ""
	}
	tb, err := results.QueryReadOnly(db, "SELECT status FROM runs")
	if err != nil || len(tb.Rows) != 1 {
		return ""
	}
	s, _ := tb.Rows[0][0].(string)
	return s
}

// finishAndCompare runs spec to its end in dir and checks the metrics and
// the database; it returns the run's stderr.
func finishAndCompare(t *testing.T, spec, dir string, want []results.Metric) string {
	t.Helper()
	code, _, errs := runRepro(runArgs(spec, dir)...)
	if code != 0 {
		t.Fatalf("final run: exit %d: %s", code, errs)
	}
	integrityOK(t, filepath.Join(dir, "r.db"))
	r, got := dbMetrics(t, filepath.Join(dir, "r.db"))
	if r.Status != results.StatusDone || r.Iteration != r.Iterations {
		t.Fatalf("final run %s at %d/%d", r.Status, r.Iteration, r.Iterations)
	}
	sameAs(t, got, want)
	return errs
}

func sameAs(t *testing.T, got, want []results.Metric) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d metrics, uninterrupted %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Iteration != w.Iteration || g.Split != w.Split || g.Name != w.Name || g.Value != w.Value {
			t.Errorf("metric %d: %s/%s@%d = %v, uninterrupted %s/%s@%d = %v", i, g.Split, g.Name, g.Iteration, g.Value, w.Split, w.Name, w.Iteration, w.Value)
		}
	}
}

func integrityOK(t *testing.T, db string) {
	t.Helper()
	tb, err := results.QueryReadOnly(db, "PRAGMA integrity_check")
	if err != nil || len(tb.Rows) != 1 || tb.Rows[0][0] != "ok" {
		t.Fatalf("%s: integrity_check %v %v", db, tb, err)
	}
}
