// Package models is the zoo of the paper's networks, built from one
// definition per network that both the engine builder (Build) and the
// analytic counts (Analyze) walk, so `repro arch` describes exactly what
// trains.
//
//   - ImageNet family (Table 1): resnet-18/34 (basic blocks), resnet-50/101/152
//     (bottlenecks, stride 2 on the first 1x1 as in the paper unless
//     Stride3x3), plain-18/34; 7x7/2 stem and 3x3/2 max pool; stages
//     conv2_x..conv5_x. Default shortcut option B.
//   - CIFAR family (Sec. 4.2): resnet-N and plain-N for N = 6n+2; a 3x3 conv
//     with 16 filters, then 3 stages of n basic blocks with 16/32/64 filters
//     on 32/16/8 maps. Default shortcut option A.
//   - vgg-16 and vgg-19 (Simonyan & Zisserman, configurations D and E) for
//     the paper's FLOP comparisons (Sec. 3.3, Fig. 3): analytics only; the
//     engine does not build them because no experiment trains them.
//
// Shortcut options (Sec. 3.3): A zero-pads on a shape change, B projects on
// a shape change, C projects on every block. Width multiplies every filter
// count (reduced-cost proxies); Classes and the input size are parameters.
package models

import (
	"fmt"
	"math"
	"strings"

	"github.com/resnet-repro/resnet-repro/modelname"
)

// Family names a group of architectures.
type Family string

const (
	ImageNet Family = "imagenet"
	CIFAR    Family = "cifar"
	VGG      Family = "vgg"
)

// Config selects a network. Zero values mean the paper's defaults.
type Config struct {
	Model    string  // "resnet-50", "plain-34", "resnet-110", "vgg-19"
	Family   Family  // "" infers: depths 18/34/50/101/152 are ImageNet, other 6n+2 are CIFAR
	Shortcut string  // "A", "B", "C"; "" = B for ImageNet, A for CIFAR; ignored by plain nets
	Width    float64 // filter multiplier; 0 = 1
	Classes  int     // 0 = 1000 (ImageNet, VGG) or 10 (CIFAR)
	Input    int     // input height and width; 0 = 224 (ImageNet, VGG) or 32 (CIFAR)
	// CIFARStem replaces the ImageNet stem (7x7/2 conv + 3x3/2 pool) with
	// the CIFAR one (3x3/1 conv, no pool): the ImageNet block layouts on
	// 32x32 inputs, used as a labeled proxy when ImageNet is unavailable.
	CIFARStem bool
	// Stride3x3 moves a bottleneck's stride from the first 1x1 (paper) to
	// the 3x3 (torchvision's "v1.5").
	Stride3x3 bool
}

// Def is a resolved network definition: what Build instantiates and
// Analyze counts. Block configs carry N = 1; Build sets the batch.
type Def struct {
	Config   Config // with every default filled in
	Residual bool   // false for plain nets
	Stem     StemDef
	Stages   []StageDef
	Classes  int
	// VGGLayers is set for VGG only: conv filter counts, 0 for a 2x2/2 max pool.
	VGGLayers []int
}

// StageDef is one group of blocks at one feature-map size.
type StageDef struct {
	Name   string // "conv2_x" (ImageNet) or "stage1" (CIFAR)
	Layer  string // parameter prefix, "layer1"
	Blocks []BlockDef
}

var imagenetBlocks = map[int][]int{
	18: {2, 2, 2, 2}, 34: {3, 4, 6, 3}, 50: {3, 4, 6, 3}, 101: {3, 4, 23, 3}, 152: {3, 8, 36, 3},
}

// Names lists example model names accepted by Define (CIFAR accepts any 6n+2).
func Names() []string {
	return []string{"resnet-18", "resnet-34", "resnet-50", "resnet-101", "resnet-152", "plain-18", "plain-34",
		"resnet-20", "resnet-32", "resnet-44", "resnet-56", "resnet-110", "resnet-1202",
		"plain-20", "plain-32", "plain-44", "plain-56", "plain-110", "vgg-16", "vgg-19"}
}

// Define resolves cfg into a definition, or explains what is wrong with it.
func Define(cfg Config) (*Def, error) {
	kind, depth, err := modelname.Parse(cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("unknown %w (e.g. %s)", err, strings.Join(Names()[:4], ", "))
	}
	if cfg.Width == 0 {
		cfg.Width = 1
	}
	if !(cfg.Width > 0 && cfg.Width <= MaxWidth) {
		return nil, fmt.Errorf("model %s: width multiplier %v must be a finite number in (0, %d]", cfg.Model, cfg.Width, MaxWidth)
	}
	if depth > MaxDepth {
		return nil, fmt.Errorf("model %s: depth %d exceeds %d layers", cfg.Model, depth, MaxDepth)
	}
	if kind == modelname.VGG {
		return defineVGG(cfg, depth)
	}
	if cfg.Family == "" {
		if modelname.IsImageNetDepth(depth) {
			cfg.Family = ImageNet
		} else {
			cfg.Family = CIFAR
		}
	}
	switch cfg.Family {
	case ImageNet:
		if err := modelname.CheckImageNet(cfg.Model, kind, depth); err != nil {
			return nil, err
		}
		if cfg.Shortcut == "" {
			cfg.Shortcut = "B"
		}
	case CIFAR:
		if err := modelname.CheckCIFAR(cfg.Model, kind, depth); err != nil {
			return nil, err
		}
		if cfg.Shortcut == "" {
			cfg.Shortcut = "A"
		}
	default:
		return nil, fmt.Errorf("model %s: unknown family %q (imagenet or cifar)", cfg.Model, cfg.Family)
	}
	if kind == modelname.Plain {
		cfg.Shortcut = ""
	} else if cfg.Shortcut != "A" && cfg.Shortcut != "B" && cfg.Shortcut != "C" {
		return nil, fmt.Errorf("model %s: unknown shortcut option %q (A, B or C; Sec. 3.3)", cfg.Model, cfg.Shortcut)
	}
	if cfg.Classes == 0 {
		cfg.Classes = map[Family]int{ImageNet: 1000, CIFAR: 10}[cfg.Family]
	}
	if cfg.Input == 0 {
		cfg.Input = map[Family]int{ImageNet: 224, CIFAR: 32}[cfg.Family]
		if cfg.CIFARStem {
			cfg.Input = 32
		}
	}
	if err := checkClassesInput(cfg); err != nil {
		return nil, err
	}
	d := &Def{Config: cfg, Residual: kind == modelname.ResNet, Classes: cfg.Classes}
	if cfg.Family == CIFAR {
		err = defineCIFAR(d, (depth-2)/6)
	} else {
		err = defineImageNet(d, depth)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Bounds on a definition's numbers, so that every count Analyze returns
// fits an int64 (multiply-adds of the widest layer at the largest input:
// (512 x 1024)^2 x 9 x (4096/32)^2 is about 4e16 < 9.2e18) and no
// definition is larger than any machine could train. Each is 10x or more
// beyond the paper's largest (width 1, 1202 layers, 224 pixels, 1000 classes).
const (
	MaxWidth   = 1024
	MaxDepth   = 20000
	MaxInput   = 4096
	MaxClasses = 1 << 20
)

// checkClassesInput rejects class counts and input sizes outside [1, Max].
func checkClassesInput(cfg Config) error {
	if cfg.Classes < 1 || cfg.Classes > MaxClasses || cfg.Input < 1 || cfg.Input > MaxInput {
		return fmt.Errorf("model %s: classes (%d) must be in [1, %d] and input size (%d) in [1, %d]", cfg.Model, cfg.Classes, MaxClasses, cfg.Input, MaxInput)
	}
	return nil
}

// widthOf scales a paper filter count by the width multiplier (at least 1).
func widthOf(base int, w float64) int {
	k := int(math.Round(float64(base) * w))
	if k < 1 {
		k = 1
	}
	return k
}

func convOut(size, k, stride, pad int) int { return (size+2*pad-k)/stride + 1 }

// shortcutFor chooses the shortcut of a block whose shape changes or not.
func shortcutFor(residual bool, option string, change bool) ShortcutKind {
	switch {
	case !residual:
		return ShortcutNone
	case option == "C":
		return ShortcutProjection
	case !change:
		return ShortcutIdentity
	case option == "A":
		return ShortcutZeroPad
	default:
		return ShortcutProjection
	}
}

func defineCIFAR(d *Def, n int) error {
	w := d.Config.Width
	size := d.Config.Input
	c := widthOf(16, w)
	d.Stem = StemDef{N: 1, C: 3, H: size, W: size, K: c, R: 3, Stride: 1, Pad: 1}
	for s, base := range []int{16, 32, 64} {
		k := widthOf(base, w)
		st := StageDef{Name: fmt.Sprintf("stage%d", s+1), Layer: fmt.Sprintf("layer%d", s+1)}
		for b := 0; b < n; b++ {
			stride := 1
			if s > 0 && b == 0 {
				stride = 2
			}
			out := convOut(size, 3, stride, 1)
			change := stride != 1 || c != k
			st.Blocks = append(st.Blocks, BlockDef{
				Name: fmt.Sprintf("%s.%d", st.Layer, b), N: 1, C: c, H: size, W: size,
				Branch: []ConvBN{
					{Conv: "conv1", BN: "bn1", K: k, R: 3, Stride: stride, Pad: 1},
					{Conv: "conv2", BN: "bn2", K: k, R: 3, Stride: 1, Pad: 1},
				},
				Shortcut: shortcutFor(d.Residual, d.Config.Shortcut, change), ShortcutStride: stride,
			})
			c, size = k, out
		}
		d.Stages = append(d.Stages, st)
	}
	if size < 1 {
		return fmt.Errorf("model %s: input %d is too small", d.Config.Model, d.Config.Input)
	}
	return nil
}

func defineImageNet(d *Def, depth int) error {
	cfg := d.Config
	w := cfg.Width
	size := cfg.Input
	c := widthOf(64, w)
	if cfg.CIFARStem {
		d.Stem = StemDef{N: 1, C: 3, H: size, W: size, K: c, R: 3, Stride: 1, Pad: 1}
	} else {
		d.Stem = StemDef{N: 1, C: 3, H: size, W: size, K: c, R: 7, Stride: 2, Pad: 3, Pool: true}
		size = convOut(size, 7, 2, 3)
		size = convOut(size, 3, 2, 1)
	}
	if size < 1 {
		return fmt.Errorf("model %s: input %d is too small", cfg.Model, cfg.Input)
	}
	bottleneck := depth >= 50
	for s, blocks := range imagenetBlocks[depth] {
		base := 64 << s
		mid := widthOf(base, w)
		k := mid
		if bottleneck {
			k = widthOf(4*base, w)
		}
		st := StageDef{Name: fmt.Sprintf("conv%d_x", s+2), Layer: fmt.Sprintf("layer%d", s+1)}
		for b := 0; b < blocks; b++ {
			stride := 1
			if s > 0 && b == 0 {
				stride = 2 // "Downsampling is performed by conv3_1, conv4_1, and conv5_1" (Table 1)
			}
			var branch []ConvBN
			if bottleneck {
				s1, s3 := stride, 1
				if cfg.Stride3x3 {
					s1, s3 = 1, stride
				}
				branch = []ConvBN{
					{Conv: "conv1", BN: "bn1", K: mid, R: 1, Stride: s1, Pad: 0},
					{Conv: "conv2", BN: "bn2", K: mid, R: 3, Stride: s3, Pad: 1},
					{Conv: "conv3", BN: "bn3", K: k, R: 1, Stride: 1, Pad: 0},
				}
			} else {
				branch = []ConvBN{
					{Conv: "conv1", BN: "bn1", K: k, R: 3, Stride: stride, Pad: 1},
					{Conv: "conv2", BN: "bn2", K: k, R: 3, Stride: 1, Pad: 1},
				}
			}
			out := convOut(size, 3, stride, 1)
			change := stride != 1 || c != k
			st.Blocks = append(st.Blocks, BlockDef{
				Name: fmt.Sprintf("%s.%d", st.Layer, b), N: 1, C: c, H: size, W: size,
				Branch: branch, Shortcut: shortcutFor(d.Residual, cfg.Shortcut, change), ShortcutStride: stride,
			})
			c, size = k, out
		}
		d.Stages = append(d.Stages, st)
	}
	return nil
}

var vggLayers = map[int][]int{
	16: {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0},
	19: {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0},
}

func defineVGG(cfg Config, depth int) (*Def, error) {
	if err := modelname.CheckImageNet(cfg.Model, modelname.VGG, depth); err != nil {
		return nil, err
	}
	layers := vggLayers[depth]
	if cfg.Family != "" && cfg.Family != VGG {
		return nil, fmt.Errorf("model %s belongs to the vgg family, not %q", cfg.Model, cfg.Family)
	}
	cfg.Family, cfg.Shortcut = VGG, ""
	if cfg.Classes == 0 {
		cfg.Classes = 1000
	}
	if cfg.Input == 0 {
		cfg.Input = 224
	}
	if err := checkClassesInput(cfg); err != nil {
		return nil, err
	}
	if cfg.Input < 32 {
		return nil, fmt.Errorf("model %s: input %d is smaller than VGG's five 2x2 poolings allow", cfg.Model, cfg.Input)
	}
	d := &Def{Config: cfg, Classes: cfg.Classes}
	for _, l := range layers {
		if l == 0 {
			d.VGGLayers = append(d.VGGLayers, 0)
		} else {
			d.VGGLayers = append(d.VGGLayers, widthOf(l, cfg.Width))
		}
	}
	return d, nil
}
