package results

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// ScalePath is where the results database of one scale lives unless --db
// says otherwise: results/SCALE.db (results/quick.db, results/medium.db, ...),
// one database per scale, so that each scale's finished runs can be committed
// and found again on a fresh clone.
func ScalePath(scale string) string { return filepath.Join("results", scale+".db") }

// busyTimeout is how long a connection waits for another writer (another
// process logging metrics, a merge) before giving up. Writes here are small
// transactions (one batch of metrics), so waiting this long means something
// is stuck, not busy.
const busyTimeout = 30 * time.Second

// timeLayout is the stored form of every time: UTC, nanoseconds, fixed width,
// so that text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// ErrNotFound is wrapped by errors about a run (or other record) that is not
// in the database.
var ErrNotFound = errors.New("not found")

// ErrNotDatabase marks a results file that is not an SQLite database
// (the user's input: `repro` exits with status 2 for it).
var ErrNotDatabase = errors.New("not an SQLite database")

// DB is a results database. It is safe for concurrent use by several
// goroutines; several processes may open the same file.
type DB struct {
	path     string // absolute path of the file
	sql      *sql.DB
	readOnly bool

	// now is the clock for timestamps; tests may replace it.
	now func() time.Time

	roOnce sync.Once
	ro     *sql.DB // lazily opened read-only pool for Query
	roErr  error
}

// Open opens the results database at path read-write, creating the file and
// its parent directories if needed, and migrates its schema to the newest
// version this package knows. An unwritable location (a read-only file or
// directory, a parent that is not a directory) is an error naming the path.
func Open(path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("results database %s: %w", path, err)
	}
	if err := checkWritable(abs); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(busyTimeout)
	for pause := time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
		db, err := openMigrated(abs)
		if err == nil {
			return db, nil
		}
		if !isBusy(err) || time.Now().After(deadline) {
			return nil, fmt.Errorf("open results database %s: %w", abs, describeOpenErr(err))
		}
		time.Sleep(pause)
	}
}

// openMigrated opens a read-write pool on abs and migrates its schema. When
// several processes create or convert the same file at once, SQLite may
// answer SQLITE_BUSY without waiting (two connections that both hold a
// shared lock and both want to write, one of them switching the file to
// WAL: waiting could deadlock, so SQLite refuses one at once); Open then
// retries the whole open.
func openMigrated(abs string) (*DB, error) {
	pool, err := sql.Open("sqlite3", fileDSN(abs, url.Values{
		"_journal_mode": {"WAL"},
		"_busy_timeout": {fmt.Sprint(busyTimeout.Milliseconds())},
		"_foreign_keys": {"1"},
		"_synchronous":  {"NORMAL"},
		"_txlock":       {"immediate"},
	}))
	if err != nil {
		return nil, err
	}
	db := &DB{path: abs, sql: pool, now: time.Now}
	if err := db.migrate(context.Background()); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// isBusy reports whether err is SQLite's "database is locked" (SQLITE_BUSY)
// or "database table is locked" (SQLITE_LOCKED).
func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// OpenReadOnly opens an existing results database for reading only: nothing
// is created or migrated, and every write method fails. Its schema must be
// the version this package knows.
func OpenReadOnly(path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("results database %s: %w", path, err)
	}
	pool, err := openReadOnlyPool(abs, true)
	if err != nil {
		return nil, err
	}
	v, err := schemaVersion(context.Background(), pool)
	if err == nil {
		err = checkVersion(v)
		if err == nil && v < len(migrations) {
			err = fmt.Errorf("schema version %d is older than this program's (%d); upgrade it in place with `repro upgrade --db %s` (nothing is lost)", v, len(migrations), path)
		}
	}
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open results database %s: %w", abs, describeOpenErr(err))
	}
	return &DB{path: abs, sql: pool, readOnly: true, now: time.Now}, nil
}

// Path is the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// Close closes the database's connections.
func (db *DB) Close() error {
	err := db.sql.Close()
	if db.ro != nil {
		if e := db.ro.Close(); err == nil {
			err = e
		}
	}
	return err
}

// IntegrityCheck runs PRAGMA integrity_check and returns nil if SQLite
// answers "ok", or an error listing the problems it found.
func (db *DB) IntegrityCheck() error {
	if err := integrityCheck(context.Background(), db.sql); err != nil {
		return fmt.Errorf("results database %s: %w", db.path, err)
	}
	return nil
}

func integrityCheck(ctx context.Context, q queryer) error {
	rows, err := q.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check failed: %s", strings.Join(problems, "; "))
	}
	return nil
}

// queryer is what both a pool and a transaction offer for reading.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// execer is what both a pool and a transaction offer for writing.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// fileDSN builds a go-sqlite3 URI for the absolute path abs with the given
// parameters. Characters that mean something in a URI are escaped, so any
// path works.
func fileDSN(abs string, params url.Values) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	// url.URL escapes '?' and '#' in Path via EscapedPath, and spaces as %20,
	// which SQLite's URI parser decodes.
	return "file:" + u.EscapedPath() + "?" + params.Encode()
}

// openReadOnlyPool opens an existing file with mode=ro and query_only, and
// (if guard) installs the read-only authorizer on every connection. Only this
// package's own SQL runs on an unguarded pool (it may open transactions, for
// a consistent snapshot).
func openReadOnlyPool(abs string, guard bool) (*sql.DB, error) {
	st, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("results database %s: %w", abs, os.ErrNotExist)
		}
		return nil, fmt.Errorf("results database %s: %w", abs, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("results database %s: is a directory", abs)
	}
	drv := &sqlite3.SQLiteDriver{}
	if guard {
		drv.ConnectHook = func(c *sqlite3.SQLiteConn) error {
			c.RegisterAuthorizer(readOnlyAuthorizer(nil))
			return registerQueryFunctions(c)
		}
	}
	params := url.Values{
		"mode":          {"ro"},
		"_query_only":   {"1"},
		"_busy_timeout": {fmt.Sprint(busyTimeout.Milliseconds())},
	}
	pool := sql.OpenDB(connector{drv: drv, dsn: fileDSN(abs, params)})
	err = pool.Ping()
	var se sqlite3.Error
	if err != nil && errors.As(err, &se) && (se.Code == sqlite3.ErrReadonly || se.Code == sqlite3.ErrCantOpen) && !fileExists(abs+"-wal") {
		// A WAL database needs its -shm file to be read, and SQLite cannot
		// create it in a directory we may not write to. With no -wal file
		// there is no writer and nothing outside the main file, so open it as
		// immutable (no locking, no -shm).
		pool.Close()
		params.Set("immutable", "1")
		pool = sql.OpenDB(connector{drv: drv, dsn: fileDSN(abs, params)})
		err = pool.Ping()
	}
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open results database %s read-only: %w", abs, describeOpenErr(err))
	}
	return pool, nil
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// connector lets a pool use a driver value with its own connect hook without
// registering a driver name globally.
type connector struct {
	drv *sqlite3.SQLiteDriver
	dsn string
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// checkWritable reports, naming the path, why a database at abs could not be
// written: a parent that cannot be created, a read-only directory (SQLite
// creates the -wal and -shm files beside the database), a read-only file, or
// a directory where the file should be.
func checkWritable(abs string) error {
	dir := filepath.Dir(abs)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results database %s: cannot create its directory: %w", abs, err)
	}
	if st, err := os.Stat(abs); err == nil {
		if st.IsDir() {
			return fmt.Errorf("results database %s: is a directory", abs)
		}
		if err := syscall.Access(abs, accessW); err != nil {
			return fmt.Errorf("results database %s: file is not writable: %w", abs, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("results database %s: %w", abs, err)
	}
	if err := syscall.Access(dir, accessW|accessX); err != nil {
		return fmt.Errorf("results database %s: directory %s is not writable: %w", abs, dir, err)
	}
	return nil
}

// Access mode bits (access(2)); the syscall package has no names for them.
const (
	accessX = 0x1
	accessW = 0x2
)

// describeOpenErr adds a hint to SQLite's terse errors about files.
func describeOpenErr(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrReadonly:
			return fmt.Errorf("database is read-only: %w", err)
		case sqlite3.ErrNotADB:
			return fmt.Errorf("%w: %w", ErrNotDatabase, err)
		case sqlite3.ErrCantOpen:
			return fmt.Errorf("cannot open the file: %w", err)
		}
	}
	return err
}

// formatTime is the stored form of t; the zero time is NULL.
func formatTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

// parseTime reads a stored time; NULL is the zero time.
func parseTime(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s.String, err)
	}
	return t.UTC(), nil
}

// stamp is the current time in stored form.
func (db *DB) stamp() string { return db.now().UTC().Format(timeLayout) }

// writable returns an error if db was opened read-only.
func (db *DB) writable() error {
	if db.readOnly {
		return fmt.Errorf("results database %s: opened read-only", db.path)
	}
	return nil
}

// inTx runs fn in one transaction (BEGIN IMMEDIATE), committing if it
// returns nil and rolling back otherwise.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := db.writable(); err != nil {
		return err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
