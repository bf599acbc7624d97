package results

import (
	"fmt"
	"math"

	"github.com/mattn/go-sqlite3"
)

// registerQueryFunctions adds to SQLite's functions (which here lack the
// math ones) what a researcher's query of the results needs, on every
// read-only connection (`repro query`, reports):
//
//	sqrt(x)   the square root (NULL for NULL)
//	stdev(x)  aggregate: the sample standard deviation of the non-NULL x,
//	          sqrt(sum((x - mean)^2) / (n - 1)), the "±" of the paper's
//	          Table 6 (ResNet-110, 5 seeds); NULL below two values
func registerQueryFunctions(c *sqlite3.SQLiteConn) error {
	if err := c.RegisterFunc("sqrt", func(x any) any {
		v, ok := number(x)
		if !ok {
			return nil
		}
		return math.Sqrt(v)
	}, true); err != nil {
		return fmt.Errorf("register sqrt: %w", err)
	}
	if err := c.RegisterAggregator("stdev", func() *stdevAggregate { return &stdevAggregate{} }, true); err != nil {
		return fmt.Errorf("register stdev: %w", err)
	}
	return nil
}

// number is a SQL value as a float64; false for NULL and text.
func number(x any) (float64, bool) {
	switch v := x.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// stdevAggregate accumulates Welford's running mean and sum of squared
// deviations (stable where the values are large and close together).
type stdevAggregate struct {
	n        int
	mean, m2 float64
}

func (a *stdevAggregate) Step(x any) {
	v, ok := number(x)
	if !ok {
		return
	}
	a.n++
	d := v - a.mean
	a.mean += d / float64(a.n)
	a.m2 += d * (v - a.mean)
}

func (a *stdevAggregate) Done() any {
	if a.n < 2 {
		return nil
	}
	return math.Sqrt(a.m2 / float64(a.n-1))
}
