//go:build cgo && !noonednn

package cpu

/*
#cgo CFLAGS: -O3 -fopenmp
#cgo LDFLAGS: -ldnnl -fopenmp -lm
#include <stdlib.h>
#include "glue.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/engine/kernels"
)

// Layout is how an activation tensor is laid out in memory.
type Layout int

const (
	// NCHW is plain row-major (N, C, H, W).
	NCHW Layout = C.RR_NCHW
	// NChw16c blocks channels by 16: element (n,c,h,w) is at
	// (((n*ceil(C/16) + c/16)*H + h)*W + w)*16 + c%16.
	NChw16c Layout = C.RR_NCHW16C
)

// Backend implements backend.Backend with oneDNN.
type Backend struct {
	ctx     *C.rr_ctx
	threads int

	// algos chooses each conv's algorithms (DefaultAlgos unless set by
	// NewWithAlgos).
	algos func(kernels.ConvParams) [3]Algo

	mu     sync.Mutex
	closed bool
	convs  []*Conv
	bns    []*BatchNorm
	pools  []*MaxPool
}

var _ backend.Backend = (*Backend)(nil)

// New creates a oneDNN backend using threads OpenMP threads (threads <= 0
// means runtime.NumCPU()).
func New(threads int) (*Backend, error) {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	var errbuf [512]C.char
	ctx := C.rr_ctx_new(C.int(threads), &errbuf[0], C.int(len(errbuf)))
	if ctx == nil {
		return nil, fmt.Errorf("onednn: %s", C.GoString(&errbuf[0]))
	}
	return &Backend{ctx: ctx, threads: threads, algos: DefaultAlgos}, nil
}

// NewWithAlgos is New with a per-shape choice of convolution algorithms,
// e.g. DirectAlgos to keep Winograd's extra rounding out of a comparison.
func NewWithAlgos(threads int, algos func(kernels.ConvParams) [3]Algo) (*Backend, error) {
	b, err := New(threads)
	if err != nil {
		return nil, err
	}
	b.algos = algos
	return b, nil
}

// DirectAlgos chooses direct convolution in every direction.
func DirectAlgos(kernels.ConvParams) [3]Algo { return [3]Algo{Direct, Direct, Direct} }

func (b *Backend) Name() string { return "onednn" }
func (b *Backend) Threads() int { return b.threads }

// Close frees every op planned by b and b's oneDNN engine and stream.
func (b *Backend) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for _, c := range b.convs {
		C.rr_conv_free(c.plan)
		c.plan = nil
		C.rr_c16_free(c.own)
		c.own = nil
	}
	for _, l := range b.bns {
		C.rr_bn_free(l.plan)
		l.plan = nil
		C.rr_bnadd_free(l.own)
		l.own = nil
	}
	for _, l := range b.pools {
		C.rr_pool_free(l.plan)
		l.plan = nil
	}
	C.rr_ctx_free(b.ctx)
	b.ctx = nil
}

func blocks16(c int) int { return (c + 15) / 16 * 16 }

// ActLen is N*ceil(C/16)*16*H*W (nChw16c).
func (b *Backend) ActLen(s backend.ActShape) int { return s.N * blocks16(s.C) * s.H * s.W }

func checkLen(name string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("onednn: %s has %d elements, want %d", name, got, want))
	}
}

func fp(s []float32) *C.float { return (*C.float)(unsafe.Pointer(unsafe.SliceData(s))) }

func (b *Backend) ToAct(dst, src []float32, s backend.ActShape) {
	checkLen("dst", len(dst), b.ActLen(s))
	checkLen("src", len(src), s.Size())
	C.rr_to_blocked(b.ctx, fp(dst), fp(src), C.int(s.N), C.int(s.C), C.int(s.H), C.int(s.W))
}

func (b *Backend) FromAct(dst, src []float32, s backend.ActShape) {
	checkLen("dst", len(dst), s.Size())
	checkLen("src", len(src), b.ActLen(s))
	C.rr_from_blocked(b.ctx, fp(dst), fp(src), C.int(s.N), C.int(s.C), C.int(s.H), C.int(s.W))
}

func must(r C.int, what string) {
	if r != 0 {
		panic(fmt.Sprintf("onednn: %s failed with dnnl status %d", what, int(r)))
	}
}

// ---- convolution ----

// ConvOptions chooses the layouts of a convolution's activations as the
// caller holds them. Native asks oneDNN to run on exactly those layouts
// (no reorders; used to measure the plain-NCHW path); otherwise oneDNN
// picks its preferred layouts and the op reorders around the primitive
// when they differ from the caller's.
//
// Algo picks the algorithm of the forward, backward-data and
// backward-weights primitives (in that order).
type ConvOptions struct {
	Src, Dst Layout
	Native   bool
	Algo     [3]Algo
}

// Algo is oneDNN's convolution algorithm.
type Algo int

const (
	// Direct convolution (the default; what NewConv uses).
	Direct Algo = C.RR_DIRECT
	// Winograd F(4x4,3x3): 3x3 stride-1 convs with channels in multiples
	// of 16 only; plan creation fails otherwise.
	Winograd Algo = C.RR_WINOGRAD
	// Auto lets oneDNN choose.
	Auto Algo = C.RR_AUTO
	// Own16 is our own AVX-512 direct kernel (conv16.c) for 3x3 stride-1
	// pad-1 convs with 16 input and 16 output channels on nChw16c
	// activations; plan creation fails for other shapes or layouts, or on
	// a CPU without AVX-512F (Own16Supported).
	Own16 Algo = C.RR_OWN16
	// Own16Winograd is our own Winograd F(2x2,3x3) kernel (conv16.c) for
	// the same shapes as Own16.
	Own16Winograd Algo = C.RR_OWN16W
)

// hasAVX512F reports whether this CPU has AVX-512F, which our own kernels
// (conv16.c, bnadd.c) need.
var hasAVX512F = C.rr_avx512_supported() != 0

// Own16Supported reports whether this CPU runs the Own16 kernels.
func Own16Supported() bool { return hasAVX512F }

// own16Shape reports whether p and o are the shape Own16 handles.
func own16Shape(p kernels.ConvParams, o ConvOptions) bool {
	return p.C == 16 && p.K == 16 && p.R == 3 && p.S == 3 && p.Stride == 1 && p.Pad == 1 &&
		o.Src == NChw16c && o.Dst == NChw16c
}

// DefaultAlgos is NewConv's choice per direction: our own Winograd kernel
// (Own16Winograd) for 3x3 stride-1 convs with 16 input and 16 output
// channels, oneDNN's Winograd F(4x4,3x3) for 3x3 stride-1 convs with at
// least 32 input channels and channel counts in multiples of 16, direct
// otherwise.
//
// Measured (BenchmarkConv*, 2 threads): at 16 channels (CIFAR stage 1)
// oneDNN's Winograd lost to its direct kernel (fwd 204 vs 144, bwd-data
// 178 vs 123 GFLOP/s, bwd-weights 180 vs 199), and our direct Own16 beat
// oneDNN direct (forward 283 vs 177 GFLOP/s in isolation; stage 1's convs
// in a resnet-20 step 58 vs 64 ms). Own16Winograd does 2.25x fewer
// multiply-adds than Own16: in isolation 1.50-1.65 vs 2.1-2.5 ms forward
// per stage-1 batch; in `repro bench --model resnet-20` (interleaved
// runs, with the output prefetch of conv16.c in both) it trained 2.9%
// faster than Own16 in every direction, and the same with Own16 for
// backward weights only. From 32 channels on oneDNN's Winograd was
// 1.0-2.8x faster than direct (CIFAR 64@8x8: ~380 vs ~250; ResNet-50
// 128@28x28: ~540 vs ~200 effective GFLOP/s). Winograd's error against the
// naive kernel is ~1e-6 relative (TestAlgoAccuracy), well inside the
// conformance bound.
func DefaultAlgos(p kernels.ConvParams) [3]Algo {
	if Own16Supported() && own16Shape(p, ConvOptions{Src: NChw16c, Dst: NChw16c}) {
		return [3]Algo{Own16Winograd, Own16Winograd, Own16Winograd}
	}
	if p.R != 3 || p.S != 3 || p.Stride != 1 || p.Pad != 1 || p.C < 32 || p.C%16 != 0 || p.K%16 != 0 {
		return [3]Algo{Direct, Direct, Direct}
	}
	return [3]Algo{Winograd, Winograd, Winograd}
}

// Conv is a planned oneDNN convolution (forward, backward data, backward
// weights).
type Conv struct {
	b      *Backend
	p      kernels.ConvParams
	o      ConvOptions
	plan   *C.rr_conv
	own    *C.rr_c16 // non-nil when some direction runs on our own kernels
	ownDir [3]Algo   // Own16 or Own16Winograd for the directions that do, else 0
	xl, yl int       // element counts of x and y in their layouts
}

// NewConv plans p with the backend's activation layout (nChw16c in and out)
// and the backend's algorithm choice (DefaultAlgos(p) unless NewWithAlgos).
func (b *Backend) NewConv(p kernels.ConvParams) backend.Conv {
	c, err := b.NewConvWith(p, ConvOptions{Src: NChw16c, Dst: NChw16c, Algo: b.algos(p)})
	if err != nil {
		panic(err)
	}
	return c
}

// NewInputConv plans the model's first conv with x in plain NCHW; oneDNN
// picks the layout it reads best (NCHW for its 3-channel first-conv
// kernels) and reorders only if it has to.
func (b *Backend) NewInputConv(p kernels.ConvParams) backend.Conv {
	c, err := b.NewConvWith(p, ConvOptions{Src: NCHW, Dst: NChw16c, Algo: b.algos(p)})
	if err != nil {
		panic(err)
	}
	return c
}

func layoutLen(l Layout, n, c, h, w int) int {
	if l == NChw16c {
		c = blocks16(c)
	}
	return n * c * h * w
}

// NewConvWith plans p with explicit caller layouts.
func (b *Backend) NewConvWith(p kernels.ConvParams, o ConvOptions) (*Conv, error) {
	p.Validate()
	var errbuf [512]C.char
	var algo [3]C.int
	var ownDir [3]Algo
	for i, a := range o.Algo {
		algo[i] = C.int(a)
		if a == Own16 || a == Own16Winograd {
			if !own16Shape(p, o) || !Own16Supported() {
				return nil, fmt.Errorf("onednn: conv %s: the Own16 kernels need 3x3/1 pad 1, 16 to 16 channels, nChw16c and AVX-512F", p)
			}
			ownDir[i], algo[i] = a, C.RR_DIRECT // planned by oneDNN only if another direction needs it
		}
	}
	var plan *C.rr_conv // nil when every direction runs on our own kernels
	if ownDir[0] == 0 || ownDir[1] == 0 || ownDir[2] == 0 {
		plan = C.rr_conv_new(b.ctx, C.int(p.N), C.int(p.C), C.int(p.H), C.int(p.W), C.int(p.K),
			C.int(p.R), C.int(p.S), C.int(p.Stride), C.int(p.Pad), C.int(o.Src), C.int(o.Dst),
			cbool(o.Native), &algo[0], &errbuf[0], C.int(len(errbuf)))
		if plan == nil {
			return nil, fmt.Errorf("onednn: conv %s: %s", p, C.GoString(&errbuf[0]))
		}
	}
	c := &Conv{b: b, p: p, o: o, plan: plan, ownDir: ownDir,
		xl: layoutLen(o.Src, p.N, p.C, p.H, p.W), yl: layoutLen(o.Dst, p.N, p.K, p.P(), p.Q())}
	if ownDir != [3]Algo{} {
		if c.own = C.rr_c16_new(b.ctx, C.int(p.N), C.int(p.H), C.int(p.W)); c.own == nil {
			C.rr_conv_free(plan)
			return nil, fmt.Errorf("onednn: conv %s: out of memory for the Own16 plan", p)
		}
	}
	b.mu.Lock()
	b.convs = append(b.convs, c)
	b.mu.Unlock()
	return c, nil
}

func (c *Conv) Params() kernels.ConvParams { return c.p }

// Impl names the oneDNN implementations chosen for forward (0), backward
// data (1) and backward weights (2), e.g. "jit:avx512_core".
func (c *Conv) Impl(which int) string {
	switch c.ownDir[which] {
	case Own16:
		return "own:avx512_c16"
	case Own16Winograd:
		return "own:avx512_c16_winograd"
	}
	return C.GoString(C.rr_conv_impl(c.plan, C.int(which)))
}

func (c *Conv) Forward(y, x, w []float32) {
	checkLen("y", len(y), c.yl)
	checkLen("x", len(x), c.xl)
	checkLen("w", len(w), c.p.WSize())
	switch c.ownDir[0] {
	case Own16:
		C.rr_c16_fwd(c.own, fp(y), fp(x), fp(w))
		return
	case Own16Winograd:
		C.rr_c16w_fwd(c.own, fp(y), fp(x), fp(w))
		return
	}
	must(C.rr_conv_fwd(c.plan, fp(y), fp(x), fp(w)), "conv forward")
}

func (c *Conv) BackwardData(dx, dy, w []float32) {
	checkLen("dx", len(dx), c.xl)
	checkLen("dy", len(dy), c.yl)
	checkLen("w", len(w), c.p.WSize())
	switch c.ownDir[1] {
	case Own16:
		C.rr_c16_bwd_data(c.own, fp(dx), fp(dy), fp(w))
		return
	case Own16Winograd:
		C.rr_c16w_bwd_data(c.own, fp(dx), fp(dy), fp(w))
		return
	}
	must(C.rr_conv_bwd_data(c.plan, fp(dx), fp(dy), fp(w)), "conv backward data")
}

// BackwardDataAddReLU runs in Own16Winograd's output transform when that
// kernel computes backward data, else as BackwardData and AddReLUBackward.
func (c *Conv) BackwardDataAddReLU(dx, dy, w, a, y []float32) {
	if c.ownDir[1] != Own16Winograd {
		c.BackwardData(dx, dy, w)
		c.b.AddReLUBackward(dx, dx, a, y)
		return
	}
	checkLen("dx", len(dx), c.xl)
	checkLen("dy", len(dy), c.yl)
	checkLen("w", len(w), c.p.WSize())
	sameLen(len(dx), a, y)
	C.rr_c16w_bwd_data_add_relu(c.own, fp(dx), fp(dy), fp(w), fp(a), fp(y))
}

func (c *Conv) BackwardWeights(dw, dy, x []float32) {
	checkLen("dw", len(dw), c.p.WSize())
	checkLen("dy", len(dy), c.yl)
	checkLen("x", len(x), c.xl)
	switch c.ownDir[2] {
	case Own16:
		C.rr_c16_bwd_weights(c.own, fp(dw), fp(dy), fp(x))
		return
	case Own16Winograd:
		C.rr_c16w_bwd_weights(c.own, fp(dw), fp(dy), fp(x))
		return
	}
	must(C.rr_conv_bwd_weights(c.plan, fp(dw), fp(dy), fp(x)), "conv backward weights")
}

// ---- fully connected ----

type linear struct {
	b *Backend
	p kernels.LinearParams
}

// NewLinear runs FC on dnnl_sgemm (row-major, plain layouts).
func (b *Backend) NewLinear(p kernels.LinearParams) backend.Linear { return &linear{b: b, p: p} }

func (l *linear) Params() kernels.LinearParams { return l.p }

func (l *linear) Forward(y, x, w, bias []float32) {
	p := l.p
	checkLen("y", len(y), p.N*p.Out)
	checkLen("x", len(x), p.N*p.In)
	checkLen("w", len(w), p.Out*p.In)
	checkLen("b", len(bias), p.Out)
	must(C.rr_linear_fwd(l.b.ctx, fp(y), fp(x), fp(w), fp(bias), C.int(p.N), C.int(p.In), C.int(p.Out)), "linear forward")
}

func (l *linear) BackwardData(dx, dy, w []float32) {
	p := l.p
	checkLen("dx", len(dx), p.N*p.In)
	checkLen("dy", len(dy), p.N*p.Out)
	checkLen("w", len(w), p.Out*p.In)
	must(C.rr_linear_bwd_data(l.b.ctx, fp(dx), fp(dy), fp(w), C.int(p.N), C.int(p.In), C.int(p.Out)), "linear backward data")
}

func (l *linear) BackwardWeights(dw, db, dy, x []float32) {
	p := l.p
	checkLen("dw", len(dw), p.Out*p.In)
	checkLen("db", len(db), p.Out)
	checkLen("dy", len(dy), p.N*p.Out)
	checkLen("x", len(x), p.N*p.In)
	must(C.rr_linear_bwd_weights(l.b.ctx, fp(dw), fp(db), fp(dy), fp(x), C.int(p.N), C.int(p.In), C.int(p.Out)), "linear backward weights")
}

// ---- batch norm ----

// BatchNorm trains on our own kernels (bnadd.c: statistics, apply and
// backward passes shared over the threads from both ends of the batch,
// the fused ReLU's mask recomputed from x) on AVX-512F CPUs for the
// activation sizes NewBatchNorm gives them, else on oneDNN's
// batch_normalization (use_scale|use_shift, plus fuse_norm_relu with a
// workspace for the ReLU mask when fused). The fused block ends
// (ForwardTrainAddReLU, ForwardTrainAddShortcutAReLU) run on ours
// wherever AVX-512F is, and inference always on oneDNN's. All on nChw16c.
type BatchNorm struct {
	b        *Backend
	c        backend.BNConfig
	plan     *C.rr_bn
	own      *C.rr_bnadd // bnadd.c's plan (AVX-512F, else nil)
	ownTrain bool        // ForwardTrain and Backward run on own
	n        int
	res      []float32 // the shortcut, without AVX-512F only
}

func (b *Backend) NewBatchNorm(c backend.BNConfig) backend.BatchNorm {
	block := 64 * c.N * c.HW // bytes of one 16-channel block over the batch
	total := block * blocks16(c.C) / 16
	own := total <= 2*l2Bytes || block >= l2Bytes && total <= ownBNMaxBytes
	return b.NewBatchNormWith(c, hasAVX512F && own)
}

// Our own BN kernels train by default where oneDNN's have no cache
// advantage: an activation that fits the two cores' L2 caches, or one
// whose 16-channel blocks over the batch are each larger than L2 but that
// still fits ownBNMaxBytes. oneDNN's passes go block by block and so read
// a block's data back from L2 when blocks are smaller than L2; ours go
// image by image, and sharing the batch from both ends is what they gain.
// Beyond ownBNMaxBytes oneDNN's stores that bypass the cache win
// (BenchmarkBatchNormReLU, resnet50_conv2_256_56x56_b32, 103 MB: forward
// 10.8 ms against our 15.8, backward 17.9 against 21.8). Measured on whole
// training steps: ours on every BN of resnet-20 (batch 128: 8, 4 and 2 MB
// activations) +2.9%, and ours on stages 1-2 only 8% slower than that; ours
// on every BN of resnet-50 (batch 32) -5%, which this rule leaves almost
// entirely on oneDNN's.
const (
	l2Bytes       = 2 << 20 // per core, here
	ownBNMaxBytes = 16 << 20
)

// NewBatchNormWith plans c with training on our own kernels (own, which
// needs AVX-512F) or on oneDNN's (for comparisons).
func (b *Backend) NewBatchNormWith(c backend.BNConfig, own bool) *BatchNorm {
	if own && !hasAVX512F {
		panic("onednn: own batch norm kernels need AVX-512F")
	}
	var errbuf [512]C.char
	plan := C.rr_bn_new(b.ctx, C.int(c.N), C.int(c.C), C.int(c.HW), C.int(NChw16c), C.float(c.Eps),
		cbool(c.ReLU), cbool(!own), &errbuf[0], C.int(len(errbuf)))
	if plan == nil {
		panic(fmt.Sprintf("onednn: batch norm %+v: %s", c, C.GoString(&errbuf[0])))
	}
	l := &BatchNorm{b: b, c: c, plan: plan, n: c.N * blocks16(c.C) * c.HW, ownTrain: own}
	if hasAVX512F {
		if l.own = C.rr_bnadd_new(b.ctx, C.int(c.N), C.int(c.C), C.int(c.HW), C.float(c.Eps)); l.own == nil {
			C.rr_bn_free(plan)
			panic(fmt.Sprintf("onednn: batch norm %+v: out of memory", c))
		}
	}
	b.mu.Lock()
	b.bns = append(b.bns, l)
	b.mu.Unlock()
	return l
}

func (l *BatchNorm) Config() backend.BNConfig { return l.c }

func (l *BatchNorm) checkC(names string, vs ...[]float32) {
	for _, v := range vs {
		checkLen(names, len(v), l.c.C)
	}
}

func (l *BatchNorm) ForwardTrain(y, mean, variance, x, gamma, beta []float32) {
	checkLen("y", len(y), l.n)
	checkLen("x", len(x), l.n)
	l.checkC("mean/variance/gamma/beta", mean, variance, gamma, beta)
	if l.ownTrain {
		C.rr_bn_own_fwd_train(l.own, fp(y), fp(mean), fp(variance), fp(x), fp(gamma), fp(beta), cbool(l.c.ReLU))
		return
	}
	must(C.rr_bn_fwd_train(l.plan, fp(y), fp(mean), fp(variance), fp(x), fp(gamma), fp(beta)), "bn forward train")
}

// cbool is b as a C flag (1 or 0).
func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// ForwardTrainAddReLU runs bnadd.c's one-pass kernel (batch statistics in
// one read, then y = max(0, BN(x) + res)); without AVX-512F it is oneDNN's
// ForwardTrain followed by AddReLU.
func (l *BatchNorm) ForwardTrainAddReLU(y, mean, variance, x, gamma, beta, res []float32) {
	if l.c.ReLU {
		panic("onednn: ForwardTrainAddReLU on a BatchNorm with fused ReLU")
	}
	checkLen("res", len(res), l.n)
	if l.own == nil {
		l.ForwardTrain(y, mean, variance, x, gamma, beta)
		l.b.AddReLU(y, y, res)
		return
	}
	checkLen("y", len(y), l.n)
	checkLen("x", len(x), l.n)
	l.checkC("mean/variance/gamma/beta", mean, variance, gamma, beta)
	C.rr_bnadd_fwd_train(l.own, fp(y), fp(mean), fp(variance), fp(x), fp(gamma), fp(beta), fp(res))
}

// ForwardTrainAddShortcutAReLU runs bnadd.c's one-pass kernel with the
// option-A shortcut read from in on the fly; without AVX-512F it is
// ShortcutAForward into a buffer planned on first use, then
// ForwardTrainAddReLU.
func (l *BatchNorm) ForwardTrainAddShortcutAReLU(y, mean, variance, x, gamma, beta, in []float32, p backend.ShortcutAParams) {
	if l.c.ReLU {
		panic("onednn: ForwardTrainAddShortcutAReLU on a BatchNorm with fused ReLU")
	}
	checkLen("in", len(in), l.b.ActLen(p.In))
	checkLen("y", len(y), l.b.ActLen(p.Out()))
	if l.own == nil {
		if l.res == nil {
			l.res = make([]float32, l.n)
		}
		l.b.ShortcutAForward(l.res, in, p)
		l.ForwardTrainAddReLU(y, mean, variance, x, gamma, beta, l.res)
		return
	}
	checkLen("x", len(x), l.n)
	l.checkC("mean/variance/gamma/beta", mean, variance, gamma, beta)
	C.rr_bnadd_fwd_train_sca(l.own, fp(y), fp(mean), fp(variance), fp(x), fp(gamma), fp(beta), fp(in),
		C.int(p.In.C), C.int(p.In.H), C.int(p.In.W), C.int(p.Stride), C.int(p.PadLo))
}

func (l *BatchNorm) ForwardInfer(y, x, gamma, beta, mean, variance []float32) {
	checkLen("y", len(y), l.n)
	checkLen("x", len(x), l.n)
	l.checkC("mean/variance/gamma/beta", mean, variance, gamma, beta)
	must(C.rr_bn_fwd_infer(l.plan, fp(y), fp(x), fp(gamma), fp(beta), fp(mean), fp(variance)), "bn forward infer")
}

// Backward: the fused ReLU's mask is recomputed from x with the
// preceding ForwardTrain's mean and scale (own kernels), or comes from the
// workspace that ForwardTrain wrote (oneDNN's).
func (l *BatchNorm) Backward(dx, dgamma, dbeta, dy, x, gamma, beta, mean, variance []float32) {
	checkLen("dx", len(dx), l.n)
	checkLen("dy", len(dy), l.n)
	checkLen("x", len(x), l.n)
	l.checkC("dgamma/dbeta/gamma/beta/mean/variance", dgamma, dbeta, gamma, beta, mean, variance)
	if l.ownTrain {
		C.rr_bn_own_bwd(l.own, fp(dx), fp(dgamma), fp(dbeta), fp(dy), fp(x), fp(gamma), fp(variance), cbool(l.c.ReLU))
		return
	}
	must(C.rr_bn_bwd(l.plan, fp(dx), fp(dgamma), fp(dbeta), fp(dy), fp(x), fp(gamma), fp(beta), fp(mean), fp(variance)), "bn backward")
}

// ---- max pooling ----

// MaxPool is oneDNN's max pooling on nChw16c with its argmax workspace.
type MaxPool struct {
	b      *Backend
	p      kernels.PoolParams
	plan   *C.rr_pool
	xl, yl int
}

func (b *Backend) NewMaxPool(p kernels.PoolParams) backend.MaxPool {
	var errbuf [512]C.char
	plan := C.rr_pool_new(b.ctx, C.int(p.N), C.int(p.C), C.int(p.H), C.int(p.W), C.int(p.Size),
		C.int(p.Stride), C.int(p.Pad), C.int(NChw16c), &errbuf[0], C.int(len(errbuf)))
	if plan == nil {
		panic(fmt.Sprintf("onednn: max pool %+v: %s", p, C.GoString(&errbuf[0])))
	}
	l := &MaxPool{b: b, p: p, plan: plan,
		xl: p.N * blocks16(p.C) * p.H * p.W, yl: p.N * blocks16(p.C) * p.P() * p.Q()}
	b.mu.Lock()
	b.pools = append(b.pools, l)
	b.mu.Unlock()
	return l
}

func (l *MaxPool) Params() kernels.PoolParams { return l.p }

func (l *MaxPool) Forward(y, x []float32) {
	checkLen("y", len(y), l.yl)
	checkLen("x", len(x), l.xl)
	must(C.rr_pool_fwd(l.plan, fp(y), fp(x)), "max pool forward")
}

func (l *MaxPool) Backward(dx, dy, x []float32) {
	checkLen("dx", len(dx), l.xl)
	checkLen("dy", len(dy), l.yl)
	must(C.rr_pool_bwd(l.plan, fp(dx), fp(dy)), "max pool backward")
}

// ---- elementwise, GAP, shortcut ----

func sameLen(n int, vs ...[]float32) {
	for _, v := range vs {
		checkLen("operand", len(v), n)
	}
}

func (b *Backend) ReLUForward(y, x []float32) {
	sameLen(len(y), x)
	C.rr_relu_fwd(b.ctx, fp(y), fp(x), C.long(len(y)))
}

func (b *Backend) ReLUBackward(dx, dy, y []float32) {
	sameLen(len(dx), dy, y)
	C.rr_relu_bwd(b.ctx, fp(dx), fp(dy), fp(y), C.long(len(dx)))
}

func (b *Backend) Add(y, a, c []float32) {
	sameLen(len(y), a, c)
	C.rr_add(b.ctx, fp(y), fp(a), fp(c), C.long(len(y)))
}

func (b *Backend) AddReLUBackward(dx, a, c, y []float32) {
	sameLen(len(dx), a, c, y)
	C.rr_add_relu_bwd(b.ctx, fp(dx), fp(a), fp(c), fp(y), C.long(len(dx)))
}

func (b *Backend) AddReLU(y, a, c []float32) {
	sameLen(len(y), a, c)
	C.rr_add_relu(b.ctx, fp(y), fp(a), fp(c), C.long(len(y)))
}

func (b *Backend) GlobalAvgPoolForward(y, x []float32, s backend.ActShape) {
	checkLen("y", len(y), s.N*s.C)
	checkLen("x", len(x), b.ActLen(s))
	C.rr_gap_fwd(b.ctx, fp(y), fp(x), C.int(s.N), C.int(s.C), C.int(s.H*s.W))
}

func (b *Backend) GlobalAvgPoolBackward(dx, dy []float32, s backend.ActShape) {
	checkLen("dy", len(dy), s.N*s.C)
	checkLen("dx", len(dx), b.ActLen(s))
	C.rr_gap_bwd(b.ctx, fp(dx), fp(dy), C.int(s.N), C.int(s.C), C.int(s.H*s.W))
}

func (b *Backend) ShortcutAForward(y, x []float32, p backend.ShortcutAParams) {
	checkLen("x", len(x), b.ActLen(p.In))
	checkLen("y", len(y), b.ActLen(p.Out()))
	in := p.In
	C.rr_shortcut_a_fwd(b.ctx, fp(y), fp(x), C.int(in.N), C.int(in.C), C.int(in.H), C.int(in.W),
		C.int(p.K), C.int(p.Stride), C.int(p.PadLo))
}

func (b *Backend) ShortcutAAddReLUBackward(dx, a, g, y []float32, p backend.ShortcutAParams) {
	checkLen("dx", len(dx), b.ActLen(p.In))
	checkLen("g", len(g), b.ActLen(p.Out()))
	sameLen(len(dx), a, y)
	in := p.In
	C.rr_shortcut_a_add_relu_bwd(b.ctx, fp(dx), fp(a), fp(g), fp(y), C.int(in.N), C.int(in.C), C.int(in.H), C.int(in.W),
		C.int(p.K), C.int(p.Stride), C.int(p.PadLo))
}

func (b *Backend) ShortcutABackward(dx, dy []float32, p backend.ShortcutAParams) {
	checkLen("dx", len(dx), b.ActLen(p.In))
	checkLen("dy", len(dy), b.ActLen(p.Out()))
	in := p.In
	C.rr_shortcut_a_bwd(b.ctx, fp(dx), fp(dy), C.int(in.N), C.int(in.C), C.int(in.H), C.int(in.W),
		C.int(p.K), C.int(p.Stride), C.int(p.PadLo))
}

// teamSize is the OpenMP team size a parallel region started by the calling
// OS thread gets after the backend's thread setting (for tests).
func (b *Backend) teamSize() int { return int(C.rr_team_size(b.ctx)) }

// Times is where a backend's time went since the last ResetTimes: inside
// oneDNN primitives (convolution, batch norm, pooling), in reorders of
// activations between the caller's layout and a primitive's, and in
// reorders of weights to and from the plain KCRS layout.
type Times struct{ Primitives, ActReorders, WeightReorders float64 }

// Times reports the accumulated seconds; reset zeroes the counters.
func (b *Backend) Times(reset bool) Times {
	var out [3]C.double
	C.rr_ctx_times(b.ctx, &out[0], cbool(reset))
	return Times{float64(out[0]), float64(out[1]), float64(out[2])}
}
