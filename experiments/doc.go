// Package experiments is the data side of the harness: one YAML spec per
// table or figure of He et al. 2016 ("Deep Residual Learning for Image
// Recognition"), the named training recipes exactly as the paper states them
// (Sec 3.4 for ImageNet, Sec 4.2 for CIFAR-10), the three scales a spec runs
// at (smoke, quick, paper), the paper's qualitative claims in a checkable
// form, and an evaluator for those claims.
//
// The package is data only: it imports no engine, model, dataset or results
// code. Model names are strings ("resnet-18", "plain-56", "vgg-16"); their
// syntax is checked here (family-depth, CIFAR depths 6n+2) and their
// existence by a ModelValidator that the caller passes in (the model
// registry). Multiply-add counts come in through a hook (MACsFunc) as well.
//
// # Life of a spec
//
//	Parse / LoadFile / Builtin   strict YAML -> *Spec (errors name file:line:col)
//	(*Spec).Resolve(Options)     -> *Resolved: every run with every field explicit
//	Config.ID(seed)              -> run identity, sha256 of canonical JSON
//	EvaluateAt(claim, scale, f)  -> Verdict held | not_held | not_measurable
//
// # Resolution order
//
// A resolved run's training configuration is built in this order, later
// entries overriding earlier ones: the named recipe (recipes.go), the
// built-in defaults of the scale (scaleDefaults), the spec's scales.<scale>
// block, the run's scales.<scale> block, and finally Options (seed count).
// When a scale shortens training (iterations) without naming LR steps, the
// recipe's step iterations are scaled by the same ratio (32k/64k and 48k/64k
// stay at 50% and 75% of training); the resolved run records the result.
// A different model is allowed at smoke scale only; a reduced width (the
// quick budget's lever for the ImageNet proxies) at smoke and quick scale;
// a run can be skipped at smoke or quick scale with a stated reason
// (Override.Skip). The paper scale is always the paper's recipe.
//
// At quick scale, ImageNet specs run as a CIFAR-10 proxy of the same
// stage/block layout (32x32 input, CIFAR stem, CIFAR recipe and augmentation)
// unless Options.ImageNet says an ImageNet training set is available;
// Config.ProxyOf records "imagenet" so that reports can label the numbers.
//
// # Why runs are identified by their configuration only
//
// Config.ID hashes what determines the numbers a run produces (model,
// shortcut, width, data, training and evaluation protocol, seed) and nothing
// else: not the spec, the run's name, the scale's name or the paper's numbers.
// Two specs that contain the same run (fig1's plain-56 and fig6's plain-56;
// table2's ResNet-34 and table3's ResNet-34 A) therefore share one identity,
// and the runner trains it once.
package experiments
