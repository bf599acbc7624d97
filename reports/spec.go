package reports

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/resnet-repro/resnet-repro/experiments"
)

// writeSpec writes <id>.md and the spec's plots.
func (g *generator) writeSpec(d *specData) error {
	var b strings.Builder
	b.WriteString(g.header())
	s := d.Spec
	fmt.Fprintf(&b, "# %s: %s\n\n", s.Artifact, s.Title)
	src := "Spec `" + s.File + "`"
	if s.Source != "" {
		src += "; the paper's numbers: `shared/reference/paper-targets.md` " + s.Source
	}
	b.WriteString(src + ".\n\n")
	var plots []string
	var err error
	switch s.Kind {
	case experiments.KindOutOfScope:
		fmt.Fprintf(&b, "**Out of scope.** %s.\n", upperFirst(s.Reason))
	case experiments.KindAnalytic:
		g.writeNotes(&b, d)
		g.writeAnalytic(&b, d)
		g.writeClaims(&b, d)
	case experiments.KindDiagram:
		g.writeNotes(&b, d)
		plots, err = g.writeDiagrams(&b, d)
	case experiments.KindTrain:
		g.writeScale(&b, d)
		g.writeNotes(&b, d)
		g.writeResults(&b, d)
		g.writeClaims(&b, d)
		if err = g.writeControls(&b, d); err != nil {
			return err
		}
		if err = g.writeOtherScales(&b, d); err != nil {
			return err
		}
		plots, err = g.writePlots(&b, d)
		g.writeRuns(&b, d)
	}
	if err != nil {
		return err
	}
	if err := g.prunePlots(s.ID, plots); err != nil {
		return err
	}
	return g.writeFile(s.ID+".md", []byte(b.String()))
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (g *generator) writeNotes(b *strings.Builder, d *specData) {
	if len(d.Spec.Notes) == 0 {
		return
	}
	for _, n := range d.Spec.Notes {
		fmt.Fprintf(b, "> %s\n", n)
	}
	b.WriteString("\n")
}

// writeScale states the scale and what it means for the runs' training.
func (g *generator) writeScale(b *strings.Builder, d *specData) {
	fmt.Fprintf(b, "**Scale: %s** (%s).", d.Scale, d.ScaleNote)
	if d.Proxy {
		b.WriteString(" **CIFAR-10 proxy:** the ImageNet networks' stage and block layout on 32x32 CIFAR-10 images with the CIFAR stem and recipe, so these numbers are not comparable with the paper's ImageNet numbers, only their trends are.")
	}
	b.WriteString("\n\n")
	// Group runs by their training budget.
	var order []string
	names := map[string][]string{}
	group := func(text, run string) {
		if _, ok := names[text]; !ok {
			order = append(order, text)
		}
		names[text] = append(names[text], run)
	}
	for _, r := range d.Runs {
		t, ev := r.RR.Config.Training, r.RR.Config.Eval
		if t == nil {
			continue
		}
		if r.RR.Skipped != "" {
			group("not trained at this scale: "+r.RR.Skipped, r.RR.Name)
			continue
		}
		parts := []string{fmt.Sprintf("%d iterations of batch %d", t.Iterations, t.Batch)}
		if len(t.Schedule.Steps) > 0 {
			parts = append(parts, "LR /10 at "+joinInts(t.Schedule.Steps))
		}
		if t.TrainSubset > 0 {
			parts = append(parts, fmt.Sprintf("on the first %d training images", t.TrainSubset))
		}
		if r.RR.Config.Width != 1 {
			parts = append(parts, fmt.Sprintf("width %g", r.RR.Config.Width))
		}
		if r.RR.Config.Model != specModel(d.Spec, r.RR.Name) {
			parts = append(parts, "model "+r.RR.Config.Model+" standing in")
		}
		evs := "evaluated every " + fmt.Sprint(ev.Interval) + " iterations on "
		if ev.Subset > 0 {
			evs += fmt.Sprintf("the first %d %s images", ev.Subset, ev.Set)
		} else {
			evs += "the whole " + ev.Set + " set"
		}
		parts = append(parts, evs)
		parts = append(parts, plural(len(r.RR.Seeds), "seed"))
		group(strings.Join(parts, ", "), r.RR.Name)
	}
	if len(order) == 0 {
		return
	}
	recipe := experiments.Recipes[d.Runs[0].RR.Config.Training.Recipe]
	fmt.Fprintf(b, "Training at this scale (the recipe `%s` in full: %d iterations of batch %d):\n\n", recipe.Name, recipe.Iterations, recipe.Batch)
	for _, t := range order {
		fmt.Fprintf(b, "- %s: %s\n", strings.Join(names[t], ", "), t)
	}
	b.WriteString("\n")
}

func specModel(s *experiments.Spec, name string) string {
	for _, r := range s.Runs {
		if r.Name == name {
			return r.Model
		}
	}
	return ""
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " and ")
}

// group is a column group of the results table: one metric and its
// _best/_mean/_std variants.
type group struct {
	key, title string
}

var groups = []group{
	{"test_error", "test error (%)"},
	{"top1_error", "top-1 error (%)"},
	{"top5_error", "top-5 error (%)"},
	{"val_error", "validation error (%)"},
	{"train_error", "training error (%)"},
	{"response_std_mean", "mean layer response std"},
	{"params", "params"},
	{"flops", "multiply-adds (10^9)"},
}

// baseMetric strips _best, _mean and _std from a seed aggregate
// ("test_error_best"); response_std_mean is a metric of its own.
func baseMetric(m string) string {
	if _, ok := experiments.Metrics[m]; ok && !strings.HasPrefix(m, "test_error_") {
		return m
	}
	for _, suf := range []string{"_best", "_mean", "_std"} {
		if strings.HasSuffix(m, suf) && m != suf {
			return strings.TrimSuffix(m, suf)
		}
	}
	return m
}

// tableGroups chooses the columns of a train spec's table: the metrics the
// paper gives numbers for (with paper, ours and difference), the metrics
// the claims test, and the dataset's headline errors.
func tableGroups(d *specData) (withPaper, oursOnly []group) {
	paper := map[string]bool{}
	for _, r := range d.Runs {
		for m := range r.RR.Paper {
			paper[baseMetric(m)] = true
		}
	}
	for _, e := range d.Res.Ensembles {
		for m := range e.Paper {
			paper[baseMetric(m)] = true
		}
	}
	used := map[string]bool{}
	for _, c := range d.Res.Claims {
		used[baseMetric(c.Metric)] = true
	}
	if d.Spec.Dataset == "cifar10" {
		used["test_error"], used["train_error"] = true, true
	} else {
		used["top1_error"] = true
	}
	for _, gr := range groups {
		switch {
		case paper[gr.key]:
			withPaper = append(withPaper, gr)
		case used[gr.key]:
			oursOnly = append(oursOnly, gr)
		}
	}
	return withPaper, oursOnly
}

// sig4 formats a value with 4 significant digits (layer response stds).
func sig4(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }

// paperCell formats the paper's number(s) of a metric group; ok is false
// when the paper gives none.
func paperCell(paper map[string]float64, gr group) (string, bool) {
	f := pct
	switch gr.key {
	case "params":
		f = millions
	case "flops":
		f = giga
	}
	if v, ok := paper[gr.key]; ok {
		return f(v), true
	}
	best, hb := paper[gr.key+"_best"]
	mean, hm := paper[gr.key+"_mean"]
	std, hs := paper[gr.key+"_std"]
	switch {
	case hb && hm && hs:
		return fmt.Sprintf("%s (%s±%s)", f(best), f(mean), f(std)), true
	case hb && hm:
		return fmt.Sprintf("%s (mean %s)", f(best), f(mean)), true
	case hm:
		return f(mean) + " (mean)", true
	case hb:
		return f(best) + " (best)", true
	}
	return "n/a", false
}

// oursCell formats our number(s) for a metric group in the paper's form,
// and the difference to the paper ("n/a" when either is missing).
func oursCell(r *runData, paper map[string]float64, gr group) (ours, delta string) {
	switch gr.key {
	case "params", "flops":
		v, _, ok := r.value(gr.key)
		if !ok {
			return "not defined", "n/a"
		}
		f, unit := millions, 1e6
		if gr.key == "flops" {
			f, unit = giga, 1e9
		}
		ours, delta = f(v), "n/a"
		if p, ok := paper[gr.key]; ok {
			delta = signed((v - p) / unit)
			if gr.key == "params" {
				delta += "M"
			}
		}
		return ours, delta
	}
	if len(r.done()) == 0 {
		return runState(r), "n/a"
	}
	mean, n, ok := r.value(gr.key)
	if !ok {
		return "not logged", "n/a"
	}
	pct := pct
	if gr.key == "response_std_mean" {
		pct = sig4
	}
	best, _, _ := r.value(gr.key + "_best")
	std, _, hasStd := r.value(gr.key + "_std")
	_, paperBest := paper[gr.key+"_best"]
	pm, paperMean := paper[gr.key+"_mean"]
	if p, ok := paper[gr.key]; ok {
		pm, paperMean = p, true
	}
	switch {
	case paperBest && n > 1:
		if hasStd {
			ours = fmt.Sprintf("%s (%s±%s)", pct(best), pct(mean), pct(std))
		} else {
			ours = fmt.Sprintf("%s (mean %s)", pct(best), pct(mean))
		}
	case n > 1:
		ours = pct(mean) + " (mean)"
		if hasStd {
			ours = fmt.Sprintf("%s±%s (mean±std)", pct(mean), pct(std))
		}
	default:
		ours = pct(mean)
	}
	delta = "n/a"
	switch {
	case paperBest && paperMean:
		delta = fmt.Sprintf("%s (%s)", signed(best-paper[gr.key+"_best"]), signed(mean-pm))
	case paperBest:
		delta = signed(best - paper[gr.key+"_best"])
	case paperMean:
		delta = signed(mean - pm)
	}
	return ours, delta
}

// measuredAt says what stands behind a run's numbers.
func measuredAt(d *specData, r *runData) string {
	parts := []string{d.Scale}
	if r.RR.Config.ProxyOf != "" {
		parts = append(parts, "CIFAR-10 proxy")
	}
	n := len(r.done())
	switch {
	case n == 0:
		parts = append(parts, "no seed done")
	case n == len(r.Seeds):
		parts = append(parts, plural(n, "seed"))
	default:
		parts = append(parts, fmt.Sprintf("%d of %d seeds done", n, len(r.Seeds)))
	}
	return strings.Join(parts, ", ")
}

// writeResults writes the table of a train spec: every run with the
// paper's numbers, ours and the difference; then ensembles and the
// paper's reference rows.
func (g *generator) writeResults(b *strings.Builder, d *specData) {
	withPaper, oursOnly := tableGroups(d)
	writeRunTable(b, d, withPaper, oursOnly)
	writeEnsembles(b, d, withPaper)
	writeReferences(b, d)
}

// writeRunTable writes the "Results" table (one row per run: the paper's
// number, ours and Δ for each group in withPaper, ours alone for
// oursOnly, and what the numbers were measured at), its legend and the
// runs' notes.
func writeRunTable(b *strings.Builder, d *specData, withPaper, oursOnly []group) {
	header := append(append([]string{"run", "model"}, valueHeaders(withPaper, oursOnly)...), "measured at")
	var rows [][]string
	for _, r := range d.Runs {
		model := r.RR.Config.Model
		if r.RR.Config.Shortcut != "" {
			model += " (" + r.RR.Config.Shortcut + ")"
		}
		row := append([]string{r.RR.Name, model}, valueCells(r, withPaper, oursOnly)...)
		rows = append(rows, append(row, measuredAt(d, r)))
	}
	b.WriteString("## Results\n\n")
	b.WriteString(mdTable(header, rows))
	b.WriteString("\nΔ is ours minus the paper's")
	if slices.ContainsFunc(d.Runs, func(r *runData) bool {
		_, ok := r.RR.Paper["test_error_best"]
		return ok
	}) {
		b.WriteString("; \"best (mean±std)\" as in the paper, over the seeds done (std with n-1), Δ of best (of mean)")
	}
	b.WriteString(". n/a: the paper gives no number. Errors are final values of runs whose status is done; params and multiply-adds are analytic counts of the network trained.\n\n")
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

// writeEnsembles writes the "Ensembles" table: one row per ensemble and
// metric group of withPaper the paper gives for it (paper, ours, Δ), how
// an ensemble is scored (Sec. 4.1) and the ensembles' notes. It writes
// nothing for a spec without ensembles.
func writeEnsembles(b *strings.Builder, d *specData, withPaper []group) {
	if len(d.Res.Ensembles) == 0 {
		return
	}
	b.WriteString("### Ensembles\n\n")
	var rows [][]string
	for _, e := range d.Res.Ensembles {
		for _, gr := range withPaper {
			if row, ok := ensembleRow(d, e, gr); ok {
				rows = append(rows, row)
			}
		}
	}
	b.WriteString(mdTable([]string{"ensemble", "members", "metric", "paper", "ours", "Δ"}, rows))
	b.WriteString("\nAn ensemble's score of an image is the average of its members' softmax probabilities (Sec. 4.1, after Sec. 3.4's score averaging), " +
		"each member's from the view it was last evaluated with, as stored at its last iteration (table predictions).")
	if d.Proxy {
		b.WriteString(" On the CIFAR-10 proxies, top-5 of 10 classes is a weak measure: a net that ranks the true class anywhere in the top half scores a hit.")
	}
	b.WriteString("\n")
	for _, e := range d.Res.Ensembles {
		if e.Note != "" {
			fmt.Fprintf(b, "\n- %s: %s\n", e.Name, e.Note)
		}
	}
	b.WriteString("\n")
}

// ensembleRow is ensemble e's row for metric group gr: name, members,
// metric, the paper's number, ours and Δ (ours minus the paper's); ok is
// false when the paper gives no number for gr.
func ensembleRow(d *specData, e experiments.Ensemble, gr group) ([]string, bool) {
	p, ok := paperCell(e.Paper, gr)
	if !ok {
		return nil, false
	}
	ours, dl := "not evaluated: `repro run "+d.Spec.ID+"` evaluates it once every member is trained", "n/a"
	if er, ok := d.Ensembles[e.Name]; ok {
		if v, ok := ensembleValue(er, gr.key); ok {
			ours = pct(v)
			if pv, ok := e.Paper[gr.key]; ok {
				dl = signed(v - pv)
			}
		}
	}
	return []string{e.Name, ensembleMembers(d, e), gr.title, p, ours, dl}, true
}

// writeReferences writes the table of the paper's other rows and published
// reproductions (not trained here): one column per metric group any of
// them gives a number for. It writes nothing for a spec without
// references.
func writeReferences(b *strings.Builder, d *specData) {
	if len(d.Res.References) == 0 {
		return
	}
	b.WriteString("### Other rows: the paper's, and published reproductions where the spec names them (not trained here)\n\n")
	header := []string{"method"}
	for _, gr := range groups {
		if slices.ContainsFunc(d.Res.References, func(r experiments.Reference) bool {
			_, ok := paperCell(r.Paper, gr)
			return ok
		}) {
			header = append(header, gr.title)
		}
	}
	var rows [][]string
	for _, ref := range d.Res.References {
		row := []string{ref.Name}
		for _, gr := range groups {
			if !slices.Contains(header, gr.title) {
				continue
			}
			p, _ := paperCell(ref.Paper, gr)
			row = append(row, p)
		}
		if ref.Note != "" {
			row[0] += " (" + ref.Note + ")"
		}
		rows = append(rows, row)
	}
	b.WriteString(mdTable(header, rows))
	b.WriteString("\n")
}

// ensembleMembers lists an ensemble's members with their seeds, and the
// images it was evaluated on once it has been.
func ensembleMembers(d *specData, e experiments.Ensemble) string {
	var parts []string
	for _, m := range e.Members {
		n := 0
		if r := d.run(m); r != nil {
			n = len(r.RR.IDs)
		}
		if n == 1 {
			parts = append(parts, m)
		} else {
			parts = append(parts, fmt.Sprintf("%s (%d seeds)", m, n))
		}
	}
	s := strings.Join(parts, ", ")
	if er, ok := d.Ensembles[e.Name]; ok {
		s += fmt.Sprintf("; %d runs on %d %s images, %s view", len(er.Members), er.Images, er.Split, er.View)
	}
	return s
}

// verdictWord is how a verdict reads in a report.
func verdictWord(status string) string {
	switch status {
	case experiments.Held:
		return "held"
	case experiments.NotHeld:
		return "not held"
	case experiments.WithinNoise:
		return "within noise"
	}
	return "not yet measurable"
}

// verdicts evaluates every claim of the spec at its scale, each with the
// noise margin of its metric (see noise).
func (g *generator) verdicts(d *specData) []experiments.Verdict {
	scale := d.Scale
	if scale == "" {
		scale = experiments.ScalePaper // analytic claims hold at every scale
	}
	out := make([]experiments.Verdict, len(d.Res.Claims))
	for i, c := range d.Res.Claims {
		out[i] = experiments.EvaluateAt(c, scale, d.values, g.noise(d, c.Metric))
	}
	return out
}

func (g *generator) writeClaims(b *strings.Builder, d *specData) {
	if len(d.Res.Claims) == 0 {
		return
	}
	b.WriteString("## The paper's claims, checked on our numbers\n\n")
	vs := g.verdicts(d)
	for i, c := range d.Res.Claims {
		g.out.Claims = append(g.out.Claims, ClaimVerdict{Spec: d.Spec.ID, Scale: d.Scale, Claim: c.ID, Verdict: vs[i], Def: c})
		where := ""
		if c.Where != "" {
			where = " (" + c.Where + ")"
		}
		fmt.Fprintf(b, "- **%s** `%s`%s: \"%s\"  \n  %s\n", verdictWord(vs[i].Status), c.ID, where, c.Paper, vs[i].Detail)
	}
	b.WriteString("\n")
}

// writeRuns lists every training behind the numbers: its identity, state,
// compute time and where it ran.
func (g *generator) writeRuns(b *strings.Builder, d *specData) {
	b.WriteString("## Runs behind these numbers\n\n")
	var rows [][]string
	for _, r := range d.Runs {
		for _, s := range r.Seeds {
			row := []string{r.RR.Name, fmt.Sprint(s.Seed), "`" + s.ID + "`", state(s)}
			if s.Present {
				sec, err := g.st.computeSeconds(s.ID)
				c := duration(sec)
				if err != nil {
					c = "unreadable: " + err.Error()
				}
				row = append(row, fmt.Sprintf("%d/%d", s.Run.Iteration, s.Run.Iterations), c,
					orNA(s.Run.Host), orNA(s.Run.Backend), orNA(shortVersion(s.Run.CodeVersion)))
			} else {
				row = append(row, fmt.Sprintf("0/%d", r.RR.Config.Training.Iterations), "n/a", "n/a", "n/a", "n/a")
			}
			rows = append(rows, row)
		}
	}
	b.WriteString(mdTable([]string{"run", "seed", "id", "status", "iterations", "compute (h:mm:ss)", "host", "backend", "code version"}, rows))
	b.WriteString("\n")
}

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

// shortVersion abbreviates a VCS revision to 12 characters.
func shortVersion(v string) string {
	if len(v) == 40 {
		return v[:12]
	}
	return v
}

// valueHeaders are the column titles of valueCells: paper, ours and Δ for
// each group the paper gives, ours alone for the others.
func valueHeaders(withPaper, oursOnly []group) []string {
	var h []string
	for _, gr := range withPaper {
		h = append(h, "paper "+gr.title, "our "+gr.title, "Δ "+gr.title)
	}
	for _, gr := range oursOnly {
		h = append(h, "our "+gr.title)
	}
	return h
}

// valueCells are run r's cells under valueHeaders.
func valueCells(r *runData, withPaper, oursOnly []group) []string {
	var row []string
	for _, gr := range withPaper {
		p, _ := paperCell(r.RR.Paper, gr)
		o, dl := oursCell(r, r.RR.Paper, gr)
		row = append(row, p, o, dl)
	}
	for _, gr := range oursOnly {
		o, _ := oursCell(r, nil, gr)
		row = append(row, o)
	}
	return row
}
