package experiments

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/resnet-repro/resnet-repro/modelname"
)

// Scale names.
const (
	// ScaleSmoke runs every spec end to end in seconds (CI): a few
	// iterations on a tiny subset, reduced width (and, where a spec says
	// so, a shallower model).
	ScaleSmoke = "smoke"
	// ScaleQuick trains on real CIFAR-10 at the paper's depths with a
	// reduced budget; ImageNet specs become CIFAR-10 proxies unless
	// Options.ImageNet is set.
	ScaleQuick = "quick"
	// ScaleMedium is the paper's recipe at 1/8 of its iterations on real
	// CIFAR-10 (8,000 iterations, 22.7 epochs of the 45k split, LR steps at
	// 4,000 and 6,000), evaluated on the whole test set and the 5k
	// validation split every 500 iterations: long enough to test the
	// paper's depth claims on 2 cores (issue 15). ImageNet specs become
	// CIFAR-10 proxies as at quick scale.
	ScaleMedium = "medium"
	// ScalePaper is the paper's recipe, unchanged.
	ScalePaper = "paper"
)

// Scales lists the scale names, smallest first.
var Scales = []string{ScaleSmoke, ScaleQuick, ScaleMedium, ScalePaper}

// ScaleList is Scales as a user reads it: "smoke, quick, medium or paper".
var ScaleList = strings.Join(Scales[:len(Scales)-1], ", ") + " or " + Scales[len(Scales)-1]

// ValidScale reports whether name is one of Scales.
func ValidScale(name string) bool { return slices.Contains(Scales, name) }

// scaleDefaults are the built-in overrides of each scale, applied before a
// spec's own. The smoke numbers make a CIFAR ResNet-110 step take well under
// a second on the reference engine (width 0.25, batch 8); quick's are the
// fallback for a spec that does not set its own budget.
var scaleDefaults = map[string]Override{
	ScaleSmoke: {Width: 0.25, Iterations: 4, Batch: 8, Seeds: 1, TrainSubset: 64, EvalSubset: 16,
		EvalInterval: 2, WarmupMaxIterations: 2, PlateauPatience: 1},
	ScaleQuick: {Iterations: 1000, EvalInterval: 100},
	// 1/8 of cifar-paper's 64k iterations; the LR steps scale with them.
	ScaleMedium: {Iterations: 8000, EvalInterval: 500},
	ScalePaper:  {},
}

// Options select how a spec is resolved.
type Options struct {
	// Scale is one of Scales.
	Scale string
	// ImageNet says an ImageNet training set is available: at quick scale,
	// ImageNet specs then train on it instead of a CIFAR-10 proxy. (Smoke
	// scale always uses the proxy; paper scale always uses ImageNet.)
	ImageNet bool
	// Seeds, when positive, replaces every trained run's seed count.
	Seeds int
}

// Resolved is a spec at one scale: every run with every field explicit.
type Resolved struct {
	ID         string        `json:"id"`
	Artifact   string        `json:"artifact"`
	Title      string        `json:"title"`
	Kind       string        `json:"kind"`
	Reason     string        `json:"reason,omitempty"`
	Source     string        `json:"source,omitempty"`
	File       string        `json:"file"`
	Scale      string        `json:"scale"`
	Notes      []string      `json:"notes,omitempty"`
	Runs       []ResolvedRun `json:"runs"`
	Ensembles  []Ensemble    `json:"ensembles,omitempty"`
	References []Reference   `json:"references,omitempty"`
	Panels     []Panel       `json:"panels,omitempty"`
	Claims     []Claim       `json:"claims,omitempty"`
}

// ResolvedRun is one run of a spec at one scale, ready for the runner.
type ResolvedRun struct {
	Spec string `json:"spec"`
	Name string `json:"name"`
	// Scale that produced this configuration.
	Scale string `json:"scale"`
	// Seeds are the seed values to train, 1..n; nil for analytic and
	// diagram specs. Each seed is a separate training with its own
	// identity, Config.ID(seed).
	Seeds []int `json:"seeds"`
	// IDs are the identities of the trainings, IDs[i] = Config.ID(Seeds[i]).
	IDs []string `json:"ids"`
	// Protocol is the final view whose metrics stand for the paper's
	// numbers ("single", "center", "10-crop", "multi-scale"); "" for
	// analytic and diagram specs.
	Protocol string `json:"protocol"`
	// Paper holds the paper's numbers for this run (Metrics).
	Paper map[string]float64 `json:"paper,omitempty"`
	// View and Stage say what a diagram spec draws.
	View  string `json:"view,omitempty"`
	Stage string `json:"stage,omitempty"`
	Note  string `json:"note,omitempty"`
	// Skipped, when set, is why this run is not trained at this scale
	// (Override.Skip); Seeds and IDs are then empty.
	Skipped string `json:"skipped,omitempty"`
	// Config is everything that determines the run's numbers; its hash is
	// the run's identity.
	Config Config `json:"config"`
}

// Config is the part of a resolved run that determines its results.
type Config struct {
	Model string `json:"model"`
	// Layout is the dataset whose architecture family Model belongs to:
	// "cifar10" (Sec 4.2: 3x3 stem, 6n+2 layers on 32/16/8 maps) or
	// "imagenet" (Table 1). It is the spec's dataset, also for a proxy:
	// "resnet-50" is Table 1's ResNet-50 in an ImageNet spec and the 6n+2
	// net with n = 8 in a CIFAR one.
	Layout string `json:"layout"`
	// Shortcut is "A", "B" or "C" for resnet models, "" otherwise.
	Shortcut string  `json:"shortcut"`
	Width    float64 `json:"width"`
	// Dataset is the data actually used: "cifar10" or "imagenet".
	Dataset string `json:"dataset"`
	// ProxyOf is "imagenet" when CIFAR-10 stands in for an ImageNet spec
	// (the ImageNet model's stage and block layout on 32x32 inputs with a
	// CIFAR stem); "" otherwise. Reports label such numbers as a proxy.
	ProxyOf string `json:"proxy_of"`
	Classes int    `json:"classes"`
	// Input is the side of the network's input image (32 or 224).
	Input int `json:"input"`
	// Stem is "cifar" (one 3x3 conv, stride 1, Sec 4.2) or "imagenet"
	// (7x7/2 conv and 3x3/2 max pool, Table 1). A proxy has the imagenet
	// Layout with the cifar stem, so its stages run on 32/16/8/4 maps.
	Stem string `json:"stem"`
	// Training and Eval are nil for analytic and diagram specs.
	Training *Training `json:"training,omitempty"`
	Eval     *Eval     `json:"eval,omitempty"`
}

// Training is a resolved training configuration.
type Training struct {
	Recipe      string  `json:"recipe"`
	Batch       int     `json:"batch"`
	Iterations  int     `json:"iterations"`
	Momentum    float64 `json:"momentum"`
	WeightDecay float64 `json:"weight_decay"`
	// Schedule is resolved: Steps are absolute iterations below
	// Iterations, and Warmup is present only when it applies to this run
	// (its selection fields Families and MinDepth are cleared).
	Schedule Schedule `json:"schedule"`
	// Split is "45k/5k", "50k" or "" (see Recipe).
	Split string `json:"split"`
	// TrainSubset trains on the first N images of the training split; 0
	// is all of it.
	TrainSubset int     `json:"train_subset"`
	Mean        string  `json:"mean"`
	Augment     Augment `json:"augment"`
}

// identityVersion changes when the meaning of a Config field changes, so
// that old results are not mistaken for new ones.
const identityVersion = 1

// ID returns the identity of one training of this configuration with the
// given seed: the first 16 hex digits of the SHA-256 of the canonical JSON
// {"v":identityVersion,"config":c,"seed":seed} (encoding/json: struct
// fields in declaration order, shortest float formatting).
func (c Config) ID(seed int) string {
	b, err := json.Marshal(struct {
		V      int    `json:"v"`
		Config Config `json:"config"`
		Seed   int    `json:"seed"`
	}{identityVersion, c, seed})
	if err != nil {
		panic(err) // Config holds only plain data
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// identities returns Config.ID of each seed, in Seeds order.
func (r ResolvedRun) identities() []string {
	ids := make([]string, len(r.Seeds))
	for i, s := range r.Seeds {
		ids[i] = r.Config.ID(s)
	}
	return ids
}

// Run returns the resolved run with this name.
func (r *Resolved) Run(name string) (ResolvedRun, bool) {
	i := slices.IndexFunc(r.Runs, func(x ResolvedRun) bool { return x.Name == name })
	if i < 0 {
		return ResolvedRun{}, false
	}
	return r.Runs[i], true
}

// Resolve returns the spec at opts.Scale with every run fully resolved.
// An out-of-scope spec resolves to no runs. Errors come only from an
// unknown scale or a combination of overrides that leaves no valid
// schedule; they name the spec's file.
func (s *Spec) Resolve(opts Options) (*Resolved, error) {
	if !slices.Contains(Scales, opts.Scale) {
		return nil, fmt.Errorf("unknown scale %q (known: %s)", opts.Scale, ScaleList)
	}
	if opts.Seeds < 0 {
		return nil, fmt.Errorf("--seeds %d: the number of seeds must be positive (0: the spec's)", opts.Seeds)
	}
	out := &Resolved{ID: s.ID, Artifact: s.Artifact, Title: s.Title, Kind: s.Kind, Reason: s.Reason,
		Source: s.Source, File: s.File, Scale: opts.Scale, Notes: s.Notes, Ensembles: s.Ensembles,
		References: s.References, Panels: s.Panels, Claims: s.Claims, Runs: []ResolvedRun{}}
	if !s.InScope() {
		return out, nil
	}
	for _, run := range s.Runs {
		rr, err := s.resolveRun(run, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: run %s at %s scale: %w", s.File, run.Name, opts.Scale, err)
		}
		out.Runs = append(out.Runs, rr)
	}
	return out, nil
}

// resolveRun resolves one run of the spec at opts.Scale. Analytic and
// diagram runs describe the paper's networks and take no scale; a trained
// run gets its recipe with the scale's overrides (resolveTraining).
func (s *Spec) resolveRun(run Run, opts Options) (ResolvedRun, error) {
	rr := ResolvedRun{Spec: s.ID, Name: run.Name, Scale: opts.Scale, Paper: run.Paper,
		View: run.View, Stage: run.Stage, Note: run.Note}
	c := Config{Model: run.Model, Layout: s.Dataset, Shortcut: run.Shortcut, Width: run.Width, Dataset: s.Dataset}
	if c.Width == 0 {
		c.Width = 1
	}
	if s.Kind != KindTrain {
		// Analytic counts and diagrams describe the paper's networks: no
		// scale changes them.
		c.finish(s.Dataset)
		rr.Config = c
		return rr, nil
	}
	return s.resolveTraining(rr, c, run, opts)
}

// resolveTraining completes a trained run rr of configuration c: the
// spec's recipe (or, for a CIFAR-10 proxy, cifar-paper's), the final-view
// protocol, the override layers of opts.Scale (scale defaults, the spec's,
// the run's), the LR steps, the warm-up where it applies, and the seeds
// 1..n with their identities (none for a run skipped at this scale).
func (s *Spec) resolveTraining(rr ResolvedRun, c Config, run Run, opts Options) (ResolvedRun, error) {
	recipe, proxy := s.recipeAt(opts)
	if proxy {
		c.Dataset, c.ProxyOf = "cifar10", "imagenet"
	}
	rr.Protocol = s.protocolOn(c.Dataset, proxy)
	c.finish(c.Dataset)

	tr := newTrainedRun(c, recipe, run.Seeds)
	for _, o := range []Override{scaleDefaults[opts.Scale], s.Scales[opts.Scale], run.Scales[opts.Scale]} {
		tr.apply(o)
	}
	rr.Skipped = tr.skipped
	if opts.Seeds > 0 {
		tr.seeds = opts.Seeds
	}
	if tr.c.Model != run.Model && run.Shortcut == "" {
		// A smoke-scale stand-in keeps the run's shortcut rule.
		tr.c.Shortcut = ""
	}
	tr.c.finish(tr.c.Dataset)

	steps, err := lrSteps(tr.steps, recipe, tr.t.Iterations)
	if err != nil {
		return rr, err
	}
	tr.t.Schedule.Steps = steps
	if err := tr.selectWarmup(); err != nil {
		return rr, err
	}
	if !slices.Contains(tr.ev.FinalViews, rr.Protocol) {
		return rr, fmt.Errorf("protocol %q is not among the recipe's final views %v", rr.Protocol, tr.ev.FinalViews)
	}
	tr.c.Training, tr.c.Eval = &tr.t, &tr.ev
	rr.Config = tr.c
	if rr.Skipped != "" {
		rr.Seeds, rr.IDs = []int{}, []string{}
		return rr, nil
	}
	rr.Seeds = make([]int, tr.seeds)
	for i := range rr.Seeds {
		rr.Seeds[i] = i + 1
	}
	rr.IDs = rr.identities()
	return rr, nil
}

// recipeAt returns a copy of the recipe a train spec's runs follow at
// opts.Scale, and whether they are CIFAR-10 proxies: an ImageNet spec at
// smoke scale, or at quick or medium scale without ImageNet data, trains
// on CIFAR-10 with the cifar-paper recipe less its warm-up (the ImageNet
// recipe has none).
func (s *Spec) recipeAt(opts Options) (Recipe, bool) {
	proxy := s.Dataset == "imagenet" && (opts.Scale == ScaleSmoke || ((opts.Scale == ScaleQuick || opts.Scale == ScaleMedium) && !opts.ImageNet))
	if !proxy {
		return Recipes[s.Recipe].clone(), false
	}
	recipe := Recipes["cifar-paper"].clone()
	recipe.Schedule.Warmup = nil
	return recipe, true
}

// protocolOn is the final view of a trained run on dataset: "single" for
// a proxy, else the spec's protocol, else the dataset's standard
// ("single" on CIFAR-10, "10-crop" on ImageNet).
func (s *Spec) protocolOn(dataset string, proxy bool) string {
	switch {
	case proxy:
		return "single"
	case s.Protocol != "":
		return s.Protocol
	}
	return map[string]string{"cifar10": "single", "imagenet": "10-crop"}[dataset]
}

// trainedRun is a trained run's configuration while the override layers
// apply: the config, training and evaluation settings, the seed count,
// explicit LR steps (nil: the recipe's, scaled) and the reason it is
// skipped at this scale ("" when it is trained).
type trainedRun struct {
	c       Config
	t       Training
	ev      Eval
	seeds   int
	steps   []int
	skipped string
}

// newTrainedRun starts a trained run of configuration c from recipe, with
// the run's seed count (at least 1).
func newTrainedRun(c Config, recipe Recipe, seeds int) *trainedRun {
	return &trainedRun{c: c,
		t: Training{Recipe: recipe.Name, Batch: recipe.Batch, Iterations: recipe.Iterations,
			Momentum: recipe.Momentum, WeightDecay: recipe.WeightDecay, Schedule: recipe.Schedule,
			Split: recipe.Split, Mean: recipe.Mean, Augment: recipe.Augment},
		ev: recipe.Eval, seeds: max(seeds, 1)}
}

// apply lays one override over the run: every field the override sets
// (non-zero) replaces the run's.
func (tr *trainedRun) apply(o Override) {
	if o.Model != "" {
		tr.c.Model = o.Model
	}
	setF(&tr.c.Width, o.Width)
	if o.Skip != "" {
		tr.skipped = o.Skip
	}
	setI(&tr.t.Iterations, o.Iterations)
	setI(&tr.t.Batch, o.Batch)
	setI(&tr.seeds, o.Seeds)
	setI(&tr.t.TrainSubset, o.TrainSubset)
	setI(&tr.ev.Subset, o.EvalSubset)
	setI(&tr.ev.Interval, o.EvalInterval)
	if o.Steps != nil {
		tr.steps = slices.Clone(o.Steps)
	}
	if w := tr.t.Schedule.Warmup; w != nil {
		setI(&w.MaxIterations, o.WarmupMaxIterations)
	}
	if p := tr.t.Schedule.Plateau; p != nil {
		setI(&p.Patience, o.PlateauPatience)
	}
}

// lrSteps are a run's LR steps for a training of iterations: the explicit
// steps, or else the recipe's scaled to the new length (step *
// iterations / recipe.Iterations, rounded; steps that fall at 0, at the
// end or onto the previous one are dropped). A step not before the end of
// training is an error; no steps is an empty list, not nil.
func lrSteps(steps []int, recipe Recipe, iterations int) ([]int, error) {
	if steps == nil {
		for _, st := range recipe.Schedule.Steps {
			x := int(math.Round(float64(st) * float64(iterations) / float64(recipe.Iterations)))
			if x > 0 && x < iterations && (len(steps) == 0 || x > steps[len(steps)-1]) {
				steps = append(steps, x)
			}
		}
	}
	if len(steps) > 0 && steps[len(steps)-1] >= iterations {
		return nil, fmt.Errorf("LR step at iteration %d is not before the end of training (%d iterations)", steps[len(steps)-1], iterations)
	}
	if steps == nil {
		steps = []int{}
	}
	return steps, nil
}

// selectWarmup keeps the recipe's warm-up only where it applies, by
// family and depth (Sec 4.2: ResNet-110 and deeper), clears its selection
// fields, and caps it at the length of training.
func (tr *trainedRun) selectWarmup() error {
	w := tr.t.Schedule.Warmup
	if w == nil {
		return nil
	}
	fam, depth, err := ParseModel(tr.c.Model, tr.c.Layout)
	if err != nil {
		return err
	}
	if !slices.Contains(w.Families, fam) || depth < w.MinDepth {
		tr.t.Schedule.Warmup = nil
	} else {
		w.Families, w.MinDepth = nil, 0
		w.MaxIterations = min(w.MaxIterations, tr.t.Iterations)
	}
	return nil
}

// finish fills the fields implied by the dataset and the model family.
func (c *Config) finish(dataset string) {
	switch dataset {
	case "cifar10":
		c.Classes, c.Input, c.Stem = 10, 32, "cifar"
	case "imagenet":
		c.Classes, c.Input, c.Stem = 1000, 224, "imagenet"
	}
	if fam, _, _ := modelname.Parse(c.Model); fam == FamilyResNet && c.Shortcut == "" {
		c.Shortcut = "A" // Sec 4.2: option A in all CIFAR cases (ImageNet runs state theirs)
	}
}

func setI(dst *int, v int) {
	if v != 0 {
		*dst = v
	}
}

func setF(dst *float64, v float64) {
	if v != 0 {
		*dst = v
	}
}
