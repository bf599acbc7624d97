package reports

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/results"
)

// table5Members are table5.yaml's runs at smoke scale (one seed each).
var table5Members = []string{"resnet-34-b", "resnet-34-c", "resnet-50", "resnet-101", "resnet-152"}

// table5DB writes the smoke table5 members as done, each with a top-5 error
// of 40 + its index (resnet-152: 44), and, if members is not nil, an
// evaluated ensemble over those run ids with top-1 30 and top-5 4.5.
func table5DB(t *testing.T, path string, members []string) []string {
	t.Helper()
	var ts []training
	for _, name := range table5Members {
		ts = append(ts, training{spec: "table5", run: name, seed: 1, status: results.StatusDone, iteration: 4,
			train: []float64{70, 60}, test: []float64{65, 55}})
	}
	buildDB(t, path, ts)
	db, err := results.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids []string
	for i, name := range table5Members {
		id := smokeRun(t, "table5", name).Config.ID(1)
		ids = append(ids, id)
		if err := db.AddMetrics([]results.Metric{{RunID: id, Iteration: 4, Split: results.SplitTest, Name: results.MetricTop5, Value: 40 + float64(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if members == nil {
		return ids
	}
	if members[0] == "" {
		members = ids
	}
	err = db.ReplaceEnsemble(results.EnsembleResult{Spec: "table5", Ensemble: "resnet-ensemble", Scale: experiments.ScaleSmoke,
		Split: results.SplitTest, View: "single", Members: members, Scores: results.Scores{Images: 16, Loss: 2, Top1: 30, Top5: 4.5}})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// Table 5's report shows a recorded ensemble beside the paper's 3.57 and its
// claim uses it; an ensemble recorded with other members (the spec changed
// since) is not shown; RecordClaims stores the verdicts once.
func TestEnsembleInReport(t *testing.T) {
	spec, err := experiments.Lookup("table5", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		members []string // "" first: the spec's own members
		want    []string
	}{
		{"evaluated", []string{""}, []string{
			"| resnet-ensemble | resnet-34-b, resnet-34-c, resnet-50, resnet-101, resnet-152; 5 runs on 16 test images, single view | top-5 error (%) | 3.57  | 4.50 | +0.93 |",
			// 4.5 against resnet-152's 44, beyond the default 0.16 margin.
			"**held** `table5-ensemble-below-single`",
			"resnet-ensemble top5_error 4.5 < resnet-152 top5_error 44",
			"top-5 of 10 classes is a weak measure"}},
		{"other members", []string{"someone", "else"}, []string{
			"not evaluated: `repro run table5` evaluates it once every member is trained",
			"**not yet measurable** `table5-ensemble-below-single`"}},
		{"none", nil, []string{"not evaluated"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "smoke.db")
			table5DB(t, path, c.members)
			db, err := results.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			w, err := Generate([]*results.DB{db}, Options{Out: filepath.Join(dir, "out"), Specs: []*experiments.Spec{spec}, DBNames: []string{path}})
			if err != nil {
				t.Fatal(err)
			}
			md := read(t, filepath.Join(dir, "out", "table5.md"))
			for _, want := range c.want {
				if !strings.Contains(md, want) {
					t.Errorf("table5.md lacks %q:\n%s", want, md)
				}
			}
			changed, err := RecordClaims(db, w.Claims)
			if err != nil || !changed {
				t.Fatalf("first RecordClaims: %v %v", changed, err)
			}
			if changed, err := RecordClaims(db, w.Claims); err != nil || changed {
				t.Errorf("second RecordClaims rewrote equal rows: %v %v", changed, err)
			}
			cs, err := db.Claims("table5")
			if err != nil || len(cs) != 1 {
				t.Fatalf("claims %+v %v", cs, err)
			}
			got := cs[0]
			if got.Claim != "table5-ensemble-below-single" || got.Scale != "smoke" || got.Kind != "less" || got.Metric != "top5_error" ||
				got.Source != "Sec 4.1, Tables 4 and 5" || !strings.Contains(got.Paper, "3.57% top-5 error") {
				t.Errorf("recorded claim %+v", got)
			}
			if c.name == "evaluated" && (got.Verdict != experiments.Held || got.Margin != 0.16) {
				// 0.16: the paper's ResNet-110 std, the default margin with no seeds (claims.go).
				t.Errorf("verdict %s margin %v, want held with 0.16", got.Verdict, got.Margin)
			}
			if c.name != "evaluated" && got.Verdict != experiments.NotMeasurable {
				t.Errorf("verdict %s, want not measurable", got.Verdict)
			}
		})
	}
}
