package reports

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/resnet-repro/resnet-repro/experiments"
)

// Artifact statuses of the index.
const (
	StatusReproduced = "reproduced"
	StatusPartly     = "partly"
	StatusNotHeld    = "not held"
	StatusNotRun     = "not run"
	StatusOutOfScope = "out of scope"
)

// claimCounts counts verdicts by status.
func claimCounts(vs []experiments.Verdict) (held, notHeld, withinNoise, notMeasurable int) {
	for _, v := range vs {
		switch v.Status {
		case experiments.Held:
			held++
		case experiments.NotHeld:
			notHeld++
		case experiments.WithinNoise:
			withinNoise++
		default:
			notMeasurable++
		}
	}
	return
}

// runCounts counts runs with every seed done and runs with some training
// in the database.
func runCounts(d *specData) (done, started int) {
	for _, r := range d.Runs {
		if len(r.Seeds) > 0 && len(r.done()) == len(r.Seeds) {
			done++
		}
		if slices.ContainsFunc(r.Seeds, func(s seedData) bool { return s.Present }) {
			started++
		}
	}
	return
}

// artifactStatus decides an artifact's status:
//
//	out of scope  the spec says so
//	not run       a train spec with no finished training
//	not held      claims were measured and none held
//	partly        some claims held and some did not, or one is within
//	              noise, or not every run is done, or a claim lacks data
//	              at this scale
//	reproduced    every run done (or analytic) and every measurable claim
//	              held
//
// A claim restricted to other scales (experiments.Claim.Scales) does not
// count against "reproduced"; the index says how many there are.
func artifactStatus(d *specData, vs []experiments.Verdict) string {
	if d.Spec.Kind == experiments.KindOutOfScope {
		return StatusOutOfScope
	}
	held, notHeld, noisy, _ := claimCounts(vs)
	lacking := 0
	for i, v := range vs {
		if v.Status == experiments.NotMeasurable && d.Res.Claims[i].AppliesAt(scaleOr(d)) {
			lacking++
		}
	}
	allDone := true
	if d.Spec.Kind == experiments.KindTrain {
		done, _ := runCounts(d)
		anyDone := slices.ContainsFunc(d.Runs, func(r *runData) bool { return len(r.done()) > 0 })
		if !anyDone {
			return StatusNotRun
		}
		allDone = done == len(d.Runs)
	}
	switch {
	case notHeld > 0 && held == 0:
		return StatusNotHeld
	case notHeld > 0 || noisy > 0 || !allDone || lacking > 0:
		return StatusPartly
	}
	return StatusReproduced
}

func scaleOr(d *specData) string {
	if d.Scale == "" {
		return experiments.ScalePaper
	}
	return d.Scale
}

// index writes README.md: every artifact with its status, the headline
// comparison and the provenance of the numbers.
func (g *generator) index(all []*specData) string {
	var b strings.Builder
	b.WriteString(g.header())
	b.WriteString("# Reproduction reports: He et al. 2016, Deep Residual Learning for Image Recognition\n\n")
	b.WriteString("One report per table and figure of the paper, with the paper's numbers beside ours and the paper's claims checked on our data. Every number states the scale it was measured at; runs that have not finished show their state, never a number.\n\n")
	b.WriteString("## Artifacts\n\n")
	var rows [][]string
	for _, d := range all {
		vs := g.verdicts(d)
		st := artifactStatus(d, vs)
		scale := d.Scale
		if scale == "" {
			scale = "n/a (" + map[string]string{experiments.KindAnalytic: "analytic", experiments.KindDiagram: "diagram",
				experiments.KindOutOfScope: "not run"}[d.Spec.Kind] + ")"
		}
		if d.Proxy {
			scale += ", CIFAR-10 proxy"
		}
		claims := "none"
		if len(vs) > 0 {
			h, n, w, m := claimCounts(vs)
			claims = fmt.Sprintf("%d held, %d not held, %d within noise, %d not yet measurable", h, n, w, m)
		}
		runs := "n/a"
		switch d.Spec.Kind {
		case experiments.KindTrain:
			done, started := runCounts(d)
			runs = fmt.Sprintf("%d of %d done", done, len(d.Runs))
			if started > done {
				runs += fmt.Sprintf(", %d more started", started-done)
			}
		case experiments.KindAnalytic, experiments.KindDiagram:
			runs = "analytic"
		case experiments.KindOutOfScope:
			claims = upperFirst(d.Spec.Reason)
		}
		rows = append(rows, []string{fmt.Sprintf("[%s](%s.md)", d.Spec.Artifact, d.Spec.ID), d.Spec.Title, st, scale, runs, claims})
	}
	b.WriteString(mdTable([]string{"artifact", "title", "status", "scale", "runs", "claims (or reason)"}, rows))
	b.WriteString("\nStatus: reproduced (every run done and every claim measurable at this scale held), partly (some claims held and some not, or a claim within seed noise, or runs or data missing), not held (no measured claim held), not run, out of scope.\n\n")
	g.headline(&b, all)
	g.provenance(&b, all)
	return b.String()
}

// headline writes the paper's error numbers beside ours for every table
// that has them.
func (g *generator) headline(b *strings.Builder, all []*specData) {
	b.WriteString("## Headline comparison\n\n")
	var rows [][]string
	for _, d := range all {
		if d.Spec.Kind != experiments.KindTrain || !strings.HasPrefix(d.Spec.ID, "table") {
			continue
		}
		withPaper, _ := tableGroups(d)
		for _, r := range d.Runs {
			for _, gr := range withPaper {
				if gr.key == "params" || gr.key == "flops" {
					continue
				}
				p, ok := paperCell(r.RR.Paper, gr)
				if !ok {
					continue
				}
				o, dl := oursCell(r, r.RR.Paper, gr)
				rows = append(rows, []string{d.Spec.Artifact, r.RR.Name, gr.title, p, o, dl, measuredAt(d, r)})
			}
		}
	}
	b.WriteString(mdTable([]string{"artifact", "run", "metric", "paper", "ours", "Δ", "measured at"}, rows))
	b.WriteString("\nΔ is ours minus the paper's. Numbers at a scale below paper come from shortened training and are not expected to match the paper; the claims in each report say which trends held.\n\n")
}

// provenance states where the numbers come from.
func (g *generator) provenance(b *strings.Builder, all []*specData) {
	b.WriteString("## Provenance\n\n")
	seen := map[string]bool{}
	var versions, hosts, backends, scales, checksums []string
	total := 0.0
	trainings := 0
	add := func(xs *[]string, x string) {
		if x != "" && !slices.Contains(*xs, x) {
			*xs = append(*xs, x)
		}
	}
	for _, d := range all {
		for _, r := range d.Runs {
			for _, s := range r.Seeds {
				if !s.Present || seen[s.ID] {
					continue
				}
				seen[s.ID] = true
				trainings++
				add(&versions, s.Run.CodeVersion)
				add(&hosts, s.Run.Host)
				add(&backends, s.Run.Backend)
				add(&scales, s.Run.Scale)
				add(&checksums, dataChecksum(s.Run.ConfigJSON))
				if sec, err := g.st.computeSeconds(s.ID); err == nil {
					total += sec
				}
			}
		}
	}
	for _, xs := range [][]string{versions, hosts, backends, checksums} {
		slices.Sort(xs)
	}
	slices.SortFunc(scales, func(a, b string) int {
		return slices.Index(experiments.Scales, a) - slices.Index(experiments.Scales, b)
	})
	db := "none (every trained artifact is not run)"
	if len(g.opts.DBNames) > 0 {
		db = g.dbList()
	}
	list := func(xs []string, none string) string {
		if len(xs) == 0 {
			return none
		}
		return strings.Join(xs, ", ")
	}
	hw := list(hosts, "n/a")
	if g.opts.Hardware != "" {
		hw += "; " + g.opts.Hardware
	}
	if len(backends) > 0 {
		hw += " (engine backend: " + strings.Join(backends, ", ") + ")"
	}
	rows := [][]string{
		{"results database", db},
		{"trainings in the reports", fmt.Sprint(trainings)},
		{"scales", list(scales, "n/a")},
		{"code version", list(versions, "n/a")},
		{"data checksum", list(checksums, "n/a")},
		{"hardware", hw},
		{"total compute time (h:mm:ss)", duration(total)},
	}
	b.WriteString(mdTable([]string{"what", "value"}, rows))
	b.WriteString("\nCompute time is the sum over trainings of the wall-clock seconds of training logged with their last evaluation. The data checksum is the one recorded in a run's configuration (n/a: not recorded). Analytic artifacts (Table 1, Figs 2, 3, 5) come from the model definitions of the same code.\n")
}

// dataChecksum returns the data checksum a run's configuration records
// (the key "data_md5" or "data_checksum"), or "n/a".
func dataChecksum(configJSON string) string {
	var m map[string]any
	if json.Unmarshal([]byte(configJSON), &m) != nil {
		return "n/a"
	}
	for _, k := range []string{"data_md5", "data_checksum"} {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return "n/a"
}
