package results

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
)

// ErrBadShard is wrapped by MergeShard's error for a shard that cannot be
// merged at all: missing, not an SQLite file, failing PRAGMA integrity_check,
// or of another schema version. Nothing of such a shard is imported.
var ErrBadShard = errors.New("bad shard")

// MergeAction is what MergeShard did with one run of a shard.
type MergeAction string

const (
	// MergeImported: the shard's run is terminal (done, failed, diverged)
	// and at least as recent as the database's record: the database's run row
	// now equals the shard's and its metrics, events, checkpoints and layer
	// responses were replaced by the shard's.
	MergeImported MergeAction = "imported"
	// MergeKept: both are terminal and the database's record is more recent
	// (a later rerun); the shard's run was ignored.
	MergeKept MergeAction = "kept"
	// MergePartial: the shard's run is not terminal (a task that crashed or is
	// still running): its rows were added (upserted) and, if it is at least as
	// recent, its run row (status pending/submitted/running, progress) copied.
	// It is never marked done.
	MergePartial MergeAction = "partial"
	// MergeSkipped: the shard's run is not terminal but the database already
	// holds a terminal record of it; nothing was imported.
	MergeSkipped MergeAction = "skipped"
)

// MergedRun is the outcome for one run of a shard.
type MergedRun struct {
	ID, Spec, Name string
	Status         Status // the run's status in the shard
	Action         MergeAction
	// Rows the shard holds for the run.
	Metrics, Events, Checkpoints, Responses int
}

// MergeReport is what MergeShard did with one shard.
type MergeReport struct {
	Shard string // absolute path
	Runs  []MergedRun
}

// Complete reports whether the shard held at least one run and every one is
// terminal (done, failed or diverged): a shard a task finished writing.
func (r MergeReport) Complete() bool {
	if len(r.Runs) == 0 {
		return false
	}
	for _, m := range r.Runs {
		if !m.Status.Terminal() {
			return false
		}
	}
	return true
}

// Incomplete lists the runs of the shard that are not terminal: a crashed
// (or still running) task's runs, which the caller should report.
func (r MergeReport) Incomplete() []MergedRun {
	var out []MergedRun
	for _, m := range r.Runs {
		if !m.Status.Terminal() {
			out = append(out, m)
		}
	}
	return out
}

// shardRun is one run of a shard with all its rows.
type shardRun struct {
	run         Run
	metrics     []Metric
	events      []Event
	checkpoints []Checkpoint
	responses   []Response
	predictions []*Predictions
	specs       []RunSpec
	segments    []Segment
}

// MergeShard folds the shard at shardPath (a results database written by one
// run, issue 7) into dst, in one transaction, and reports what it did per run.
//
// The shard is opened read-only and must pass PRAGMA integrity_check and have
// dst's schema version; otherwise the error wraps ErrBadShard and nothing is
// imported. Each run of the shard is then handled by its status (see the
// MergeAction constants): a terminal run replaces the database's record of it
// unless that record is terminal and more recent (by the Updated time); a
// run that is not terminal (a half-written shard) has its rows added but is
// never marked done, and is listed by MergeReport.Incomplete. A shard with no
// runs imports nothing and is not Complete. The Slurm job id recorded in dst
// is kept when the shard has none.
//
// Merging is idempotent: every row is keyed (metrics by run, split, name,
// iteration; events by run, time, kind, iteration, detail; checkpoints by run,
// iteration; responses by run, layer) and run rows are copied with their
// Updated time, so merging the same shard again changes nothing.
func MergeShard(dst *DB, shardPath string) (MergeReport, error) {
	abs, err := filepath.Abs(shardPath)
	if err != nil {
		return MergeReport{}, fmt.Errorf("shard %s: %w: %v", shardPath, ErrBadShard, err)
	}
	report := MergeReport{Shard: abs}
	if err := dst.writable(); err != nil {
		return report, err
	}
	if abs == dst.path {
		return report, fmt.Errorf("shard %s: %w: it is the database being merged into", abs, ErrBadShard)
	}
	runs, targets, err := readShard(abs)
	if err != nil {
		return report, fmt.Errorf("shard %s: %w: %v", abs, ErrBadShard, err)
	}
	ctx := context.Background()
	err = dst.inTx(ctx, func(tx *sql.Tx) error {
		report.Runs = report.Runs[:0]
		for _, sr := range runs {
			action, err := mergeRun(ctx, tx, sr)
			if err != nil {
				return fmt.Errorf("run %s (%s/%s): %w", sr.run.ID, sr.run.Spec, sr.run.Name, err)
			}
			report.Runs = append(report.Runs, MergedRun{
				ID: sr.run.ID, Spec: sr.run.Spec, Name: sr.run.Name, Status: sr.run.Status, Action: action,
				Metrics: len(sr.metrics), Events: len(sr.events), Checkpoints: len(sr.checkpoints), Responses: len(sr.responses),
			})
		}
		return insertPaperTargets(ctx, tx, targets)
	})
	if err != nil {
		return MergeReport{Shard: abs}, fmt.Errorf("merge shard %s into %s: %w", abs, dst.path, err)
	}
	return report, nil
}

// readShard checks the shard and reads all its runs and rows, and its paper
// targets, in one read transaction (a consistent snapshot even if a task is
// still writing it).
func readShard(abs string) ([]shardRun, []PaperTarget, error) {
	pool, err := openReadOnlyPool(abs, false)
	if err != nil {
		return nil, nil, err
	}
	defer pool.Close()
	ctx := context.Background()
	if err := integrityCheck(ctx, pool); err != nil {
		return nil, nil, err
	}
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback()
	v, err := schemaVersion(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	if v != len(migrations) {
		return nil, nil, fmt.Errorf("schema version %d, want %d (a shard is merged by the repro version that wrote it)", v, len(migrations))
	}
	runs, err := listRuns(ctx, tx, RunFilter{})
	if err != nil {
		return nil, nil, err
	}
	targets, err := paperTargets(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	out := make([]shardRun, len(runs))
	for i, r := range runs {
		sr := shardRun{run: r}
		if sr.metrics, err = metrics(ctx, tx, r.ID, MetricFilter{}); err != nil {
			return nil, nil, err
		}
		if sr.events, err = events(ctx, tx, r.ID); err != nil {
			return nil, nil, err
		}
		if sr.checkpoints, err = checkpoints(ctx, tx, r.ID); err != nil {
			return nil, nil, err
		}
		if sr.responses, err = responses(ctx, tx, r.ID); err != nil {
			return nil, nil, err
		}
		if sr.predictions, err = allPredictions(ctx, tx, r.ID); err != nil {
			return nil, nil, err
		}
		if sr.specs, err = runSpecs(ctx, tx, r.ID); err != nil {
			return nil, nil, err
		}
		if sr.segments, err = segments(ctx, tx, r.ID); err != nil {
			return nil, nil, err
		}
		out[i] = sr
	}
	return out, targets, nil
}

// mergeRun applies the rules of MergeShard to one run inside tx.
func mergeRun(ctx context.Context, tx *sql.Tx, sr shardRun) (MergeAction, error) {
	d, err := getRun(ctx, tx, sr.run.ID)
	present := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", err
	}
	// Times are stored at nanosecond precision, so equal means the same write.
	shardNewer := !present || !d.Updated.After(sr.run.Updated)
	if sr.run.Status.Terminal() {
		if present && d.Status.Terminal() && !shardNewer {
			return MergeKept, nil
		}
		if err := copyRun(ctx, tx, sr.run); err != nil {
			return "", err
		}
		if err := deleteRunRows(ctx, tx, sr.run.ID); err != nil {
			return "", err
		}
		return MergeImported, addRows(ctx, tx, sr)
	}
	if present && d.Status.Terminal() {
		return MergeSkipped, nil
	}
	if shardNewer {
		if err := copyRun(ctx, tx, sr.run); err != nil {
			return "", err
		}
	}
	return MergePartial, addRows(ctx, tx, sr)
}

// copyRun writes r's row as it is (every column, Updated included), keeping
// the earlier creation time and the recorded job id if r has none.
func copyRun(ctx context.Context, tx *sql.Tx, r Run) error {
	_, err := tx.ExecContext(ctx, `
INSERT INTO runs (id, spec, name, config_json, scale, seed, status, created, started, finished, updated,
	host, code_version, backend, error, job_id, iteration, iterations)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
	spec = excluded.spec, name = excluded.name, config_json = excluded.config_json, scale = excluded.scale,
	seed = excluded.seed, status = excluded.status, created = min(created, excluded.created),
	started = excluded.started, finished = excluded.finished, updated = excluded.updated,
	host = excluded.host, code_version = excluded.code_version, backend = excluded.backend,
	error = excluded.error, job_id = CASE WHEN excluded.job_id = '' THEN job_id ELSE excluded.job_id END,
	iteration = excluded.iteration, iterations = excluded.iterations`,
		r.ID, r.Spec, r.Name, r.ConfigJSON, r.Scale, r.Seed, string(r.Status), formatTime(r.Created),
		formatTime(r.Started), formatTime(r.Finished), formatTime(r.Updated),
		r.Host, r.CodeVersion, r.Backend, r.Error, r.JobID, r.Iteration, r.Iterations)
	if err != nil {
		return err
	}
	return insertRunSpec(ctx, tx, RunSpec{RunID: r.ID, Spec: r.Spec, Name: r.Name})
}

// addRows upserts the shard's rows of one run.
func addRows(ctx context.Context, tx *sql.Tx, sr shardRun) error {
	for _, rs := range sr.specs {
		if err := insertRunSpec(ctx, tx, rs); err != nil {
			return err
		}
	}
	for _, s := range sr.segments {
		if err := insertSegment(ctx, tx, s); err != nil {
			return err
		}
	}
	if err := insertMetrics(ctx, tx, sr.metrics); err != nil {
		return err
	}
	for _, e := range sr.events {
		if err := insertEvent(ctx, tx, e); err != nil {
			return err
		}
	}
	for _, c := range sr.checkpoints {
		if err := insertCheckpoint(ctx, tx, c); err != nil {
			return err
		}
	}
	for _, p := range sr.predictions {
		if err := insertPredictions(ctx, tx, p); err != nil {
			return err
		}
	}
	return insertResponses(ctx, tx, sr.run.ID, sr.responses)
}
