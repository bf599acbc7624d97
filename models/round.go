package models

import (
	"fmt"
	"math"
)

// PaperRound formats a parameter count the way Table 6 does: millions with
// two significant digits below 10M ("0.27M", "1.7M") and one decimal above
// ("19.4M").
func PaperRound(params int64) string {
	m := float64(params) / 1e6
	if m >= 10 {
		return fmt.Sprintf("%.1fM", m)
	}
	digits := 1 - int(math.Floor(math.Log10(m)))
	return fmt.Sprintf("%.*fM", digits, m)
}
