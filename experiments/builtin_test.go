package experiments

import (
	"slices"
	"strings"
	"testing"
)

// wantArtifacts is every table and figure of the paper (arXiv 1512.03385,
// main text and appendix): each must have a built-in spec, in scope or not.
var wantArtifacts = []string{
	"table1", "table2", "table3", "table4", "table5", "table6", "table7", "table8",
	"table9", "table10", "table11", "table12", "table13", "table14",
	"fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7",
}

func TestBuiltinSpecsLoadAndResolveAtEveryScale(t *testing.T) {
	specs, err := Builtin(nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range specs {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(sortedCopy(ids), sortedCopy(wantArtifacts)) {
		t.Fatalf("built-in specs %v, want %v", ids, wantArtifacts)
	}
	// Paper order: tables by number, then figures.
	if ids[0] != "table1" || ids[1] != "table2" || ids[9] != "table10" || ids[14] != "fig1" {
		t.Errorf("order %v: want table1, table2, ..., table10, ..., fig1, ...", ids)
	}
	for _, s := range specs {
		for _, scale := range Scales {
			for _, imagenet := range []bool{false, true} {
				r, err := s.Resolve(Options{Scale: scale, ImageNet: imagenet})
				if err != nil {
					t.Fatalf("%s at %s: %v", s.ID, scale, err)
				}
				checkResolved(t, s, r, imagenet)
			}
		}
	}
}

// checkResolved asserts the invariants every resolved spec must satisfy.
func checkResolved(t *testing.T, s *Spec, r *Resolved, imagenet bool) {
	t.Helper()
	where := s.ID + "@" + r.Scale
	if !s.InScope() {
		if len(r.Runs) != 0 || s.Reason == "" {
			t.Errorf("%s: out of scope with %d runs, reason %q", where, len(r.Runs), s.Reason)
		}
		return
	}
	if len(r.Runs) != len(s.Runs) {
		t.Errorf("%s: %d resolved runs, spec has %d", where, len(r.Runs), len(s.Runs))
	}
	for _, rr := range r.Runs {
		c := rr.Config
		w := where + "/" + rr.Name
		if c.Layout != s.Dataset || c.Model == "" || c.Width <= 0 || c.Classes == 0 || c.Input == 0 || c.Stem == "" || c.Dataset == "" {
			t.Errorf("%s: incomplete config %+v", w, c)
		}
		fam, _, err := ParseModel(c.Model, c.Layout)
		if err != nil {
			t.Errorf("%s: %v", w, err)
		}
		if (fam == FamilyResNet) != (c.Shortcut != "") {
			t.Errorf("%s: family %s with shortcut %q", w, fam, c.Shortcut)
		}
		if r.Scale == ScalePaper && c.Width != 1 {
			t.Errorf("%s: width %v at paper scale", w, c.Width)
		}
		if s.Kind != KindTrain {
			if c.Training != nil || c.Eval != nil || rr.Seeds != nil {
				t.Errorf("%s: a %s run has training settings", w, s.Kind)
			}
			continue
		}
		tr, ev := c.Training, c.Eval
		if tr == nil || ev == nil {
			t.Fatalf("%s: no training or eval config", w)
		}
		if tr.Batch <= 0 || tr.Iterations <= 0 || tr.Momentum != 0.9 || tr.WeightDecay != 0.0001 || tr.Schedule.BaseLR != 0.1 || tr.Schedule.Factor != 0.1 {
			t.Errorf("%s: bad training %+v", w, tr)
		}
		if rr.Skipped != "" && (r.Scale == ScalePaper || len(rr.Seeds) != 0 || len(rr.IDs) != 0) {
			t.Errorf("%s: skipped (%s) with seeds %v at %s scale", w, rr.Skipped, rr.Seeds, r.Scale)
		}
		if rr.Skipped == "" && (len(rr.Seeds) == 0 || rr.Seeds[0] != 1) {
			t.Errorf("%s: seeds %v", w, rr.Seeds)
		}
		for i, st := range tr.Schedule.Steps {
			if st <= 0 || st >= tr.Iterations || (i > 0 && st <= tr.Schedule.Steps[i-1]) {
				t.Errorf("%s: steps %v with %d iterations", w, tr.Schedule.Steps, tr.Iterations)
			}
		}
		if !slices.Contains(ev.FinalViews, rr.Protocol) {
			t.Errorf("%s: protocol %q not in final views %v", w, rr.Protocol, ev.FinalViews)
		}
		// The proxy rule: ImageNet specs train on CIFAR-10 at smoke scale,
		// and at quick and medium scale unless ImageNet is available.
		wantProxy := s.Dataset == "imagenet" && (r.Scale == ScaleSmoke || ((r.Scale == ScaleQuick || r.Scale == ScaleMedium) && !imagenet))
		if (c.ProxyOf == "imagenet") != wantProxy || (wantProxy && (c.Dataset != "cifar10" || c.Input != 32 || c.Stem != "cifar")) {
			t.Errorf("%s: proxy %q dataset %s input %d stem %s, want proxy %v", w, c.ProxyOf, c.Dataset, c.Input, c.Stem, wantProxy)
		}
		if r.Scale == ScalePaper {
			rec := Recipes[s.Recipe]
			if tr.Iterations != rec.Iterations || tr.Batch != rec.Batch || tr.TrainSubset != 0 || ev.Subset != 0 || c.Model != s.Runs[slices.IndexFunc(s.Runs, func(x Run) bool { return x.Name == rr.Name })].Model {
				t.Errorf("%s: paper scale differs from the recipe: %+v", w, tr)
			}
		}
		if (r.Scale == ScaleQuick || r.Scale == ScaleMedium) && c.Model != runByName(s, rr.Name).Model {
			t.Errorf("%s: %s scale changed the model to %s", w, r.Scale, c.Model)
		}
	}
}

func runByName(s *Spec, name string) Run {
	return s.Runs[slices.IndexFunc(s.Runs, func(x Run) bool { return x.Name == name })]
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func TestBuiltinSpecsUseTheRegistryValidator(t *testing.T) {
	// A registry that knows no VGG must make table1 fail to load, naming
	// the file, line and column.
	noVGG := func(m string) error {
		if strings.HasPrefix(m, "vgg-") {
			return errNotRegistered
		}
		return nil
	}
	_, err := Builtin(noVGG)
	if err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("Builtin(noVGG) = %v, want a 'not registered' error", err)
	}
	le, ok := err.(*LoadError)
	if !ok || le.Line == 0 || le.Col == 0 || !strings.HasPrefix(le.File, "specs/") {
		t.Errorf("error %#v: want a LoadError with file, line and column", err)
	}
}
