package reports

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/resnet-repro/resnet-repro/experiments"
)

// paperSeedStd is the paper's only measured seed noise: ResNet-110's test
// error over 5 runs, 6.61 ± 0.16 (Table 6, paper-targets.md A.6). It is the
// default noise margin of error metrics where no seeds were measured.
const paperSeedStd = 0.16

// noise returns the noise margin of metric for the claims of d at its
// scale (issue 15), first found of:
//
//  1. the pooled seed standard deviation of d's own runs with two or more
//     finished seeds: sqrt(sum_r (n_r-1) s_r^2 / sum_r (n_r-1)), s_r the
//     sample std of run r's n_r seeds;
//  2. the same over every built-in spec's runs at d's scale (table6's
//     ResNet-110 seeds, ResNet-20's extra seeds), each training counted once;
//  3. for error metrics the paper's ResNet-110 std (paperSeedStd); for other
//     metrics 0, a strict comparison, with a source that says so.
//
// The margin is one seed std of a single run's value, applied to the
// difference of two such values (whose own std is about sqrt(2) times
// larger): a lenient bar, chosen so that "within noise" only ever means
// "closer than seeds are apart".
func (g *generator) noise(d *specData, metric string) experiments.Noise {
	if d.Scale == "" {
		return experiments.Noise{} // analytic claims: exact numbers
	}
	metric = baseMetric(metric)
	if n, ok := pooledSeedStd([]*specData{d}, metric); ok {
		n.Source += " at " + d.Scale + " scale, this spec"
		return n
	}
	key := d.Scale + "/" + metric
	if n, ok := g.noiseCache[key]; ok {
		return n
	}
	var all []*specData
	if specs, err := experiments.Builtin(nil); err == nil {
		for _, s := range specs {
			if s.Kind != experiments.KindTrain {
				continue
			}
			if e, err := g.st.load(s, d.Scale, false); err == nil {
				all = append(all, e)
			}
		}
	}
	n, ok := pooledSeedStd(all, metric)
	switch {
	case ok:
		n.Source += " at " + d.Scale + " scale"
	case strings.HasSuffix(metric, "_error"):
		n = experiments.Noise{Margin: paperSeedStd,
			Source: "no seeds measured at " + d.Scale + " scale; the paper's ResNet-110 test-error std over 5 runs, Table 6"}
	default:
		n = experiments.Noise{Source: "no seeds measured at " + d.Scale + " scale; strict comparison"}
	}
	if g.noiseCache == nil {
		g.noiseCache = map[string]experiments.Noise{}
	}
	g.noiseCache[key] = n
	return n
}

// pooledSeedStd pools the seed variance of metric over the runs of specs
// with two or more finished seeds that measured it; each training (by
// identity) counts once, as specs share runs. The source names the runs:
// "seed std of resnet-110 (3 seeds, table6)".
func pooledSeedStd(specs []*specData, metric string) (experiments.Noise, bool) {
	seen := map[string]bool{}
	sum, dof := 0.0, 0
	var names []string
	for _, d := range specs {
		for _, r := range d.Runs {
			var xs []float64
			for _, s := range r.done() {
				if seen[s.ID] {
					xs = nil
					break
				}
				if v, ok := s.Values[metric]; ok && !math.IsNaN(v) {
					xs = append(xs, v)
				}
			}
			if len(xs) < 2 {
				continue
			}
			for _, s := range r.done() {
				seen[s.ID] = true
			}
			ss, k := squaresAboutMean(xs)
			sum, dof = sum+ss, dof+k
			names = append(names, fmt.Sprintf("%s (%d seeds, %s)", r.RR.Name, len(xs), d.Spec.ID))
		}
	}
	if dof == 0 {
		return experiments.Noise{}, false
	}
	slices.Sort(names)
	what := "seed std of "
	if len(names) > 1 {
		what = "pooled seed std of "
	}
	return experiments.Noise{Margin: math.Sqrt(sum / float64(dof)), Source: what + metric + " over " + strings.Join(names, ", ")}, true
}

// squaresAboutMean returns the sum of squared deviations of xs from their
// mean and its degrees of freedom, len(xs)-1: one group's share of a
// pooled variance sum_g ss_g / sum_g dof_g.
func squaresAboutMean(xs []float64) (ss float64, dof int) {
	m := meanOf(xs)
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return ss, len(xs) - 1
}
