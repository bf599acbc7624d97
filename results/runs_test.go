package results

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// tick is the fake clock's reading number n (1 for the first reading).
func tick(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

func TestRunLifecycle(t *testing.T) {
	db, _ := openTest(t)
	in := Run{ID: "abc123", Spec: "table6", Name: "resnet-110", ConfigJSON: `{"depth":110}`,
		Scale: "quick", Seed: 3, Iterations: 6000}
	got, err := db.UpsertRun(in)
	if err != nil {
		t.Fatal(err)
	}
	// Each write reads the fake clock once: reading 1 is the insert.
	want := in
	want.Status, want.Created, want.Updated = StatusPending, tick(1), tick(1)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("UpsertRun = %+v\nwant %+v", got, want)
	}

	steps := []struct {
		name string
		do   func() error
		edit func(r *Run) // what the step changes in the expected row
	}{
		{"MarkSubmitted", func() error { return db.MarkSubmitted(in.ID, "777_3") }, func(r *Run) {
			r.Status, r.JobID, r.Updated = StatusSubmitted, "777_3", tick(2)
		}},
		{"MarkStarted", func() error {
			return db.MarkStarted(in.ID, StartInfo{Host: "node1", CodeVersion: "v1", Backend: "reference"})
		}, func(r *Run) {
			r.Status, r.Host, r.CodeVersion, r.Backend, r.Updated, r.Started = StatusRunning, "node1", "v1", "reference", tick(3), tick(3)
		}},
		{"SetProgress", func() error { return db.SetProgress(in.ID, 1200) }, func(r *Run) {
			r.Iteration, r.Updated = 1200, tick(4)
		}},
		// A resume keeps the first start time and, with no job id given, the job id.
		{"MarkStarted again", func() error {
			return db.MarkStarted(in.ID, StartInfo{Host: "node2", CodeVersion: "v1", Backend: "reference"})
		}, func(r *Run) {
			r.Host, r.Updated = "node2", tick(5)
		}},
		{"UpsertRun keeps status and progress", func() error {
			_, err := db.UpsertRun(Run{ID: in.ID, Spec: "table6", Name: "resnet-110", ConfigJSON: `{"depth":110}`, Scale: "quick", Seed: 3, Iterations: 6000})
			return err
		}, func(r *Run) { r.Updated = tick(6) }},
		{"SetStatus", func() error { return db.SetStatus(in.ID, StatusDiverged, "loss is NaN at 1300") }, func(r *Run) {
			r.Status, r.Error, r.Updated = StatusDiverged, "loss is NaN at 1300", tick(7)
		}},
		// Done means the planned iterations were reached.
		{"MarkFinished", func() error { return db.MarkFinished(in.ID, StatusDone, "") }, func(r *Run) {
			r.Status, r.Error, r.Updated, r.Finished, r.Iteration = StatusDone, "", tick(8), tick(8), 6000
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		s.edit(&want)
		got, err := db.GetRun(in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after %s: %+v\nwant %+v", s.name, got, want)
		}
	}

	if err := db.MarkFinished(in.ID, StatusRunning, ""); err == nil || !strings.Contains(err.Error(), "not terminal") {
		t.Errorf("MarkFinished(running) = %v, want a not-terminal error", err)
	}
	if err := db.SetStatus(in.ID, "bogus", ""); err == nil || !strings.Contains(err.Error(), `unknown run status "bogus"`) {
		t.Errorf("SetStatus(bogus) = %v", err)
	}
	for name, err := range map[string]error{
		"GetRun":      func() error { _, err := db.GetRun("nope"); return err }(),
		"SetStatus":   db.SetStatus("nope", StatusFailed, ""),
		"MarkStarted": db.MarkStarted("nope", StartInfo{}),
		"SetProgress": db.SetProgress("nope", 1),
	} {
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nope") {
			t.Errorf("%s of a missing run = %v, want ErrNotFound naming it", name, err)
		}
	}
	if _, err := db.UpsertRun(Run{ID: "x"}); err == nil {
		t.Error("UpsertRun without spec and name succeeded")
	}
}

func TestListRuns(t *testing.T) {
	db, _ := openTest(t)
	runs := []Run{
		{ID: "4", Spec: "table6", Name: "resnet-20", Scale: "quick", Seed: 1},
		{ID: "1", Spec: "fig1", Name: "plain-56", Scale: "smoke"},
		{ID: "3", Spec: "table6", Name: "resnet-110", Scale: "quick", Seed: 2},
		{ID: "2", Spec: "table6", Name: "resnet-110", Scale: "quick", Seed: 1},
		{ID: "5", Spec: "table6", Name: "resnet-20", Scale: "smoke"},
	}
	for _, r := range runs {
		if _, err := db.UpsertRun(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.MarkFinished("3", StatusDone, ""); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		filter RunFilter
		want   []string // ids, ordered by spec, name, seed, created
	}{
		{RunFilter{}, []string{"1", "2", "3", "5", "4"}},
		{RunFilter{Spec: "table6"}, []string{"2", "3", "5", "4"}},
		{RunFilter{Spec: "table6", Scale: "quick"}, []string{"2", "3", "4"}},
		{RunFilter{Status: StatusDone}, []string{"3"}},
		{RunFilter{Spec: "table3"}, nil},
	}
	for _, c := range cases {
		got, err := db.ListRuns(c.filter)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range got {
			ids = append(ids, r.ID)
		}
		if !reflect.DeepEqual(ids, c.want) {
			t.Errorf("ListRuns(%+v) = %v, want %v", c.filter, ids, c.want)
		}
	}
}

// addRun records a run for tests of the per-run records.
func addRun(t *testing.T, db *DB, id string) {
	t.Helper()
	if _, err := db.UpsertRun(Run{ID: id, Spec: "table6", Name: "resnet-" + id}); err != nil {
		t.Fatal(err)
	}
}

func TestMetricsIdempotent(t *testing.T) {
	db, _ := openTest(t)
	addRun(t, db, "r")
	// A run logs iterations 100 and 200, crashes, resumes from 100 and logs
	// 200 (the same numbers, later wall time) and 300.
	first := []Metric{
		{RunID: "r", Iteration: 100, Epoch: 0.25, Split: SplitTrain, Name: MetricLoss, Value: 2.1, WallSeconds: 10},
		{RunID: "r", Iteration: 100, Epoch: 0.25, Split: SplitTrain, Name: MetricError, Value: 80, WallSeconds: 10},
		{RunID: "r", Iteration: 200, Epoch: 0.5, Split: SplitTrain, Name: MetricLoss, Value: 1.9, WallSeconds: 20},
		{RunID: "r", Iteration: 200, Epoch: 0.5, Split: SplitTest, Name: MetricError, Value: 70, WallSeconds: 21},
	}
	resumed := []Metric{
		{RunID: "r", Iteration: 200, Epoch: 0.5, Split: SplitTrain, Name: MetricLoss, Value: 1.9, WallSeconds: 35},
		{RunID: "r", Iteration: 200, Epoch: 0.5, Split: SplitTest, Name: MetricError, Value: 70, WallSeconds: 36},
		{RunID: "r", Iteration: 300, Epoch: 0.75, Split: SplitTrain, Name: MetricLoss, Value: math.NaN(), WallSeconds: 45},
		{RunID: "r", Iteration: 300, Epoch: 0.75, Split: SplitTest, Name: MetricError, Value: 75, WallSeconds: 46},
	}
	for _, batch := range [][]Metric{first, resumed, resumed} {
		if err := db.AddMetrics(batch); err != nil {
			t.Fatal(err)
		}
	}
	if n := scalar[int](t, db, "SELECT count(*) FROM metrics"); n != 6 {
		t.Fatalf("%d metric rows, want 6 distinct (run, split, name, iteration)", n)
	}
	all, err := db.Metrics("r", MetricFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// Ordered by split, name, iteration; the re-logged rows carry the later wall time.
	want := []Metric{resumed[1], resumed[3], first[1], first[0], resumed[0], resumed[2]}
	if !equalMetrics(all, want) {
		t.Fatalf("Metrics = %+v\nwant %+v", all, want)
	}

	filters := []struct {
		f    MetricFilter
		want []Metric
	}{
		{MetricFilter{Split: SplitTrain, Name: MetricLoss}, []Metric{first[0], resumed[0], resumed[2]}},
		{MetricFilter{Split: SplitTrain, Name: MetricLoss, From: 200}, []Metric{resumed[0], resumed[2]}},
		{MetricFilter{Split: SplitTrain, Name: MetricLoss, To: 200}, []Metric{first[0], resumed[0]}},
		{MetricFilter{Name: MetricError, From: 150, To: 250}, []Metric{resumed[1]}},
		{MetricFilter{Split: SplitVal}, nil},
	}
	for _, c := range filters {
		got, err := db.Metrics("r", c.f)
		if err != nil {
			t.Fatal(err)
		}
		if !equalMetrics(got, c.want) {
			t.Errorf("Metrics(%+v) = %+v\nwant %+v", c.f, got, c.want)
		}
	}

	latest, ok, err := db.LatestMetric("r", SplitTrain, MetricLoss)
	if err != nil || !ok || !equalMetrics([]Metric{latest}, []Metric{resumed[2]}) {
		t.Errorf("LatestMetric(train loss) = %+v, %v, %v; want the NaN at 300", latest, ok, err)
	}
	best, ok, err := db.BestMetric("r", SplitTest, MetricError)
	if err != nil || !ok || !equalMetrics([]Metric{best}, []Metric{resumed[1]}) {
		t.Errorf("BestMetric(test error) = %+v, %v, %v; want 70 at 200", best, ok, err)
	}
	if _, ok, err := db.LatestMetric("r", SplitVal, MetricError); ok || err != nil {
		t.Errorf("LatestMetric of an unlogged metric: ok %v, err %v", ok, err)
	}

	err = db.AddMetrics([]Metric{{RunID: "r", Iteration: 400, Split: "train", Name: "loss", Value: 1}, {RunID: "ghost", Split: "train", Name: "loss"}})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "ghost") {
		t.Errorf("AddMetrics for a missing run = %v, want ErrNotFound naming it", err)
	}
	if n := scalar[int](t, db, "SELECT count(*) FROM metrics"); n != 6 {
		t.Errorf("%d metric rows after a failed batch, want still 6: AddMetrics is not one transaction", n)
	}
}

// equalMetrics compares metrics, NaN equal to NaN.
func equalMetrics(a, b []Metric) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if math.IsNaN(x.Value) && math.IsNaN(y.Value) {
			x.Value, y.Value = 0, 0
		}
		if x != y {
			return false
		}
	}
	return true
}

func TestEvents(t *testing.T) {
	db, _ := openTest(t)
	addRun(t, db, "r")
	at := t0.Add(time.Hour)
	in := []Event{
		{RunID: "r", Iteration: 0, Kind: EventStart, At: at},
		{RunID: "r", Iteration: 32000, Kind: EventLRChange, Detail: "0.1 -> 0.01", At: at.Add(time.Minute)},
		{RunID: "r", Iteration: 32000, Kind: EventLRChange, Detail: "0.1 -> 0.01", At: at.Add(time.Minute)}, // a duplicate
		{RunID: "r", Iteration: 30000, Kind: EventResume, Detail: "checkpoint 30000"},                       // At from the clock
	}
	for _, e := range in {
		if err := db.AddEvent(e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Events("r")
	if err != nil {
		t.Fatal(err)
	}
	resume := in[3]
	resume.At = tick(2)                   // reading 1 was the run's insert
	want := []Event{resume, in[0], in[1]} // by time: the clock's readings are before t0+1h
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Events = %+v\nwant %+v", got, want)
	}
	if err := db.AddEvent(Event{RunID: "ghost", Kind: EventStart}); !errors.Is(err, ErrNotFound) {
		t.Errorf("AddEvent for a missing run = %v, want ErrNotFound", err)
	}
}

func TestCheckpoints(t *testing.T) {
	db, _ := openTest(t)
	addRun(t, db, "r")
	in := []Checkpoint{
		{RunID: "r", Iteration: 2000, Path: "ckpt/r/2000.ckpt", SHA256: "aa", At: t0},
		{RunID: "r", Iteration: 1000, Path: "ckpt/r/1000.ckpt", SHA256: "bb", At: t0},
		{RunID: "r", Iteration: 2000, Path: "ckpt/r/2000.ckpt", SHA256: "cc", At: t0.Add(time.Second)}, // rewritten
		{RunID: "r", Iteration: 3000, Path: "ckpt/r/3000.ckpt", SHA256: "dd", At: t0.Add(2 * time.Second)},
	}
	for _, c := range in {
		if err := db.AddCheckpoint(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteCheckpoint("r", 1000); err != nil {
		t.Fatal(err)
	}
	got, err := db.Checkpoints("r")
	if err != nil {
		t.Fatal(err)
	}
	if want := []Checkpoint{in[2], in[3]}; !reflect.DeepEqual(got, want) {
		t.Errorf("Checkpoints = %+v\nwant %+v", got, want)
	}
	latest, ok, err := db.LatestCheckpoint("r")
	if err != nil || !ok || latest != in[3] {
		t.Errorf("LatestCheckpoint = %+v, %v, %v", latest, ok, err)
	}
	if _, ok, err := db.LatestCheckpoint("other"); ok || err != nil {
		t.Errorf("LatestCheckpoint of a run without checkpoints: ok %v, err %v", ok, err)
	}
}

func TestResponses(t *testing.T) {
	db, _ := openTest(t)
	addRun(t, db, "r")
	first := []Response{{LayerIndex: 0, LayerName: "conv1", Std: 1.5}, {LayerIndex: 1, LayerName: "b1.conv1", Std: 0.75}}
	second := []Response{
		{RunID: "r", LayerIndex: 2, LayerName: "b1.conv2", Std: math.NaN()},
		{RunID: "r", LayerIndex: 0, LayerName: "conv1", Std: 1.25},
	}
	for _, rs := range [][]Response{first, second} {
		if err := db.ReplaceResponses("r", rs); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Responses("r")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != second[1] || got[1].LayerIndex != 2 || !math.IsNaN(got[1].Std) {
		t.Errorf("Responses = %+v, want the second set by layer index (NaN kept)", got)
	}
	err = db.ReplaceResponses("r", []Response{{RunID: "other", LayerIndex: 0}})
	if err == nil || !strings.Contains(err.Error(), "belongs to run other") {
		t.Errorf("ReplaceResponses with another run's response = %v", err)
	}
	if got, _ := db.Responses("r"); len(got) != 2 {
		t.Errorf("a refused ReplaceResponses changed the stored set: %+v", got)
	}
}

func TestDeleteRunData(t *testing.T) {
	db, _ := openTest(t)
	addRun(t, db, "r")
	addRun(t, db, "keep")
	for _, id := range []string{"r", "keep"} {
		must(t, db.MarkSubmitted(id, "9_1"))
		must(t, db.MarkStarted(id, StartInfo{Host: "h"}))
		must(t, db.AddMetrics([]Metric{{RunID: id, Iteration: 1, Split: SplitTrain, Name: MetricLoss, Value: 1}}))
		must(t, db.AddEvent(Event{RunID: id, Kind: EventStart}))
		must(t, db.AddCheckpoint(Checkpoint{RunID: id, Iteration: 1, Path: "p", SHA256: "s"}))
		must(t, db.ReplaceResponses(id, []Response{{LayerIndex: 0, LayerName: "conv1", Std: 1}}))
		must(t, db.SetProgress(id, 1))
		must(t, db.MarkFinished(id, StatusFailed, "boom"))
	}
	must(t, db.DeleteRunData("r"))
	for _, table := range []string{"metrics", "events", "checkpoints", "responses"} {
		n := scalar[int](t, db, "SELECT count(*) FROM "+table+" WHERE run_id = 'r'")
		k := scalar[int](t, db, "SELECT count(*) FROM "+table+" WHERE run_id = 'keep'")
		if n != 0 || k != 1 {
			t.Errorf("%s: %d rows of the deleted run (want 0), %d of the other (want 1)", table, n, k)
		}
	}
	r, err := db.GetRun("r")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusPending || !r.Started.IsZero() || !r.Finished.IsZero() || r.Error != "" || r.Iteration != 0 {
		t.Errorf("after DeleteRunData: %+v, want pending with no times, error or progress", r)
	}
	if r.JobID != "9_1" || r.Spec != "table6" || r.Host != "h" {
		t.Errorf("DeleteRunData lost the run's description: %+v", r)
	}
	if err := db.DeleteRunData("ghost"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteRunData(ghost) = %v, want ErrNotFound", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSummaries(t *testing.T) {
	db, _ := openTest(t)
	addRun(t, db, "a")
	addRun(t, db, "b")
	must(t, db.AddMetrics([]Metric{
		{RunID: "a", Iteration: 100, Split: SplitTrain, Name: MetricLoss, Value: 2},
		{RunID: "a", Iteration: 200, Split: SplitTrain, Name: MetricLoss, Value: 1.5},
		{RunID: "a", Iteration: 200, Split: SplitTrain, Name: MetricError, Value: 40},
		{RunID: "a", Iteration: 100, Split: SplitTest, Name: MetricError, Value: 30},
		{RunID: "a", Iteration: 200, Split: SplitTest, Name: MetricError, Value: 35},
	}))
	ss, err := db.Summaries(RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 || ss[0].ID != "a" || ss[1].ID != "b" {
		t.Fatalf("Summaries = %+v", ss)
	}
	a := ss[0]
	checks := []struct {
		name string
		m    *Metric
		iter int64
		v    float64
	}{
		{"train loss", a.TrainLoss, 200, 1.5},
		{"train error", a.TrainError, 200, 40},
		{"last test error", a.TestErrorLast, 200, 35},
		{"best test error", a.TestErrorBest, 100, 30},
	}
	for _, c := range checks {
		if c.m == nil || c.m.Iteration != c.iter || c.m.Value != c.v {
			t.Errorf("%s = %+v, want %v at %d", c.name, c.m, c.v, c.iter)
		}
	}
	if b := ss[1]; b.TrainLoss != nil || b.TrainError != nil || b.TestErrorLast != nil || b.TestErrorBest != nil {
		t.Errorf("run without metrics has headline numbers: %+v", b)
	}
}

// A run marked done shows its planned iterations even when a kill between
// its last checkpoint and SetProgress left its progress short (issue 19:
// a done run showed 380/400); a failed run keeps the iteration it reached.
func TestMarkFinishedDoneReachesPlannedIterations(t *testing.T) {
	db, _ := openTest(t)
	for _, c := range []struct {
		id     string
		status Status
		want   int64
	}{{"done1", StatusDone, 400}, {"failed1", StatusFailed, 380}} {
		if _, err := db.UpsertRun(Run{ID: c.id, Spec: "fig1", Name: "plain-20", ConfigJSON: `{}`, Scale: "smoke", Seed: 1, Iterations: 400}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetProgress(c.id, 380); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkFinished(c.id, c.status, ""); err != nil {
			t.Fatal(err)
		}
		if r, err := db.GetRun(c.id); err != nil || r.Iteration != c.want {
			t.Errorf("%s: iteration %d (%v), want %d", c.status, r.Iteration, err, c.want)
		}
	}
}
