package results

import (
	"bytes"
	"compress/flate"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// Predictions are a trained run's class scores on its evaluation set: for
// each image, in the evaluation set's order, its label and the softmax
// probabilities of its view (the average over the view's crops or scales,
// Sec. 3.4). Ensembles (Table 5) average them over their members.
//
// They are stored as IEEE half floats (11 significant bits: a probability p
// is kept to within p * 2^-11), deflated, so a 10,000-image CIFAR-10 run
// costs about 200 KB before compression.
type Predictions struct {
	RunID     string
	Split     string // SplitTest (CIFAR-10) or SplitVal (ImageNet)
	View      string // "single" (CIFAR-10), "center", "10-crop" or "multi-scale"
	Iteration int64  // the iteration of the weights
	Classes   int
	Labels    []int32   // one per image
	Probs     []float32 // len(Labels) x Classes, row-major
}

// Images is the number of images predicted.
func (p *Predictions) Images() int { return len(p.Labels) }

// Add appends one image: its label and its probabilities (len Classes).
func (p *Predictions) Add(label int, probs []float64) {
	if len(probs) != p.Classes {
		panic(fmt.Sprintf("results: %d probabilities for %d classes", len(probs), p.Classes))
	}
	p.Labels = append(p.Labels, int32(label))
	for _, v := range probs {
		p.Probs = append(p.Probs, float32(v))
	}
}

// check reports an inconsistent Predictions (a programmer error).
func (p *Predictions) check() error {
	if p.Classes <= 0 || len(p.Probs) != len(p.Labels)*p.Classes {
		return fmt.Errorf("predictions of run %s: %d probabilities for %d images of %d classes", p.RunID, len(p.Probs), len(p.Labels), p.Classes)
	}
	for i, l := range p.Labels {
		if l < 0 || int(l) >= p.Classes {
			return fmt.Errorf("predictions of run %s: image %d has label %d, not in [0, %d)", p.RunID, i, l, p.Classes)
		}
	}
	return nil
}

// ReplacePredictions stores p as the predictions of its run on its split,
// replacing earlier ones (a resumed run redoes its final evaluation).
func (db *DB) ReplacePredictions(p *Predictions) error {
	if err := p.check(); err != nil {
		return err
	}
	labels, probs, err := encodePredictions(p)
	if err != nil {
		return err
	}
	ctx := context.Background()
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO predictions (run_id, split, view, iteration, images, classes, labels, probs)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (run_id, split) DO UPDATE SET view = excluded.view, iteration = excluded.iteration,
				images = excluded.images, classes = excluded.classes, labels = excluded.labels, probs = excluded.probs`,
			p.RunID, p.Split, p.View, p.Iteration, len(p.Labels), p.Classes, labels, probs)
		return describeWriteErr(p.RunID, err)
	})
	if err != nil {
		return fmt.Errorf("store predictions of run %s: %w", p.RunID, err)
	}
	return nil
}

// GetPredictions returns the predictions of run runID on split; ok is false
// when the run stored none (a run of CIFAR-10's own nets, or one trained
// before schema version 4).
func (db *DB) GetPredictions(runID, split string) (p *Predictions, ok bool, err error) {
	p, err = getPredictions(context.Background(), db.sql, runID, split)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("predictions of run %s (%s): %w", runID, split, err)
	}
	return p, true, nil
}

func getPredictions(ctx context.Context, q queryer, runID, split string) (*Predictions, error) {
	p := &Predictions{RunID: runID, Split: split}
	var images int
	var labels, probs []byte
	err := q.QueryRowContext(ctx, `SELECT view, iteration, images, classes, labels, probs FROM predictions WHERE run_id = ? AND split = ?`,
		runID, split).Scan(&p.View, &p.Iteration, &images, &p.Classes, &labels, &probs)
	if err != nil {
		return nil, err
	}
	if err := decodePredictions(p, images, labels, probs); err != nil {
		return nil, err
	}
	return p, nil
}

// allPredictions returns every split's predictions of run runID (merging).
func allPredictions(ctx context.Context, q queryer, runID string) ([]*Predictions, error) {
	rows, err := q.QueryContext(ctx, `SELECT split FROM predictions WHERE run_id = ? ORDER BY split`, runID)
	if err != nil {
		return nil, err
	}
	var splits []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		splits = append(splits, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*Predictions, len(splits))
	for i, s := range splits {
		if out[i], err = getPredictions(ctx, q, runID, s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func insertPredictions(ctx context.Context, tx *sql.Tx, p *Predictions) error {
	labels, probs, err := encodePredictions(p)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO predictions (run_id, split, view, iteration, images, classes, labels, probs)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.RunID, p.Split, p.View, p.Iteration, len(p.Labels), p.Classes, labels, probs)
	return err
}

// encodePredictions packs the labels as deflated little-endian int32 and the
// probabilities as deflated little-endian IEEE half floats.
func encodePredictions(p *Predictions) (labels, probs []byte, err error) {
	raw := make([]byte, 4*len(p.Labels))
	for i, l := range p.Labels {
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(l))
	}
	if labels, err = deflate(raw); err != nil {
		return nil, nil, err
	}
	raw = make([]byte, 2*len(p.Probs))
	for i, v := range p.Probs {
		binary.LittleEndian.PutUint16(raw[2*i:], Float16Bits(v))
	}
	if probs, err = deflate(raw); err != nil {
		return nil, nil, err
	}
	return labels, probs, nil
}

// decodePredictions is encodePredictions' inverse, checking every length
// against images and classes (a damaged row is an error, never a panic).
func decodePredictions(p *Predictions, images int, labels, probs []byte) error {
	if images < 0 || p.Classes <= 0 || int64(images)*int64(p.Classes) > 1<<34 {
		return fmt.Errorf("predictions row claims %d images of %d classes", images, p.Classes)
	}
	raw, err := inflate(labels, 4*int64(images))
	if err != nil {
		return fmt.Errorf("labels: %w", err)
	}
	p.Labels = make([]int32, images)
	for i := range p.Labels {
		p.Labels[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	n := images * p.Classes
	if raw, err = inflate(probs, 2*int64(n)); err != nil {
		return fmt.Errorf("probabilities: %w", err)
	}
	p.Probs = make([]float32, n)
	for i := range p.Probs {
		p.Probs[i] = Float16Value(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return p.check()
}

func deflate(raw []byte) ([]byte, error) {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(raw); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// inflate decompresses exactly want bytes and refuses more or fewer.
func inflate(packed []byte, want int64) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(packed))
	defer r.Close()
	raw, err := io.ReadAll(io.LimitReader(r, want+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) != want {
		return nil, fmt.Errorf("%d bytes where %d were expected", len(raw), want)
	}
	return raw, nil
}

// Float16Bits rounds v to the nearest IEEE 754 half float (ties to even) and
// returns its bits: 1 sign, 5 exponent (bias 15) and 10 fraction bits.
// Values beyond the largest half (65504) become infinities; those below
// 2^-24 in magnitude become zero through the subnormals.
func Float16Bits(v float32) uint16 {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	frac := b & 0x7fffff
	switch {
	case b&0x7fffffff > 0x7f800000: // NaN: keep it a (quiet) NaN
		return sign | 0x7e00
	case exp >= 0x1f: // too large, or infinite
		return sign | 0x7c00
	case exp <= 0: // a subnormal half, or zero
		if exp < -10 {
			return sign
		}
		m := frac | 0x800000 // the implicit leading bit
		shift := uint(14 - exp)
		half := m >> shift
		rest := m & (1<<shift - 1)
		if mid := uint32(1) << (shift - 1); rest > mid || (rest == mid && half&1 == 1) {
			half++ // may carry into the smallest normal, which is right
		}
		return sign | uint16(half)
	}
	half := uint32(exp)<<10 | frac>>13
	if rest := frac & 0x1fff; rest > 0x1000 || (rest == 0x1000 && half&1 == 1) {
		half++ // may carry into the exponent, up to infinity, which is right
	}
	return sign | uint16(half)
}

// Float16Value is the float32 of the IEEE half float with bits h.
func Float16Value(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0: // subnormal: frac x 2^-24
		v := float32(math.Ldexp(float64(frac), -24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// Scores are the errors of a set of predictions, in percent (top-1, top-5)
// and the mean cross-entropy loss.
type Scores struct {
	Images           int
	Loss, Top1, Top5 float64
}

// Score measures predictions: an image misses top-k when k or more classes
// score strictly higher than its label (ties count in its favour, as the
// runner's own evaluations do).
func Score(classes int, labels []int32, probs []float32) Scores {
	s := Scores{Images: len(labels)}
	var top1, top5 int
	for i, l := range labels {
		row := probs[i*classes : (i+1)*classes]
		own := row[l]
		above := 0
		for _, q := range row {
			if q > own {
				above++
			}
		}
		if above >= 1 {
			top1++
		}
		if above >= 5 {
			top5++
		}
		s.Loss -= math.Log(max(float64(own), 1e-45))
	}
	n := float64(max(1, len(labels)))
	s.Loss /= n
	s.Top1 = 100 * float64(top1) / n
	s.Top5 = 100 * float64(top5) / n
	return s
}

// Ensemble averages the members' probabilities image by image (Table 5:
// "we average the scores") and scores the average. The members must have
// predicted the same images with the same labels and classes.
func Ensemble(members []*Predictions) (Scores, error) {
	if len(members) < 2 {
		return Scores{}, fmt.Errorf("an ensemble needs at least two members' predictions, not %d", len(members))
	}
	first := members[0]
	sum := make([]float64, len(first.Probs))
	for _, m := range members {
		if m.Classes != first.Classes || m.Split != first.Split || !equalLabels(m.Labels, first.Labels) {
			return Scores{}, fmt.Errorf("run %s predicted %d %s images of %d classes, run %s %d %s images of %d classes (or other labels): they cannot be averaged",
				m.RunID, m.Images(), m.Split, m.Classes, first.RunID, first.Images(), first.Split, first.Classes)
		}
		for i, v := range m.Probs {
			sum[i] += float64(v)
		}
	}
	avg := make([]float32, len(sum))
	for i, v := range sum {
		avg[i] = float32(v / float64(len(members)))
	}
	return Score(first.Classes, first.Labels, avg), nil
}

func equalLabels(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// EnsembleResult is one evaluated ensemble of a spec at a scale.
type EnsembleResult struct {
	Spec, Ensemble, Scale string
	Split, View           string
	Members               []string // run ids, in the spec's order of members and seeds
	Scores
}

// ReplaceEnsemble records an ensemble's evaluation (its error, top5 and loss
// on its split), replacing an earlier one of the same spec, name and scale.
func (db *DB) ReplaceEnsemble(r EnsembleResult) error {
	ctx := context.Background()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		return insertEnsemble(ctx, tx, r, db.stamp())
	})
	if err != nil {
		return fmt.Errorf("record ensemble %s/%s: %w", r.Spec, r.Ensemble, err)
	}
	return nil
}

func insertEnsemble(ctx context.Context, tx *sql.Tx, r EnsembleResult, at string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM ensembles WHERE spec = ? AND ensemble = ? AND scale = ?`, r.Spec, r.Ensemble, r.Scale); err != nil {
		return err
	}
	for _, m := range []struct {
		name  string
		value float64
	}{{MetricError, r.Top1}, {MetricTop5, r.Top5}, {MetricLoss, r.Loss}} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ensembles (spec, ensemble, scale, split, name, value, view, images, members, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Spec, r.Ensemble, r.Scale, r.Split, m.name, nullable(m.value), r.View,
			r.Images, strings.Join(r.Members, ","), at); err != nil {
			return err
		}
	}
	return nil
}

// Ensembles returns the recorded ensembles of spec at scale (an empty spec
// or scale matches any), by spec, name and scale.
func (db *DB) Ensembles(spec, scale string) ([]EnsembleResult, error) {
	rows, err := db.sql.Query(`SELECT spec, ensemble, scale, split, view, images, members, name, value FROM ensembles
		WHERE (? = '' OR spec = ?) AND (? = '' OR scale = ?) ORDER BY spec, ensemble, scale, name`, spec, spec, scale, scale)
	if err != nil {
		return nil, fmt.Errorf("ensembles of %s: %w", spec, err)
	}
	defer rows.Close()
	var out []EnsembleResult
	for rows.Next() {
		var r EnsembleResult
		var members, name string
		var v sql.NullFloat64
		if err := rows.Scan(&r.Spec, &r.Ensemble, &r.Scale, &r.Split, &r.View, &r.Images, &members, &name, &v); err != nil {
			return nil, fmt.Errorf("ensembles of %s: %w", spec, err)
		}
		if n := len(out); n == 0 || out[n-1].Spec != r.Spec || out[n-1].Ensemble != r.Ensemble || out[n-1].Scale != r.Scale {
			r.Members = strings.Split(members, ",")
			out = append(out, r)
		}
		last := &out[len(out)-1]
		switch name {
		case MetricError:
			last.Top1 = denull(v)
		case MetricTop5:
			last.Top5 = denull(v)
		case MetricLoss:
			last.Loss = denull(v)
		}
	}
	return out, rows.Err()
}
