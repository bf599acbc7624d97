package reports

import (
	"fmt"
	"strings"

	"github.com/resnet-repro/resnet-repro/models"
)

// writeAnalytic writes Table 1 from the model zoo's analytic counts: the
// stage layout of the residual nets in the paper's form, then every run's
// parameters and multiply-adds beside the paper's FLOPs.
func (g *generator) writeAnalytic(b *strings.Builder, d *specData) {
	var nets []*runData
	for _, r := range d.Runs {
		if r.Layout != nil && r.Layout.Family == models.ImageNet && strings.HasPrefix(r.RR.Config.Model, "resnet-") {
			nets = append(nets, r)
		}
	}
	if len(nets) > 0 {
		b.WriteString("## Architectures (from the model definitions)\n\n")
		header := []string{"layer name", "output size"}
		for _, r := range nets {
			header = append(header, strings.TrimPrefix(r.RR.Config.Model, "resnet-")+"-layer")
		}
		var rows [][]string
		for i, st := range nets[0].Layout.Stages {
			row := []string{st.Name, st.Output}
			for _, r := range nets {
				if i >= len(r.Layout.Stages) {
					row = append(row, "n/a")
					continue
				}
				s := r.Layout.Stages[i]
				cell := s.Block
				if s.Blocks > 1 || strings.HasPrefix(s.Block, "[") {
					cell = fmt.Sprintf("%s x%d", s.Block, s.Blocks)
				}
				row = append(row, cell)
			}
			rows = append(rows, row)
		}
		row := []string{"FLOPs (paper)", ""}
		for _, r := range nets {
			row = append(row, fmtPaperFlops(r.RR.Paper))
		}
		rows = append(rows, row)
		row = []string{"multiply-adds (ours)", ""}
		for _, r := range nets {
			row = append(row, fmt.Sprintf("%.2fx10^9", float64(r.Layout.MACs)/1e9))
		}
		rows = append(rows, row)
		b.WriteString(mdTable(header, rows))
		b.WriteString("\n")
	}
	b.WriteString("## Complexity of every network\n\n")
	var rows [][]string
	for _, r := range d.Runs {
		if r.Layout == nil {
			rows = append(rows, []string{r.RR.Name, r.RR.Config.Shortcut, "not defined", "not defined", fmtPaperFlops(r.RR.Paper), "n/a", "n/a"})
			continue
		}
		macs := float64(r.Layout.MACs)
		delta, ratio := "n/a", "n/a"
		if p, ok := r.RR.Paper["flops"]; ok {
			delta = signed((macs - p) / 1e9)
			ratio = fmt.Sprintf("%.3f", macs/p)
		}
		sc := r.Layout.Shortcut
		if sc == "" {
			sc = "none"
		}
		pf := "n/a"
		if p, ok := r.RR.Paper["flops"]; ok {
			pf = giga(p)
		}
		rows = append(rows, []string{r.RR.Name, sc, millions(float64(r.Layout.Params)), giga(macs), pf, delta, ratio})
	}
	b.WriteString(mdTable([]string{"network", "shortcut", "params", "our multiply-adds (10^9)", "paper FLOPs (10^9)", "Δ (10^9)", "ours / paper"}, rows))
	fmt.Fprintf(b, "\nCounted: %s (`models.Counter`), at 224x224 input and 1000 classes. Δ is ours minus the paper's.\n\n", models.Counter)
	var notes []string
	for _, r := range d.Runs {
		if r.RR.Note != "" {
			notes = append(notes, fmt.Sprintf("- %s: %s", r.RR.Name, r.RR.Note))
		}
	}
	if len(notes) > 0 {
		b.WriteString(strings.Join(notes, "\n") + "\n\n")
	}
}

func fmtPaperFlops(p map[string]float64) string {
	if v, ok := p["flops"]; ok {
		return fmt.Sprintf("%.1fx10^9", v/1e9)
	}
	return "n/a"
}
