package nn

import (
	"fmt"

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

// Residual is a basic, bottleneck or plain block.
type Residual[F tensor.Float] struct {
	cfg      ResidualConfig
	ctx      *Context[F]
	convs    []*Conv2D[F]
	bns      []*BatchNorm[F]
	scConv   *Conv2D[F]
	scBN     *BatchNorm[F]
	c        [][]F // stored conv outputs (pre-BN), one per branch stage
	csc      []F   // stored projection conv output
	out      []F
	x        []F // input of the last Forward (the previous module's output)
	outShape tensor.Shape
	shapes   []tensor.Shape // output shape of each branch conv
	slotAct  [2]*Slot[F]    // BN+ReLU outputs inside the branch
	slotDC   *Slot[F]       // gradient w.r.t. a conv output
	slotDA   *Slot[F]       // gradient w.r.t. a conv input
	slotSC   *Slot[F]       // projection BN output
}

// NewResidual plans a block; it panics on an inconsistent configuration.
func NewResidual[F tensor.Float](ctx *Context[F], cfg ResidualConfig) *Residual[F] {
	r := &Residual[F]{cfg: cfg, ctx: ctx}
	c, h, w := cfg.C, cfg.H, cfg.W
	for i, st := range cfg.Branch {
		p := kernels.ConvParams{N: cfg.N, C: c, H: h, W: w, K: st.K, R: st.R, S: st.R, Stride: st.Stride, Pad: st.Pad}
		r.convs = append(r.convs, NewConv2D(ctx, cfg.Name+"."+st.Conv, p))
		c, h, w = st.K, p.P(), p.Q()
		r.bns = append(r.bns, NewBatchNorm[F](cfg.Name+"."+st.BN, cfg.N, c, h*w))
		size := cfg.N * c * h * w
		r.c = append(r.c, make([]F, size))
		r.shapes = append(r.shapes, tensor.Shape{cfg.N, c, h, w})
		if i < len(cfg.Branch)-1 {
			r.slotAct[i%2] = ctx.WS.Slot(fmt.Sprintf("act%d", i%2), size)
		}
		r.slotDC = ctx.WS.Slot("dc", size)
		r.slotDA = ctx.WS.Slot("da", cfg.N*p.C*p.H*p.W)
	}
	r.outShape = tensor.Shape{cfg.N, c, h, w}
	r.out = make([]F, r.outShape.Size())
	s := cfg.ShortcutStride
	switch cfg.Shortcut {
	case ShortcutNone:
	case ShortcutIdentity:
		if c != cfg.C || h != cfg.H || w != cfg.W {
			panic(fmt.Sprintf("nn: %s: identity shortcut on a shape change %dx%dx%d -> %v", cfg.Name, cfg.C, cfg.H, cfg.W, r.outShape))
		}
	case ShortcutZeroPad:
		if c < cfg.C || (cfg.H-1)/s+1 != h || (cfg.W-1)/s+1 != w {
			panic(fmt.Sprintf("nn: %s: zero-pad shortcut cannot map %dx%dx%d to %v with stride %d", cfg.Name, cfg.C, cfg.H, cfg.W, r.outShape, s))
		}
	case ShortcutProjection:
		p := kernels.ConvParams{N: cfg.N, C: cfg.C, H: cfg.H, W: cfg.W, K: c, R: 1, S: 1, Stride: s}
		if p.P() != h || p.Q() != w {
			panic(fmt.Sprintf("nn: %s: projection output %dx%d, branch output %dx%d", cfg.Name, p.P(), p.Q(), h, w))
		}
		r.scConv = NewConv2D(ctx, cfg.Name+".downsample.0", p)
		r.scBN = NewBatchNorm[F](cfg.Name+".downsample.1", cfg.N, c, h*w)
		r.csc = make([]F, r.outShape.Size())
		r.slotSC = ctx.WS.Slot("sc", r.outShape.Size())
		ctx.WS.Slot("dc", r.outShape.Size())
		ctx.WS.Slot("da", cfg.N*cfg.C*cfg.H*cfg.W)
	default:
		panic(fmt.Sprintf("nn: %s: unknown shortcut kind %d", cfg.Name, cfg.Shortcut))
	}
	ctx.WS.requestGrad(cfg.N * cfg.C * cfg.H * cfg.W)
	return r
}

// InShape is (N, C, H, W) of the block's input.
func (r *Residual[F]) InShape() tensor.Shape {
	return tensor.Shape{r.cfg.N, r.cfg.C, r.cfg.H, r.cfg.W}
}

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

func (r *Residual[F]) probe(i int, y []F) {
	if r.ctx.Probe != nil && r.cfg.Branch[i].R == 3 {
		r.ctx.Probe(r.cfg.Name+"."+r.cfg.Branch[i].Conv, y, r.shapes[i])
	}
}

// Forward computes y = ReLU(BN(conv(...ReLU(BN(conv(x)))...)) + shortcut(x)).
func (r *Residual[F]) Forward(x []F, training bool) []F {
	r.x = x
	in := x
	last := len(r.convs) - 1
	for i, conv := range r.convs {
		conv.Forward(r.c[i], in)
		if i < last {
			a := r.slotAct[i%2].Get(len(r.c[i]))
			r.bns[i].Forward(a, r.c[i], training)
			r.probe(i, a)
			kernels.ReLUForward(a, a)
			in = a
			continue
		}
		r.bns[i].Forward(r.out, r.c[i], training)
		r.probe(i, r.out)
	}
	switch r.cfg.Shortcut {
	case ShortcutIdentity:
		kernels.Add(r.out, r.out, x)
	case ShortcutZeroPad:
		zeroPadShortcut(r.out, x, r.cfg, r.outShape, false)
	case ShortcutProjection:
		r.scConv.Forward(r.csc, x)
		t := r.slotSC.Get(len(r.out))
		r.scBN.Forward(t, r.csc, training)
		kernels.Add(r.out, r.out, t)
	}
	kernels.ReLUForward(r.out, r.out)
	return r.out
}

// zeroPadShortcut adds x[n, c, h*s, w*s] to y[n, c, h, w] for c < C (option
// A: the appended channels are zero, so they add nothing). With backward
// set it does the adjoint: x[n, c, h*s, w*s] += y[n, c, h, w].
func zeroPadShortcut[F tensor.Float](y, x []F, cfg ResidualConfig, out tensor.Shape, backward bool) {
	s := cfg.ShortcutStride
	K, P, Q := out[1], out[2], out[3]
	for n := 0; n < cfg.N; n++ {
		for c := 0; c < cfg.C; c++ {
			xo := (n*cfg.C + c) * cfg.H * cfg.W
			yo := (n*K + c) * P * Q
			for h := 0; h < P; h++ {
				for w := 0; w < Q; w++ {
					xi := xo + h*s*cfg.W + w*s
					yi := yo + h*Q + w
					if backward {
						x[xi] += y[yi]
					} else {
						y[yi] += x[xi]
					}
				}
			}
		}
	}
}

// Backward propagates dy through the final ReLU, the shortcut and the
// branch. The branch's inner activations are recomputed from the stored
// conv outputs (see the package doc).
func (r *Residual[F]) Backward(dy []F) []F {
	kernels.ReLUBackward(dy, dy, r.out) // dy is now g = dL/d(branch + shortcut)
	g := dy
	dx := r.ctx.WS.gradOther(dy, len(r.x))
	dcur := g
	for i := len(r.convs) - 1; i >= 0; i-- {
		dc := r.slotDC.Get(len(r.c[i]))
		r.bns[i].Backward(dc, dcur, r.c[i])
		if i == 0 {
			r.convs[0].BackwardWeights(dc, r.x)
			r.convs[0].BackwardData(dx, dc)
			break
		}
		a := r.slotAct[(i-1)%2].Get(len(r.c[i-1]))
		r.bns[i-1].Recompute(a, r.c[i-1])
		kernels.ReLUForward(a, a)
		r.convs[i].BackwardWeights(dc, a)
		da := r.slotDA.Get(len(a))
		r.convs[i].BackwardData(da, dc)
		kernels.ReLUBackward(da, da, a)
		dcur = da
	}
	switch r.cfg.Shortcut {
	case ShortcutIdentity:
		kernels.Add(dx, dx, g)
	case ShortcutZeroPad:
		zeroPadShortcut(g, dx, r.cfg, r.outShape, true)
	case ShortcutProjection:
		dc := r.slotDC.Get(len(r.csc))
		r.scBN.Backward(dc, g, r.csc)
		r.scConv.BackwardWeights(dc, r.x)
		t := r.slotDA.Get(len(r.x))
		r.scConv.BackwardData(t, dc)
		kernels.Add(dx, dx, t)
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

// Stem is the first module; it computes no input gradient.
type Stem[F tensor.Float] struct {
	cfg      StemConfig
	ctx      *Context[F]
	Conv     *Conv2D[F]
	BN       *BatchNorm[F]
	pool     kernels.PoolParams
	c, a     []F // conv output, BN+ReLU output
	out      []F // pooled output (a when there is no pool)
	x        []F
	outShape tensor.Shape
	actShape tensor.Shape
	slotDA   *Slot[F]
	slotDC   *Slot[F]
}

// NewStem plans the stem.
func NewStem[F tensor.Float](ctx *Context[F], cfg StemConfig) *Stem[F] {
	p := kernels.ConvParams{N: cfg.N, C: cfg.C, H: cfg.H, W: cfg.W, K: cfg.K, R: cfg.R, S: cfg.R, Stride: cfg.Stride, Pad: cfg.Pad}
	s := &Stem[F]{cfg: cfg, ctx: ctx, Conv: NewConv2D(ctx, "conv1", p)}
	P, Q := p.P(), p.Q()
	s.BN = NewBatchNorm[F]("bn1", cfg.N, cfg.K, P*Q)
	s.actShape = tensor.Shape{cfg.N, cfg.K, P, Q}
	s.c = make([]F, s.actShape.Size())
	s.a = make([]F, s.actShape.Size())
	s.slotDC = ctx.WS.Slot("dc", len(s.c))
	s.outShape = s.actShape
	s.out = s.a
	if cfg.Pool {
		s.pool = kernels.PoolParams{N: cfg.N, C: cfg.K, H: P, W: Q, Size: 3, Stride: 2, Pad: 1}
		s.outShape = tensor.Shape{cfg.N, cfg.K, s.pool.P(), s.pool.Q()}
		s.out = make([]F, s.outShape.Size())
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

// Forward computes pool(ReLU(BN(conv(x)))).
func (s *Stem[F]) Forward(x []F, training bool) []F {
	s.x = x
	s.Conv.Forward(s.c, x)
	s.BN.Forward(s.a, s.c, training)
	if s.ctx.Probe != nil && s.cfg.R == 3 {
		s.ctx.Probe("conv1", s.a, s.actShape)
	}
	kernels.ReLUForward(s.a, s.a)
	if s.cfg.Pool {
		kernels.MaxPoolForward(s.out, s.a, s.pool)
	}
	return s.out
}

// Backward writes the stem's parameter gradients and returns nil.
func (s *Stem[F]) Backward(dy []F) []F {
	da := dy
	if s.cfg.Pool {
		da = s.slotDA.Get(len(s.a))
		kernels.MaxPoolBackward(da, dy, s.a, s.pool)
	}
	kernels.ReLUBackward(da, da, s.a)
	dc := s.slotDC.Get(len(s.c))
	s.BN.Backward(dc, da, s.c)
	s.Conv.BackwardWeights(dc, s.x)
	return nil
}

// Head is global average pooling followed by the fully connected
// classifier "fc" (Table 1, Sec. 4.2).
type Head[F tensor.Float] struct {
	n, c, hw int
	ctx      *Context[F]
	FC       *Linear[F]
	pooled   []F
	logits   []F
	slotDP   *Slot[F]
}

// NewHead plans the head over x of shape (N, C, H, W).
func NewHead[F tensor.Float](ctx *Context[F], n, c, h, w, classes int) *Head[F] {
	hd := &Head[F]{n: n, c: c, hw: h * w, ctx: ctx,
		FC:     NewLinear(ctx, "fc", kernels.LinearParams{N: n, In: c, Out: classes}),
		pooled: make([]F, n*c), logits: make([]F, n*classes)}
	hd.slotDP = ctx.WS.Slot("dpool", n*c)
	ctx.WS.requestGrad(n * c * h * w)
	return hd
}

func (h *Head[F]) InShape() tensor.Shape  { return tensor.Shape{h.n, h.c, h.hw} }
func (h *Head[F]) OutShape() tensor.Shape { return tensor.Shape{h.n, h.FC.P.Out} }
func (h *Head[F]) Params() []*Param[F]    { return []*Param[F]{h.FC.Weight, h.FC.Bias} }
func (h *Head[F]) States() []*State[F]    { return nil }

// Forward returns the logits (N, classes).
func (h *Head[F]) Forward(x []F, training bool) []F {
	kernels.GlobalAvgPoolForward(h.pooled, x, h.hw)
	h.FC.Forward(h.logits, h.pooled)
	return h.logits
}

// Backward returns dL/dx from dL/dlogits.
func (h *Head[F]) Backward(dy []F) []F {
	dp := h.slotDP.Get(len(h.pooled))
	h.FC.Backward(dp, dy, h.pooled)
	dx := h.ctx.WS.gradOther(dy, h.n*h.c*h.hw)
	kernels.GlobalAvgPoolBackward(dx, dp, h.hw)
	return dx
}
