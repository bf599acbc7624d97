package reproduce

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// Off a terminal progress is one line per evaluation interval; on one
// (ProgressLive) a status line with iteration, loss, training error, LR,
// images/s and ETA is redrawn in place with \r, and cleared before each
// interval line.
func TestProgress(t *testing.T) {
	requireData(t)
	spec := specFile(t)
	env := newEnv(t, t.TempDir())
	env.StopAt = 5 // past the first evaluation (at 4) of tinySpec's 12 iterations
	var lines bytes.Buffer
	env.Log = &lines
	if sum, err := env.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Stopped != 1 {
		t.Fatalf("%+v %v", sum, err)
	}
	out := lines.String()
	if strings.Contains(out, "\r") || !strings.Contains(out, "iteration 4/12  train loss ") || !strings.Contains(out, "stopped at iteration 5") {
		t.Errorf("not a terminal: want plain interval lines, got:\n%q", out)
	}

	var live bytes.Buffer
	env.Log, env.Progress, env.liveEvery, env.Fresh = &live, ProgressLive, time.Nanosecond, true
	if sum, err := env.RunSpecs(context.Background(), []string{spec}, smoke); err != nil || sum.Stopped != 1 {
		t.Fatalf("%+v %v", sum, err)
	}
	out = live.String()
	// Iterations 1-3 and 5 are mid-interval: each is drawn (a nanosecond
	// has always passed); 4 ends an interval and gets its line instead.
	for _, want := range []string{"\rtiny/resnet-8 seed 1: iteration 1/12  loss ", "\rtiny/resnet-8 seed 1: iteration 3/12  loss ",
		"train error ", "lr 0.1", "images/s  ETA ", "\x1b[K", "\r\x1b[Ktiny/resnet-8 seed 1: iteration 4/12  train loss "} {
		if !strings.Contains(out, want) {
			t.Errorf("live output lacks %q:\n%q", want, out)
		}
	}
	if strings.Contains(out, "iteration 4/12  loss") {
		t.Errorf("an interval's last iteration was drawn as a status line:\n%q", out)
	}
}

// Only a terminal gets the live line: not a pipe, not /dev/null (a
// character device without termios), not a buffer; a pseudo-terminal does.
func TestIsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal to test with: %v", err)
	}
	defer pty.Close()
	for _, c := range []struct {
		name string
		w    interface{ Write([]byte) (int, error) }
		want bool
	}{
		{"pipe", w, false},
		{"/dev/null", null, false},
		{"buffer", &bytes.Buffer{}, false},
		{"pty", pty, true},
	} {
		if got := isTerminal(c.w); got != c.want {
			t.Errorf("%s: isTerminal %v, want %v", c.name, got, c.want)
		}
	}
}
