package results

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Lease says which process trains a run. Holder identifies the process
// (host, pid and start time, so a recycled pid is another holder).
type Lease struct {
	RunID     string
	Holder    string
	Host      string
	PID       int
	Started   time.Time
	Heartbeat time.Time
}

// ErrLeaseLost is returned by RenewLease when another process has taken the
// run's lease over (it judged this one dead): the caller must stop training.
var ErrLeaseLost = errors.New("the run's lease was taken over by another process")

// AcquireLease takes the lease of run l.RunID for the process l describes,
// in one write transaction, so of two processes only one gets it. A lease
// already held by l.Holder is renewed. Another holder's lease is taken over
// when it is stale (no heartbeat for staleAfter) or, on the same host, when
// dead(pid) says its process is gone; otherwise ok is false and held is the
// live holder's lease.
func (db *DB) AcquireLease(l Lease, staleAfter time.Duration, dead func(pid int) bool) (ok bool, held Lease, err error) {
	ctx := context.Background()
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		ok, held = false, Lease{}
		cur, found, err := getLease(ctx, tx, l.RunID)
		if err != nil {
			return err
		}
		now := db.now()
		if found && cur.Holder != l.Holder {
			stale := now.Sub(cur.Heartbeat) > staleAfter
			gone := cur.Host == l.Host && dead != nil && dead(cur.PID)
			if !stale && !gone {
				held = cur
				return nil
			}
		}
		stamp := formatTime(now)
		if _, err := tx.ExecContext(ctx, `INSERT INTO leases (run_id, holder, host, pid, started, heartbeat) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (run_id) DO UPDATE SET holder = excluded.holder, host = excluded.host, pid = excluded.pid,
	started = excluded.started, heartbeat = excluded.heartbeat`,
			l.RunID, l.Holder, l.Host, l.PID, stamp, stamp); err != nil {
			return err
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, Lease{}, fmt.Errorf("lease of run %s: %w", l.RunID, err)
	}
	return ok, held, nil
}

// RenewLease records a heartbeat of holder on run runID; ErrLeaseLost if
// the lease is no longer holder's.
func (db *DB) RenewLease(runID, holder string) error {
	if err := db.writable(); err != nil {
		return err
	}
	res, err := db.sql.Exec(`UPDATE leases SET heartbeat = ? WHERE run_id = ? AND holder = ?`, db.stamp(), runID, holder)
	if err != nil {
		return fmt.Errorf("renew lease of run %s: %w", runID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("run %s: %w", runID, ErrLeaseLost)
	}
	return nil
}

// ReleaseLease gives up holder's lease on run runID (nothing if it is not
// holder's any more).
func (db *DB) ReleaseLease(runID, holder string) error {
	if err := db.writable(); err != nil {
		return err
	}
	if _, err := db.sql.Exec(`DELETE FROM leases WHERE run_id = ? AND holder = ?`, runID, holder); err != nil {
		return fmt.Errorf("release lease of run %s: %w", runID, err)
	}
	return nil
}

// GetLease returns the lease of run runID; ok is false if none is held.
func (db *DB) GetLease(runID string) (Lease, bool, error) {
	return getLease(context.Background(), db.sql, runID)
}

func getLease(ctx context.Context, q queryer, runID string) (Lease, bool, error) {
	var l Lease
	var started, heartbeat sql.NullString
	err := q.QueryRowContext(ctx, `SELECT run_id, holder, host, pid, started, heartbeat FROM leases WHERE run_id = ?`, runID).
		Scan(&l.RunID, &l.Holder, &l.Host, &l.PID, &started, &heartbeat)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, false, nil
	}
	if err != nil {
		return Lease{}, false, err
	}
	if l.Started, err = parseTime(started); err != nil {
		return Lease{}, false, err
	}
	if l.Heartbeat, err = parseTime(heartbeat); err != nil {
		return Lease{}, false, err
	}
	return l, true, nil
}

// Segment is one process's stretch of a run: from a start or resume at
// FromIteration to a stop or finish at ToIteration (-1 while it trains, or
// if the process was killed), with what decides its numbers' bits.
type Segment struct {
	RunID         string
	Started       time.Time
	FromIteration int64
	ToIteration   int64 // -1: not ended
	Ended         time.Time
	Host          string
	PID           int
	CodeVersion   string
	Backend       string
	Threads       int
	Precision     string
	CPU           string
	// Exact is false when this segment resumed the run under another
	// backend or thread count than the segment before it.
	Exact bool
}

// StartSegment records the start of a segment (its Started is now) and
// returns it as stored.
func (db *DB) StartSegment(s Segment) (Segment, error) {
	if err := db.writable(); err != nil {
		return Segment{}, err
	}
	s.Started = db.now().UTC()
	s.ToIteration = -1
	if s.Precision == "" {
		s.Precision = "fp32"
	}
	_, err := db.sql.Exec(`INSERT INTO segments (run_id, started, from_iteration, host, pid, code_version, backend, threads, precision, cpu, exact)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.RunID, formatTime(s.Started), s.FromIteration, s.Host, s.PID, s.CodeVersion,
		s.Backend, s.Threads, s.Precision, s.CPU, s.Exact)
	if err != nil {
		return Segment{}, fmt.Errorf("record segment of run %s: %w", s.RunID, err)
	}
	return s, nil
}

// EndSegment records where the segment started at started ended.
func (db *DB) EndSegment(runID string, started time.Time, toIteration int64) error {
	if err := db.writable(); err != nil {
		return err
	}
	if _, err := db.sql.Exec(`UPDATE segments SET to_iteration = ?, ended = ? WHERE run_id = ? AND started = ?`,
		toIteration, db.stamp(), runID, formatTime(started)); err != nil {
		return fmt.Errorf("end segment of run %s: %w", runID, err)
	}
	return nil
}

// Segments returns the segments of run runID in the order they started.
func (db *DB) Segments(runID string) ([]Segment, error) {
	return segments(context.Background(), db.sql, runID)
}

func segments(ctx context.Context, q queryer, runID string) ([]Segment, error) {
	rows, err := q.QueryContext(ctx, `SELECT run_id, started, from_iteration, COALESCE(to_iteration, -1), ended, host, pid,
	code_version, backend, threads, precision, cpu, exact FROM segments WHERE run_id = ? ORDER BY started`, runID)
	if err != nil {
		return nil, fmt.Errorf("segments of run %s: %w", runID, err)
	}
	defer rows.Close()
	var out []Segment
	for rows.Next() {
		var s Segment
		var started, ended sql.NullString
		if err := rows.Scan(&s.RunID, &started, &s.FromIteration, &s.ToIteration, &ended, &s.Host, &s.PID,
			&s.CodeVersion, &s.Backend, &s.Threads, &s.Precision, &s.CPU, &s.Exact); err != nil {
			return nil, err
		}
		if s.Started, err = parseTime(started); err != nil {
			return nil, err
		}
		if s.Ended, err = parseTime(ended); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func insertSegment(ctx context.Context, x execer, s Segment) error {
	var to, ended any
	if s.ToIteration >= 0 {
		to = s.ToIteration
	}
	ended = formatTime(s.Ended)
	_, err := x.ExecContext(ctx, `INSERT INTO segments (run_id, started, from_iteration, to_iteration, ended, host, pid,
	code_version, backend, threads, precision, cpu, exact) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (run_id, started) DO UPDATE SET to_iteration = excluded.to_iteration, ended = excluded.ended`,
		s.RunID, formatTime(s.Started), s.FromIteration, to, ended, s.Host, s.PID, s.CodeVersion, s.Backend, s.Threads,
		s.Precision, s.CPU, s.Exact)
	return err
}
