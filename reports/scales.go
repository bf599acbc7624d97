package reports

import (
	"fmt"
	"slices"
	"strings"

	"github.com/resnet-repro/resnet-repro/experiments"
)

// writeOtherScales lists the spec's runs finished at scales other than the
// one reported, from every database read (issue 15: table6 at medium shows
// ResNet-20 at the paper's full recipe and the quick runs beside it). The
// columns are the main table's.
func (g *generator) writeOtherScales(b *strings.Builder, d *specData) error {
	// The measured columns only: analytic counts do not change with scale.
	measured := func(gs []group) []group {
		return slices.DeleteFunc(slices.Clone(gs), func(gr group) bool { return gr.key == "params" || gr.key == "flops" })
	}
	withPaper, oursOnly := tableGroups(d)
	withPaper, oursOnly = measured(withPaper), measured(oursOnly)
	var rows [][]string
	for _, scale := range experiments.Scales {
		if scale == d.Scale || scale == experiments.ScaleSmoke {
			continue
		}
		o, err := g.loadBest(d.Spec, scale)
		if err != nil {
			return err
		}
		for _, r := range o.Runs {
			if len(r.done()) == 0 {
				continue
			}
			row := []string{r.RR.Name, scale, itersText(r), fmt.Sprint(len(r.done()))}
			rows = append(rows, append(row, valueCells(r, withPaper, oursOnly)...))
		}
	}
	if len(rows) == 0 {
		return nil
	}
	header := append([]string{"run", "scale", "iterations", "seeds done"}, valueHeaders(withPaper, oursOnly)...)
	fmt.Fprintf(b, "## The same runs at other scales\n\nFinished trainings of this spec's runs at scales other than %s, from the same databases; the claims above are checked at %s only.\n\n", d.Scale, d.Scale)
	b.WriteString(mdTable(header, rows))
	b.WriteString("\n")
	return nil
}

// itersText is a run's training length: "8,000 (LR /10 at 4,000, 6,000)".
func itersText(r *runData) string {
	t := r.RR.Config.Training
	if t == nil {
		return "n/a"
	}
	s := thousands(t.Iterations)
	if len(t.Schedule.Steps) > 0 {
		var st []string
		for _, x := range t.Schedule.Steps {
			st = append(st, thousands(x))
		}
		s += " (LR /10 at " + strings.Join(st, ", ") + ")"
	}
	return s
}

// thousands formats n with comma separators: 64000 -> "64,000".
func thousands(n int) string {
	s := fmt.Sprint(n)
	var out []string
	for len(s) > 3 {
		out = append([]string{s[len(s)-3:]}, out...)
		s = s[:len(s)-3]
	}
	return strings.Join(append([]string{s}, out...), ",")
}
