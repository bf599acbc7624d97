package reproduce

import (
	"fmt"
	"slices"
	"strings"

	"github.com/resnet-repro/resnet-repro/experiments"
)

// PlannedRun is one training of a spec, as `repro run` would train it.
type PlannedRun struct {
	Spec   string // the spec's id
	Name   string // the run's name within the spec
	Seed   int
	ID     string // experiments.Config.ID(Seed)
	Config experiments.Config
}

// Plan lists the trainings `repro run` would do for these specs (built-in
// ids or files) and options, in the same order and by the same resolution
// as RunSpecs, without training anything. A run identity that two specs
// share is listed once, under the first spec.
func Plan(ids []string, opts RunOptions) ([]PlannedRun, error) {
	var out []PlannedRun
	seen := map[string]bool{}
	for _, id := range ids {
		spec, res, err := resolveSpec(id, opts)
		if err != nil {
			return nil, err
		}
		matched := map[string]bool{}
		for _, rr := range res.Runs {
			if len(opts.Only) > 0 && !slices.Contains(opts.Only, rr.Name) {
				continue
			}
			matched[rr.Name] = true
			if rr.Config.Training == nil {
				continue // analytic or diagram: nothing to train
			}
			if _, err := DefineRun(rr.Config); err != nil {
				return nil, fmt.Errorf("%s: run %s: %w", spec.ID, rr.Name, err)
			}
			for i, seed := range rr.Seeds {
				if seen[rr.IDs[i]] || (len(opts.RunIDs) > 0 && !slices.Contains(opts.RunIDs, rr.IDs[i])) {
					continue
				}
				seen[rr.IDs[i]] = true
				out = append(out, PlannedRun{Spec: spec.ID, Name: rr.Name, Seed: seed, ID: rr.IDs[i], Config: rr.Config})
			}
		}
		for _, name := range opts.Only {
			if !matched[name] && len(ids) == 1 {
				var names []string
				for _, rr := range res.Runs {
					names = append(names, rr.Name)
				}
				return nil, fmt.Errorf("%s has no run %q (runs: %s)", spec.ID, name, strings.Join(names, ", "))
			}
		}
	}
	for _, id := range opts.RunIDs {
		if !seen[id] {
			return nil, fmt.Errorf("no run with id %q in %s at scale %s", id, strings.Join(ids, ", "), opts.Resolve.Scale)
		}
	}
	return out, nil
}

// resolveSpec looks up a built-in spec id or spec file (models validated by
// the zoo) and resolves it with the options.
func resolveSpec(id string, opts RunOptions) (*experiments.Spec, *experiments.Resolved, error) {
	spec, err := experiments.Lookup(id, ValidateModel)
	if err != nil {
		return nil, nil, err
	}
	res, err := spec.Resolve(opts.Resolve)
	if err != nil {
		return nil, nil, err
	}
	return spec, res, nil
}
