package results

import (
	"context"
	"database/sql"
	"fmt"
	"math"
)

// RunSpec says that a spec includes a run: specs share runs by design
// (fig6's ResNets are table6's), and a run is trained once for all of them.
type RunSpec struct {
	RunID string
	Spec  string // spec id, e.g. fig6
	Name  string // the run's name within that spec
}

// PaperTarget is one number the paper reports for a run of a spec.
type PaperTarget struct {
	Spec   string
	Run    string // run name within the spec
	Metric string // experiments.Metrics: test_error, top1_error, ...
	Value  float64
	Source string // where the paper gives it, e.g. "Table 6 (Sec 4.2)"
}

func insertRunSpec(ctx context.Context, x execer, rs RunSpec) error {
	_, err := x.ExecContext(ctx, `INSERT INTO run_specs (run_id, spec, name) VALUES (?, ?, ?)
ON CONFLICT (run_id, spec) DO UPDATE SET name = excluded.name`, rs.RunID, rs.Spec, rs.Name)
	return err
}

// AddRunSpecs records that each spec includes its run. A run that is not in
// the database is skipped (nothing trained it yet; UpsertRun records the
// relation when it is registered); the number recorded is returned.
func (db *DB) AddRunSpecs(rss []RunSpec) (int, error) {
	n := 0
	ctx := context.Background()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, rs := range rss {
			if rs.RunID == "" || rs.Spec == "" || rs.Name == "" {
				return fmt.Errorf("results: run spec needs a run id, a spec and a name (got %+v)", rs)
			}
			var present int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE id = ?`, rs.RunID).Scan(&present); err != nil {
				return err
			}
			if present == 0 {
				continue
			}
			if err := insertRunSpec(ctx, tx, rs); err != nil {
				return fmt.Errorf("run %s in %s/%s: %w", rs.RunID, rs.Spec, rs.Name, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("record run specs in %s: %w", db.path, err)
	}
	return n, nil
}

// RunSpecs returns the specs that include run id, ordered by spec.
func (db *DB) RunSpecs(id string) ([]RunSpec, error) {
	return runSpecs(context.Background(), db.sql, id)
}

func runSpecs(ctx context.Context, q queryer, id string) ([]RunSpec, error) {
	rows, err := q.QueryContext(ctx, `SELECT run_id, spec, name FROM run_specs WHERE run_id = ? ORDER BY spec`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RunSpec
	for rows.Next() {
		var rs RunSpec
		if err := rows.Scan(&rs.RunID, &rs.Spec, &rs.Name); err != nil {
			return nil, err
		}
		out = append(out, rs)
	}
	return out, rows.Err()
}

// SetPaperTargets replaces the paper's targets of every spec named in ts
// with ts (a spec's list is written whole, so a number removed from a spec
// leaves the database too).
func (db *DB) SetPaperTargets(ts []PaperTarget) error {
	ctx := context.Background()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		cleared := map[string]bool{}
		for _, t := range ts {
			if t.Spec == "" || t.Run == "" || t.Metric == "" || math.IsNaN(t.Value) || math.IsInf(t.Value, 0) {
				return fmt.Errorf("results: paper target needs a spec, a run, a metric and a finite value (got %+v)", t)
			}
			if !cleared[t.Spec] {
				if _, err := tx.ExecContext(ctx, `DELETE FROM paper_targets WHERE spec = ?`, t.Spec); err != nil {
					return err
				}
				cleared[t.Spec] = true
			}
		}
		return insertPaperTargets(ctx, tx, ts)
	})
	if err != nil {
		return fmt.Errorf("record paper targets in %s: %w", db.path, err)
	}
	return nil
}

func insertPaperTargets(ctx context.Context, x execer, ts []PaperTarget) error {
	for _, t := range ts {
		if _, err := x.ExecContext(ctx, `INSERT INTO paper_targets (spec, run, metric, value, source) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (spec, run, metric) DO UPDATE SET value = excluded.value, source = excluded.source`,
			t.Spec, t.Run, t.Metric, t.Value, t.Source); err != nil {
			return fmt.Errorf("paper target %s/%s %s: %w", t.Spec, t.Run, t.Metric, err)
		}
	}
	return nil
}

// PaperTargets returns the stored targets, ordered by spec, run and metric.
func (db *DB) PaperTargets() ([]PaperTarget, error) {
	return paperTargets(context.Background(), db.sql)
}

func paperTargets(ctx context.Context, q queryer) ([]PaperTarget, error) {
	rows, err := q.QueryContext(ctx, `SELECT spec, run, metric, value, source FROM paper_targets ORDER BY spec, run, metric`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PaperTarget
	for rows.Next() {
		var t PaperTarget
		if err := rows.Scan(&t.Spec, &t.Run, &t.Metric, &t.Value, &t.Source); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
