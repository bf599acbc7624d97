package results

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// openAt opens (creating) the database at path with a fake clock starting at
// base.
func openAt(t *testing.T, path string, base time.Time) *DB {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: base}
	db.now = c.now
	return db
}

// writeShard writes a shard at path holding run id as one array task would:
// recorded, started, metrics for iterations 1..iters, an event per start, a
// checkpoint, Fig. 7 responses; if status is terminal, finished with it.
// Times come from a fake clock starting at base.
func writeShard(t *testing.T, path, id string, status Status, iters int, base time.Time) {
	t.Helper()
	db := openAt(t, path, base)
	defer db.Close()
	_, err := db.UpsertRun(Run{ID: id, Spec: "table6", Name: "resnet-" + id, ConfigJSON: `{"id":"` + id + `"}`, Scale: "smoke", Seed: 1, Iterations: int64(iters)})
	must(t, err)
	must(t, db.MarkStarted(id, StartInfo{Host: "node-" + id, CodeVersion: "v1", Backend: "reference"}))
	must(t, db.AddEvent(Event{RunID: id, Kind: EventStart}))
	var ms []Metric
	for i := 1; i <= iters; i++ {
		ms = append(ms,
			Metric{RunID: id, Iteration: int64(i), Epoch: float64(i) / 10, Split: SplitTrain, Name: MetricLoss, Value: 1 / float64(i), WallSeconds: float64(i)},
			Metric{RunID: id, Iteration: int64(i), Epoch: float64(i) / 10, Split: SplitTest, Name: MetricError, Value: 50 - float64(i), WallSeconds: float64(i)})
	}
	must(t, db.AddMetrics(ms))
	must(t, db.SetProgress(id, int64(iters)))
	must(t, db.AddCheckpoint(Checkpoint{RunID: id, Iteration: int64(iters), Path: id + "/ckpt", SHA256: "ab"}))
	if status.Terminal() {
		must(t, db.ReplaceResponses(id, []Response{{LayerIndex: 0, LayerName: "conv1", Std: 0.5}, {LayerIndex: 1, LayerName: "b1.conv1", Std: math.NaN()}}))
		must(t, db.ReplacePredictions(&Predictions{RunID: id, Split: SplitTest, View: "single", Iteration: int64(iters), Classes: 2,
			Labels: []int32{1, 0}, Probs: []float32{0.25, 0.75, 0.5, 0.5}}))
		must(t, db.MarkFinished(id, status, ""))
	}
}

// runRecord is everything the database holds about one run.
type runRecord struct {
	Run         Run
	Metrics     []Metric
	Events      []Event
	Checkpoints []Checkpoint
	Responses   []Response
	Predictions []*Predictions
}

func record(t *testing.T, db *DB, id string) runRecord {
	t.Helper()
	var r runRecord
	var err error
	if r.Run, err = db.GetRun(id); err != nil {
		t.Fatal(err)
	}
	if r.Metrics, err = db.Metrics(id, MetricFilter{}); err != nil {
		t.Fatal(err)
	}
	if r.Events, err = db.Events(id); err != nil {
		t.Fatal(err)
	}
	if r.Checkpoints, err = db.Checkpoints(id); err != nil {
		t.Fatal(err)
	}
	if r.Responses, err = db.Responses(id); err != nil {
		t.Fatal(err)
	}
	if r.Predictions, err = allPredictions(t.Context(), db.sql, id); err != nil {
		t.Fatal(err)
	}
	for i := range r.Responses { // NaN != NaN: compare as a sentinel
		if math.IsNaN(r.Responses[i].Std) {
			r.Responses[i].Std = -1
		}
	}
	return r
}

// shardRecord reads a run's record from a shard file (opened read-only).
func shardRecord(t *testing.T, path, id string) runRecord {
	t.Helper()
	db, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return record(t, db, id)
}

func actions(r MergeReport) []MergeAction {
	var as []MergeAction
	for _, m := range r.Runs {
		as = append(as, m.Action)
	}
	return as
}

func TestMergeShardIdempotent(t *testing.T) {
	dir := t.TempDir()
	shardA := filepath.Join(dir, "shards", "a.db")
	shardB := filepath.Join(dir, "shards", "b.db")
	writeShard(t, shardA, "a", StatusDone, 5, t0.Add(time.Hour))
	writeShard(t, shardB, "b", StatusDiverged, 3, t0.Add(2*time.Hour))

	dst := openAt(t, filepath.Join(dir, "results.db"), t0)
	defer dst.Close()
	// `repro submit` recorded run a with its Slurm job id; the shard has none.
	_, err := dst.UpsertRun(Run{ID: "a", Spec: "table6", Name: "resnet-a"})
	must(t, err)
	must(t, dst.MarkSubmitted("a", "4242_0"))

	rep, err := MergeShard(dst, shardA)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Complete() || len(rep.Incomplete()) != 0 || !reflect.DeepEqual(actions(rep), []MergeAction{MergeImported}) {
		t.Fatalf("merge of a finished shard: %+v", rep)
	}
	if m := rep.Runs[0]; m.Metrics != 10 || m.Events != 1 || m.Checkpoints != 1 || m.Responses != 2 || m.Status != StatusDone {
		t.Errorf("report counts: %+v, want 10 metrics (5 iterations x 2), 1 event, 1 checkpoint, 2 responses, done", m)
	}
	want := shardRecord(t, shardA, "a")
	want.Run.JobID = "4242_0"  // kept from the database
	want.Run.Created = tick(1) // the earlier creation time (the database's)
	if got := record(t, dst, "a"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after merge:\n%+v\nwant\n%+v", got, want)
	}

	_, err = MergeShard(dst, shardB)
	must(t, err)
	once := dumpDB(t, dst)
	for _, shard := range []string{shardA, shardB, shardA} {
		rep, err := MergeShard(dst, shard)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Complete() {
			t.Errorf("re-merge of %s: not complete: %+v", shard, rep)
		}
		if again := dumpDB(t, dst); again != once {
			t.Fatalf("merging %s again changed the database:\nbefore %s\nafter  %s", shard, once, again)
		}
	}
	if err := dst.IntegrityCheck(); err != nil {
		t.Fatal(err)
	}
}

func TestMergeHalfWrittenShard(t *testing.T) {
	dir := t.TempDir()
	crashed := filepath.Join(dir, "crashed.db")
	writeShard(t, crashed, "r", StatusRunning, 4, t0.Add(time.Hour)) // killed after iteration 4
	dst := openAt(t, filepath.Join(dir, "results.db"), t0)
	defer dst.Close()
	_, err := dst.UpsertRun(Run{ID: "r", Spec: "table6", Name: "resnet-r"})
	must(t, err)
	must(t, dst.MarkSubmitted("r", "7_1"))

	rep, err := MergeShard(dst, crashed)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Complete() || len(rep.Incomplete()) != 1 || rep.Incomplete()[0].ID != "r" || !reflect.DeepEqual(actions(rep), []MergeAction{MergePartial}) {
		t.Fatalf("merge of a half-written shard: %+v, want one incomplete, partial run", rep)
	}
	got := record(t, dst, "r")
	if got.Run.Status != StatusRunning || !got.Run.Finished.IsZero() || got.Run.Iteration != 4 || got.Run.JobID != "7_1" {
		t.Errorf("half-written run in the database: %+v; want running (never done), iteration 4, job 7_1", got.Run)
	}
	if len(got.Metrics) != 8 {
		t.Errorf("%d metrics imported from the half-written shard, want 8 (4 iterations x 2)", len(got.Metrics))
	}
	once := dumpDB(t, dst)
	if _, err := MergeShard(dst, crashed); err != nil {
		t.Fatal(err)
	}
	if again := dumpDB(t, dst); again != once {
		t.Fatalf("merging the half-written shard again changed the database")
	}

	// The requeued task resumes and finishes (its shard now holds the whole
	// run): merging it imports the run as done, replacing the partial rows.
	finished := filepath.Join(dir, "finished.db")
	writeShard(t, finished, "r", StatusDone, 6, t0.Add(2*time.Hour))
	rep, err = MergeShard(dst, finished)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Complete() || !reflect.DeepEqual(actions(rep), []MergeAction{MergeImported}) {
		t.Fatalf("merge of the finished shard: %+v", rep)
	}
	want := shardRecord(t, finished, "r")
	want.Run.JobID, want.Run.Created = "7_1", tick(1)
	if got := record(t, dst, "r"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after merging the finished shard:\n%+v\nwant\n%+v", got, want)
	}

	// The stale half-written shard merged after that is skipped: the
	// database's finished record stays as it is.
	done := dumpDB(t, dst)
	rep, err = MergeShard(dst, crashed)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(actions(rep), []MergeAction{MergeSkipped}) || rep.Complete() {
		t.Errorf("stale half-written shard: %+v, want skipped and incomplete", rep)
	}
	if after := dumpDB(t, dst); after != done {
		t.Errorf("a stale half-written shard changed a finished run")
	}
}

func TestMergeKeepsNewerFinishedRecord(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.db")
	writeShard(t, old, "r", StatusFailed, 2, t0)
	newer := filepath.Join(dir, "new.db")
	writeShard(t, newer, "r", StatusDone, 3, t0.Add(time.Hour))
	dst := openAt(t, filepath.Join(dir, "results.db"), t0)
	defer dst.Close()
	for _, s := range []string{newer, old} {
		if _, err := MergeShard(dst, s); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := MergeShard(dst, old)
	must(t, err)
	if !reflect.DeepEqual(actions(rep), []MergeAction{MergeKept}) {
		t.Errorf("older finished shard: %v, want kept", actions(rep))
	}
	if got, want := record(t, dst, "r"), shardRecord(t, newer, "r"); !reflect.DeepEqual(got, want) {
		t.Errorf("an older shard replaced a newer record:\n%+v\nwant\n%+v", got, want)
	}
}

func TestMergeEmptyShard(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	db := openAt(t, empty, t0) // a task that died right after opening its shard
	db.Close()
	dst := openAt(t, filepath.Join(dir, "results.db"), t0)
	defer dst.Close()
	rep, err := MergeShard(dst, empty)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Complete() || len(rep.Runs) != 0 {
		t.Errorf("empty shard: %+v, want no runs and not complete", rep)
	}
}

func TestMergeBadShard(t *testing.T) {
	dir := t.TempDir()
	dst := openAt(t, filepath.Join(dir, "results.db"), t0)
	defer dst.Close()
	before := dumpDB(t, dst)

	notDB := filepath.Join(dir, "not-a-db.db")
	must(t, os.WriteFile(notDB, []byte(strings.Repeat("garbage ", 1000)), 0o644))

	corrupt := filepath.Join(dir, "corrupt.db")
	writeShard(t, corrupt, "c", StatusDone, 400, t0) // 800 metrics: several pages
	corruptPage(t, corrupt)

	newer := filepath.Join(dir, "newer.db")
	writeShard(t, newer, "n", StatusDone, 2, t0)
	ndb := openAt(t, newer, t0)
	_, err := ndb.sql.Exec(`INSERT INTO schema_version (version, applied) VALUES (?, 'later')`, SchemaVersion()+1)
	must(t, err)
	ndb.Close()

	cases := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "missing.db"), "does not exist"},
		{"not a database", notDB, "not an SQLite database"},
		{"corrupt", corrupt, "malformed"},
		{"newer schema", newer, "schema version"},
		{"the database itself", dst.Path(), "the database being merged into"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := MergeShard(dst, c.path)
			if !errors.Is(err, ErrBadShard) {
				t.Fatalf("MergeShard(%s) = %v, want ErrBadShard", c.path, err)
			}
			for _, want := range []string{c.path, c.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
	if after := dumpDB(t, dst); after != before {
		t.Errorf("a bad shard changed the database")
	}
}

// corruptPage overwrites the middle of the closed database file at path
// (past its first page, the header and schema) with 0xFF bytes, the way a
// torn write on a failing disk would.
func corruptPage(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096 // SQLite's default page size
	if st.Size() < 4*page {
		t.Fatalf("%s has %d bytes, too small to corrupt a page past the schema", path, st.Size())
	}
	junk := make([]byte, page)
	for i := range junk {
		junk[i] = 0xFF
	}
	if _, err := f.WriteAt(junk, (st.Size()/page/2)*page); err != nil {
		t.Fatal(err)
	}
}
