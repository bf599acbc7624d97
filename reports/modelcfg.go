package reports

import (
	"fmt"
	"strings"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/models"
)

// ModelConfig maps a resolved run configuration onto the model zoo's. It is
// the mapping of reproduce.ModelConfig, repeated here because reports must
// not import the runner (which imports the engine); cmd/repro's
// TestReportModelConfigMatchesRunner checks that the two agree on every run
// of every built-in spec at every scale. (The mapping would best live in
// one place that both can import; see the package's report.)
func ModelConfig(c experiments.Config) (models.Config, error) {
	mc := models.Config{Model: c.Model, Shortcut: c.Shortcut, Width: c.Width, Classes: c.Classes, Input: c.Input}
	switch c.Layout {
	case "cifar10":
		mc.Family = models.CIFAR
	case "imagenet":
		mc.Family = models.ImageNet
	default:
		return mc, fmt.Errorf("run %s: unknown layout %q", c.Model, c.Layout)
	}
	if strings.HasPrefix(c.Model, "vgg-") {
		mc.Family = models.VGG
	}
	switch c.Stem {
	case "", "imagenet":
		if mc.Family == models.CIFAR && c.Stem == "imagenet" {
			return mc, fmt.Errorf("run %s: a CIFAR layout has no ImageNet stem", c.Model)
		}
	case "cifar":
		mc.CIFARStem = mc.Family == models.ImageNet
	default:
		return mc, fmt.Errorf("run %s: unknown stem %q", c.Model, c.Stem)
	}
	return mc, nil
}

// define returns the network definition of a resolved run.
func define(c experiments.Config) (*models.Def, error) {
	mc, err := ModelConfig(c)
	if err != nil {
		return nil, err
	}
	return models.Define(mc)
}
