package results

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The output formats of Table.Write.
const (
	FormatTable = "table"
	FormatCSV   = "csv"
	FormatJSON  = "json"
)

// Formats lists the formats Table.Write accepts.
func Formats() []string { return []string{FormatTable, FormatCSV, FormatJSON} }

// Write writes t in the named format: "table" (aligned plain text, a header
// and a rule, NULL shown as NULL), "csv" (RFC 4180, a header row, NULL as
// an empty field) or "json" (an array of objects, keys in column order,
// NULL as null, a repeated column name suffixed _2, _3, ...).
func (t *Table) Write(w io.Writer, format string) error {
	switch format {
	case FormatTable:
		return t.writeText(w)
	case FormatCSV:
		return t.writeCSV(w)
	case FormatJSON:
		return t.writeJSON(w)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats(), ", "))
}

// formatValue is a cell's text; null is what NULL becomes.
func formatValue(v any, null string) string {
	switch x := v.(type) {
	case nil:
		return null
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func (t *Table) writeText(w io.Writer) error {
	cells := make([][]string, 0, len(t.Rows)+1)
	cells = append(cells, t.Columns)
	for _, row := range t.Rows {
		line := make([]string, len(row))
		for i, v := range row {
			// One line per row: newlines and tabs inside a value are escaped.
			line[i] = strings.NewReplacer("\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(formatValue(v, "NULL"))
		}
		cells = append(cells, line)
	}
	widths := make([]int, len(t.Columns))
	numeric := make([]bool, len(t.Columns))
	for i := range numeric {
		numeric[i] = len(t.Rows) > 0
	}
	for r, line := range cells {
		for i, c := range line {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
			if r > 0 {
				switch t.Rows[r-1][i].(type) {
				case int64, float64, nil:
				default:
					numeric[i] = false
				}
			}
		}
	}
	var b bytes.Buffer
	writeLine := func(line []string) {
		start := b.Len()
		for i, c := range line {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if numeric[i] {
				b.WriteString(pad + c)
			} else if i < len(line)-1 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(c)
			}
		}
		// No trailing blanks (empty last cells).
		trimmed := bytes.TrimRight(b.Bytes()[start:], " ")
		b.Truncate(start + len(trimmed))
		b.WriteString("\n")
	}
	writeLine(cells[0])
	rule := make([]string, len(widths))
	for i, n := range widths {
		rule[i] = strings.Repeat("-", n)
	}
	writeLine(rule)
	for _, line := range cells[1:] {
		writeLine(line)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func (t *Table) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Columns); err != nil {
		return err
	}
	for _, row := range t.Rows {
		line := make([]string, len(row))
		for i, v := range row {
			line[i] = formatValue(v, "")
		}
		if err := cw.Write(line); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// jsonValue is a cell as JSON. Infinities, which JSON cannot hold, become
// the strings "+Inf" and "-Inf".
func jsonValue(v any) ([]byte, error) {
	if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
		return json.Marshal(strconv.FormatFloat(f, 'g', -1, 64))
	}
	return json.Marshal(v)
}

func (t *Table) writeJSON(w io.Writer) error {
	keys := make([][]byte, len(t.Columns))
	seen := map[string]int{}
	for i, c := range t.Columns {
		seen[c]++
		name := c
		if n := seen[c]; n > 1 {
			name = fmt.Sprintf("%s_%d", c, n)
		}
		k, err := json.Marshal(name)
		if err != nil {
			return err
		}
		keys[i] = k
	}
	var b bytes.Buffer
	b.WriteString("[")
	for r, row := range t.Rows {
		if r > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  {")
		for i, v := range row {
			if i > 0 {
				b.WriteString(", ")
			}
			val, err := jsonValue(v)
			if err != nil {
				return err
			}
			b.Write(keys[i])
			b.WriteString(": ")
			b.Write(val)
		}
		b.WriteString("}")
	}
	if len(t.Rows) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	_, err := w.Write(b.Bytes())
	return err
}
