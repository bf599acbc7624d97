package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQueryCommand(t *testing.T) {
	db := resultsFixture(t)
	const sql = `SELECT split, name, count(*) AS n, min(value) AS best FROM metrics GROUP BY split, name ORDER BY split, name`
	// Expected rows from resultsFixture: test error 30 and 35; train error 40;
	// train loss 1.5 and 1.25.
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"query", "--db", db, sql}, "" +
			"split  name   n  best\n" +
			"-----  -----  -  ----\n" +
			"test   error  2    30\n" +
			"train  error  1    40\n" +
			"train  loss   2  1.25\n"},
		// Flags after the SQL, as the usage line shows them.
		{[]string{"query", sql, "--db", db, "--format", "csv"}, "split,name,n,best\ntest,error,2,30\ntrain,error,1,40\ntrain,loss,2,1.25\n"},
		{[]string{"query", "--format", "json", sql, "--db", db}, "[\n" +
			"  {\"split\": \"test\", \"name\": \"error\", \"n\": 2, \"best\": 30},\n" +
			"  {\"split\": \"train\", \"name\": \"error\", \"n\": 1, \"best\": 40},\n" +
			"  {\"split\": \"train\", \"name\": \"loss\", \"n\": 2, \"best\": 1.25}\n" +
			"]\n"},
	}
	for _, c := range cases {
		code, out, errOut := repro(c.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errOut)
		}
		if out != c.want {
			t.Errorf("%v:\n%s\nwant\n%s", c.args, out, c.want)
		}
	}
}

func TestQueryCommandRefusesWrites(t *testing.T) {
	db := resultsFixture(t)
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`DELETE FROM metrics`,
		`INSERT INTO runs (id, spec, name, created, updated) VALUES ('x', 's', 'n', 't', 't')`,
		`UPDATE runs SET status = 'done'`,
		`DROP TABLE runs`,
		`CREATE TABLE t (x)`,
		`ATTACH DATABASE 'x.db' AS x`,
		`PRAGMA query_only = 0`,
	} {
		code, out, errOut := repro("query", "--db", db, sql)
		if code != 2 || out != "" || !strings.Contains(errOut, "refused") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 2 and a one-line refusal", sql, code, out, errOut)
		}
	}
	code, out, _ := repro("query", "--db", db, "--format", "csv", "SELECT count(*) AS n FROM metrics")
	if code != 0 || out != "n\n5\n" {
		t.Errorf("after refusals: exit %d, %q; want the fixture's 5 metrics", code, out)
	}
	after, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Error("the database file changed")
	}
}

func TestQueryCommandErrors(t *testing.T) {
	db := resultsFixture(t)
	missing := filepath.Join(t.TempDir(), "none.db")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"query", "--db", db}, "missing the SQL"},
		{[]string{"query", "--db", missing, "SELECT 1"}, "no results database at " + missing},
		{[]string{"query", "--db", db, "SELEC 1"}, "invalid query"},
		{[]string{"query", "--db", db, "--format", "xml", "SELECT 1"}, `unknown format "xml"`},
		{[]string{"query", "--db", db, "SELECT", "1"}, "one SQL argument expected"},
		{[]string{"query", "SELECT 1", "--nope"}, "flag provided but not defined"},
	}
	for _, c := range cases {
		code, out, errOut := repro(c.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, c.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line with %q", c.args, code, out, errOut, c.want)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Error("query created the missing database")
	}
}
