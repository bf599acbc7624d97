package cifar10

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Progress renders a transfer's progress on w. On a terminal it redraws a
// bar in place (at most every 100 ms); otherwise it prints a line every
// Interval (default 5 s). Use Update as FetchConfig.Progress and call
// Finish at the end.
type Progress struct {
	w        io.Writer
	terminal bool
	// Interval between lines when not on a terminal.
	Interval time.Duration
	now      func() time.Time
	start    time.Time
	last     time.Time
	done     int64
	total    int64
}

// NewProgress returns a progress printer for w; terminal says whether w is
// a terminal.
func NewProgress(w io.Writer, terminal bool) *Progress {
	return &Progress{w: w, terminal: terminal, Interval: 5 * time.Second, now: time.Now}
}

// Update records that done of total bytes (total -1: unknown) are on disk.
func (p *Progress) Update(done, total int64) {
	t := p.now()
	if p.start.IsZero() {
		p.start, p.last = t, t
	}
	p.done, p.total = done, total
	every := p.Interval
	if p.terminal {
		every = 100 * time.Millisecond
	}
	if t.Sub(p.last) >= every {
		p.last = t
		p.draw(t)
	}
}

// Finish draws the final state and ends the line.
func (p *Progress) Finish() {
	if p.start.IsZero() {
		return
	}
	p.draw(p.now())
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}

func (p *Progress) draw(t time.Time) {
	const mb = 1 << 20
	rate := ""
	if el := t.Sub(p.start).Seconds(); el > 0 {
		rate = fmt.Sprintf(" %.1f MB/s", float64(p.done)/mb/el)
	}
	amount := fmt.Sprintf("%.1f MB", float64(p.done)/mb)
	bar := ""
	if p.total > 0 {
		frac := min(1, float64(p.done)/float64(p.total))
		amount = fmt.Sprintf("%5.1f%% %.1f/%.1f MB", 100*frac, float64(p.done)/mb, float64(p.total)/mb)
		const width = 30
		full := int(frac * width)
		bar = "[" + strings.Repeat("=", full) + strings.Repeat(" ", width-full) + "] "
	}
	if p.terminal {
		fmt.Fprintf(p.w, "\r%s%s%s   ", bar, amount, rate)
		return
	}
	fmt.Fprintf(p.w, "downloaded %s%s\n", amount, rate)
}
