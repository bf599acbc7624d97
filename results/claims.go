package results

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// Claim is one of the paper's claims with the verdict `repro report`
// reached on a scale's numbers (experiments.Verdict), as the claims table
// stores it.
type Claim struct {
	Spec, Claim, Scale string
	Verdict            string // experiments.Held, NotHeld, WithinNoise, NotMeasurable
	Kind, Metric       string
	Margin             float64 // the noise margin used; NaN: none
	MarginSource       string
	Numbers            string // the comparison, as the report prints it
	Paper, Source      string // the paper's sentence and where it says it
}

// ReplaceClaims makes the claims table hold cs for every spec that cs
// names (other specs' rows stay). When the rows are already exactly these,
// nothing is written, so regenerating the reports leaves the file as it
// was; changed reports whether anything was written.
func (db *DB) ReplaceClaims(cs []Claim) (changed bool, err error) {
	var specs []string
	for _, c := range cs {
		if !slices.Contains(specs, c.Spec) {
			specs = append(specs, c.Spec)
		}
	}
	ctx := context.Background()
	var have []Claim
	for _, s := range specs {
		got, err := claims(ctx, db.sql, s)
		if err != nil {
			return false, fmt.Errorf("claims of %s: %w", s, err)
		}
		have = append(have, got...)
	}
	want := slices.Clone(cs)
	sortClaims(want)
	sortClaims(have)
	if slices.EqualFunc(want, have, sameClaim) {
		return false, nil
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		for _, s := range specs {
			if _, err := tx.ExecContext(ctx, `DELETE FROM claims WHERE spec = ?`, s); err != nil {
				return err
			}
		}
		for _, c := range want {
			if _, err := tx.ExecContext(ctx, `INSERT INTO claims (spec, claim, scale, verdict, kind, metric, margin, margin_source, numbers, paper, source)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.Spec, c.Claim, c.Scale, c.Verdict, c.Kind, c.Metric, nullable(c.Margin),
				c.MarginSource, c.Numbers, c.Paper, c.Source); err != nil {
				return fmt.Errorf("claim %s/%s: %w", c.Spec, c.Claim, err)
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("record claims: %w", err)
	}
	return true, nil
}

// Claims returns the recorded claims of spec (every spec when empty), by
// spec and claim id.
func (db *DB) Claims(spec string) ([]Claim, error) {
	cs, err := claims(context.Background(), db.sql, spec)
	if err != nil {
		return nil, fmt.Errorf("claims of %q: %w", spec, err)
	}
	return cs, nil
}

func claims(ctx context.Context, q queryer, spec string) ([]Claim, error) {
	rows, err := q.QueryContext(ctx, `SELECT spec, claim, scale, verdict, kind, metric, margin, margin_source, numbers, paper, source
		FROM claims WHERE ? = '' OR spec = ? ORDER BY spec, claim`, spec, spec)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Claim
	for rows.Next() {
		var c Claim
		var margin sql.NullFloat64
		if err := rows.Scan(&c.Spec, &c.Claim, &c.Scale, &c.Verdict, &c.Kind, &c.Metric, &margin, &c.MarginSource,
			&c.Numbers, &c.Paper, &c.Source); err != nil {
			return nil, err
		}
		c.Margin = denull(margin)
		out = append(out, c)
	}
	return out, rows.Err()
}

func sortClaims(cs []Claim) {
	slices.SortFunc(cs, func(a, b Claim) int {
		return cmp.Or(strings.Compare(a.Spec, b.Spec), strings.Compare(a.Claim, b.Claim))
	})
}

// sameClaim compares two claims field by field, NaN margins as equal.
func sameClaim(a, b Claim) bool {
	am, bm := a.Margin, b.Margin
	a.Margin, b.Margin = 0, 0
	return a == b && (am == bm || (am != am && bm != bm))
}

// RunScales lists the scales of the database's runs, sorted.
func (db *DB) RunScales() ([]string, error) {
	rows, err := db.sql.Query(`SELECT DISTINCT scale FROM runs ORDER BY scale`)
	if err != nil {
		return nil, fmt.Errorf("scales of %s: %w", db.Path(), err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
