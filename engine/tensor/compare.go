package tensor

import "math"

// MaxRelDiff is the relative error tests compare implementations by:
// max_i |got_i - want_i| / max_i |want_i| (the largest difference against the
// largest reference value, so entries near zero do not blow it up), the
// absolute difference when want is all zeros, and +Inf for a NaN or a length
// mismatch.
func MaxRelDiff[A, B Float](got []A, want []B) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var diff, scale float64
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		diff = math.Max(diff, d)
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}
