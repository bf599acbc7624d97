package models

import (
	"fmt"
	"strings"
)

// ForRun maps the architecture fields of a spec's resolved run (see
// experiments.Config: model name, layout "cifar10"|"imagenet", stem
// "cifar"|"imagenet"|"", shortcut, width, classes, input) onto a Config.
// The layout is the architecture family (a CIFAR-10 proxy of an ImageNet
// spec keeps Table 1's stages and takes the 3x3 CIFAR stem). It takes plain
// fields because the model zoo does not import the specs package; the
// runner and the reports both call it, so they always agree.
func ForRun(model, layout, stem, shortcut string, width float64, classes, input int) (Config, error) {
	mc := Config{Model: model, Shortcut: shortcut, Width: width, Classes: classes, Input: input}
	switch layout {
	case "cifar10":
		mc.Family = CIFAR
	case "imagenet":
		mc.Family = ImageNet
	default:
		return mc, fmt.Errorf("run %s: unknown layout %q", model, layout)
	}
	if strings.HasPrefix(model, "vgg-") {
		mc.Family = VGG
	}
	switch stem {
	case "", "imagenet":
		if mc.Family == CIFAR && stem == "imagenet" {
			return mc, fmt.Errorf("run %s: a CIFAR layout has no ImageNet stem", model)
		}
	case "cifar":
		mc.CIFARStem = mc.Family == ImageNet
	default:
		return mc, fmt.Errorf("run %s: unknown stem %q", model, stem)
	}
	return mc, nil
}
