package models

import (
	"fmt"

	"github.com/resnet-repro/resnet-repro/engine/nn"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
)

// Build plans the network of d for a batch of n images on ctx. Weights are
// zero until initialized (Network.InitHe) or loaded.
func Build[F tensor.Float](ctx *nn.Context[F], d *Def, n int) (*nn.Network[F], error) {
	if d.Config.Family == VGG {
		return nil, fmt.Errorf("model %s: VGG nets are defined for analytics (FLOP comparisons) only; no experiment trains them", d.Config.Model)
	}
	if n < 1 {
		return nil, fmt.Errorf("batch size %d must be positive", n)
	}
	stem := d.Stem
	stem.N = n
	mods := []nn.Module[F]{nn.NewStem(ctx, stem)}
	for _, s := range d.Stages {
		for _, b := range s.Blocks {
			b.N = n
			mods = append(mods, nn.NewResidual(ctx, b))
		}
	}
	last := mods[len(mods)-1].OutShape()
	mods = append(mods, nn.NewHead(ctx, n, last[1], last[2], last[3], d.Classes))
	return nn.NewNetwork(ctx, mods, d.Classes), nil
}
