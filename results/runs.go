package results

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Status is where a run stands.
type Status string

// The statuses of a run. Done, Failed and Diverged are terminal.
const (
	StatusPending   Status = "pending"   // known, not started
	StatusSubmitted Status = "submitted" // handed to Slurm (JobID set)
	StatusRunning   Status = "running"   // training (or crashed while training)
	StatusDone      Status = "done"      // finished its recipe and was evaluated
	StatusFailed    Status = "failed"    // stopped by an error (Run.Error says which)
	StatusDiverged  Status = "diverged"  // loss became NaN or Inf (Run.Iteration says when)
)

// Statuses lists every status, in the order a run moves through them.
func Statuses() []Status {
	return []Status{StatusPending, StatusSubmitted, StatusRunning, StatusDone, StatusFailed, StatusDiverged}
}

// Terminal reports whether s is a final status: done, failed or diverged.
func (s Status) Terminal() bool {
	return s == StatusDone || s == StatusFailed || s == StatusDiverged
}

// ParseStatus checks that s names a status.
func ParseStatus(s string) (Status, error) {
	for _, st := range Statuses() {
		if string(st) == s {
			return st, nil
		}
	}
	names := make([]string, 0, 6)
	for _, st := range Statuses() {
		names = append(names, string(st))
	}
	return "", fmt.Errorf("unknown run status %q (want one of %s)", s, strings.Join(names, ", "))
}

// Run is one training run: one resolved configuration (model, recipe, scale,
// seed) of one spec.
type Run struct {
	ID         string // hash of the resolved configuration (the runner computes it)
	Spec       string // spec id, e.g. "table6"
	Name       string // run name within the spec, e.g. "resnet-110"
	ConfigJSON string // the resolved configuration as JSON ("{}" if empty)
	Scale      string // smoke, quick or paper
	Seed       int64
	Status     Status

	Created  time.Time // when the row was first written
	Started  time.Time // first start; zero until then
	Finished time.Time // when it became terminal; zero otherwise
	Updated  time.Time // last change to the row

	Host        string
	CodeVersion string
	Backend     string // engine backend that trained it
	Error       string // why it failed or diverged
	JobID       string // Slurm job id, e.g. "1234_5"

	Iteration  int64 // last iteration reached
	Iterations int64 // planned iterations; 0 if unknown
}

// StartInfo describes the process that starts (or resumes) a run.
type StartInfo struct {
	Host        string
	CodeVersion string
	Backend     string
	JobID       string // empty keeps the recorded one
}

// RunFilter selects runs; an empty field matches anything.
type RunFilter struct {
	Spec   string
	Scale  string
	Status Status
}

const runColumns = `id, spec, name, config_json, scale, seed, status, created, started, finished, updated,
	host, code_version, backend, error, job_id, iteration, iterations`

// UpsertRun records r and returns the stored run. A new run is inserted with
// r's fields (status pending if r.Status is empty, Created now if zero). For a
// run already present, only its description is updated (spec, name, config,
// scale, seed, planned iterations, and host, code version, backend and job id
// when r gives them); its status, times, error and progress are kept: they
// change only through SetStatus, MarkSubmitted, MarkStarted, SetProgress and
// MarkFinished. So a runner may call UpsertRun for every run of a spec and
// then skip those whose returned Status is done.
func (db *DB) UpsertRun(r Run) (Run, error) {
	if r.ID == "" || r.Spec == "" || r.Name == "" {
		return Run{}, fmt.Errorf("results: run needs an id, a spec and a name (got id %q, spec %q, name %q)", r.ID, r.Spec, r.Name)
	}
	if r.Status == "" {
		r.Status = StatusPending
	}
	if _, err := ParseStatus(string(r.Status)); err != nil {
		return Run{}, fmt.Errorf("run %s: %w", r.ID, err)
	}
	if r.ConfigJSON == "" {
		r.ConfigJSON = "{}"
	}
	now := db.stamp()
	created := formatTime(r.Created)
	if created == nil {
		created = now
	}
	ctx := context.Background()
	var out Run
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
INSERT INTO runs (id, spec, name, config_json, scale, seed, status, created, started, finished, updated,
	host, code_version, backend, error, job_id, iteration, iterations)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
	spec = excluded.spec, name = excluded.name, config_json = excluded.config_json,
	scale = excluded.scale, seed = excluded.seed, iterations = excluded.iterations,
	host = CASE WHEN excluded.host = '' THEN host ELSE excluded.host END,
	code_version = CASE WHEN excluded.code_version = '' THEN code_version ELSE excluded.code_version END,
	backend = CASE WHEN excluded.backend = '' THEN backend ELSE excluded.backend END,
	job_id = CASE WHEN excluded.job_id = '' THEN job_id ELSE excluded.job_id END,
	updated = excluded.updated`,
			r.ID, r.Spec, r.Name, r.ConfigJSON, r.Scale, r.Seed, string(r.Status), created,
			formatTime(r.Started), formatTime(r.Finished), now,
			r.Host, r.CodeVersion, r.Backend, r.Error, r.JobID, r.Iteration, r.Iterations)
		if err != nil {
			return err
		}
		if err := insertRunSpec(ctx, tx, RunSpec{RunID: r.ID, Spec: r.Spec, Name: r.Name}); err != nil {
			return err
		}
		out, err = getRun(ctx, tx, r.ID)
		return err
	})
	if err != nil {
		return Run{}, fmt.Errorf("record run %s (%s/%s): %w", r.ID, r.Spec, r.Name, err)
	}
	return out, nil
}

// GetRun returns the run with the given id, or an error wrapping ErrNotFound.
func (db *DB) GetRun(id string) (Run, error) {
	return getRun(context.Background(), db.sql, id)
}

func getRun(ctx context.Context, q queryer, id string) (Run, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id)
	if err != nil {
		return Run{}, fmt.Errorf("run %s: %w", id, err)
	}
	runs, err := scanRuns(rows)
	if err != nil {
		return Run{}, fmt.Errorf("run %s: %w", id, err)
	}
	if len(runs) == 0 {
		return Run{}, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	return runs[0], nil
}

// ListRuns returns the runs f selects, ordered by spec, name, seed and
// creation time.
func (db *DB) ListRuns(f RunFilter) ([]Run, error) {
	return listRuns(context.Background(), db.sql, f)
}

func listRuns(ctx context.Context, q queryer, f RunFilter) ([]Run, error) {
	var where []string
	var args []any
	from := `SELECT ` + runColumns + ` FROM runs`
	if f.Spec != "" {
		// Every run the spec shares (run_specs), under the spec's own name
		// for it: fig6 lists the runs that table6 registered first.
		from = `SELECT ` + strings.NewReplacer("spec, name,", "rs.spec AS spec, rs.name AS name,").Replace(runColumns) +
			` FROM runs JOIN run_specs rs ON rs.run_id = runs.id`
		where = append(where, "rs.spec = ?")
		args = append(args, f.Spec)
	}
	if f.Scale != "" {
		where = append(where, "scale = ?")
		args = append(args, f.Scale)
	}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, string(f.Status))
	}
	query := from
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY spec, name, seed, created, id"
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	runs, err := scanRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

func scanRuns(rows *sql.Rows) ([]Run, error) {
	defer rows.Close()
	var runs []Run
	for rows.Next() {
		var r Run
		var status string
		var created, started, finished, updated sql.NullString
		if err := rows.Scan(&r.ID, &r.Spec, &r.Name, &r.ConfigJSON, &r.Scale, &r.Seed, &status,
			&created, &started, &finished, &updated,
			&r.Host, &r.CodeVersion, &r.Backend, &r.Error, &r.JobID, &r.Iteration, &r.Iterations); err != nil {
			return nil, err
		}
		r.Status = Status(status)
		var err error
		for _, p := range []struct {
			dst *time.Time
			src sql.NullString
		}{{&r.Created, created}, {&r.Started, started}, {&r.Finished, finished}, {&r.Updated, updated}} {
			if *p.dst, err = parseTime(p.src); err != nil {
				return nil, fmt.Errorf("run %s: %w", r.ID, err)
			}
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

// updateRun runs one UPDATE of the run id (setting updated too) and returns
// an error wrapping ErrNotFound if there is no such run.
// The SET clause may use the parameter ?1 for the current time (one clock
// reading per update); args bind ?2, ?3, ...
func (db *DB) updateRun(what, id, set string, args ...any) error {
	if err := db.writable(); err != nil {
		return err
	}
	args = append(append([]any{db.stamp()}, args...), id)
	res, err := db.sql.Exec(`UPDATE runs SET updated = ?1, `+set+` WHERE id = ?`, args...)
	if err != nil {
		return fmt.Errorf("%s run %s: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s run %s: %w", what, id, err)
	}
	if n == 0 {
		return fmt.Errorf("%s run %s: %w", what, id, ErrNotFound)
	}
	return nil
}

// SetStatus sets a run's status and error text (empty clears it), touching
// nothing else. Use MarkStarted and MarkFinished for the transitions that
// carry timestamps.
func (db *DB) SetStatus(id string, s Status, errText string) error {
	if _, err := ParseStatus(string(s)); err != nil {
		return fmt.Errorf("set status of run %s: %w", id, err)
	}
	return db.updateRun("set status of", id, "status = ?, error = ?", string(s), errText)
}

// MarkSubmitted records that the run was handed to Slurm as jobID (e.g.
// "1234_5"): status submitted, finish time and error cleared.
func (db *DB) MarkSubmitted(id, jobID string) error {
	return db.updateRun("mark submitted", id, "status = 'submitted', job_id = ?, finished = NULL, error = ''", jobID)
}

// MarkStarted records that a process starts or resumes the run: status
// running, Started set on the first start only (a resume keeps it; record it
// as an EventResume), Finished and Error cleared, and the host, code version,
// backend and (if given) job id of info.
func (db *DB) MarkStarted(id string, info StartInfo) error {
	return db.updateRun("mark started", id, `status = 'running', started = COALESCE(started, ?1), finished = NULL, error = '',
		host = ?, code_version = ?, backend = ?, job_id = CASE WHEN ?5 = '' THEN job_id ELSE ?5 END`,
		info.Host, info.CodeVersion, info.Backend, info.JobID)
}

// SetProgress records the last iteration the run reached.
func (db *DB) SetProgress(id string, iteration int64) error {
	return db.updateRun("set progress of", id, "iteration = ?", iteration)
}

// MarkFinished records that the run ended with the terminal status s (done,
// failed or diverged) and error text errText, at the current time.
func (db *DB) MarkFinished(id string, s Status, errText string) error {
	if !s.Terminal() {
		return fmt.Errorf("mark finished run %s: status %q is not terminal (want done, failed or diverged)", id, s)
	}
	set := "status = ?, error = ?, finished = ?1"
	if s == StatusDone {
		// A done run reached its planned end, whatever progress a kill
		// between its last checkpoint and SetProgress left recorded.
		set += ", iteration = CASE WHEN iterations > 0 THEN iterations ELSE iteration END"
	}
	return db.updateRun("mark finished", id, set, string(s), errText)
}

// DeleteRunData forgets everything a run produced, for `repro run --fresh`:
// its metrics, events, checkpoint records (not the files) and layer
// responses are deleted and the run goes back to pending with no times,
// error or progress. Its description (spec, name, config, job id) is kept.
func (db *DB) DeleteRunData(id string) error {
	ctx := context.Background()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		return deleteRunData(ctx, tx, id, db.stamp())
	})
	if err != nil {
		return fmt.Errorf("delete data of run %s: %w", id, err)
	}
	return nil
}

// deleteRunRows deletes the metrics, events, checkpoint records, layer
// responses and predictions of run id.
func deleteRunRows(ctx context.Context, tx execer, id string) error {
	for _, table := range []string{"metrics", "events", "checkpoints", "responses", "predictions"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE run_id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}

func deleteRunData(ctx context.Context, tx execer, id, now string) error {
	if err := deleteRunRows(ctx, tx, id); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE runs SET status = 'pending', started = NULL, finished = NULL,
		error = '', iteration = 0, updated = ? WHERE id = ?`, now, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}
