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
	return strictChecker{file: file, ps: ps}.check(n, t, path)
}

// strictChecker is strictCheck's walk: the file named in its errors and
// the positions it records.
type strictChecker struct {
	file string
	ps   positions
}

// fail is a LoadError at node n.
func (sc strictChecker) fail(n *yaml.Node, format string, args ...any) error {
	return &LoadError{File: sc.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)}
}

// check checks node n, at path, against type t (pointers stand for their
// element type); a null is allowed for a map or a slice only.
func (sc strictChecker) check(n *yaml.Node, t reflect.Type, path string) error {
	sc.ps[path] = pos{n.Line, n.Column}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return sc.fail(n, "%s: anchors and aliases are not allowed in specs", where(path))
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		switch t.Kind() {
		case reflect.Map, reflect.Slice:
			return nil
		}
		return sc.fail(n, "%s: empty value, want %s", where(path), kindName(t))
	}
	switch t.Kind() {
	case reflect.Struct:
		return sc.checkStruct(n, t, path)
	case reflect.Map:
		return sc.checkMap(n, t, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return sc.fail(n, "%s: want a list, got %s", where(path), nodeKind(n))
		}
		for i, e := range n.Content {
			if err := sc.check(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return sc.fail(n, "%s: want %s, got %s", where(path), kindName(t), nodeKind(n))
	}
	if !scalarFits(n, t) {
		return sc.fail(n, "%s: want %s, got %s %q", where(path), kindName(t), strings.TrimPrefix(n.Tag, "!!"), n.Value)
	}
	return nil
}

// checkStruct checks a mapping against struct type t: each key must name
// a field by its yaml tag, and each value fit that field's type. A key's
// own position is recorded under its path + "#key".
func (sc strictChecker) checkStruct(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind != yaml.MappingNode {
		return sc.fail(n, "%s: want a mapping of %s, got %s", where(path), strings.Join(fieldNames(t), ", "), nodeKind(n))
	}
	fields := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = f
		}
	}
	return sc.eachEntry(n, path, func(k, v *yaml.Node) error {
		f, ok := fields[k.Value]
		if !ok {
			return sc.fail(k, "%s: unknown key %q (allowed: %s)", where(path), k.Value, strings.Join(fieldNames(t), ", "))
		}
		if err := sc.check(v, f.Type, join(path, k.Value)); err != nil {
			return err
		}
		sc.ps[join(path, k.Value)+"#key"] = pos{k.Line, k.Column}
		return nil
	})
}

// checkMap checks a mapping against map type t: any plain key, each value
// of t's element type. A key's own position is recorded under its path +
// "#key".
func (sc strictChecker) checkMap(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind != yaml.MappingNode {
		return sc.fail(n, "%s: want a mapping, got %s", where(path), nodeKind(n))
	}
	return sc.eachEntry(n, path, func(k, v *yaml.Node) error {
		sc.ps[join(path, k.Value)+"#key"] = pos{k.Line, k.Column}
		return sc.check(v, t.Elem(), join(path, k.Value))
	})
}

// eachEntry calls visit on each key and value of mapping n, in document
// order, after checking that the key is a plain string written once.
func (sc strictChecker) eachEntry(n *yaml.Node, path string, visit func(k, v *yaml.Node) error) error {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
			return sc.fail(k, "%s: keys must be plain names", where(path))
		}
		if seen[k.Value] {
			return sc.fail(k, "%s: duplicate key %q", where(path), k.Value)
		}
		seen[k.Value] = true
		if err := visit(k, v); err != nil {
			return err
		}
	}
	return nil
}

// scalarFits reports whether scalar n decodes into kind t without loss: a
// string from !!str, a bool from !!bool, an integer from an !!int in
// range or a whole !!float below 2^53, a float from either.
func scalarFits(n *yaml.Node, t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String:
		return n.Tag == "!!str"
	case reflect.Bool:
		return n.Tag == "!!bool"
	case reflect.Int, reflect.Int64:
		switch n.Tag {
		case "!!int":
			_, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
			return err == nil
		case "!!float":
			f, err := strconv.ParseFloat(n.Value, 64)
			return err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53
		}
		return false
	case reflect.Float64:
		return n.Tag == "!!int" || n.Tag == "!!float"
	}
	panic(fmt.Sprintf("experiments: strictCheck has no rule for %v", t))
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
