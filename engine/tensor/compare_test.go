package tensor

import (
	"math"
	"testing"
)

func TestMaxRelDiff(t *testing.T) {
	nan := float32(math.NaN())
	for _, c := range []struct {
		name      string
		got, want []float32
		rel       float64
	}{
		{"equal", []float32{1, -2, 3}, []float32{1, -2, 3}, 0},
		{"largest difference over largest reference", []float32{1.5, -2, 4}, []float32{1, -2, 3}, 1.0 / 3}, // max diff 1 (at 3), scale 3
		{"near-zero entry does not dominate", []float32{1e-3, 10}, []float32{0, 10}, 1e-4},                 // diff 1e-3 over scale 10
		{"zero reference: absolute", []float32{0.5, 0}, []float32{0, 0}, 0.5},
		{"NaN", []float32{nan}, []float32{1}, math.Inf(1)},
		{"length mismatch", []float32{1}, []float32{1, 2}, math.Inf(1)},
	} {
		if got := MaxRelDiff(c.got, c.want); math.Abs(got-c.rel) > 1e-9 && !(math.IsInf(got, 1) && math.IsInf(c.rel, 1)) {
			t.Errorf("%s: %v, want %v", c.name, got, c.rel)
		}
	}
	// Mixed precisions: a float32 result against a float64 oracle.
	if got := MaxRelDiff([]float32{1}, []float64{1 + 1e-8}); got > 2e-8 {
		t.Errorf("float32 1 against float64 1+1e-8: %v", got)
	}
}
