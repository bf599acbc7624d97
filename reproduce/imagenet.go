package reproduce

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/resnet-repro/resnet-repro/datasets/cifar10"
	"github.com/resnet-repro/resnet-repro/datasets/imagenet"
	"github.com/resnet-repro/resnet-repro/engine/nn"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
	"github.com/resnet-repro/resnet-repro/models"
	"github.com/resnet-repro/resnet-repro/netbuild"
	"github.com/resnet-repro/resnet-repro/results"
)

// The ImageNet metric names (split results.SplitVal). The periodic
// evaluation is the recipe's curve view, the 224 center crop of the image
// at shorter side 256 (Fig. 4's bold curves): "loss", "error" (top-1, %)
// and "top5" (top-5 error, %); its value at the last iteration is also the
// final "center" view. The other final views are recorded once, at the
// last iteration, under these names:
const (
	MetricError10Crop    = "error_10crop"     // top-1 error (%), 10-crop testing (Tables 2, 3)
	MetricTop510Crop     = "top5_10crop"      // top-5 error (%), 10-crop testing
	MetricErrorMulti     = "error_multiscale" // top-1 error (%), multi-scale testing (Table 4)
	MetricTop5MultiScale = "top5_multiscale"  // top-5 error (%), multi-scale testing
)

// meanImages is how many training images, spread evenly over the training
// set, the per-pixel mean is computed from (ours: the paper does not say;
// 10,000 center views estimate each pixel's mean to well under one grey
// level).
const meanImages = 10000

// ImageNetRoot is where the runner looks for ILSVRC-2012: ImageNetDir if
// set, else the data directory's imagenet/ folder.
func (e *Env) ImageNetRoot() string {
	if e.ImageNetDir != "" {
		return e.ImageNetDir
	}
	return filepath.Join(cifar10.DataDir(e.DataDir), "imagenet")
}

// HasImageNet reports whether an ImageNet folder is there (given, or
// present in the data directory); RunSpecs' callers use it to set
// experiments.Options.ImageNet, so that quick scale trains ImageNet specs
// on ImageNet instead of the CIFAR-10 proxy.
func (e *Env) HasImageNet() bool {
	st, err := os.Stat(e.ImageNetRoot())
	return err == nil && st.IsDir()
}

// imagenetDataset opens ILSVRC-2012 once per process.
func (e *Env) imagenetDataset() (*imagenet.Dataset, error) {
	e.inetOnce.Do(func() {
		root := e.ImageNetRoot()
		if _, err := os.Stat(root); err != nil {
			e.inetErr = fmt.Errorf("ImageNet not found at %s: give the ILSVRC-2012 folder (train/<wnid>/*.JPEG and val/) with --imagenet DIR, "+
				"or put it at imagenet/ in the data directory (--data DIR or %s=DIR); without it, smoke and quick scale train ImageNet specs as CIFAR-10 proxies",
				root, cifar10.DataDirEnv)
			return
		}
		ds, err := imagenet.Open(root, imagenet.Options{})
		switch {
		case err != nil:
			e.inetErr = err
		case ds.Train == nil || ds.Val == nil:
			e.inetErr = fmt.Errorf("imagenet: %s needs both train/ and val/ to train and evaluate", root)
		default:
			e.inet = ds
		}
	})
	return e.inet, e.inetErr
}

// spread returns n items of s spread evenly over it (all when n <= 0 or
// n >= len): subsets of ImageNet splits, whose items are ordered by class,
// so that a subset covers the classes as the whole does. (CIFAR-10 subsets
// take the first N images, whose classes are already mixed.)
func spread(s *imagenet.Split, n int) *imagenet.Split {
	if n <= 0 || n >= s.Len() {
		return s
	}
	out := &imagenet.Split{Name: s.Name, Dir: s.Dir, Items: make([]imagenet.Item, n)}
	for i := range out.Items {
		out.Items[i] = s.Items[i*s.Len()/n]
	}
	return out
}

// imagenetSource trains with Sec. 3.4's augmentation (scale in [256, 480],
// 224 crop, flip, PCA lighting, per-pixel mean) and evaluates on val: the
// center crop periodically, 10-crop and multi-scale at the end (Sec. 3.4,
// Tables 2-4).
type imagenetSource struct {
	// ctx stops an evaluation pass (50,000 val images at paper scale) on
	// Ctrl-C.
	ctx            context.Context
	e              *Env
	train, val     *imagenet.Split
	tf             imagenet.Config
	batch, classes int
	seed           uint64
	views          []string
	loader         *imagenet.Loader
	// warn is where the final views explain their approximation.
	warn func(format string, args ...any)
}

func (e *Env) newImageNetSource(ctx context.Context, j *job, seed uint64) (*imagenetSource, error) {
	t, ev := j.cfg.Training, j.cfg.Eval
	ds, err := e.imagenetDataset()
	if err != nil {
		return nil, err
	}
	if ds.Classes.Len() > j.cfg.Classes {
		return nil, fmt.Errorf("imagenet: %s has %d classes, the network %d", ds.Root, ds.Classes.Len(), j.cfg.Classes)
	}
	tf := imagenet.DefaultConfig()
	if c := t.Augment.Crop; c != 0 && c != j.cfg.Input {
		return nil, fmt.Errorf("%s: training crop %d differs from the network's input %d", j.label, c, j.cfg.Input)
	}
	if j.cfg.Input != tf.Crop {
		tf = tf.Scaled(j.cfg.Input)
	}
	if s := t.Augment.ScaleShorter; len(s) == 2 {
		tf.ScaleMin, tf.ScaleMax = s[0], s[1]
	}
	if ev.TenCropShorter > 0 {
		tf.TestScale = ev.TenCropShorter
	}
	if len(ev.MultiScales) > 0 {
		tf.MultiScales = slices.Clone(ev.MultiScales)
	}
	switch t.Augment.Color {
	case "alexnet-pca":
	case "":
		tf.Lighting = 0
	default:
		return nil, fmt.Errorf("%s: unknown color augmentation %q", j.label, t.Augment.Color)
	}
	train := spread(ds.Train, t.TrainSubset)
	if t.Mean == "per-pixel" {
		img, ch, err := imagenet.ComputeMean(train, tf, meanImages, 0)
		if err != nil {
			return nil, err
		}
		tf.MeanImage, tf.Mean = img, ch
	}
	if err := tf.Validate(); err != nil {
		return nil, err
	}
	return &imagenetSource{ctx: ctx, e: e, train: train, val: spread(ds.Val, ev.Subset), tf: tf, batch: t.Batch, classes: j.cfg.Classes,
		seed: seed, views: ev.FinalViews, warn: e.logf}, nil
}

func (s *imagenetSource) start(it int) error {
	l, err := imagenet.NewLoader(s.train, imagenet.LoaderConfig{Mode: imagenet.ModeTrain, Batch: s.batch, Seed: s.seed, Start: it, Transform: s.tf})
	if err != nil {
		return err
	}
	s.loader = l
	return nil
}

func (s *imagenetSource) next() ([]float32, []int, error) {
	b, err := s.loader.Next()
	if err != nil {
		return nil, nil, err
	}
	return b.X.Data, b.Labels, nil
}

func (s *imagenetSource) epochLen() float64 { return float64(s.train.Len()) / float64(s.batch) }

func (s *imagenetSource) close() {
	if s.loader != nil {
		s.loader.Close()
	}
}

// scores accumulates the class scores of evaluated images: the softmax of
// each view's logits, averaged over the image's views (Sec. 3.4: "we
// average the scores").
type scores struct {
	classes          int
	loss             float64
	top1, top5, seen int
	// keep, if set, gets every image's averaged probabilities.
	keep    *results.Predictions
	scratch []float64
}

// add scores one image from the sum of its views' softmax probabilities.
func (sc *scores) add(probSum []float64, views int, label int) {
	p := probSum[label] / float64(views)
	sc.loss -= math.Log(max(p, 1e-45))
	above := 0 // classes scored strictly higher than the true one
	for _, q := range probSum {
		if q > probSum[label] {
			above++
		}
	}
	if above >= 1 {
		sc.top1++
	}
	if above >= 5 {
		sc.top5++
	}
	sc.seen++
	if sc.keep != nil {
		if sc.scratch == nil {
			sc.scratch = make([]float64, len(probSum))
		}
		for i, q := range probSum {
			sc.scratch[i] = q / float64(views)
		}
		sc.keep.Add(label, sc.scratch)
	}
}

func (sc *scores) errors() (loss, top1, top5 float64) {
	n := float64(sc.seen)
	return sc.loss / n, 100 * float64(sc.top1) / n, 100 * float64(sc.top5) / n
}

// addSoftmax adds softmax(logits) to dst.
func addSoftmax(dst []float64, logits []float32) {
	mx := logits[0]
	for _, v := range logits {
		mx = max(mx, v)
	}
	var z float64
	for _, v := range logits {
		z += math.Exp(float64(v - mx))
	}
	for i, v := range logits {
		dst[i] += math.Exp(float64(v-mx)) / z
	}
}

// pass runs the network over one evaluation pass of the loader (ModeCenter
// or ModeTenCrop, batches of at most net.Batch()/views images), padding a
// short batch with zeros, and scores every image by its averaged views.
func pass(ctx context.Context, net *nn.Network[float32], l *imagenet.Loader, x []float32, rows func(n int), keep *results.Predictions) (*scores, error) {
	defer l.Close()
	classes := net.Classes
	sc := &scores{classes: classes, keep: keep}
	prob := make([]float64, classes)
	for {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w during an evaluation", errStopped)
		}
		b, err := l.Next()
		if err == io.EOF {
			return sc, nil
		}
		if err != nil {
			return nil, err
		}
		n := b.Images() * b.Views
		used := b.X.Data[:n*(len(b.X.Data)/b.X.Shape[0])]
		copy(x, used)
		clear(x[len(used):])
		if rows != nil {
			rows(n)
		}
		logits := net.Forward(x, false)
		for i, label := range b.Labels {
			clear(prob)
			for v := 0; v < b.Views; v++ {
				r := i*b.Views + v
				addSoftmax(prob, logits[r*classes:(r+1)*classes])
			}
			sc.add(prob, b.Views, label)
		}
	}
}

func (s *imagenetSource) evalLoader(mode imagenet.Mode, batch int) (*imagenet.Loader, error) {
	return imagenet.NewLoader(s.val, imagenet.LoaderConfig{Mode: mode, Batch: batch, Transform: s.tf})
}

// evaluate is the periodic evaluation: the center view of every val image.
func (s *imagenetSource) evaluate(net *nn.Network[float32], x []float32) ([]metric, float64, float64, string, error) {
	l, err := s.evalLoader(imagenet.ModeCenter, net.Batch())
	if err != nil {
		return nil, 0, 0, "", err
	}
	sc, err := pass(s.ctx, net, l, x, nil, nil)
	if err != nil {
		return nil, 0, 0, "", err
	}
	loss, top1, top5 := sc.errors()
	ms := []metric{{Split: results.SplitVal, Name: results.MetricLoss, Value: loss}, {Split: results.SplitVal, Name: results.MetricError, Value: top1}, {Split: results.SplitVal, Name: results.MetricTop5, Value: top5}}
	return ms, top1, top1, "val error (center)", nil
}

func (s *imagenetSource) probePass(net *nn.Network[float32], x []float32, rows func(n int)) error {
	l, err := s.evalLoader(imagenet.ModeCenter, net.Batch())
	if err != nil {
		return err
	}
	_, err = pass(s.ctx, net, l, x, rows, nil)
	return err
}

// final evaluates 10-crop and multi-scale testing when the recipe lists
// them; "center" is the last periodic evaluation. The predictions kept are
// those of the recipe's last view (a center pass when it lists no other).
func (s *imagenetSource) final(net *nn.Network[float32], j *job) ([]metric, *results.Predictions, error) {
	var out []metric
	preds := &results.Predictions{Split: results.SplitVal, View: "center", Classes: s.classes}
	last := "center"
	for _, v := range s.views {
		if v == "10-crop" || v == "multi-scale" {
			last = v
		}
	}
	keep := func(v string) *results.Predictions {
		if v != last {
			return nil
		}
		preds.View = v
		return preds
	}
	if last == "center" {
		l, err := s.evalLoader(imagenet.ModeCenter, net.Batch())
		if err != nil {
			return nil, nil, err
		}
		if _, err := pass(s.ctx, net, l, make([]float32, net.InShape().Size()), nil, preds); err != nil {
			return nil, nil, err
		}
	}
	var weights map[string]*tensor.Tensor
	trained := func() map[string]*tensor.Tensor {
		if weights == nil {
			weights = weightsOf(net)
		}
		return weights
	}
	for _, v := range s.views {
		switch v {
		case "center", "single":
		case "10-crop":
			top1, top5, err := s.tenCrop(net, j, trained, keep(v))
			if err != nil {
				return nil, nil, err
			}
			out = append(out, metric{Split: results.SplitVal, Name: MetricError10Crop, Value: top1}, metric{Split: results.SplitVal, Name: MetricTop510Crop, Value: top5})
		case "multi-scale":
			top1, top5, err := s.multiScale(j, trained(), keep(v))
			if err != nil {
				return nil, nil, err
			}
			out = append(out, metric{Split: results.SplitVal, Name: MetricErrorMulti, Value: top1}, metric{Split: results.SplitVal, Name: MetricTop5MultiScale, Value: top5})
		default:
			return nil, nil, fmt.Errorf("%s: unknown final view %q", j.label, v)
		}
	}
	return out, preds, nil
}

// weightsOf maps a network's parameters and BN statistics by their
// state-dict names (sharing the network's memory).
func weightsOf(net *nn.Network[float32]) map[string]*tensor.Tensor {
	w := map[string]*tensor.Tensor{}
	for _, t := range netbuild.Tensors(net) {
		w[t.Name] = t.Tensor
	}
	return w
}

// evalNet builds the run's network for inference on batch images of side
// input, with the trained weights. The head is global average pooling, so
// one set of weights serves every input size.
func (s *imagenetSource) evalNet(j *job, input, batch int, weights map[string]*tensor.Tensor) (*nn.Network[float32], error) {
	c := j.def.Config
	c.Input = input
	def, err := models.Define(c)
	if err != nil {
		return nil, err
	}
	net, err := netbuild.Build(nn.NewContext[float32](s.e.Backend), def, batch)
	if err != nil {
		return nil, err
	}
	if err := netbuild.LoadTensors(net, weights, "the trained network"); err != nil {
		return nil, err
	}
	return net, nil
}

// tenCrop is 10-crop testing: the four corner and the center 224 crops of
// the image at shorter side 256 and their mirror images, scores averaged
// (Sec. 3.4). The training network evaluates batch/10 images at a time; a
// run with batches under 10 gets a network for one image's 10 views.
func (s *imagenetSource) tenCrop(net *nn.Network[float32], j *job, trained func() map[string]*tensor.Tensor, keep *results.Predictions) (top1, top5 float64, err error) {
	const views = 10
	if net.Batch() < views {
		if net, err = s.evalNet(j, s.tf.Crop, views, trained()); err != nil {
			return 0, 0, err
		}
	}
	l, err := s.evalLoader(imagenet.ModeTenCrop, net.Batch()/views)
	if err != nil {
		return 0, 0, err
	}
	sc, err := pass(s.ctx, net, l, make([]float32, net.InShape().Size()), nil, keep)
	if err != nil {
		return 0, 0, err
	}
	_, top1, top5 = sc.errors()
	return top1, top5, nil
}

// multiScale is the fully-convolutional multi-scale testing of Sec. 3.4
// (after VGG): the image at shorter sides {224, 256, 384, 480, 640}, scores
// averaged over the scales. One network per scale shares the trained
// weights. Our networks are planned for square inputs (models.Config.Input),
// so each scale's view is the central s x s square of the image at shorter
// side s: the full image for square photos, for ImageNet's typical 4:3 the
// middle 3/4 of the long side. This is a stated approximation of the
// paper's full-image view.
func (s *imagenetSource) multiScale(j *job, weights map[string]*tensor.Tensor, keep *results.Predictions) (top1, top5 float64, err error) {
	scales := s.tf.MultiScales
	nets := make([]*nn.Network[float32], len(scales))
	for i, side := range scales {
		if nets[i], err = s.evalNet(j, side, 1, weights); err != nil {
			return 0, 0, fmt.Errorf("multi-scale testing at %d: %w", side, err)
		}
	}
	s.warn("%s: multi-scale testing at %v on the central square of each image (networks take square inputs)", j.label, scales)
	l, err := s.evalLoader(imagenet.ModeMultiScale, 1)
	if err != nil {
		return 0, 0, err
	}
	defer l.Close()
	sc := &scores{classes: s.classes, keep: keep}
	prob := make([]float64, s.classes)
	xs := make([][]float32, len(scales))
	for i, side := range scales {
		xs[i] = make([]float32, 3*side*side)
	}
	for {
		if s.ctx.Err() != nil {
			return 0, 0, fmt.Errorf("%w during multi-scale testing", errStopped)
		}
		b, err := l.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, 0, err
		}
		clear(prob)
		for i, img := range b.Scales {
			centerSquare(xs[i], img, scales[i])
			addSoftmax(prob, nets[i].Forward(xs[i], false))
		}
		sc.add(prob, len(scales), b.Labels[0])
	}
	if sc.seen == 0 {
		return 0, 0, errors.New("multi-scale testing saw no images")
	}
	_, top1, top5 = sc.errors()
	return top1, top5, nil
}

// centerSquare copies the central side x side window of img (1, 3, h, w),
// whose shorter side is side, into dst (3, side, side).
func centerSquare(dst []float32, img *tensor.Tensor, side int) {
	h, w := img.Shape[2], img.Shape[3]
	y0, x0 := (h-side)/2, (w-side)/2
	for c := 0; c < 3; c++ {
		for y := 0; y < side; y++ {
			src := img.Data[(c*h+y0+y)*w+x0:]
			copy(dst[(c*side+y)*side:(c*side+y+1)*side], src[:side])
		}
	}
}
