package experiments

import (
	"math"
	"slices"
	"testing"
)

// table builds a ValuesFunc from "run metric" -> value.
func table(m map[string]float64) ValuesFunc {
	return func(run, metric string) (float64, bool) {
		v, ok := m[run+" "+metric]
		return v, ok
	}
}

func ptr(x float64) *float64 { return &x }

func TestEvaluate(t *testing.T) {
	// Hand-checkable numbers: small errors in percent, chosen so that each
	// relation can be read off directly.
	values := table(map[string]float64{
		"plain-20 test_error": 9.1, "plain-56 test_error": 12.3,
		"a top1_error": 25, "b top1_error": 24.5, "c top1_error": 24.5,
		"r20 test_error": 8.75, "r32 test_error": 7.51, "r44 test_error": 7.17, "r56 test_error": 7.2,
		"r1202 train_error": 0.05, "p110 train_error": 61,
		"nan test_error": math.NaN(),
	})
	cases := []struct {
		name   string
		claim  Claim
		status string
		detail string
	}{
		{"greater held", Claim{Kind: ClaimGreater, Metric: "test_error", Runs: []string{"plain-56", "plain-20"}},
			Held, "plain-56 test_error 12.3 > plain-20 test_error 9.1 (gap 3.2)"},
		{"less not held", Claim{Kind: ClaimLess, Metric: "test_error", Runs: []string{"plain-56", "plain-20"}},
			NotHeld, "plain-56 test_error 12.3 >= plain-20 test_error 9.1 (gap 3.2)"},
		// 12.3 - 9.1 = 3.2 < margin 3.5: not held although 12.3 > 9.1.
		{"greater with margin not met", Claim{Kind: ClaimGreater, Metric: "test_error", Runs: []string{"plain-56", "plain-20"}, Margin: 3.5, PaperGap: 3.5},
			NotHeld, "plain-56 test_error 12.3 <= plain-20 test_error 9.1 (gap 3.2; required 3.5; paper 3.5)"},
		{"less with paper gap shown", Claim{Kind: ClaimLess, Metric: "test_error", Runs: []string{"plain-20", "plain-56"}, PaperGap: 3.5},
			Held, "plain-20 test_error 9.1 < plain-56 test_error 12.3 (gap 3.2; paper 3.5)"},
		// ordered is <=: ties hold (c = b = 24.5 <= a = 25).
		{"ordered with a tie", Claim{Kind: ClaimOrdered, Metric: "top1_error", Runs: []string{"c", "b", "a"}},
			Held, "c top1_error 24.5 <= b top1_error 24.5 <= a top1_error 25"},
		{"ordered broken", Claim{Kind: ClaimOrdered, Metric: "top1_error", Runs: []string{"a", "b", "c"}},
			NotHeld, "a top1_error 25 > b top1_error 24.5 <= c top1_error 24.5"},
		// monotone is strict: a tie breaks it.
		{"monotone decreasing with a tie", Claim{Kind: ClaimMonotoneDecreasing, Metric: "top1_error", Runs: []string{"a", "b", "c"}},
			NotHeld, "a top1_error 25 > b top1_error 24.5 <= c top1_error 24.5"},
		// 7.17 < 7.2: the last step goes the wrong way.
		{"monotone decreasing broken at the end", Claim{Kind: ClaimMonotoneDecreasing, Metric: "test_error", Runs: []string{"r20", "r32", "r44", "r56"}},
			NotHeld, "r20 test_error 8.75 > r32 test_error 7.51 > r44 test_error 7.17 <= r56 test_error 7.2"},
		{"monotone decreasing held", Claim{Kind: ClaimMonotoneDecreasing, Metric: "test_error", Runs: []string{"r20", "r32", "r44"}},
			Held, "r20 test_error 8.75 > r32 test_error 7.51 > r44 test_error 7.17"},
		{"monotone increasing held", Claim{Kind: ClaimMonotoneIncreasing, Metric: "test_error", Runs: []string{"r44", "r32", "r20"}},
			Held, "r44 test_error 7.17 < r32 test_error 7.51 < r20 test_error 8.75"},
		{"below held", Claim{Kind: ClaimBelow, Metric: "train_error", Runs: []string{"r1202"}, Value: ptr(0.1)},
			Held, "r1202 train_error 0.05 < 0.1"},
		{"above held", Claim{Kind: ClaimAbove, Metric: "train_error", Runs: []string{"p110"}, Value: ptr(60)},
			Held, "p110 train_error 61 > 60"},
		{"above not held", Claim{Kind: ClaimAbove, Metric: "train_error", Runs: []string{"r1202"}, Value: ptr(60)},
			NotHeld, "r1202 train_error 0.05 <= 60"},
		{"missing value", Claim{Kind: ClaimLess, Metric: "test_error", Runs: []string{"r20", "r110"}},
			NotMeasurable, "r110 test_error not measured"},
		{"NaN value", Claim{Kind: ClaimLess, Metric: "test_error", Runs: []string{"nan", "r20"}},
			NotMeasurable, "nan test_error is NaN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Evaluate(c.claim, values, Noise{})
			if v.Status != c.status || v.Detail != c.detail {
				t.Errorf("got %s %q\nwant %s %q", v.Status, v.Detail, c.status, c.detail)
			}
			if c.status != NotMeasurable && len(v.Values) != len(c.claim.Runs) {
				t.Errorf("values %v, want one per run", v.Values)
			}
		})
	}
}

// TestEvaluateWithNoise: comparisons closer than the noise margin are
// neither held nor not held (issue 15). Same values as TestEvaluate.
func TestEvaluateWithNoise(t *testing.T) {
	values := table(map[string]float64{
		"plain-20 test_error": 9.1, "plain-56 test_error": 12.3,
		"a top1_error": 25, "b top1_error": 24.5, "c top1_error": 24.5,
		"r20 test_error": 8.75, "r32 test_error": 7.51, "r44 test_error": 7.17, "r56 test_error": 7.2,
		"p110 train_error": 61,
	})
	// 0.16: the paper's ResNet-110 test-error std over 5 seeds (Table 6).
	paperStd := Noise{Margin: 0.16, Source: "paper"}
	cases := []struct {
		name   string
		claim  Claim
		noise  Noise
		status string
		detail string
	}{
		// Gap 3.2 < margin 3.5.
		{"pair within noise", Claim{Kind: ClaimGreater, Metric: "test_error", Runs: []string{"plain-56", "plain-20"}},
			Noise{Margin: 3.5, Source: "s"}, WithinNoise, "plain-56 test_error 12.3 ~ plain-20 test_error 9.1 (gap 3.2); noise margin 3.5 (s)"},
		{"pair held beyond noise", Claim{Kind: ClaimGreater, Metric: "test_error", Runs: []string{"plain-56", "plain-20"}},
			Noise{Margin: 1, Source: "s"}, Held, "plain-56 test_error 12.3 > plain-20 test_error 9.1 (gap 3.2); noise margin 1 (s)"},
		{"pair contradicted beyond noise", Claim{Kind: ClaimLess, Metric: "test_error", Runs: []string{"plain-56", "plain-20"}},
			Noise{Margin: 1, Source: "s"}, NotHeld, "plain-56 test_error 12.3 >= plain-20 test_error 9.1 (gap 3.2); noise margin 1 (s)"},
		// r44 7.17 vs r56 7.2 differ by 0.03 < 0.16; the other links by more.
		{"chain within noise at one link", Claim{Kind: ClaimMonotoneDecreasing, Metric: "test_error", Runs: []string{"r20", "r32", "r44", "r56"}},
			paperStd, WithinNoise, "r20 test_error 8.75 > r32 test_error 7.51 > r44 test_error 7.17 ~ r56 test_error 7.2; noise margin 0.16 (paper)"},
		// a > b by 0.5 >= 0.1 contradicts a < b; b ~ c does not rescue it.
		{"chain contradicted beyond noise", Claim{Kind: ClaimMonotoneIncreasing, Metric: "top1_error", Runs: []string{"a", "b", "c"}},
			Noise{Margin: 0.1, Source: "s"}, NotHeld, "a top1_error 25 >= b top1_error 24.5 ~ c top1_error 24.5; noise margin 0.1 (s)"},
		// 61 - 60 = 1 < 1.5.
		{"threshold within noise", Claim{Kind: ClaimAbove, Metric: "train_error", Runs: []string{"p110"}, Value: ptr(60)},
			Noise{Margin: 1.5, Source: "s"}, WithinNoise, "p110 train_error 61 ~ 60; noise margin 1.5 (s)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Evaluate(c.claim, values, c.noise)
			if v.Status != c.status || v.Detail != c.detail || v.Noise != c.noise {
				t.Errorf("got %s %q %+v\nwant %s %q", v.Status, v.Detail, v.Noise, c.status, c.detail)
			}
		})
	}
}

func TestEvaluateAtRespectsClaimScales(t *testing.T) {
	c := Claim{Kind: ClaimBelow, Metric: "train_error", Runs: []string{"r"}, Value: ptr(0.1), Scales: []string{ScalePaper}}
	values := table(map[string]float64{"r train_error": 0.05})
	if v := EvaluateAt(c, ScaleQuick, values, Noise{}); v.Status != NotMeasurable || v.Detail != "checked only at paper scale (this is quick scale)" {
		t.Errorf("quick: %+v", v)
	}
	if v := EvaluateAt(c, ScalePaper, values, Noise{}); v.Status != Held {
		t.Errorf("paper: %+v", v)
	}
}

// TestBuiltinClaimsAreEvaluable evaluates every built-in claim on values
// that make it hold (the paper's numbers where the spec has them) and on
// no values at all.
func TestBuiltinClaimsAreEvaluable(t *testing.T) {
	specs, err := Builtin(nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range specs {
		for _, c := range s.Claims {
			n++
			if v := Evaluate(c, table(nil), Noise{}); v.Status != NotMeasurable {
				t.Errorf("%s/%s with no data: %+v", s.ID, c.ID, v)
			}
			if !c.AppliesAt(ScalePaper) {
				t.Errorf("%s/%s does not apply at paper scale", s.ID, c.ID)
			}
			// Where the paper gives a number for every run of the claim, the
			// claim must hold on the paper's own numbers.
			paper := map[string]float64{}
			for _, r := range s.Runs {
				for k, x := range r.Paper {
					paper[r.Name+" "+k] = x
				}
			}
			for _, e := range s.Ensembles {
				for k, x := range e.Paper {
					paper[e.Name+" "+k] = x
				}
			}
			if slices.IndexFunc(c.Runs, func(r string) bool { _, ok := paper[r+" "+c.Metric]; return !ok }) >= 0 {
				continue
			}
			if v := Evaluate(c, table(paper), Noise{}); v.Status != Held {
				t.Errorf("%s/%s does not hold on the paper's numbers: %s", s.ID, c.ID, v.Detail)
			}
		}
	}
	// 3 claims in table1, 3 table2, 6 table3, 3 table4, 1 table5, 2 table6,
	// 2 fig1, 4 fig4, 8 fig6, 3 fig7.
	if n != 35 {
		t.Errorf("%d built-in claims, want 35", n)
	}
}
