package experiments

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validSpec is a small correct spec; each malformed case below edits one
// line of it. Line numbers in the cases count from "id:" as line 1.
const validSpec = `id: demo
artifact: Figure 99
title: a demo
kind: train
dataset: cifar10
recipe: cifar-paper
runs:
  - {name: plain-20, model: plain-20}
  - name: resnet-20
    model: resnet-20
    paper: {test_error: 8.75}
claims:
  - id: c1
    paper: "deeper is better"
    kind: less
    metric: test_error
    runs: [resnet-20, plain-20]
scales:
  quick: {iterations: 100}
`

func TestParseValidSpec(t *testing.T) {
	s, err := Parse("demo.yaml", []byte(validSpec), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "demo" || len(s.Runs) != 2 || s.Runs[1].Paper["test_error"] != 8.75 || s.Scales["quick"].Iterations != 100 || s.File != "demo.yaml" {
		t.Errorf("parsed %+v", s)
	}
}

func TestMalformedSpecsNameFileLineColumn(t *testing.T) {
	// Each case replaces the text old of validSpec by new (or appends it when
	// old is empty) and expects an error "demo.yaml:<pos>: ..." containing
	// msg. pos is line:col, 1-based, as an editor shows it.
	cases := []struct {
		name, old, new, pos, msg string
	}{
		{"unknown top-level key", "title: a demo", "title: a demo\ncolour: red", "4:1", `unknown key "colour"`},
		{"unknown key in a run", "{name: plain-20, model: plain-20}", "{name: plain-20, model: plain-20, depth: 20}", "8:39", `unknown key "depth"`},
		{"unknown key in an override", "quick: {iterations: 100}", "quick: {iterations: 100, epochs: 3}", "19:28", `unknown key "epochs"`},
		{"wrong type: string for an int", "quick: {iterations: 100}", "quick: {iterations: lots}", "19:23", "want an integer"},
		{"wrong type: fractional int", "quick: {iterations: 100}", "quick: {iterations: 100.5}", "19:23", "want an integer"},
		{"wrong type: string for a number", "paper: {test_error: 8.75}", "paper: {test_error: 8.75%}", "11:25", "want a number"},
		{"wrong type: list for a string", "title: a demo", "title: [a, demo]", "3:8", "want a string"},
		{"wrong type: mapping for a list", "runs: [resnet-20, plain-20]", "runs: {a: resnet-20}", "17:11", "want a list"},
		{"duplicate key", "kind: train", "kind: train\nkind: train", "5:1", `duplicate key "kind"`},
		{"unknown recipe", "recipe: cifar-paper", "recipe: cifar-fast", "6:9", `unknown recipe "cifar-fast"`},
		{"recipe for another dataset", "recipe: cifar-paper", "recipe: imagenet-paper", "6:9", "trains on imagenet"},
		{"unknown kind", "kind: train", "kind: training", "4:7", `kind "training"`},
		{"unknown dataset", "dataset: cifar10", "dataset: cifar100", "5:10", `dataset "cifar100"`},
		{"unknown claim kind", "kind: less", "kind: smaller", "15:11", `unknown claim kind "smaller"`},
		{"unknown metric in a claim", "metric: test_error", "metric: accuracy", "16:13", `unknown metric "accuracy"`},
		{"unknown metric in paper numbers", "paper: {test_error: 8.75}", "paper: {test_err: 8.75}", "11:13", `unknown metric "test_err"`},
		{"claim names a missing run", "runs: [resnet-20, plain-20]", "runs: [resnet-20, plain-56]", "17:23", `run "plain-56", which this spec does not have`},
		{"claim with the wrong number of runs", "runs: [resnet-20, plain-20]", "runs: [resnet-20]", "17:11", "takes 2 run(s), got 1"},
		{"above without a value", "kind: less\n    metric: test_error\n    runs: [resnet-20, plain-20]", "kind: above\n    metric: test_error\n    runs: [resnet-20]", "13:5", "needs a value"},
		{"duplicate run name", "name: resnet-20", "name: plain-20", "9:11", `duplicate run name "plain-20"`},
		{"bad depth syntax", "model: resnet-20", "model: resnet-2O", "10:12", `depth "2O" is not a positive integer`},
		{"depth not 6n+2 on CIFAR", "model: resnet-20", "model: resnet-18", "10:12", "6n+2"},
		{"unknown family", "model: resnet-20", "model: densenet-40", "10:12", `unknown family "densenet"`},
		{"shortcut on a plain net", "{name: plain-20, model: plain-20}", "{name: plain-20, model: plain-20, shortcut: A}", "8:39", "has no shortcuts"},
		{"unknown shortcut option", "model: resnet-20\n", "model: resnet-20\n    shortcut: D\n", "11:15", `shortcut "D"`},
		{"different model outside smoke", "quick: {iterations: 100}", "quick: {iterations: 100, model: resnet-32}", "19:10", "smoke scale only"},
		{"width at paper scale", "quick: {iterations: 100}", "paper: {width: 0.5}", "19:10", "the paper scale is the paper's recipe"},
		{"unknown scale", "quick: {iterations: 100}", "fast: {iterations: 100}", "19:3", `unknown scale "fast"`},
		{"anchor", "quick: {iterations: 100}", "quick: &q {iterations: 100}", "19:10", "anchors and aliases"},
		// yaml.v3 reports no column for syntax errors (and a line that can be
		// off by one), so only the file is in the position.
		{"yaml syntax", "title: a demo", "title: [a demo", "", "YAML syntax error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(validSpec, c.old) {
				t.Fatalf("case edits %q, which validSpec does not contain", c.old)
			}
			text := strings.Replace(validSpec, c.old, c.new, 1)
			_, err := Parse("demo.yaml", []byte(text), nil)
			if err == nil {
				t.Fatalf("no error for\n%s", text)
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %v is a %T, want *LoadError", err, err)
			}
			want := "demo.yaml:" + c.pos + ": "
			if c.pos == "" {
				want = "demo.yaml: "
			}
			if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q, want prefix %q containing %q", err, want, c.msg)
			}
		})
	}
}

func TestModelValidatorIsConsulted(t *testing.T) {
	reject := func(m string) error {
		if m == "resnet-20" {
			return errNotRegistered
		}
		return nil
	}
	_, err := Parse("demo.yaml", []byte(validSpec), reject)
	if err == nil || err.Error() != `demo.yaml:10:12: model "resnet-20": not registered` {
		t.Errorf("got %v", err)
	}
}

func TestOutOfScopeNeedsReasonAndNoRuns(t *testing.T) {
	noReason := "id: t7\nartifact: Table 7\ntitle: detection\nkind: out_of_scope\n"
	if _, err := Parse("t7.yaml", []byte(noReason), nil); err == nil || !strings.Contains(err.Error(), "needs a reason") {
		t.Errorf("no reason: %v", err)
	}
	withRuns := noReason + "reason: no detector\nruns:\n  - {name: resnet-101, model: resnet-101, shortcut: B}\n"
	if _, err := Parse("t7.yaml", []byte(withRuns), nil); err == nil || !strings.HasPrefix(err.Error(), "t7.yaml:6:1: an out_of_scope spec has no runs") {
		t.Errorf("with runs: %v", err)
	}
}

func TestLookupBuiltinAndFile(t *testing.T) {
	s, err := Lookup("table6", nil)
	if err != nil || s.ID != "table6" || !s.Builtin {
		t.Fatalf("Lookup(table6) = %v, %v", s, err)
	}
	path := filepath.Join(t.TempDir(), "demo.yaml")
	if err := os.WriteFile(path, []byte(validSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = Lookup(path, nil)
	if err != nil || s.ID != "demo" || s.Builtin || s.File != path {
		t.Fatalf("Lookup(file) = %+v, %v", s, err)
	}
	if _, err := Lookup("table99", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(table99) = %v, want ErrNotFound", err)
	}
}
