// Package modelname is the one grammar of model names, "<family>-<depth>"
// (resnet-20, plain-34, vgg-16), and of the depths each layout has: the
// spec loader (experiments), the model zoo (models), `repro arch` and the
// reports all check names here, so they accept exactly the same ones. It
// imports nothing of this module.
package modelname

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Families.
const (
	ResNet = "resnet"
	Plain  = "plain"
	VGG    = "vgg"
)

// ImageNetDepths are the depths of the ImageNet layout, by family: Table 1's
// ResNets, the plain-18/34 baselines of Table 2 and Fig. 4, and VGG-16/19
// (Table 3's VGG-16; VGG-19 in Fig. 3).
var ImageNetDepths = map[string][]int{
	ResNet: {18, 34, 50, 101, 152},
	Plain:  {18, 34},
	VGG:    {16, 19},
}

// Parse splits a model name into its family and depth: the family must be
// resnet, plain or vgg, the depth a positive integer written canonically
// ("resnet-020" is not a name).
func Parse(model string) (family string, depth int, err error) {
	fam, d, ok := strings.Cut(model, "-")
	if !ok || fam == "" || d == "" {
		return "", 0, fmt.Errorf("model %q: want <family>-<depth>, e.g. resnet-20", model)
	}
	if fam != ResNet && fam != Plain && fam != VGG {
		return "", 0, fmt.Errorf("model %q: unknown family %q (want resnet, plain or vgg)", model, fam)
	}
	depth, err = strconv.Atoi(d)
	if err != nil || depth <= 0 || strconv.Itoa(depth) != d {
		return "", 0, fmt.Errorf("model %q: depth %q is not a positive integer", model, d)
	}
	return fam, depth, nil
}

// IsImageNetDepth reports whether depth is one of Table 1's ResNet depths,
// which a name without a layout is read as (resnet-50 is ImageNet's,
// resnet-56 CIFAR-10's).
func IsImageNetDepth(depth int) bool { return slices.Contains(ImageNetDepths[ResNet], depth) }

// CheckImageNet reports whether family-depth exists in the ImageNet layout.
func CheckImageNet(model, family string, depth int) error {
	if !slices.Contains(ImageNetDepths[family], depth) {
		return fmt.Errorf("model %q: ImageNet %s depths are %v", model, family, ImageNetDepths[family])
	}
	return nil
}

// CheckCIFAR reports whether family-depth exists in the CIFAR-10 layout:
// resnet and plain nets of depth 6n+2, n >= 1 (Sec. 4.2); no VGG.
func CheckCIFAR(model, family string, depth int) error {
	if family == VGG {
		return fmt.Errorf("model %q: no VGG on CIFAR-10 in this harness", model)
	}
	if depth < 8 || (depth-2)%6 != 0 {
		return fmt.Errorf("model %q: CIFAR-10 depth must be 6n+2 with n >= 1 (20, 32, 44, 56, 110, 1202 ...), not %d", model, depth)
	}
	return nil
}
