package experiments

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadError is an error in a spec file, with its position (1-based line and
// column; 0 when the error concerns the whole file).
type LoadError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *LoadError) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Col == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// pos is a node's position.
type pos struct{ line, col int }

// positions maps a value's path in the document ("runs[2].model") to where
// it is written; the semantic checks use it to point at the offending key.
type positions map[string]pos

// strictCheck walks node n against Go type t before it is decoded: every
// mapping key must be a field of the struct (by yaml tag), appear once, and
// every scalar must have a YAML type that decodes into the field's kind
// without loss. Aliases and anchors are refused (a spec should read
// top to bottom). It records the position of every visited value in ps.
func strictCheck(file string, n *yaml.Node, t reflect.Type, path string, ps positions) error {
	fail := func(n *yaml.Node, format string, args ...any) error {
		return &LoadError{File: file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)}
	}
	ps[path] = pos{n.Line, n.Column}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return fail(n, "%s: anchors and aliases are not allowed in specs", where(path))
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		switch t.Kind() {
		case reflect.Map, reflect.Slice:
			return nil
		}
		return fail(n, "%s: empty value, want %s", where(path), kindName(t))
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return fail(n, "%s: want a mapping of %s, got %s", where(path), strings.Join(fieldNames(t), ", "), nodeKind(n))
		}
		fields := map[string]reflect.StructField{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				fields[name] = f
			}
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
				return fail(k, "%s: keys must be plain names", where(path))
			}
			f, ok := fields[k.Value]
			if !ok {
				return fail(k, "%s: unknown key %q (allowed: %s)", where(path), k.Value, strings.Join(fieldNames(t), ", "))
			}
			if seen[k.Value] {
				return fail(k, "%s: duplicate key %q", where(path), k.Value)
			}
			seen[k.Value] = true
			if err := strictCheck(file, v, f.Type, join(path, k.Value), ps); err != nil {
				return err
			}
			ps[join(path, k.Value)+"#key"] = pos{k.Line, k.Column}
		}
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return fail(n, "%s: want a mapping, got %s", where(path), nodeKind(n))
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
				return fail(k, "%s: keys must be plain names", where(path))
			}
			if seen[k.Value] {
				return fail(k, "%s: duplicate key %q", where(path), k.Value)
			}
			seen[k.Value] = true
			ps[join(path, k.Value)+"#key"] = pos{k.Line, k.Column}
			if err := strictCheck(file, v, t.Elem(), join(path, k.Value), ps); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return fail(n, "%s: want a list, got %s", where(path), nodeKind(n))
		}
		for i, e := range n.Content {
			if err := strictCheck(file, e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), ps); err != nil {
				return err
			}
		}
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return fail(n, "%s: want %s, got %s", where(path), kindName(t), nodeKind(n))
	}
	ok := false
	switch t.Kind() {
	case reflect.String:
		ok = n.Tag == "!!str"
	case reflect.Bool:
		ok = n.Tag == "!!bool"
	case reflect.Int, reflect.Int64:
		switch n.Tag {
		case "!!int":
			_, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
			ok = err == nil
		case "!!float":
			f, err := strconv.ParseFloat(n.Value, 64)
			ok = err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53
		}
	case reflect.Float64:
		ok = n.Tag == "!!int" || n.Tag == "!!float"
	default:
		panic(fmt.Sprintf("experiments: strictCheck has no rule for %v", t))
	}
	if !ok {
		return fail(n, "%s: want %s, got %s %q", where(path), kindName(t), strings.TrimPrefix(n.Tag, "!!"), n.Value)
	}
	return nil
}

// join extends a document path with a key.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// where names a path for an error message.
func where(path string) string {
	if path == "" {
		return "spec"
	}
	return path
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strings.TrimPrefix(n.Tag, "!!") + " " + strconv.Quote(n.Value)
	}
	return "something else"
}
