package reproduce

import (
	"fmt"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/models"
)

// ModelConfig maps a spec's resolved run configuration onto the model
// zoo's: the layout (architecture family), the stem (a CIFAR-10 proxy of an
// ImageNet net keeps Table 1's stages and takes the 3x3 CIFAR stem), the
// shortcut option, width, classes and input size.
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
	if len(c.Model) > 4 && c.Model[:4] == "vgg-" {
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

// DefineRun resolves a run's network definition.
func DefineRun(c experiments.Config) (*models.Def, error) {
	mc, err := ModelConfig(c)
	if err != nil {
		return nil, err
	}
	return models.Define(mc)
}

// ValidateModel is the spec loader's model-name check: the name must be
// one the zoo can define in some layout.
func ValidateModel(model string) error {
	_, errI := models.Define(models.Config{Model: model, Family: models.ImageNet})
	if errI == nil {
		return nil
	}
	_, errC := models.Define(models.Config{Model: model, Family: models.CIFAR})
	if errC == nil {
		return nil
	}
	if _, err := models.Define(models.Config{Model: model}); err == nil {
		return nil
	}
	return errC
}

// MACs is the spec cost hook: forward multiply-adds of one image.
func MACs(c experiments.Config) (int64, error) {
	d, err := DefineRun(c)
	if err != nil {
		return 0, err
	}
	return d.Layout().MACs, nil
}
