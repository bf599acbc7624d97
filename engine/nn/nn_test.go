package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/engine/tensor"

	"github.com/resnet-repro/resnet-repro/engine/gradcheck"
	"github.com/resnet-repro/resnet-repro/engine/kernels"
)

// Tolerances for float64 central differences with h = 1e-6: truncation
// error is ~1e-12 relative and rounding error is eps*|L|/h ~ 1e-16*10/1e-6
// = 1e-9 absolute for our losses (|L| ~ 10). A check passes when
// max abs error <= relTol*scale + absTol; any indexing or formula mistake
// shows up as an O(1) relative error.
const (
	relTol = 1e-6
	absTol = 1e-8
)

func randFill(rng *rand.Rand, xs ...[]float64) {
	for _, x := range xs {
		for i := range x {
			x[i] = rng.NormFloat64()
		}
	}
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func expectClose(t *testing.T, r gradcheck.Result) {
	t.Helper()
	if r.MaxAbs > relTol*r.Scale+absTol || r.Checked == 0 {
		t.Errorf("%v", r)
	}
}

// Each kernel's backward is checked against central differences of the
// scalar loss L = <r, forward(...)> with a fixed random r.
func TestConvGradients(t *testing.T) {
	cases := []kernels.ConvParams{
		{N: 2, C: 3, H: 5, W: 5, K: 4, R: 3, S: 3, Stride: 1, Pad: 1},   // CIFAR 3x3
		{N: 2, C: 3, H: 6, W: 6, K: 4, R: 3, S: 3, Stride: 2, Pad: 1},   // stride-2 3x3 (conv3_1)
		{N: 1, C: 4, H: 5, W: 5, K: 6, R: 1, S: 1, Stride: 2, Pad: 0},   // bottleneck 1x1/2, projection
		{N: 1, C: 3, H: 11, W: 11, K: 2, R: 7, S: 7, Stride: 2, Pad: 3}, // ImageNet stem 7x7/2
		{N: 1, C: 2, H: 4, W: 6, K: 3, R: 3, S: 1, Stride: 1, Pad: 0},   // non-square kernel and map
	}
	for _, p := range cases {
		rng := rand.New(rand.NewPCG(1, 2))
		x, w := make([]float64, p.XSize()), make([]float64, p.WSize())
		y, r := make([]float64, p.YSize()), make([]float64, p.YSize())
		randFill(rng, x, w, r)
		loss := func() float64 { kernels.ConvForward(y, x, w, p); return dot(y, r) }
		dx, dw := make([]float64, len(x)), make([]float64, len(w))
		kernels.ConvBackwardData(dx, r, w, p)
		kernels.ConvBackwardWeights(dw, r, x, p)
		expectClose(t, gradcheck.Check("conv dx "+p.String(), x, dx, loss, gradcheck.DefaultStep, 0, 1))
		expectClose(t, gradcheck.Check("conv dw "+p.String(), w, dw, loss, gradcheck.DefaultStep, 0, 1))
	}
}

func TestLinearGradients(t *testing.T) {
	p := kernels.LinearParams{N: 3, In: 5, Out: 4}
	rng := rand.New(rand.NewPCG(3, 4))
	x, w, b := make([]float64, 15), make([]float64, 20), make([]float64, 4)
	y, r := make([]float64, 12), make([]float64, 12)
	randFill(rng, x, w, b, r)
	loss := func() float64 { kernels.LinearForward(y, x, w, b, p); return dot(y, r) }
	dx, dw, db := make([]float64, 15), make([]float64, 20), make([]float64, 4)
	kernels.LinearBackwardData(dx, r, w, p)
	kernels.LinearBackwardWeights(dw, db, r, x, p)
	expectClose(t, gradcheck.Check("linear dx", x, dx, loss, gradcheck.DefaultStep, 0, 1))
	expectClose(t, gradcheck.Check("linear dw", w, dw, loss, gradcheck.DefaultStep, 0, 1))
	expectClose(t, gradcheck.Check("linear db", b, db, loss, gradcheck.DefaultStep, 0, 1))
}

func TestBatchNormGradients(t *testing.T) {
	for _, relu := range []bool{false, true} {
		for _, training := range []bool{true, false} {
			shape := tensor.Shape{3, 2, 1, 5}
			ctx := NewContext[float64](nil)
			bn := NewBatchNorm(ctx, "bn", shape, relu)
			ctx.WS.Allocate()
			rng := rand.New(rand.NewPCG(5, 6))
			n := shape.Size()
			x, y, r := make([]float64, n), make([]float64, n), make([]float64, n)
			randFill(rng, x, r, bn.Weight.Data, bn.Bias.Data, bn.RunningMean.Data)
			for i := range bn.RunningVar.Data {
				bn.RunningVar.Data[i] = 0.5 + rng.Float64()
			}
			loss := func() float64 { bn.Forward(y, x, training); return dot(y, r) }
			loss()
			dx := make([]float64, n)
			bn.Backward(dx, append([]float64(nil), r...), x)
			name := fmt.Sprintf("bn relu=%v training=%v", relu, training)
			expectClose(t, gradcheck.Check(name+" dx", x, dx, loss, gradcheck.DefaultStep, 0, 1))
			expectClose(t, gradcheck.Check(name+" dgamma", bn.Weight.Data, append([]float64(nil), bn.Weight.Grad...), loss, gradcheck.DefaultStep, 0, 1))
			expectClose(t, gradcheck.Check(name+" dbeta", bn.Bias.Data, append([]float64(nil), bn.Bias.Grad...), loss, gradcheck.DefaultStep, 0, 1))
		}
	}
}

func TestPoolingAndLossGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	p := kernels.PoolParams{N: 2, C: 2, H: 7, W: 7, Size: 3, Stride: 2, Pad: 1} // Table 1's pool on an odd map
	x := make([]float64, p.N*p.C*p.H*p.W)
	y, r := make([]float64, p.N*p.C*p.P()*p.Q()), make([]float64, p.N*p.C*p.P()*p.Q())
	randFill(rng, x, r)
	loss := func() float64 { kernels.MaxPoolForward(y, x, p); return dot(y, r) }
	dx := make([]float64, len(x))
	kernels.MaxPoolBackward(dx, r, x, p)
	expectClose(t, gradcheck.Check("maxpool dx", x, dx, loss, gradcheck.DefaultStep, 0, 1))

	g := make([]float64, 4*9)
	gy, gr := make([]float64, 4), make([]float64, 4)
	randFill(rng, g, gr)
	gloss := func() float64 { kernels.GlobalAvgPoolForward(gy, g, 9); return dot(gy, gr) }
	dg := make([]float64, len(g))
	kernels.GlobalAvgPoolBackward(dg, gr, 9)
	expectClose(t, gradcheck.Check("avgpool dx", g, dg, gloss, gradcheck.DefaultStep, 0, 1))

	logits, dl := make([]float64, 3*5), make([]float64, 3*5)
	randFill(rng, logits)
	labels := []int{0, 4, 2}
	celoss := func() float64 { l, _ := kernels.SoftmaxCrossEntropy(make([]float64, 15), logits, labels, 5); return l }
	kernels.SoftmaxCrossEntropy(dl, logits, labels, 5)
	expectClose(t, gradcheck.Check("softmax-ce dlogits", logits, dl, celoss, gradcheck.DefaultStep, 0, 1))
}

// checkModule checks dL/dx and every parameter gradient of a module for
// L = <r, Forward(x)>. Backward may overwrite dy, so each call gets a copy.
func checkModule(t *testing.T, name string, ctx *Context[float64], m Module[float64], training bool, inputGrad bool) {
	t.Helper()
	ctx.WS.Allocate()
	rng := rand.New(rand.NewPCG(9, 10))
	x := make([]float64, m.InShape().Size())
	r := make([]float64, m.OutShape().Size())
	randFill(rng, x, r)
	for _, p := range m.Params() {
		randFill(rng, p.Data)
	}
	for _, s := range m.States() {
		for i := range s.Data {
			s.Data[i] = 0.5 + rng.Float64()
		}
	}
	loss := func() float64 { return dot(m.Forward(x, training), r) }
	loss()
	dx := m.Backward(append([]float64(nil), r...))
	if inputGrad {
		expectClose(t, gradcheck.Check(name+" dx", x, append([]float64(nil), dx...), loss, gradcheck.DefaultStep, 0, 1))
	} else if dx != nil {
		t.Errorf("%s: module without input gradient returned one", name)
	}
	for _, p := range m.Params() {
		expectClose(t, gradcheck.Check(name+" "+p.Name, p.Data, append([]float64(nil), p.Grad...), loss, gradcheck.DefaultStep, 0, 1))
	}
}

func basic(k, stride int) []ConvBN {
	return []ConvBN{{Conv: "conv1", BN: "bn1", K: k, R: 3, Stride: stride, Pad: 1}, {Conv: "conv2", BN: "bn2", K: k, R: 3, Stride: 1, Pad: 1}}
}

func bottleneck(mid, out, s1, s3 int) []ConvBN {
	return []ConvBN{{Conv: "conv1", BN: "bn1", K: mid, R: 1, Stride: s1}, {Conv: "conv2", BN: "bn2", K: mid, R: 3, Stride: s3, Pad: 1}, {Conv: "conv3", BN: "bn3", K: out, R: 1, Stride: 1}}
}

// Every block kind and shortcut option of Sec. 3.3 and Fig. 5, in training
// and inference mode.
func TestResidualGradients(t *testing.T) {
	cases := []struct {
		name string
		cfg  ResidualConfig
	}{
		{"plain basic", ResidualConfig{N: 2, C: 3, H: 4, W: 4, Branch: basic(3, 1), Shortcut: ShortcutNone}},
		{"basic identity", ResidualConfig{N: 2, C: 3, H: 4, W: 4, Branch: basic(3, 1), Shortcut: ShortcutIdentity}},
		{"basic option A stride 2", ResidualConfig{N: 2, C: 2, H: 6, W: 6, Branch: basic(4, 2), Shortcut: ShortcutZeroPad, ShortcutStride: 2}},
		{"basic option A odd map", ResidualConfig{N: 1, C: 2, H: 5, W: 5, Branch: basic(3, 2), Shortcut: ShortcutZeroPad, ShortcutStride: 2}},
		{"basic projection stride 2", ResidualConfig{N: 2, C: 2, H: 6, W: 6, Branch: basic(4, 2), Shortcut: ShortcutProjection, ShortcutStride: 2}},
		{"basic projection same shape (C)", ResidualConfig{N: 2, C: 3, H: 4, W: 4, Branch: basic(3, 1), Shortcut: ShortcutProjection, ShortcutStride: 1}},
		{"bottleneck projection stride on 1x1", ResidualConfig{N: 2, C: 4, H: 6, W: 6, Branch: bottleneck(2, 8, 2, 1), Shortcut: ShortcutProjection, ShortcutStride: 2}},
		{"bottleneck projection stride on 3x3", ResidualConfig{N: 2, C: 4, H: 6, W: 6, Branch: bottleneck(2, 8, 1, 2), Shortcut: ShortcutProjection, ShortcutStride: 2}},
		{"bottleneck option A widening", ResidualConfig{N: 2, C: 2, H: 4, W: 4, Branch: bottleneck(2, 8, 1, 1), Shortcut: ShortcutZeroPad, ShortcutStride: 1}},
		{"bottleneck identity", ResidualConfig{N: 2, C: 8, H: 4, W: 4, Branch: bottleneck(2, 8, 1, 1), Shortcut: ShortcutIdentity}},
		{"plain bottleneck", ResidualConfig{N: 2, C: 8, H: 4, W: 4, Branch: bottleneck(2, 8, 1, 1), Shortcut: ShortcutNone}},
	}
	for _, c := range cases {
		for _, training := range []bool{true, false} {
			ctx := NewContext[float64](nil)
			c.cfg.Name = "layer1.0"
			m := NewResidual(ctx, c.cfg)
			checkModule(t, c.name+map[bool]string{true: " train", false: " infer"}[training], ctx, m, training, true)
		}
	}
}

func TestStemAndHeadGradients(t *testing.T) {
	for _, cfg := range []StemConfig{
		{N: 2, C: 3, H: 6, W: 6, K: 4, R: 3, Stride: 1, Pad: 1},               // CIFAR stem
		{N: 1, C: 3, H: 13, W: 13, K: 3, R: 7, Stride: 2, Pad: 3, Pool: true}, // ImageNet stem and pool
	} {
		ctx := NewContext[float64](nil)
		checkModule(t, "stem", ctx, NewStem(ctx, cfg), true, false)
	}
	ctx := NewContext[float64](nil)
	checkModule(t, "head", ctx, NewHead(ctx, 2, 3, 2, 2, 5), true, true)
}

// Option A is exactly "every second pixel, then zero channels appended
// after the identity channels": checked on counting inputs by hand.
func TestZeroPadShortcutLayout(t *testing.T) {
	ops := backend.ReferenceOf[float64](1)
	p := backend.ShortcutAParams{In: backend.ActShape{N: 1, C: 1, H: 4, W: 4}, K: 2, Stride: 2}
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	y := make([]float64, 2*2*2) // (1, 2, 2, 2)
	ops.ShortcutAForward(y, x, p)
	want := []float64{1, 3, 9, 11, 0, 0, 0, 0}
	for i := range want {
		if y[i] != want[i] {
			t.Fatalf("option A shortcut = %v, want %v", y, want)
		}
	}
}
