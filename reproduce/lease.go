package reproduce

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/resnet-repro/resnet-repro/results"
)

// Lease timing: a trainer renews its lease every defaultHeartbeat; a lease
// without a heartbeat for defaultLeaseStale belongs to a dead process (a
// killed Slurm task on another node) and may be taken over. Ten missed
// heartbeats leave room for a stalled file system.
const (
	defaultHeartbeat  = 30 * time.Second
	defaultLeaseStale = 5 * time.Minute
)

// processStart tells this process's holder name from a later process that
// reuses its pid.
var processStart = time.Now()

// envCount numbers the Envs of this process, so two runners in one process
// (tests) are two holders.
var envCount atomic.Int64

// holder names this runner in leases: host:pid:start:n.
func (e *Env) holder() string {
	e.holderOnce.Do(func() {
		e.holderName = fmt.Sprintf("%s:%d:%d:%d", e.Host, os.Getpid(), processStart.UnixNano(), envCount.Add(1))
	})
	return e.holderName
}

// processGone reports whether no process with this pid runs on this host.
func processGone(pid int) bool {
	err := syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}

// takeLease takes the run's lease for this process; false (and a log line
// naming the holder) when another live process trains it.
func (e *Env) takeLease(j *job) (bool, error) {
	stale := e.LeaseStale
	if stale <= 0 {
		stale = defaultLeaseStale
	}
	ok, held, err := e.DB.AcquireLease(results.Lease{RunID: j.id, Holder: e.holder(), Host: e.Host, PID: os.Getpid()}, stale, processGone)
	if err != nil {
		return false, err
	}
	if !ok {
		e.logf("%s: trained by another process (pid %d on %s since %s, last heartbeat %s), skipping",
			j.label, held.PID, held.Host, held.Started.Format(time.RFC3339), held.Heartbeat.Format(time.RFC3339))
	}
	return ok, nil
}

// keepLease renews the run's lease until the returned stop is called. If
// another process takes the lease over, the returned context is cancelled
// with cause results.ErrLeaseLost, so the training stops at its next
// iteration instead of writing a chimera of two trainings.
func (e *Env) keepLease(ctx context.Context, j *job) (context.Context, func()) {
	every := e.Heartbeat
	if every <= 0 {
		every = defaultHeartbeat
	}
	lctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := e.DB.RenewLease(j.id, e.holder()); errors.Is(err, results.ErrLeaseLost) {
					cancel(err)
					return
				} else if err != nil {
					e.logf("warning: %s: renewing its lease: %v", j.label, err)
				}
			}
		}
	}()
	return lctx, func() {
		close(done)
		<-finished
		cancel(nil)
		if err := e.DB.ReleaseLease(j.id, e.holder()); err != nil {
			e.logf("warning: %s: releasing its lease: %v", j.label, err)
		}
	}
}

// ErrInexactResume is returned when a run would resume under another
// backend or thread count than it trained with (Env.AllowInexactResume
// permits it).
var ErrInexactResume = errors.New("resuming would break the run's bit-exact record")

// segmentSettings checks the engine settings of a run about to train
// against its last recorded segment and says whether the new segment keeps
// the run bit-exact. A changed backend or thread count changes summation
// orders, so the numbers would no longer be the ones an uninterrupted run
// gives: refused unless e.AllowInexactResume, and then recorded as inexact.
// A run without segments (recorded before they existed) counts as exact.
func (e *Env) segmentSettings(j *job) (exact bool, err error) {
	segs, err := e.DB.Segments(j.id)
	if err != nil || len(segs) == 0 {
		return true, err
	}
	last := segs[len(segs)-1]
	backend, threads := e.backendName(), e.Backend.Threads()
	if last.Backend == backend && last.Threads == threads {
		return last.Exact, nil
	}
	if !e.AllowInexactResume {
		return false, fmt.Errorf("%s: %w: it trained with backend %s and %d threads (on %s), this process has backend %s and %d threads; "+
			"run with --backend %s --threads %d, or give --allow-inexact-resume to go on and record the run as not bit-exact",
			j.label, ErrInexactResume, last.Backend, last.Threads, last.Host, backend, threads, last.Backend, last.Threads)
	}
	e.logf("%s: resuming with backend %s and %d threads (it trained with %s and %d): recorded as no longer bit-exact",
		j.label, backend, threads, last.Backend, last.Threads)
	return false, nil
}

// cpuFeatures names the CPU and the vector extensions our kernels and
// oneDNN choose between (from /proc/cpuinfo; "" where it is unreadable).
func cpuFeatures() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	var model string
	var flags []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() && (model == "" || flags == nil) {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(key) {
		case "model name":
			model = strings.TrimSpace(val)
		case "flags":
			flags = strings.Fields(val)
		}
	}
	var have []string
	for _, x := range []string{"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_bf16"} {
		if slices.Contains(flags, x) {
			have = append(have, x)
		}
	}
	return strings.TrimSpace(model + " " + strings.Join(have, " "))
}

// trainLeased trains a job whose lease this process holds: it keeps the
// lease alive while training and gives it up after. A lease taken over by
// another process stops the training as an interruption would (its last
// checkpoint stands).
func (e *Env) trainLeased(ctx context.Context, j *job) error {
	lctx, release := e.keepLease(ctx, j)
	defer release()
	e.checkpointsOf(j).sweep()
	err := e.train(lctx, j)
	if err == nil {
		// Recorded done while the lease is still held: a process waiting
		// for the lease then finds the run done instead of resuming it at
		// its last iteration and redoing its final views.
		e.event(j.id, j.cfg.Training.Iterations, results.EventFinish, string(results.StatusDone))
		err = e.DB.MarkFinished(j.id, results.StatusDone, "")
	}
	if cause := context.Cause(lctx); errors.Is(cause, results.ErrLeaseLost) && errors.Is(err, errStopped) {
		return fmt.Errorf("%w (%v)", err, cause)
	}
	return err
}
