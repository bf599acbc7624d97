package experiments

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed specs/*.yaml
var builtinFS embed.FS

// Parse reads one spec from data. file names it in errors. Every problem
// is a *LoadError naming file, line and column: malformed YAML, an unknown
// key, a wrong type, an unknown kind, dataset, recipe, metric, claim kind
// or scale, a bad model name (syntax here, existence through validate), a
// duplicate run or claim, or a claim, panel or ensemble naming a run the
// spec does not have.
func Parse(file string, data []byte, validate ModelValidator) (*Spec, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlSyntaxError(file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &LoadError{File: file, Msg: "empty spec"}
	}
	root := doc.Content[0]
	ps := positions{}
	if err := strictCheck(file, root, reflect.TypeOf(Spec{}), "", ps); err != nil {
		return nil, err
	}
	var s Spec
	if err := root.Decode(&s); err != nil {
		// strictCheck admits only what decodes; reaching here is a bug.
		return nil, &LoadError{File: file, Line: root.Line, Col: root.Column, Msg: err.Error()}
	}
	s.File = file
	v := validator{file: file, ps: ps, models: validate}
	if err := v.spec(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

// LoadFile reads and parses the spec at path.
func LoadFile(path string, validate ModelValidator) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, validate)
}

// Builtin returns the specs embedded in the binary, in the paper's order
// (tables by number, then figures by number). A built-in spec's id equals
// its file name.
func Builtin(validate ModelValidator) ([]*Spec, error) {
	names, err := fs.Glob(builtinFS, "specs/*.yaml")
	if err != nil {
		panic(err) // the pattern is constant
	}
	var specs []*Spec
	for _, name := range names {
		data, err := builtinFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		s, err := Parse(name, data, validate)
		if err != nil {
			return nil, err
		}
		if want := strings.TrimSuffix(path.Base(name), ".yaml"); s.ID != want {
			return nil, &LoadError{File: name, Msg: fmt.Sprintf("id %q differs from the file name %q", s.ID, want)}
		}
		s.Builtin = true
		specs = append(specs, s)
	}
	sort.SliceStable(specs, func(i, j int) bool { return paperOrder(specs[i].ID) < paperOrder(specs[j].ID) })
	return specs, nil
}

// BuiltinFile returns the embedded YAML text of the built-in spec id.
func BuiltinFile(id string) ([]byte, error) {
	return builtinFS.ReadFile("specs/" + id + ".yaml")
}

// ErrNotFound is returned by Lookup for a name that is neither a built-in
// spec id nor a readable file.
var ErrNotFound = errors.New("no such spec")

// Lookup returns the built-in spec with this id or, if the argument names a
// file (contains a path separator or ends in .yaml/.yml), the spec in it.
func Lookup(idOrFile string, validate ModelValidator) (*Spec, error) {
	if strings.ContainsRune(idOrFile, os.PathSeparator) || strings.HasSuffix(idOrFile, ".yaml") || strings.HasSuffix(idOrFile, ".yml") {
		return LoadFile(idOrFile, validate)
	}
	specs, err := Builtin(validate)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range specs {
		if s.ID == idOrFile {
			return s, nil
		}
		ids = append(ids, s.ID)
	}
	return nil, fmt.Errorf("%w %q (built-in: %s; or give a .yaml file)", ErrNotFound, idOrFile, strings.Join(ids, ", "))
}

// paperOrder sorts "table2" before "table10" and tables before figures.
func paperOrder(id string) int {
	m := regexp.MustCompile(`^(table|fig)(\d+)$`).FindStringSubmatch(id)
	if m == nil {
		return 1 << 30
	}
	n, _ := strconv.Atoi(m[2])
	if m[1] == "fig" {
		n += 1000
	}
	return n
}

// yamlSyntaxError turns a yaml.v3 parse error into a LoadError. yaml.v3
// gives no column, and its line is sometimes the 0-based line of the
// enclosing construct, so the line goes into the message as "near line N"
// rather than into the position.
func yamlSyntaxError(file string, err error) error {
	return &LoadError{File: file, Msg: "YAML syntax error: " + strings.TrimPrefix(err.Error(), "yaml: ")}
}

// validator checks a decoded spec's meaning, pointing at positions recorded
// by strictCheck.
type validator struct {
	file   string
	ps     positions
	models ModelValidator
}

// errAt returns a LoadError at the value of path, or at the nearest
// enclosing value that was written (a missing key points at its parent).
func (v validator) errAt(p string, format string, args ...any) error {
	e := &LoadError{File: v.file, Msg: fmt.Sprintf(format, args...)}
	for q := p; ; {
		if at, ok := v.ps[q]; ok {
			e.Line, e.Col = at.line, at.col
			return e
		}
		if q == "" {
			return e
		}
		if i := strings.LastIndexAny(q, ".["); i >= 0 {
			q = q[:i]
		} else {
			q = ""
		}
	}
}

// keyAt is errAt pointing at the key of path rather than its value.
func (v validator) keyAt(p string, format string, args ...any) error {
	if at, ok := v.ps[p+"#key"]; ok {
		return &LoadError{File: v.file, Line: at.line, Col: at.col, Msg: fmt.Sprintf(format, args...)}
	}
	return v.errAt(p, format, args...)
}

var (
	idSyntax = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	kinds    = []string{KindTrain, KindAnalytic, KindDiagram, KindOutOfScope}
	datasets = []string{"cifar10", "imagenet"}
)

// spec checks a decoded spec's meaning, in document order: its identity
// and kind (an out_of_scope spec stops there), its dataset, protocol and
// recipe, its runs, ensembles, references, panels and claims, and its
// scale overrides. The first problem is returned.
func (v validator) spec(s *Spec) error {
	if err := v.identity(s); err != nil {
		return err
	}
	if s.Kind == KindOutOfScope {
		return v.outOfScope(s)
	}
	if s.Reason != "" {
		return v.keyAt("reason", "reason is only for out_of_scope specs")
	}
	if err := v.training(s); err != nil {
		return err
	}
	if len(s.Runs) == 0 {
		return v.errAt("runs", "a %s spec needs at least one run", s.Kind)
	}
	names := map[string]bool{}
	for i := range s.Runs {
		if err := v.run(s, i, names); err != nil {
			return err
		}
	}
	if err := v.ensembles(s, names); err != nil {
		return err
	}
	if err := v.references(s); err != nil {
		return err
	}
	if err := v.panels(s); err != nil {
		return err
	}
	ids := map[string]bool{}
	for i, c := range s.Claims {
		if err := v.claim(i, c, names, ids); err != nil {
			return err
		}
	}
	return v.overrides("scales", s.Scales, s.Dataset)
}

// identity checks what every spec needs: an id of lower-case letters,
// digits and dashes, an artifact, a title and a known kind.
func (v validator) identity(s *Spec) error {
	if !idSyntax.MatchString(s.ID) {
		return v.errAt("id", "id %q: want lower-case letters, digits and dashes", s.ID)
	}
	if s.Artifact == "" {
		return v.errAt("artifact", "artifact is required (e.g. \"Table 6\")")
	}
	if s.Title == "" {
		return v.errAt("title", "title is required")
	}
	if !slices.Contains(kinds, s.Kind) {
		return v.errAt("kind", "kind %q: want one of %s", s.Kind, strings.Join(kinds, ", "))
	}
	return nil
}

// outOfScope checks an out_of_scope spec: a reason, none of the keys of
// what it would run, and its references.
func (v validator) outOfScope(s *Spec) error {
	if s.Reason == "" {
		return v.errAt("reason", "an out_of_scope spec needs a reason")
	}
	for _, k := range []string{"dataset", "recipe", "runs", "ensembles", "panels", "claims", "scales"} {
		if _, ok := v.ps[k]; ok {
			return v.keyAt(k, "an out_of_scope spec has no %s", k)
		}
	}
	return v.references(s)
}

// training checks a spec's dataset, its protocol (a final view, train
// specs only) and its recipe: a train spec's must exist and train on the
// spec's dataset; other kinds take none.
func (v validator) training(s *Spec) error {
	if !slices.Contains(datasets, s.Dataset) {
		return v.errAt("dataset", "dataset %q: want one of %s", s.Dataset, strings.Join(datasets, ", "))
	}
	if s.Protocol != "" && (s.Kind != KindTrain || !slices.Contains(views, s.Protocol)) {
		return v.errAt("protocol", "protocol %q: want one of %s, in a train spec", s.Protocol, strings.Join(views, ", "))
	}
	if s.Kind != KindTrain {
		if s.Recipe != "" {
			return v.keyAt("recipe", "a %s spec trains nothing and takes no recipe", s.Kind)
		}
		return nil
	}
	r, ok := Recipes[s.Recipe]
	if !ok {
		return v.errAt("recipe", "unknown recipe %q (known: %s)", s.Recipe, strings.Join(recipeNames(), ", "))
	}
	if r.Dataset != s.Dataset {
		return v.errAt("recipe", "recipe %q trains on %s, the spec's dataset is %s", s.Recipe, r.Dataset, s.Dataset)
	}
	return nil
}

// ensembles checks a train spec's ensembles: each a new name (not a run's
// or another ensemble's, added to names), at least two members that are
// runs of the spec, and known paper metrics.
func (v validator) ensembles(s *Spec, names map[string]bool) error {
	for i, e := range s.Ensembles {
		p := fmt.Sprintf("ensembles[%d]", i)
		if s.Kind != KindTrain {
			return v.keyAt("ensembles", "ensembles need a train spec")
		}
		if e.Name == "" || names[e.Name] {
			return v.errAt(p+".name", "ensemble name %q is empty or already used", e.Name)
		}
		if len(e.Members) < 2 {
			return v.errAt(p+".members", "an ensemble needs at least two members")
		}
		for j, m := range e.Members {
			if !runExists(s, m) {
				return v.errAt(fmt.Sprintf("%s.members[%d]", p, j), "ensemble member %q is not a run of this spec", m)
			}
		}
		if err := v.paper(p+".paper", e.Paper); err != nil {
			return err
		}
		names[e.Name] = true
	}
	return nil
}

// panels checks a spec's figure panels: each has a name, an order of
// original, sorted or none, and at least one run, all runs of the spec.
func (v validator) panels(s *Spec) error {
	for i, pn := range s.Panels {
		p := fmt.Sprintf("panels[%d]", i)
		if pn.Name == "" {
			return v.errAt(p+".name", "a panel needs a name")
		}
		if pn.Order != "" && pn.Order != "original" && pn.Order != "sorted" {
			return v.errAt(p+".order", "panel order %q: want original or sorted", pn.Order)
		}
		if len(pn.Runs) == 0 {
			return v.errAt(p+".runs", "a panel needs runs")
		}
		for j, r := range pn.Runs {
			if !runExists(s, r) {
				return v.errAt(fmt.Sprintf("%s.runs[%d]", p, j), "panel run %q is not a run of this spec", r)
			}
		}
	}
	return nil
}

func (v validator) run(s *Spec, i int, names map[string]bool) error {
	r := &s.Runs[i]
	p := fmt.Sprintf("runs[%d]", i)
	if !idSyntax.MatchString(r.Name) {
		return v.errAt(p+".name", "run name %q: want lower-case letters, digits and dashes", r.Name)
	}
	if names[r.Name] {
		return v.errAt(p+".name", "duplicate run name %q", r.Name)
	}
	names[r.Name] = true
	if err := v.model(p+".model", r.Model, s.Dataset); err != nil {
		return err
	}
	fam, _, _ := ParseModel(r.Model, s.Dataset)
	switch {
	case fam == FamilyResNet && r.Shortcut == "" && s.Dataset == "imagenet":
		return v.errAt(p, "run %q: an ImageNet resnet run must state its shortcut option (A, B or C)", r.Name)
	case fam == FamilyResNet && r.Shortcut != "" && !slices.Contains([]string{"A", "B", "C"}, r.Shortcut):
		return v.errAt(p+".shortcut", "shortcut %q: want A, B or C (Sec 3.3)", r.Shortcut)
	case fam != FamilyResNet && r.Shortcut != "":
		return v.keyAt(p+".shortcut", "run %q: a %s network has no shortcuts", r.Name, fam)
	}
	if err := v.width(p+".width", r.Width); err != nil {
		return err
	}
	if r.Seeds < 0 {
		return v.errAt(p+".seeds", "seeds must be positive")
	}
	if err := v.paper(p+".paper", r.Paper); err != nil {
		return err
	}
	if s.Kind == KindDiagram {
		switch r.View {
		case "network":
			if r.Stage != "" {
				return v.keyAt(p+".stage", "a network view takes no stage")
			}
		case "block":
			if !regexp.MustCompile(`^conv[2-5]_x$`).MatchString(r.Stage) {
				return v.errAt(p+".stage", "stage %q: want conv2_x .. conv5_x (Table 1)", r.Stage)
			}
		default:
			return v.errAt(p+".view", "view %q: want network or block", r.View)
		}
	} else if r.View != "" || r.Stage != "" {
		return v.keyAt(p+".view", "view and stage are for diagram specs")
	}
	if s.Kind != KindTrain && r.Scales != nil {
		return v.keyAt(p+".scales", "a %s spec has no training scales", s.Kind)
	}
	return v.overrides(p+".scales", r.Scales, s.Dataset)
}

func (v validator) model(p, model, dataset string) error {
	if _, _, err := ParseModel(model, dataset); err != nil {
		return v.errAt(p, "%v", err)
	}
	if v.models != nil {
		if err := v.models(model); err != nil {
			return v.errAt(p, "model %q: %v", model, err)
		}
	}
	return nil
}

func (v validator) paper(p string, m map[string]float64) error {
	for _, k := range sortedKeys(m) {
		if _, ok := Metrics[k]; !ok {
			return v.keyAt(p+"."+k, "unknown metric %q (known: %s)", k, strings.Join(sortedKeys(Metrics), ", "))
		}
		if !finite(m[k]) {
			return v.errAt(p+"."+k, "the paper's %s must be a finite number, not %v", k, m[k])
		}
	}
	return nil
}

// width checks a width multiplier (0 = unset, the paper's width).
func (v validator) width(p string, w float64) error {
	if !(w >= 0 && finite(w)) {
		return v.errAt(p, "width must be a finite positive number, not %v", w)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func (v validator) references(s *Spec) error {
	for i, r := range s.References {
		p := fmt.Sprintf("references[%d]", i)
		if r.Name == "" {
			return v.errAt(p+".name", "a reference needs a name")
		}
		if err := v.paper(p+".paper", r.Paper); err != nil {
			return err
		}
	}
	return nil
}

func (v validator) claim(i int, c Claim, names, ids map[string]bool) error {
	p := fmt.Sprintf("claims[%d]", i)
	if !idSyntax.MatchString(c.ID) || ids[c.ID] {
		return v.errAt(p+".id", "claim id %q is malformed or already used", c.ID)
	}
	ids[c.ID] = true
	if c.Paper == "" {
		return v.errAt(p, "claim %q needs the paper's wording (paper:)", c.ID)
	}
	want, ok := claimArity[c.Kind]
	if !ok {
		return v.errAt(p+".kind", "unknown claim kind %q (known: %s)", c.Kind, strings.Join(sortedKeys(claimArity), ", "))
	}
	if _, ok := Metrics[c.Metric]; !ok {
		return v.errAt(p+".metric", "unknown metric %q (known: %s)", c.Metric, strings.Join(sortedKeys(Metrics), ", "))
	}
	if want > 0 && len(c.Runs) != want {
		return v.errAt(p+".runs", "a %s claim takes %d run(s), got %d", c.Kind, want, len(c.Runs))
	}
	if want < 0 && len(c.Runs) < -want {
		return v.errAt(p+".runs", "a %s claim takes at least %d runs, got %d", c.Kind, -want, len(c.Runs))
	}
	for j, r := range c.Runs {
		if !names[r] {
			return v.errAt(fmt.Sprintf("%s.runs[%d]", p, j), "claim %q names run %q, which this spec does not have", c.ID, r)
		}
	}
	single := c.Kind == ClaimAbove || c.Kind == ClaimBelow
	if single != (c.Value != nil) {
		if single {
			return v.errAt(p, "a %s claim needs a value", c.Kind)
		}
		return v.keyAt(p+".value", "value is only for above and below claims")
	}
	pair := c.Kind == ClaimLess || c.Kind == ClaimGreater
	if !pair && (c.Margin != 0 || c.PaperGap != 0) {
		return v.errAt(p, "margin and paper_gap are only for less and greater claims")
	}
	if !(c.Margin >= 0 && !math.IsInf(c.Margin, 1)) {
		return v.errAt(p+".margin", "margin must be a finite number, not negative")
	}
	if !finite(c.PaperGap) {
		return v.errAt(p+".paper_gap", "paper_gap must be a finite number")
	}
	if c.Value != nil && !finite(*c.Value) {
		return v.errAt(p+".value", "value must be a finite number")
	}
	for j, sc := range c.Scales {
		if !ValidScale(sc) {
			return v.errAt(fmt.Sprintf("%s.scales[%d]", p, j), "unknown scale %q (known: %s)", sc, ScaleList)
		}
	}
	return nil
}

func (v validator) overrides(p string, m map[string]Override, dataset string) error {
	for _, sc := range sortedKeys(m) {
		o := m[sc]
		q := p + "." + sc
		if !ValidScale(sc) {
			return v.keyAt(q, "unknown scale %q (known: %s)", sc, ScaleList)
		}
		if sc != ScaleSmoke && o.Model != "" {
			return v.errAt(q, "a different model is allowed at smoke scale only")
		}
		if sc == ScalePaper && (o.Width != 0 || o.Skip != "") {
			return v.errAt(q, "the paper scale is the paper's recipe: no width or skip override")
		}
		if o.Model != "" {
			if err := v.model(q+".model", o.Model, dataset); err != nil {
				return err
			}
		}
		for _, f := range []struct {
			name string
			val  int
		}{{"iterations", o.Iterations}, {"batch", o.Batch}, {"seeds", o.Seeds}, {"train_subset", o.TrainSubset},
			{"eval_subset", o.EvalSubset}, {"eval_interval", o.EvalInterval}, {"warmup_max_iterations", o.WarmupMaxIterations},
			{"plateau_patience", o.PlateauPatience}} {
			if f.val < 0 {
				return v.errAt(q+"."+f.name, "%s must be positive", f.name)
			}
		}
		if err := v.width(q+".width", o.Width); err != nil {
			return err
		}
		if !slices.IsSorted(o.Steps) || (len(o.Steps) > 0 && o.Steps[0] <= 0) {
			return v.errAt(q+".steps", "steps must be positive and increasing")
		}
	}
	return nil
}

func runExists(s *Spec, name string) bool {
	return slices.ContainsFunc(s.Runs, func(r Run) bool { return r.Name == name })
}

func recipeNames() []string { return sortedKeys(Recipes) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
