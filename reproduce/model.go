package reproduce

import (
	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/models"
)

// ModelConfig maps a spec's resolved run configuration onto the model
// zoo's (models.ForRun).
func ModelConfig(c experiments.Config) (models.Config, error) {
	return models.ForRun(c.Model, c.Layout, c.Stem, c.Shortcut, c.Width, c.Classes, c.Input)
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
