package reproduce

import (
	"context"
	"fmt"

	"github.com/resnet-repro/resnet-repro/datasets/cifar10"
	"github.com/resnet-repro/resnet-repro/engine/nn"
	"github.com/resnet-repro/resnet-repro/results"
)

// source is a run's data: its stream of training batches and its
// evaluations. The training loop (train) is the same for every dataset;
// CIFAR-10 (cifarSource) and ImageNet (imagenetSource, imagenet.go) differ
// only here.
type source interface {
	// start begins the training stream at iteration it (a resumed run
	// passes the iteration of its checkpoint); batch i depends only on the
	// run's seed and i.
	start(it int) error
	// next returns the next training batch: x is (Batch, 3, H, W) and both
	// stay valid until the following call.
	next() (x []float32, labels []int, err error)
	// epochLen is the number of iterations in one epoch of the training set.
	epochLen() float64
	// evaluate is the periodic evaluation, in inference mode, with x as the
	// network's input buffer. It returns the metrics to record, the top-1
	// error (%) the plateau rule watches (the recipe's "val_error") and the
	// error (%) shown in progress lines with its name.
	evaluate(net *nn.Network[float32], x []float32) (ms []metric, watched, shown float64, shownName string, err error)
	// final evaluates the recipe's final views that the periodic
	// evaluation does not cover (ImageNet: 10-crop, multi-scale); it runs
	// once, after the last iteration. For the ImageNet-family nets (and
	// their CIFAR-10 proxies), which Table 5 ensembles, it also returns
	// the class probabilities of the run's last view on the evaluation
	// set (nil for the others).
	final(net *nn.Network[float32], j *job) ([]metric, *results.Predictions, error)
	// probePass runs one inference pass over the evaluation set calling
	// rows(n) before each batch (n real rows), for Fig. 7's measurement.
	probePass(net *nn.Network[float32], x []float32, rows func(n int)) error
	close()
}

// metric is one value of an evaluation, before it gets its run, iteration
// and time.
type metric = results.Value

// cifarSource trains on a CIFAR-10 split and evaluates on the test set
// (split "test") and, with the 45k/5k split, on the 5,000 held-out training
// images (split "val").
type cifarSource struct {
	// top5 adds the test set's top-5 error to the evaluations: for the
	// CIFAR-10 proxies of ImageNet nets, whose paper tables give top-5
	// (top-5 of 10 classes is a weak measure; the reports say so), and for
	// `repro eval`.
	top5   bool
	data   *cifarData
	cfg    cifar10.LoaderConfig
	loader *cifar10.TrainLoader
	cur    *cifar10.Batch
}

func (e *Env) newCIFARSource(j *job, seed uint64) (*cifarSource, error) {
	t, ev := j.cfg.Training, j.cfg.Eval
	data, err := e.cifarSplits(t, ev)
	if err != nil {
		return nil, err
	}
	return &cifarSource{top5: j.cfg.ProxyOf != "", data: data, cfg: cifar10.LoaderConfig{Batch: t.Batch, Seed: seed,
		Augment: t.Augment.PadCrop > 0 || t.Augment.Flip, Mean: data.mean}}, nil
}

func (s *cifarSource) start(it int) error {
	l, err := cifar10.NewTrainLoader(s.data.train, s.cfg)
	if err != nil {
		return err
	}
	s.loader = l
	l.Start(it)
	return nil
}

func (s *cifarSource) next() ([]float32, []int, error) {
	if s.cur != nil {
		s.loader.Release(s.cur)
	}
	s.cur = s.loader.Next()
	return s.cur.X.Data, s.cur.Labels, nil
}

func (s *cifarSource) epochLen() float64 { return float64(s.loader.BatchesPerEpoch()) }

func (s *cifarSource) evaluate(net *nn.Network[float32], x []float32) ([]metric, float64, float64, string, error) {
	testLoss, testErr, testTop5 := evaluate(net, s.data.eval, s.data.mean, x, nil, nil)
	ms := []metric{
		{Split: results.SplitTest, Name: results.MetricLoss, Value: testLoss},
		{Split: results.SplitTest, Name: results.MetricError, Value: testErr},
	}
	if s.top5 {
		ms = append(ms, metric{Split: results.SplitTest, Name: results.MetricTop5, Value: testTop5})
	}
	watched := testErr
	if s.data.val != nil {
		valLoss, valErr, _ := evaluate(net, s.data.val, s.data.mean, x, nil, nil)
		ms = append(ms, metric{Split: results.SplitVal, Name: results.MetricLoss, Value: valLoss}, metric{Split: results.SplitVal, Name: results.MetricError, Value: valErr})
		watched = valErr
	}
	return ms, watched, testErr, "test error", nil
}

// final: CIFAR-10's only view is the single 32x32 image (Sec. 4.2), which
// the last periodic evaluation already measured. A CIFAR-10 proxy of an
// ImageNet net keeps its predictions on the evaluation set (the test set,
// or its first eval_subset images) for ensembles.
func (s *cifarSource) final(net *nn.Network[float32], _ *job) ([]metric, *results.Predictions, error) {
	if !s.top5 {
		return nil, nil, nil
	}
	preds := &results.Predictions{Split: results.SplitTest, View: "single", Classes: net.Classes}
	evaluate(net, s.data.eval, s.data.mean, make([]float32, net.InShape().Size()), nil, preds)
	return nil, preds, nil
}

// keepRows adds the softmax probabilities of each of len(labels) rows of
// logits to p.
func keepRows(p *results.Predictions, logits []float32, labels []int) {
	prob := make([]float64, p.Classes)
	for i, l := range labels {
		clear(prob)
		addSoftmax(prob, logits[i*p.Classes:(i+1)*p.Classes])
		p.Add(l, prob)
	}
}

func (s *cifarSource) probePass(net *nn.Network[float32], x []float32, rows func(n int)) error {
	evaluate(net, s.data.eval, s.data.mean, x, rows, nil)
	return nil
}

func (s *cifarSource) close() {
	if s.loader != nil {
		s.loader.Close()
	}
}

// newSource returns the data of a run's dataset. Long evaluations (ImageNet
// val) stop early when ctx is done.
func (e *Env) newSource(ctx context.Context, j *job, seed uint64) (source, error) {
	switch j.cfg.Dataset {
	case "cifar10":
		return e.newCIFARSource(j, seed)
	case "imagenet":
		return e.newImageNetSource(ctx, j, seed)
	}
	return nil, fmt.Errorf("%s: the runner has no dataset %q", j.label, j.cfg.Dataset)
}
