package experiments

import "slices"

// Recipe is a complete training and evaluation protocol, named in a spec's
// "recipe" key. Every number in the two recipes below is the paper's
// (paper-targets.md A.10) unless its comment says "ours": the paper leaves
// a few operational details open (what "plateau" means, how the warm-up's
// training error is measured), and those are our choices, stated here once.
type Recipe struct {
	Name string `json:"name"`
	// Dataset the recipe trains on: "cifar10" or "imagenet".
	Dataset     string   `json:"dataset"`
	Batch       int      `json:"batch"`
	Iterations  int      `json:"iterations"`
	Momentum    float64  `json:"momentum"`
	WeightDecay float64  `json:"weight_decay"`
	Schedule    Schedule `json:"schedule"`
	// Split is "45k/5k" (CIFAR-10: 5,000 training images held out as a
	// validation set, the split the paper's schedule was determined on),
	// "50k" (all CIFAR-10 training images) or "" (ImageNet: the official
	// train and val sets).
	Split   string  `json:"split"`
	Mean    string  `json:"mean"`
	Augment Augment `json:"augment"`
	Eval    Eval    `json:"eval"`
	// Source cites where the numbers come from.
	Source string `json:"source"`
}

// Schedule is the learning-rate schedule, declaratively. The LR starts at
// BaseLR and is multiplied by Factor at each iteration in Steps, and (when
// Plateau is set) each time the plateau rule fires. Warmup, when it applies
// to a run, replaces the LR at the start of training.
type Schedule struct {
	BaseLR float64 `json:"base_lr"`
	// Factor multiplies the LR at each step (0.1: "divided by 10").
	Factor float64 `json:"factor"`
	// Steps are the iterations at which the LR is multiplied by Factor
	// (the LR of iteration i >= step is reduced).
	Steps   []int    `json:"steps"`
	Plateau *Plateau `json:"plateau,omitempty"`
	Warmup  *Warmup  `json:"warmup,omitempty"`
}

// Plateau multiplies the LR by the schedule's Factor when Metric, measured
// at each periodic evaluation, has not improved by at least Threshold on
// its best value for Patience consecutive evaluations; the count restarts
// after each reduction.
type Plateau struct {
	// Metric is the monitored metric (Metrics), lower is better.
	Metric    string  `json:"metric"`
	Patience  int     `json:"patience"`
	Threshold float64 `json:"threshold"`
}

// Warmup trains at LR until the training error, averaged over the last
// Window iterations, is below UntilTrainErrorBelow percent, or until
// MaxIterations iterations have passed, whichever comes first; then the
// LR returns to the schedule's. In a recipe it names the runs it applies
// to (Families, MinDepth); a resolved run carries it only if it applies.
type Warmup struct {
	LR                   float64  `json:"lr"`
	UntilTrainErrorBelow float64  `json:"until_train_error_below"`
	Window               int      `json:"window"`
	MaxIterations        int      `json:"max_iterations"`
	Families             []string `json:"families,omitempty"`
	MinDepth             int      `json:"min_depth,omitempty"`
}

// Augment describes training-time data augmentation.
type Augment struct {
	// PadCrop pads this many pixels on each side, then takes a random crop
	// of the input size (CIFAR: 4).
	PadCrop int `json:"pad_crop"`
	// Flip is a random horizontal flip.
	Flip bool `json:"flip"`
	// ScaleShorter is the range [lo, hi] the shorter side is resized to at
	// random before the crop (ImageNet: [256, 480]); empty for CIFAR.
	ScaleShorter []int `json:"scale_shorter,omitempty"`
	// Crop is the side of the random crop (ImageNet: 224).
	Crop int `json:"crop"`
	// Color is "alexnet-pca" for the standard color augmentation of [21],
	// or "" for none.
	Color string `json:"color"`
}

// Eval is the evaluation protocol.
type Eval struct {
	// Set is "test" (CIFAR-10's 10k test images) or "val" (ImageNet's 50k
	// validation images).
	Set string `json:"set"`
	// Interval is the number of iterations between periodic evaluations
	// (the test-error curves of Figs 1, 4, 6), and the plateau rule's
	// clock.
	Interval int `json:"interval"`
	// Subset limits every evaluation to the first N images of Set; 0 is
	// all.
	Subset int `json:"subset"`
	// CurveView is the view of periodic evaluations: "single" (the whole
	// 32x32 image) or "center" (224 center crop of shorter side 256).
	CurveView string `json:"curve_view"`
	// FinalViews are evaluated once at the end of training: any of
	// "single", "center", "10-crop" (the four corners and the center of
	// shorter side TenCropShorter and their flips), "multi-scale" (the
	// fully-convolutional form, scores averaged over shorter sides
	// MultiScales).
	FinalViews     []string `json:"final_views"`
	TenCropShorter int      `json:"ten_crop_shorter,omitempty"`
	MultiScales    []int    `json:"multi_scales,omitempty"`
}

// Views a spec's protocol may name.
var views = []string{"single", "center", "10-crop", "multi-scale"}

// Recipes are the named recipes, exactly as the paper states them.
var Recipes = map[string]Recipe{
	// Sec 4.2, paper-targets.md A.10 "CIFAR-10".
	"cifar-paper": {
		Name:        "cifar-paper",
		Dataset:     "cifar10",
		Batch:       128,   // "mini-batch size of 128"
		Iterations:  64000, // "terminate training at 64k iterations"
		Momentum:    0.9,
		WeightDecay: 0.0001,
		Schedule: Schedule{
			BaseLR: 0.1,
			Factor: 0.1,                 // "divide it by 10"
			Steps:  []int{32000, 48000}, // "at 32k and 48k iterations"
			Warmup: &Warmup{
				// "we use 0.01 to warm up the training until the training
				// error is below 80% (about 400 iterations), and then go back
				// to 0.1" -- for the 110-layer ResNet; 1202 is "trained as
				// described above".
				LR:                   0.01,
				UntilTrainErrorBelow: 80,
				Window:               20,   // ours: the paper does not say how the error is measured
				MaxIterations:        2000, // ours: a cap at 5x the paper's "about 400 iterations"
				Families:             []string{"resnet"},
				MinDepth:             110,
			},
		},
		Split: "45k/5k", // "determined on a 45k/5k train/val split"
		Mean:  "per-pixel",
		Augment: Augment{
			PadCrop: 4, // "4 pixels are padded on each side"
			Flip:    true,
			Crop:    32,
		},
		Eval: Eval{
			Set:        "test",
			Interval:   1000, // ours: 64 points per curve
			CurveView:  "single",
			FinalViews: []string{"single"}, // "we only evaluate the single view of the original 32x32 image"
		},
		Source: "Sec 4.2; paper-targets.md A.10",
	},
	// Sec 3.4, paper-targets.md A.10 "ImageNet".
	"imagenet-paper": {
		Name:        "imagenet-paper",
		Dataset:     "imagenet",
		Batch:       256,    // "mini-batch size of 256"
		Iterations:  600000, // "trained for up to 60 x 10^4 iterations"
		Momentum:    0.9,
		WeightDecay: 0.0001,
		Schedule: Schedule{
			BaseLR: 0.1,
			Factor: 0.1, // "divided by 10 when the error plateaus"
			Plateau: &Plateau{
				Metric:    "val_error",
				Patience:  5,   // ours: 5 evaluations of 5,000 iterations, about 5 epochs
				Threshold: 0.1, // ours: an improvement under 0.1 error points does not count
			},
		},
		Split: "",
		Mean:  "per-pixel",
		Augment: Augment{
			Flip:         true,
			ScaleShorter: []int{256, 480}, // "shorter side randomly sampled in [256, 480]"
			Crop:         224,
			Color:        "alexnet-pca", // "the standard color augmentation in [21]"
		},
		Eval: Eval{
			Set:            "val",
			Interval:       5000, // ours: about one epoch of 1.28M images at batch 256
			CurveView:      "center",
			FinalViews:     []string{"center", "10-crop", "multi-scale"},
			TenCropShorter: 256,
			MultiScales:    []int{224, 256, 384, 480, 640}, // "{224, 256, 384, 480, 640}"
		},
		Source: "Sec 3.4, 4.1; paper-targets.md A.10",
	},
}

// clone returns a deep copy of r, so that resolution never writes into the
// shared Recipes table.
func (r Recipe) clone() Recipe {
	r.Schedule = r.Schedule.clone()
	r.Augment.ScaleShorter = slices.Clone(r.Augment.ScaleShorter)
	r.Eval.FinalViews = slices.Clone(r.Eval.FinalViews)
	r.Eval.MultiScales = slices.Clone(r.Eval.MultiScales)
	return r
}

func (s Schedule) clone() Schedule {
	s.Steps = slices.Clone(s.Steps)
	if s.Plateau != nil {
		p := *s.Plateau
		s.Plateau = &p
	}
	if s.Warmup != nil {
		w := *s.Warmup
		w.Families = slices.Clone(w.Families)
		s.Warmup = &w
	}
	return s
}
