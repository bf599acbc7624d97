// Package archtest keeps the dependency rules of the design
// (shared/reference/design.md, "Which way dependencies point"; the README's
// Layout section draws them) true: every package of the module may depend,
// directly or through others, only on the module's packages its rule
// allows. The dependencies are `go list -deps`'s, so a forbidden import
// anywhere below a package counts.
//
// Adding `import _ "github.com/resnet-repro/resnet-repro/engine/nn"` to
// reports/doc.go makes TestDependencyRules fail with (tried, at the commit
// that added this test) one line per engine package it pulls in:
//
//	reports depends on engine/backend: reports may depend only on experiments, models, modelname, results (reports never reach the training engine)
//	reports depends on engine/kernels: ...
//	reports depends on engine/nn: ...
//	reports depends on engine/tensor: ...
package archtest

import (
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/resnet-repro/resnet-repro/"

// rule says which of the module's packages a package (matched by prefix:
// "engine/" is every engine package) may depend on, by prefix.
type rule struct {
	pkg     string
	mayUse  []string
	comment string
}

// rules, the first whose pkg prefixes a package applies to it.
var rules = []rule{
	{"engine/", []string{"engine/"}, "the engine imports nothing above it"},
	{"datasets/", []string{"engine/tensor"}, "datasets read into engine tensors only"},
	{"modelname", nil, "the name grammar every layer shares"},
	{"experiments", []string{"modelname"}, "specs are data: no engine, no model code (names checked by the shared grammar)"},
	{"models", []string{"modelname"}, "architectures in plain types, without the engine"},
	{"results", nil, "the store: the standard library and SQLite only"},
	{"netbuild", []string{"engine/", "models", "modelname"}, "the one place that knows models and the engine"},
	{"reports", []string{"experiments", "models", "modelname", "results"}, "reports never reach the training engine"},
	{"reproduce", []string{"engine/", "datasets/", "experiments", "models", "modelname", "netbuild", "results"}, "the runner ties the layers together, below reports and the command"},
	{"cmd/", []string{"engine/", "datasets/", "experiments", "models", "modelname", "netbuild", "results", "reports", "reproduce"}, "the command wires flags to packages"},
	{"tools/", nil, "tools stand alone"},
	{"internal/", nil, "test helpers"},
}

func ruleFor(pkg string) (rule, bool) {
	for _, r := range rules {
		if pkg == strings.TrimSuffix(r.pkg, "/") || strings.HasPrefix(pkg, r.pkg) && strings.HasSuffix(r.pkg, "/") {
			return r, true
		}
	}
	return rule{}, false
}

func allowed(r rule, dep string) bool {
	if strings.HasPrefix(dep, r.pkg) && strings.HasSuffix(r.pkg, "/") {
		return true // within its own layer (engine/nn on engine/tensor)
	}
	for _, p := range r.mayUse {
		if dep == strings.TrimSuffix(p, "/") || strings.HasSuffix(p, "/") && strings.HasPrefix(dep, p) {
			return true
		}
	}
	return false
}

// violations lists, for a graph of package -> its module dependencies
// (paths without the module prefix), every dependency a rule forbids and
// every package no rule covers.
func violations(graph map[string][]string) []string {
	var out []string
	pkgs := make([]string, 0, len(graph))
	for p := range graph {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		r, ok := ruleFor(p)
		if !ok {
			out = append(out, p+": no dependency rule covers this package (add one to internal/archtest)")
			continue
		}
		for _, d := range graph[p] {
			if !allowed(r, d) {
				may := "nothing of this module"
				if len(r.mayUse) > 0 {
					may = "only on " + strings.Join(r.mayUse, ", ")
				}
				out = append(out, p+" depends on "+d+": "+p+" may depend "+may+" ("+r.comment+")")
			}
		}
	}
	return out
}

// moduleGraph is `go list -deps` of every package, restricted to the module.
func moduleGraph(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .Deps " "}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	graph := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, "|")
		var own []string
		for _, d := range strings.Fields(deps) {
			if strings.HasPrefix(d, module) {
				own = append(own, strings.TrimPrefix(d, module))
			}
		}
		graph[strings.TrimPrefix(pkg, module)] = own
	}
	return graph
}

func TestDependencyRules(t *testing.T) {
	graph := moduleGraph(t)
	// The module's layers, so that a rename cannot empty the check.
	for _, p := range []string{"engine/nn", "models", "netbuild", "reports", "reproduce", "results", "experiments", "cmd/repro"} {
		if _, ok := graph[p]; !ok {
			t.Fatalf("go list found no package %s", p)
		}
	}
	for _, v := range violations(graph) {
		t.Error(v)
	}
}

// The checker itself: each forbidden edge of a made-up graph is reported,
// allowed ones are not.
func TestViolationsOfMadeUpGraph(t *testing.T) {
	for _, c := range []struct {
		pkg, dep string
		bad      bool
	}{
		{"reports", "engine/nn", true},
		{"reports", "netbuild", true},
		{"reports", "models", false},
		{"models", "engine/nn", true},
		{"experiments", "models", true},
		{"experiments", "modelname", false},
		{"modelname", "models", true},
		{"engine/nn", "engine/tensor", false},
		{"engine/tensor", "models", true},
		{"datasets/cifar10", "engine/tensor", false},
		{"datasets/cifar10", "engine/nn", true},
		{"netbuild", "engine/backend/cpu", false},
		{"reproduce", "reports", true},
		{"cmd/repro", "reports", false},
		{"newpkg", "", true}, // no rule covers it
	} {
		g := map[string][]string{c.pkg: nil}
		if c.dep != "" {
			g[c.pkg] = []string{c.dep}
		}
		got := violations(g)
		if bad := len(got) > 0; bad != c.bad {
			t.Errorf("%s -> %q: violations %q, want bad = %v", c.pkg, c.dep, got, c.bad)
		}
		if c.bad && c.dep != "" && !slices.ContainsFunc(got, func(v string) bool { return strings.Contains(v, c.pkg+" depends on "+c.dep) }) {
			t.Errorf("%s -> %s: violation %q does not name the edge", c.pkg, c.dep, got)
		}
	}
}
