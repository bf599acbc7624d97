// Package backend is the seam between the engine's layers (engine/nn) and
// the code that does the arithmetic. A Backend plans one operation per shape
// (NewConv, NewLinear) once, at model build, and the returned operation is
// then called every step with plain NCHW float32 slices; it must not
// allocate per call.
//
// Reference() is the pure-Go backend: the naive kernels of engine/kernels,
// split over the batch across goroutines. It is the oracle for the
// conformance suite and the fallback when no fast backend is built in.
package backend

import "github.com/resnet-repro/resnet-repro/engine/kernels"

// Conv is one planned convolution shape (see kernels.ConvParams for the
// math and shapes). Forward and BackwardData overwrite their destination;
// BackwardWeights overwrites dw.
type Conv interface {
	Params() kernels.ConvParams
	Forward(y, x, w []float32)
	BackwardData(dx, dy, w []float32)
	BackwardWeights(dw, dy, x []float32)
}

// Linear is one planned fully connected shape, y = x W^T + b
// (x is (N, In), W is (Out, In), b is (Out), y is (N, Out)).
// BackwardWeights overwrites dw and db.
type Linear interface {
	Params() kernels.LinearParams
	Forward(y, x, w, b []float32)
	BackwardData(dx, dy, w []float32)
	BackwardWeights(dw, db, dy, x []float32)
}

// Backend creates planned operations. Implementations are safe to use from
// one goroutine at a time per operation; they may use Threads() goroutines
// or OS threads internally.
type Backend interface {
	// Name identifies the backend in logs, the results database and
	// `repro bench` output (e.g. "reference", "onednn").
	Name() string
	// Threads is the number of compute threads the backend uses.
	Threads() int
	NewConv(p kernels.ConvParams) Conv
	NewLinear(p kernels.LinearParams) Linear
}
