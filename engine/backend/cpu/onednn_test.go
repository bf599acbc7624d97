//go:build cgo && !noonednn

package cpu

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/engine/kernels"
)

// TestThreadsGovernTeamSize: --threads N must govern oneDNN's OpenMP team
// on whatever OS thread Go runs the call, including fresh ones (libgomp
// keeps the team size per OS thread).
func TestThreadsGovernTeamSize(t *testing.T) {
	for _, n := range []int{1, 2, 3} { // 3 > the 2 cores: OpenMP still honours it
		b, err := New(n)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		got := make([]int, 4)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread() // a distinct OS thread per goroutine
				defer runtime.UnlockOSThread()
				got[i] = b.teamSize()
			}()
		}
		wg.Wait()
		for i, g := range got {
			if g != n {
				t.Errorf("New(%d): team size on OS thread %d is %d", n, i, g)
			}
		}
		if b.Threads() != n {
			t.Errorf("New(%d).Threads() = %d", n, b.Threads())
		}
		b.Close()
		b.Close() // idempotent
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func sameBits(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}

// TestDeterministic: the same inputs and thread count give bit-identical
// results across calls (issue 3's determinism requirement), for the ops
// with reductions: conv backward weights, BN statistics and gradients.
func TestDeterministic(t *testing.T) {
	b, err := New(2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	var p kernels.ConvParams
	var x, dy []float32
	// resnet20 stage 1 (Own16Winograd where AVX-512F) and stage 2 (oneDNN Winograd)
	for _, c := range []int{16, 32} {
		p = kernels.ConvParams{N: 16, C: c, H: 16, W: 16, K: c, R: 3, S: 3, Stride: 1, Pad: 1}
		xs := backend.ActShape{N: p.N, C: p.C, H: p.H, W: p.W}
		conv := b.NewConv(p)
		x, dy = randSlice(rng, b.ActLen(xs)), randSlice(rng, b.ActLen(xs))
		dw1, dw2 := make([]float32, p.WSize()), make([]float32, p.WSize())
		conv.BackwardWeights(dw1, dy, x)
		conv.BackwardWeights(dw2, dy, x)
		if !sameBits(dw1, dw2) {
			t.Errorf("conv %s (%s) backward weights differs between two identical calls", p, conv.(*Conv).Impl(2))
		}
	}
	bn := b.NewBatchNorm(backend.BNConfig{BNParams: kernels.BNParams{N: p.N, C: p.C, HW: p.H * p.W, Eps: 1e-5}, ReLU: true})
	g, bt := randSlice(rng, p.C), randSlice(rng, p.C)
	var outs [2][][]float32
	for k := range outs {
		y, m, v, dx, dg, db := make([]float32, len(x)), make([]float32, p.C), make([]float32, p.C), make([]float32, len(x)), make([]float32, p.C), make([]float32, p.C)
		bn.ForwardTrain(y, m, v, x, g, bt)
		bn.Backward(dx, dg, db, dy, x, g, bt, m, v)
		outs[k] = [][]float32{y, m, v, dx, dg, db}
	}
	for i := range outs[0] {
		if !sameBits(outs[0][i], outs[1][i]) {
			t.Errorf("batch norm output %d differs between two identical calls", i)
		}
	}
}

// TestNCHWConvOptions: the NCHW variants used by the benchmarks (with
// reorders, and native) compute the same convolution as the naive kernel
// (metric as in the conformance suite: max|a-b|/max|b| < 1e-4).
func TestNCHWConvOptions(t *testing.T) {
	b, err := New(2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p := kernels.ConvParams{N: 2, C: 16, H: 32, W: 32, K: 32, R: 3, S: 3, Stride: 2, Pad: 1} // resnet20 16->32 down
	rng := rand.New(rand.NewPCG(2, 2))
	x, w := randSlice(rng, p.XSize()), randSlice(rng, p.WSize())
	want := make([]float32, p.YSize())
	kernels.ConvForward(want, x, w, p)
	for _, native := range []bool{false, true} {
		c, err := b.NewConvWith(p, ConvOptions{Src: NCHW, Dst: NCHW, Native: native})
		if err != nil {
			t.Fatal(err)
		}
		y := make([]float32, p.YSize())
		c.Forward(y, x, w)
		var diff, scale float64
		for i := range y {
			diff = math.Max(diff, math.Abs(float64(y[i]-want[i])))
			scale = math.Max(scale, math.Abs(float64(want[i])))
		}
		if diff/scale >= 1e-4 {
			t.Errorf("native=%v (%s): relative error %g", native, c.Impl(0), diff/scale)
		}
	}
}

// TestAlgoAccuracy checks the non-default algorithms against the naive
// kernels in all three directions, with issue 3's conformance metric
// (relative error < 1e-4). Winograd F(4x4,3x3) trades exactness for speed
// (CIFAR stage shapes, Sec. 4.2); Own16 is our own kernel (conv16.c): the
// 16@32x32 CIFAR stage-1 shape, plus odd sizes that reach every row-chunk
// width (27 = 16+8+2+1) and an odd batch split over the 2 threads.
func TestAlgoAccuracy(t *testing.T) {
	b, err := New(2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	conv3x3 := func(n, c, h, w int) kernels.ConvParams {
		return kernels.ConvParams{N: n, C: c, H: h, W: w, K: c, R: 3, S: 3, Stride: 1, Pad: 1}
	}
	cases := []struct {
		algo Algo
		p    kernels.ConvParams
	}{
		{Winograd, conv3x3(2, 16, 32, 32)},
		{Winograd, conv3x3(2, 32, 16, 16)},
		{Winograd, conv3x3(2, 64, 8, 8)},
		{Own16, conv3x3(2, 16, 32, 32)},
		{Own16, conv3x3(3, 16, 5, 27)},
		{Own16, conv3x3(1, 16, 1, 1)},
		{Own16Winograd, conv3x3(2, 16, 32, 32)},
		{Own16Winograd, conv3x3(3, 16, 5, 27)},
		{Own16Winograd, conv3x3(1, 16, 1, 1)},
		{Own16Winograd, conv3x3(2, 16, 2, 3)},
	}
	for i, tc := range cases {
		if (tc.algo == Own16 || tc.algo == Own16Winograd) && !Own16Supported() {
			t.Logf("no AVX-512F: Own16 %s not checked", tc.p)
			continue
		}
		p := tc.p
		conv, err := b.NewConvWith(p, ConvOptions{Src: NChw16c, Dst: NChw16c, Algo: [3]Algo{tc.algo, tc.algo, tc.algo}})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		rng := rand.New(rand.NewPCG(uint64(i), 3))
		x, w, dy := randSlice(rng, p.XSize()), randSlice(rng, p.WSize()), randSlice(rng, p.YSize())
		wantY, wantDX, wantDW := make([]float32, p.YSize()), make([]float32, p.XSize()), make([]float32, p.WSize())
		kernels.ConvForward(wantY, x, w, p)
		kernels.ConvBackwardData(wantDX, dy, w, p)
		kernels.ConvBackwardWeights(wantDW, dy, x, p)
		s := backend.ActShape{N: p.N, C: p.C, H: p.H, W: p.W}
		xa, dya := make([]float32, b.ActLen(s)), make([]float32, b.ActLen(s))
		b.ToAct(xa, x, s)
		b.ToAct(dya, dy, s)
		ya, dxa, dw := make([]float32, len(xa)), make([]float32, len(xa)), make([]float32, p.WSize())
		conv.Forward(ya, xa, w)
		conv.BackwardData(dxa, dya, w)
		conv.BackwardWeights(dw, dya, xa)
		checkBackwardDataAddReLU(t, b, conv, rng, dxa, dya, w, s)
		y, dx := make([]float32, p.YSize()), make([]float32, p.XSize())
		b.FromAct(y, ya, s)
		b.FromAct(dx, dxa, s)
		for dir, r := range []struct {
			name      string
			got, want []float32
		}{{"forward", y, wantY}, {"backward data", dx, wantDX}, {"backward weights", dw, wantDW}} {
			var diff, scale float64
			for i := range r.want {
				diff = math.Max(diff, math.Abs(float64(r.got[i]-r.want[i])))
				scale = math.Max(scale, math.Abs(float64(r.want[i])))
			}
			t.Logf("%s %s (%s): relative error %.2g", p, r.name, conv.Impl(dir), diff/scale)
			if !(diff/scale < 1e-4) {
				t.Errorf("%s %s (%s): relative error %.3g, want < 1e-4", p, r.name, conv.Impl(dir), diff/scale)
			}
		}
	}
}

// checkBackwardDataAddReLU: conv's fused BackwardDataAddReLU must give,
// bit for bit, AddReLUBackward applied to its BackwardData result dxa (the
// fused output transform does the same float operations). s is dx's shape.
func checkBackwardDataAddReLU(t *testing.T, b *Backend, conv *Conv, rng *rand.Rand, dxa, dya, w []float32, s backend.ActShape) {
	t.Helper()
	a, r := make([]float32, len(dxa)), make([]float32, len(dxa))
	b.ToAct(a, randSlice(rng, s.Size()), s)
	b.ToAct(r, randSlice(rng, s.Size()), s)
	b.ReLUForward(r, r) // a ReLU output: about half zero
	want := make([]float32, len(dxa))
	b.AddReLUBackward(want, dxa, a, r)
	got := make([]float32, len(dxa))
	conv.BackwardDataAddReLU(got, dya, w, a, r)
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Errorf("%s backward data + add+ReLU (%s): element %d is %v, want %v as in two passes",
				conv.Params(), conv.Impl(1), i, got[i], want[i])
			return
		}
	}
}

// TestOwn16RefusesOtherShapes: Own16 plans only its one shape.
func TestOwn16RefusesOtherShapes(t *testing.T) {
	b, err := New(2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, p := range []kernels.ConvParams{
		{N: 1, C: 32, H: 8, W: 8, K: 32, R: 3, S: 3, Stride: 1, Pad: 1},
		{N: 1, C: 16, H: 8, W: 8, K: 32, R: 3, S: 3, Stride: 2, Pad: 1},
		{N: 1, C: 16, H: 8, W: 8, K: 16, R: 1, S: 1, Stride: 1, Pad: 0},
	} {
		if _, err := b.NewConvWith(p, ConvOptions{Src: NChw16c, Dst: NChw16c, Algo: [3]Algo{Own16, Direct, Direct}}); err == nil {
			t.Errorf("Own16 planned %s", p)
		}
	}
}

// TestOwn16SharedScratch: our own conv kernels of one backend share one
// scratch arena whose zero borders depend on the image size. Two plans of
// different sizes, called alternately, must give what each gives alone,
// bit for bit (a border left dirty by the other size would show).
func TestOwn16SharedScratch(t *testing.T) {
	if !Own16Supported() {
		t.Skip("no AVX-512F")
	}
	conv3x3 := func(n, h, w int) kernels.ConvParams {
		return kernels.ConvParams{N: n, C: 16, H: h, W: w, K: 16, R: 3, S: 3, Stride: 1, Pad: 1}
	}
	// 32x32 is CIFAR stage 1; 5x27 is odd in both directions (dy is
	// zero-extended) and smaller, so it reuses the larger plan's arena.
	shapes := []kernels.ConvParams{conv3x3(2, 32, 32), conv3x3(3, 5, 27)}
	for _, algo := range []Algo{Own16, Own16Winograd} {
		type result struct{ y, dx, dw []float32 }
		run := func(c *Conv, p kernels.ConvParams, seed uint64) result {
			rng := rand.New(rand.NewPCG(seed, 7))
			n := p.N * 16 * p.H * p.W
			x, dy, w := randSlice(rng, n), randSlice(rng, n), randSlice(rng, p.WSize())
			r := result{make([]float32, n), make([]float32, n), make([]float32, p.WSize())}
			c.Forward(r.y, x, w)
			c.BackwardData(r.dx, dy, w)
			c.BackwardWeights(r.dw, dy, x)
			return r
		}
		alone := make([]result, len(shapes))
		for i, p := range shapes {
			b, err := New(2)
			if err != nil {
				t.Fatal(err)
			}
			c, err := b.NewConvWith(p, ConvOptions{Src: NChw16c, Dst: NChw16c, Algo: [3]Algo{algo, algo, algo}})
			if err != nil {
				t.Fatal(err)
			}
			alone[i] = run(c, p, uint64(i))
			b.Close()
		}
		b, err := New(2)
		if err != nil {
			t.Fatal(err)
		}
		var convs []*Conv
		for _, p := range shapes {
			c, err := b.NewConvWith(p, ConvOptions{Src: NChw16c, Dst: NChw16c, Algo: [3]Algo{algo, algo, algo}})
			if err != nil {
				t.Fatal(err)
			}
			convs = append(convs, c)
		}
		for round := range 2 {
			for i, p := range shapes {
				got := run(convs[i], p, uint64(i))
				if !sameBits(got.y, alone[i].y) || !sameBits(got.dx, alone[i].dx) || !sameBits(got.dw, alone[i].dw) {
					t.Errorf("%s %s, round %d alternating with another size: differs from the plan alone", convs[i].Impl(0), p, round)
				}
			}
		}
		b.Close()
	}
}

// TestOwn16WinogradWeightsAnyThreads: Own16Winograd's weight gradient sums
// fixed blocks of images in a fixed order (conv16.c, WBLK), so it is the
// same bit for bit with 1, 2 or 3 threads, however the images were shared
// out. 13 images make 4 blocks, the last one short.
func TestOwn16WinogradWeightsAnyThreads(t *testing.T) {
	if !Own16Supported() {
		t.Skip("no AVX-512F")
	}
	p := kernels.ConvParams{N: 13, C: 16, H: 8, W: 8, K: 16, R: 3, S: 3, Stride: 1, Pad: 1}
	rng := rand.New(rand.NewPCG(5, 8))
	n := p.N * 16 * p.H * p.W
	x, dy := randSlice(rng, n), randSlice(rng, n)
	var first []float32
	for _, threads := range []int{1, 2, 3} {
		b, err := New(threads)
		if err != nil {
			t.Fatal(err)
		}
		c, err := b.NewConvWith(p, ConvOptions{Src: NChw16c, Dst: NChw16c, Algo: [3]Algo{Own16Winograd, Own16Winograd, Own16Winograd}})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 { // repeated calls race differently for the shared images
			dw := make([]float32, p.WSize())
			c.BackwardWeights(dw, dy, x)
			if first == nil {
				first = dw
			} else if !sameBits(dw, first) {
				t.Errorf("%d threads: weight gradient differs from 1 thread's", threads)
			}
		}
		b.Close()
	}
}

// TestOwnBatchNormAnyThreads: our own training batch norm sums each image
// on its own and adds the images' sums in image order (bnadd.c), so its
// outputs, statistics and gradients are the same bit for bit with 1, 2 or
// 3 threads, however the images were shared out. 24 channels leave
// padding lanes; 7 images split unevenly.
func TestOwnBatchNormAnyThreads(t *testing.T) {
	if !Own16Supported() {
		t.Skip("no AVX-512F")
	}
	cfg := backend.BNConfig{BNParams: kernels.BNParams{N: 7, C: 24, HW: 9 * 9, Eps: 1e-5}, ReLU: true}
	rng := rand.New(rand.NewPCG(6, 9))
	s := backend.ActShape{N: cfg.N, C: cfg.C, H: 9, W: 9}
	xp, dyp := randSlice(rng, s.Size()), randSlice(rng, s.Size())
	gamma, beta := randSlice(rng, cfg.C), randSlice(rng, cfg.C)
	var first [][]float32
	for _, threads := range []int{1, 2, 3} {
		b, err := New(threads)
		if err != nil {
			t.Fatal(err)
		}
		n := b.ActLen(s)
		x, dy := make([]float32, n), make([]float32, n)
		b.ToAct(x, xp, s)
		b.ToAct(dy, dyp, s)
		bn := b.NewBatchNormWith(cfg, true)
		for range 3 { // repeated calls race differently for the shared images
			y, dx := make([]float32, n), make([]float32, n)
			mean, variance, dgamma, dbeta := make([]float32, cfg.C), make([]float32, cfg.C), make([]float32, cfg.C), make([]float32, cfg.C)
			bn.ForwardTrain(y, mean, variance, x, gamma, beta)
			bn.Backward(dx, dgamma, dbeta, dy, x, gamma, beta, mean, variance)
			got := [][]float32{y, mean, variance, dx, dgamma, dbeta}
			if first == nil {
				first = got
				continue
			}
			for i, name := range []string{"y", "mean", "variance", "dx", "dgamma", "dbeta"} {
				if !sameBits(got[i], first[i]) {
					t.Errorf("%d threads: %s differs from 1 thread's", threads, name)
				}
			}
		}
		b.Close()
	}
}

// TestBatchNormTrainingPathsAgree: NewBatchNorm trains small and
// CIFAR-sized activations on our own kernels (checked against the naive
// ones by the conformance suite) and large ImageNet ones on oneDNN's; the
// two must agree to issue 3's 1e-4 relative error, with and without the
// fused ReLU (24 channels: padding lanes; 3 images: an uneven split).
func TestBatchNormTrainingPathsAgree(t *testing.T) {
	if !Own16Supported() {
		t.Skip("no AVX-512F: only oneDNN's kernels exist")
	}
	b, err := New(2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i, tc := range []struct {
		s    backend.ActShape
		relu bool
	}{
		{backend.ActShape{N: 4, C: 16, H: 32, W: 32}, true},
		{backend.ActShape{N: 4, C: 16, H: 32, W: 32}, false},
		{backend.ActShape{N: 3, C: 24, H: 5, W: 5}, true},
	} {
		cfg := backend.BNConfig{BNParams: kernels.BNParams{N: tc.s.N, C: tc.s.C, HW: tc.s.H * tc.s.W, Eps: 1e-5}, ReLU: tc.relu}
		rng := rand.New(rand.NewPCG(uint64(i), 10))
		n := b.ActLen(tc.s)
		x, dy := make([]float32, n), make([]float32, n)
		b.ToAct(x, randSlice(rng, tc.s.Size()), tc.s)
		b.ToAct(dy, randSlice(rng, tc.s.Size()), tc.s)
		gamma, beta := randSlice(rng, cfg.C), randSlice(rng, cfg.C)
		var outs [2][6][]float32
		for k, own := range []bool{true, false} {
			bn := b.NewBatchNormWith(cfg, own)
			y, dx := make([]float32, n), make([]float32, n)
			mean, variance, dgamma, dbeta := make([]float32, cfg.C), make([]float32, cfg.C), make([]float32, cfg.C), make([]float32, cfg.C)
			bn.ForwardTrain(y, mean, variance, x, gamma, beta)
			bn.Backward(dx, dgamma, dbeta, dy, x, gamma, beta, mean, variance)
			outs[k] = [6][]float32{y, mean, variance, dx, dgamma, dbeta}
		}
		for j, name := range []string{"y", "mean", "variance", "dx", "dgamma", "dbeta"} {
			var diff, scale float64
			for e := range outs[1][j] {
				diff = math.Max(diff, math.Abs(float64(outs[0][j][e]-outs[1][j][e])))
				scale = math.Max(scale, math.Abs(float64(outs[1][j][e])))
			}
			if !(diff/scale < 1e-4) {
				t.Errorf("%+v relu=%v %s: own vs oneDNN relative error %.3g, want < 1e-4", tc.s, tc.relu, name, diff/scale)
			}
		}
	}
}
