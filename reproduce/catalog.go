package reproduce

import (
	"fmt"
	"maps"
	"slices"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/results"
)

// CatalogSummary counts what Catalog recorded.
type CatalogSummary struct {
	RunSpecs     int // (run, spec) memberships of runs in the database
	PaperTargets int // the paper's numbers of the specs
}

// Catalog records in db, for every spec given, which of the database's runs
// the spec includes (a run is trained once and shared: fig6's ResNets are
// table6's) and the paper's numbers for its runs, so that a researcher's
// SQL needs no spec files. Each spec is resolved at every scale, with and
// without an ImageNet training set, and for every seed up to the largest the
// database holds (a `--seeds 3` campaign trains more seeds than a spec's
// default); runs the database does not hold are skipped.
func Catalog(db *results.DB, specs []*experiments.Spec) (CatalogSummary, error) {
	var sum CatalogSummary
	runs, err := db.ListRuns(results.RunFilter{})
	if err != nil {
		return sum, err
	}
	maxSeed := 1
	for _, r := range runs {
		maxSeed = max(maxSeed, int(r.Seed))
	}
	var members []results.RunSpec
	seen := map[results.RunSpec]bool{} // CIFAR specs resolve alike with and without ImageNet
	var targets []results.PaperTarget
	for _, spec := range specs {
		for _, r := range spec.Runs {
			for _, metric := range slices.Sorted(maps.Keys(r.Paper)) {
				targets = append(targets, results.PaperTarget{Spec: spec.ID, Run: r.Name, Metric: metric,
					Value: r.Paper[metric], Source: paperSource(spec)})
			}
		}
		if spec.Kind != experiments.KindTrain {
			continue
		}
		for _, scale := range experiments.Scales {
			for _, imagenet := range []bool{false, true} {
				res, err := spec.Resolve(experiments.Options{Scale: scale, ImageNet: imagenet})
				if err != nil {
					return sum, fmt.Errorf("%s at %s scale: %w", spec.ID, scale, err)
				}
				for _, rr := range res.Runs {
					if rr.Config.Training == nil || rr.Skipped != "" {
						continue
					}
					for seed := 1; seed <= max(maxSeed, len(rr.Seeds)); seed++ {
						m := results.RunSpec{RunID: rr.Config.ID(seed), Spec: spec.ID, Name: rr.Name}
						if !seen[m] {
							seen[m] = true
							members = append(members, m)
						}
					}
				}
			}
		}
	}
	if sum.RunSpecs, err = db.AddRunSpecs(members); err != nil {
		return sum, err
	}
	if err := db.SetPaperTargets(targets); err != nil {
		return sum, err
	}
	sum.PaperTargets = len(targets)
	return sum, nil
}

// paperSource names where the paper gives a spec's numbers: "Table 6
// (paper-targets.md A.6)".
func paperSource(s *experiments.Spec) string {
	if s.Source == "" {
		return s.Artifact
	}
	return fmt.Sprintf("%s (paper-targets.md %s)", s.Artifact, s.Source)
}

// UpgradeReport says what Upgrade did to one database.
type UpgradeReport struct {
	Path        string
	FromVersion int // schema version before
	ToVersion   int // schema version after
	Catalog     CatalogSummary
}

// Upgrade migrates the results database at path in place to the newest
// schema (each migration in its own transaction: rows are only added, none
// is lost) and records the catalog (Catalog) of the built-in specs. Running
// it again changes nothing but the catalog's refresh.
func Upgrade(path string) (UpgradeReport, error) {
	rep := UpgradeReport{Path: path}
	from, err := results.FileSchemaVersion(path)
	if err != nil {
		return rep, err
	}
	rep.FromVersion = from
	db, err := results.Open(path)
	if err != nil {
		return rep, err
	}
	defer db.Close()
	rep.ToVersion = results.SchemaVersion()
	specs, err := experiments.Builtin(ValidateModel)
	if err != nil {
		return rep, err
	}
	if rep.Catalog, err = Catalog(db, specs); err != nil {
		return rep, fmt.Errorf("upgrade %s: %w", db.Path(), err)
	}
	return rep, nil
}

// catalogSpecs records the catalog of the named specs (built-in ids or spec
// files) before they train, so the database says which runs each shares
// even when an earlier spec registered them.
func catalogSpecs(db *results.DB, ids []string) error {
	specs := make([]*experiments.Spec, 0, len(ids))
	for _, id := range ids {
		spec, err := experiments.Lookup(id, ValidateModel)
		if err != nil {
			return err
		}
		specs = append(specs, spec)
	}
	_, err := Catalog(db, specs)
	return err
}
