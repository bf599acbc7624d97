package reports

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/results"
)

// Options say what Generate writes.
type Options struct {
	// Out is the output directory (reports/).
	Out string
	// Specs are the specs to write a report for; nil means every built-in
	// spec. The index (README.md) always covers every built-in spec.
	Specs []*experiments.Spec
	// Scale, if set, reports every train spec at this scale; otherwise
	// each at the largest scale present in the database for it.
	Scale string
	// DBNames name the databases in the reports (their base names are
	// printed, so that the output does not depend on where the files lie).
	DBNames []string
	// Controls are trainings of our recipes in another framework (see
	// LoadControls), shown beside the runs they control.
	Controls []Control
	// Hardware is a free-text note on the machine(s) that trained the
	// runs, printed beside the hosts recorded in the database.
	Hardware string
}

// Written lists the files Generate wrote (paths under Out) and removed, and
// the verdicts of the claims of the specs it reported.
type Written struct {
	Files   []string
	Removed []string
	Claims  []ClaimVerdict
}

// ClaimVerdict is one claim of a reported spec with its verdict and the
// noise margin it used.
type ClaimVerdict struct {
	Spec, Scale, Claim string
	Verdict            experiments.Verdict
	Def                experiments.Claim // the claim as the spec states it
}

// RecordClaims stores in db (the claims table, results.Claim) the verdicts
// reached at the scales whose runs db holds, so that they can be queried.
// Rows already equal are not rewritten; changed says whether db was.
func RecordClaims(db *results.DB, vs []ClaimVerdict) (changed bool, err error) {
	scales, err := db.RunScales()
	if err != nil {
		return false, err
	}
	var cs []results.Claim
	for _, v := range vs {
		if v.Scale == "" || !slices.Contains(scales, v.Scale) {
			continue // analytic (exact numbers), or another database's scale
		}
		margin := v.Verdict.Noise.Margin
		if v.Verdict.Noise.Source == "" {
			margin = math.NaN()
		}
		cs = append(cs, results.Claim{Spec: v.Spec, Claim: v.Claim, Scale: v.Scale, Verdict: v.Verdict.Status,
			Kind: v.Def.Kind, Metric: v.Def.Metric, Margin: margin, MarginSource: v.Verdict.Noise.Source,
			Numbers: v.Verdict.Detail, Paper: v.Def.Paper, Source: v.Def.Where})
	}
	if len(cs) == 0 {
		return false, nil
	}
	return db.ReplaceClaims(cs)
}

// plotDir is the folder under Out that holds the plot files.
const plotDir = "plots"

// Generate writes the reports of opts.Specs and the index from dbs (none:
// every trained artifact not run). Each spec is reported from the runs of
// every database together (see data for the scale chosen).
func Generate(dbs []*results.DB, opts Options) (*Written, error) {
	if opts.Scale != "" && !experiments.ValidScale(opts.Scale) {
		return nil, fmt.Errorf("unknown scale %q (%s)", opts.Scale, experiments.ScaleList)
	}
	st, err := newStore(dbs)
	if err != nil {
		return nil, err
	}
	all, err := experiments.Builtin(nil)
	if err != nil {
		return nil, err
	}
	specs := opts.Specs
	if specs == nil {
		specs = all
	}
	g := &generator{st: st, opts: opts, out: &Written{}}
	if err := os.MkdirAll(filepath.Join(opts.Out, plotDir), 0o755); err != nil {
		return nil, err
	}
	for _, s := range specs {
		d, err := g.data(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.ID, err)
		}
		if err := g.writeSpec(d); err != nil {
			return nil, fmt.Errorf("%s: %w", s.ID, err)
		}
	}
	var index []*specData
	for _, s := range all {
		d, err := g.data(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.ID, err)
		}
		index = append(index, d)
	}
	if err := g.writeFile("README.md", []byte(g.index(index))); err != nil {
		return nil, err
	}
	return g.out, nil
}

type generator struct {
	st   *store
	opts Options
	out  *Written
	// noiseCache holds the noise margins borrowed from other specs, by
	// "scale/metric" (see noise).
	noiseCache map[string]experiments.Noise
}

// data resolves a spec at the scale it is reported at.
func (g *generator) data(s *experiments.Spec) (*specData, error) {
	if s.Kind != experiments.KindTrain {
		d, err := g.st.load(s, experiments.ScalePaper, false)
		if d != nil {
			d.Scale, d.ScaleNote = "", "analytic: no training, so no scale"
			if s.Kind == experiments.KindOutOfScope {
				d.ScaleNote = "out of scope"
			}
		}
		return d, err
	}
	if g.opts.Scale != "" {
		d, err := g.loadBest(s, g.opts.Scale)
		if d != nil {
			d.ScaleNote = "the scale asked for (--scale)"
		}
		return d, err
	}
	// The most complete scale in the databases, the larger on a tie, among
	// those with any training present.
	var best *specData
	bestDone := -1.0
	for i := len(experiments.Scales) - 1; i >= 0; i-- {
		d, err := g.loadBest(s, experiments.Scales[i])
		if err != nil {
			return nil, err
		}
		if f := d.completeness(); d.present() > 0 && f > bestDone {
			best, bestDone = d, f
		}
	}
	if best != nil {
		best.ScaleNote = "the most complete scale in the databases: the largest share of runs with a finished training, the larger scale on a tie"
		return best, nil
	}
	d, err := g.loadBest(s, experiments.ScaleQuick)
	if d != nil {
		d.ScaleNote = "no run of this spec is in the database at any scale; shown at the default scale of `repro run`"
	}
	return d, err
}

// loadBest loads an ImageNet spec at quick scale both as a CIFAR-10 proxy
// and on ImageNet, and keeps the variant with more runs in the database
// (the proxy on a tie).
func (g *generator) loadBest(s *experiments.Spec, scale string) (*specData, error) {
	d, err := g.st.load(s, scale, false)
	if err != nil || s.Dataset != "imagenet" || scale != experiments.ScaleQuick {
		return d, err
	}
	e, err := g.st.load(s, scale, true)
	if err != nil {
		return nil, err
	}
	if e.present() > d.present() {
		return e, nil
	}
	return d, nil
}

// writeFile writes name (relative to Out) atomically.
func (g *generator) writeFile(name string, data []byte) error {
	path := filepath.Join(g.opts.Out, name)
	if err := writeAtomic(path, data); err != nil {
		return err
	}
	g.out.Files = append(g.out.Files, path)
	return nil
}

// writeAtomic writes data to a temporary file beside path and renames it.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// prunePlots removes plot files of spec id that the new report does not
// link (keep holds the base names written).
func (g *generator) prunePlots(id string, keep []string) error {
	dir := filepath.Join(g.opts.Out, plotDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, id+"-") || slices.Contains(keep, n) {
			continue
		}
		if ext := filepath.Ext(n); ext != ".png" && ext != ".svg" {
			continue
		}
		p := filepath.Join(dir, n)
		if err := os.Remove(p); err != nil {
			return err
		}
		g.out.Removed = append(g.out.Removed, p)
	}
	return nil
}

// header is the first lines of every generated markdown file.
func (g *generator) header() string {
	db := "no results database"
	if len(g.opts.DBNames) > 0 {
		db = g.dbList()
	}
	return fmt.Sprintf("*Generated by `repro report` from %s; do not edit by hand (rerun `repro report`).*\n\n", db)
}

// dbList names the databases read, by base name: "`quick.db`, `medium.db`".
func (g *generator) dbList() string {
	var names []string
	for _, n := range g.opts.DBNames {
		names = append(names, "`"+filepath.Base(n)+"`")
	}
	return strings.Join(names, ", ")
}
