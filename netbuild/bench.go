package netbuild

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/engine/nn"
	"github.com/resnet-repro/resnet-repro/engine/optim"
	"github.com/resnet-repro/resnet-repro/models"
)

// BenchConfig is one speed measurement of a network: Batch images per
// step, Iters timed steps after two untimed warm-up steps, training steps
// (optim.SGD.TrainStep, the step of every run: momentum 0.9, weight decay
// 1e-4, LR 0.01) or inference forward passes. Started, if set, is called
// after the warm-up, before the first timed step (a CPU profile starts
// there); the function it returns is called after the last.
type BenchConfig struct {
	Batch, Iters int
	Train        bool
	Started      func() (stop func(), err error)
}

// BenchResult holds the measured step times in seconds, sorted.
type BenchResult struct {
	StepSeconds []float64
}

// Median is the median step time in seconds.
func (r BenchResult) Median() float64 { return r.StepSeconds[len(r.StepSeconds)/2] }

// Bench builds d on be (He init, seed 1) and times its steps on fixed
// random inputs: N(0, 1) pixels and uniform labels from a PCG(1, 2) stream.
func Bench(be backend.Backend, d *models.Def, cfg BenchConfig) (BenchResult, error) {
	net, err := Build(nn.NewContext[float32](be), d, cfg.Batch)
	if err != nil {
		return BenchResult{}, err
	}
	net.InitHe(1)
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, net.InShape().Size())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, cfg.Batch)
	for i := range labels {
		labels[i] = rng.IntN(d.Classes)
	}
	opt := optim.NewSGD(net.Params(), 0.9, 1e-4)
	step := func() {
		if cfg.Train {
			opt.TrainStep(net, x, labels, 0.01)
		} else {
			net.Forward(x, false)
		}
	}
	for i := 0; i < 2; i++ {
		step()
	}
	if cfg.Started != nil {
		stop, err := cfg.Started()
		if err != nil {
			return BenchResult{}, err
		}
		defer stop()
	}
	times := make([]float64, cfg.Iters)
	for i := range times {
		t0 := time.Now()
		step()
		times[i] = time.Since(t0).Seconds()
	}
	slices.Sort(times)
	return BenchResult{StepSeconds: times}, nil
}
