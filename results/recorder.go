package results

import "time"

// Recorder writes what one run's training produces: its start, its
// segments, the metrics of each evaluation boundary, events, checkpoints,
// progress, and the final predictions and layer responses. The training
// loop talks to it in its own terms (an iteration and its values) and never
// assembles rows; every method is one transaction of the database.
type Recorder struct {
	db    *DB
	runID string
}

// Recorder returns the recorder of run runID, which must be in db.
func (db *DB) Recorder(runID string) *Recorder { return &Recorder{db: db, runID: runID} }

// Value is one measured quantity of an evaluation boundary.
type Value struct {
	Split string // SplitTrain, SplitVal, SplitTest
	Name  string // MetricLoss, MetricError, ...
	Value float64
}

// Started marks the run running on info's host and code version.
func (r *Recorder) Started(info StartInfo) error { return r.db.MarkStarted(r.runID, info) }

// StartSegment records the start of a stretch of training of this run
// (s.RunID is set here) and returns it as stored.
func (r *Recorder) StartSegment(s Segment) (Segment, error) {
	s.RunID = r.runID
	return r.db.StartSegment(s)
}

// EndSegment closes the segment begun at started at iteration to.
func (r *Recorder) EndSegment(started time.Time, to int) error {
	return r.db.EndSegment(r.runID, started, int64(to))
}

// Event records an event of kind at iteration it.
func (r *Recorder) Event(it int, kind, detail string) error {
	return r.db.AddEvent(Event{RunID: r.runID, Iteration: int64(it), Kind: kind, Detail: detail})
}

// Values records the values measured at iteration it, epoch epochs and
// wall seconds of training into the run.
func (r *Recorder) Values(it int, epoch, wall float64, vs []Value) error {
	ms := make([]Metric, len(vs))
	for i, v := range vs {
		ms[i] = Metric{RunID: r.runID, Iteration: int64(it), Epoch: epoch, Split: v.Split, Name: v.Name, Value: v.Value, WallSeconds: wall}
	}
	return r.db.AddMetrics(ms)
}

// Progress records that the run has completed it iterations.
func (r *Recorder) Progress(it int) error { return r.db.SetProgress(r.runID, int64(it)) }

// Checkpoint records a checkpoint file written at iteration it.
func (r *Recorder) Checkpoint(it int, path, sha256 string) error {
	return r.db.AddCheckpoint(Checkpoint{RunID: r.runID, Iteration: int64(it), Path: path, SHA256: sha256})
}

// Predictions stores p as this run's predictions at iteration it.
func (r *Recorder) Predictions(it int, p *Predictions) error {
	p.RunID, p.Iteration = r.runID, int64(it)
	return r.db.ReplacePredictions(p)
}

// Responses stores the run's layer responses (Fig. 7), replacing any.
func (r *Recorder) Responses(rs []Response) error { return r.db.ReplaceResponses(r.runID, rs) }
