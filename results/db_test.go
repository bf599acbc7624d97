package results

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// t0 is an arbitrary fixed instant for the fake clock (sub-second on purpose,
// to check nanosecond round trips).
var t0 = time.Date(2016, 6, 27, 9, 30, 0, 123456789, time.UTC)

// clock is a fake clock that advances one second per reading, so every
// stored time is distinct and predictable.
type clock struct{ t time.Time }

func (c *clock) now() time.Time {
	c.t = c.t.Add(time.Second)
	return c.t
}

// openTest opens a new database in a fresh directory (below a directory that
// does not exist yet, to check that Open creates it) with a fake clock.
func openTest(t *testing.T) (*DB, *clock) {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "nested", "dir", "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: t0}
	db.now = c.now
	return db, c
}

// scalar runs a one-value query on db's read-write pool.
func scalar[T any](t *testing.T, db *DB, query string) T {
	t.Helper()
	var v T
	if err := db.sql.QueryRow(query).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

func TestOpenCreatesAndMigrates(t *testing.T) {
	db, _ := openTest(t)
	if _, err := os.Stat(db.Path()); err != nil {
		t.Fatalf("database file not created: %v", err)
	}
	checks := []struct {
		query string
		want  string
	}{
		{"PRAGMA journal_mode", "wal"},
		{"PRAGMA foreign_keys", "1"},
		{"PRAGMA busy_timeout", fmt.Sprint(busyTimeout.Milliseconds())},
		{"SELECT count(*) FROM schema_version", fmt.Sprint(len(migrations))},
		{"SELECT max(version) FROM schema_version", fmt.Sprint(SchemaVersion())},
		// The five tables of the data model (design.md), and version 2's
		// run_specs and paper_targets and its two views, version 3's leases
		// and segments, and version 4's predictions, ensembles and claims.
		{"SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'schema_version' ORDER BY name)",
			"checkpoints,claims,ensembles,events,leases,metrics,paper_targets,predictions,responses,run_specs,runs,segments"},
		{"SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name)",
			"curves,run_summary"},
	}
	for _, c := range checks {
		if got := scalar[string](t, db, c.query); got != c.want {
			t.Errorf("%s = %q, want %q", c.query, got, c.want)
		}
	}
	path := db.Path()
	db.Close()

	// Re-opening applies nothing twice.
	db2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if got := scalar[int](t, db2, "SELECT count(*) FROM schema_version"); got != len(migrations) {
		t.Errorf("after re-open, %d schema_version rows, want %d", got, len(migrations))
	}
}

func TestOpenConcurrentMigration(t *testing.T) {
	// Several handles opening a new file at once apply each migration once.
	path := filepath.Join(t.TempDir(), "results.db")
	const n = 4 // more openers than cores on the CI machine (2)
	errs := make(chan error, n)
	dbs := make(chan *DB, n)
	for range n {
		go func() {
			db, err := Open(path)
			errs <- err
			dbs <- db
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		db := <-dbs
		defer db.Close()
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := scalar[int](t, db, "SELECT count(*) FROM schema_version"); got != len(migrations) {
		t.Errorf("%d schema_version rows, want %d", got, len(migrations))
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	db, _ := openTest(t)
	next := SchemaVersion() + 1
	if _, err := db.sql.Exec(`INSERT INTO schema_version (version, applied) VALUES (?, 'later')`, next); err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	db.Close()
	for _, open := range []struct {
		name string
		fn   func(string) (*DB, error)
	}{{"Open", Open}, {"OpenReadOnly", OpenReadOnly}} {
		_, err := open.fn(path)
		if err == nil {
			t.Fatalf("%s of a version %d file succeeded", open.name, next)
		}
		for _, want := range []string{path, fmt.Sprintf("schema version %d is newer", next)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s error %q does not contain %q", open.name, err, want)
			}
		}
	}
}

func TestOpenUnwritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	aDir := filepath.Join(dir, "a-dir")
	if err := os.Mkdir(aDir, 0o755); err != nil {
		t.Fatal(err)
	}
	notDB := filepath.Join(dir, "not-a-db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("this is not SQLite\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, want string
	}{
		{"parent is a file", filepath.Join(file, "results.db"), "cannot create its directory"},
		{"path is a directory", aDir, "is a directory"},
		{"not a database", notDB, "not an SQLite database"},
	}
	// Permission bits do not stop root, so the read-only cases run only when
	// the tests do not run as root (CI runs them as a normal user).
	if os.Geteuid() != 0 {
		roDir := filepath.Join(dir, "ro-dir")
		if err := os.Mkdir(roDir, 0o555); err != nil {
			t.Fatal(err)
		}
		roFile := filepath.Join(dir, "ro.db")
		db, err := Open(roFile)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		if err := os.Chmod(roFile, 0o444); err != nil {
			t.Fatal(err)
		}
		cases = append(cases,
			struct{ name, path, want string }{"read-only directory", filepath.Join(roDir, "results.db"), "is not writable"},
			struct{ name, path, want string }{"read-only file", roFile, "file is not writable"},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, err := Open(c.path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s) succeeded", c.path)
			}
			for _, want := range []string{c.path, c.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestOpenReadOnly(t *testing.T) {
	db, _ := openTest(t)
	if _, err := db.UpsertRun(Run{ID: "r1", Spec: "table6", Name: "resnet-20"}); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if r, err := ro.GetRun("r1"); err != nil || r.Name != "resnet-20" {
		t.Fatalf("GetRun on read-only handle = %+v, %v", r, err)
	}
	writes := []struct {
		name string
		fn   func() error
	}{
		{"UpsertRun", func() error { _, err := ro.UpsertRun(Run{ID: "r2", Spec: "s", Name: "n"}); return err }},
		{"SetStatus", func() error { return ro.SetStatus("r1", StatusFailed, "x") }},
		{"AddMetrics", func() error { return ro.AddMetrics([]Metric{{RunID: "r1", Split: "train", Name: "loss"}}) }},
		{"AddEvent", func() error { return ro.AddEvent(Event{RunID: "r1", Kind: EventStart}) }},
		{"DeleteRunData", func() error { return ro.DeleteRunData("r1") }},
	}
	for _, w := range writes {
		if err := w.fn(); err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("%s on a read-only handle: err = %v, want a read-only error", w.name, err)
		}
	}
	if r, _ := db.GetRun("r1"); r.Status != StatusPending {
		t.Errorf("status changed through a read-only handle: %s", r.Status)
	}

	missing := filepath.Join(t.TempDir(), "missing.db")
	if _, err := OpenReadOnly(missing); err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("OpenReadOnly(missing) = %v, want a not-exist error naming the path", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenReadOnly created %s", missing)
	}
}

func TestTimesRoundTrip(t *testing.T) {
	cases := []time.Time{
		t0,
		time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC),                      // whole second
		time.Date(2016, 1, 1, 1, 0, 0, 5, time.FixedZone("UTC+1", 3600)), // another zone, 5 ns
	}
	for _, in := range cases {
		s := formatTime(in).(string)
		if len(s) != len(timeLayout) {
			t.Errorf("formatTime(%v) = %q: width %d, want fixed width %d", in, s, len(s), len(timeLayout))
		}
		if !strings.HasSuffix(s, "Z") {
			t.Errorf("formatTime(%v) = %q is not UTC", in, s)
		}
		out, err := parseTime(nullString(s))
		if err != nil || !out.Equal(in) {
			t.Errorf("round trip of %v = %v, %v", in, out, err)
		}
	}
	if formatTime(time.Time{}) != nil {
		t.Error("the zero time is not stored as NULL")
	}
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
