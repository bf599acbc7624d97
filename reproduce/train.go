package reproduce

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/resnet-repro/resnet-repro/datasets/cifar10"
	"github.com/resnet-repro/resnet-repro/engine/kernels"
	"github.com/resnet-repro/resnet-repro/engine/nn"
	"github.com/resnet-repro/resnet-repro/engine/optim"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/models"
	"github.com/resnet-repro/resnet-repro/netbuild"
	"github.com/resnet-repro/resnet-repro/results"
)

// errDiverged marks a run whose loss became NaN or Inf.
var errDiverged = errors.New("diverged")

// errStopped marks a run stopped on request (Ctrl-C, or a test's stop hook);
// its last checkpoint stands and the next `repro run` resumes it.
var errStopped = errors.New("stopped")

// seedFor derives the run's random seed (weights, batch order,
// augmentation) from its identity, so each seed of a multi-seed run differs
// and a resumed run uses the same one.
func seedFor(runID string) uint64 {
	h := sha256.Sum256([]byte(runID))
	return binary.LittleEndian.Uint64(h[:8])
}

// trainerState is the part of a checkpoint that is not a tensor.
type trainerState struct {
	RunID     string         `json:"run_id"`
	Iteration int            `json:"iteration"` // iterations completed
	Schedule  optim.Schedule `json:"schedule"`
	Window    []float64      `json:"window"` // recent training errors for the warm-up rule
	Wall      float64        `json:"wall_seconds"`
}

// job is one run x seed being trained.
type job struct {
	spec  string
	name  string // the run's name within the spec
	seed  int
	id    string
	cfg   experiments.Config
	def   *models.Def
	label string // "table6/resnet-20 seed 1"
}

// cifarData holds the splits a CIFAR-10 run trains and evaluates on: val
// is the 5,000 held-out training images of the 45k/5k split (nil with
// "50k"); the evaluation subset applies to it as to eval.
type cifarData struct {
	train, eval, val *cifar10.Split
	mean             []float32
}

func (e *Env) cifarSplits(t *experiments.Training, ev *experiments.Eval) (*cifarData, error) {
	ds, err := e.cifar()
	if err != nil {
		return nil, err
	}
	train := ds.Train
	var val *cifar10.Split
	switch t.Split {
	case "45k/5k":
		train, val = ds.TrainVal()
	case "50k", "":
	default:
		return nil, fmt.Errorf("unknown CIFAR-10 split %q", t.Split)
	}
	if t.TrainSubset > 0 && t.TrainSubset < train.Len() {
		if train, err = train.Subset(t.TrainSubset); err != nil {
			return nil, err
		}
	}
	var eval *cifar10.Split
	switch ev.Set {
	case "test", "":
		eval = ds.Test
	default:
		return nil, fmt.Errorf("CIFAR-10 has no evaluation set %q", ev.Set)
	}
	if ev.Subset > 0 && ev.Subset < eval.Len() {
		if eval, err = eval.Subset(ev.Subset); err != nil {
			return nil, err
		}
	}
	if val != nil && ev.Subset > 0 && ev.Subset < val.Len() {
		if val, err = val.Subset(ev.Subset); err != nil {
			return nil, err
		}
	}
	return &cifarData{train: train, eval: eval, val: val, mean: cifar10.MeanImage(train)}, nil
}

// schedule builds the run's learning-rate schedule from the recipe.
func schedule(t *experiments.Training) *optim.Schedule {
	s := t.Schedule
	factor := 10.0
	if s.Factor > 0 {
		factor = 1 / s.Factor
	}
	o := optim.NewStepSchedule(s.BaseLR, factor, s.Steps)
	if s.Warmup != nil {
		o.WithWarmup(s.Warmup.LR, s.Warmup.UntilTrainErrorBelow/100, s.Warmup.MaxIterations)
	}
	if s.Plateau != nil {
		o.WithPlateau(s.Plateau.Patience, s.Plateau.Threshold/100)
	}
	return o
}

// train runs (or resumes) one job to completion.
func (e *Env) train(ctx context.Context, j *job) error {
	t, ev := j.cfg.Training, j.cfg.Eval
	seed := seedFor(j.id)
	src, err := e.newSource(ctx, j, seed)
	if err != nil {
		return err
	}
	defer src.close()
	nctx := nn.NewContext[float32](e.Backend)
	net, err := netbuild.Build(nctx, j.def, t.Batch)
	if err != nil {
		return err
	}
	net.InitHe(seed)
	opt := optim.NewSGD(net.Params(), t.Momentum, t.WeightDecay)
	st := &trainerState{RunID: j.id, Schedule: *schedule(t)}
	window := 0
	if w := t.Schedule.Warmup; w != nil {
		window = max(1, w.Window)
	}

	exact, err := e.segmentSettings(j)
	if err != nil {
		return err
	}
	if resumed, err := e.resume(j, net, opt, st); err != nil {
		return err
	} else if resumed {
		e.event(j.id, st.Iteration, results.EventResume, fmt.Sprintf("from checkpoint at iteration %d", st.Iteration))
		e.logf("%s: resuming at iteration %d/%d", j.label, st.Iteration, t.Iterations)
	} else {
		e.event(j.id, 0, results.EventStart, "")
	}
	if err := e.DB.MarkStarted(j.id, results.StartInfo{Host: e.Host, CodeVersion: e.CodeVersion, Backend: e.backendName()}); err != nil {
		return err
	}
	seg, err := e.DB.StartSegment(results.Segment{RunID: j.id, FromIteration: int64(st.Iteration), Host: e.Host, PID: os.Getpid(),
		CodeVersion: e.CodeVersion, Backend: e.backendName(), Threads: e.Backend.Threads(), CPU: cpuFeatures(), Exact: exact})
	if err != nil {
		return err
	}
	defer func() {
		if err := e.DB.EndSegment(j.id, seg.Started, int64(st.Iteration)); err != nil {
			e.logf("warning: %s: recording the end of its segment: %v", j.label, err)
		}
	}()

	if err := src.start(st.Iteration); err != nil {
		return err
	}
	perEpoch := src.epochLen()
	interval := ev.Interval
	if interval <= 0 || interval > t.Iterations {
		interval = t.Iterations
	}
	evalX := make([]float32, net.InShape().Size())
	var sumLoss float64
	var sumErr, seen int
	began := time.Now().Add(-time.Duration(st.Wall * float64(time.Second)))
	intervalStart := time.Now()
	live, lastShown, every := e.live(), time.Now(), e.liveInterval()
	for it := st.Iteration; it < t.Iterations; it++ {
		if err := ctx.Err(); err != nil || (e.StopAt > 0 && it == e.StopAt) {
			return fmt.Errorf("%w at iteration %d; its last checkpoint is at iteration %d", errStopped, it, st.Iteration)
		}
		x, labels, err := src.next()
		if err != nil {
			return err
		}
		lr := st.Schedule.LR(it)
		net.Forward(x, true)
		loss, errs := net.Loss(labels)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			e.event(j.id, it, results.EventDiverged, fmt.Sprintf("loss %v at iteration %d (lr %g)", loss, it, lr))
			e.DB.SetProgress(j.id, int64(it))
			return fmt.Errorf("%w: loss %v at iteration %d", errDiverged, loss, it)
		}
		net.Backward()
		opt.Step(lr)
		sumLoss += loss
		sumErr += errs
		seen += t.Batch
		if live {
			if now := time.Now(); now.Sub(lastShown) >= every && (it+1)%interval != 0 && it+1 != t.Iterations {
				e.liveLine(j, it+1, t.Iterations, sumLoss/float64(seen/t.Batch), 100*float64(sumErr)/float64(seen), lr,
					float64(seen)/now.Sub(intervalStart).Seconds())
				lastShown = now
			}
		}
		if window > 0 && st.Schedule.WarmupActive {
			st.Window = append(st.Window, float64(errs)/float64(t.Batch))
			if len(st.Window) > window {
				st.Window = st.Window[1:]
			}
			if len(st.Window) == window {
				if msg := st.Schedule.ObserveTrainError(it+1, mean(st.Window)); msg != "" {
					e.event(j.id, it+1, results.EventLRChange, msg)
					e.logf("%s: %s", j.label, msg)
				}
			}
		}
		done := it + 1
		if done%interval != 0 && done != t.Iterations {
			continue
		}
		// Evaluation boundary: log, evaluate, checkpoint.
		wall := time.Since(began).Seconds()
		epoch := float64(done) / perEpoch
		evs, watched, shown, shownName, err := src.evaluate(net, evalX)
		if err != nil {
			return err
		}
		ms := []results.Metric{
			{RunID: j.id, Iteration: int64(done), Epoch: epoch, Split: results.SplitTrain, Name: results.MetricLoss, Value: sumLoss / float64(seen/t.Batch), WallSeconds: wall},
			{RunID: j.id, Iteration: int64(done), Epoch: epoch, Split: results.SplitTrain, Name: results.MetricError, Value: 100 * float64(sumErr) / float64(seen), WallSeconds: wall},
		}
		for _, m := range evs {
			ms = append(ms, results.Metric{RunID: j.id, Iteration: int64(done), Epoch: epoch, Split: m.split, Name: m.name, Value: m.value, WallSeconds: wall})
		}
		ms = append(ms, results.Metric{RunID: j.id, Iteration: int64(done), Epoch: epoch, Split: results.SplitTrain, Name: "lr", Value: lr, WallSeconds: wall})
		if err := e.DB.AddMetrics(ms); err != nil {
			return err
		}
		if msg := st.Schedule.ObserveValError(done, watched/100); msg != "" {
			e.event(j.id, done, results.EventLRChange, msg)
		}
		rate := float64(seen) / time.Since(intervalStart).Seconds()
		e.progress(j, done, t.Iterations, sumLoss/float64(seen/t.Batch), 100*float64(sumErr)/float64(seen), shown, shownName, lr, rate)
		sumLoss, sumErr, seen = 0, 0, 0
		st.Iteration, st.Wall = done, wall
		if err := e.checkpoint(j, net, opt, st); err != nil {
			return err
		}
		if err := e.DB.SetProgress(j.id, int64(done)); err != nil {
			return err
		}
		intervalStart = time.Now()
	}
	// The recipe's final views (recorded at the last iteration; a run
	// interrupted here redoes them on resume), and the predictions of
	// ImageNet-family nets for ensembles.
	fms, preds, err := src.final(net, j)
	if err != nil {
		return err
	}
	if preds != nil {
		preds.RunID, preds.Iteration = j.id, int64(t.Iterations)
		if err := e.DB.ReplacePredictions(preds); err != nil {
			return err
		}
	}
	if len(fms) > 0 {
		wall := st.Wall
		ms := make([]results.Metric, len(fms))
		for i, m := range fms {
			ms[i] = results.Metric{RunID: j.id, Iteration: int64(t.Iterations), Epoch: float64(t.Iterations) / perEpoch, Split: m.split, Name: m.name, Value: m.value, WallSeconds: wall}
		}
		if err := e.DB.AddMetrics(ms); err != nil {
			return err
		}
	}
	// Fig. 7: standard deviation of each 3x3 layer's response over the
	// evaluation set, in inference mode.
	rs, err := responses(net, nctx, src, evalX, j.id)
	if err != nil {
		return err
	}
	return e.DB.ReplaceResponses(j.id, rs)
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// evaluate runs the network in inference mode over a CIFAR-10 split
// (single view, the original image, Sec. 4.2) and returns the mean loss and
// the top-1 and top-5 errors in percent. A last partial batch is padded with
// zeros (inference-mode BN treats images independently) and only its real
// rows count. probe, if set, is called with the number of real rows before
// each batch; keep, if set, gets every real row's softmax probabilities.
func evaluate(net *nn.Network[float32], split *cifar10.Split, mean []float32, x []float32, probe func(n int), keep *results.Predictions) (loss, errPct, top5Pct float64) {
	batch := net.Batch()
	el, err := cifar10.NewEvalLoader(split, cifar10.EvalConfig{Batch: batch, Mean: mean})
	if err != nil {
		panic(err) // the split and mean were validated when the run started
	}
	per := len(x) / batch
	labels := make([]int, batch)
	var sumLoss float64
	var errs, misses5, total int
	for {
		b, ok := el.Next()
		if !ok {
			break
		}
		n := len(b.Labels)
		copy(x, b.X.Data)
		for i := n * per; i < len(x); i++ {
			x[i] = 0
		}
		copy(labels, b.Labels)
		if probe != nil {
			probe(n)
		}
		logits := net.Forward(x, false)
		l, e := lossOfRows(logits, labels, n, net.Classes)
		sumLoss += l
		errs += e
		misses5 += topKMisses(logits, labels, n, net.Classes, 5)
		total += n
		if keep != nil {
			keepRows(keep, logits, labels[:n])
		}
	}
	return sumLoss / float64(total), 100 * float64(errs) / float64(total), 100 * float64(misses5) / float64(total)
}

// topKMisses counts the first n rows whose label is not among the k largest
// logits: a label is among them when fewer than k logits exceed its own
// (ties count in its favour). With k >= classes nothing misses.
func topKMisses(logits []float32, labels []int, n, classes, k int) int {
	misses := 0
	for i := 0; i < n; i++ {
		row := logits[i*classes : (i+1)*classes]
		own := row[labels[i]]
		above := 0
		for _, v := range row {
			if v > own {
				above++
			}
		}
		if above >= k {
			misses++
		}
	}
	return misses
}

// lossOfRows sums the cross-entropy and counts top-1 errors of the first n rows.
func lossOfRows(logits []float32, labels []int, n, classes int) (float64, int) {
	var loss float64
	errs := 0
	for i := 0; i < n; i++ {
		l, _, arg := kernels.CrossEntropy(logits[i*classes:(i+1)*classes], labels[i])
		if arg != labels[i] {
			errs++
		}
		loss += l
	}
	return loss, errs
}

// responses measures Fig. 7: for every 3x3 conv, the standard deviation of
// its BN output (before ReLU and addition) over all units and images of the
// evaluation set.
func responses(net *nn.Network[float32], nctx *nn.Context[float32], src source, x []float32, runID string) ([]results.Response, error) {
	type acc struct{ sum, sq, n float64 }
	accs := map[string]*acc{}
	var order []string
	rows := 0
	nctx.Probe = func(name string, y []float32, shape tensor.Shape) {
		a := accs[name]
		if a == nil {
			a = &acc{}
			accs[name] = a
			order = append(order, name)
		}
		per := shape.Size() / shape[0]
		for _, v := range y[:rows*per] {
			a.sum += float64(v)
			a.sq += float64(v) * float64(v)
		}
		a.n += float64(rows * per)
	}
	err := src.probePass(net, x, func(n int) { rows = n })
	nctx.Probe = nil
	if err != nil {
		return nil, err
	}
	out := make([]results.Response, len(order))
	for i, name := range order {
		a := accs[name]
		m := a.sum / a.n
		out[i] = results.Response{RunID: runID, LayerIndex: i, LayerName: name, Std: math.Sqrt(math.Max(0, a.sq/a.n-m*m))}
	}
	return out, nil
}
