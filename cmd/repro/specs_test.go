package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/results"
)

func runRepro(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(append([]string{"repro"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestSpecsList(t *testing.T) {
	code, out, errs := runRepro("specs", "--scale", "smoke")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// 21 artifacts (tables 1-14, figures 1-7), a header and a total line.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 23 {
		t.Errorf("%d lines, want 23:\n%s", len(lines), out)
	}
	for _, want := range []string{"table6", "in scope (train)", "table13", "out of scope", "Faster R-CNN", "fig2", "in scope (diagram)", "scale smoke"} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q:\n%s", want, out)
		}
	}
	// The command is wired to the model zoo, so it prints multiply-adds.
	if !strings.Contains(out, "MULTIPLY-ADDS") {
		t.Error("no multiply-adds column although the zoo's counter is wired")
	}
}

func TestSpecsListWithMACsHook(t *testing.T) {
	// A hook of 1000 multiply-adds per image: fig1 at smoke trains 2 runs x
	// 4 iterations x batch 8 = 64 images and evaluates 2 x (4/2 x 16 + 16)
	// = 96, so 3 x 1000 x 64 + 1000 x 96 = 288000 = "288k".
	var out bytes.Buffer
	deps := specsDeps{macs: func(experiments.Config) (int64, error) { return 1000, nil }}
	if err := listSpecs(&out, deps, experiments.Options{Scale: "smoke"}, nil); err != nil {
		t.Fatal(err)
	}
	var fig1 string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "fig1 ") {
			fig1 = l
		}
	}
	if !strings.Contains(out.String(), "MULTIPLY-ADDS") || !strings.Contains(fig1, " 64 ") || !strings.Contains(fig1, " 96 ") || !strings.Contains(fig1, " 288k ") {
		t.Errorf("fig1 line %q in:\n%s", fig1, out.String())
	}
}

func TestSpecsShow(t *testing.T) {
	// Flags after the positional argument are honoured.
	code, out, errs := runRepro("specs", "show", "table6", "--scale", "smoke", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r experiments.Resolved
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.ID != "table6" || r.Scale != "smoke" || len(r.Runs) != 6 || r.Runs[0].Config.Training.Iterations != 4 || len(r.Runs[0].IDs) != 1 {
		t.Errorf("resolved %+v", r)
	}
	// YAML output parses back to the same runs.
	code, out, errs = runRepro("specs", "show", "--scale", "paper", "table6")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var y struct {
		Scale string
		Runs  []struct {
			Name string
			IDs  []string `yaml:"ids"`
		}
	}
	if err := yaml.Unmarshal([]byte(out), &y); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if y.Scale != "paper" || len(y.Runs) != 6 || y.Runs[4].Name != "resnet-110" || len(y.Runs[4].IDs) != 5 {
		t.Errorf("yaml %+v", y)
	}
}

func TestSpecsShowErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	text := "id: bad\nartifact: Figure 9\ntitle: bad\nkind: train\ndataset: cifar10\nrecipe: cifar-paper\nruns:\n  - {name: r, model: resnet-21}\n"
	if err := os.WriteFile(bad, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"specs", "show", bad}, bad + ":8:22: model \"resnet-21\": CIFAR-10 depth must be 6n+2"},
		{[]string{"specs", "show", "table99"}, "no such spec \"table99\""},
		{[]string{"specs", "show", "table6", "--scale", "huge"}, "unknown scale \"huge\""},
		{[]string{"specs", "show", "table6", "--format", "xml"}, "unknown format \"xml\""},
		{[]string{"specs", "show", filepath.Join(t.TempDir(), "missing.yaml")}, "no such file"},
		{[]string{"specs", "table6"}, "unexpected argument \"table6\""},
	}
	for _, c := range cases {
		code, _, errs := runRepro(c.args...)
		if code != 2 || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line containing %q", c.args, code, errs, c.want)
		}
	}
}

func TestMeasuredCost(t *testing.T) {
	s, err := experiments.Lookup("table6", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Resolve(experiments.Options{Scale: experiments.ScaleSmoke})
	if err != nil {
		t.Fatal(err)
	}
	if got := measuredCost(nil, r); got != "-" {
		t.Errorf("no database: %q", got)
	}
	db, err := results.Open(filepath.Join(t.TempDir(), "smoke.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// One done training whose last train/loss was logged after 3,570 s of
	// training (59.5 min, shown rounded as 1:00), one still running.
	done, running := r.Runs[0].IDs[0], r.Runs[1].IDs[0]
	for _, id := range []string{done, running} {
		if _, err := db.UpsertRun(results.Run{ID: id, Spec: "table6", Name: "x", Scale: "smoke", Seed: 1, Iterations: 4}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddMetrics([]results.Metric{{RunID: done, Iteration: 4, Split: results.SplitTrain, Name: results.MetricLoss, Value: 1, WallSeconds: 3570}}); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkFinished(done, results.StatusDone, ""); err != nil {
		t.Fatal(err)
	}
	trainings := 0
	for _, rr := range r.Runs {
		trainings += len(rr.IDs)
	}
	if got, want := measuredCost(db, r), fmt.Sprintf("1/%d done, 1:00", trainings); got != want {
		t.Errorf("measured %q, want %q", got, want)
	}
}
