package reproduce

import (
	"testing"

	"github.com/resnet-repro/resnet-repro/experiments"
)

// The footprint model never estimates less than a measured peak, and at
// most 2x more (so it refuses a run only when the run would need at least
// half of the machine's memory). Peaks: `repro bench --mode train --threads 1 --iters 1` peak RSS
// on the 2-core AVX-512 reference machine (memory.go lists them; the bench
// holds no dataset, hence Dataset "").
func TestTrainingFootprintCoversMeasuredPeaks(t *testing.T) {
	cases := []struct {
		model, layout string
		width         float64
		batch         int
		peakMB        float64
	}{
		{"resnet-8", "cifar10", 0.25, 2048, 2191},
		{"resnet-20", "cifar10", 1, 8, 66},
		{"resnet-20", "cifar10", 1, 128, 278},
		{"resnet-20", "cifar10", 1, 512, 966},
		{"resnet-56", "cifar10", 1, 128, 628},
		{"resnet-20", "cifar10", 4, 128, 1101},
		{"resnet-50", "imagenet", 1, 8, 1455},
	}
	for _, c := range cases {
		shortcut := map[string]string{"cifar10": "A", "imagenet": "B"}[c.layout]
		cfg := experiments.Config{Model: c.model, Layout: c.layout, Shortcut: shortcut, Width: c.width,
			Training: &experiments.Training{Batch: c.batch}}
		got, err := TrainingFootprint(cfg)
		if err != nil {
			t.Fatalf("%s: %v", c.model, err)
		}
		ratio := float64(got) / (c.peakMB * (1 << 20))
		if ratio < 1 || ratio > 2 {
			t.Errorf("%s width %g batch %d: estimate %.0f MB is %.2fx the measured %.0f MB, want 1x to 2x", c.model, c.width, c.batch, float64(got)/(1<<20), ratio, c.peakMB)
		}
	}
}

// A run larger than the limit is refused naming its batch and width; one
// within it, or with no limit known, is not.
func TestCheckFits(t *testing.T) {
	p := PlannedRun{Spec: "fig1", Name: "plain-20", Config: experiments.Config{Model: "plain-20", Layout: "cifar10",
		Width: 1, Dataset: "cifar10", Training: &experiments.Training{Batch: 128}}}
	if err := checkFits(p, 0); err != nil {
		t.Errorf("no limit: %v", err)
	}
	if err := checkFits(p, 24<<30); err != nil {
		t.Errorf("24 GiB: %v", err)
	}
	if err := checkFits(p, 100<<20); err == nil {
		t.Error("100 MiB: plain-20 at batch 128 accepted")
	}
}
