package backend_test

// The conformance suite: every backend (the pure-Go reference and, when
// built in, oneDNN) runs every operation on real ResNet layer shapes with
// small batches, and its output is compared with the naive kernels of
// engine/kernels run on plain NCHW data.
//
// Metric: for each output tensor, relErr = max_i |got_i - want_i| /
// max_i |want_i|, required < 1e-4 (issue 3's acceptance threshold). fp32
// sums of up to C*R*S = 4608 terms reordered by a blocked kernel differ
// from the naive order by a few ulps times sqrt(terms), far below that.
//
// Every activation output is also checked to round-trip exactly through
// FromAct/ToAct, which proves the backend wrote the whole buffer and kept
// its padding channels zero; outputs are pre-filled with NaN so a skipped
// element shows.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/engine/backend/choose"
	"github.com/resnet-repro/resnet-repro/engine/kernels"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
)

// tol is issue 3's "relative error below 1e-4".
const tol = 1e-4

func backends(t *testing.T) []backend.Backend {
	t.Helper()
	bs := []backend.Backend{backend.Reference(2)}
	if choose.OneDNNBuiltIn {
		b, err := choose.New("onednn", 2)
		if err != nil {
			t.Fatalf("onednn is built in but does not start: %v", err)
		}
		t.Cleanup(b.Close)
		bs = append(bs, b)
	} else {
		t.Log("onednn not built in (CGO_ENABLED=0 or -tags noonednn): only the reference backend is checked")
	}
	return bs
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func nanSlice(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.NaN())
	}
	return s
}

func check(t *testing.T, what string, got, want []float32) {
	t.Helper()
	e := tensor.MaxRelDiff(got, want)
	if !(e < tol) {
		t.Errorf("%s: relative error %.3g, want < %g", what, e, tol)
	}
	t.Logf("%s: relative error %.2g", what, e)
}

// toAct converts plain data into a fresh buffer in b's layout.
func toAct(b backend.Backend, plain []float32, s backend.ActShape) []float32 {
	a := nanSlice(b.ActLen(s))
	b.ToAct(a, plain, s)
	return a
}

// fromAct converts act to plain and checks the exact round trip.
func fromAct(t *testing.T, b backend.Backend, what string, act []float32, s backend.ActShape) []float32 {
	t.Helper()
	plain := make([]float32, s.Size())
	b.FromAct(plain, act, s)
	back := nanSlice(len(act))
	b.ToAct(back, plain, s)
	for i := range act {
		if math.Float32bits(back[i]) != math.Float32bits(act[i]) {
			t.Errorf("%s: element %d of the %s buffer does not round-trip (%v vs %v): unwritten or nonzero padding", what, i, b.Name(), act[i], back[i])
			break
		}
	}
	return plain
}

// convCases are ResNet layer shapes (Table 1 and Sec. 4.2) with small
// batches; the stem runs on a 64x64 crop to keep the naive oracle fast.
var convCases = []struct {
	name string
	p    kernels.ConvParams
}{
	{"cifar_conv1_3x3_3to16_32x32", kernels.ConvParams{N: 2, C: 3, H: 32, W: 32, K: 16, R: 3, S: 3, Stride: 1, Pad: 1}},
	{"resnet20_stage1_3x3_16_32x32", kernels.ConvParams{N: 2, C: 16, H: 32, W: 32, K: 16, R: 3, S: 3, Stride: 1, Pad: 1}},
	{"resnet20_stage2_down_3x3_16to32_32x32_s2", kernels.ConvParams{N: 2, C: 16, H: 32, W: 32, K: 32, R: 3, S: 3, Stride: 2, Pad: 1}},
	{"resnet20_stage3_3x3_64_8x8", kernels.ConvParams{N: 4, C: 64, H: 8, W: 8, K: 64, R: 3, S: 3, Stride: 1, Pad: 1}},
	{"resnet50_stem_7x7_3to64_s2_64x64", kernels.ConvParams{N: 1, C: 3, H: 64, W: 64, K: 64, R: 7, S: 7, Stride: 2, Pad: 3}},
	{"resnet50_conv2_1x1_64to256_56x56", kernels.ConvParams{N: 1, C: 64, H: 56, W: 56, K: 256, R: 1, S: 1, Stride: 1, Pad: 0}},
	{"resnet50_conv3_proj_1x1_256to512_56x56_s2", kernels.ConvParams{N: 1, C: 256, H: 56, W: 56, K: 512, R: 1, S: 1, Stride: 2, Pad: 0}},
	{"resnet50_conv4_3x3_256_14x14", kernels.ConvParams{N: 1, C: 256, H: 14, W: 14, K: 256, R: 3, S: 3, Stride: 1, Pad: 1}},
	{"resnet50_conv5_1x1_2048to512_7x7", kernels.ConvParams{N: 2, C: 2048, H: 7, W: 7, K: 512, R: 1, S: 1, Stride: 1, Pad: 0}},
}

func TestConformanceConv(t *testing.T) {
	bs := backends(t)
	for i, tc := range convCases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			x, w, dy := randSlice(rng, p.XSize()), randSlice(rng, p.WSize()), randSlice(rng, p.YSize())
			wantY, wantDX, wantDW := make([]float32, p.YSize()), make([]float32, p.XSize()), make([]float32, p.WSize())
			kernels.ConvForward(wantY, x, w, p)
			kernels.ConvBackwardData(wantDX, dy, w, p)
			kernels.ConvBackwardWeights(wantDW, dy, x, p)
			// BackwardDataAddReLU: a residual block's shortcut gradient a
			// added, then the mask of the ReLU output r (about half zero).
			a, r := randSlice(rng, p.XSize()), randSlice(rng, p.XSize())
			wantDXR := make([]float32, p.XSize())
			for j := range r {
				r[j] = max(r[j], 0)
				if r[j] > 0 {
					wantDXR[j] = wantDX[j] + a[j]
				}
			}
			xs := backend.ActShape{N: p.N, C: p.C, H: p.H, W: p.W}
			ys := backend.ActShape{N: p.N, C: p.K, H: p.P(), W: p.Q()}
			for _, b := range bs {
				conv := b.NewConv(p)
				xa, dya := toAct(b, x, xs), toAct(b, dy, ys)
				ya := nanSlice(b.ActLen(ys))
				conv.Forward(ya, xa, w)
				check(t, b.Name()+" forward", fromAct(t, b, "forward y", ya, ys), wantY)
				dxa := nanSlice(b.ActLen(xs))
				conv.BackwardData(dxa, dya, w)
				check(t, b.Name()+" backward data", fromAct(t, b, "backward dx", dxa, xs), wantDX)
				dxa = nanSlice(b.ActLen(xs))
				conv.BackwardDataAddReLU(dxa, dya, w, toAct(b, a, xs), toAct(b, r, xs))
				check(t, b.Name()+" backward data + add+ReLU", fromAct(t, b, "backward dx+a", dxa, xs), wantDXR)
				dw := nanSlice(p.WSize())
				conv.BackwardWeights(dw, dya, xa)
				check(t, b.Name()+" backward weights", dw, wantDW)
			}
		})
	}
}

var bnCases = []struct {
	name string
	c    backend.BNConfig
}{
	// Eps 1e-5 as in kernels.BNParams' doc (PyTorch and Caffe).
	{"resnet20_stage1_16_32x32", backend.BNConfig{BNParams: kernels.BNParams{N: 4, C: 16, HW: 32 * 32, Eps: 1e-5}}},
	{"resnet20_stage1_16_32x32_relu", backend.BNConfig{BNParams: kernels.BNParams{N: 4, C: 16, HW: 32 * 32, Eps: 1e-5}, ReLU: true}},
	{"resnet20_stage3_64_8x8_relu", backend.BNConfig{BNParams: kernels.BNParams{N: 4, C: 64, HW: 8 * 8, Eps: 1e-5}, ReLU: true}},
	{"resnet50_conv5_2048_7x7", backend.BNConfig{BNParams: kernels.BNParams{N: 2, C: 2048, HW: 7 * 7, Eps: 1e-5}}},
	// 24 channels leave 8 padding lanes in the second 16-channel block;
	// 3 images split unevenly over 2 threads.
	{"padding_lanes_24_5x5_relu", backend.BNConfig{BNParams: kernels.BNParams{N: 3, C: 24, HW: 5 * 5, Eps: 1e-5}, ReLU: true}},
}

// bnWant holds the naive kernels' results of a training-mode BN case.
type bnWant struct{ y, mean, variance, dx, dgamma, dbeta []float32 }

// checkBNTrain runs forward (a training forward of bn into y, mean and
// variance) and then bn.Backward on backend b, and checks every output
// against want.
func checkBNTrain(t *testing.T, b backend.Backend, bn backend.BatchNorm, s backend.ActShape,
	xa, dya, gamma, beta []float32, want bnWant, forward func(y, mean, variance []float32)) {
	t.Helper()
	c := len(gamma)
	ya, mean, variance := nanSlice(b.ActLen(s)), nanSlice(c), nanSlice(c)
	forward(ya, mean, variance)
	check(t, b.Name()+" train y", fromAct(t, b, "train y", ya, s), want.y)
	check(t, b.Name()+" mean", mean, want.mean)
	check(t, b.Name()+" variance", variance, want.variance)
	dxa, dg, db := nanSlice(b.ActLen(s)), nanSlice(c), nanSlice(c)
	bn.Backward(dxa, dg, db, dya, xa, gamma, beta, mean, variance)
	check(t, b.Name()+" dx", fromAct(t, b, "dx", dxa, s), want.dx)
	check(t, b.Name()+" dgamma", dg, want.dgamma)
	check(t, b.Name()+" dbeta", db, want.dbeta)
}

func TestConformanceBatchNorm(t *testing.T) {
	bs := backends(t)
	for i, tc := range bnCases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			n := c.N * c.C * c.HW
			rng := rand.New(rand.NewPCG(uint64(i), 2))
			x, dy := randSlice(rng, n), randSlice(rng, n)
			for j := range x {
				x[j] = 3*x[j] + 0.5 // a nonzero mean and a non-unit variance
			}
			gamma, beta := randSlice(rng, c.C), randSlice(rng, c.C)
			runMean, runVar := randSlice(rng, c.C), randSlice(rng, c.C)
			for j := range runVar {
				runVar[j] = 1 + runVar[j]*runVar[j]
			}
			wantY, wantMean, wantVar, invstd := make([]float32, n), make([]float32, c.C), make([]float32, c.C), make([]float32, c.C)
			kernels.BNForwardTrain(wantY, wantMean, wantVar, invstd, x, gamma, beta, c.BNParams)
			wantInfer := make([]float32, n)
			kernels.BNForwardInfer(wantInfer, x, gamma, beta, runMean, runVar, c.BNParams)
			g := dy
			if c.ReLU {
				kernels.ReLUForward(wantY, wantY)
				kernels.ReLUForward(wantInfer, wantInfer)
				g = make([]float32, n)
				kernels.ReLUBackward(g, dy, wantY)
			}
			wantDX, wantDG, wantDB := make([]float32, n), make([]float32, c.C), make([]float32, c.C)
			kernels.BNBackward(wantDX, wantDG, wantDB, g, x, gamma, wantMean, invstd, c.BNParams)
			s := backend.ActShape{N: c.N, C: c.C, H: 1, W: c.HW}
			for _, b := range bs {
				bn := b.NewBatchNorm(c)
				xa, dya := toAct(b, x, s), toAct(b, dy, s)
				checkBNTrain(t, b, bn, s, xa, dya, gamma, beta, bnWant{wantY, wantMean, wantVar, wantDX, wantDG, wantDB},
					func(y, mean, variance []float32) { bn.ForwardTrain(y, mean, variance, xa, gamma, beta) })
				yi := nanSlice(b.ActLen(s))
				bn.ForwardInfer(yi, xa, gamma, beta, runMean, runVar)
				check(t, b.Name()+" infer y", fromAct(t, b, "infer y", yi, s), wantInfer)
			}
		})
	}
}

// TestConformanceBatchNormAddReLU checks the end of a residual block,
// y = ReLU(BN(x) + res) with batch statistics, and the Backward that
// follows it, against the naive kernels. Beside ResNet shapes the cases
// have a channel count that leaves padding lanes in nChw16c (24 = 16 + 8)
// and a mean 1000x the spread (what the one-pass statistics' shift is for).
func TestConformanceBatchNormAddReLU(t *testing.T) {
	bs := backends(t)
	cases := []struct {
		name      string
		p         kernels.BNParams
		mean, std float32
	}{
		{"resnet20_stage1_16_32x32", kernels.BNParams{N: 4, C: 16, HW: 32 * 32, Eps: 1e-5}, 0.5, 3},
		{"resnet50_conv2_256_56x56", kernels.BNParams{N: 1, C: 256, HW: 56 * 56, Eps: 1e-5}, -1, 2},
		{"channels_24_padding", kernels.BNParams{N: 3, C: 24, HW: 7 * 7, Eps: 1e-5}, 0.5, 3},
		{"large_mean", kernels.BNParams{N: 4, C: 32, HW: 8 * 8, Eps: 1e-5}, 100, 0.1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			n := p.N * p.C * p.HW
			rng := rand.New(rand.NewPCG(uint64(i), 5))
			x, res, dy := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
			for j := range x {
				x[j] = tc.std*x[j] + tc.mean
			}
			gamma, beta := randSlice(rng, p.C), randSlice(rng, p.C)
			wantY, wantMean, wantVar, invstd := make([]float32, n), make([]float32, p.C), make([]float32, p.C), make([]float32, p.C)
			kernels.BNForwardTrain(wantY, wantMean, wantVar, invstd, x, gamma, beta, p)
			kernels.Add(wantY, wantY, res)
			kernels.ReLUForward(wantY, wantY)
			wantDX, wantDG, wantDB := make([]float32, n), make([]float32, p.C), make([]float32, p.C)
			kernels.BNBackward(wantDX, wantDG, wantDB, dy, x, gamma, wantMean, invstd, p)
			s := backend.ActShape{N: p.N, C: p.C, H: 1, W: p.HW}
			for _, b := range bs {
				bn := b.NewBatchNorm(backend.BNConfig{BNParams: p})
				xa, resa, dya := toAct(b, x, s), toAct(b, res, s), toAct(b, dy, s)
				checkBNTrain(t, b, bn, s, xa, dya, gamma, beta, bnWant{wantY, wantMean, wantVar, wantDX, wantDG, wantDB},
					func(y, mean, variance []float32) { bn.ForwardTrainAddReLU(y, mean, variance, xa, gamma, beta, resa) })
			}
		})
	}
}

func TestConformanceMaxPool(t *testing.T) {
	bs := backends(t)
	// Table 1's 3x3/2 max pool after the stem (112 -> 56), batch 1, on a
	// 32x32 crop, and the same window on an odd size (edge windows).
	for i, p := range []kernels.PoolParams{
		{N: 2, C: 64, H: 32, W: 32, Size: 3, Stride: 2, Pad: 1},
		{N: 1, C: 64, H: 15, W: 15, Size: 3, Stride: 2, Pad: 1},
	} {
		t.Run(fmt.Sprintf("3x3_s2_64_%dx%d", p.H, p.W), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 3))
			xs := backend.ActShape{N: p.N, C: p.C, H: p.H, W: p.W}
			ys := backend.ActShape{N: p.N, C: p.C, H: p.P(), W: p.Q()}
			x, dy := randSlice(rng, xs.Size()), randSlice(rng, ys.Size())
			wantY, wantDX := make([]float32, ys.Size()), make([]float32, xs.Size())
			kernels.MaxPoolForward(wantY, x, p)
			kernels.MaxPoolBackward(wantDX, dy, x, p)
			for _, b := range bs {
				mp := b.NewMaxPool(p)
				xa, dya := toAct(b, x, xs), toAct(b, dy, ys)
				ya, dxa := nanSlice(b.ActLen(ys)), nanSlice(b.ActLen(xs))
				mp.Forward(ya, xa)
				check(t, b.Name()+" forward", fromAct(t, b, "y", ya, ys), wantY)
				mp.Backward(dxa, dya, xa)
				check(t, b.Name()+" backward", fromAct(t, b, "dx", dxa, xs), wantDX)
			}
		})
	}
}

func TestConformanceElementwise(t *testing.T) {
	bs := backends(t)
	s := backend.ActShape{N: 2, C: 32, H: 16, W: 16} // resnet20 stage 2
	rng := rand.New(rand.NewPCG(4, 4))
	a, c, dy := randSlice(rng, s.Size()), randSlice(rng, s.Size()), randSlice(rng, s.Size())
	relu, sum, sumRelu, drelu := make([]float32, s.Size()), make([]float32, s.Size()), make([]float32, s.Size()), make([]float32, s.Size())
	kernels.ReLUForward(relu, a)
	kernels.Add(sum, a, c)
	kernels.ReLUForward(sumRelu, sum)
	kernels.ReLUBackward(drelu, dy, relu)
	maskedSum := make([]float32, s.Size())
	kernels.ReLUBackward(maskedSum, sum, relu)
	for _, b := range bs {
		aa, ca, dya := toAct(b, a, s), toAct(b, c, s), toAct(b, dy, s)
		y := nanSlice(b.ActLen(s))
		b.ReLUForward(y, aa)
		check(t, b.Name()+" relu", fromAct(t, b, "relu", y, s), relu)
		ra := append([]float32(nil), y...)
		b.ReLUBackward(y, dya, ra)
		check(t, b.Name()+" relu backward", fromAct(t, b, "relu backward", y, s), drelu)
		b.Add(y, aa, ca)
		check(t, b.Name()+" add", fromAct(t, b, "add", y, s), sum)
		b.AddReLU(y, aa, ca)
		check(t, b.Name()+" add relu", fromAct(t, b, "add relu", y, s), sumRelu)
		b.AddReLUBackward(y, aa, ca, ra) // (a + c) masked where relu(a) > 0
		check(t, b.Name()+" add relu backward", fromAct(t, b, "add relu backward", y, s), maskedSum)
	}
}

func TestConformanceGlobalAvgPool(t *testing.T) {
	bs := backends(t)
	for i, s := range []backend.ActShape{
		{N: 4, C: 64, H: 8, W: 8},   // CIFAR ResNets' last stage
		{N: 2, C: 2048, H: 7, W: 7}, // ResNet-50/101/152's last stage
	} {
		rng := rand.New(rand.NewPCG(uint64(i), 5))
		x, dy := randSlice(rng, s.Size()), randSlice(rng, s.N*s.C)
		wantY, wantDX := make([]float32, s.N*s.C), make([]float32, s.Size())
		kernels.GlobalAvgPoolForward(wantY, x, s.H*s.W)
		kernels.GlobalAvgPoolBackward(wantDX, dy, s.H*s.W)
		for _, b := range bs {
			y, dxa := nanSlice(s.N*s.C), nanSlice(b.ActLen(s))
			b.GlobalAvgPoolForward(y, toAct(b, x, s), s)
			check(t, fmt.Sprintf("%s gap %v", b.Name(), s), y, wantY)
			b.GlobalAvgPoolBackward(dxa, dy, s)
			check(t, fmt.Sprintf("%s gap backward %v", b.Name(), s), fromAct(t, b, "gap dx", dxa, s), wantDX)
		}
	}
}

// TestConformanceShortcutA checks the fast backends against the
// reference's naive loop, and the reference against hand-checkable facts:
// the forward of a ramp 0,1,2,... and that backward is forward's adjoint
// (<Fx, dy> = <x, F^T dy>).
func TestConformanceShortcutA(t *testing.T) {
	bs := backends(t)
	ref := backend.Reference(1)
	for i, p := range []backend.ShortcutAParams{
		{In: backend.ActShape{N: 2, C: 16, H: 32, W: 32}, K: 32, Stride: 2, PadLo: 8},  // CIFAR stage 1 -> 2
		{In: backend.ActShape{N: 2, C: 32, H: 16, W: 16}, K: 64, Stride: 2, PadLo: 16}, // stage 2 -> 3
		{In: backend.ActShape{N: 1, C: 16, H: 8, W: 8}, K: 32, Stride: 2, PadLo: 0},    // all padding on top
	} {
		t.Run(fmt.Sprintf("%dto%d_lo%d", p.In.C, p.K, p.PadLo), func(t *testing.T) {
			out := p.Out()
			ramp := make([]float32, p.In.Size())
			for j := range ramp {
				ramp[j] = float32(j)
			}
			y := make([]float32, out.Size())
			ref.ShortcutAForward(y, ramp, p)
			// Output (n=0, k=PadLo, 1, 1) is input (0, 0, Stride, Stride).
			if got, want := y[(p.PadLo*out.H+1)*out.W+1], float32(p.Stride*p.In.W+p.Stride); got != want {
				t.Errorf("reference forward of a ramp: y[0,%d,1,1] = %v, want %v", p.PadLo, got, want)
			}
			rng := rand.New(rand.NewPCG(uint64(i), 6))
			x, dy := randSlice(rng, p.In.Size()), randSlice(rng, out.Size())
			wantY, wantDX := make([]float32, out.Size()), make([]float32, p.In.Size())
			ref.ShortcutAForward(wantY, x, p)
			ref.ShortcutABackward(wantDX, dy, p)
			var lhs, rhs float64
			for j := range wantY {
				lhs += float64(wantY[j]) * float64(dy[j])
			}
			for j := range wantDX {
				rhs += float64(x[j]) * float64(wantDX[j])
			}
			if math.Abs(lhs-rhs) > 1e-9*math.Max(1, math.Abs(lhs)) {
				t.Errorf("reference backward is not the adjoint: <Fx,dy> = %v, <x,F^T dy> = %v", lhs, rhs)
			}
			for _, b := range bs {
				ya, dxa := nanSlice(b.ActLen(out)), nanSlice(b.ActLen(p.In))
				b.ShortcutAForward(ya, toAct(b, x, p.In), p)
				check(t, b.Name()+" forward", fromAct(t, b, "y", ya, out), wantY)
				b.ShortcutABackward(dxa, toAct(b, dy, out), p)
				check(t, b.Name()+" backward", fromAct(t, b, "dx", dxa, p.In), wantDX)
			}

			// The fused forms. Backward: dx = a + ShortcutABackward(dy)
			// where y > 0 (y random, so about half the units are masked).
			a, ymask := randSlice(rng, p.In.Size()), randSlice(rng, p.In.Size())
			wantMasked := make([]float32, p.In.Size())
			for j := range wantMasked {
				if ymask[j] > 0 {
					wantMasked[j] = a[j] + wantDX[j]
				}
			}
			// Forward: y = ReLU(BN(c) + ShortcutAForward(x)), BN over the
			// output's shape, and BN's backward after it.
			bp := kernels.BNParams{N: out.N, C: out.C, HW: out.H * out.W, Eps: 1e-5}
			c, gamma, beta := randSlice(rng, out.Size()), randSlice(rng, out.C), randSlice(rng, out.C)
			w := bnWant{y: make([]float32, out.Size()), mean: make([]float32, out.C), variance: make([]float32, out.C),
				dx: make([]float32, out.Size()), dgamma: make([]float32, out.C), dbeta: make([]float32, out.C)}
			invstd := make([]float32, out.C)
			kernels.BNForwardTrain(w.y, w.mean, w.variance, invstd, c, gamma, beta, bp)
			kernels.Add(w.y, w.y, wantY)
			kernels.ReLUForward(w.y, w.y)
			kernels.BNBackward(w.dx, w.dgamma, w.dbeta, dy, c, gamma, w.mean, invstd, bp)
			bs1 := backend.ActShape{N: out.N, C: out.C, H: 1, W: out.H * out.W}
			for _, b := range bs {
				dxa := toAct(b, a, p.In)
				b.ShortcutAAddReLUBackward(dxa, dxa, toAct(b, dy, out), toAct(b, ymask, p.In), p)
				check(t, b.Name()+" fused masked backward", fromAct(t, b, "dx", dxa, p.In), wantMasked)
				bn := b.NewBatchNorm(backend.BNConfig{BNParams: bp})
				ca, xa, dya := toAct(b, c, bs1), toAct(b, x, p.In), toAct(b, dy, bs1)
				checkBNTrain(t, b, bn, bs1, ca, dya, gamma, beta, w, func(y, mean, variance []float32) {
					bn.ForwardTrainAddShortcutAReLU(y, mean, variance, ca, gamma, beta, xa, p)
				})
			}
		})
	}
}

func TestConformanceLinear(t *testing.T) {
	bs := backends(t)
	for i, p := range []kernels.LinearParams{
		{N: 4, In: 64, Out: 10},     // CIFAR ResNets' classifier
		{N: 2, In: 2048, Out: 1000}, // ResNet-50's classifier
	} {
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		x, w, bias, dy := randSlice(rng, p.N*p.In), randSlice(rng, p.Out*p.In), randSlice(rng, p.Out), randSlice(rng, p.N*p.Out)
		wantY, wantDX, wantDW, wantDB := make([]float32, p.N*p.Out), make([]float32, p.N*p.In), make([]float32, p.Out*p.In), make([]float32, p.Out)
		kernels.LinearForward(wantY, x, w, bias, p)
		kernels.LinearBackwardData(wantDX, dy, w, p)
		kernels.LinearBackwardWeights(wantDW, wantDB, dy, x, p)
		for _, b := range bs {
			l := b.NewLinear(p)
			y, dx, dw, db := nanSlice(len(wantY)), nanSlice(len(wantDX)), nanSlice(len(wantDW)), nanSlice(len(wantDB))
			l.Forward(y, x, w, bias)
			l.BackwardData(dx, dy, w)
			l.BackwardWeights(dw, db, dy, x)
			name := fmt.Sprintf("%s linear %d->%d", b.Name(), p.In, p.Out)
			check(t, name+" y", y, wantY)
			check(t, name+" dx", dx, wantDX)
			check(t, name+" dw", dw, wantDW)
			check(t, name+" db", db, wantDB)
		}
	}
}
