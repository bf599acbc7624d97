package reports

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/resnet-repro/resnet-repro/experiments"
)

// Control is one training of our recipe in another framework: the
// cross-framework control of issue 15, written by
// tools/torchref/medium_control.py as one JSON file per training.
type Control struct {
	// File is the base name of the JSON file.
	File       string
	Framework  string // "PyTorch 1.13.0a0"
	Model      string // "resnet-20"
	Seed       int
	Iterations int
	// TestImages is how many test images (the first ones) it was evaluated
	// on: 10,000 unless the file says otherwise.
	TestImages int
	// Pixels is "unit" (x/255 - mean, as our engine) or "raw" (x - mean on
	// 0..255: an ablation).
	Pixels string
	// Note is the file's own note on how it was produced, if any.
	Note string
	// Final numbers (%), at the last iteration.
	TestError, ValError, TrainError float64
}

// LoadControls reads every *.json control in dir, sorted by file name; a
// missing dir has none. A file that does not parse is an error naming it.
func LoadControls(dir string) ([]Control, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var out []Control
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var j struct {
			Framework  string `json:"framework"`
			Model      string `json:"model"`
			Seed       int    `json:"seed"`
			Iterations int    `json:"iterations"`
			TestImages int    `json:"test_images"`
			Pixels     string `json:"pixels"`
			Note       string `json:"note"`
			Final      struct {
				Iteration  int     `json:"iteration"`
				TestError  float64 `json:"test_error"`
				ValError   float64 `json:"val_error"`
				TrainError float64 `json:"train_error"`
			} `json:"final"`
		}
		if err := json.Unmarshal(raw, &j); err != nil {
			return nil, fmt.Errorf("control %s: %w", f, err)
		}
		if j.Model == "" || j.Iterations <= 0 || j.Final.Iteration != j.Iterations {
			return nil, fmt.Errorf("control %s: want a model and a final evaluation at its last iteration (model %q, iterations %d, final at %d)",
				f, j.Model, j.Iterations, j.Final.Iteration)
		}
		if j.TestImages == 0 {
			j.TestImages = cifarTestImages
		}
		if j.Pixels == "" {
			j.Pixels = "unit"
		}
		out = append(out, Control{File: filepath.Base(f), Framework: j.Framework, Model: j.Model, Seed: j.Seed,
			Iterations: j.Iterations, TestImages: j.TestImages, Pixels: j.Pixels, Note: j.Note,
			TestError: j.Final.TestError, ValError: j.Final.ValError, TrainError: j.Final.TrainError})
	}
	return out, nil
}

// holdoutError is the final error (%) on CIFAR-10's 5k validation split, in
// seedData.Values.
const holdoutError = "holdout_val_error"

// cifarTestImages is the size of the CIFAR-10 test set.
const cifarTestImages = 10000

// writeControls compares each CIFAR-10 run of d with the controls of the
// same model, training length and test images: our seeds' mean test error against the
// other framework's (same-input controls only), and whether they differ by
// less than the seed noise.
//
// Every scale in the databases is compared, not only the one reported, so
// that a control of a scale still in training is seen.
func (g *generator) writeControls(b *strings.Builder, d *specData) error {
	if len(g.opts.Controls) == 0 {
		return nil
	}
	var sections []string
	for _, scale := range experiments.Scales {
		e := d
		if scale != d.Scale {
			var err error
			if e, err = g.loadBest(d.Spec, scale); err != nil {
				return err
			}
		}
		sections = append(sections, g.controlSections(e)...)
	}
	if len(sections) == 0 {
		return nil
	}
	b.WriteString("## Cross-framework control\n\nThe same recipe trained in another framework (`tools/torchref/medium_control.py`; the data order differs, the recipe does not). Final numbers of each training.\n\n")
	b.WriteString(strings.Join(sections, ""))
	return nil
}

// controlSections are writeControls' sections for the runs of d (one
// scale) that have controls and a finished training.
func (g *generator) controlSections(d *specData) []string {
	var sections []string
	for _, r := range d.Runs {
		c := r.RR.Config
		if c.Training == nil || c.Dataset != "cifar10" || c.ProxyOf != "" || c.Width != 1 {
			continue
		}
		testImages := cifarTestImages
		if c.Eval != nil && c.Eval.Subset > 0 {
			testImages = min(c.Eval.Subset, testImages)
		}
		var ctl []Control
		for _, x := range g.opts.Controls {
			if x.Model == c.Model && x.Iterations == c.Training.Iterations && x.TestImages == testImages {
				ctl = append(ctl, x)
			}
		}
		if len(ctl) == 0 || len(r.done()) == 0 {
			continue
		}
		var ours []float64
		var oursVal []float64
		for _, s := range r.done() {
			ours = append(ours, s.Values["test_error"])
			if v, ok := s.Values[holdoutError]; ok {
				oursVal = append(oursVal, v)
			}
		}
		var theirs []float64
		rows := [][]string{{"ours (" + r.RR.Name + ")", "x/255 - mean", seedList(r), spread(ours), spread(oursVal)}}
		for _, x := range ctl {
			input := "x/255 - mean"
			if x.Pixels == "raw" {
				input = "x - mean on 0..255 (ablation)"
			} else {
				theirs = append(theirs, x.TestError)
			}
			rows = append(rows, []string{x.Framework + " (`" + x.File + "`)", input, fmt.Sprint(x.Seed), pct(x.TestError), pct(x.ValError)})
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "### %s at %s scale: %s iterations, test error on %s test images\n\n", r.RR.Name, d.Scale, thousands(c.Training.Iterations), thousands(testImages))
		sb.WriteString(mdTable([]string{"training", "input", "seeds", "test error (%)", "val error (%)"}, rows))
		sb.WriteString("\n")
		if len(ours) > 0 && len(theirs) > 0 {
			n := controlNoise(ours, theirs)
			if n.Margin == 0 {
				n = g.noise(d, "test_error")
			}
			diff := meanOf(ours) - meanOf(theirs)
			word := "within seed noise"
			if math.Abs(diff) >= n.Margin {
				word = "outside seed noise"
			}
			fmt.Fprintf(&sb, "Ours minus PyTorch (same input): %s points of test error (ours %s over %s, theirs %s over %s): **%s** (noise margin %s: %s).\n\n",
				signed(diff), pct(meanOf(ours)), seedsText(len(ours)), pct(meanOf(theirs)), seedsText(len(theirs)), word, pct(n.Margin), n.Source)
		}
		sections = append(sections, sb.String())
	}
	return sections
}

// seedList names the finished seeds of r: "1, 2, 3".
func seedList(r *runData) string {
	var s []string
	for _, x := range r.done() {
		s = append(s, fmt.Sprint(x.Seed))
	}
	if len(s) == 0 {
		return "none done"
	}
	return strings.Join(s, ", ")
}

// spread formats values as "mean±std (a, b, c)", or the one value.
func spread(xs []float64) string {
	switch len(xs) {
	case 0:
		return "n/a"
	case 1:
		return pct(xs[0])
	}
	var each []string
	for _, x := range xs {
		each = append(each, pct(x))
	}
	return pct(meanOf(xs)) + "±" + pct(sampleStd(xs)) + " (" + strings.Join(each, ", ") + ")"
}

// controlNoise pools the seed variance of the two frameworks' test errors
// (each framework's values about its own mean); zero margin when neither
// has two seeds.
func controlNoise(ours, theirs []float64) experiments.Noise {
	sum, dof := 0.0, 0
	var what []string
	for _, g := range []struct {
		name string
		xs   []float64
	}{{"ours", ours}, {"PyTorch", theirs}} {
		if len(g.xs) < 2 {
			continue
		}
		ss, k := squaresAboutMean(g.xs)
		sum, dof = sum+ss, dof+k
		what = append(what, fmt.Sprintf("%s (%d seeds)", g.name, len(g.xs)))
	}
	if dof == 0 {
		return experiments.Noise{}
	}
	return experiments.Noise{Margin: math.Sqrt(sum / float64(dof)), Source: "pooled seed std of the test error over " + strings.Join(what, " and ")}
}

// seedsText is "1 seed", "3 seeds".
func seedsText(n int) string {
	if n == 1 {
		return "1 seed"
	}
	return fmt.Sprintf("%d seeds", n)
}
