package reports

import (
	"fmt"
	"math"
	"slices"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/models"
	"github.com/resnet-repro/resnet-repro/results"
)

// store is what the reports read from the results databases (one per
// scale, results/SCALE.db), cached. No database is an empty one: every
// trained run shows as not run.
type store struct {
	// from is the database each run was read from.
	from    map[string]*results.DB
	runs    map[string]results.Run
	metrics map[string][]results.Metric
	resp    map[string][]results.Response
	// ensembles are the evaluated ensembles of every database.
	ensembles []results.EnsembleResult
}

// newStore reads the runs of every database. Run identities hash the whole
// configuration, scale included, so databases of different scales never
// share one; where two databases hold the same run (a copy), the one that
// is further along counts: done before unfinished, then more iterations.
func newStore(dbs []*results.DB) (*store, error) {
	s := &store{from: map[string]*results.DB{}, runs: map[string]results.Run{}, metrics: map[string][]results.Metric{},
		resp: map[string][]results.Response{}}
	for _, db := range dbs {
		runs, err := db.ListRuns(results.RunFilter{})
		if err != nil {
			return nil, fmt.Errorf("results database %s: %w", db.Path(), err)
		}
		for _, r := range runs {
			if old, ok := s.runs[r.ID]; ok && !furtherAlong(r, old) {
				continue
			}
			s.runs[r.ID], s.from[r.ID] = r, db
		}
		ens, err := db.Ensembles("", "")
		if err != nil {
			return nil, fmt.Errorf("results database %s: %w", db.Path(), err)
		}
		s.ensembles = append(s.ensembles, ens...)
	}
	return s, nil
}

// ensembleValue is an ensemble's number under a spec metric name: its top-1
// error stands for top1_error (and test_error, val_error on its split),
// its top-5 error for top5_error.
func ensembleValue(e *results.EnsembleResult, metric string) (float64, bool) {
	switch metric {
	case "top1_error", "test_error", "val_error":
		return e.Top1, true
	case "top5_error":
		return e.Top5, true
	}
	return 0, false
}

// ensemble returns the recorded evaluation of ensemble e of the spec at
// scale whose members are exactly members (run ids, in order): one
// evaluated with another membership is not this spec's ensemble any more.
func (s *store) ensemble(spec, scale string, e experiments.Ensemble, members []string) (*results.EnsembleResult, bool) {
	for i := range s.ensembles {
		r := &s.ensembles[i]
		if r.Spec == spec && r.Ensemble == e.Name && r.Scale == scale && slices.Equal(r.Members, members) {
			return r, true
		}
	}
	return nil, false
}

// furtherAlong reports whether a is further along than b (the same run in
// two databases).
func furtherAlong(a, b results.Run) bool {
	ad, bd := a.Status == results.StatusDone, b.Status == results.StatusDone
	if ad != bd {
		return ad
	}
	return a.Iteration > b.Iteration
}

// metricsOf returns every metric of run id, ordered by split, name and
// iteration.
func (s *store) metricsOf(id string) ([]results.Metric, error) {
	db := s.from[id]
	if ms, ok := s.metrics[id]; ok || db == nil {
		return ms, nil
	}
	ms, err := db.Metrics(id, results.MetricFilter{})
	if err != nil {
		return nil, err
	}
	s.metrics[id] = ms
	return ms, nil
}

func (s *store) responsesOf(id string) ([]results.Response, error) {
	db := s.from[id]
	if rs, ok := s.resp[id]; ok || db == nil {
		return rs, nil
	}
	rs, err := db.Responses(id)
	if err != nil {
		return nil, err
	}
	s.resp[id] = rs
	return rs, nil
}

// series returns the (split, name) metric of run id in iteration order.
func (s *store) series(id, split, name string) ([]results.Metric, error) {
	ms, err := s.metricsOf(id)
	if err != nil {
		return nil, err
	}
	var out []results.Metric
	for _, m := range ms {
		if m.Split == split && m.Name == name {
			out = append(out, m)
		}
	}
	return out, nil
}

// seedData is one training (run x seed) of a spec.
type seedData struct {
	Seed    int
	ID      string
	Present bool        // in the database
	Run     results.Run // valid when Present
	// Values are the final metrics of a done seed (see the package doc).
	Values map[string]float64
}

// Done reports whether the seed finished and its numbers count.
func (s seedData) Done() bool { return s.Present && s.Run.Status == results.StatusDone }

// runData is one run of a resolved spec with its seeds and analytic counts.
type runData struct {
	RR     experiments.ResolvedRun
	Seeds  []seedData
	Layout *models.Layout // nil when the network cannot be defined
}

// done returns the finished seeds.
func (r *runData) done() []seedData {
	var out []seedData
	for _, s := range r.Seeds {
		if s.Done() {
			out = append(out, s)
		}
	}
	return out
}

// value returns a metric of the run over its finished seeds (see the
// package doc) and how many seeds stand behind it.
func (r *runData) value(metric string) (float64, int, bool) {
	switch metric {
	case "params", "flops":
		if r.Layout == nil {
			return 0, 0, false
		}
		if metric == "params" {
			return float64(r.Layout.Params), 0, true
		}
		return float64(r.Layout.MACs), 0, true
	}
	base, agg := baseMetric(metric), "mean"
	if base != metric {
		agg = metric[len(base)+1:]
	}
	var xs []float64
	for _, s := range r.done() {
		if v, ok := s.Values[base]; ok {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return 0, 0, false
	}
	switch agg {
	case "best":
		return slices.Min(xs), len(xs), true
	case "std":
		if len(xs) < 2 {
			return 0, len(xs), false
		}
		return sampleStd(xs), len(xs), true
	default:
		return meanOf(xs), len(xs), true
	}
}

func meanOf(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// sampleStd is the standard deviation with n-1 in the denominator.
func sampleStd(xs []float64) float64 {
	m := meanOf(xs)
	s := 0.0
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(xs)-1))
}

// specData is a spec resolved at the scale it is reported at, with its
// runs' data.
type specData struct {
	Spec *experiments.Spec
	Res  *experiments.Resolved
	// Scale is the scale reported; ScaleNote says how it was chosen.
	Scale     string
	ScaleNote string
	Runs      []*runData
	// Proxy is true when the runs are CIFAR-10 proxies of ImageNet nets.
	Proxy bool
	// Ensembles are the spec's evaluated ensembles by name.
	Ensembles map[string]*results.EnsembleResult
}

func (d *specData) run(name string) *runData {
	for _, r := range d.Runs {
		if r.RR.Name == name {
			return r
		}
	}
	return nil
}

// values is the claim evaluator's view of the spec's numbers.
func (d *specData) values(run, metric string) (float64, bool) {
	r := d.run(run)
	if r == nil {
		if e, ok := d.Ensembles[run]; ok {
			return ensembleValue(e, metric)
		}
		return 0, false // an ensemble not evaluated
	}
	v, _, ok := r.value(metric)
	return v, ok
}

// maxExtraSeeds bounds the search for seeds beyond the spec's (`repro run
// --seeds N`); the largest spec asks for 5.
const maxExtraSeeds = 64

// load resolves spec at scale and reads its runs from the store. imagenet
// resolves ImageNet specs at quick scale on ImageNet rather than as a
// proxy.
func (s *store) load(spec *experiments.Spec, scale string, imagenet bool) (*specData, error) {
	res, err := spec.Resolve(experiments.Options{Scale: scale, ImageNet: imagenet})
	if err != nil {
		return nil, err
	}
	d := &specData{Spec: spec, Res: res, Scale: scale}
	for _, rr := range res.Runs {
		rd := &runData{RR: rr}
		if def, err := define(rr.Config); err == nil {
			rd.Layout = def.Layout()
		}
		if rr.Config.ProxyOf != "" {
			d.Proxy = true
		}
		if rr.Config.Training != nil && rr.Skipped == "" {
			for seed := 1; seed <= len(rr.Seeds)+maxExtraSeeds; seed++ {
				id := rr.Config.ID(seed)
				run, ok := s.runs[id]
				if seed > len(rr.Seeds) && (!ok || run.Name != rr.Name) {
					// Beyond the spec's seeds (`repro run --seeds N`), a
					// training counts only under its own run's name: a
					// smoke stand-in (resnet-1202 trained as resnet-110)
					// shares identities with the run it stands in for.
					break
				}
				sd := seedData{Seed: seed, ID: id, Present: ok, Run: run}
				if sd.Done() {
					if sd.Values, err = s.finalValues(id, rr.Config); err != nil {
						return nil, err
					}
				}
				rd.Seeds = append(rd.Seeds, sd)
			}
		}
		d.Runs = append(d.Runs, rd)
	}
	for _, e := range res.Ensembles {
		var members []string
		for _, m := range e.Members {
			if r := d.run(m); r != nil {
				members = append(members, r.RR.IDs...)
			}
		}
		if r, ok := s.ensemble(spec.ID, scale, e, members); ok {
			if d.Ensembles == nil {
				d.Ensembles = map[string]*results.EnsembleResult{}
			}
			d.Ensembles[e.Name] = r
		}
	}
	return d, nil
}

// present counts the trainings of d that are in the database.
func (d *specData) present() int {
	n := 0
	for _, r := range d.Runs {
		for _, s := range r.Seeds {
			if s.Present {
				n++
			}
		}
	}
	return n
}

// completeness is the share of the spec's trained runs (those not skipped
// at this scale) with at least one finished training; 0 when none is
// trained at this scale.
func (d *specData) completeness() float64 {
	runs, done := 0, 0
	for _, r := range d.Runs {
		if r.RR.Config.Training == nil || r.RR.Skipped != "" {
			continue
		}
		runs++
		if len(r.done()) > 0 {
			done++
		}
	}
	if runs == 0 {
		return 0
	}
	return float64(done) / float64(runs)
}

// evalSplit is the split periodic and final evaluations are logged under.
func evalSplit(c experiments.Config) string {
	if c.Dataset == "imagenet" {
		return results.SplitVal
	}
	return results.SplitTest
}

// finalValues reads the final numbers of a done training.
func (s *store) finalValues(id string, c experiments.Config) (map[string]float64, error) {
	ms, err := s.metricsOf(id)
	if err != nil {
		return nil, err
	}
	last := map[[2]string]results.Metric{}
	for _, m := range ms { // ordered by iteration within (split, name)
		last[[2]string{m.Split, m.Name}] = m
	}
	v := map[string]float64{}
	get := func(key, split, name string) {
		if m, ok := last[[2]string{split, name}]; ok {
			v[key] = m.Value
		}
	}
	ev := evalSplit(c)
	get("train_error", results.SplitTrain, results.MetricError)
	if c.Dataset == "cifar10" {
		get("test_error", results.SplitTest, results.MetricError)
		// The 5k validation split of 45k/5k (not a spec metric: the
		// cross-framework control shows it).
		get(holdoutError, results.SplitVal, results.MetricError)
	}
	get("val_error", ev, results.MetricError)
	get("top1_error", ev, results.MetricError)
	get("top5_error", ev, results.MetricTop5)
	rs, err := s.responsesOf(id)
	if err != nil {
		return nil, err
	}
	if len(rs) > 0 {
		sum := 0.0
		for _, r := range rs {
			sum += r.Std
		}
		v["response_std_mean"] = sum / float64(len(rs))
	}
	return v, nil
}

// computeSeconds is the training time of a training: the wall_seconds of
// its last logged metric.
func (s *store) computeSeconds(id string) (float64, error) {
	ms, err := s.metricsOf(id)
	if err != nil {
		return 0, err
	}
	w := 0.0
	for _, m := range ms {
		w = max(w, m.WallSeconds)
	}
	return w, nil
}
