package reproduce

import (
	"fmt"
	"io"
	"os"
	"time"
)

// ProgressMode says how `repro run` shows training progress on Env.Log.
type ProgressMode int

const (
	// ProgressAuto is ProgressLive when Log is a terminal, else
	// ProgressLines.
	ProgressAuto ProgressMode = iota
	// ProgressLines prints one line per evaluation interval (logs, pipes,
	// Slurm output files).
	ProgressLines
	// ProgressLive also keeps a status line (iteration, loss, training
	// error, learning rate, images/s, ETA) rewritten in place with \r
	// about once a second; the interval lines scroll above it.
	ProgressLive
)

// liveInterval is how often the live status line is redrawn.
func (e *Env) liveInterval() time.Duration {
	if e.liveEvery > 0 {
		return e.liveEvery
	}
	return time.Second
}

// live reports whether the in-place status line is shown.
func (e *Env) live() bool {
	switch e.Progress {
	case ProgressLive:
		return e.Log != nil
	case ProgressLines:
		return false
	}
	return isTerminal(e.Log)
}

// isTerminal reports whether w is a terminal (see term_*.go).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && f != nil && fileIsTerminal(f)
}

// clearLive erases the status line before another line is printed.
func (e *Env) clearLive() {
	if e.liveShown {
		io.WriteString(e.Log, "\r\x1b[K")
		e.liveShown = false
	}
}

// liveLine redraws the status line: where the run is in this interval.
// loss and trainErr are the means over the interval so far, rate is images
// per second of training in it.
func (e *Env) liveLine(j *job, it, total int, loss, trainErr, lr, rate float64) {
	fmt.Fprintf(e.Log, "\r%s: iteration %d/%d  loss %.4f  train error %.2f%%  lr %g  %.0f images/s  ETA %s\x1b[K",
		j.label, it, total, loss, trainErr, lr, rate, eta(total-it, j.cfg.Training.Batch, rate))
	e.liveShown = true
}

// progress prints the line of an evaluation interval.
func (e *Env) progress(j *job, it, total int, trainLoss, trainErr, evalErr float64, evalName string, lr, rate float64) {
	e.logf("%s: iteration %d/%d  train loss %.4f  train error %.2f%%  %s %.2f%%  lr %g  %.0f images/s  ETA %s",
		j.label, it, total, trainLoss, trainErr, evalName, evalErr, lr, rate, eta(total-it, j.cfg.Training.Batch, rate))
}

// eta is the time the remaining iterations take at rate images/s.
func eta(iterations, batch int, rate float64) time.Duration {
	if rate <= 0 {
		return 0
	}
	return (time.Duration(float64(iterations)*float64(batch)/rate) * time.Second).Round(time.Second)
}
