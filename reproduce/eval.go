package reproduce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/resnet-repro/resnet-repro/datasets/cifar10"
	"github.com/resnet-repro/resnet-repro/datasets/imagenet"
	"github.com/resnet-repro/resnet-repro/engine/nn"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/models"
	"github.com/resnet-repro/resnet-repro/netbuild"
	"github.com/resnet-repro/resnet-repro/results"
)

// EventEval is the kind of the event `repro eval --record` adds to a run:
// Detail is the EvalResult as JSON.
const EventEval = "eval"

// EvalRequest says what Evaluate measures: a run of the database (RunID),
// or a network given by Def with the weights of a safetensors state dict.
type EvalRequest struct {
	// RunID is a run of e.DB. It is evaluated exactly as its training
	// evaluated it: the same network, batch, data split and mean image, the
	// same views (the test set and the 5k validation split on CIFAR-10; the
	// center crop, 10-crop and multi-scale views its recipe lists on
	// ImageNet). So its final checkpoint gives the numbers it recorded.
	RunID string
	// Weights is a safetensors file: with RunID, weights to evaluate in the
	// run's place (a checkpoint of ours or a state dict with PyTorch names,
	// as `repro init` writes); empty means the run's latest checkpoint.
	// Without RunID it is required, and Def says the network.
	Weights string
	// Def and Batch give the network of a weights-only evaluation, which
	// reads the CIFAR-10 test set (Limit > 0: its first Limit images) with
	// the paper's single view and our recipe's input, x/255 minus the
	// per-pixel mean of the 45k training split (Sec. 4.2).
	Def   *models.Def
	Batch int
	Limit int
	// ImageNet, with Def and Weights, evaluates on the validation images
	// of the ILSVRC-2012 folder (Env.ImageNetRoot: val/<wnid>/, or a flat
	// val/ with its ground truth) instead of CIFAR-10, with the paper's
	// testing views (Views) and the input normalization Normalize. Limit
	// then takes that many images spread evenly over the classes.
	ImageNet bool
	// Views are the ImageNet views (Sec. 3.4): ViewCenter (the 224 center
	// crop of the image at shorter side 256), View10Crop, ViewMultiScale;
	// none means all three.
	Views []string
	// Normalize is the ImageNet input normalization (NormalizeTorchvision
	// when empty).
	Normalize string
	// Responses adds Fig. 7's measurement of the evaluated network: the
	// standard deviation of every 3x3 layer's BN output over the
	// evaluation set (the center view on ImageNet), beside what the run
	// recorded.
	Responses bool
	// Record adds the result to the run as an EventEval event (RunID only).
	Record bool
	// SaveWeights, when set, writes the evaluated weights and BN statistics
	// (no optimizer state) as a safetensors state dict with PyTorch names.
	SaveWeights string
}

// The ImageNet views of a weights-only evaluation (EvalRequest.Views), as
// spec protocols name them.
const (
	ViewCenter     = "center"
	View10Crop     = "10-crop"
	ViewMultiScale = "multi-scale"
)

// The ImageNet input normalizations of a weights-only evaluation
// (EvalRequest.Normalize). Pixels are in the 0..255 scale.
const (
	// NormalizeTorchvision subtracts the channel means 255·(0.485, 0.456,
	// 0.406) and divides by 255·(0.229, 0.224, 0.225): what torchvision's
	// ImageNet weights were trained with.
	NormalizeTorchvision = "torchvision"
	// NormalizeChannelMean subtracts the channel means only (the paper's
	// input without its per-pixel mean image).
	NormalizeChannelMean = "channel-mean"
	// NormalizePerPixel subtracts the per-pixel mean of 10,000 training
	// images, as our runs do (Sec. 3.4, after AlexNet); it needs train/.
	NormalizePerPixel = "per-pixel"
)

// torchvisionStd is torchvision's ImageNet channel std in the 0..255 scale.
var torchvisionStd = [3]float32{0.229 * 255, 0.224 * 255, 0.225 * 255}

// EvalMetric is one number of an evaluation, named as runs record them
// (split test/val, name error/top5/loss; ImageNet's extra views as
// error_10crop and so on). Recorded is the value the run logged for the
// same weights' iteration, if it did.
type EvalMetric struct {
	Split       string  `json:"split"`
	Name        string  `json:"name"`
	Value       float64 `json:"value"`
	Recorded    float64 `json:"recorded,omitempty"`
	HasRecorded bool    `json:"has_recorded,omitempty"`
}

// Same reports whether the evaluation reproduced the recorded number bit
// for bit (false when nothing was recorded).
func (m EvalMetric) Same() bool { return m.HasRecorded && m.Value == m.Recorded }

// EvalResult is what Evaluate measured.
type EvalResult struct {
	RunID     string         `json:"run_id,omitempty"`
	Model     string         `json:"model"`
	Weights   string         `json:"weights"`             // the file evaluated
	Iteration int64          `json:"iteration,omitempty"` // of a checkpoint of ours; 0 for a state dict
	Images    int            `json:"images"`              // images of the test (or val) set
	Backend   string         `json:"backend"`
	Metrics   []EvalMetric   `json:"metrics"`
	Responses []EvalResponse `json:"responses,omitempty"`
}

// EvalResponse is one layer's response std (EvalRequest.Responses), with
// the run's recorded value when it has one for the same layer.
type EvalResponse struct {
	LayerIndex  int     `json:"layer_index"`
	LayerName   string  `json:"layer_name"`
	Std         float64 `json:"std"`
	Recorded    float64 `json:"recorded,omitempty"`
	HasRecorded bool    `json:"has_recorded,omitempty"`
}

// measureResponses runs Fig. 7's probe over src's evaluation set and pairs
// each layer with recorded (by index and name; nil: none).
func measureResponses(net *nn.Network[float32], nctx *nn.Context[float32], src source, recorded []results.Response) ([]EvalResponse, error) {
	rs, err := responses(net, nctx, src, make([]float32, net.InShape().Size()), "")
	if err != nil {
		return nil, err
	}
	out := make([]EvalResponse, len(rs))
	for i, r := range rs {
		out[i] = EvalResponse{LayerIndex: r.LayerIndex, LayerName: r.LayerName, Std: r.Std}
		if i < len(recorded) && recorded[i].LayerName == r.LayerName {
			out[i].Recorded, out[i].HasRecorded = recorded[i].Std, true
		}
	}
	return out, nil
}

// Evaluate measures the request's weights (EvalRequest).
func (e *Env) Evaluate(ctx context.Context, req EvalRequest) (EvalResult, error) {
	if req.RunID != "" {
		return e.evaluateRun(ctx, req)
	}
	if req.Weights == "" || req.Def == nil {
		return EvalResult{}, errors.New("eval: name a run (--run ID) or a network and its weights (--model, --weights)")
	}
	if req.Record {
		return EvalResult{}, errors.New("eval: --record needs a run (--run ID) to record the evaluation in")
	}
	if req.ImageNet {
		return e.evaluateImageNetWeights(ctx, req)
	}
	if len(req.Views) > 0 || req.Normalize != "" {
		return EvalResult{}, errors.New("eval: views and normalization are for ImageNet weights (--imagenet DIR)")
	}
	return e.evaluateWeights(req)
}

// evaluateImageNetWeights evaluates a state dict on ImageNet validation
// images with the requested views (EvalRequest.ImageNet).
func (e *Env) evaluateImageNetWeights(ctx context.Context, req EvalRequest) (EvalResult, error) {
	def := req.Def
	views := req.Views
	if len(views) == 0 {
		views = []string{ViewCenter, View10Crop, ViewMultiScale}
	}
	for _, v := range views {
		if v != ViewCenter && v != View10Crop && v != ViewMultiScale {
			return EvalResult{}, fmt.Errorf("eval: unknown view %q (want %s, %s or %s)", v, ViewCenter, View10Crop, ViewMultiScale)
		}
	}
	root := e.ImageNetRoot()
	ds, err := imagenet.Open(root, imagenet.Options{})
	if err != nil {
		return EvalResult{}, fmt.Errorf("eval: %w", err)
	}
	if ds.Val == nil || ds.Val.Len() == 0 {
		return EvalResult{}, fmt.Errorf("eval: %s has no validation images (val/)", root)
	}
	if ds.Classes.Len() > def.Classes {
		return EvalResult{}, fmt.Errorf("eval: %s has %d classes, %s %d", root, ds.Classes.Len(), def.Config.Model, def.Classes)
	}
	tf := imagenet.DefaultConfig()
	tf.Lighting = 0
	if def.Config.Input != tf.Crop {
		tf = tf.Scaled(def.Config.Input)
	}
	switch req.Normalize {
	case "", NormalizeTorchvision:
		tf.Std = torchvisionStd
	case NormalizeChannelMean:
	case NormalizePerPixel:
		if ds.Train == nil {
			return EvalResult{}, fmt.Errorf("eval: normalization %s needs the training images (%s/train/) for its mean; use %s or %s",
				NormalizePerPixel, root, NormalizeTorchvision, NormalizeChannelMean)
		}
		if tf.MeanImage, tf.Mean, err = imagenet.ComputeMean(ds.Train, tf, meanImages, 0); err != nil {
			return EvalResult{}, err
		}
	default:
		return EvalResult{}, fmt.Errorf("eval: unknown normalization %q (want %s, %s or %s)", req.Normalize,
			NormalizeTorchvision, NormalizeChannelMean, NormalizePerPixel)
	}
	if err := tf.Validate(); err != nil {
		return EvalResult{}, err
	}
	batch := req.Batch
	if batch <= 0 {
		batch = 10 // one image's ten crops per pass
	}
	nctx := nn.NewContext[float32](e.Backend)
	net, iteration, err := e.loadNet(nctx, def, batch, req.Weights)
	if err != nil {
		return EvalResult{}, err
	}
	j := &job{def: def, label: def.Config.Model}
	src := &imagenetSource{ctx: ctx, e: e, val: spread(ds.Val, req.Limit), tf: tf, batch: batch, classes: def.Classes, warn: e.logf}
	res := EvalResult{Model: def.Config.Model, Weights: req.Weights, Iteration: iteration, Images: src.val.Len(), Backend: e.backendName()}
	trained := func() map[string]*tensor.Tensor { return weightsOf(net) }
	for _, v := range views {
		var ms []metric
		switch v {
		case ViewCenter:
			if ms, _, _, _, err = src.evaluate(net, make([]float32, net.InShape().Size())); err != nil {
				return res, err
			}
		case View10Crop:
			top1, top5, err := src.tenCrop(net, j, trained, nil)
			if err != nil {
				return res, err
			}
			ms = []metric{{Split: results.SplitVal, Name: MetricError10Crop, Value: top1}, {Split: results.SplitVal, Name: MetricTop510Crop, Value: top5}}
		case ViewMultiScale:
			top1, top5, err := src.multiScale(j, trained(), nil)
			if err != nil {
				return res, err
			}
			ms = []metric{{Split: results.SplitVal, Name: MetricErrorMulti, Value: top1}, {Split: results.SplitVal, Name: MetricTop5MultiScale, Value: top5}}
		}
		for _, m := range ms {
			res.Metrics = append(res.Metrics, EvalMetric{Split: m.Split, Name: m.Name, Value: m.Value})
		}
	}
	return finishWeightsEval(req, res, net, nctx, src)
}

// finishWeightsEval ends a weights-only evaluation: the layer responses on
// src's evaluation set and the saved weights, when asked for.
func finishWeightsEval(req EvalRequest, res EvalResult, net *nn.Network[float32], nctx *nn.Context[float32], src source) (EvalResult, error) {
	if req.Responses {
		var err error
		if res.Responses, err = measureResponses(net, nctx, src, nil); err != nil {
			return res, err
		}
	}
	if req.SaveWeights != "" {
		if err := saveWeights(req.SaveWeights, net, res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// evaluateRun rebuilds the run's training view and evaluates the weights.
func (e *Env) evaluateRun(ctx context.Context, req EvalRequest) (EvalResult, error) {
	r, err := e.DB.GetRun(req.RunID)
	if err != nil {
		return EvalResult{}, fmt.Errorf("eval: run %s: %w", req.RunID, err)
	}
	var cfg experiments.Config
	if err := json.Unmarshal([]byte(r.ConfigJSON), &cfg); err != nil || cfg.Training == nil || cfg.Eval == nil {
		return EvalResult{}, fmt.Errorf("eval: run %s: its recorded configuration is not a training's (%v)", r.ID, err)
	}
	def, err := DefineRun(cfg)
	if err != nil {
		return EvalResult{}, fmt.Errorf("eval: run %s: %w", r.ID, err)
	}
	path := req.Weights
	if path == "" {
		ck, ok, err := e.DB.LatestCheckpoint(r.ID)
		if err != nil {
			return EvalResult{}, err
		}
		if !ok {
			return EvalResult{}, fmt.Errorf("eval: run %s has no checkpoint; give its weights with --weights", r.ID)
		}
		path = ck.Path
	}
	j := &job{spec: r.Spec, name: r.Name, seed: int(r.Seed), id: r.ID, cfg: cfg, def: def,
		label: fmt.Sprintf("%s/%s seed %d", r.Spec, r.Name, r.Seed)}
	if err := e.dataReady(j); err != nil {
		return EvalResult{}, err
	}
	src, err := e.newSource(ctx, j, seedFor(j.id))
	if err != nil {
		return EvalResult{}, err
	}
	defer src.close()
	if cs, ok := src.(*cifarSource); ok {
		cs.top5 = true
	}
	nctx := nn.NewContext[float32](e.Backend)
	net, iteration, err := e.loadNet(nctx, def, cfg.Training.Batch, path)
	if err != nil {
		return EvalResult{}, err
	}
	res := EvalResult{RunID: r.ID, Model: cfg.Model, Weights: path, Iteration: iteration, Backend: e.backendName()}
	x := make([]float32, net.InShape().Size())
	ms, _, _, _, err := src.evaluate(net, x)
	if err != nil {
		return res, err
	}
	fms, _, err := src.final(net, j)
	if err != nil {
		return res, err
	}
	res.Images = evalImages(src)
	recorded := map[[2]string]float64{}
	if iteration > 0 {
		rms, err := e.DB.Metrics(r.ID, results.MetricFilter{From: iteration, To: iteration})
		if err != nil {
			return res, err
		}
		for _, m := range rms {
			recorded[[2]string{m.Split, m.Name}] = m.Value
		}
	}
	for _, m := range append(ms, fms...) {
		em := EvalMetric{Split: m.Split, Name: m.Name, Value: m.Value}
		em.Recorded, em.HasRecorded = recorded[[2]string{m.Split, m.Name}]
		res.Metrics = append(res.Metrics, em)
	}
	if req.Responses {
		var rec []results.Response
		if r.Status == results.StatusDone && iteration == r.Iterations {
			if rec, err = e.DB.Responses(r.ID); err != nil { // measured on the final weights
				return res, err
			}
		}
		if res.Responses, err = measureResponses(net, nctx, src, rec); err != nil {
			return res, err
		}
	}
	if req.SaveWeights != "" {
		if err := saveWeights(req.SaveWeights, net, res); err != nil {
			return res, err
		}
	}
	if req.Record {
		detail, err := json.Marshal(res)
		if err != nil {
			return res, err
		}
		if err := e.DB.AddEvent(results.Event{RunID: r.ID, Iteration: iteration, Kind: EventEval, Detail: string(detail)}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// evaluateWeights evaluates a state dict on the CIFAR-10 test set.
func (e *Env) evaluateWeights(req EvalRequest) (EvalResult, error) {
	if req.Def.Config.Classes != cifar10.NumClasses || req.Def.Config.Input != 32 {
		return EvalResult{}, fmt.Errorf("eval: --weights without --run evaluates on CIFAR-10 (32x32, 10 classes); %s has %d classes at %dx%d (ImageNet weights: evaluate a trained run with --run)",
			req.Def.Config.Model, req.Def.Config.Classes, req.Def.Config.Input, req.Def.Config.Input)
	}
	ds, err := e.cifar()
	if err != nil {
		return EvalResult{}, err
	}
	train45k, _ := ds.TrainVal()
	test := ds.Test
	if req.Limit > 0 {
		if test, err = test.First(req.Limit); err != nil {
			return EvalResult{}, fmt.Errorf("eval: --limit %d: %w", req.Limit, err)
		}
	}
	batch := req.Batch
	if batch <= 0 {
		batch = 100
	}
	nctx := nn.NewContext[float32](e.Backend)
	net, iteration, err := e.loadNet(nctx, req.Def, batch, req.Weights)
	if err != nil {
		return EvalResult{}, err
	}
	x := make([]float32, net.InShape().Size())
	mean := cifar10.MeanImage(train45k)
	loss, top1, top5 := evaluate(net, test, mean, x, nil, nil)
	res := EvalResult{Model: req.Def.Config.Model, Weights: req.Weights, Iteration: iteration, Images: test.Len(), Backend: e.backendName(),
		Metrics: []EvalMetric{
			{Split: results.SplitTest, Name: results.MetricError, Value: top1},
			{Split: results.SplitTest, Name: results.MetricTop5, Value: top5},
			{Split: results.SplitTest, Name: results.MetricLoss, Value: loss},
		}}
	return finishWeightsEval(req, res, net, nctx, &cifarSource{data: &cifarData{eval: test, mean: mean}})
}

// loadNet builds def for batch images and loads the weights and BN
// statistics of a safetensors file: a checkpoint of ours (its optimizer
// state is ignored; iteration is the checkpoint's) or a state dict
// (iteration 0).
func (e *Env) loadNet(nctx *nn.Context[float32], def *models.Def, batch int, path string) (*nn.Network[float32], int64, error) {
	net, err := netbuild.Build(nctx, def, batch)
	if err != nil {
		return nil, 0, err
	}
	ts, meta, err := tensor.ReadSafetensors(path)
	if err != nil {
		return nil, 0, fmt.Errorf("eval: weights %s: %w", path, err)
	}
	weights := map[string]*tensor.Tensor{}
	for name, t := range ts {
		if !strings.HasPrefix(name, velocityPrefix) {
			weights[name] = t
		}
	}
	if err := netbuild.LoadTensors(net, weights, path); err != nil {
		return nil, 0, fmt.Errorf("eval: %w", err)
	}
	var iteration int64
	if raw, ok := meta["trainer_state"]; ok {
		var st trainerState
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			return nil, 0, fmt.Errorf("eval: %s: bad trainer state: %v", path, err)
		}
		iteration = int64(st.Iteration)
	} else if raw, ok := meta["iteration"]; ok {
		iteration, _ = strconv.ParseInt(raw, 10, 64)
	}
	return net, iteration, nil
}

// saveWeights writes net's weights and BN statistics (PyTorch names) with
// what they are as metadata.
func saveWeights(path string, net *nn.Network[float32], res EvalResult) error {
	meta := map[string]string{"model": res.Model, "source": res.Weights, "iteration": strconv.FormatInt(res.Iteration, 10)}
	if res.RunID != "" {
		meta["run_id"] = res.RunID
	}
	for _, m := range res.Metrics {
		meta[m.Split+"_"+m.Name] = strconv.FormatFloat(m.Value, 'g', -1, 64)
	}
	if err := tensor.WriteSafetensors(path, netbuild.Tensors(net), meta); err != nil {
		return fmt.Errorf("eval: save weights: %w", err)
	}
	return nil
}

// evalImages is the size of a source's evaluation set.
func evalImages(src source) int {
	switch s := src.(type) {
	case *cifarSource:
		return s.data.eval.Len()
	case *imagenetSource:
		return s.val.Len()
	}
	return 0
}
