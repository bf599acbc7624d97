package nn

import (
	"math"

	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/engine/kernels"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
)

// Context is what every layer of one network shares: the compute backend,
// the workspace, and an optional probe.
type Context[F tensor.Float] struct {
	// Backend does the arithmetic when F is float32; nil means the naive
	// reference kernels (always the case for float64).
	Backend backend.Backend
	WS      *Workspace[F]
	// Probe, when set, observes the output of the BN that follows every 3x3
	// convolution (after BN, before ReLU and addition: the "responses" of
	// Fig. 7). name is the conv's parameter prefix, e.g. "layer1.0.conv2";
	// shape is (N, C, H, W). The slice is only valid during the call.
	Probe func(name string, y []F, shape tensor.Shape)
}

// NewContext returns a context over be (nil for the reference kernels).
func NewContext[F tensor.Float](be backend.Backend) *Context[F] {
	return &Context[F]{Backend: be, WS: NewWorkspace[F]()}
}

func (c *Context[F]) useBackend() bool {
	var zero F
	_, is32 := any(zero).(float32)
	return is32 && c.Backend != nil
}

type convOp[F tensor.Float] interface {
	Forward(y, x, w []F)
	BackwardData(dx, dy, w []F)
	BackwardWeights(dw, dy, x []F)
}

type refConvOp[F tensor.Float] struct{ p kernels.ConvParams }

func (o refConvOp[F]) Forward(y, x, w []F)           { kernels.ConvForward(y, x, w, o.p) }
func (o refConvOp[F]) BackwardData(dx, dy, w []F)    { kernels.ConvBackwardData(dx, dy, w, o.p) }
func (o refConvOp[F]) BackwardWeights(dw, dy, x []F) { kernels.ConvBackwardWeights(dw, dy, x, o.p) }

type linearOp[F tensor.Float] interface {
	Forward(y, x, w, b []F)
	BackwardData(dx, dy, w []F)
	BackwardWeights(dw, db, dy, x []F)
}

type refLinearOp[F tensor.Float] struct{ p kernels.LinearParams }

func (o refLinearOp[F]) Forward(y, x, w, b []F)     { kernels.LinearForward(y, x, w, b, o.p) }
func (o refLinearOp[F]) BackwardData(dx, dy, w []F) { kernels.LinearBackwardData(dx, dy, w, o.p) }
func (o refLinearOp[F]) BackwardWeights(dw, db, dy, x []F) {
	kernels.LinearBackwardWeights(dw, db, dy, x, o.p)
}

// Conv2D is a convolution without bias; see kernels.ConvParams for the math
// and shapes. Its weight is named "<name>.weight", shape (K, C, R, S).
type Conv2D[F tensor.Float] struct {
	P      kernels.ConvParams
	Name   string
	Weight *Param[F]
	op     convOp[F]
}

// NewConv2D plans a convolution of shape p.
func NewConv2D[F tensor.Float](ctx *Context[F], name string, p kernels.ConvParams) *Conv2D[F] {
	p.Validate()
	c := &Conv2D[F]{P: p, Name: name, Weight: newParam[F](name+".weight", "conv", p.C*p.R*p.S, p.K, p.C, p.R, p.S)}
	if ctx.useBackend() {
		c.op = any(ctx.Backend.NewConv(p)).(convOp[F])
	} else {
		c.op = refConvOp[F]{p}
	}
	return c
}

// Forward computes y = conv(x, W).
func (c *Conv2D[F]) Forward(y, x []F) { c.op.Forward(y, x, c.Weight.Data) }

// BackwardWeights writes dL/dW into Weight.Grad from dy and the forward input x.
func (c *Conv2D[F]) BackwardWeights(dy, x []F) { c.op.BackwardWeights(c.Weight.Grad, dy, x) }

// BackwardData writes dL/dx into dx (overwritten).
func (c *Conv2D[F]) BackwardData(dx, dy []F) { c.op.BackwardData(dx, dy, c.Weight.Data) }

// BNMomentum is the weight of the current batch in the running averages,
// running = (1-m)*running + m*batch, as in PyTorch (m = 0.1).
const BNMomentum = 0.1

// BNEps is added to the variance (PyTorch's and cuDNN's default).
const BNEps = 1e-5

// BatchNorm normalizes each channel (Sec. 3.4: BN right after each conv).
// Parameters "<name>.weight" (gamma, init 1) and "<name>.bias" (beta, init
// 0); states "<name>.running_mean" (init 0) and "<name>.running_var" (init
// 1, updated with the unbiased batch variance as PyTorch does).
type BatchNorm[F tensor.Float] struct {
	P                       kernels.BNParams
	Weight, Bias            *Param[F]
	RunningMean, RunningVar *State[F]
	mean, variance, invstd  []F // batch statistics of the last training Forward
	scale, shift            []F // the affine map of the last Forward
	lastTraining            bool
}

// NewBatchNorm plans BN over x of shape (N, C, HW).
func NewBatchNorm[F tensor.Float](name string, n, c, hw int) *BatchNorm[F] {
	b := &BatchNorm[F]{
		P:           kernels.BNParams{N: n, C: c, HW: hw, Eps: BNEps},
		Weight:      newParam[F](name+".weight", "bn_weight", 0, c),
		Bias:        newParam[F](name+".bias", "bn_bias", 0, c),
		RunningMean: &State[F]{Name: name + ".running_mean", Shape: tensor.Shape{c}, Data: make([]F, c)},
		RunningVar:  &State[F]{Name: name + ".running_var", Shape: tensor.Shape{c}, Data: make([]F, c)},
		mean:        make([]F, c), variance: make([]F, c), invstd: make([]F, c),
		scale: make([]F, c), shift: make([]F, c),
	}
	for i := range b.Weight.Data {
		b.Weight.Data[i] = 1
		b.RunningVar.Data[i] = 1
	}
	return b
}

// Forward computes y = gamma*(x-mu)/sqrt(var+eps) + beta with the batch's
// statistics (training, which also updates the running averages) or the
// running statistics (inference). y may alias nothing of x.
func (b *BatchNorm[F]) Forward(y, x []F, training bool) {
	b.lastTraining = training
	if training {
		kernels.BNForwardTrain(y, b.mean, b.variance, b.invstd, x, b.Weight.Data, b.Bias.Data, b.P)
		m := float64(b.P.N * b.P.HW)
		unbias := 1.0
		if m > 1 {
			unbias = m / (m - 1)
		}
		for c := range b.mean {
			b.RunningMean.Data[c] = F((1-BNMomentum)*float64(b.RunningMean.Data[c]) + BNMomentum*float64(b.mean[c]))
			b.RunningVar.Data[c] = F((1-BNMomentum)*float64(b.RunningVar.Data[c]) + BNMomentum*float64(b.variance[c])*unbias)
			b.scale[c] = b.Weight.Data[c] * b.invstd[c]
			b.shift[c] = b.Bias.Data[c] - b.mean[c]*b.scale[c]
		}
		return
	}
	kernels.BNForwardInfer(y, x, b.Weight.Data, b.Bias.Data, b.RunningMean.Data, b.RunningVar.Data, b.P)
	for c := range b.scale {
		b.scale[c] = b.Weight.Data[c] / F(math.Sqrt(float64(b.RunningVar.Data[c])+BNEps))
		b.shift[c] = b.Bias.Data[c] - b.RunningMean.Data[c]*b.scale[c]
	}
}

// Recompute writes the same output as the last Forward on the same x
// (the affine map y = scale*x + shift that Forward used), without touching
// the running statistics. Backward passes use it instead of storing y.
func (b *BatchNorm[F]) Recompute(y, x []F) {
	hw := b.P.HW
	for n := 0; n < b.P.N; n++ {
		for c := 0; c < b.P.C; c++ {
			o := (n*b.P.C + c) * hw
			s, t := b.scale[c], b.shift[c]
			for i, v := range x[o : o+hw] {
				y[o+i] = v*s + t
			}
		}
	}
}

// Backward writes dx (overwritten) and the gradients of gamma and beta from
// dy and the forward input x, for the mode of the last Forward. In
// inference mode BN is the fixed affine map above, so dx = scale*dy.
func (b *BatchNorm[F]) Backward(dx, dy, x []F) {
	if b.lastTraining {
		kernels.BNBackward(dx, b.Weight.Grad, b.Bias.Grad, dy, x, b.Weight.Data, b.mean, b.invstd, b.P)
		return
	}
	hw := b.P.HW
	for c := 0; c < b.P.C; c++ {
		is := 1 / math.Sqrt(float64(b.RunningVar.Data[c])+BNEps)
		mu := float64(b.RunningMean.Data[c])
		var sdy, sdyx float64
		for n := 0; n < b.P.N; n++ {
			o := (n*b.P.C + c) * hw
			for i, g := range dy[o : o+hw] {
				sdy += float64(g)
				sdyx += float64(g) * (float64(x[o+i]) - mu) * is
				dx[o+i] = g * b.scale[c]
			}
		}
		b.Bias.Grad[c], b.Weight.Grad[c] = F(sdy), F(sdyx)
	}
}

// Params returns gamma and beta.
func (b *BatchNorm[F]) Params() []*Param[F] { return []*Param[F]{b.Weight, b.Bias} }

// States returns the running mean and variance.
func (b *BatchNorm[F]) States() []*State[F] { return []*State[F]{b.RunningMean, b.RunningVar} }

// Linear is a fully connected layer with bias, y = x W^T + b, parameters
// "<name>.weight" (Out, In) and "<name>.bias" (Out).
type Linear[F tensor.Float] struct {
	P            kernels.LinearParams
	Weight, Bias *Param[F]
	op           linearOp[F]
}

// NewLinear plans a linear layer for a batch of p.N rows.
func NewLinear[F tensor.Float](ctx *Context[F], name string, p kernels.LinearParams) *Linear[F] {
	l := &Linear[F]{P: p,
		Weight: newParam[F](name+".weight", "linear", p.In, p.Out, p.In),
		Bias:   newParam[F](name+".bias", "bias", 0, p.Out)}
	if ctx.useBackend() {
		l.op = any(ctx.Backend.NewLinear(p)).(linearOp[F])
	} else {
		l.op = refLinearOp[F]{p}
	}
	return l
}

// Forward computes y = x W^T + b.
func (l *Linear[F]) Forward(y, x []F) { l.op.Forward(y, x, l.Weight.Data, l.Bias.Data) }

// Backward writes the weight and bias gradients and, if dx is non-nil, dx.
func (l *Linear[F]) Backward(dx, dy, x []F) {
	l.op.BackwardWeights(l.Weight.Grad, l.Bias.Grad, dy, x)
	if dx != nil {
		l.op.BackwardData(dx, dy, l.Weight.Data)
	}
}
