package reports

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/resnet-repro/resnet-repro/results"
)

// mdTable renders a markdown table with tablewriter (header as given, no
// auto-formatting). Cells are escaped for markdown tables.
func mdTable(header []string, rows [][]string) string {
	var b bytes.Buffer
	tb := tablewriter.NewTable(&b, tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRenderer(renderer.NewMarkdown()))
	tb.Header(escapeAll(header))
	for _, r := range rows {
		if err := tb.Append(escapeAll(r)); err != nil {
			panic(err) // rows of strings always append
		}
	}
	if err := tb.Render(); err != nil {
		panic(err) // rendering into a buffer cannot fail
	}
	return b.String()
}

func escapeAll(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		c = strings.ReplaceAll(c, "|", `\|`)
		out[i] = strings.ReplaceAll(c, "\n", " ")
	}
	return out
}

// pct formats an error rate in percent the way the paper prints it.
func pct(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

// signed formats a difference with its sign.
func signed(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	s := strconv.FormatFloat(x, 'f', 2, 64)
	if s == "-0.00" {
		s = "0.00"
	}
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}

// millions formats a parameter count ("0.27M").
func millions(x float64) string {
	m := x / 1e6
	switch {
	case m >= 10:
		return fmt.Sprintf("%.1fM", m)
	case m >= 0.1:
		return fmt.Sprintf("%.2fM", m)
	default:
		return fmt.Sprintf("%.3fM", m)
	}
}

// giga formats multiply-adds in units of 10^9.
func giga(x float64) string { return fmt.Sprintf("%.2f", x/1e9) }

// duration formats seconds of compute as h:mm:ss.
func duration(sec float64) string {
	s := int64(math.Round(sec))
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// plural returns "1 seed" or "3 seeds".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// state describes a training that has no final numbers (or has them: "done").
func state(s seedData) string {
	if !s.Present {
		return "not run"
	}
	r := s.Run
	of := ""
	if r.Iterations > 0 {
		of = fmt.Sprintf("/%d", r.Iterations)
	}
	switch r.Status {
	case results.StatusDone:
		return "done"
	case results.StatusPending:
		if r.Iteration == 0 {
			return "not started"
		}
		return fmt.Sprintf("stopped at %d%s iterations", r.Iteration, of)
	case results.StatusSubmitted:
		if r.JobID != "" {
			return "submitted (job " + r.JobID + ")"
		}
		return "submitted"
	case results.StatusRunning:
		return fmt.Sprintf("running, %d%s iterations", r.Iteration, of)
	case results.StatusFailed:
		return fmt.Sprintf("failed at iteration %d%s", r.Iteration, of)
	case results.StatusDiverged:
		return fmt.Sprintf("diverged at iteration %d%s", r.Iteration, of)
	}
	return string(r.Status)
}

// runState describes a run without a finished seed: its seeds' states,
// consecutive equal ones grouped ("seed 1: running, 30/100 iterations;
// seeds 2-5: not run").
func runState(r *runData) string {
	if r.RR.Skipped != "" {
		return "not trained at this scale (see above)"
	}
	if len(r.Seeds) == 0 {
		return "not run"
	}
	if len(r.Seeds) == 1 {
		return state(r.Seeds[0])
	}
	var parts []string
	for i := 0; i < len(r.Seeds); {
		j := i
		st := state(r.Seeds[i])
		for j+1 < len(r.Seeds) && state(r.Seeds[j+1]) == st {
			j++
		}
		if i == j {
			parts = append(parts, fmt.Sprintf("seed %d: %s", r.Seeds[i].Seed, st))
		} else {
			parts = append(parts, fmt.Sprintf("seeds %d-%d: %s", r.Seeds[i].Seed, r.Seeds[j].Seed, st))
		}
		i = j + 1
	}
	if len(parts) == 1 {
		return "all seeds " + strings.TrimPrefix(parts[0][strings.Index(parts[0], ":")+2:], "")
	}
	return strings.Join(parts, "; ")
}
