// Package netbuild turns a network definition (models.Def) into an engine
// network (nn.Network): the one place that knows both the model zoo's plain
// types and the engine's modules. It also names a network's tensors as
// PyTorch state dicts do (Tensors, LoadTensors), for checkpoints, `repro
// init` (WriteInit) and weights trained elsewhere, and runs the network
// work of the commands that are not training: one forward pass over a
// batch from a file (Forward, `repro forward`) and speed measurements
// (Bench, `repro bench`).
package netbuild

import (
	"fmt"

	"github.com/resnet-repro/resnet-repro/engine/nn"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
	"github.com/resnet-repro/resnet-repro/models"
)

// Build plans the network of d for a batch of n images on ctx. Weights are
// zero until initialized (Network.InitHe) or loaded.
func Build[F tensor.Float](ctx *nn.Context[F], d *models.Def, n int) (*nn.Network[F], error) {
	if d.Config.Family == models.VGG {
		return nil, fmt.Errorf("model %s: VGG nets are defined for analytics (FLOP comparisons) only; no experiment trains them", d.Config.Model)
	}
	if n < 1 {
		return nil, fmt.Errorf("batch size %d must be positive", n)
	}
	mods := []nn.Module[F]{nn.NewStem(ctx, stemConfig(d.Stem, n))}
	for _, s := range d.Stages {
		for _, b := range s.Blocks {
			mods = append(mods, nn.NewResidual(ctx, blockConfig(b, n)))
		}
	}
	last := mods[len(mods)-1].OutShape()
	mods = append(mods, nn.NewHead(ctx, n, last[1], last[2], last[3], d.Classes))
	return nn.NewNetwork(ctx, mods, d.Classes), nil
}

// stemConfig is the engine's stem for s on n images.
func stemConfig(s models.StemDef, n int) nn.StemConfig {
	return nn.StemConfig{N: n, C: s.C, H: s.H, W: s.W, K: s.K, R: s.R, Stride: s.Stride, Pad: s.Pad, Pool: s.Pool}
}

// blockConfig is the engine's block for b on n images.
func blockConfig(b models.BlockDef, n int) nn.ResidualConfig {
	branch := make([]nn.ConvBN, len(b.Branch))
	for i, c := range b.Branch {
		branch[i] = nn.ConvBN{Conv: c.Conv, BN: c.BN, K: c.K, R: c.R, Stride: c.Stride, Pad: c.Pad}
	}
	return nn.ResidualConfig{Name: b.Name, N: n, C: b.C, H: b.H, W: b.W, Branch: branch,
		Shortcut: shortcutKind(b.Shortcut), ShortcutStride: b.ShortcutStride}
}

// shortcutKind maps the zoo's shortcut to the engine's.
func shortcutKind(k models.ShortcutKind) nn.ShortcutKind {
	switch k {
	case models.ShortcutNone:
		return nn.ShortcutNone
	case models.ShortcutIdentity:
		return nn.ShortcutIdentity
	case models.ShortcutZeroPad:
		return nn.ShortcutZeroPad
	case models.ShortcutProjection:
		return nn.ShortcutProjection
	}
	panic(fmt.Sprintf("netbuild: unknown shortcut kind %d", k))
}
