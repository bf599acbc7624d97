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
	// Ops does the arithmetic. Activations live in its layout (see
	// engine/backend's layout contract); parameters are always plain.
	Ops backend.Ops[F]
	WS  *Workspace[F]
	// Probe, when set, observes the output of the BN that follows every 3x3
	// convolution (after BN, before ReLU and addition: the "responses" of
	// Fig. 7), as a plain NCHW slice valid only during the call. name is the
	// conv's parameter prefix, e.g. "layer1.0.conv2"; shape is (N, C, H, W).
	// Probing costs a layout conversion per BN; it is meant for evaluation
	// passes.
	Probe func(name string, y []F, shape tensor.Shape)
}

// NewContext returns a context over ops; nil means the pure-Go reference
// backend (single-threaded), the only one for float64.
func NewContext[F tensor.Float](ops backend.Ops[F]) *Context[F] {
	if ops == nil {
		ops = backend.ReferenceOf[F](1)
	}
	return &Context[F]{Ops: ops, WS: NewWorkspace[F]()}
}

func actShape(s tensor.Shape) backend.ActShape {
	return backend.ActShape{N: s[0], C: s[1], H: s[2], W: s[3]}
}

// actLen is the buffer length of an activation of logical shape s.
func (c *Context[F]) actLen(s tensor.Shape) int { return c.Ops.ActLen(actShape(s)) }

// Conv2D is a convolution without bias; see kernels.ConvParams for the math
// and shapes. Its weight is named "<name>.weight", shape (K, C, R, S).
type Conv2D[F tensor.Float] struct {
	P      kernels.ConvParams
	Name   string
	Weight *Param[F]
	op     backend.ConvOp[F]
}

// NewConv2D plans a convolution of shape p.
func NewConv2D[F tensor.Float](ctx *Context[F], name string, p kernels.ConvParams) *Conv2D[F] {
	p.Validate()
	return newConv2D(name, p, ctx.Ops.NewConv(p))
}

// NewInputConv2D is the model's first conv: its x is the plain NCHW
// images (backend.Ops.NewInputConv), and it has no BackwardData.
func NewInputConv2D[F tensor.Float](ctx *Context[F], name string, p kernels.ConvParams) *Conv2D[F] {
	p.Validate()
	return newConv2D(name, p, ctx.Ops.NewInputConv(p))
}

func newConv2D[F tensor.Float](name string, p kernels.ConvParams, op backend.ConvOp[F]) *Conv2D[F] {
	return &Conv2D[F]{P: p, Name: name, op: op,
		Weight: newParam[F](name+".weight", "conv", p.C*p.R*p.S, p.K, p.C, p.R, p.S)}
}

// InShape and OutShape are the logical activation shapes.
func (c *Conv2D[F]) InShape() tensor.Shape  { return tensor.Shape{c.P.N, c.P.C, c.P.H, c.P.W} }
func (c *Conv2D[F]) OutShape() tensor.Shape { return tensor.Shape{c.P.N, c.P.K, c.P.P(), c.P.Q()} }

// Forward computes y = conv(x, W).
func (c *Conv2D[F]) Forward(y, x []F) { c.op.Forward(y, x, c.Weight.Data) }

// BackwardWeights writes dL/dW into Weight.Grad from dy and the forward input x.
func (c *Conv2D[F]) BackwardWeights(dy, x []F) { c.op.BackwardWeights(c.Weight.Grad, dy, x) }

// BackwardData writes dL/dx into dx (overwritten).
func (c *Conv2D[F]) BackwardData(dx, dy []F) { c.op.BackwardData(dx, dy, c.Weight.Data) }

// BackwardDataAddReLU writes dx = dL/dx + a where y > 0, else 0
// (backend.ConvOp.BackwardDataAddReLU).
func (c *Conv2D[F]) BackwardDataAddReLU(dx, dy, a, y []F) {
	c.op.BackwardDataAddReLU(dx, dy, c.Weight.Data, a, y)
}

// BNMomentum is the weight of the current batch in the running averages,
// running = (1-m)*running + m*batch, as in PyTorch (m = 0.1).
const BNMomentum = 0.1

// BNEps is added to the variance (PyTorch's and cuDNN's default).
const BNEps = 1e-5

// BatchNorm normalizes each channel (Sec. 3.4: BN right after each conv),
// optionally followed by a fused ReLU. Parameters "<name>.weight" (gamma,
// init 1) and "<name>.bias" (beta, init 0); states "<name>.running_mean"
// (init 0) and "<name>.running_var" (init 1, updated with the unbiased
// batch variance as PyTorch does).
type BatchNorm[F tensor.Float] struct {
	Shape                   tensor.Shape // (N, C, H, W)
	ReLU                    bool
	Weight, Bias            *Param[F]
	RunningMean, RunningVar *State[F]
	ctx                     *Context[F]
	op                      backend.BatchNormOp[F]
	mean, variance          []F // batch statistics (variance biased) of the last training Forward
	scale, shift            []F // the affine map of the last Forward
	lastTraining            bool
	slotX, slotY            *Slot[F] // plain NCHW scratch for probes and inference-mode backward
}

// NewBatchNorm plans BN over activations of logical shape (N, C, H, W).
func NewBatchNorm[F tensor.Float](ctx *Context[F], name string, shape tensor.Shape, relu bool) *BatchNorm[F] {
	n, c, hw := shape[0], shape[1], shape[2]*shape[3]
	b := &BatchNorm[F]{
		Shape: shape.Clone(), ReLU: relu, ctx: ctx,
		op:          ctx.Ops.NewBatchNorm(backend.BNConfig{BNParams: kernels.BNParams{N: n, C: c, HW: hw, Eps: BNEps}, ReLU: relu}),
		Weight:      newParam[F](name+".weight", "bn_weight", 0, c),
		Bias:        newParam[F](name+".bias", "bn_bias", 0, c),
		RunningMean: &State[F]{Name: name + ".running_mean", Shape: tensor.Shape{c}, Data: make([]F, c)},
		RunningVar:  &State[F]{Name: name + ".running_var", Shape: tensor.Shape{c}, Data: make([]F, c)},
		mean:        make([]F, c), variance: make([]F, c), scale: make([]F, c), shift: make([]F, c),
		slotX: ctx.WS.Slot("plain.x", shape.Size()), slotY: ctx.WS.Slot("plain.y", shape.Size()),
	}
	for i := range b.Weight.Data {
		b.Weight.Data[i] = 1
		b.RunningVar.Data[i] = 1
	}
	return b
}

// Forward computes y = gamma*(x-mu)/sqrt(var+eps) + beta (then ReLU if
// fused) with the batch's statistics (training, which also updates the
// running averages) or the running statistics (inference).
func (b *BatchNorm[F]) Forward(y, x []F, training bool) {
	if training {
		b.op.ForwardTrain(y, b.mean, b.variance, x, b.Weight.Data, b.Bias.Data)
	} else {
		b.op.ForwardInfer(y, x, b.Weight.Data, b.Bias.Data, b.RunningMean.Data, b.RunningVar.Data)
	}
	b.afterForward(training)
}

// ForwardAddReLU computes y = max(0, BN(x) + res), the end of a residual
// block (Eq. 1, then ReLU), for a BatchNorm without fused ReLU; in training
// the backend does it in one pass (backend.BatchNormOp.ForwardTrainAddReLU).
// Backward then takes the gradient of BN's own output (the caller applies
// the final ReLU's mask, as it did for a separate AddReLU).
func (b *BatchNorm[F]) ForwardAddReLU(y, x, res []F, training bool) {
	if b.ReLU {
		panic("nn: ForwardAddReLU on a BatchNorm with fused ReLU")
	}
	if training {
		b.op.ForwardTrainAddReLU(y, b.mean, b.variance, x, b.Weight.Data, b.Bias.Data, res)
	} else {
		b.op.ForwardInfer(y, x, b.Weight.Data, b.Bias.Data, b.RunningMean.Data, b.RunningVar.Data)
		b.ctx.Ops.AddReLU(y, y, res)
	}
	b.afterForward(training)
}

// ForwardTrainAddShortcutAReLU is ForwardAddReLU in training with res the
// option-A shortcut of in (p), which the backend reads from in as it goes
// instead of storing it (backend.BatchNormOp.ForwardTrainAddShortcutAReLU).
func (b *BatchNorm[F]) ForwardTrainAddShortcutAReLU(y, x, in []F, p backend.ShortcutAParams) {
	if b.ReLU {
		panic("nn: ForwardTrainAddShortcutAReLU on a BatchNorm with fused ReLU")
	}
	b.op.ForwardTrainAddShortcutAReLU(y, b.mean, b.variance, x, b.Weight.Data, b.Bias.Data, in, p)
	b.afterForward(true)
}

// afterForward updates the running averages (training) and records the
// affine map the forward applied.
func (b *BatchNorm[F]) afterForward(training bool) {
	b.lastTraining = training
	mean, variance := b.RunningMean.Data, b.RunningVar.Data
	if training {
		m := float64(b.Shape[0] * b.Shape[2] * b.Shape[3])
		unbias := 1.0
		if m > 1 {
			unbias = m / (m - 1)
		}
		for c := range b.mean {
			b.RunningMean.Data[c] = F((1-BNMomentum)*float64(b.RunningMean.Data[c]) + BNMomentum*float64(b.mean[c]))
			b.RunningVar.Data[c] = F((1-BNMomentum)*float64(b.RunningVar.Data[c]) + BNMomentum*float64(b.variance[c])*unbias)
		}
		mean, variance = b.mean, b.variance
	}
	for c := range b.scale {
		b.scale[c] = b.Weight.Data[c] / F(math.Sqrt(float64(variance[c])+BNEps))
		b.shift[c] = b.Bias.Data[c] - mean[c]*b.scale[c]
	}
}

// plainAffine converts x (activation layout) to plain NCHW and applies the
// last Forward's affine map without ReLU: the BN output before any ReLU.
// It returns (x plain, BN(x) plain) in workspace scratch.
func (b *BatchNorm[F]) plainAffine(x []F) ([]F, []F) {
	n := b.Shape.Size()
	xp, yp := b.slotX.Get(n), b.slotY.Get(n)
	b.ctx.Ops.FromAct(xp, x, actShape(b.Shape))
	hw := b.Shape[2] * b.Shape[3]
	for i := 0; i < b.Shape[0]; i++ {
		for c := 0; c < b.Shape[1]; c++ {
			o := (i*b.Shape[1] + c) * hw
			s, t := b.scale[c], b.shift[c]
			for j, v := range xp[o : o+hw] {
				yp[o+j] = v*s + t
			}
		}
	}
	return xp, yp
}

// probe hands the pre-ReLU output for input x to the context's probe.
func (b *BatchNorm[F]) probe(name string, x []F) {
	if b.ctx.Probe == nil {
		return
	}
	_, yp := b.plainAffine(x)
	b.ctx.Probe(name, yp, b.Shape)
}

// Backward writes dx (overwritten) and the gradients of gamma and beta from
// dy (the gradient of the layer's output, after the fused ReLU if any) and
// the forward input x, for the mode of the last Forward. In inference mode
// BN is the fixed affine map above, so dx = scale*dy (masked by the ReLU);
// that path converts to plain layout and is meant for gradient queries
// (`repro forward --mode eval`), not training.
func (b *BatchNorm[F]) Backward(dx, dy, x []F) {
	if b.lastTraining {
		b.op.Backward(dx, b.Weight.Grad, b.Bias.Grad, dy, x, b.Weight.Data, b.Bias.Data, b.mean, b.variance)
		return
	}
	s := actShape(b.Shape)
	n := b.Shape.Size()
	xp, yp := b.plainAffine(x) // yp = BN(x) before ReLU
	g := make([]F, n)          // inference-mode backward only: allocation is acceptable here
	b.ctx.Ops.FromAct(g, dy, s)
	hw := b.Shape[2] * b.Shape[3]
	for c := 0; c < b.Shape[1]; c++ {
		is := 1 / math.Sqrt(float64(b.RunningVar.Data[c])+BNEps)
		mu := float64(b.RunningMean.Data[c])
		var sdy, sdyx float64
		for i := 0; i < b.Shape[0]; i++ {
			o := (i*b.Shape[1] + c) * hw
			for j := o; j < o+hw; j++ {
				if b.ReLU && yp[j] <= 0 {
					g[j] = 0
				}
				sdy += float64(g[j])
				sdyx += float64(g[j]) * (float64(xp[j]) - mu) * is
				g[j] *= b.scale[c]
			}
		}
		b.Bias.Grad[c], b.Weight.Grad[c] = F(sdy), F(sdyx)
	}
	b.ctx.Ops.ToAct(dx, g, s)
}

// Params returns gamma and beta.
func (b *BatchNorm[F]) Params() []*Param[F] { return []*Param[F]{b.Weight, b.Bias} }

// States returns the running mean and variance.
func (b *BatchNorm[F]) States() []*State[F] { return []*State[F]{b.RunningMean, b.RunningVar} }

// Linear is a fully connected layer with bias, y = x W^T + b, parameters
// "<name>.weight" (Out, In) and "<name>.bias" (Out); inputs and outputs are
// plain (N, In) and (N, Out).
type Linear[F tensor.Float] struct {
	P            kernels.LinearParams
	Weight, Bias *Param[F]
	op           backend.LinearOp[F]
}

// NewLinear plans a linear layer for a batch of p.N rows.
func NewLinear[F tensor.Float](ctx *Context[F], name string, p kernels.LinearParams) *Linear[F] {
	return &Linear[F]{P: p, op: ctx.Ops.NewLinear(p),
		Weight: newParam[F](name+".weight", "linear", p.In, p.Out, p.In),
		Bias:   newParam[F](name+".bias", "bias", 0, p.Out)}
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
