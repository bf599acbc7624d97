package results

import (
	"math"
	"strings"
	"testing"
)

// Half-float bits of IEEE 754-2008's binary16 (the values are the format's
// landmarks: one, the largest half, the subnormals' step 2^-24, and rounding
// ties to even).
func TestFloat16Bits(t *testing.T) {
	for _, c := range []struct {
		v    float32
		bits uint16
		back float32 // the half's value
	}{
		{1, 0x3c00, 1},
		{-2, 0xc000, -2},
		{0, 0x0000, 0},
		{0.1, 0x2e66, 0.0999755859375},        // nearest half below 0.1
		{65504, 0x7bff, 65504},                // the largest half
		{65520, 0x7c00, float32(math.Inf(1))}, // halfway above it rounds to infinity
		{0x1p-14, 0x0400, 0x1p-14},            // the smallest normal
		{0x1p-24, 0x0001, 0x1p-24},            // the smallest subnormal
		{0x1p-25, 0x0000, 0},                  // a tie between 0 and 2^-24: even (0)
		{0x3p-25, 0x0002, 0x1p-23},            // a tie between 2^-24 and 2^-23: even (2^-23)
		{1 + 0x1p-11, 0x3c00, 1},              // a tie at 1: even (1)
		{1 + 0x3p-11, 0x3c02, 1 + 0x1p-9},     // a tie: even (frac 2)
		{0x1.ffcp-15, 0x0400, 0x1p-14},        // subnormal rounding carries into the smallest normal
		{float32(math.Inf(-1)), 0xfc00, float32(math.Inf(-1))},
	} {
		if got := Float16Bits(c.v); got != c.bits {
			t.Errorf("Float16Bits(%g) = %#04x, want %#04x", c.v, got, c.bits)
		}
		if got := Float16Value(c.bits); got != c.back {
			t.Errorf("Float16Value(%#04x) = %g, want %g", c.bits, got, c.back)
		}
	}
	if v := Float16Value(Float16Bits(float32(math.NaN()))); !math.IsNaN(float64(v)) {
		t.Errorf("NaN came back as %g", v)
	}
	// Every probability keeps 11 significant bits: relative error <= 2^-11
	// for normal halves.
	for v := float32(0x1p-14); v <= 1; v *= 1.0137 {
		if back := Float16Value(Float16Bits(v)); math.Abs(float64(back-v)) > float64(v)*0x1p-11 {
			t.Fatalf("%g came back as %g", v, back)
		}
	}
}

// Predictions survive the database: labels exactly, probabilities to half
// precision; a second store replaces the first; damaged rows are errors.
func TestPredictionsRoundTrip(t *testing.T) {
	db, _ := openTest(t)
	if _, err := db.UpsertRun(Run{ID: "r", Spec: "table5", Name: "resnet-50", Scale: "quick", Seed: 1}); err != nil {
		t.Fatal(err)
	}
	p := &Predictions{RunID: "r", Split: SplitTest, View: "single", Iteration: 500, Classes: 3}
	p.Add(2, []float64{0.25, 0.25, 0.5})
	p.Add(0, []float64{0.7, 0.2, 0.1})
	if err := db.ReplacePredictions(p); err != nil {
		t.Fatal(err)
	}
	p.Iteration = 600
	if err := db.ReplacePredictions(p); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.GetPredictions("r", SplitTest)
	if err != nil || !ok {
		t.Fatalf("%v %v", ok, err)
	}
	if got.Iteration != 600 || got.View != "single" || got.Images() != 2 || got.Labels[0] != 2 || got.Labels[1] != 0 {
		t.Errorf("got %+v", got)
	}
	for i, want := range p.Probs {
		if math.Abs(float64(got.Probs[i]-want)) > float64(want)*0x1p-11 {
			t.Errorf("prob %d: %g, stored %g", i, got.Probs[i], want)
		}
	}
	if _, ok, err := db.GetPredictions("r", SplitVal); ok || err != nil {
		t.Errorf("val predictions: %v %v, want none", ok, err)
	}
	bad := &Predictions{RunID: "r", Split: SplitVal, Classes: 3, Labels: []int32{3}, Probs: []float32{1, 0, 0}}
	if err := db.ReplacePredictions(bad); err == nil || !strings.Contains(err.Error(), "label 3") {
		t.Errorf("label out of range: %v", err)
	}
	q := &Predictions{Classes: 3}
	labels, probs, err := encodePredictions(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name          string
		images        int
		labels, probs []byte
		want          string
	}{
		{"one image too many", 3, labels, probs, "where 12 were expected"},
		{"truncated probabilities", 2, labels, probs[:len(probs)/2], "probabilities"},
		{"not deflate", 2, []byte("garbage"), probs, "labels"},
		{"absurd size", 1 << 40, labels, probs, "claims"},
	} {
		if err := decodePredictions(q, c.images, c.labels, c.probs); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// Score counts strict superiority: a tie with the label is a hit, as the
// runner's evaluations count it; Ensemble averages before scoring.
func TestScoreAndEnsemble(t *testing.T) {
	// 6 classes, so that top-5 can miss: image 0's label is the least likely
	// (5 classes above it: a top-5 miss), image 1's ties the best (a hit).
	a := &Predictions{RunID: "a", Split: SplitTest, Classes: 6,
		Labels: []int32{0, 1},
		Probs: []float32{
			0.0, 0.2, 0.2, 0.2, 0.2, 0.2,
			0.4, 0.4, 0.1, 0.1, 0.0, 0.0}}
	s := Score(a.Classes, a.Labels, a.Probs)
	if s.Top1 != 50 || s.Top5 != 50 {
		t.Errorf("score %+v, want top-1 50%% and top-5 50%%", s)
	}
	// b is sure of both labels; averaged with a, image 0's label gets 0.5
	// against 0.1 for the rest: both hit.
	b := &Predictions{RunID: "b", Split: SplitTest, Classes: 6, Labels: []int32{0, 1},
		Probs: []float32{1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}}
	e, err := Ensemble([]*Predictions{a, b})
	if err != nil || e.Top1 != 0 || e.Top5 != 0 || e.Images != 2 {
		t.Errorf("ensemble %+v %v, want no errors on 2 images", e, err)
	}
	wantLoss := -(math.Log(0.5) + math.Log(0.7)) / 2
	if math.Abs(e.Loss-wantLoss) > 1e-7 {
		t.Errorf("ensemble loss %v, want %v", e.Loss, wantLoss)
	}
	c := &Predictions{RunID: "c", Split: SplitTest, Classes: 6, Labels: []int32{1, 1}, Probs: b.Probs}
	if _, err := Ensemble([]*Predictions{a, c}); err == nil || !strings.Contains(err.Error(), "cannot be averaged") {
		t.Errorf("members with other labels: %v", err)
	}
	if _, err := Ensemble([]*Predictions{a}); err == nil {
		t.Error("an ensemble of one was accepted")
	}
}

// Recorded ensembles come back with their three numbers and members, and a
// second evaluation replaces the first.
func TestEnsemblesRecord(t *testing.T) {
	db, _ := openTest(t)
	r := EnsembleResult{Spec: "table5", Ensemble: "resnet-ensemble", Scale: "quick", Split: SplitTest, View: "single",
		Members: []string{"a", "b"}, Scores: Scores{Images: 2, Loss: 0.5, Top1: 25, Top5: 5}}
	for _, top1 := range []float64{30, 25} {
		r.Top1 = top1
		if err := db.ReplaceEnsemble(r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Ensembles("table5", "quick")
	if err != nil || len(got) != 1 {
		t.Fatalf("%+v %v", got, err)
	}
	if g := got[0]; g.Top1 != 25 || g.Top5 != 5 || g.Loss != 0.5 || len(g.Members) != 2 || g.Members[1] != "b" || g.View != "single" || g.Images != 2 {
		t.Errorf("got %+v", g)
	}
	if got, err := db.Ensembles("table5", "paper"); err != nil || len(got) != 0 {
		t.Errorf("paper scale: %+v %v", got, err)
	}
}
