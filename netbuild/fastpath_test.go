package netbuild

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/engine/backend/cpu"
	"github.com/resnet-repro/resnet-repro/engine/nn"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
	"github.com/resnet-repro/resnet-repro/models"
)

// The fast path agrees with the reference path (issue 3's acceptance:
// relative error below 1e-4 -- max abs difference / max abs reference
// value, per tensor -- on small batches).
//
// What can be compared exactly, and why. Forward outputs of two float32
// implementations agree to ~1e-6 on every net. Gradients agree to ~1e-5 --
// unless some unit's BN output lies within rounding of a ReLU kink: the two
// backends then take different (each self-consistent) ReLU decisions and
// that block's gradients, and through backprop every earlier layer's,
// differ by up to a few percent. Measured: resnet-20 seed 3 flips one unit
// of layer1.0's bn1 (forward agreed to 1.4e-6 everywhere; layer1.0's conv1
// gradient then differs by 0.06); on resnet-110 and the 64x64 ImageNet nets
// (tens of thousands of units per layer) nearly every seed has a flip. So:
//
//   - every network of the zoo that trains (resnet-1202 represented by
//     resnet-110: the same blocks) must agree on logits, training and
//     inference mode, within 1e-4, or -- where even float32 rounding is
//     amplified past that (plain-34: measured 2.9e-4 between the two
//     float32 paths) -- be within 3x the float32 reference's own error
//     against float64;
//   - a set of nets that covers every wiring -- basic blocks with options
//     A, B, C, plain, the ImageNet stem with max pooling, bottlenecks with
//     the stride on the 1x1 and on the 3x3, the CIFAR-stem proxy -- must
//     agree on every parameter gradient and BN running statistic within
//     1e-4 on at least one of four seeds. A wiring or kernel bug fails
//     every seed.
//
// Convolutions run oneDNN's direct algorithm here (Winograd's larger
// rounding, ~3e-6 per op, makes flips more frequent; its accuracy is tested
// per op in engine/backend/cpu). The scale of each block's last BN is
// set to 0.2 (as zero-init-residual schemes do) so the He-initialized deep
// nets do not amplify rounding chaotically (measured: resnet-50's float32
// reference vs float64 goes from 0.16 to 3e-6).
func TestFastPathMatchesReference(t *testing.T) {
	fast, err := cpu.NewWithAlgos(2, cpu.DirectAlgos)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	type netCase struct {
		cfg   models.Config
		grads bool // compare gradients too
	}
	nets := []netCase{
		{models.Config{Model: "resnet-20"}, true}, {models.Config{Model: "resnet-20", Shortcut: "B"}, true},
		{models.Config{Model: "resnet-20", Shortcut: "C"}, true}, {models.Config{Model: "plain-20"}, true},
		{models.Config{Model: "resnet-56"}, false}, {models.Config{Model: "resnet-110"}, false},
		{models.Config{Model: "resnet-18", Input: 64}, true},
		{models.Config{Model: "resnet-50", Input: 64, Width: 0.25}, true},
		{models.Config{Model: "resnet-50", Input: 64, Width: 0.25, Stride3x3: true, Shortcut: "C"}, true},
		{models.Config{Model: "resnet-34", Input: 32, Width: 0.25, Shortcut: "A", CIFARStem: true}, true},
		{models.Config{Model: "resnet-18", Input: 32, CIFARStem: true, Classes: 10}, true}, // the quick-scale proxy
		{models.Config{Model: "resnet-34", Input: 64, Shortcut: "A"}, false}, {models.Config{Model: "resnet-34", Input: 64, Shortcut: "C"}, false},
		{models.Config{Model: "plain-34", Input: 64}, false}, {models.Config{Model: "resnet-50", Input: 64}, false},
		{models.Config{Model: "resnet-101", Input: 64}, false}, {models.Config{Model: "resnet-152", Input: 64}, false},
	}
	for _, nc := range nets {
		cfg := nc.cfg
		t.Run(fmt.Sprintf("%s_%s_%d_w%g", cfg.Model, cfg.Shortcut, cfg.Input, cfg.Width), func(t *testing.T) {
			d, err := models.Define(cfg)
			if err != nil {
				t.Fatal(err)
			}
			const batch = 2
			ref, err := Build(nn.NewContext[float32](backend.Reference(2)), d, batch)
			if err != nil {
				t.Fatal(err)
			}
			fst, err := Build(nn.NewContext[float32](fast), d, batch)
			if err != nil {
				t.Fatal(err)
			}
			seeds := uint64(1)
			if nc.grads {
				seeds = 4
			}
			clean := 0
			var notes []string
			for seed := uint64(1); seed <= seeds; seed++ {
				ref.InitHe(seed)
				dampResiduals(ref)
				nn.CopyWeights(fst, ref)
				logits, bad, total, worst, where := compareStep(ref, fst, seed)
				if logits > 1e-4 {
					// Judge against float64: the fast path must be within 3x
					// the float32 reference's own error (see above).
					refErr, fastErr := logitsVsFloat64(t, d, ref, fst, seed)
					check(t, fmt.Sprintf("seed %d: logits vs float64 (float32 reference's error %.3g)", seed, refErr), fastErr, 3*refErr)
				}
				if bad == 0 {
					clean++
				}
				notes = append(notes, fmt.Sprintf("seed %d: logits %.2g; %d of %d tensors above 1e-4, worst %.3g (%s)", seed, logits, bad, total, worst, where))
			}
			t.Log(strings.Join(notes, "; "))
			if nc.grads && clean == 0 {
				t.Errorf("no seed agrees on every gradient within 1e-4: %s", strings.Join(notes, "; "))
			}
		})
	}
}

// logitsVsFloat64 returns the worst logits error (both modes) of the
// float32 reference and of the fast path against a float64 network with
// the same weights.
func logitsVsFloat64(t *testing.T, d *models.Def, ref, fst *nn.Network[float32], seed uint64) (refErr, fastErr float64) {
	t.Helper()
	f64, err := Build(nn.NewContext[float64](backend.ReferenceOf[float64](2)), d, ref.Batch())
	if err != nil {
		t.Fatal(err)
	}
	nn.CopyWeights(f64, ref)
	x64, _ := input(ref.InShape().Size(), seed+10)
	x := make([]float32, len(x64))
	for i, v := range x64 {
		x[i] = float32(v)
	}
	for _, training := range []bool{true, false} {
		want := append([]float64(nil), f64.Forward(x64, training)...)
		refErr = math.Max(refErr, tensor.MaxRelDiff(ref.Forward(x, training), want))
		fastErr = math.Max(fastErr, tensor.MaxRelDiff(fst.Forward(x, training), want))
	}
	return refErr, fastErr
}

func check(t *testing.T, what string, err, tol float64) {
	t.Helper()
	if err > tol || math.IsNaN(err) {
		t.Errorf("%s: relative error %.3g exceeds %.3g", what, err, tol)
	}
}

// compareStep runs a training step (forward, loss, backward) and an
// inference forward on both networks; it returns the worst logits error of
// the two modes and counts the parameter gradients and running statistics
// that differ by more than 1e-4 relative.
func compareStep(ref, fst *nn.Network[float32], seed uint64) (logits float64, bad, total int, worst float64, where string) {
	x64, _ := input(ref.InShape().Size(), seed+10)
	x := make([]float32, len(x64))
	for i, v := range x64 {
		x[i] = float32(v)
	}
	count := func(name string, e float64) {
		total++
		if e > 1e-4 || math.IsNaN(e) {
			bad++
		}
		if e > worst || math.IsNaN(e) {
			worst, where = e, name
		}
	}
	labels := []int{1, 3}
	lr := append([]float32(nil), ref.Forward(x, true)...)
	logits = relDiff32(fst.Forward(x, true), lr)
	ref.Loss(labels)
	fst.Loss(labels)
	ref.Backward()
	fst.Backward()
	for i, p := range ref.Params() {
		count(p.Name+" gradient", relDiff32(fst.Params()[i].Grad, p.Grad))
	}
	for i, s := range ref.States() {
		count(s.Name, relDiff32(fst.States()[i].Data, s.Data))
	}
	lr = append(lr[:0], ref.Forward(x, false)...)
	logits = math.Max(logits, relDiff32(fst.Forward(x, false), lr))
	return logits, bad, total, worst, where
}

// dampResiduals sets the scale of the last BN of every block to 0.2.
func dampResiduals(n *nn.Network[float32]) {
	names := map[string]bool{}
	for _, p := range n.Params() {
		names[p.Name] = true
	}
	for _, p := range n.Params() {
		last := strings.HasSuffix(p.Name, ".bn3.weight") ||
			strings.HasSuffix(p.Name, ".bn2.weight") && !names[strings.TrimSuffix(p.Name, "bn2.weight")+"bn3.weight"]
		if strings.HasPrefix(p.Name, "layer") && last {
			for i := range p.Data {
				p.Data[i] = 0.2
			}
		}
	}
}

func relDiff32(a, b []float32) float64 {
	bb := make([]float64, len(b))
	for i, v := range b {
		bb[i] = float64(v)
	}
	return tensor.MaxRelDiff(a, bb)
}
