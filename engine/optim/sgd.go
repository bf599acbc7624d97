// Package optim holds SGD with momentum and weight decay (Sec. 3.4 and
// 4.2: momentum 0.9, weight decay 1e-4) and the paper's learning-rate
// schedules. Optimizer state is plain data so checkpoints can save it.
package optim

import (
	"fmt"
	"math"

	"github.com/resnet-repro/resnet-repro/engine/nn"
)

// SGD is stochastic gradient descent with momentum in the form of Caffe,
// the framework of the paper's released models (paper-targets.md B.1):
//
//	v = momentum*v + lr*(g + decay*w)
//	w = w - v
//
// With a constant lr this equals PyTorch's v = m*v + g; w -= lr*v; they
// differ only in how fast the velocity adapts right after a learning-rate
// change. Weight decay applies to every parameter (conv and fc weights, fc
// bias, BN scale and shift), as in PyTorch and fb.resnet.torch; the paper
// does not say otherwise.
type SGD struct {
	Momentum    float64
	WeightDecay float64
	params      []*nn.Param[float32]
	// Velocity holds one buffer per parameter, in the network's Params order.
	Velocity [][]float32
}

// NewSGD plans the optimizer for params.
func NewSGD(params []*nn.Param[float32], momentum, weightDecay float64) *SGD {
	s := &SGD{Momentum: momentum, WeightDecay: weightDecay, params: params}
	for _, p := range params {
		s.Velocity = append(s.Velocity, make([]float32, len(p.Data)))
	}
	return s
}

// Step applies one update with learning rate lr using each parameter's Grad.
func (s *SGD) Step(lr float64) {
	m, wd, r := float32(s.Momentum), float32(s.WeightDecay), float32(lr)
	for i, p := range s.params {
		v := s.Velocity[i]
		w, g := p.Data, p.Grad
		for j := range w {
			v[j] = m*v[j] + r*(g[j]+wd*w[j])
			w[j] -= v[j]
		}
	}
}

// SetVelocity restores saved state (from a checkpoint).
func (s *SGD) SetVelocity(v [][]float32) error {
	if len(v) != len(s.Velocity) {
		return fmt.Errorf("optimizer state has %d tensors, network has %d", len(v), len(s.Velocity))
	}
	for i := range v {
		if len(v[i]) != len(s.Velocity[i]) {
			return fmt.Errorf("optimizer state tensor %d (%s) has %d values, want %d", i, s.params[i].Name, len(v[i]), len(s.Velocity[i]))
		}
		copy(s.Velocity[i], v[i])
	}
	return nil
}

// TrainStep is one training iteration of net, whose parameters s updates,
// on the batch x (net.InShape()) with its labels, at learning rate lr:
// forward in training mode (BN on batch statistics), softmax cross-entropy
// (the mean over the batch), backward, and the SGD update. It returns the
// batch's mean loss and its count of top-1 errors. A NaN or infinite loss
// skips backward and update: the caller ends the run as diverged. It is
// the step of every training run and of `repro bench --mode train`.
func (s *SGD) TrainStep(net *nn.Network[float32], x []float32, labels []int, lr float64) (loss float64, errs int) {
	net.Forward(x, true)
	loss, errs = net.Loss(labels)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, errs
	}
	net.Backward()
	s.Step(lr)
	return loss, errs
}
