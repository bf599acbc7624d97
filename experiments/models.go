package experiments

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ModelValidator reports whether a model name exists (the model registry);
// the loader calls it for every model a spec names. nil checks syntax only.
type ModelValidator func(model string) error

// Model families.
const (
	FamilyResNet = "resnet"
	FamilyPlain  = "plain"
	FamilyVGG    = "vgg"
)

// imagenetDepths are the depths of Table 1 (and VGG's configurations).
var imagenetDepths = map[string][]int{
	FamilyResNet: {18, 34, 50, 101, 152},
	FamilyPlain:  {18, 34, 50, 101, 152},
	FamilyVGG:    {11, 13, 16, 19},
}

// ParseModel splits a model name "<family>-<depth>" and checks the depth
// for the dataset: on cifar10, resnet and plain with depth 6n+2 (n >= 1,
// Sec 4.2); on imagenet, the depths of Table 1 (and VGG 11/13/16/19).
func ParseModel(model, dataset string) (family string, depth int, err error) {
	fam, d, ok := strings.Cut(model, "-")
	if !ok || fam == "" || d == "" {
		return "", 0, fmt.Errorf("model %q: want <family>-<depth>, e.g. resnet-20", model)
	}
	if !slices.Contains([]string{FamilyResNet, FamilyPlain, FamilyVGG}, fam) {
		return "", 0, fmt.Errorf("model %q: unknown family %q (want resnet, plain or vgg)", model, fam)
	}
	depth, err = strconv.Atoi(d)
	if err != nil || depth <= 0 || strconv.Itoa(depth) != d {
		return "", 0, fmt.Errorf("model %q: depth %q is not a positive integer", model, d)
	}
	switch dataset {
	case "cifar10":
		if fam == FamilyVGG {
			return "", 0, fmt.Errorf("model %q: no VGG on CIFAR-10 in this harness", model)
		}
		if depth < 8 || (depth-2)%6 != 0 {
			return "", 0, fmt.Errorf("model %q: CIFAR-10 depth must be 6n+2 with n >= 1 (20, 32, 44, 56, 110, 1202 ...)", model)
		}
	case "imagenet":
		if !slices.Contains(imagenetDepths[fam], depth) {
			return "", 0, fmt.Errorf("model %q: ImageNet %s depths are %v", model, fam, imagenetDepths[fam])
		}
	default:
		panic("experiments: ParseModel with unknown dataset " + dataset)
	}
	return fam, depth, nil
}
