package nn

import (
	"fmt"

	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/engine/kernels"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
)

// Module is one link of a Network's chain.
type Module[F tensor.Float] interface {
	// Forward reads x (the previous module's output, shape InShape) and
	// returns the module's output buffer, valid until the next Forward. x
	// must stay intact until Backward.
	Forward(x []F, training bool) []F
	// Backward takes dy = dL/d(output of the last Forward), accumulates
	// nothing but overwrites the gradients of the module's parameters, and
	// returns dL/dx in a workspace gradient buffer that does not alias dy
	// (nil for a module that computes no input gradient). dy may be
	// overwritten.
	Backward(dy []F) []F
	InShape() tensor.Shape
	OutShape() tensor.Shape
	Params() []*Param[F]
	States() []*State[F]
}

// ShortcutKind is how a residual block forms its identity path (Sec. 3.3).
type ShortcutKind int

const (
	// ShortcutNone: a plain block, no shortcut (the "plain" baselines).
	ShortcutNone ShortcutKind = iota
	// ShortcutIdentity: x is added unchanged (shapes match).
	ShortcutIdentity
	// ShortcutZeroPad is option A on a shape change: take every Stride-th
	// pixel of x and append zero channels after the identity channels.
	ShortcutZeroPad
	// ShortcutProjection: a 1x1 conv (stride Stride) followed by BN, named
	// "<block>.downsample.0" and "<block>.downsample.1" (options B and C).
	ShortcutProjection
)

func (k ShortcutKind) String() string {
	return [...]string{"none", "identity", "zero-pad", "projection"}[k]
}

// ConvBN describes one conv of a block's residual branch and the BN after it.
type ConvBN struct {
	Conv, BN          string // names, e.g. "conv1" and "bn1"
	K, R, Stride, Pad int    // filters, kernel size (R x R), stride, padding
}

// ResidualConfig describes a block y = ReLU(F(x) + shortcut(x)) whose
// branch F is conv-BN-ReLU ... conv-BN (two 3x3 convs for the basic block,
// 1x1-3x3-1x1 for the bottleneck; Fig. 5). A plain block has no shortcut:
// y = ReLU(F(x)).
type ResidualConfig struct {
	Name           string // parameter prefix, e.g. "layer2.0"
	N, C, H, W     int    // input shape
	Branch         []ConvBN
	Shortcut       ShortcutKind
	ShortcutStride int // stride of the zero-pad subsampling or projection
}

// Residual is a basic, bottleneck or plain block. It keeps, for backward,
// each branch conv's output, each inner BN+ReLU output (the next conv's
// input), the projection conv's output and the block output (the next
// block's input); the last BN's output and the shortcut are transient.
type Residual[F tensor.Float] struct {
	cfg      ResidualConfig
	ctx      *Context[F]
	convs    []*Conv2D[F]
	bns      []*BatchNorm[F] // inner ones with the ReLU fused
	scConv   *Conv2D[F]
	scBN     *BatchNorm[F]
	padA     backend.ShortcutAParams
	c        [][]F // conv outputs (pre-BN), one per branch stage
	h        [][]F // inner BN+ReLU outputs, one per stage but the last
	csc      []F   // projection conv output
	out      []F
	x        []F // input of the last Forward (the previous module's output)
	inShape  tensor.Shape
	outShape tensor.Shape
	slotT    *Slot[F] // last BN output
	slotS    *Slot[F] // shortcut output
	slotDC   *Slot[F] // gradient w.r.t. a conv output
	slotDA   *Slot[F] // gradient w.r.t. a conv input
	slotDS   *Slot[F] // option A: gradient w.r.t. the input through the shortcut
	// maskInputGrad: the input x is a ReLU's output (the stem's or the
	// previous block's), so Backward applies that ReLU's mask to dx in its
	// final add (AddReLUBackward) ...
	maskInputGrad bool
	// ... and gradMasked: the next block does so for this block's output,
	// so Backward skips its own ReLUBackward. NewNetwork sets both.
	gradMasked bool
}

// NewResidual plans a block; it panics on an inconsistent configuration.
func NewResidual[F tensor.Float](ctx *Context[F], cfg ResidualConfig) *Residual[F] {
	r := &Residual[F]{cfg: cfg, ctx: ctx, inShape: tensor.Shape{cfg.N, cfg.C, cfg.H, cfg.W}}
	c, h, w := cfg.C, cfg.H, cfg.W
	last := len(cfg.Branch) - 1
	for i, st := range cfg.Branch {
		p := kernels.ConvParams{N: cfg.N, C: c, H: h, W: w, K: st.K, R: st.R, S: st.R, Stride: st.Stride, Pad: st.Pad}
		conv := NewConv2D(ctx, cfg.Name+"."+st.Conv, p)
		r.convs = append(r.convs, conv)
		c, h, w = st.K, p.P(), p.Q()
		shape := conv.OutShape()
		r.bns = append(r.bns, NewBatchNorm(ctx, cfg.Name+"."+st.BN, shape, i < last))
		n := ctx.actLen(shape)
		r.c = append(r.c, make([]F, n))
		if i < last {
			r.h = append(r.h, make([]F, n))
		}
		r.slotDC = ctx.WS.Slot("dc", n)
		r.slotDA = ctx.WS.Slot("da", ctx.actLen(conv.InShape()))
	}
	r.outShape = tensor.Shape{cfg.N, c, h, w}
	outLen := ctx.actLen(r.outShape)
	r.out = make([]F, outLen)
	r.slotT = ctx.WS.Slot("t", outLen)
	s := cfg.ShortcutStride
	switch cfg.Shortcut {
	case ShortcutNone:
	case ShortcutIdentity:
		if c != cfg.C || h != cfg.H || w != cfg.W {
			panic(fmt.Sprintf("nn: %s: identity shortcut on a shape change %v -> %v", cfg.Name, r.inShape, r.outShape))
		}
	case ShortcutZeroPad:
		r.padA = backend.ShortcutAParams{In: actShape(r.inShape), K: c, Stride: s, PadLo: 0}
		if c < cfg.C || r.padA.Out() != actShape(r.outShape) {
			panic(fmt.Sprintf("nn: %s: zero-pad shortcut cannot map %v to %v with stride %d", cfg.Name, r.inShape, r.outShape, s))
		}
		r.slotS = ctx.WS.Slot("s", outLen)
	case ShortcutProjection:
		p := kernels.ConvParams{N: cfg.N, C: cfg.C, H: cfg.H, W: cfg.W, K: c, R: 1, S: 1, Stride: s}
		if p.P() != h || p.Q() != w {
			panic(fmt.Sprintf("nn: %s: projection output %dx%d, branch output %dx%d", cfg.Name, p.P(), p.Q(), h, w))
		}
		r.scConv = NewConv2D(ctx, cfg.Name+".downsample.0", p)
		r.scBN = NewBatchNorm(ctx, cfg.Name+".downsample.1", r.outShape, false)
		r.csc = make([]F, outLen)
		r.slotS = ctx.WS.Slot("s", outLen)
		ctx.WS.Slot("dc", outLen)
		ctx.WS.Slot("da", ctx.actLen(r.inShape))
	default:
		panic(fmt.Sprintf("nn: %s: unknown shortcut kind %d", cfg.Name, cfg.Shortcut))
	}
	ctx.WS.requestGrad(ctx.actLen(r.inShape))
	if cfg.Shortcut == ShortcutZeroPad {
		r.slotDS = ctx.WS.Slot("ds", ctx.actLen(r.inShape))
	}
	return r
}

// InShape is (N, C, H, W) of the block's input.
func (r *Residual[F]) InShape() tensor.Shape { return r.inShape }

// OutShape is the shape of the block's output.
func (r *Residual[F]) OutShape() tensor.Shape { return r.outShape }

// Config returns the block's configuration.
func (r *Residual[F]) Config() ResidualConfig { return r.cfg }

// Params lists the branch convs and BNs in order, then the projection.
func (r *Residual[F]) Params() []*Param[F] {
	var ps []*Param[F]
	for i := range r.convs {
		ps = append(ps, r.convs[i].Weight)
		ps = append(ps, r.bns[i].Params()...)
	}
	if r.scConv != nil {
		ps = append(ps, r.scConv.Weight)
		ps = append(ps, r.scBN.Params()...)
	}
	return ps
}

// States lists the running statistics of every BN.
func (r *Residual[F]) States() []*State[F] {
	var ss []*State[F]
	for _, b := range r.bns {
		ss = append(ss, b.States()...)
	}
	if r.scBN != nil {
		ss = append(ss, r.scBN.States()...)
	}
	return ss
}

func (r *Residual[F]) probe(i int) {
	if r.ctx.Probe != nil && r.cfg.Branch[i].R == 3 {
		r.bns[i].probe(r.cfg.Name+"."+r.cfg.Branch[i].Conv, r.c[i])
	}
}

// Forward computes y = ReLU(BN(conv(...ReLU(BN(conv(x)))...)) + shortcut(x)).
func (r *Residual[F]) Forward(x []F, training bool) []F {
	r.x = x
	ops := r.ctx.Ops
	in := x
	last := len(r.convs) - 1
	for i, conv := range r.convs[:last] {
		conv.Forward(r.c[i], in)
		r.bns[i].Forward(r.h[i], r.c[i], training) // BN and ReLU, fused
		in = r.h[i]
		r.probe(i)
	}
	r.convs[last].Forward(r.c[last], in)
	// The last BN ends the block: ReLU(BN(c) + shortcut), one pass.
	var sc []F
	switch r.cfg.Shortcut {
	case ShortcutNone:
		t := r.slotT.Get(len(r.out))
		r.bns[last].Forward(t, r.c[last], training)
		ops.ReLUForward(r.out, t)
	case ShortcutIdentity:
		sc = x
	case ShortcutZeroPad:
		if training { // the shortcut is read from x as the block's last pass goes
			r.bns[last].ForwardTrainAddShortcutAReLU(r.out, r.c[last], x, r.padA)
			break
		}
		sc = r.slotS.Get(len(r.out))
		ops.ShortcutAForward(sc, x, r.padA)
	case ShortcutProjection:
		r.scConv.Forward(r.csc, x)
		sc = r.slotS.Get(len(r.out))
		r.scBN.Forward(sc, r.csc, training)
	}
	if sc != nil {
		r.bns[last].ForwardAddReLU(r.out, r.c[last], sc, training)
	}
	r.probe(last)
	return r.out
}

// Backward propagates dy through the final ReLU, the shortcut and the
// branch (the backend's fused BN+ReLU backward applies the inner ReLU
// masks).
func (r *Residual[F]) Backward(dy []F) []F {
	ops := r.ctx.Ops
	if !r.gradMasked {
		ops.ReLUBackward(dy, dy, r.out) // dy is now g = dL/d(branch + shortcut)
	}
	g := dy
	dx := r.ctx.WS.gradOther(dy, len(r.x))
	dcur := g
	for i := len(r.convs) - 1; i >= 0; i-- {
		dc := r.slotDC.Get(len(r.c[i]))
		r.bns[i].Backward(dc, dcur, r.c[i])
		if i == 0 {
			r.convs[0].BackwardWeights(dc, r.x)
			if r.cfg.Shortcut == ShortcutIdentity && r.maskInputGrad {
				// dx = (branch + shortcut gradient) masked by the input's
				// ReLU, added as the conv writes dx where the backend can.
				r.convs[0].BackwardDataAddReLU(dx, dc, g, r.x)
				return dx
			}
			r.convs[0].BackwardData(dx, dc)
			break
		}
		r.convs[i].BackwardWeights(dc, r.h[i-1])
		da := r.slotDA.Get(len(r.h[i-1]))
		r.convs[i].BackwardData(da, dc)
		dcur = da
	}
	var sc []F // the gradient through the shortcut, if any
	switch r.cfg.Shortcut {
	case ShortcutIdentity:
		sc = g
	case ShortcutZeroPad:
		if r.maskInputGrad { // the shortcut's gradient is added as the mask is applied
			ops.ShortcutAAddReLUBackward(dx, dx, g, r.x, r.padA)
			return dx
		}
		sc = r.slotDS.Get(len(r.x))
		ops.ShortcutABackward(sc, g, r.padA)
	case ShortcutProjection:
		dc := r.slotDC.Get(len(r.csc))
		r.scBN.Backward(dc, g, r.csc)
		r.scConv.BackwardWeights(dc, r.x)
		sc = r.slotDA.Get(len(r.x))
		r.scConv.BackwardData(sc, dc)
	}
	switch {
	case sc != nil && r.maskInputGrad:
		ops.AddReLUBackward(dx, dx, sc, r.x)
	case sc != nil:
		ops.Add(dx, dx, sc)
	case r.maskInputGrad:
		ops.ReLUBackward(dx, dx, r.x)
	}
	return dx
}

// StemConfig describes the first layer: conv-BN-ReLU, optionally followed
// by max pooling (Table 1: 7x7/2 conv, 3x3/2 max pool; Sec. 4.2: a 3x3
// conv for CIFAR). Parameters "conv1.weight" and "bn1.*".
type StemConfig struct {
	N, C, H, W        int // input images
	K, R, Stride, Pad int
	Pool              bool // 3x3 max pool, stride 2, pad 1
}

// Stem is the first module. It takes the images as plain NCHW (its conv
// reads them as they are, backend.Ops.NewInputConv) and computes no input
// gradient.
type Stem[F tensor.Float] struct {
	cfg      StemConfig
	ctx      *Context[F]
	Conv     *Conv2D[F]
	BN       *BatchNorm[F] // ReLU fused
	pool     backend.MaxPoolOp[F]
	x        []F // a copy of the input images, kept for BackwardWeights
	c, a     []F // conv output, BN+ReLU output
	out      []F // pooled output (a when there is no pool)
	outShape tensor.Shape
	slotDA   *Slot[F]
	slotDC   *Slot[F]
}

// NewStem plans the stem.
func NewStem[F tensor.Float](ctx *Context[F], cfg StemConfig) *Stem[F] {
	p := kernels.ConvParams{N: cfg.N, C: cfg.C, H: cfg.H, W: cfg.W, K: cfg.K, R: cfg.R, S: cfg.R, Stride: cfg.Stride, Pad: cfg.Pad}
	s := &Stem[F]{cfg: cfg, ctx: ctx, Conv: NewInputConv2D(ctx, "conv1", p)}
	act := s.Conv.OutShape()
	s.BN = NewBatchNorm(ctx, "bn1", act, true)
	s.x = make([]F, s.Conv.InShape().Size())
	s.c = make([]F, ctx.actLen(act))
	s.a = make([]F, ctx.actLen(act))
	s.slotDC = ctx.WS.Slot("dc", len(s.c))
	s.outShape = act
	s.out = s.a
	if cfg.Pool {
		pp := kernels.PoolParams{N: cfg.N, C: cfg.K, H: act[2], W: act[3], Size: 3, Stride: 2, Pad: 1}
		s.pool = ctx.Ops.NewMaxPool(pp)
		s.outShape = tensor.Shape{cfg.N, cfg.K, pp.P(), pp.Q()}
		s.out = make([]F, ctx.actLen(s.outShape))
		s.slotDA = ctx.WS.Slot("da", len(s.a))
	}
	return s
}

func (s *Stem[F]) InShape() tensor.Shape  { return tensor.Shape{s.cfg.N, s.cfg.C, s.cfg.H, s.cfg.W} }
func (s *Stem[F]) OutShape() tensor.Shape { return s.outShape }
func (s *Stem[F]) Params() []*Param[F] {
	return append([]*Param[F]{s.Conv.Weight}, s.BN.Params()...)
}
func (s *Stem[F]) States() []*State[F] { return s.BN.States() }

// Forward computes pool(ReLU(BN(conv(x)))) for plain NCHW images x.
func (s *Stem[F]) Forward(x []F, training bool) []F {
	copy(s.x, x)
	s.Conv.Forward(s.c, s.x)
	s.BN.Forward(s.a, s.c, training)
	if s.cfg.R == 3 {
		s.BN.probe("conv1", s.c)
	}
	if s.cfg.Pool {
		s.pool.Forward(s.out, s.a)
	}
	return s.out
}

// Backward writes the stem's parameter gradients and returns nil.
func (s *Stem[F]) Backward(dy []F) []F {
	da := dy
	if s.cfg.Pool {
		da = s.slotDA.Get(len(s.a))
		s.pool.Backward(da, dy, s.a)
	}
	dc := s.slotDC.Get(len(s.c))
	s.BN.Backward(dc, da, s.c)
	s.Conv.BackwardWeights(dc, s.x)
	return nil
}

// Head is global average pooling followed by the fully connected
// classifier "fc" (Table 1, Sec. 4.2).
type Head[F tensor.Float] struct {
	in     tensor.Shape
	ctx    *Context[F]
	FC     *Linear[F]
	pooled []F
	logits []F
	slotDP *Slot[F]
}

// NewHead plans the head over x of shape (N, C, H, W).
func NewHead[F tensor.Float](ctx *Context[F], n, c, h, w, classes int) *Head[F] {
	hd := &Head[F]{in: tensor.Shape{n, c, h, w}, ctx: ctx,
		FC:     NewLinear(ctx, "fc", kernels.LinearParams{N: n, In: c, Out: classes}),
		pooled: make([]F, n*c), logits: make([]F, n*classes)}
	hd.slotDP = ctx.WS.Slot("dpool", n*c)
	ctx.WS.requestGrad(ctx.actLen(hd.in))
	return hd
}

func (h *Head[F]) InShape() tensor.Shape  { return h.in }
func (h *Head[F]) OutShape() tensor.Shape { return tensor.Shape{h.in[0], h.FC.P.Out} }
func (h *Head[F]) Params() []*Param[F]    { return []*Param[F]{h.FC.Weight, h.FC.Bias} }
func (h *Head[F]) States() []*State[F]    { return nil }

// Forward returns the logits (N, classes).
func (h *Head[F]) Forward(x []F, training bool) []F {
	h.ctx.Ops.GlobalAvgPoolForward(h.pooled, x, actShape(h.in))
	h.FC.Forward(h.logits, h.pooled)
	return h.logits
}

// Backward returns dL/dx from dL/dlogits.
func (h *Head[F]) Backward(dy []F) []F {
	dp := h.slotDP.Get(len(h.pooled))
	h.FC.Backward(dp, dy, h.pooled)
	dx := h.ctx.WS.gradOther(dy, h.ctx.actLen(h.in))
	h.ctx.Ops.GlobalAvgPoolBackward(dx, dp, actShape(h.in))
	return dx
}
