package results

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// The splits and metric names the runner logs and Summaries reads.
const (
	SplitTrain = "train"
	SplitVal   = "val"
	SplitTest  = "test"

	MetricLoss  = "loss"  // mean cross-entropy loss
	MetricError = "error" // top-1 error rate, percent
	MetricTop5  = "top5"  // top-5 error rate, percent
	MetricLR    = "lr"    // learning rate in effect
)

// The event kinds the runner records. Kind is free text; these are the ones
// the reports know.
const (
	EventStart    = "start"     // first start of a run
	EventResume   = "resume"    // resumed from the checkpoint at Iteration
	EventLRChange = "lr_change" // learning rate changed (Detail: "0.1 -> 0.01")
	EventDiverged = "diverged"  // loss became NaN or Inf at Iteration
	EventRequeue  = "requeue"   // Slurm requeued or preempted the task
	EventFinish   = "finish"    // finished (Detail: status)
)

// Metric is one number logged by a run at an iteration.
type Metric struct {
	RunID       string
	Iteration   int64
	Epoch       float64 // Iteration in epochs of the training set
	Split       string  // SplitTrain, SplitVal, SplitTest
	Name        string  // MetricLoss, MetricError, ...
	Value       float64 // NaN is allowed (stored as NULL)
	WallSeconds float64 // seconds of training since the run began
}

// MetricFilter selects metrics of one run; an empty field matches anything.
type MetricFilter struct {
	Split string
	Name  string
	// From and To bound the iteration (inclusive); To = 0 means no bound.
	From, To int64
}

// Event is something that happened to a run at an iteration.
type Event struct {
	RunID     string
	Iteration int64
	Kind      string // Event* constants
	Detail    string
	At        time.Time // zero means now
}

// Checkpoint records a checkpoint file a run wrote.
type Checkpoint struct {
	RunID     string
	Iteration int64
	Path      string
	SHA256    string    // hex
	At        time.Time // zero means now
}

// Response is Fig. 7's measurement for one 3x3 layer of a trained network:
// the standard deviation, over the test set, of the layer's response (its
// output after batch normalization, before the ReLU and the addition).
type Response struct {
	RunID      string
	LayerIndex int // 0-based order of the 3x3 layer from the input
	LayerName  string
	Std        float64
}

// nullable stores NaN as NULL.
func nullable(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

// denull reads NULL back as NaN.
func denull(v sql.NullFloat64) float64 {
	if !v.Valid {
		return math.NaN()
	}
	return v.Float64
}

// describeWriteErr names the run when a row refers to a run that is not in
// the database.
func describeWriteErr(runID string, err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintForeignKey {
		return fmt.Errorf("run %s is not in the database (record the run first): %w", runID, ErrNotFound)
	}
	return err
}

// AddMetrics stores ms in one transaction. A metric already stored for the
// same (run, split, name, iteration) is replaced, so a resumed run that logs
// an iteration again leaves one row.
func (db *DB) AddMetrics(ms []Metric) error {
	if len(ms) == 0 {
		return nil
	}
	ctx := context.Background()
	err := db.inTx(ctx, func(tx *sql.Tx) error { return insertMetrics(ctx, tx, ms) })
	if err != nil {
		return fmt.Errorf("add metrics of run %s: %w", ms[0].RunID, err)
	}
	return nil
}

func insertMetrics(ctx context.Context, tx *sql.Tx, ms []Metric) error {
	st, err := tx.PrepareContext(ctx, `
INSERT INTO metrics (run_id, split, name, iteration, epoch, value, wall_seconds) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (run_id, split, name, iteration) DO UPDATE SET
	epoch = excluded.epoch, value = excluded.value, wall_seconds = excluded.wall_seconds`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, m := range ms {
		if m.RunID == "" || m.Split == "" || m.Name == "" {
			return fmt.Errorf("metric needs a run, a split and a name (got %q, %q, %q at iteration %d)", m.RunID, m.Split, m.Name, m.Iteration)
		}
		if _, err := st.ExecContext(ctx, m.RunID, m.Split, m.Name, m.Iteration, m.Epoch, nullable(m.Value), m.WallSeconds); err != nil {
			return describeWriteErr(m.RunID, err)
		}
	}
	return nil
}

// Metrics returns the metrics of run runID that f selects, ordered by split,
// name and iteration.
func (db *DB) Metrics(runID string, f MetricFilter) ([]Metric, error) {
	ms, err := metrics(context.Background(), db.sql, runID, f)
	if err != nil {
		return nil, fmt.Errorf("metrics of run %s: %w", runID, err)
	}
	return ms, nil
}

func metrics(ctx context.Context, q queryer, runID string, f MetricFilter) ([]Metric, error) {
	where := []string{"run_id = ?"}
	args := []any{runID}
	if f.Split != "" {
		where = append(where, "split = ?")
		args = append(args, f.Split)
	}
	if f.Name != "" {
		where = append(where, "name = ?")
		args = append(args, f.Name)
	}
	if f.From != 0 {
		where = append(where, "iteration >= ?")
		args = append(args, f.From)
	}
	if f.To != 0 {
		where = append(where, "iteration <= ?")
		args = append(args, f.To)
	}
	rows, err := q.QueryContext(ctx, `SELECT run_id, split, name, iteration, epoch, value, wall_seconds FROM metrics
		WHERE `+strings.Join(where, " AND ")+` ORDER BY split, name, iteration`, args...)
	if err != nil {
		return nil, err
	}
	return scanMetrics(rows)
}

func scanMetrics(rows *sql.Rows) ([]Metric, error) {
	defer rows.Close()
	var ms []Metric
	for rows.Next() {
		var m Metric
		var v sql.NullFloat64
		if err := rows.Scan(&m.RunID, &m.Split, &m.Name, &m.Iteration, &m.Epoch, &v, &m.WallSeconds); err != nil {
			return nil, err
		}
		m.Value = denull(v)
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

// LatestMetric returns the metric (split, name) of run runID at the highest
// iteration logged; ok is false if there is none.
func (db *DB) LatestMetric(runID, split, name string) (m Metric, ok bool, err error) {
	return db.oneMetric(runID, split, name, "ORDER BY iteration DESC LIMIT 1")
}

// BestMetric returns the metric (split, name) of run runID with the lowest
// value (ties: the earliest iteration), ignoring NaN; ok is false if there is
// none. For an error rate, that is the best error.
func (db *DB) BestMetric(runID, split, name string) (m Metric, ok bool, err error) {
	return db.oneMetric(runID, split, name, "AND value IS NOT NULL ORDER BY value, iteration LIMIT 1")
}

func (db *DB) oneMetric(runID, split, name, tail string) (Metric, bool, error) {
	rows, err := db.sql.Query(`SELECT run_id, split, name, iteration, epoch, value, wall_seconds FROM metrics
		WHERE run_id = ? AND split = ? AND name = ? `+tail, runID, split, name)
	if err == nil {
		var ms []Metric
		if ms, err = scanMetrics(rows); err == nil {
			if len(ms) == 0 {
				return Metric{}, false, nil
			}
			return ms[0], true, nil
		}
	}
	return Metric{}, false, fmt.Errorf("metric %s/%s of run %s: %w", split, name, runID, err)
}

// AddEvent stores e (At zero means now). Storing an identical event twice
// (same run, iteration, kind, detail and time) keeps one.
func (db *DB) AddEvent(e Event) error {
	if e.RunID == "" || e.Kind == "" {
		return fmt.Errorf("event needs a run and a kind (got %q, %q)", e.RunID, e.Kind)
	}
	if e.At.IsZero() {
		e.At = db.now()
	}
	if err := db.writable(); err != nil {
		return err
	}
	if err := insertEvent(context.Background(), db.sql, e); err != nil {
		return fmt.Errorf("add event %s of run %s: %w", e.Kind, e.RunID, describeWriteErr(e.RunID, err))
	}
	return nil
}

func insertEvent(ctx context.Context, x execer, e Event) error {
	_, err := x.ExecContext(ctx, `INSERT INTO events (run_id, iteration, kind, detail, at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, e.RunID, e.Iteration, e.Kind, e.Detail, formatTime(e.At))
	return err
}

// Events returns the events of run runID in the order they happened.
func (db *DB) Events(runID string) ([]Event, error) {
	es, err := events(context.Background(), db.sql, runID)
	if err != nil {
		return nil, fmt.Errorf("events of run %s: %w", runID, err)
	}
	return es, nil
}

func events(ctx context.Context, q queryer, runID string) ([]Event, error) {
	rows, err := q.QueryContext(ctx, `SELECT run_id, iteration, kind, detail, at FROM events WHERE run_id = ? ORDER BY at, iteration, kind, detail`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var es []Event
	for rows.Next() {
		var e Event
		var at sql.NullString
		if err := rows.Scan(&e.RunID, &e.Iteration, &e.Kind, &e.Detail, &at); err != nil {
			return nil, err
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, err
		}
		es = append(es, e)
	}
	return es, rows.Err()
}

// AddCheckpoint records a checkpoint (At zero means now); a record for the
// same (run, iteration) is replaced.
func (db *DB) AddCheckpoint(c Checkpoint) error {
	if c.RunID == "" || c.Path == "" {
		return fmt.Errorf("checkpoint needs a run and a path (got %q, %q)", c.RunID, c.Path)
	}
	if c.At.IsZero() {
		c.At = db.now()
	}
	if err := db.writable(); err != nil {
		return err
	}
	if err := insertCheckpoint(context.Background(), db.sql, c); err != nil {
		return fmt.Errorf("add checkpoint %s of run %s: %w", c.Path, c.RunID, describeWriteErr(c.RunID, err))
	}
	return nil
}

func insertCheckpoint(ctx context.Context, x execer, c Checkpoint) error {
	_, err := x.ExecContext(ctx, `INSERT INTO checkpoints (run_id, iteration, path, sha256, at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (run_id, iteration) DO UPDATE SET path = excluded.path, sha256 = excluded.sha256, at = excluded.at`,
		c.RunID, c.Iteration, c.Path, c.SHA256, formatTime(c.At))
	return err
}

// DeleteCheckpoint forgets the checkpoint record of run runID at iteration
// (the runner deletes the file when it keeps only the last few). Forgetting a
// record that is not there is not an error.
func (db *DB) DeleteCheckpoint(runID string, iteration int64) error {
	if err := db.writable(); err != nil {
		return err
	}
	if _, err := db.sql.Exec(`DELETE FROM checkpoints WHERE run_id = ? AND iteration = ?`, runID, iteration); err != nil {
		return fmt.Errorf("delete checkpoint of run %s at iteration %d: %w", runID, iteration, err)
	}
	return nil
}

// Checkpoints returns the checkpoint records of run runID by iteration.
func (db *DB) Checkpoints(runID string) ([]Checkpoint, error) {
	cs, err := checkpoints(context.Background(), db.sql, runID)
	if err != nil {
		return nil, fmt.Errorf("checkpoints of run %s: %w", runID, err)
	}
	return cs, nil
}

// LatestCheckpoint returns the checkpoint record of run runID with the
// highest iteration; ok is false if there is none.
func (db *DB) LatestCheckpoint(runID string) (c Checkpoint, ok bool, err error) {
	cs, err := db.Checkpoints(runID)
	if err != nil || len(cs) == 0 {
		return Checkpoint{}, false, err
	}
	return cs[len(cs)-1], true, nil
}

func checkpoints(ctx context.Context, q queryer, runID string) ([]Checkpoint, error) {
	rows, err := q.QueryContext(ctx, `SELECT run_id, iteration, path, sha256, at FROM checkpoints WHERE run_id = ? ORDER BY iteration`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cs []Checkpoint
	for rows.Next() {
		var c Checkpoint
		var at sql.NullString
		if err := rows.Scan(&c.RunID, &c.Iteration, &c.Path, &c.SHA256, &at); err != nil {
			return nil, err
		}
		if c.At, err = parseTime(at); err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// ReplaceResponses replaces the layer responses of run runID with rs, in one
// transaction. Every element of rs must have RunID runID (or empty).
func (db *DB) ReplaceResponses(runID string, rs []Response) error {
	ctx := context.Background()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM responses WHERE run_id = ?`, runID); err != nil {
			return err
		}
		return insertResponses(ctx, tx, runID, rs)
	})
	if err != nil {
		return fmt.Errorf("replace layer responses of run %s: %w", runID, err)
	}
	return nil
}

func insertResponses(ctx context.Context, tx *sql.Tx, runID string, rs []Response) error {
	st, err := tx.PrepareContext(ctx, `INSERT INTO responses (run_id, layer_index, layer_name, std) VALUES (?, ?, ?, ?)
		ON CONFLICT (run_id, layer_index) DO UPDATE SET layer_name = excluded.layer_name, std = excluded.std`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, r := range rs {
		if r.RunID != "" && r.RunID != runID {
			return fmt.Errorf("layer response %d (%s) belongs to run %s, not %s", r.LayerIndex, r.LayerName, r.RunID, runID)
		}
		if _, err := st.ExecContext(ctx, runID, r.LayerIndex, r.LayerName, nullable(r.Std)); err != nil {
			return describeWriteErr(runID, err)
		}
	}
	return nil
}

// Responses returns the layer responses of run runID by layer index.
func (db *DB) Responses(runID string) ([]Response, error) {
	rs, err := responses(context.Background(), db.sql, runID)
	if err != nil {
		return nil, fmt.Errorf("layer responses of run %s: %w", runID, err)
	}
	return rs, nil
}

func responses(ctx context.Context, q queryer, runID string) ([]Response, error) {
	rows, err := q.QueryContext(ctx, `SELECT run_id, layer_index, layer_name, std FROM responses WHERE run_id = ? ORDER BY layer_index`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rs []Response
	for rows.Next() {
		var r Response
		var std sql.NullFloat64
		if err := rows.Scan(&r.RunID, &r.LayerIndex, &r.LayerName, &std); err != nil {
			return nil, err
		}
		r.Std = denull(std)
		rs = append(rs, r)
	}
	return rs, rows.Err()
}
