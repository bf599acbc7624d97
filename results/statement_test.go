package results

import (
	"errors"
	"testing"
)

// repro query runs exactly one statement (issue 19: two statements showed
// only the last result, and "SELECT ...; -- x" printed nothing).
func TestSingleStatement(t *testing.T) {
	cases := []struct {
		in, want string
		bad      bool
	}{
		{in: "select 1", want: "select 1"},
		{in: "select 1;", want: "select 1"},
		{in: "select 1; -- note", want: "select 1"},
		{in: "select 1; /* a; b */ \n", want: "select 1"},
		{in: "select ';' as x, \"a;b\", [c;d], `e;f`", want: "select ';' as x, \"a;b\", [c;d], `e;f`"},
		{in: "select 1 -- x; y\n, 2", want: "select 1 -- x; y\n, 2"},
		{in: "select 1;;", want: "select 1"},
		{in: "select 1; select 2", bad: true},
		{in: "select 1; -- x\nselect 2", bad: true},
	}
	for _, c := range cases {
		got, err := singleStatement(c.in)
		if c.bad {
			if !errors.Is(err, ErrBadQuery) {
				t.Errorf("%q: err %v, want ErrBadQuery", c.in, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// A write hidden after a first statement is refused as a second statement
// before anything runs, and the database is unchanged.
func TestQueryRefusesSecondStatement(t *testing.T) {
	db := queryFixture(t)
	before := dumpDB(t, db)
	for _, q := range []string{"SELECT 1; DELETE FROM metrics", "SELECT 1; -- x\nDELETE FROM metrics", "SELECT 1; VACUUM"} {
		if _, err := QueryReadOnly(db.Path(), q); !errors.Is(err, ErrBadQuery) {
			t.Errorf("%q: err %v, want ErrBadQuery", q, err)
		}
	}
	if dumpDB(t, db) != before {
		t.Error("the database changed")
	}
}
