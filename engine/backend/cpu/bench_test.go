//go:build cgo && !noonednn

package cpu_test

// Kernel benchmarks named after real layer shapes (issue 3). Each shape
// runs in up to four variants, reported side by side as GFLOP/s
// (2 * multiply-adds / time, the same count for all three directions):
//
//	blocked      the backend's contract: activations in nChw16c, no
//	             reorders, direct convolution
//	blocked_winograd the same with oneDNN's Winograd F(4x4,3x3) (3x3/1 only)
//	blocked_own16 the same with our own AVX-512 kernel (conv16.c; 16 to 16
//	             channels, 3x3/1 only)
//	nchw_reorder NCHW in and out; oneDNN's preferred layout inside, with
//	             reorders of x/y (or dy/dx) around every call
//	nchw_native  NCHW in and out, the primitive forced to run on NCHW
//	reference    the pure-Go backend (small CIFAR shapes only)
//
// For oneDNN variants it also reports the share of the time spent in
// reorders of activations (%act_reorder) and of weights (%w_reorder).
//
// Run: go test ./engine/backend/cpu -run '^$' -bench . -benchtime 5x

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/engine/backend/cpu"
	"github.com/resnet-repro/resnet-repro/engine/kernels"
)

// benchThreads is the issue's measuring condition (2 threads, the 2 cores).
const benchThreads = 2

type benchShape struct {
	name string
	p    kernels.ConvParams
	ref  bool // also time the reference (slow; small shapes only)
}

func cifar(name string, c, k, hw, stride int, ref bool) benchShape {
	return benchShape{name, kernels.ConvParams{N: 128, C: c, H: hw, W: hw, K: k, R: 3, S: 3, Stride: stride, Pad: 1}, ref}
}

func r50(name string, c, k, hw, r, stride int) benchShape {
	return benchShape{name, kernels.ConvParams{N: 32, C: c, H: hw, W: hw, K: k, R: r, S: r, Stride: stride, Pad: r / 2}, false}
}

// benchShapes: CIFAR ResNet-20/56 at batch 128 (Sec. 4.2: 16/32/64 filters
// at 32/16/8) and ResNet-50 at batch 32 (Table 1, bottleneck blocks).
var benchShapes = []benchShape{
	cifar("resnet20_conv1_3x3_3to16_32x32_b128", 3, 16, 32, 1, false),
	cifar("resnet20_stage1_3x3_16_32x32_b128", 16, 16, 32, 1, true),
	cifar("resnet20_stage2_down_3x3_16to32_s2_b128", 16, 32, 32, 2, false),
	cifar("resnet20_stage2_3x3_32_16x16_b128", 32, 32, 16, 1, false),
	cifar("resnet20_stage3_down_3x3_32to64_s2_b128", 32, 64, 16, 2, false),
	cifar("resnet20_stage3_3x3_64_8x8_b128", 64, 64, 8, 1, true),
	r50("resnet50_stem_7x7_3to64_s2_224x224_b32", 3, 64, 224, 7, 2),
	r50("resnet50_conv2_1x1_64to64_56x56_b32", 64, 64, 56, 1, 1),
	r50("resnet50_conv2_3x3_64_56x56_b32", 64, 64, 56, 3, 1),
	r50("resnet50_conv2_1x1_64to256_56x56_b32", 64, 256, 56, 1, 1),
	r50("resnet50_conv2_1x1_256to64_56x56_b32", 256, 64, 56, 1, 1),
	r50("resnet50_conv3_proj_1x1_256to512_s2_56x56_b32", 256, 512, 56, 1, 2),
	r50("resnet50_conv3_3x3_128_28x28_b32", 128, 128, 28, 3, 1),
	r50("resnet50_conv3_1x1_512to128_28x28_b32", 512, 128, 28, 1, 1),
	r50("resnet50_conv3_1x1_128to512_28x28_b32", 128, 512, 28, 1, 1),
	r50("resnet50_conv4_3x3_256_14x14_b32", 256, 256, 14, 3, 1),
	r50("resnet50_conv4_1x1_1024to256_14x14_b32", 1024, 256, 14, 1, 1),
	r50("resnet50_conv4_1x1_256to1024_14x14_b32", 256, 1024, 14, 1, 1),
	r50("resnet50_conv5_3x3_512_7x7_b32", 512, 512, 7, 3, 1),
	r50("resnet50_conv5_1x1_2048to512_7x7_b32", 2048, 512, 7, 1, 1),
	r50("resnet50_conv5_1x1_512to2048_7x7_b32", 512, 2048, 7, 1, 1),
}

// pin runs the calling benchmark goroutine on one OS thread, as cmd/repro
// does: libgomp keeps a worker team per calling OS thread (package doc).
func pin(b *testing.B) {
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
}

func newBackend(b *testing.B) *cpu.Backend {
	be, err := cpu.New(benchThreads)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(be.Close)
	return be
}

func randSlice(n int) []float32 {
	rng := rand.New(rand.NewPCG(1, 2))
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

type direction int

const (
	fwd direction = iota
	bwdData
	bwdWeights
)

// run times one direction of conv with buffers sized for its layouts.
func run(b *testing.B, be *cpu.Backend, conv backend.Conv, dir direction, xLen, yLen int) {
	p := conv.Params()
	x, y, w := randSlice(xLen), randSlice(yLen), randSlice(p.WSize())
	call := func() {
		switch dir {
		case fwd:
			conv.Forward(y, x, w)
		case bwdData:
			conv.BackwardData(x, y, w)
		case bwdWeights:
			conv.BackwardWeights(w, y, x)
		}
	}
	call() // warm-up: JIT caches, OpenMP team start
	b.ReportAllocs()
	be.Times(true)
	b.ResetTimer()
	for range b.N {
		call()
	}
	b.StopTimer()
	secs := b.Elapsed().Seconds()
	b.ReportMetric(2*float64(p.MACs())*float64(b.N)/secs/1e9, "GFLOP/s")
	if _, isOneDNN := conv.(*cpu.Conv); isOneDNN {
		t := be.Times(false)
		b.ReportMetric(100*t.ActReorders/secs, "%act_reorder")
		b.ReportMetric(100*t.WeightReorders/secs, "%w_reorder")
	}
}

func benchConv(b *testing.B, dir direction) {
	be := newBackend(b)
	for _, s := range benchShapes {
		p := s.p
		xs := backend.ActShape{N: p.N, C: p.C, H: p.H, W: p.W}
		ys := backend.ActShape{N: p.N, C: p.K, H: p.P(), W: p.Q()}
		algos := []struct {
			name string
			algo cpu.Algo
			ok   bool
		}{
			{"blocked", cpu.Direct, true},
			{"blocked_winograd", cpu.Winograd, p.R == 3 && p.Stride == 1 && p.C%16 == 0 && p.K%16 == 0},
			{"blocked_own16", cpu.Own16, p.R == 3 && p.Stride == 1 && p.C == 16 && p.K == 16 && cpu.Own16Supported()},
			{"blocked_own16_winograd", cpu.Own16Winograd, p.R == 3 && p.Stride == 1 && p.C == 16 && p.K == 16 && cpu.Own16Supported()},
		}
		for _, a := range algos {
			if !a.ok {
				continue
			}
			b.Run(s.name+"/"+a.name, func(b *testing.B) {
				pin(b)
				c, err := be.NewConvWith(p, cpu.ConvOptions{Src: cpu.NChw16c, Dst: cpu.NChw16c, Algo: [3]cpu.Algo{a.algo, a.algo, a.algo}})
				if err != nil {
					b.Fatal(err)
				}
				run(b, be, c, dir, be.ActLen(xs), be.ActLen(ys))
			})
		}
		for _, v := range []struct {
			name   string
			native bool
		}{{"nchw_reorder", false}, {"nchw_native", true}} {
			b.Run(s.name+"/"+v.name, func(b *testing.B) {
				pin(b)
				c, err := be.NewConvWith(p, cpu.ConvOptions{Src: cpu.NCHW, Dst: cpu.NCHW, Native: v.native})
				if err != nil {
					b.Fatal(err)
				}
				run(b, be, c, dir, xs.Size(), ys.Size())
			})
		}
		if s.ref {
			b.Run(s.name+"/reference", func(b *testing.B) {
				pin(b)
				ref := backend.Reference(benchThreads)
				run(b, be, ref.NewConv(p), dir, xs.Size(), ys.Size())
			})
		}
	}
}

// BenchmarkConvCold times stage 1's conv as a training step meets it:
// activations not in cache. Each call takes the next of coldBatches
// (x, y) pairs, 24 x 2 x 8 MB, more than this machine's caches hold for
// one process; the ratio to BenchmarkConv* (same buffers every call) is
// what memory costs the kernel.
func BenchmarkConvCold(b *testing.B) {
	const coldBatches = 24
	be := newBackend(b)
	p := kernels.ConvParams{N: 128, C: 16, H: 32, W: 32, K: 16, R: 3, S: 3, Stride: 1, Pad: 1}
	n := be.ActLen(backend.ActShape{N: p.N, C: p.C, H: p.H, W: p.W})
	var xs, ys [coldBatches][]float32
	for i := range xs {
		xs[i], ys[i] = randSlice(n), randSlice(n)
	}
	w := randSlice(p.WSize())
	for _, a := range []struct {
		name string
		algo cpu.Algo
		ok   bool
	}{{"blocked", cpu.Direct, true}, {"blocked_own16", cpu.Own16, cpu.Own16Supported()},
		{"blocked_own16_winograd", cpu.Own16Winograd, cpu.Own16Supported()}} {
		if !a.ok {
			continue
		}
		c, err := be.NewConvWith(p, cpu.ConvOptions{Src: cpu.NChw16c, Dst: cpu.NChw16c, Algo: [3]cpu.Algo{a.algo, a.algo, a.algo}})
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range []struct {
			name string
			call func(x, y []float32)
		}{{"forward", func(x, y []float32) { c.Forward(y, x, w) }},
			{"backward_data", func(x, y []float32) { c.BackwardData(x, y, w) }},
			{"backward_weights", func(x, y []float32) { c.BackwardWeights(w, y, x) }}} {
			b.Run("resnet20_stage1_3x3_16_32x32_b128/"+d.name+"/"+a.name, func(b *testing.B) {
				pin(b)
				d.call(xs[0], ys[0])
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					d.call(xs[i%coldBatches], ys[(i+coldBatches/2)%coldBatches])
				}
				b.ReportMetric(2*float64(p.MACs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func BenchmarkConvForward(b *testing.B)         { benchConv(b, fwd) }
func BenchmarkConvBackwardData(b *testing.B)    { benchConv(b, bwdData) }
func BenchmarkConvBackwardWeights(b *testing.B) { benchConv(b, bwdWeights) }

// bnShapes are the activations BN sees in ResNet-20 (batch 128) and
// ResNet-50 (batch 32).
var bnShapes = []struct {
	name string
	s    backend.ActShape
}{
	{"resnet20_stage1_16_32x32_b128", backend.ActShape{N: 128, C: 16, H: 32, W: 32}},
	{"resnet20_stage3_64_8x8_b128", backend.ActShape{N: 128, C: 64, H: 8, W: 8}},
	{"resnet50_conv3_128_28x28_b32", backend.ActShape{N: 32, C: 128, H: 28, W: 28}},
	{"resnet50_conv4_256_14x14_b32", backend.ActShape{N: 32, C: 256, H: 14, W: 14}},
	{"resnet50_conv5_2048_7x7_b32", backend.ActShape{N: 32, C: 2048, H: 7, W: 7}},
	{"resnet50_conv2_256_56x56_b32", backend.ActShape{N: 32, C: 256, H: 56, W: 56}},
}

// BenchmarkBatchNormReLU times the fused BN+ReLU training forward and
// backward on blocked activations, reporting GB/s of activation traffic
// (forward: read x twice, write y; backward: read x and dy twice, write
// dx; a lower bound on what the kernel moves).
func BenchmarkBatchNormReLU(b *testing.B) {
	be := newBackend(b)
	for _, sh := range bnShapes {
		s := sh.s
		cfg := backend.BNConfig{BNParams: kernels.BNParams{N: s.N, C: s.C, HW: s.H * s.W, Eps: 1e-5}, ReLU: true}
		n := be.ActLen(s)
		x, y, dy, dx := randSlice(n), randSlice(n), randSlice(n), randSlice(n)
		g, bt, m, v, dg, db := randSlice(s.C), randSlice(s.C), randSlice(s.C), randSlice(s.C), randSlice(s.C), randSlice(s.C)
		for _, impl := range []struct {
			name string
			new  func() backend.BatchNorm
		}{
			{"own", func() backend.BatchNorm { return be.NewBatchNormWith(cfg, true) }},
			{"onednn", func() backend.BatchNorm { return be.NewBatchNormWith(cfg, false) }},
			{"reference", func() backend.BatchNorm { return backend.Reference(benchThreads).NewBatchNorm(cfg) }},
		} {
			if impl.name == "own" && !cpu.Own16Supported() {
				continue
			}
			bn := impl.new()
			b.Run(sh.name+"/forward/"+impl.name, func(b *testing.B) {
				pin(b)
				bn.ForwardTrain(y, m, v, x, g, bt)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					bn.ForwardTrain(y, m, v, x, g, bt)
				}
				b.ReportMetric(3*4*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
			b.Run(sh.name+"/backward/"+impl.name, func(b *testing.B) {
				pin(b)
				bn.ForwardTrain(y, m, v, x, g, bt)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					bn.Backward(dx, dg, db, dy, x, g, bt, m, v)
				}
				b.ReportMetric(5*4*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}

// BenchmarkReorder times one NCHW -> nChw16c -> NCHW round trip of an
// activation (what an NCHW interface would pay per tensor and direction),
// with ToAct/FromAct (plain OpenMP loops).
func BenchmarkReorder(b *testing.B) {
	be := newBackend(b)
	for _, sh := range bnShapes {
		s := sh.s
		plain, act := randSlice(s.Size()), randSlice(be.ActLen(s))
		b.Run(sh.name, func(b *testing.B) {
			pin(b)
			b.ReportAllocs()
			for range b.N {
				be.ToAct(act, plain, s)
				be.FromAct(plain, act, s)
			}
			b.ReportMetric(4*4*float64(s.Size())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

func ExampleBackend_NewConvWith() {
	be, err := cpu.New(1)
	if err != nil {
		panic(err)
	}
	defer be.Close()
	c, err := be.NewConvWith(kernels.ConvParams{N: 1, C: 16, H: 8, W: 8, K: 16, R: 3, S: 3, Stride: 1, Pad: 1},
		cpu.ConvOptions{Src: cpu.NChw16c, Dst: cpu.NChw16c})
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Params())
	// Output: 3x3_16to16_8x8_s1_b1
}

// BenchmarkElementwise times the residual-path elementwise ops on blocked
// activations at real layer shapes, reporting GB/s of memory traffic (each
// float read or written counted once: add+ReLU reads 2 and writes 1 stream,
// the masked add backward reads 3 and writes 1), with the reference loops
// beside them.
func BenchmarkElementwise(b *testing.B) {
	be := newBackend(b)
	for _, sh := range bnShapes {
		n := be.ActLen(sh.s)
		a, c, y, dx := randSlice(n), randSlice(n), randSlice(n), randSlice(n)
		for _, impl := range []struct {
			name string
			b    backend.Backend
		}{{"onednn", be}, {"reference", backend.Reference(benchThreads)}} {
			for _, op := range []struct {
				name    string
				streams int
				run     func()
			}{
				{"add_relu", 3, func() { impl.b.AddReLU(y, a, c) }},
				{"add_relu_backward", 4, func() { impl.b.AddReLUBackward(dx, a, c, y) }},
				{"relu_backward", 3, func() { impl.b.ReLUBackward(dx, a, y) }},
			} {
				b.Run(sh.name+"/"+op.name+"/"+impl.name, func(b *testing.B) {
					pin(b)
					op.run()
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						op.run()
					}
					b.ReportMetric(float64(op.streams)*4*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
				})
			}
		}
	}
}
