package results

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// queryFixture is a database with two runs and three metrics.
func queryFixture(t *testing.T) *DB {
	t.Helper()
	db, _ := openTest(t)
	addRun(t, db, "a")
	addRun(t, db, "b")
	must(t, db.AddMetrics([]Metric{
		{RunID: "a", Iteration: 100, Split: SplitTrain, Name: MetricLoss, Value: 2.5},
		{RunID: "a", Iteration: 200, Split: SplitTrain, Name: MetricLoss, Value: 1.25},
		{RunID: "b", Iteration: 100, Split: SplitTrain, Name: MetricLoss, Value: 3},
	}))
	return db
}

func TestQueryReads(t *testing.T) {
	db := queryFixture(t)
	cases := []struct {
		name  string
		query string
		args  []any
		want  *Table
	}{
		{"types", `SELECT run_id, iteration, value, NULL AS nul, x'00ff' AS blob, 'é' AS text FROM metrics WHERE run_id = 'a' ORDER BY iteration`, nil,
			&Table{Columns: []string{"run_id", "iteration", "value", "nul", "blob", "text"}, Rows: [][]any{
				{"a", int64(100), 2.5, nil, "x'00ff'", "é"},
				{"a", int64(200), 1.25, nil, "x'00ff'", "é"},
			}}},
		{"aggregate with argument", `SELECT run_id, count(*) AS n, min(value) AS best FROM metrics WHERE iteration >= ? GROUP BY run_id ORDER BY run_id`, []any{100},
			&Table{Columns: []string{"run_id", "n", "best"}, Rows: [][]any{{"a", int64(2), 1.25}, {"b", int64(1), 3.0}}}},
		{"recursive CTE", `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3) SELECT x FROM c`, nil,
			&Table{Columns: []string{"x"}, Rows: [][]any{{int64(1)}, {int64(2)}, {int64(3)}}}},
		{"no rows", `SELECT id FROM runs WHERE id = 'none'`, nil, &Table{Columns: []string{"id"}}},
		{"informational pragma", `PRAGMA table_info(responses)`, nil, nil},
		{"pragma function", `SELECT name FROM pragma_table_info('responses') ORDER BY cid`, nil,
			&Table{Columns: []string{"name"}, Rows: [][]any{{"run_id"}, {"layer_index"}, {"layer_name"}, {"std"}}}},
		{"pragma read", `PRAGMA user_version`, nil, &Table{Columns: []string{"user_version"}, Rows: [][]any{{int64(0)}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := db.Query(c.query, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			if c.want == nil {
				if len(got.Rows) == 0 {
					t.Errorf("no rows")
				}
				return
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %#v\nwant %#v", got, c.want)
			}
		})
	}
}

// refusedStatements are statements that write, each of which must be refused
// by both Query and QueryReadOnly, leaving the file unchanged.
var refusedStatements = []struct {
	name, sql, mention string // mention: what the error names
}{
	{"insert", `INSERT INTO runs (id, spec, name, created, updated) VALUES ('x', 's', 'n', 't', 't')`, "INSERT runs"},
	{"update", `UPDATE metrics SET value = 0`, "UPDATE metrics"},
	{"delete", `DELETE FROM metrics`, "DELETE metrics"},
	{"replace", `REPLACE INTO metrics (run_id, split, name, iteration) VALUES ('a', 'train', 'loss', 100)`, "INSERT metrics"},
	{"create table", `CREATE TABLE t (x)`, "schema change (INSERT sqlite_master"},
	{"create temp table", `CREATE TEMP TABLE t (x)`, "schema change (INSERT sqlite_temp_master"},
	{"create index", `CREATE INDEX i ON metrics (value)`, "schema change"},
	{"create view", `CREATE VIEW v AS SELECT 1`, "schema change"},
	{"drop table", `DROP TABLE metrics`, "schema change (DELETE sqlite_master"},
	{"alter table", `ALTER TABLE runs ADD COLUMN x`, "ALTER TABLE"},
	{"attach", `ATTACH DATABASE 'other.db' AS other`, "ATTACH"},
	{"attach in-memory", `ATTACH ':memory:' AS m`, "ATTACH"},
	{"pragma write", `PRAGMA user_version = 7`, "PRAGMA user_version = 7"},
	{"pragma lifting query_only", `PRAGMA query_only = 0`, "PRAGMA query_only = 0"},
	{"pragma journal mode", `PRAGMA journal_mode = DELETE`, "PRAGMA journal_mode = DELETE"},
	{"pragma wal checkpoint", `PRAGMA wal_checkpoint(TRUNCATE)`, "PRAGMA wal_checkpoint"},
	{"vacuum", `VACUUM`, "the statement writes"}, // no authorizer call: sqlite3_stmt_readonly refuses it
	{"reindex", `REINDEX`, "REINDEX"},
	{"vacuum into", `VACUUM INTO 'copy.db'`, "the statement writes"},
	{"analyze", `ANALYZE`, "ANALYZE"},
	{"begin", `BEGIN`, "transaction"},
	{"savepoint", `SAVEPOINT s`, "SAVEPOINT"},
	{"insert with CTE", `WITH x AS (SELECT 1) INSERT INTO events (run_id, iteration, kind, at) SELECT 'a', 1, 'k', 't' FROM x`, "INSERT events"},
	{"load extension", `SELECT load_extension('x')`, "function load_extension"},
}

func TestQueryRefusesWrites(t *testing.T) {
	db := queryFixture(t)
	dump := func() string { return dumpDB(t, db) }
	before := dump()
	dir := filepath.Dir(db.Path())
	filesBefore := listDir(t, dir)
	for _, c := range refusedStatements {
		t.Run(c.name, func(t *testing.T) {
			for name, q := range map[string]func() (*Table, error){
				"Query":         func() (*Table, error) { return db.Query(c.sql) },
				"QueryReadOnly": func() (*Table, error) { return QueryReadOnly(db.Path(), c.sql) },
			} {
				_, err := q()
				if !errors.Is(err, ErrWriteRefused) {
					t.Fatalf("%s(%s) = %v, want ErrWriteRefused", name, c.sql, err)
				}
				if !strings.Contains(err.Error(), c.mention) || !strings.Contains(err.Error(), db.Path()) {
					t.Errorf("%s error %q does not name %q and the file", name, err, c.mention)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("%s error is not one line: %q", name, err)
				}
			}
		})
	}
	if after := dump(); after != before {
		t.Errorf("refused statements changed the database:\nbefore %s\nafter  %s", before, after)
	}
	if files := listDir(t, dir); !reflect.DeepEqual(files, filesBefore) {
		t.Errorf("refused statements changed the directory: %v -> %v", filesBefore, files)
	}
	// The connection still works after refusals.
	if tab, err := db.Query(`SELECT count(*) FROM metrics`); err != nil || tab.Rows[0][0] != int64(3) {
		t.Errorf("after refusals: %v, %v", tab, err)
	}
}

func TestQueryErrors(t *testing.T) {
	db := queryFixture(t)
	for _, q := range []string{"", "   ", "SELEC 1", "SELECT nope FROM runs", "SELECT * FROM nope", "SELECT ?"} {
		if _, err := db.Query(q); !errors.Is(err, ErrBadQuery) {
			t.Errorf("Query(%q) = %v, want ErrBadQuery", q, err)
		}
	}
	missing := filepath.Join(t.TempDir(), "none.db")
	if _, err := QueryReadOnly(missing, "SELECT 1"); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("QueryReadOnly(missing) = %v, want not-exist naming the path", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Error("QueryReadOnly created the missing file")
	}
}

// dumpDB renders every row of every table, for before/after comparisons.
func dumpDB(t *testing.T, db *DB) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"schema_version", "runs", "metrics", "events", "checkpoints", "responses"} {
		tab, err := db.Query(`SELECT * FROM ` + table + ` ORDER BY 1, 2`)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(table + ":")
		if err := tab.Write(&b, FormatCSV); err != nil {
			t.Fatal(err)
		}
	}
	tab, err := db.Query(`SELECT type, name, sql FROM sqlite_master ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	if err := tab.Write(&b, FormatCSV); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestTableWrite(t *testing.T) {
	tab := &Table{
		Columns: []string{"name", "n", "err", "note"},
		Rows: [][]any{
			{"resnet-20", int64(20), 8.75, nil},
			{"resnet-110", int64(110), 6.43, "a,b \"q\"\nline"},
		},
	}
	// Expected outputs written by hand from the rules in Table.Write (numeric
	// columns right-aligned, header included).
	cases := []struct {
		format, want string
	}{
		{FormatTable, "" +
			"name          n   err  note\n" +
			"----------  ---  ----  -------------\n" +
			"resnet-20    20  8.75  NULL\n" +
			"resnet-110  110  6.43  a,b \"q\"\\nline\n"},
		{FormatCSV, "name,n,err,note\nresnet-20,20,8.75,\nresnet-110,110,6.43,\"a,b \"\"q\"\"\nline\"\n"},
		{FormatJSON, "[\n" +
			"  {\"name\": \"resnet-20\", \"n\": 20, \"err\": 8.75, \"note\": null},\n" +
			"  {\"name\": \"resnet-110\", \"n\": 110, \"err\": 6.43, \"note\": \"a,b \\\"q\\\"\\nline\"}\n" +
			"]\n"},
	}
	for _, c := range cases {
		var b bytes.Buffer
		if err := tab.Write(&b, c.format); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("%s:\n%s\nwant\n%s", c.format, b.String(), c.want)
		}
	}
	if err := tab.Write(&bytes.Buffer{}, "xml"); err == nil || !strings.Contains(err.Error(), `unknown format "xml"`) {
		t.Errorf("Write(xml) = %v", err)
	}
	// Repeated column names stay distinct in JSON; an empty result is [].
	var b bytes.Buffer
	must(t, (&Table{Columns: []string{"a", "a"}, Rows: [][]any{{int64(1), int64(2)}}}).Write(&b, FormatJSON))
	if want := "[\n  {\"a\": 1, \"a_2\": 2}\n]\n"; b.String() != want {
		t.Errorf("repeated columns: %q, want %q", b.String(), want)
	}
	b.Reset()
	must(t, (&Table{Columns: []string{"a"}}).Write(&b, FormatJSON))
	if b.String() != "[]\n" {
		t.Errorf("empty JSON: %q", b.String())
	}
}

// TestReadOnlyConnectionWithoutAuthorizer checks the second guard alone: a
// connection opened with mode=ro and query_only refuses writes even without
// the authorizer, and lifting query_only does not help.
func TestReadOnlyConnectionWithoutAuthorizer(t *testing.T) {
	db := queryFixture(t)
	pool, err := openReadOnlyPool(db.Path(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	conn, err := pool.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		`INSERT INTO events (run_id, iteration, kind, at) VALUES ('a', 1, 'k', 't')`,
		`DELETE FROM metrics`,
		`CREATE TABLE t (x)`,
		`PRAGMA query_only = 0`, // accepted, but mode=ro still holds
		`UPDATE metrics SET value = 0`,
		`DROP TABLE metrics`,
	} {
		_, err := conn.ExecContext(t.Context(), q)
		var se sqlite3.Error
		if strings.HasPrefix(q, "PRAGMA") {
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			continue
		}
		if !errors.As(err, &se) || se.Code != sqlite3.ErrReadonly {
			t.Errorf("%s on a mode=ro connection: %v, want SQLITE_READONLY", q, err)
		}
	}
	if n := scalar[int](t, db, "SELECT count(*) FROM metrics"); n != 3 {
		t.Errorf("%d metrics after refused writes, want 3", n)
	}
}

// TestQueryInReadOnlyDirectory reads a WAL database in a directory the
// reader may not write to (no -shm can be created): the case of a shared
// results directory. Permission bits do not stop root, so it checks only
// when the tests do not run as root (CI runs them as a normal user).
func TestQueryInReadOnlyDirectory(t *testing.T) {
	db := queryFixture(t)
	path := db.Path()
	must(t, db.Close()) // the last connection: SQLite removes -wal and -shm
	dir := filepath.Dir(path)
	if os.Geteuid() != 0 {
		must(t, os.Chmod(dir, 0o555))
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
	}
	tab, err := QueryReadOnly(path, `SELECT count(*) FROM metrics`)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Rows[0][0] != int64(3) { // queryFixture's three metrics
		t.Errorf("count = %v, want 3", tab.Rows[0][0])
	}
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if rs, err := ro.ListRuns(RunFilter{}); err != nil || len(rs) != 2 {
		t.Errorf("ListRuns = %d runs, %v; want queryFixture's 2", len(rs), err)
	}
	if _, err := QueryReadOnly(path, `DELETE FROM metrics`); !errors.Is(err, ErrWriteRefused) {
		t.Errorf("DELETE in a read-only directory: %v, want ErrWriteRefused", err)
	}
}
