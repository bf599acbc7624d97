package reproduce

import (
	"fmt"
	"strings"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/results"
)

// EnsembleOutcome is what EvaluateEnsembles did with one ensemble of a
// spec: recorded its numbers, or why not (Missing lists the members that
// are not done or stored no predictions).
type EnsembleOutcome struct {
	Spec, Ensemble string
	Result         *results.EnsembleResult
	Missing        []string
}

// EvaluateEnsembles evaluates every ensemble of the named specs at the
// options' scale (Table 5, Sec. 3.4 and 4.1: "we average the scores") from
// the predictions its members' runs stored at their last iteration, and
// records each in the database. An ensemble with a member that is not done,
// or that stored no predictions (runs trained before schema version 4),
// is left unevaluated and its outcome says which members and how to
// retrain them. Every seed of a member takes part, in the spec's order.
func EvaluateEnsembles(db *results.DB, ids []string, opts RunOptions) ([]EnsembleOutcome, error) {
	var out []EnsembleOutcome
	for _, id := range ids {
		_, res, err := resolveSpec(id, opts)
		if err != nil {
			return nil, err
		}
		for _, ens := range res.Ensembles {
			o, err := evaluateEnsemble(db, res, ens)
			if err != nil {
				return nil, fmt.Errorf("%s ensemble %s: %w", res.ID, ens.Name, err)
			}
			out = append(out, o)
		}
	}
	return out, nil
}

func evaluateEnsemble(db *results.DB, res *experiments.Resolved, ens experiments.Ensemble) (EnsembleOutcome, error) {
	o := EnsembleOutcome{Spec: res.ID, Ensemble: ens.Name}
	var preds []*results.Predictions
	var ids []string
	for _, name := range ens.Members {
		for _, rr := range res.Runs {
			if rr.Name != name {
				continue
			}
			for i, runID := range rr.IDs {
				label := fmt.Sprintf("%s seed %d", name, rr.Seeds[i])
				r, err := db.GetRun(runID)
				if err != nil || r.Status != results.StatusDone {
					o.Missing = append(o.Missing, label+" (not trained)")
					continue
				}
				p, ok, err := findPredictions(db, runID)
				if err != nil {
					return o, err
				}
				if !ok {
					o.Missing = append(o.Missing, label+" (trained before predictions were stored)")
					continue
				}
				preds, ids = append(preds, p), append(ids, runID)
			}
		}
	}
	if len(o.Missing) > 0 {
		return o, nil
	}
	sc, err := results.Ensemble(preds)
	if err != nil {
		return o, err
	}
	r := results.EnsembleResult{Spec: res.ID, Ensemble: ens.Name, Scale: res.Scale, Split: preds[0].Split,
		View: preds[0].View, Members: ids, Scores: sc}
	if err := db.ReplaceEnsemble(r); err != nil {
		return o, err
	}
	o.Result = &r
	return o, nil
}

// findPredictions returns a run's predictions on its evaluation split (val
// for ImageNet, test for CIFAR-10).
func findPredictions(db *results.DB, runID string) (*results.Predictions, bool, error) {
	for _, split := range []string{results.SplitVal, results.SplitTest} {
		p, ok, err := db.GetPredictions(runID, split)
		if err != nil || ok {
			return p, ok, err
		}
	}
	return nil, false, nil
}

// String is the outcome in one line, for `repro run`'s log.
func (o EnsembleOutcome) String() string {
	if o.Result != nil {
		r := o.Result
		return fmt.Sprintf("%s ensemble %s (%d runs, %d %s images, %s view): top-1 error %.2f%%, top-5 error %.2f%%",
			o.Spec, o.Ensemble, len(r.Members), r.Images, r.Split, r.View, r.Top1, r.Top5)
	}
	return fmt.Sprintf("%s ensemble %s not evaluated: %s; `repro run %s --fresh --only NAME` retrains a member trained before predictions were stored",
		o.Spec, o.Ensemble, strings.Join(o.Missing, ", "), o.Spec)
}
