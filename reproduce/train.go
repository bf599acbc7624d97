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
	Schedule  optim.Schedule `json:"schedule"`  // with the warm-up rule's window of recent training errors
	// Window is where checkpoints written before the schedule kept the
	// warm-up window held it; loadCheckpoint moves it into Schedule.
	Window []float64 `json:"window,omitempty"`
	Wall   float64   `json:"wall_seconds"`
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
		o.WithWarmup(s.Warmup.LR, s.Warmup.UntilTrainErrorBelow/100, s.Warmup.MaxIterations, s.Warmup.Window)
	}
	if s.Plateau != nil {
		o.WithPlateau(s.Plateau.Patience, s.Plateau.Threshold/100)
	}
	return o
}

// train runs (or resumes) one job to completion: it sets the run up
// (network, optimizer, resumed state), trains it in a loop of steps whose
// hooks evaluate, record and checkpoint at every evaluation boundary, and
// finishes it (final views, predictions, Fig. 7 responses).
func (e *Env) train(ctx context.Context, j *job) error {
	l, err := e.newTrainLoop(ctx, j)
	if err != nil {
		return err
	}
	defer l.src.close()
	if err := l.begin(); err != nil {
		return err
	}
	defer l.endSegment()
	if err := l.run(ctx); err != nil {
		return err
	}
	return l.finish()
}

// trainLoop is one job's training: its network, optimizer and data, the
// state a checkpoint keeps, and the sums of the current evaluation
// interval.
type trainLoop struct {
	e   *Env
	j   *job
	rec *results.Recorder
	// checkpoints finds, loads, saves and prunes the run's checkpoints.
	checkpoints *runCheckpoints
	nctx        *nn.Context[float32]
	net         *nn.Network[float32]
	opt         *optim.SGD
	st          *trainerState
	src         source

	evalX    []float32 // the network's input buffer for evaluations
	interval int       // iterations between evaluation boundaries
	perEpoch float64   // iterations in one epoch of the training set
	segment  results.Segment

	// The current evaluation interval: training loss and errors summed over
	// its batches, images seen, the rate of its last step, and its start.
	sumLoss       float64
	sumErr, seen  int
	lr            float64
	began         time.Time // when the run began, counting the wall time of earlier segments
	intervalStart time.Time
	wall          float64 // seconds of training at the last boundary
	lastShown     time.Time
}

// hook is work the loop does when the number of completed iterations is a
// multiple of every, and after the last iteration.
type hook struct {
	every int
	run   func(done int) error
}

// newTrainLoop builds the job's network (He init from the run's seed), its
// optimizer and data source, and restores its latest checkpoint if any.
func (e *Env) newTrainLoop(ctx context.Context, j *job) (*trainLoop, error) {
	t := j.cfg.Training
	seed := seedFor(j.id)
	src, err := e.newSource(ctx, j, seed)
	if err != nil {
		return nil, err
	}
	l := &trainLoop{e: e, j: j, rec: e.DB.Recorder(j.id), checkpoints: e.checkpointsOf(j), src: src, nctx: nn.NewContext[float32](e.Backend)}
	if l.net, err = netbuild.Build(l.nctx, j.def, t.Batch); err != nil {
		src.close()
		return nil, err
	}
	l.net.InitHe(seed)
	l.opt = optim.NewSGD(l.net.Params(), t.Momentum, t.WeightDecay)
	l.st = &trainerState{RunID: j.id, Schedule: *schedule(t)}
	l.interval = j.cfg.Eval.Interval
	if l.interval <= 0 || l.interval > t.Iterations {
		l.interval = t.Iterations
	}
	l.evalX = make([]float32, l.net.InShape().Size())
	return l, nil
}

// begin resumes the run from its latest checkpoint (or records its start),
// marks it running, opens its segment and starts the training stream.
func (l *trainLoop) begin() error {
	e, j := l.e, l.j
	exact, err := e.segmentSettings(j)
	if err != nil {
		return err
	}
	if resumed, err := l.checkpoints.resume(l.net, l.opt, l.st); err != nil {
		return err
	} else if resumed {
		l.event(l.st.Iteration, results.EventResume, fmt.Sprintf("from checkpoint at iteration %d", l.st.Iteration))
		e.logf("%s: resuming at iteration %d/%d", j.label, l.st.Iteration, j.cfg.Training.Iterations)
	} else {
		l.event(0, results.EventStart, "")
	}
	if err := l.rec.Started(results.StartInfo{Host: e.Host, CodeVersion: e.CodeVersion, Backend: e.backendName()}); err != nil {
		return err
	}
	l.segment, err = l.rec.StartSegment(results.Segment{FromIteration: int64(l.st.Iteration), Host: e.Host, PID: os.Getpid(),
		CodeVersion: e.CodeVersion, Backend: e.backendName(), Threads: e.Backend.Threads(), CPU: cpuFeatures(), Exact: exact})
	if err != nil {
		return err
	}
	if err := l.src.start(l.st.Iteration); err != nil {
		l.endSegment()
		return err
	}
	l.perEpoch = l.src.epochLen()
	l.began = time.Now().Add(-time.Duration(l.st.Wall * float64(time.Second)))
	l.intervalStart, l.lastShown = time.Now(), time.Now()
	return nil
}

// endSegment closes the segment at the last checkpointed iteration.
func (l *trainLoop) endSegment() {
	if err := l.rec.EndSegment(l.segment.Started, l.st.Iteration); err != nil {
		l.e.logf("warning: %s: recording the end of its segment: %v", l.j.label, err)
	}
}

// event records an event of the run (Env.event: a failure is a warning).
func (l *trainLoop) event(it int, kind, detail string) { l.e.event(l.j.id, it, kind, detail) }

// hooks are the loop's work besides the step, in the order it runs at an
// evaluation boundary: the live progress line (between boundaries, on a
// terminal), then evaluation and its record, then the checkpoint.
func (l *trainLoop) hooks() []hook {
	var hs []hook
	if l.e.live() {
		hs = append(hs, hook{every: 1, run: l.showLive})
	}
	return append(hs, hook{every: l.interval, run: l.evaluate}, hook{every: l.interval, run: l.checkpoint})
}

// run trains from the resumed iteration to the last, stopping (with its
// last checkpoint standing) when ctx ends or at the Env's StopAt.
func (l *trainLoop) run(ctx context.Context) error {
	total := l.j.cfg.Training.Iterations
	hooks := l.hooks()
	for it := l.st.Iteration; it < total; it++ {
		if err := ctx.Err(); err != nil || (l.e.StopAt > 0 && it == l.e.StopAt) {
			return fmt.Errorf("%w at iteration %d; its last checkpoint is at iteration %d", errStopped, it, l.st.Iteration)
		}
		if err := l.step(it); err != nil {
			return err
		}
		done := it + 1
		for _, h := range hooks {
			if done%h.every == 0 || done == total {
				if err := h.run(done); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// step trains iteration it (0-based): optim's TrainStep (forward, loss,
// backward, SGD update) at the schedule's rate, and feeds the batch error to the warm-up
// rule. A NaN or infinite loss ends the run as diverged.
func (l *trainLoop) step(it int) error {
	t := l.j.cfg.Training
	x, labels, err := l.src.next()
	if err != nil {
		return err
	}
	l.lr = l.st.Schedule.LR(it)
	loss, errs := l.opt.TrainStep(l.net, x, labels, l.lr)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		l.event(it, results.EventDiverged, fmt.Sprintf("loss %v at iteration %d (lr %g)", loss, it, l.lr))
		l.rec.Progress(it)
		return fmt.Errorf("%w: loss %v at iteration %d", errDiverged, loss, it)
	}
	l.sumLoss += loss
	l.sumErr += errs
	l.seen += t.Batch
	if msg := l.st.Schedule.ObserveBatchError(it+1, float64(errs)/float64(t.Batch)); msg != "" {
		l.event(it+1, results.EventLRChange, msg)
		l.e.logf("%s: %s", l.j.label, msg)
	}
	return nil
}

// trainLoss and trainErr are the interval's mean training loss and error (%).
func (l *trainLoop) trainLoss() float64 { return l.sumLoss / float64(l.seen/l.j.cfg.Training.Batch) }
func (l *trainLoop) trainErr() float64  { return 100 * float64(l.sumErr) / float64(l.seen) }

// showLive redraws the terminal's progress line between boundaries, at most
// once per the Env's live interval.
func (l *trainLoop) showLive(done int) error {
	total := l.j.cfg.Training.Iterations
	if done%l.interval == 0 || done == total {
		return nil // the boundary prints its own line
	}
	if now := time.Now(); now.Sub(l.lastShown) >= l.e.liveInterval() {
		l.e.liveLine(l.j, done, total, l.trainLoss(), l.trainErr(), l.lr, float64(l.seen)/now.Sub(l.intervalStart).Seconds())
		l.lastShown = now
	}
	return nil
}

// evaluate is the boundary's evaluation: the interval's training loss and
// error, the source's evaluations and the rate, recorded at iteration done;
// the plateau rule sees the watched error; the progress line is printed.
func (l *trainLoop) evaluate(done int) error {
	l.wall = time.Since(l.began).Seconds()
	evs, watched, shown, shownName, err := l.src.evaluate(l.net, l.evalX)
	if err != nil {
		return err
	}
	vs := append([]results.Value{
		{Split: results.SplitTrain, Name: results.MetricLoss, Value: l.trainLoss()},
		{Split: results.SplitTrain, Name: results.MetricError, Value: l.trainErr()},
	}, evs...)
	vs = append(vs, results.Value{Split: results.SplitTrain, Name: "lr", Value: l.lr})
	if err := l.rec.Values(done, float64(done)/l.perEpoch, l.wall, vs); err != nil {
		return err
	}
	if msg := l.st.Schedule.ObserveValError(done, watched/100); msg != "" {
		l.event(done, results.EventLRChange, msg)
	}
	rate := float64(l.seen) / time.Since(l.intervalStart).Seconds()
	l.e.progress(l.j, done, l.j.cfg.Training.Iterations, l.trainLoss(), l.trainErr(), shown, shownName, l.lr, rate)
	l.sumLoss, l.sumErr, l.seen = 0, 0, 0
	return nil
}

// checkpoint ends the boundary: the state at iteration done is written,
// the run's progress recorded, and the next interval starts.
func (l *trainLoop) checkpoint(done int) error {
	l.st.Iteration, l.st.Wall = done, l.wall
	if err := l.checkpoints.save(l.net, l.opt, l.st); err != nil {
		return err
	}
	if err := l.rec.Progress(done); err != nil {
		return err
	}
	l.intervalStart = time.Now()
	return nil
}

// finish records the recipe's final views and the predictions of
// ImageNet-family nets (for ensembles) at the last iteration (a run
// interrupted here redoes them on resume), and Fig. 7's responses: the std
// of each 3x3 layer's output over the evaluation set, in inference mode.
func (l *trainLoop) finish() error {
	total := l.j.cfg.Training.Iterations
	fms, preds, err := l.src.final(l.net, l.j)
	if err != nil {
		return err
	}
	if preds != nil {
		if err := l.rec.Predictions(total, preds); err != nil {
			return err
		}
	}
	if len(fms) > 0 {
		if err := l.rec.Values(total, float64(total)/l.perEpoch, l.st.Wall, fms); err != nil {
			return err
		}
	}
	rs, err := responses(l.net, l.nctx, l.src, l.evalX, l.j.id)
	if err != nil {
		return err
	}
	return l.rec.Responses(rs)
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
