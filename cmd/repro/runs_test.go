package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resnet-repro/resnet-repro/results"
)

// resultsFixture writes a results database with two runs: table6/resnet-20
// done (metrics at iterations 100 and 200) and fig1/plain-20 running.
func resultsFixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "results.db")
	db, err := results.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, r := range []results.Run{
		{ID: "0123456789abcdef", Spec: "table6", Name: "resnet-20", Scale: "smoke", Seed: 1, Iterations: 200},
		{ID: "fedcba9876543210", Spec: "fig1", Name: "plain-20", Scale: "smoke", Seed: 1, Iterations: 200},
	} {
		if _, err := db.UpsertRun(r); err != nil {
			t.Fatal(err)
		}
	}
	steps := []error{
		db.AddMetrics([]results.Metric{
			{RunID: "0123456789abcdef", Iteration: 100, Split: results.SplitTrain, Name: results.MetricLoss, Value: 1.5},
			{RunID: "0123456789abcdef", Iteration: 200, Split: results.SplitTrain, Name: results.MetricLoss, Value: 1.25},
			{RunID: "0123456789abcdef", Iteration: 200, Split: results.SplitTrain, Name: results.MetricError, Value: 40},
			{RunID: "0123456789abcdef", Iteration: 100, Split: results.SplitTest, Name: results.MetricError, Value: 30},
			{RunID: "0123456789abcdef", Iteration: 200, Split: results.SplitTest, Name: results.MetricError, Value: 35},
		}),
		db.SetProgress("0123456789abcdef", 200),
		db.MarkFinished("0123456789abcdef", results.StatusDone, ""),
		db.MarkStarted("fedcba9876543210", results.StartInfo{Host: "h"}),
		db.SetProgress("fedcba9876543210", 50),
	}
	for _, err := range steps {
		if err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// repro runs the CLI and returns its exit status, stdout and stderr.
func repro(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"repro"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestRunsCommand(t *testing.T) {
	db := resultsFixture(t)
	code, out, errOut := repro("runs", "--db", db)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Rows ordered by spec then name; headline numbers from the fixture.
	want := "" +
		"id            spec    name       scale  seed  status   iter     train_loss  train_err  test_err  best_test_err  job  error\n" +
		"------------  ------  ---------  -----  ----  -------  -------  ----------  ---------  --------  -------------  ---  -----\n" +
		"fedcba987654  fig1    plain-20   smoke     1  running  50/200         NULL       NULL      NULL           NULL\n" +
		"0123456789ab  table6  resnet-20  smoke     1  done     200/200        1.25         40        35             30\n"
	if out != want {
		t.Errorf("repro runs:\n%s\nwant\n%s", out, want)
	}

	code, out, _ = repro("runs", "--db", db, "--spec", "table6", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var got []struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Headline struct {
			TestErrorBest struct {
				Iteration int64    `json:"iteration"`
				Value     *float64 `json:"value"`
			} `json:"test_error_best"`
		} `json:"headline"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("runs --format json: %v\n%s", err, out)
	}
	if len(got) != 1 || got[0].ID != "0123456789abcdef" || got[0].Status != "done" ||
		got[0].Headline.TestErrorBest.Iteration != 100 || got[0].Headline.TestErrorBest.Value == nil || *got[0].Headline.TestErrorBest.Value != 30 {
		t.Errorf("runs --spec table6 --format json = %+v", got)
	}

	code, out, _ = repro("runs", "--db", db, "--status", "running")
	if code != 0 || !strings.Contains(out, "plain-20") || strings.Contains(out, "resnet-20") {
		t.Errorf("runs --status running: exit %d\n%s", code, out)
	}
	code, out, _ = repro("runs", "--db", db, "--spec", "table3")
	if code != 0 || !strings.HasPrefix(out, "no runs in ") {
		t.Errorf("runs --spec table3: exit %d, %q", code, out)
	}
}

func TestRunsCommandErrors(t *testing.T) {
	db := resultsFixture(t)
	missing := filepath.Join(t.TempDir(), "none.db")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"runs", "--db", missing}, "no results database at " + missing},
		{[]string{"runs", "--db", db, "--format", "csv"}, `unknown format "csv"`},
		{[]string{"runs", "--db", db, "--status", "finished"}, `unknown run status "finished"`},
		{[]string{"runs", "--db", db, "table6"}, `unexpected argument "table6"`},
	}
	for _, c := range cases {
		code, out, errOut := repro(c.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, c.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line with %q", c.args, code, out, errOut, c.want)
		}
	}
}
