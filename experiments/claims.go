package experiments

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Claim is one of the paper's qualitative statements in a checkable form.
//
// Kinds, with v(r) the value of Metric for run r and Runs = [r0, r1, ...],
// before the noise rule below:
//
//	less                 v(r0) < v(r1) - Margin         (2 runs)
//	greater              v(r0) > v(r1) + Margin         (2 runs)
//	ordered              v(r0) <= v(r1) <= ...          (>= 2 runs; "C <= B <= A")
//	monotone_decreasing  v(r0) > v(r1) > ...            (>= 2 runs, strict)
//	monotone_increasing  v(r0) < v(r1) < ...            (>= 2 runs, strict)
//	below                v(r0) < Value                  (1 run)
//	above                v(r0) > Value                  (1 run)
//
// Noise: every comparison of two numbers (a pair, each link of a chain, a
// value against its threshold) whose difference is smaller than the noise
// margin (Noise.Margin, a seed standard deviation of the metric) cannot be
// told apart from seed noise. A claim with such a comparison, and none that
// contradicts it by the margin or more, is WithinNoise rather than held or
// not held. With a zero margin the rules above apply exactly.
type Claim struct {
	// ID is unique within the spec ("table3-shortcut-options").
	ID string `yaml:"id" json:"id"`
	// Paper is the paper's wording (quoted where the text is quoted).
	Paper string `yaml:"paper" json:"paper"`
	// Where names the paper's section, table or figure.
	Where  string   `yaml:"where,omitempty" json:"where,omitempty"`
	Kind   string   `yaml:"kind" json:"kind"`
	Metric string   `yaml:"metric" json:"metric"`
	Runs   []string `yaml:"runs" json:"runs"`
	// Value is the threshold of above/below (same unit as Metric).
	Value *float64 `yaml:"value,omitempty" json:"value,omitempty"`
	// Margin is the least gap less/greater require (default 0: strict).
	Margin float64 `yaml:"margin,omitempty" json:"margin,omitempty"`
	// PaperGap is the gap the paper reports for less/greater ("by 3.5%");
	// it is shown in the verdict's detail, not tested.
	PaperGap float64 `yaml:"paper_gap,omitempty" json:"paper_gap,omitempty"`
	// Scales lists the scales at which the claim can be expected to be
	// measured meaningfully (e.g. "paper" for ResNet-1202's <0.1% training
	// error); empty means every scale.
	Scales []string `yaml:"scales,omitempty" json:"scales,omitempty"`
}

// Claim kinds.
const (
	ClaimLess               = "less"
	ClaimGreater            = "greater"
	ClaimOrdered            = "ordered"
	ClaimMonotoneDecreasing = "monotone_decreasing"
	ClaimMonotoneIncreasing = "monotone_increasing"
	ClaimBelow              = "below"
	ClaimAbove              = "above"
)

// claimArity gives the allowed number of runs per kind: exact for pairs
// and singles, a minimum (negative) for chains.
var claimArity = map[string]int{
	ClaimLess: 2, ClaimGreater: 2, ClaimBelow: 1, ClaimAbove: 1,
	ClaimOrdered: -2, ClaimMonotoneDecreasing: -2, ClaimMonotoneIncreasing: -2,
}

// Verdict statuses.
const (
	Held    = "held"
	NotHeld = "not_held"
	// WithinNoise: a comparison the claim rests on differs by less than
	// the noise margin, and none contradicts it beyond the margin.
	WithinNoise   = "within_noise"
	NotMeasurable = "not_measurable"
)

// Noise is the margin within which two measured values of one metric are
// not told apart, with its provenance: the seed standard deviation of the
// metric where seeds were measured, else a stated default.
type Noise struct {
	// Margin is in the metric's unit (error points for errors); >= 0.
	Margin float64 `json:"margin"`
	// Source says where Margin comes from, e.g. "seed std of resnet-110
	// (3 seeds) at medium scale, table6".
	Source string `json:"source"`
}

// Verdict is the outcome of evaluating a claim on measured values.
type Verdict struct {
	// Status is Held, NotHeld or NotMeasurable.
	Status string `json:"status"`
	// Detail gives the numbers that decided it, e.g.
	// "plain-56 test_error 12.3 > plain-20 test_error 9.1".
	Detail string `json:"detail"`
	// Values are the values used, in the order of the claim's runs (absent
	// ones left out).
	Values []Measured `json:"values,omitempty"`
	// Noise is the margin the verdict used.
	Noise Noise `json:"noise"`
}

// Measured is one value a verdict used.
type Measured struct {
	Run    string  `json:"run"`
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
}

// ValuesFunc returns the measured value of metric for run (a run or
// ensemble name of the spec) and whether it exists.
type ValuesFunc func(run, metric string) (float64, bool)

// AppliesAt reports whether the claim is meant to be checked at scale.
func (c Claim) AppliesAt(scale string) bool {
	return len(c.Scales) == 0 || slices.Contains(c.Scales, scale)
}

// EvaluateAt is Evaluate, except that a claim restricted to other scales is
// not measurable at this one (its detail says which scales it needs).
func EvaluateAt(c Claim, scale string, values ValuesFunc, noise Noise) Verdict {
	if !c.AppliesAt(scale) {
		return Verdict{Status: NotMeasurable, Noise: noise,
			Detail: fmt.Sprintf("checked only at %s scale (this is %s scale)", strings.Join(c.Scales, ", "), scale)}
	}
	return Evaluate(c, values, noise)
}

// Evaluate checks claim c against measured values with noise margin
// noise.Margin. A missing, NaN or infinite value makes the claim not
// measurable; otherwise it is held, not held or within noise according to
// its kind and the noise rule (see Claim). The detail lists every value
// with the relation that decided the verdict ("~" where two values are
// within the margin) and the margin used.
func Evaluate(c Claim, values ValuesFunc, noise Noise) Verdict {
	checkEvaluable(c, noise)
	v := Verdict{Noise: noise}
	var missing []string
	v.Values, missing = measure(c, values)
	if len(missing) > 0 {
		v.Status = NotMeasurable
		v.Detail = strings.Join(missing, "; ")
		return v
	}
	j := &judgement{c: c, vals: v.Values, margin: noise.Margin}
	var parts []string
	switch c.Kind {
	case ClaimLess, ClaimGreater:
		parts = append(parts, j.pair())
	case ClaimBelow, ClaimAbove:
		parts = append(parts, j.threshold())
	default:
		parts = append(parts, j.chain())
	}
	v.Status = j.status()
	if noise.Margin > 0 || noise.Source != "" {
		parts = append(parts, "noise margin "+num(noise.Margin)+" ("+noise.Source+")")
	}
	v.Detail = strings.Join(parts, "; ")
	return v
}

// checkEvaluable panics on what the loader refuses: a negative or NaN
// noise margin, an unknown claim kind, or a number of runs the kind does
// not take (claimArity).
func checkEvaluable(c Claim, noise Noise) {
	if noise.Margin < 0 || math.IsNaN(noise.Margin) {
		panic(fmt.Sprintf("experiments: noise margin %v for claim %q", noise.Margin, c.ID))
	}
	want, ok := claimArity[c.Kind]
	if !ok {
		panic(fmt.Sprintf("experiments: claim %q has unknown kind %q (the loader should have refused it)", c.ID, c.Kind))
	}
	if (want > 0 && len(c.Runs) != want) || (want < 0 && len(c.Runs) < -want) {
		panic(fmt.Sprintf("experiments: claim %q of kind %s has %d runs (the loader should have refused it)", c.ID, c.Kind, len(c.Runs)))
	}
}

// measure looks up the claim's metric for each of its runs: the finite
// values in run order, and a note for each value that is missing, NaN or
// infinite.
func measure(c Claim, values ValuesFunc) (vals []Measured, missing []string) {
	for _, r := range c.Runs {
		x, ok := values(r, c.Metric)
		switch {
		case !ok:
			missing = append(missing, r+" "+c.Metric+" not measured")
		case math.IsNaN(x) || math.IsInf(x, 0):
			missing = append(missing, r+" "+c.Metric+" is "+num(x))
		default:
			vals = append(vals, Measured{Run: r, Metric: c.Metric, Value: x})
		}
	}
	return vals, missing
}

// judgement applies a claim's comparisons to its measured values, one per
// claim run, under the noise rule: it records whether a comparison goes
// against the claim by the margin or more (contradicted) and whether one
// is within the margin (noisy).
type judgement struct {
	c                   Claim
	vals                []Measured
	margin              float64
	contradicted, noisy bool
}

// term is value i as a detail shows it: "plain-20 test_error 9.1".
func (j *judgement) term(i int) string {
	return j.vals[i].Run + " " + j.c.Metric + " " + num(j.vals[i].Value)
}

// relation is how a comparison of a with b reads: "~" when |a - b| is
// below the margin (noisy), negate(rel) when the claim's relation rel
// does not hold (contradicted), else rel.
func (j *judgement) relation(a, b float64, rel string, holds bool) string {
	switch {
	case math.Abs(a-b) < j.margin:
		j.noisy = true
		return "~"
	case !holds:
		j.contradicted = true
		return negate(rel)
	}
	return rel
}

// pair judges less (v0 < v1 - Margin) or greater (v0 > v1 + Margin); the
// detail adds the gap, the required margin and the paper's gap.
func (j *judgement) pair() string {
	a, b := j.vals[0].Value, j.vals[1].Value
	rel, held := "<", a < b-j.c.Margin
	if j.c.Kind == ClaimGreater {
		rel, held = ">", a > b+j.c.Margin
	}
	rel = j.relation(a, b, rel, held)
	extra := []string{"gap " + num(math.Abs(a-b))}
	if j.c.Margin != 0 {
		extra = append(extra, "required "+num(j.c.Margin))
	}
	if j.c.PaperGap != 0 {
		extra = append(extra, "paper "+num(j.c.PaperGap))
	}
	return j.term(0) + " " + rel + " " + j.term(1) + " (" + strings.Join(extra, "; ") + ")"
}

// threshold judges below (v0 < Value) or above (v0 > Value).
func (j *judgement) threshold() string {
	a, t := j.vals[0].Value, *j.c.Value
	rel, held := "<", a < t
	if j.c.Kind == ClaimAbove {
		rel, held = ">", a > t
	}
	return j.term(0) + " " + j.relation(a, t, rel, held) + " " + num(t)
}

// chain judges each link of ordered (<=), monotone_decreasing (>) or
// monotone_increasing (<) between consecutive values.
func (j *judgement) chain() string {
	s := j.term(0)
	for i := 1; i < len(j.vals); i++ {
		a, b := j.vals[i-1].Value, j.vals[i].Value
		var rel string
		var ok bool
		switch j.c.Kind {
		case ClaimOrdered:
			rel, ok = "<=", a <= b
		case ClaimMonotoneDecreasing:
			rel, ok = ">", a > b
		case ClaimMonotoneIncreasing:
			rel, ok = "<", a < b
		}
		s += " " + j.relation(a, b, rel, ok) + " " + j.term(i)
	}
	return s
}

// status is the verdict: not held when a comparison was contradicted,
// else within noise when one was noisy, else held.
func (j *judgement) status() string {
	switch {
	case j.contradicted:
		return NotHeld
	case j.noisy:
		return WithinNoise
	}
	return Held
}

// negate turns a relation into the one that holds when it does not.
func negate(rel string) string {
	switch rel {
	case "<":
		return ">="
	case ">":
		return "<="
	case "<=":
		return ">"
	case ">=":
		return "<"
	}
	panic("experiments: unknown relation " + rel)
}

// num formats a value with the fewest digits that represent it (at most 4
// decimals), e.g. 12.3, 0.05, 3.5.
func num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strconv.FormatFloat(math.Round(x*1e4)/1e4, 'f', -1, 64)
}
