package results

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
)

// migrations are the schema changes in order; migrations[i] takes the schema
// from version i to version i+1. Never edit a migration that has shipped:
// append a new one.
var migrations = []string{
	// Version 1: the data model of design.md plus what issue 7 needs (the
	// Slurm job id, the "submitted" status) and run progress.
	`
CREATE TABLE runs (
	id           TEXT PRIMARY KEY,             -- hash of the resolved configuration
	spec         TEXT NOT NULL,                -- spec id, e.g. table6
	name         TEXT NOT NULL,                -- run name within the spec, e.g. resnet-110
	config_json  TEXT NOT NULL DEFAULT '{}',   -- the fully resolved configuration
	scale        TEXT NOT NULL DEFAULT '',     -- smoke | quick | paper
	seed         INTEGER NOT NULL DEFAULT 0,
	status       TEXT NOT NULL DEFAULT 'pending'
	             CHECK (status IN ('pending','submitted','running','done','failed','diverged')),
	created      TEXT NOT NULL,
	started      TEXT,                         -- first start; NULL until then
	finished     TEXT,                         -- NULL unless done, failed or diverged
	updated      TEXT NOT NULL,                -- last change to this row
	host         TEXT NOT NULL DEFAULT '',
	code_version TEXT NOT NULL DEFAULT '',
	backend      TEXT NOT NULL DEFAULT '',     -- engine backend, e.g. reference
	error        TEXT NOT NULL DEFAULT '',     -- why it failed or diverged
	job_id       TEXT NOT NULL DEFAULT '',     -- Slurm job id (array job_task), if submitted
	iteration    INTEGER NOT NULL DEFAULT 0,   -- last iteration reached
	iterations   INTEGER NOT NULL DEFAULT 0    -- planned iterations (0: unknown)
);
CREATE INDEX runs_by_spec ON runs (spec, name, seed);
CREATE INDEX runs_by_status ON runs (status);

CREATE TABLE metrics (
	run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	split        TEXT NOT NULL,                -- train | val | test
	name         TEXT NOT NULL,                -- loss | error | lr | ...
	iteration    INTEGER NOT NULL,
	epoch        REAL NOT NULL DEFAULT 0,
	value        REAL,                         -- NULL stands for NaN
	wall_seconds REAL NOT NULL DEFAULT 0,      -- seconds of training since the run began
	PRIMARY KEY (run_id, split, name, iteration)
) WITHOUT ROWID;
CREATE INDEX metrics_by_iteration ON metrics (run_id, iteration);

CREATE TABLE events (                      -- keyed by content, so that merging is idempotent
	run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	iteration INTEGER NOT NULL,
	kind      TEXT NOT NULL,                   -- start | resume | lr_change | diverged | requeue | ...
	detail    TEXT NOT NULL DEFAULT '',
	at        TEXT NOT NULL,
	PRIMARY KEY (run_id, at, kind, iteration, detail)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
	run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	iteration INTEGER NOT NULL,
	path      TEXT NOT NULL,
	sha256    TEXT NOT NULL,
	at        TEXT NOT NULL,
	PRIMARY KEY (run_id, iteration)
) WITHOUT ROWID;

CREATE TABLE responses (
	run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	layer_index INTEGER NOT NULL,              -- 0-based order of the 3x3 layer in the network
	layer_name  TEXT NOT NULL,
	std         REAL,                          -- NULL stands for NaN
	PRIMARY KEY (run_id, layer_index)
) WITHOUT ROWID;
`,
	// Version 2 (issue 16): what a researcher needs to query the database
	// without reading code. run_specs relates a run to every spec that
	// shares it (runs.spec keeps the spec that registered it last);
	// paper_targets holds the paper's numbers per spec and run; the views
	// run_summary and curves answer the common questions in one SELECT.
	// Existing runs get their own spec in run_specs; `repro upgrade` adds
	// the specs that share them and the paper's targets.
	`
CREATE TABLE run_specs (
	run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	spec   TEXT NOT NULL,                      -- a spec whose resolution includes this run
	name   TEXT NOT NULL,                      -- the run's name within that spec
	PRIMARY KEY (run_id, spec)
) WITHOUT ROWID;
CREATE INDEX run_specs_by_spec ON run_specs (spec, name);
INSERT INTO run_specs (run_id, spec, name) SELECT id, spec, name FROM runs;

CREATE TABLE paper_targets (
	spec   TEXT NOT NULL,                      -- spec id, e.g. table6
	run    TEXT NOT NULL,                      -- run name within the spec, e.g. resnet-110
	metric TEXT NOT NULL,                      -- test_error, top1_error, ... (experiments.Metrics)
	value  REAL NOT NULL,                      -- the paper's number (percent for errors)
	source TEXT NOT NULL DEFAULT '',           -- where the paper gives it, e.g. "Table 6 (Sec 4.2)"
	PRIMARY KEY (spec, run, metric)
) WITHOUT ROWID;

-- curves: every logged number as (run, iteration, metric, value), the
-- metric named split_name (train_error, test_error, val_top5, train_loss).
CREATE VIEW curves AS
SELECT run_id AS run, iteration, split || '_' || name AS metric, value, epoch, wall_seconds
FROM metrics;

-- run_summary: one row per run and spec that includes it. The evaluation
-- split is val for ImageNet runs and test for CIFAR-10 ones; final numbers
-- are those of the last logged iteration; paper is the spec's target for
-- the run (its test error, else its mean test error over seeds, else its
-- top-1 error), delta = final_test_error - paper.
CREATE VIEW run_summary AS
WITH s AS (
	SELECT r.*, rs.spec AS member_spec, rs.name AS member_name,
		CASE WHEN json_extract(r.config_json, '$.dataset') = 'imagenet' THEN 'val' ELSE 'test' END AS eval_split
	FROM runs r JOIN run_specs rs ON rs.run_id = r.id
),
f AS (
	SELECT s.*,
		(SELECT value FROM metrics m WHERE m.run_id = s.id AND m.split = 'train' AND m.name = 'error'
			ORDER BY iteration DESC LIMIT 1) AS final_train_error,
		(SELECT value FROM metrics m WHERE m.run_id = s.id AND m.split = s.eval_split AND m.name = 'error'
			ORDER BY iteration DESC LIMIT 1) AS final_test_error,
		(SELECT min(value) FROM metrics m WHERE m.run_id = s.id AND m.split = s.eval_split AND m.name = 'error') AS best_test_error,
		(SELECT value FROM metrics m WHERE m.run_id = s.id AND m.split = s.eval_split AND m.name = 'top5'
			ORDER BY iteration DESC LIMIT 1) AS final_top5_error,
		(SELECT max(wall_seconds) FROM metrics m WHERE m.run_id = s.id) AS wall_seconds,
		(SELECT value FROM paper_targets p WHERE p.spec = s.member_spec AND p.run = s.member_name
			AND p.metric IN ('test_error', 'test_error_mean', 'top1_error')
			ORDER BY CASE p.metric WHEN 'test_error' THEN 0 WHEN 'test_error_mean' THEN 1 ELSE 2 END LIMIT 1) AS paper
	FROM s
)
SELECT id AS run, member_spec AS spec, member_name AS name,
	(SELECT group_concat(spec, ',') FROM (SELECT spec FROM run_specs WHERE run_id = f.id ORDER BY spec)) AS specs,
	json_extract(config_json, '$.model') AS model, scale, seed, status, iteration, iterations,
	final_train_error, final_test_error, best_test_error, final_top5_error,
	paper, round(final_test_error - paper, 4) AS delta,
	wall_seconds, code_version, host, started, finished
FROM f;
`,
	// Version 3 (issue 19): one trainer per run, and what trained each
	// stretch of it. A lease names the process that trains a run (taken in
	// a write transaction; a live holder's heartbeat keeps it). A segment is
	// one process's stretch of a run, from a start or resume to a stop or
	// finish, with the engine settings that decide its bits (backend,
	// threads) and the CPU; exact = 0 marks a segment resumed under other
	// settings than the one before it (no longer bit-exact).
	`
CREATE TABLE leases (
	run_id    TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
	holder    TEXT NOT NULL,                   -- host:pid:start of the holding process
	host      TEXT NOT NULL,
	pid       INTEGER NOT NULL,
	started   TEXT NOT NULL,
	heartbeat TEXT NOT NULL                    -- renewed while it trains
) WITHOUT ROWID;

CREATE TABLE segments (
	run_id         TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	started        TEXT NOT NULL,
	from_iteration INTEGER NOT NULL,
	to_iteration   INTEGER,                    -- NULL while it trains (or if it was killed)
	ended          TEXT,
	host           TEXT NOT NULL DEFAULT '',
	pid            INTEGER NOT NULL DEFAULT 0,
	code_version   TEXT NOT NULL DEFAULT '',
	backend        TEXT NOT NULL DEFAULT '',
	threads        INTEGER NOT NULL DEFAULT 0,
	precision      TEXT NOT NULL DEFAULT 'fp32',
	cpu            TEXT NOT NULL DEFAULT '',   -- CPU model and the vector extensions the kernels use
	exact          INTEGER NOT NULL DEFAULT 1,  -- 0: resumed under other settings than the segment before
	PRIMARY KEY (run_id, started)
) WITHOUT ROWID;
`,
	// Version 4 (issue 16): Table 5. predictions keeps a trained run's
	// class probabilities on its evaluation set (ImageNet-family nets and
	// their CIFAR-10 proxies), so an ensemble is evaluated from its
	// members' rows without their weights; ensembles holds each evaluated
	// ensemble's numbers; claims holds the verdicts `repro report` reached.
	`
CREATE TABLE predictions (
	run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	split     TEXT NOT NULL,                   -- test (CIFAR-10) | val (ImageNet)
	view      TEXT NOT NULL,                   -- single | center | 10-crop | multi-scale
	iteration INTEGER NOT NULL,                -- of the weights that predicted
	images    INTEGER NOT NULL,
	classes   INTEGER NOT NULL,
	labels    BLOB NOT NULL,                   -- deflated little-endian int32, one per image
	probs     BLOB NOT NULL,                   -- deflated little-endian IEEE half floats, images x classes
	PRIMARY KEY (run_id, split)
) WITHOUT ROWID;

CREATE TABLE ensembles (
	spec     TEXT NOT NULL,                    -- spec id, e.g. table5
	ensemble TEXT NOT NULL,                    -- its name in the spec
	scale    TEXT NOT NULL,
	split    TEXT NOT NULL,
	name     TEXT NOT NULL,                    -- error | top5 | loss
	value    REAL,                             -- NULL stands for NaN
	view     TEXT NOT NULL DEFAULT '',         -- the members' view
	images   INTEGER NOT NULL,
	members  TEXT NOT NULL,                    -- run ids, comma-separated
	at       TEXT NOT NULL,
	PRIMARY KEY (spec, ensemble, scale, name)
) WITHOUT ROWID;

CREATE TABLE claims (
	spec          TEXT NOT NULL,
	claim         TEXT NOT NULL,               -- the claim's id in the spec
	scale         TEXT NOT NULL,               -- the scale its numbers come from
	verdict       TEXT NOT NULL,               -- held | not_held | within_noise | not_measurable
	kind          TEXT NOT NULL,               -- less | ordered | ... (experiments.Claim)
	metric        TEXT NOT NULL,               -- test_error, top1_error, ...
	margin        REAL,                        -- the noise margin used (error points), NULL if none
	margin_source TEXT NOT NULL DEFAULT '',    -- where the margin comes from
	numbers       TEXT NOT NULL DEFAULT '',    -- the comparison as the report prints it
	paper         TEXT NOT NULL DEFAULT '',    -- the paper's sentence
	source        TEXT NOT NULL DEFAULT '',    -- where the paper says it, e.g. "Sec 4.2, Fig. 6"
	PRIMARY KEY (spec, claim)
) WITHOUT ROWID;
`,
}

// SchemaVersion is the schema version this package writes.
func SchemaVersion() int { return len(migrations) }

// FileSchemaVersion is the schema version of the database file at path,
// read without changing it (0 for a file this package never migrated).
func FileSchemaVersion(path string) (int, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, fmt.Errorf("results database %s: %w", path, err)
	}
	pool, err := openReadOnlyPool(abs, false)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	v, err := schemaVersion(context.Background(), pool)
	if err != nil {
		return 0, fmt.Errorf("results database %s: %w", abs, describeOpenErr(err))
	}
	return v, nil
}

// migrate applies the missing migrations, each in its own transaction. The
// version is read inside the transaction, so two processes opening a new file
// at once apply each migration once.
func (db *DB) migrate(ctx context.Context) error {
	for {
		done, err := db.migrateOne(ctx)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next migration, or reports done when there is none.
func (db *DB) migrateOne(ctx context.Context) (done bool, err error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER PRIMARY KEY,
		applied TEXT NOT NULL)`); err != nil {
		return false, err
	}
	v, err := schemaVersion(ctx, tx)
	if err != nil {
		return false, err
	}
	if err := checkVersion(v); err != nil {
		return false, err
	}
	if v == len(migrations) {
		return true, tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return false, fmt.Errorf("schema migration to version %d: %w", v+1, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied) VALUES (?, ?)`, v+1, db.stamp()); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

// schemaVersion is the highest applied migration (0 for a file without the
// schema_version table).
func schemaVersion(ctx context.Context, q queryer) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`).Scan(&n); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

// checkVersion refuses a schema newer than this package knows.
func checkVersion(v int) error {
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program knows (%d); use a newer repro", v, len(migrations))
	}
	return nil
}
