package backend

import (
	"github.com/resnet-repro/resnet-repro/engine/kernels"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
)

// ActShape is an activation's logical shape (N, C, H, W).
type ActShape struct{ N, C, H, W int }

// Size is N*C*H*W, the element count of the plain NCHW form.
func (s ActShape) Size() int { return s.N * s.C * s.H * s.W }

// Conv is one planned convolution shape (see kernels.ConvParams for the
// math and shapes). x, y, dx and dy are activations in the backend's layout
// (ActLen of (N,C,H,W) and (N,K,P,Q)); w and dw are plain (K,C,R,S).
// Forward and BackwardData overwrite their destination; BackwardWeights
// overwrites dw.
//
// BackwardDataAddReLU is BackwardData followed by Ops.AddReLUBackward(dx,
// dx, a, y): dx = BackwardData(dy, w) + a where y > 0, else 0 -- the input
// gradient of a residual block with an identity shortcut (gradient a) whose
// input y came out of a ReLU, in the conv's own output pass where the
// backend can. a and y are x-shaped and must not alias dx.
type ConvOp[F tensor.Float] interface {
	Params() kernels.ConvParams
	Forward(y, x, w []F)
	BackwardData(dx, dy, w []F)
	BackwardDataAddReLU(dx, dy, w, a, y []F)
	BackwardWeights(dw, dy, x []F)
}

// Linear is one planned fully connected shape, y = x W^T + b
// (x is (N, In), W is (Out, In), b is (Out), y is (N, Out)), all plain.
// BackwardData overwrites dx; BackwardWeights overwrites dw and db.
type LinearOp[F tensor.Float] interface {
	Params() kernels.LinearParams
	Forward(y, x, w, b []F)
	BackwardData(dx, dy, w []F)
	BackwardWeights(dw, db, dy, x []F)
}

// BNConfig plans a batch normalization over activations of (N, C, HW)
// (kernels.BNParams), optionally fused with the ReLU that follows it
// (conv-BN-ReLU, Sec. 3.4): then y = max(0, BN(x)) and Backward takes the
// gradient with respect to that y.
type BNConfig struct {
	kernels.BNParams
	ReLU bool
}

// BatchNorm is one planned batch normalization. x, y, dx, dy are
// activations (backend layout); gamma, beta, mean, variance and the
// gradients are plain (C).
//
// ForwardTrain uses the batch statistics, y = gamma*(x-mean)/sqrt(var+eps)
// + beta (then ReLU if fused), and writes the batch mean and the biased
// variance (divide by N*HW; the layer owns the running averages and any
// unbiased correction). ForwardInfer uses the given statistics.
// Backward computes the training-mode gradient (kernels.BNBackward) from
// the same x, gamma, beta, mean and variance as the ForwardTrain it follows; with
// a fused ReLU, dy is the gradient of the ReLU's output and the mask comes
// from that ForwardTrain (the oneDNN backend keeps it in a workspace owned
// by the op; the reference recomputes it from x), so each BatchNorm op
// serves exactly one layer and Backward must follow that layer's
// ForwardTrain. Backward overwrites dx, dgamma and dbeta.
//
// ForwardTrainAddReLU, for a BatchNorm without fused ReLU, is ForwardTrain
// followed by y = max(0, y + res): the end of a residual block (Eq. 1, then
// ReLU) in one pass where the backend can. Backward may follow it as it
// follows ForwardTrain (dy is then the gradient of BN's own output, i.e.
// after the caller applied the final ReLU's mask).
//
// ForwardTrainAddShortcutAReLU is ForwardTrainAddReLU with res =
// ShortcutAForward(in, p) (option A's identity path on a stage change,
// Sec. 4.2) read from in as it is needed, never stored.
type BatchNormOp[F tensor.Float] interface {
	Config() BNConfig
	ForwardTrain(y, mean, variance, x, gamma, beta []F)
	ForwardTrainAddReLU(y, mean, variance, x, gamma, beta, res []F)
	ForwardTrainAddShortcutAReLU(y, mean, variance, x, gamma, beta, in []F, p ShortcutAParams)
	ForwardInfer(y, x, gamma, beta, mean, variance []F)
	Backward(dx, dgamma, dbeta, dy, x, gamma, beta, mean, variance []F)
}

// MaxPool is one planned max pooling (kernels.PoolParams) on activations.
// Backward routes dy to the argmax of the Forward it follows (the same op
// and the same x; the oneDNN backend keeps the argmax in a workspace),
// overwriting dx. x is passed to Backward for backends that recompute it.
type MaxPoolOp[F tensor.Float] interface {
	Params() kernels.PoolParams
	Forward(y, x []F)
	Backward(dx, dy, x []F)
}

// ShortcutAParams plans the parameter-free "option A" identity shortcut of
// Sec. 4.2 for a stage change: subsample x (N, C, H, W) by Stride and pad
// channels with zeros to K, putting input channel c at output channel
// c+PadLo: y[n,k,p,q] = x[n,k-PadLo,p*Stride,q*Stride] when
// 0 <= k-PadLo < C, else 0. y is (N, K, (H-1)/Stride+1, (W-1)/Stride+1).
type ShortcutAParams struct {
	In     ActShape
	K      int
	Stride int
	PadLo  int
}

// Out is the shape of y.
func (p ShortcutAParams) Out() ActShape {
	return ActShape{N: p.In.N, C: p.K, H: (p.In.H-1)/p.Stride + 1, W: (p.In.W-1)/p.Stride + 1}
}

// Backend creates planned operations and runs the stateless elementwise
// ones. Implementations are safe to use from one goroutine at a time; they
// may use Threads() goroutines or OS threads internally.
type Ops[F tensor.Float] interface {
	// Name identifies the backend in logs, the results database and
	// `repro bench` output (e.g. "reference", "onednn").
	Name() string
	// Threads is the number of compute threads the backend uses.
	Threads() int

	// ActLen is the number of float32s an activation of logical shape s
	// occupies in this backend's layout.
	ActLen(s ActShape) int
	// ToAct converts src, plain NCHW (s.Size()), into dst, the backend
	// layout (ActLen(s)); FromAct is its inverse.
	ToAct(dst, src []F, s ActShape)
	FromAct(dst, src []F, s ActShape)

	NewConv(p kernels.ConvParams) ConvOp[F]
	// NewInputConv plans the model's first conv: x is plain NCHW images
	// (s.Size() floats, no ToAct), y is an activation. Only Forward and
	// BackwardWeights are valid (the images need no gradient). A 3-channel
	// input padded to a 16-channel block would cost a 5x larger copy and
	// a reorder back inside oneDNN, whose first-conv kernels read NCHW.
	NewInputConv(p kernels.ConvParams) ConvOp[F]
	NewLinear(p kernels.LinearParams) LinearOp[F]
	NewBatchNorm(c BNConfig) BatchNormOp[F]
	NewMaxPool(p kernels.PoolParams) MaxPoolOp[F]

	// ReLUForward: y = max(0, x); ReLUBackward: dx = dy where y > 0 else 0.
	// Add: y = a + b; AddReLU: y = max(0, a + b) (end of a residual block,
	// Eq. 1 then ReLU). All take activation buffers of equal length; y may
	// alias an input, dx may alias dy.
	ReLUForward(y, x []F)
	ReLUBackward(dx, dy, y []F)
	Add(y, a, b []F)
	AddReLU(y, a, b []F)
	// AddReLUBackward: dx = a + b where y > 0, else 0 -- a residual block's
	// input gradient (branch plus shortcut) with the ReLU that produced its
	// input y applied, in one pass (it saves the previous block a separate
	// ReLUBackward). dx may alias a or b.
	AddReLUBackward(dx, a, b, y []F)

	// GlobalAvgPoolForward: y[n,c] = mean over (h,w) of x[n,c,h,w]; x is an
	// activation of shape s, y is plain (N, C). Backward overwrites dx with
	// dy[n,c]/(H*W) everywhere in the plane.
	GlobalAvgPoolForward(y, x []F, s ActShape)
	GlobalAvgPoolBackward(dx, dy []F, s ActShape)

	// ShortcutAForward / ShortcutABackward: see ShortcutAParams. Backward
	// overwrites dx (zero where x was not sampled).
	ShortcutAForward(y, x []F, p ShortcutAParams)
	ShortcutABackward(dx, dy []F, p ShortcutAParams)
	// ShortcutAAddReLUBackward: dx = a + ShortcutABackward(g) where y > 0,
	// else 0 (AddReLUBackward with the option-A shortcut's gradient, in one
	// pass and without storing it); dx, a and y are x-shaped, dx may alias a.
	ShortcutAAddReLUBackward(dx, a, g, y []F, p ShortcutAParams)

	// Close releases what the backend holds outside the Go heap (oneDNN
	// primitives and buffers of every op it planned). Ops must not be used
	// afterwards. Close is idempotent.
	Close()
}

// The float32 instantiations are what fast backends implement and what
// training uses; Ops[float64] exists for numeric gradient checks
// (ReferenceOf[float64]).
type (
	Backend   = Ops[float32]
	Conv      = ConvOp[float32]
	Linear    = LinearOp[float32]
	BatchNorm = BatchNormOp[float32]
	MaxPool   = MaxPoolOp[float32]
)
