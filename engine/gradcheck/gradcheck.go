// Package gradcheck compares analytic gradients with float64 central
// differences, dL/dx_i ~ (L(x + h e_i) - L(x - h e_i)) / 2h, whose error is
// O(h^2) from truncation plus O(eps/h) from rounding; h = 1e-6 in float64
// keeps both near 1e-9 relative for the smooth parts of our networks.
package gradcheck

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// DefaultStep is the central-difference step for float64 checks.
const DefaultStep = 1e-6

// Result summarizes one tensor's comparison.
type Result struct {
	Name    string
	Checked int     // elements compared
	MaxAbs  float64 // max |analytic - numeric|
	Scale   float64 // max |numeric| over the checked elements
	Worst   int     // index of the worst element
}

// RelErr is MaxAbs / max(Scale, 1e-12): the error relative to the
// tensor's gradient magnitude.
func (r Result) RelErr() float64 { return r.MaxAbs / math.Max(r.Scale, 1e-12) }

func (r Result) String() string {
	return fmt.Sprintf("%s: %d checked, max abs err %.3g, scale %.3g, rel %.3g (worst at %d)", r.Name, r.Checked, r.MaxAbs, r.Scale, r.RelErr(), r.Worst)
}

// Check perturbs x[i] for up to maxElems indices (all when maxElems <= 0 or
// len(x) <= maxElems, else a seeded random sample), evaluates loss() on both
// sides, restores x[i], and compares with analytic[i].
func Check(name string, x, analytic []float64, loss func() float64, h float64, maxElems int, seed uint64) Result {
	if len(x) != len(analytic) {
		panic(fmt.Sprintf("gradcheck: %s: %d values, %d gradients", name, len(x), len(analytic)))
	}
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	if maxElems > 0 && len(x) > maxElems {
		rng := rand.New(rand.NewPCG(seed, 17))
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:maxElems]
	}
	res := Result{Name: name, Checked: len(idx)}
	for _, i := range idx {
		orig := x[i]
		x[i] = orig + h
		up := loss()
		x[i] = orig - h
		down := loss()
		x[i] = orig
		num := (up - down) / (2 * h)
		if d := math.Abs(num - analytic[i]); d > res.MaxAbs {
			res.MaxAbs, res.Worst = d, i
		}
		res.Scale = math.Max(res.Scale, math.Abs(num))
	}
	return res
}
