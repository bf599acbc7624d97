package backend

import (
	"runtime"
	"sync"

	"github.com/resnet-repro/resnet-repro/engine/kernels"
)

// Reference returns the pure-Go backend using up to threads goroutines
// (threads <= 0 means runtime.NumCPU()). Work is split over the batch: each
// goroutine runs the naive kernel on its own images, and weight gradients
// are summed from per-goroutine partials in a fixed order, so results are
// identical for a given thread count.
func Reference(threads int) Backend {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	return referenceBackend{threads: threads}
}

type referenceBackend struct{ threads int }

func (b referenceBackend) Name() string { return "reference" }
func (b referenceBackend) Threads() int { return b.threads }

func (b referenceBackend) NewConv(p kernels.ConvParams) Conv {
	p.Validate()
	parts := splitBatch(p.N, b.threads)
	c := &refConv{p: p, parts: parts}
	if len(parts) > 1 {
		c.partialDW = make([][]float32, len(parts))
		for i := range parts {
			c.partialDW[i] = make([]float32, p.WSize())
		}
	}
	return c
}

func (b referenceBackend) NewLinear(p kernels.LinearParams) Linear {
	return &refLinear{p: p}
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

type refConv struct {
	p         kernels.ConvParams
	parts     []batchRange
	partialDW [][]float32
}

func (c *refConv) Params() kernels.ConvParams { return c.p }

// sub returns the params and element offsets of images [lo, hi).
func (c *refConv) sub(r batchRange) (kernels.ConvParams, int, int) {
	q := c.p
	q.N = r.hi - r.lo
	xPer := c.p.C * c.p.H * c.p.W
	yPer := c.p.K * c.p.P() * c.p.Q()
	return q, r.lo * xPer, r.lo * yPer
}

func (c *refConv) each(f func(i int, r batchRange)) {
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

func (c *refConv) Forward(y, x, w []float32) {
	c.each(func(_ int, r batchRange) {
		q, xo, yo := c.sub(r)
		kernels.ConvForward(y[yo:yo+q.YSize()], x[xo:xo+q.XSize()], w, q)
	})
}

func (c *refConv) BackwardData(dx, dy, w []float32) {
	c.each(func(_ int, r batchRange) {
		q, xo, yo := c.sub(r)
		kernels.ConvBackwardData(dx[xo:xo+q.XSize()], dy[yo:yo+q.YSize()], w, q)
	})
}

func (c *refConv) BackwardWeights(dw, dy, x []float32) {
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

type refLinear struct{ p kernels.LinearParams }

func (l *refLinear) Params() kernels.LinearParams     { return l.p }
func (l *refLinear) Forward(y, x, w, b []float32)     { kernels.LinearForward(y, x, w, b, l.p) }
func (l *refLinear) BackwardData(dx, dy, w []float32) { kernels.LinearBackwardData(dx, dy, w, l.p) }
func (l *refLinear) BackwardWeights(dw, db, dy, x []float32) {
	kernels.LinearBackwardWeights(dw, db, dy, x, l.p)
}
