package results

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// RunSummary is a run with its headline numbers: the latest training loss
// and error, and the last and best test error. A nil metric was never logged.
type RunSummary struct {
	Run
	TrainLoss     *Metric // latest train/loss
	TrainError    *Metric // latest train/error
	TestErrorLast *Metric // latest test/error
	TestErrorBest *Metric // lowest test/error
}

// Summaries returns the runs f selects (as ListRuns) with their headline
// numbers.
func (db *DB) Summaries(f RunFilter) ([]RunSummary, error) {
	runs, err := db.ListRuns(f)
	if err != nil {
		return nil, err
	}
	out := make([]RunSummary, len(runs))
	for i, r := range runs {
		s := RunSummary{Run: r}
		for _, q := range []struct {
			dst         **Metric
			split, name string
			best        bool
		}{
			{&s.TrainLoss, SplitTrain, MetricLoss, false},
			{&s.TrainError, SplitTrain, MetricError, false},
			{&s.TestErrorLast, SplitTest, MetricError, false},
			{&s.TestErrorBest, SplitTest, MetricError, true},
		} {
			get := db.LatestMetric
			if q.best {
				get = db.BestMetric
			}
			m, ok, err := get(r.ID, q.split, q.name)
			if err != nil {
				return nil, err
			}
			if ok {
				*q.dst = &m
			}
		}
		out[i] = s
	}
	return out, nil
}

// SummaryTable lays summaries out as a Table for printing: one row per run
// with its id (first 12 characters), spec, name, scale, seed, status,
// progress, headline numbers, Slurm job id and error.
func SummaryTable(ss []RunSummary) *Table {
	t := &Table{Columns: []string{"id", "spec", "name", "scale", "seed", "status", "iter",
		"train_loss", "train_err", "test_err", "best_test_err", "job", "error"}}
	for _, s := range ss {
		id := s.ID
		if len(id) > 12 {
			id = id[:12]
		}
		iter := strconv.FormatInt(s.Iteration, 10)
		if s.Iterations > 0 {
			iter += "/" + strconv.FormatInt(s.Iterations, 10)
		}
		errText := s.Error
		if len(errText) > 60 {
			errText = errText[:57] + "..."
		}
		t.Rows = append(t.Rows, []any{id, s.Spec, s.Name, s.Scale, s.Seed, string(s.Status), iter,
			headline(s.TrainLoss), headline(s.TrainError), headline(s.TestErrorLast), headline(s.TestErrorBest),
			s.JobID, errText})
	}
	return t
}

// headline is a metric's value as table text: four significant digits, NaN
// shown as such, a missing metric as NULL.
func headline(m *Metric) any {
	if m == nil {
		return nil
	}
	v, _ := strconv.ParseFloat(strconv.FormatFloat(m.Value, 'g', 4, 64), 64) // NaN and ±Inf parse back
	return v
}

// summaryJSON is the JSON form of a RunSummary.
type summaryJSON struct {
	ID          string          `json:"id"`
	Spec        string          `json:"spec"`
	Name        string          `json:"name"`
	Scale       string          `json:"scale"`
	Seed        int64           `json:"seed"`
	Status      Status          `json:"status"`
	Created     string          `json:"created"`
	Started     string          `json:"started,omitempty"`
	Finished    string          `json:"finished,omitempty"`
	Updated     string          `json:"updated"`
	Host        string          `json:"host,omitempty"`
	CodeVersion string          `json:"code_version,omitempty"`
	Backend     string          `json:"backend,omitempty"`
	Error       string          `json:"error,omitempty"`
	JobID       string          `json:"job_id,omitempty"`
	Iteration   int64           `json:"iteration"`
	Iterations  int64           `json:"iterations,omitempty"`
	Config      json.RawMessage `json:"config"`
	Headline    struct {
		TrainLoss     *pointJSON `json:"train_loss"`
		TrainError    *pointJSON `json:"train_error"`
		TestErrorLast *pointJSON `json:"test_error_last"`
		TestErrorBest *pointJSON `json:"test_error_best"`
	} `json:"headline"`
}

// pointJSON is a metric value at an iteration; Value is null for NaN.
type pointJSON struct {
	Iteration int64    `json:"iteration"`
	Value     *float64 `json:"value"`
}

func point(m *Metric) *pointJSON {
	if m == nil {
		return nil
	}
	p := &pointJSON{Iteration: m.Iteration}
	if !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) {
		v := m.Value
		p.Value = &v
	}
	return p
}

func jsonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

// WriteSummariesJSON writes ss as a JSON array (one object per run with its
// configuration and headline numbers; a NaN or infinite value is null).
func WriteSummariesJSON(w io.Writer, ss []RunSummary) error {
	out := make([]summaryJSON, len(ss))
	for i, s := range ss {
		j := summaryJSON{ID: s.ID, Spec: s.Spec, Name: s.Name, Scale: s.Scale, Seed: s.Seed, Status: s.Status,
			Created: jsonTime(s.Created), Started: jsonTime(s.Started), Finished: jsonTime(s.Finished),
			Updated: jsonTime(s.Updated), Host: s.Host, CodeVersion: s.CodeVersion, Backend: s.Backend,
			Error: s.Error, JobID: s.JobID, Iteration: s.Iteration, Iterations: s.Iterations}
		if json.Valid([]byte(s.ConfigJSON)) {
			j.Config = json.RawMessage(s.ConfigJSON)
		} else {
			q, err := json.Marshal(s.ConfigJSON)
			if err != nil {
				return err
			}
			j.Config = q
		}
		j.Headline.TrainLoss = point(s.TrainLoss)
		j.Headline.TrainError = point(s.TrainError)
		j.Headline.TestErrorLast = point(s.TestErrorLast)
		j.Headline.TestErrorBest = point(s.TestErrorBest)
		out[i] = j
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write runs as JSON: %w", err)
	}
	return nil
}
