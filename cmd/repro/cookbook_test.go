package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/resnet-repro/resnet-repro/reproduce"
)

// cookbookQuery is one question of the README's cookbook and its SQL.
type cookbookQuery struct{ question, sql string }

// cookbookQueries returns the questions and SQL blocks of the README's query
// cookbook (the "### Querying the results: a cookbook" section).
func cookbookQueries(t *testing.T) []cookbookQuery {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "### Querying the results: a cookbook")
	if start < 0 {
		t.Fatal("README.md has no query cookbook section")
	}
	section := text[start:]
	if end := strings.Index(section[1:], "\n#"); end >= 0 {
		section = section[:end+1]
	}
	var out []cookbookQuery
	for _, m := range regexp.MustCompile("(?s)([^\n]*)\n```sql\n(.*?)```").FindAllStringSubmatch(section, -1) {
		out = append(out, cookbookQuery{question: m[1], sql: strings.TrimSpace(m[2])})
	}
	return out
}

// TestCookbook runs every query of the README's cookbook with `repro query`
// on a copy of the committed results/medium.db, upgraded as `repro upgrade`
// does and reported on by `repro report`: each must succeed and, unless its question says it "may return no
// rows", return at least one row.
func TestCookbook(t *testing.T) {
	queries := cookbookQueries(t)
	// The README lists twelve questions; fewer means the section was cut.
	if len(queries) < 10 {
		t.Fatalf("the cookbook has %d queries, want at least 10", len(queries))
	}
	db := filepath.Join(t.TempDir(), "medium.db")
	src, err := sql.Open("sqlite3", "file:../../results/medium.db?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	// VACUUM INTO copies a consistent snapshot, the WAL of a running
	// campaign included.
	if _, err := src.Exec(`VACUUM INTO ?`, db); err != nil {
		t.Fatalf("copy results/medium.db: %v", err)
	}
	src.Close()
	if _, err := reproduce.Upgrade(db); err != nil {
		t.Fatal(err)
	}
	// `repro report` records the claims' verdicts (table claims), as the
	// campaign's save step does for the committed database.
	if code, _, errOut := repro("report", "--db", db, "--out", filepath.Join(t.TempDir(), "reports")); code != 0 {
		t.Fatalf("repro report: exit %d: %s", code, errOut)
	}
	for _, q := range queries {
		code, out, errOut := repro("query", "--db", db, "--format", "csv", q.sql)
		if code != 0 {
			t.Errorf("%s: query failed (exit %d: %s):\n%s", q.question, code, errOut, q.sql)
			continue
		}
		rows := strings.Count(strings.TrimSpace(out), "\n") // lines after the header
		if rows == 0 && !strings.Contains(q.question, "may return no rows") {
			t.Errorf("%s: no rows:\n%s", q.question, q.sql)
		}
	}
}
