package reports

import (
	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/models"
)

// ModelConfig maps a resolved run configuration onto the model zoo's
// (models.ForRun, the mapping the runner uses too).
func ModelConfig(c experiments.Config) (models.Config, error) {
	return models.ForRun(c.Model, c.Layout, c.Stem, c.Shortcut, c.Width, c.Classes, c.Input)
}

// define returns the network definition of a resolved run.
func define(c experiments.Config) (*models.Def, error) {
	mc, err := ModelConfig(c)
	if err != nil {
		return nil, err
	}
	return models.Define(mc)
}
