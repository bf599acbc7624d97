package backend

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/resnet-repro/resnet-repro/engine/kernels"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
)

// Reference returns the pure-Go backend using up to threads goroutines
// (threads <= 0 means runtime.NumCPU()). Work is split over the batch: each
// goroutine runs the naive kernel on its own images, and weight gradients
// are summed from per-goroutine partials in a fixed order, so results are
// identical for a given thread count.
func Reference(threads int) Backend { return ReferenceOf[float32](threads) }

// ReferenceOf is the reference backend for element type F (float64 for
// numeric gradient checks).
func ReferenceOf[F tensor.Float](threads int) Ops[F] {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	return referenceBackend[F]{threads: threads}
}

type referenceBackend[F tensor.Float] struct{ threads int }

func (b referenceBackend[F]) Name() string { return "reference" }
func (b referenceBackend[F]) Threads() int { return b.threads }

func (b referenceBackend[F]) NewConv(p kernels.ConvParams) ConvOp[F] {
	p.Validate()
	parts := splitBatch(p.N, b.threads)
	c := &refConv[F]{p: p, parts: parts}
	if len(parts) > 1 {
		c.partialDW = make([][]F, len(parts))
		for i := range parts {
			c.partialDW[i] = make([]F, p.WSize())
		}
	}
	return c
}

func (b referenceBackend[F]) NewLinear(p kernels.LinearParams) LinearOp[F] {
	return &refLinear[F]{p: p}
}

// The reference layout is plain NCHW.
func (referenceBackend[F]) ActLen(s ActShape) int { return s.Size() }

func (referenceBackend[F]) ToAct(dst, src []F, s ActShape) {
	checkLen("dst", len(dst), s.Size())
	checkLen("src", len(src), s.Size())
	copy(dst, src)
}

func (referenceBackend[F]) FromAct(dst, src []F, s ActShape) {
	checkLen("dst", len(dst), s.Size())
	checkLen("src", len(src), s.Size())
	copy(dst, src)
}

func (referenceBackend[F]) NewBatchNorm(c BNConfig) BatchNormOp[F] {
	n := c.N * c.C * c.HW
	return &refBN[F]{c: c, invstd: make([]F, c.C), scale: make([]F, c.C), shift: make([]F, c.C), tmp: make([]F, n)}
}

// NewInputConv is NewConv: the reference layout is plain NCHW.
func (r referenceBackend[F]) NewInputConv(p kernels.ConvParams) ConvOp[F] { return r.NewConv(p) }
func (referenceBackend[F]) NewMaxPool(p kernels.PoolParams) MaxPoolOp[F]  { return refPool[F]{p: p} }

func (referenceBackend[F]) ReLUForward(y, x []F)       { kernels.ReLUForward(y, x) }
func (referenceBackend[F]) ReLUBackward(dx, dy, y []F) { kernels.ReLUBackward(dx, dy, y) }
func (referenceBackend[F]) Add(y, a, b []F)            { kernels.Add(y, a, b) }
func (referenceBackend[F]) AddReLUBackward(dx, a, b, y []F) {
	checkLen("a", len(a), len(dx))
	checkLen("b", len(b), len(dx))
	checkLen("y", len(y), len(dx))
	for i, v := range y {
		if v > 0 {
			dx[i] = a[i] + b[i]
		} else {
			dx[i] = 0
		}
	}
}

func (referenceBackend[F]) AddReLU(y, a, b []F) {
	kernels.Add(y, a, b)
	kernels.ReLUForward(y, y)
}

func (referenceBackend[F]) GlobalAvgPoolForward(y, x []F, s ActShape) {
	checkLen("y", len(y), s.N*s.C)
	kernels.GlobalAvgPoolForward(y, x, s.H*s.W)
}

func (referenceBackend[F]) GlobalAvgPoolBackward(dx, dy []F, s ActShape) {
	checkLen("dy", len(dy), s.N*s.C)
	kernels.GlobalAvgPoolBackward(dx, dy, s.H*s.W)
}

// forEachShortcutA calls f(yi, xi) for every element of an option-A
// shortcut's output y that copies an input element, with their plain NCHW
// indices (ShortcutAParams' formula); every other element of y is zero.
func forEachShortcutA(p ShortcutAParams, f func(yi, xi int)) {
	in, out := p.In, p.Out()
	for n := 0; n < out.N; n++ {
		for k := 0; k < out.C; k++ {
			c := k - p.PadLo
			if c < 0 || c >= in.C {
				continue
			}
			for i := 0; i < out.H; i++ {
				for j := 0; j < out.W; j++ {
					f(((n*out.C+k)*out.H+i)*out.W+j, ((n*in.C+c)*in.H+i*p.Stride)*in.W+j*p.Stride)
				}
			}
		}
	}
}

// ShortcutAForward is the naive loop of ShortcutAParams' formula.
func (referenceBackend[F]) ShortcutAForward(y, x []F, p ShortcutAParams) {
	checkLen("x", len(x), p.In.Size())
	checkLen("y", len(y), p.Out().Size())
	clear(y)
	forEachShortcutA(p, func(yi, xi int) { y[yi] = x[xi] })
}

// ShortcutABackward scatters dy back to the sampled positions of dx.
func (referenceBackend[F]) ShortcutABackward(dx, dy []F, p ShortcutAParams) {
	checkLen("dx", len(dx), p.In.Size())
	checkLen("dy", len(dy), p.Out().Size())
	clear(dx)
	forEachShortcutA(p, func(yi, xi int) { dx[xi] = dy[yi] })
}

// ShortcutAAddReLUBackward adds g at the sampled positions of a, then
// applies the mask (a + 0 = a elsewhere, as AddReLUBackward computes it).
func (referenceBackend[F]) ShortcutAAddReLUBackward(dx, a, g, y []F, p ShortcutAParams) {
	checkLen("dx", len(dx), p.In.Size())
	checkLen("a", len(a), len(dx))
	checkLen("y", len(y), len(dx))
	checkLen("g", len(g), p.Out().Size())
	copy(dx, a)
	forEachShortcutA(p, func(yi, xi int) { dx[xi] += g[yi] })
	for i, v := range y {
		if !(v > 0) {
			dx[i] = 0
		}
	}
}

// Close has nothing to release: everything lives on the Go heap.
func (referenceBackend[F]) Close() {}

func checkLen(name string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("backend: %s has %d elements, want %d", name, got, want))
	}
}

// refBN wraps the kernels' BN; its buffers are planned once.
type refBN[F tensor.Float] struct {
	c            BNConfig
	invstd       []F
	scale, shift []F // the affine map of the last ForwardTrain, as it computed it
	tmp          []F // fused ReLU: the ReLU-masked dy
}

func (l *refBN[F]) Config() BNConfig { return l.c }

func (l *refBN[F]) ForwardTrain(y, mean, variance, x, gamma, beta []F) {
	kernels.BNForwardTrain(y, mean, variance, l.invstd, x, gamma, beta, l.c.BNParams)
	// The same expressions as kernels.BNForwardTrain, so that Backward's
	// recomputed output is bit-identical to this one.
	for c := range l.scale {
		l.scale[c] = gamma[c] * l.invstd[c]
		l.shift[c] = beta[c] - mean[c]*l.scale[c]
	}
	if l.c.ReLU {
		kernels.ReLUForward(y, y)
	}
}

func (l *refBN[F]) ForwardTrainAddReLU(y, mean, variance, x, gamma, beta, res []F) {
	if l.c.ReLU {
		panic("backend: ForwardTrainAddReLU on a BatchNorm with fused ReLU")
	}
	l.ForwardTrain(y, mean, variance, x, gamma, beta)
	kernels.Add(y, y, res)
	kernels.ReLUForward(y, y)
}

func (l *refBN[F]) ForwardTrainAddShortcutAReLU(y, mean, variance, x, gamma, beta, in []F, p ShortcutAParams) {
	if l.c.ReLU {
		panic("backend: ForwardTrainAddShortcutAReLU on a BatchNorm with fused ReLU")
	}
	checkLen("in", len(in), p.In.Size())
	checkLen("y", len(y), p.Out().Size())
	l.ForwardTrain(y, mean, variance, x, gamma, beta)
	forEachShortcutA(p, func(yi, xi int) { y[yi] += in[xi] })
	kernels.ReLUForward(y, y)
}

func (l *refBN[F]) ForwardInfer(y, x, gamma, beta, mean, variance []F) {
	kernels.BNForwardInfer(y, x, gamma, beta, mean, variance, l.c.BNParams)
	if l.c.ReLU {
		kernels.ReLUForward(y, y)
	}
}

// Backward follows this op's ForwardTrain (the layout contract's rule). With
// a fused ReLU it recomputes the ReLU's input from x with exactly the
// forward's arithmetic (recompute instead of store, issue 3): a mask
// recomputed with other rounding (e.g. the inference formula) disagrees
// with the forward on units within rounding of zero, and such a unit's
// gradient is then wrong.
func (l *refBN[F]) Backward(dx, dgamma, dbeta, dy, x, gamma, beta, mean, variance []F) {
	g := dy
	if l.c.ReLU {
		hw := l.c.HW
		for n := 0; n < l.c.N; n++ {
			for c := 0; c < l.c.C; c++ {
				o := (n*l.c.C + c) * hw
				scale, shift := l.scale[c], l.shift[c]
				for i, v := range x[o : o+hw] {
					if v*scale+shift > 0 {
						l.tmp[o+i] = dy[o+i]
					} else {
						l.tmp[o+i] = 0
					}
				}
			}
		}
		g = l.tmp
	}
	kernels.BNBackward(dx, dgamma, dbeta, g, x, gamma, mean, l.invstd, l.c.BNParams)
}

// refPool recomputes the argmax from x in Backward.
type refPool[F tensor.Float] struct{ p kernels.PoolParams }

func (l refPool[F]) Params() kernels.PoolParams { return l.p }
func (l refPool[F]) Forward(y, x []F)           { kernels.MaxPoolForward(y, x, l.p) }
func (l refPool[F]) Backward(dx, dy, x []F) {
	kernels.MaxPoolBackward(dx, dy, x, l.p)
}

// batchRange is a half-open range of images [lo, hi).
type batchRange struct{ lo, hi int }

// splitBatch divides n images into at most parts contiguous ranges.
func splitBatch(n, parts int) []batchRange {
	if parts > n {
		parts = n
	}
	out := make([]batchRange, 0, parts)
	for i := 0; i < parts; i++ {
		out = append(out, batchRange{lo: n * i / parts, hi: n * (i + 1) / parts})
	}
	return out
}

type refConv[F tensor.Float] struct {
	p         kernels.ConvParams
	parts     []batchRange
	partialDW [][]F
}

func (c *refConv[F]) Params() kernels.ConvParams { return c.p }

// sub returns the params and element offsets of images [lo, hi).
func (c *refConv[F]) sub(r batchRange) (kernels.ConvParams, int, int) {
	q := c.p
	q.N = r.hi - r.lo
	xPer := c.p.C * c.p.H * c.p.W
	yPer := c.p.K * c.p.P() * c.p.Q()
	return q, r.lo * xPer, r.lo * yPer
}

func (c *refConv[F]) each(f func(i int, r batchRange)) {
	if len(c.parts) == 1 {
		f(0, c.parts[0])
		return
	}
	var wg sync.WaitGroup
	for i, r := range c.parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, r)
		}()
	}
	wg.Wait()
}

func (c *refConv[F]) Forward(y, x, w []F) {
	c.each(func(_ int, r batchRange) {
		q, xo, yo := c.sub(r)
		kernels.ConvForward(y[yo:yo+q.YSize()], x[xo:xo+q.XSize()], w, q)
	})
}

func (c *refConv[F]) BackwardData(dx, dy, w []F) {
	c.each(func(_ int, r batchRange) {
		q, xo, yo := c.sub(r)
		kernels.ConvBackwardData(dx[xo:xo+q.XSize()], dy[yo:yo+q.YSize()], w, q)
	})
}

// BackwardDataAddReLU is BackwardData, then AddReLUBackward (two passes).
func (c *refConv[F]) BackwardDataAddReLU(dx, dy, w, a, y []F) {
	c.BackwardData(dx, dy, w)
	referenceBackend[F]{}.AddReLUBackward(dx, dx, a, y)
}

func (c *refConv[F]) BackwardWeights(dw, dy, x []F) {
	if len(c.parts) == 1 {
		kernels.ConvBackwardWeights(dw, dy, x, c.p)
		return
	}
	c.each(func(i int, r batchRange) {
		q, xo, yo := c.sub(r)
		kernels.ConvBackwardWeights(c.partialDW[i], dy[yo:yo+q.YSize()], x[xo:xo+q.XSize()], q)
	})
	copy(dw, c.partialDW[0])
	for _, part := range c.partialDW[1:] {
		for j, v := range part {
			dw[j] += v
		}
	}
}

type refLinear[F tensor.Float] struct{ p kernels.LinearParams }

func (l *refLinear[F]) Params() kernels.LinearParams { return l.p }
func (l *refLinear[F]) Forward(y, x, w, b []F)       { kernels.LinearForward(y, x, w, b, l.p) }
func (l *refLinear[F]) BackwardData(dx, dy, w []F)   { kernels.LinearBackwardData(dx, dy, w, l.p) }
func (l *refLinear[F]) BackwardWeights(dw, db, dy, x []F) {
	kernels.LinearBackwardWeights(dw, db, dy, x, l.p)
}
