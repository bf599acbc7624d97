package results

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// ErrWriteRefused is wrapped by the error for a query that would write
// (change data or schema, attach a file, set a pragma, open a transaction).
var ErrWriteRefused = errors.New("refused: queries are read-only")

// ErrBadQuery is wrapped by the error for a query SQLite cannot run as
// written (empty, a syntax error, an unknown table or column).
var ErrBadQuery = errors.New("invalid query")

// Table is the answer to a query: column names and rows. A value is nil
// (NULL), int64, float64 or string (a BLOB that is not UTF-8 text is shown
// as x'hex').
type Table struct {
	Columns []string
	Rows    [][]any
}

// Query runs one read-only SQL query (with optional arguments for its ?
// placeholders) on the database, over a separate read-only connection; a
// query that writes is refused with an error wrapping ErrWriteRefused.
func (db *DB) Query(query string, args ...any) (*Table, error) {
	pool := db.sql
	if !db.readOnly {
		db.roOnce.Do(func() { db.ro, db.roErr = openReadOnlyPool(db.path, true) })
		if db.roErr != nil {
			return nil, db.roErr
		}
		pool = db.ro
	}
	return readOnlyQuery(context.Background(), pool, db.path, query, args...)
}

// QueryReadOnly opens the SQLite file at path read-only and runs one query
// on it, as DB.Query does. The file must exist; it need not be a results
// database of this version (a shard, an old file).
func QueryReadOnly(path, query string, args ...any) (*Table, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("results database %s: %w", path, err)
	}
	pool, err := openReadOnlyPool(abs, true)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	return readOnlyQuery(context.Background(), pool, abs, query, args...)
}

// readOnlyQuery runs query on one connection of a read-only pool. Three
// guards stand between the query and the file: the connection was opened
// with mode=ro and query_only=1; an authorizer allows only reading (and
// records what it refused, for the message); and the first statement must
// be read-only by sqlite3_stmt_readonly.
func readOnlyQuery(ctx context.Context, pool *sql.DB, path, query string, args ...any) (*Table, error) {
	query, err := singleStatement(query)
	if err != nil {
		return nil, fmt.Errorf("query on %s: %w", path, err)
	}
	if strings.TrimSpace(query) == "" {
		return nil, fmt.Errorf("query on %s: %w: empty", path, ErrBadQuery)
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("query on %s: %w", path, err)
	}
	defer conn.Close()

	var refused []string
	setAuthorizer := func(a func(int, string, string, string) int) error {
		return conn.Raw(func(dc any) error {
			c, ok := dc.(*sqlite3.SQLiteConn)
			if !ok {
				return fmt.Errorf("unexpected driver connection %T", dc)
			}
			c.RegisterAuthorizer(a)
			return nil
		})
	}
	if err := setAuthorizer(readOnlyAuthorizer(func(what string) { refused = append(refused, what) })); err != nil {
		return nil, fmt.Errorf("query on %s: %w", path, err)
	}
	defer setAuthorizer(readOnlyAuthorizer(nil))

	fail := func(err error) (*Table, error) {
		return nil, fmt.Errorf("query on %s: %w", path, classifyQueryErr(err, refused))
	}
	// sqlite3_stmt_readonly on the first statement.
	err = conn.Raw(func(dc any) error {
		st, err := dc.(*sqlite3.SQLiteConn).Prepare(query)
		if err != nil {
			return err
		}
		defer st.Close()
		if ss, ok := st.(*sqlite3.SQLiteStmt); ok && !ss.Readonly() {
			return fmt.Errorf("%w: the statement writes", ErrWriteRefused)
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fail(err)
	}
	t := &Table{Columns: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return fail(err)
		}
		for i, v := range vals {
			vals[i] = normalizeValue(v)
		}
		t.Rows = append(t.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return t, nil
}

// classifyQueryErr turns SQLite's errors into ErrWriteRefused (with what the
// authorizer refused) or ErrBadQuery.
func classifyQueryErr(err error, refused []string) error {
	if errors.Is(err, ErrWriteRefused) {
		return err
	}
	if len(refused) > 0 {
		if len(refused) > 3 {
			refused = append(refused[:3:3], "...")
		}
		return fmt.Errorf("%w: %s", ErrWriteRefused, strings.Join(refused, ", "))
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrReadonly, sqlite3.ErrAuth:
			return fmt.Errorf("%w: %v", ErrWriteRefused, err)
		case sqlite3.ErrError, sqlite3.ErrRange:
			return fmt.Errorf("%w: %v", ErrBadQuery, err)
		}
	}
	if strings.Contains(err.Error(), "not enough args") {
		return fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	return err
}

// normalizeValue maps what the driver scans into the value types of Table.
func normalizeValue(v any) any {
	switch x := v.(type) {
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return fmt.Sprintf("x'%x'", x)
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	}
	return v
}

// The SQLite authorizer action code for a recursive CTE; go-sqlite3 leaves
// it out of its constants (sqlite3.h: #define SQLITE_RECURSIVE 33).
const sqliteRecursive = 33

// isInfoPragma reports whether a pragma only reports, whatever its argument
// (a table or index name, a row limit).
func isInfoPragma(name string) bool {
	switch name {
	case "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
		"foreign_key_list", "foreign_key_check", "database_list", "collation_list", "function_list",
		"module_list", "pragma_list", "compile_options", "integrity_check", "quick_check":
		return true
	}
	return false
}

// isValuePragma reports whether a pragma reports a setting when given no
// argument (and changes it when given one: only the first form is allowed).
func isValuePragma(name string) bool {
	switch name {
	case "schema_version", "user_version", "application_id", "page_count", "page_size",
		"freelist_count", "journal_mode", "foreign_keys", "encoding", "data_version", "query_only",
		"busy_timeout", "cache_size", "synchronous", "auto_vacuum", "max_page_count":
		return true
	}
	return false
}

// readOnlyAuthorizer returns an SQLite authorizer that allows reading only
// and calls refused (if non-nil) with a description of each action it
// denies.
func readOnlyAuthorizer(refused func(what string)) func(op int, arg1, arg2, arg3 string) int {
	return func(op int, arg1, arg2, _ string) int {
		switch op {
		case sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqliteRecursive:
			return sqlite3.SQLITE_OK
		case sqlite3.SQLITE_FUNCTION:
			if !strings.EqualFold(arg2, "load_extension") {
				return sqlite3.SQLITE_OK
			}
		case sqlite3.SQLITE_PRAGMA:
			name := strings.ToLower(arg1)
			if isInfoPragma(name) || (isValuePragma(name) && arg2 == "") {
				return sqlite3.SQLITE_OK
			}
		}
		if refused != nil {
			refused(describeAction(op, arg1, arg2))
		}
		return sqlite3.SQLITE_DENY
	}
}

// describeAction names an authorizer action for an error message.
func describeAction(op int, arg1, arg2 string) string {
	names := map[int]string{
		sqlite3.SQLITE_CREATE_INDEX: "CREATE INDEX", sqlite3.SQLITE_CREATE_TABLE: "CREATE TABLE",
		sqlite3.SQLITE_CREATE_TEMP_INDEX: "CREATE TEMP INDEX", sqlite3.SQLITE_CREATE_TEMP_TABLE: "CREATE TEMP TABLE",
		sqlite3.SQLITE_CREATE_TEMP_TRIGGER: "CREATE TEMP TRIGGER", sqlite3.SQLITE_CREATE_TEMP_VIEW: "CREATE TEMP VIEW",
		sqlite3.SQLITE_CREATE_TRIGGER: "CREATE TRIGGER", sqlite3.SQLITE_CREATE_VIEW: "CREATE VIEW",
		sqlite3.SQLITE_CREATE_VTABLE: "CREATE VIRTUAL TABLE", sqlite3.SQLITE_DELETE: "DELETE",
		sqlite3.SQLITE_DROP_INDEX: "DROP INDEX", sqlite3.SQLITE_DROP_TABLE: "DROP TABLE",
		sqlite3.SQLITE_DROP_TEMP_INDEX: "DROP TEMP INDEX", sqlite3.SQLITE_DROP_TEMP_TABLE: "DROP TEMP TABLE",
		sqlite3.SQLITE_DROP_TEMP_TRIGGER: "DROP TEMP TRIGGER", sqlite3.SQLITE_DROP_TEMP_VIEW: "DROP TEMP VIEW",
		sqlite3.SQLITE_DROP_TRIGGER: "DROP TRIGGER", sqlite3.SQLITE_DROP_VIEW: "DROP VIEW",
		sqlite3.SQLITE_DROP_VTABLE: "DROP VIRTUAL TABLE", sqlite3.SQLITE_INSERT: "INSERT",
		sqlite3.SQLITE_PRAGMA: "PRAGMA", sqlite3.SQLITE_TRANSACTION: "transaction",
		sqlite3.SQLITE_UPDATE: "UPDATE", sqlite3.SQLITE_ATTACH: "ATTACH", sqlite3.SQLITE_DETACH: "DETACH",
		sqlite3.SQLITE_ALTER_TABLE: "ALTER TABLE", sqlite3.SQLITE_REINDEX: "REINDEX",
		sqlite3.SQLITE_ANALYZE: "ANALYZE", sqlite3.SQLITE_FUNCTION: "function", sqlite3.SQLITE_SAVEPOINT: "SAVEPOINT",
	}
	name, ok := names[op]
	if !ok {
		name = fmt.Sprintf("action %d", op)
	}
	switch {
	case (op == sqlite3.SQLITE_INSERT || op == sqlite3.SQLITE_DELETE || op == sqlite3.SQLITE_UPDATE) && isSchemaTable(arg1):
		// SQLite authorizes CREATE and DROP as writes to the schema table first.
		return "a schema change (" + name + " " + arg1 + ": CREATE or DROP)"
	case op == sqlite3.SQLITE_PRAGMA && arg2 != "":
		return fmt.Sprintf("PRAGMA %s = %s", arg1, arg2)
	case op == sqlite3.SQLITE_TRANSACTION || op == sqlite3.SQLITE_SAVEPOINT:
		return strings.TrimSpace(name + " " + arg1)
	case op == sqlite3.SQLITE_FUNCTION:
		return name + " " + arg2
	case arg1 != "":
		return name + " " + arg1
	}
	return name
}

// isSchemaTable reports whether name is one of SQLite's schema tables.
func isSchemaTable(name string) bool {
	switch strings.ToLower(name) {
	case "sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema":
		return true
	}
	return false
}

// singleStatement returns the one SQL statement q holds, without a
// trailing semicolon or comments after it, or ErrBadQuery when q holds
// more than one statement (go-sqlite3 would run them all and show only
// the last one's rows; `SELECT 1; -- note` would show none). String
// literals ('...'), quoted names ("...", `...`, [...]) and comments
// (-- to the end of the line, /* ... */) are skipped when looking for ';'.
func singleStatement(q string) (string, error) {
	end := -1 // index of the first top-level ';'
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'' || c == '"' || c == '`' || c == '[':
			closer := c
			if c == '[' {
				closer = ']'
			}
			j := strings.IndexByte(q[i+1:], closer)
			if j < 0 {
				return q, nil // unterminated: SQLite reports it
			}
			i += j + 1
		case c == '-' && strings.HasPrefix(q[i:], "--"):
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				i = len(q)
			} else {
				i += j
			}
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				i = len(q)
			} else {
				i += j + 3
			}
		case c == ';' && end < 0:
			end = i
		case c == ';':
		case end >= 0 && c != ' ' && c != '\t' && c != '\n' && c != '\r':
			return "", fmt.Errorf("%w: it holds more than one statement (from %q on); give one per `repro query`", ErrBadQuery, strings.TrimSpace(q[end+1:]))
		}
	}
	if end < 0 {
		return q, nil
	}
	return q[:end], nil
}
