// Package results is the SQLite store of every number the reproduction
// produces: one row per training run (identified by a hash of its fully
// resolved configuration, computed by the runner), the run's metrics, its
// events (resume, learning-rate change, divergence, requeue), its
// checkpoints, and, for Fig. 7 of He et al. 2016 (Sec. 4.2, "Analysis of
// Layer Responses"), the standard deviation of each 3x3 layer's response.
//
// The package knows nothing of the engine, the models or the specs: it
// imports the standard library and github.com/mattn/go-sqlite3 only.
//
// # Files and connections
//
// [Open] opens (creating it and its parent directories if needed) a database
// file in WAL mode with a busy timeout, foreign keys on, and every explicit
// transaction started with BEGIN IMMEDIATE, so that two processes writing one
// file wait for each other instead of failing or losing rows. The schema is
// versioned: the schema_version table holds one row per applied migration and
// each migration runs in its own transaction; a file written by a newer
// program (a higher version than this package knows) is refused.
// [OpenReadOnly] opens an existing file for reading only (reports).
//
// # Conventions
//
//   - Times are stored as UTC text with nanoseconds and a fixed width
//     ("2006-01-02T15:04:05.000000000Z"), so they sort as strings; an unset
//     time (a run not yet started) is NULL and reads back as the zero time.
//   - SQLite has no NaN: a metric value that is NaN (a diverged loss) is
//     stored as NULL and reads back as NaN. Infinities are stored as such.
//   - Metrics are keyed by (run, split, name, iteration): logging the same
//     iteration twice (a resumed run re-logging it) replaces the row instead
//     of duplicating it. The splits and names the runner should use, and that
//     [DB.Summaries] reads for the headline numbers, are the Split* and
//     Metric* constants; error rates are percentages, as in the paper.
//   - Events have no natural key; an identical event (same run, iteration,
//     kind, detail and time) is stored once, which makes merging idempotent.
//
// # Read-only SQL
//
// [DB.Query] and [QueryReadOnly] run user SQL on a separate connection opened
// with mode=ro and PRAGMA query_only=1, under an authorizer that allows only
// reading (SELECT, reads of tables, functions, recursive CTEs and a list of
// informational pragmas). Anything else (INSERT, UPDATE, DELETE, CREATE, DROP,
// ALTER, ATTACH, DETACH, transactions, pragmas that set a value) is refused
// with an error wrapping [ErrWriteRefused]. ATTACH is refused even for reading:
// query another file (a shard) by naming it as the database instead.
//
// # Shards
//
// A shard is an ordinary results database written by one run (one Slurm
// array task, issue 7). [MergeShard] folds a shard into the main database;
// see its documentation for the rules that make it idempotent and keep a
// half-written shard from being imported as done.
package results
