package reproduce

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/models"
	"github.com/resnet-repro/resnet-repro/results"
)

// TestCatalog: ResNet-20 seed 2 at medium, trained by `repro run table6
// --seeds 3`, is recorded as a run of fig6 and fig7 too (they share its
// identity), and the specs' paper numbers are stored.
func TestCatalog(t *testing.T) {
	spec, err := experiments.Lookup("table6", ValidateModel)
	if err != nil {
		t.Fatal(err)
	}
	res, err := spec.Resolve(experiments.Options{Scale: experiments.ScaleMedium})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, rr := range res.Runs {
		if rr.Name == "resnet-20" {
			id = rr.Config.ID(2) // the default is 1 seed; seed 2 comes from --seeds 3
		}
	}
	db, err := results.Open(filepath.Join(t.TempDir(), "medium.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.UpsertRun(results.Run{ID: id, Spec: "table6", Name: "resnet-20", Scale: experiments.ScaleMedium, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	specs, err := experiments.Builtin(ValidateModel)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Catalog(db, specs)
	if err != nil {
		t.Fatal(err)
	}
	rss, err := db.RunSpecs(id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rs := range rss {
		got = append(got, rs.Spec+"/"+rs.Name)
	}
	if want := "fig6/resnet-20 fig7/resnet-20 table6/resnet-20"; strings.Join(got, " ") != want {
		t.Errorf("memberships %q, want %q", strings.Join(got, " "), want)
	}
	if sum.RunSpecs != 3 {
		t.Errorf("Catalog counted %d memberships, want 3", sum.RunSpecs)
	}
	ts, err := db.PaperTargets()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tg := range ts {
		// Table 6: ResNet-20's 8.75% test error (paper-targets.md A.6).
		if tg.Spec == "table6" && tg.Run == "resnet-20" && tg.Metric == "test_error" && tg.Value == 8.75 {
			found = true
		}
	}
	if !found || sum.PaperTargets != len(ts) {
		t.Errorf("paper targets %+v (counted %d): want table6/resnet-20 test_error 8.75 among them", ts, sum.PaperTargets)
	}
}

// The spec loader (experiments.ParseModel) and the zoo (models.Define)
// accept exactly the same names in each layout: both use modelname's
// grammar (issue 17: the copies once disagreed on plain-50 and vgg-11).
func TestModelNamesAgree(t *testing.T) {
	var names []string
	for _, fam := range []string{"resnet", "plain", "vgg"} {
		for d := 1; d <= 160; d++ {
			names = append(names, fmt.Sprintf("%s-%d", fam, d))
		}
		names = append(names, fam+"-1202", fam+"-0", fam+"-020", fam)
	}
	for _, name := range names {
		for _, layout := range []struct {
			dataset string
			family  models.Family
		}{{"imagenet", models.ImageNet}, {"cifar10", models.CIFAR}} {
			_, _, specErr := experiments.ParseModel(name, layout.dataset)
			fam := layout.family
			if strings.HasPrefix(name, "vgg") && layout.dataset == "imagenet" {
				fam = models.VGG
			}
			_, zooErr := models.Define(models.Config{Model: name, Family: fam})
			if (specErr == nil) != (zooErr == nil) {
				t.Errorf("%s on %s: the spec loader says %v, the zoo %v", name, layout.dataset, specErr, zooErr)
			}
		}
	}
}
