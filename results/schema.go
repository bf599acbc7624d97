package results

import (
	"context"
	"database/sql"
	"fmt"
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
}

// SchemaVersion is the schema version this package writes.
func SchemaVersion() int { return len(migrations) }

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
