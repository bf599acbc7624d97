package experiments

// Spec is one YAML file: one table or figure of the paper. Field tags are
// the YAML keys; the loader rejects any key not listed here.
type Spec struct {
	// ID is the short name used on the command line ("table6", "fig1"); for
	// a built-in spec it equals the file name without ".yaml".
	ID string `yaml:"id" json:"id"`
	// Artifact is the paper's name for it: "Table 6", "Figure 1".
	Artifact string `yaml:"artifact" json:"artifact"`
	Title    string `yaml:"title" json:"title"`
	// Kind is one of KindTrain, KindAnalytic, KindDiagram, KindOutOfScope.
	Kind string `yaml:"kind" json:"kind"`
	// Reason says why an out-of-scope spec is not reproduced; required for
	// KindOutOfScope and forbidden otherwise.
	Reason string `yaml:"reason,omitempty" json:"reason,omitempty"`
	// Source cites the section of shared/reference/paper-targets.md that
	// the paper numbers come from ("A.6").
	Source string `yaml:"source,omitempty" json:"source,omitempty"`
	// Dataset is the paper's dataset for this artifact: "cifar10" or
	// "imagenet". It decides the model family (CIFAR 6n+2 or ImageNet) and
	// the number of classes.
	Dataset string `yaml:"dataset,omitempty" json:"dataset,omitempty"`
	// Recipe names a training recipe (Recipes); train specs only.
	Recipe string `yaml:"recipe,omitempty" json:"recipe,omitempty"`
	// Protocol names the final test view the paper's numbers (and claims)
	// refer to: "single" (CIFAR-10, the default there), "10-crop" (the
	// default on ImageNet, Tables 2-3), "multi-scale" (Table 4) or "center"
	// (Fig. 4's validation curves). The recipe evaluates every view it
	// lists; this says which one a report reads.
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
	// Notes are free text shown by reports (deviations, protocol remarks).
	Notes []string `yaml:"notes,omitempty" json:"notes,omitempty"`

	Runs       []Run       `yaml:"runs,omitempty" json:"runs,omitempty"`
	Ensembles  []Ensemble  `yaml:"ensembles,omitempty" json:"ensembles,omitempty"`
	References []Reference `yaml:"references,omitempty" json:"references,omitempty"`
	Panels     []Panel     `yaml:"panels,omitempty" json:"panels,omitempty"`
	Claims     []Claim     `yaml:"claims,omitempty" json:"claims,omitempty"`
	// Scales holds the spec-wide overrides per scale name (smoke, quick,
	// paper).
	Scales map[string]Override `yaml:"scales,omitempty" json:"scales,omitempty"`

	// File is where the spec was read from ("specs/table6.yaml" for a
	// built-in one); set by the loader.
	File string `yaml:"-" json:"file"`
	// Builtin is true for the specs embedded in the binary.
	Builtin bool `yaml:"-" json:"builtin"`
}

// Spec kinds.
const (
	// KindTrain specs train and evaluate networks.
	KindTrain = "train"
	// KindAnalytic specs are computed from model definitions (Table 1's
	// FLOPs); nothing is trained.
	KindAnalytic = "analytic"
	// KindDiagram specs draw architecture diagrams (Figs 2, 3, 5) from the
	// model definitions.
	KindDiagram = "diagram"
	// KindOutOfScope specs are listed with a reason and never run.
	KindOutOfScope = "out_of_scope"
)

// InScope reports whether the spec is reproduced by this harness.
func (s *Spec) InScope() bool { return s.Kind != KindOutOfScope }

// Run is one network of a spec: one row of a table or one curve of a
// figure.
type Run struct {
	// Name is unique within the spec ("resnet-34-b"); claims refer to it.
	Name string `yaml:"name" json:"name"`
	// Model is the model's registry name: "<family>-<depth>" with family
	// resnet, plain or vgg. The family's input size (CIFAR or ImageNet) is
	// decided by the spec's dataset; CIFAR depths are 6n+2.
	Model string `yaml:"model" json:"model"`
	// Shortcut is "A", "B" or "C" (Sec 3.3) for resnet models; empty for
	// plain and vgg. Defaults to "A" on CIFAR-10 (Sec 4.2: option A in all
	// cases); ImageNet resnet runs must state it.
	Shortcut string `yaml:"shortcut,omitempty" json:"shortcut,omitempty"`
	// Width multiplies every layer's channel count; 0 means 1 (the paper).
	Width float64 `yaml:"width,omitempty" json:"width,omitempty"`
	// Seeds is how many independently seeded trainings the paper reports
	// (5 for Table 6's ResNet-110); 0 means 1.
	Seeds int `yaml:"seeds,omitempty" json:"seeds,omitempty"`
	// Paper maps a metric name (Metrics) to the paper's value: errors in
	// percent, params as a count, flops as multiply-adds.
	Paper map[string]float64 `yaml:"paper,omitempty" json:"paper,omitempty"`
	// View is for diagram specs: "network" (the whole network, Fig. 3) or
	// "block" (one building block, Figs 2 and 5).
	View string `yaml:"view,omitempty" json:"view,omitempty"`
	// Stage names the stage whose first block a "block" view draws
	// ("conv2_x" in Table 1's naming).
	Stage string `yaml:"stage,omitempty" json:"stage,omitempty"`
	// Note is free text shown beside the run in reports.
	Note string `yaml:"note,omitempty" json:"note,omitempty"`
	// Scales holds this run's own overrides per scale; they apply after the
	// spec's.
	Scales map[string]Override `yaml:"scales,omitempty" json:"scales,omitempty"`
}

// Override changes a recipe's settings at one scale. Zero fields are unset.
type Override struct {
	// Model replaces the run's model (a shallower one); smoke scale only.
	Model string `yaml:"model,omitempty" json:"model,omitempty"`
	// Width replaces the width multiplier; smoke and quick scales only (a
	// quick budget may narrow a network but never changes its depth).
	Width float64 `yaml:"width,omitempty" json:"width,omitempty"`
	// Skip, when set, says why the run is not trained at this scale (for
	// example: ResNet-1202 does not fit the quick budget). The resolved run
	// keeps its configuration but has no seeds; reports print the reason.
	Skip string `yaml:"skip,omitempty" json:"skip,omitempty"`
	// Iterations is the number of SGD steps.
	Iterations int `yaml:"iterations,omitempty" json:"iterations,omitempty"`
	// Batch is the mini-batch size.
	Batch int `yaml:"batch,omitempty" json:"batch,omitempty"`
	// Seeds replaces the run's seed count.
	Seeds int `yaml:"seeds,omitempty" json:"seeds,omitempty"`
	// TrainSubset trains on the first N images of the training split.
	TrainSubset int `yaml:"train_subset,omitempty" json:"train_subset,omitempty"`
	// EvalSubset evaluates on the first N images of the evaluation set
	// (periodic and final evaluations alike).
	EvalSubset int `yaml:"eval_subset,omitempty" json:"eval_subset,omitempty"`
	// EvalInterval is the number of iterations between evaluations.
	EvalInterval int `yaml:"eval_interval,omitempty" json:"eval_interval,omitempty"`
	// Steps are the LR step iterations; when unset and Iterations is set,
	// the recipe's steps are scaled by Iterations/recipe iterations.
	Steps []int `yaml:"steps,omitempty" json:"steps,omitempty"`
	// WarmupMaxIterations caps the warm-up.
	WarmupMaxIterations int `yaml:"warmup_max_iterations,omitempty" json:"warmup_max_iterations,omitempty"`
	// PlateauPatience replaces the plateau patience (in evaluations).
	PlateauPatience int `yaml:"plateau_patience,omitempty" json:"plateau_patience,omitempty"`
}

// Ensemble combines trained runs by averaging their softmax scores (Table 5).
type Ensemble struct {
	Name string `yaml:"name" json:"name"`
	// Members are run names; every seed of each member takes part.
	Members []string           `yaml:"members" json:"members"`
	Paper   map[string]float64 `yaml:"paper,omitempty" json:"paper,omitempty"`
	Note    string             `yaml:"note,omitempty" json:"note,omitempty"`
}

// Reference is a row of a paper table that this harness does not train
// (other methods: VGG, GoogLeNet, Maxout ...); reports print it for context.
type Reference struct {
	Name  string             `yaml:"name" json:"name"`
	Paper map[string]float64 `yaml:"paper" json:"paper"`
	Note  string             `yaml:"note,omitempty" json:"note,omitempty"`
}

// Panel is one panel of a figure: which runs it plots.
type Panel struct {
	Name  string   `yaml:"name" json:"name"`
	Title string   `yaml:"title" json:"title"`
	Runs  []string `yaml:"runs" json:"runs"`
	// Order is for Fig. 7: "original" (layer order) or "sorted" (by
	// magnitude, descending); empty elsewhere.
	Order string `yaml:"order,omitempty" json:"order,omitempty"`
	Note  string `yaml:"note,omitempty" json:"note,omitempty"`
}
