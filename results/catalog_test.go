package results

import (
	"context"
	"database/sql"
	"math"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// openV1 writes a database at path with schema version 1 only (as every
// database committed before issue 16 is) holding one done run of table6 with
// two evaluations, and returns its path.
func openV1(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "v1.db")
	pool, err := sql.Open("sqlite3", fileDSN(path, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, q := range []string{
		`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)`,
		migrations[0],
		`INSERT INTO schema_version VALUES (1, '2026-12-01T00:00:00Z')`,
		`INSERT INTO runs (id, spec, name, config_json, scale, seed, status, created, updated, code_version, iteration, iterations)
			VALUES ('r20', 'table6', 'resnet-20', '{"model":"resnet-20","dataset":"cifar10"}', 'medium', 1, 'done',
			'2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z', 'abc1234', 8000, 8000)`,
		`INSERT INTO metrics (run_id, split, name, iteration, value, wall_seconds) VALUES
			('r20', 'train', 'error', 4000, 20, 500), ('r20', 'test', 'error', 4000, 14, 500),
			('r20', 'train', 'error', 8000, 10, 1044), ('r20', 'test', 'error', 8000, 14.28, 1044)`,
	} {
		if _, err := pool.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return path
}

// TestMigrateToV2 upgrades a version-1 database in place: nothing is lost,
// the run belongs to its own spec, and the views answer.
func TestMigrateToV2(t *testing.T) {
	path := openV1(t)
	if v, err := FileSchemaVersion(path); err != nil || v != 1 {
		t.Fatalf("FileSchemaVersion before = %d, %v; want 1", v, err)
	}
	if _, err := OpenReadOnly(path); err == nil {
		t.Fatal("OpenReadOnly of a version-1 database succeeded; it must ask for repro upgrade")
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := FileSchemaVersion(path); err != nil || v != SchemaVersion() {
		t.Fatalf("FileSchemaVersion after = %d, %v; want %d", v, err, SchemaVersion())
	}
	ms, err := db.Metrics("r20", MetricFilter{})
	if err != nil || len(ms) != 4 {
		t.Fatalf("metrics after the upgrade: %d rows (%v), want the 4 written", len(ms), err)
	}
	rss, err := db.RunSpecs("r20")
	if err != nil {
		t.Fatal(err)
	}
	if want := []RunSpec{{RunID: "r20", Spec: "table6", Name: "resnet-20"}}; !reflect.DeepEqual(rss, want) {
		t.Errorf("run specs %+v, want %+v", rss, want)
	}
	if n := scalar[int](t, db, `SELECT count(*) FROM curves WHERE run = 'r20'`); n != 4 {
		t.Errorf("curves has %d rows of r20, want 4", n)
	}
}

// TestRunSpecsShare: a run registered by table6 and shared by fig6 is listed
// under both, each time with that spec's name for it; a run the database
// does not hold is not recorded.
func TestRunSpecsShare(t *testing.T) {
	db, _ := openTest(t)
	_, err := db.UpsertRun(Run{ID: "r20", Spec: "table6", Name: "resnet-20", Scale: "medium", Seed: 1})
	must(t, err)
	n, err := db.AddRunSpecs([]RunSpec{{RunID: "r20", Spec: "fig6", Name: "resnet-20"}, {RunID: "absent", Spec: "fig6", Name: "plain-20"}})
	must(t, err)
	if n != 1 {
		t.Errorf("AddRunSpecs recorded %d, want 1 (the absent run is skipped)", n)
	}
	for _, spec := range []string{"table6", "fig6"} {
		rs, err := db.ListRuns(RunFilter{Spec: spec})
		must(t, err)
		if len(rs) != 1 || rs[0].ID != "r20" || rs[0].Spec != spec {
			t.Errorf("ListRuns(spec %s) = %+v, want r20 listed under %s", spec, rs, spec)
		}
	}
	// Registering again under another spec keeps the earlier memberships.
	_, err = db.UpsertRun(Run{ID: "r20", Spec: "fig7", Name: "resnet-20", Scale: "medium", Seed: 1})
	must(t, err)
	rss, err := db.RunSpecs("r20")
	must(t, err)
	if len(rss) != 3 {
		t.Errorf("run specs %+v, want fig6, fig7 and table6", rss)
	}
}

func TestSetPaperTargets(t *testing.T) {
	db, _ := openTest(t)
	must(t, db.SetPaperTargets([]PaperTarget{
		{Spec: "table6", Run: "resnet-20", Metric: "test_error", Value: 8.75, Source: "Table 6"},
		{Spec: "table6", Run: "resnet-32", Metric: "test_error", Value: 7.51, Source: "Table 6"},
		{Spec: "fig6", Run: "resnet-20", Metric: "test_error", Value: 8.75, Source: "Figure 6"},
	}))
	// A spec's list is replaced whole: resnet-32 leaves table6, fig6 stays.
	must(t, db.SetPaperTargets([]PaperTarget{{Spec: "table6", Run: "resnet-20", Metric: "test_error", Value: 8.75, Source: "Table 6"}}))
	got, err := db.PaperTargets()
	must(t, err)
	want := []PaperTarget{
		{Spec: "fig6", Run: "resnet-20", Metric: "test_error", Value: 8.75, Source: "Figure 6"},
		{Spec: "table6", Run: "resnet-20", Metric: "test_error", Value: 8.75, Source: "Table 6"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("targets %+v, want %+v", got, want)
	}
	if err := db.SetPaperTargets([]PaperTarget{{Spec: "x", Run: "y", Metric: "test_error", Value: math.NaN()}}); err == nil {
		t.Error("a NaN target was accepted")
	}
}

// TestRunSummaryView checks run_summary against numbers worked out by hand:
// final = last iteration's value, best = the minimum, delta = final - paper,
// wall = the largest wall_seconds; an ImageNet run reads the val split.
func TestRunSummaryView(t *testing.T) {
	db, _ := openTest(t)
	_, err := db.UpsertRun(Run{ID: "c", Spec: "table6", Name: "resnet-20", ConfigJSON: `{"model":"resnet-20","dataset":"cifar10"}`, Scale: "medium", Seed: 1})
	must(t, err)
	_, err = db.UpsertRun(Run{ID: "i", Spec: "table2", Name: "resnet-34", ConfigJSON: `{"model":"resnet-34","dataset":"imagenet"}`, Scale: "quick", Seed: 1})
	must(t, err)
	must(t, db.AddMetrics([]Metric{
		{RunID: "c", Iteration: 500, Split: SplitTest, Name: MetricError, Value: 12, WallSeconds: 60},
		{RunID: "c", Iteration: 1000, Split: SplitTest, Name: MetricError, Value: 13.5, WallSeconds: 120},
		{RunID: "c", Iteration: 1000, Split: SplitTrain, Name: MetricError, Value: 9, WallSeconds: 120},
		{RunID: "i", Iteration: 100, Split: SplitVal, Name: MetricError, Value: 60, WallSeconds: 30},
		{RunID: "i", Iteration: 100, Split: SplitVal, Name: MetricTop5, Value: 35, WallSeconds: 30},
	}))
	must(t, db.SetPaperTargets([]PaperTarget{
		{Spec: "table6", Run: "resnet-20", Metric: "test_error", Value: 8.75},
		{Spec: "table2", Run: "resnet-34", Metric: "top1_error", Value: 25.03},
	}))
	type row struct {
		Model                          string
		Final, Best, Train, Paper, Dlt sql.NullFloat64
		Top5                           sql.NullFloat64
		Wall                           float64
	}
	read := func(id string) row {
		var r row
		err := db.sql.QueryRowContext(context.Background(), `SELECT model, final_test_error, best_test_error, final_train_error,
			paper, delta, final_top5_error, wall_seconds FROM run_summary WHERE run = ?`, id).
			Scan(&r.Model, &r.Final, &r.Best, &r.Train, &r.Paper, &r.Dlt, &r.Top5, &r.Wall)
		must(t, err)
		return r
	}
	c := read("c")
	if c.Model != "resnet-20" || c.Final.Float64 != 13.5 || c.Best.Float64 != 12 || c.Train.Float64 != 9 ||
		c.Paper.Float64 != 8.75 || c.Dlt.Float64 != 4.75 || c.Top5.Valid || c.Wall != 120 {
		t.Errorf("CIFAR row %+v: want final 13.5, best 12, train 9, paper 8.75, delta 4.75, no top-5, wall 120", c)
	}
	i := read("i")
	if i.Final.Float64 != 60 || i.Top5.Float64 != 35 || i.Paper.Float64 != 25.03 || math.Abs(i.Dlt.Float64-34.97) > 1e-9 {
		t.Errorf("ImageNet row %+v: want final 60 (val split), top-5 35, paper 25.03, delta 34.97", i)
	}
}

// TestMergeCarriesCatalog: a shard's run memberships and paper targets
// reach the merged database.
func TestMergeCarriesCatalog(t *testing.T) {
	dir := t.TempDir()
	shard := filepath.Join(dir, "shard.db")
	writeShard(t, shard, "a", StatusDone, 3, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := openAt(t, shard, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	_, err := s.AddRunSpecs([]RunSpec{{RunID: "a", Spec: "fig6", Name: "resnet-a"}})
	must(t, err)
	must(t, s.SetPaperTargets([]PaperTarget{{Spec: "table6", Run: "resnet-a", Metric: "test_error", Value: 7.5, Source: "Table 6"}}))
	s.Close()
	dst := openAt(t, filepath.Join(dir, "main.db"), time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC))
	defer dst.Close()
	if _, err := MergeShard(dst, shard); err != nil {
		t.Fatal(err)
	}
	rss, err := dst.RunSpecs("a")
	must(t, err)
	if want := []RunSpec{{RunID: "a", Spec: "fig6", Name: "resnet-a"}, {RunID: "a", Spec: "table6", Name: "resnet-a"}}; !reflect.DeepEqual(rss, want) {
		t.Errorf("merged run specs %+v, want %+v", rss, want)
	}
	ts, err := dst.PaperTargets()
	must(t, err)
	if len(ts) != 1 || ts[0].Value != 7.5 {
		t.Errorf("merged paper targets %+v, want table6/resnet-a 7.5", ts)
	}
}
