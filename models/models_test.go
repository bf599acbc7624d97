package models

import (
	"math"
	"testing"
)

// The parameter counts of the widely used reference implementations
// (torchvision resnet18..152, option B, 1000 classes; also pycls
// dev/model_complexity.json for 50/101/152, paper-targets.md B.6), and
// Table 1's multiply-adds (paper-targets.md A.1) within 2%.
func TestImageNetCounts(t *testing.T) {
	cases := []struct {
		model     string
		params    int64
		paperMACs float64 // x1e9, Table 1
	}{
		{"resnet-18", 11689512, 1.8},
		{"resnet-34", 21797672, 3.6},
		{"resnet-50", 25557032, 3.8},
		{"resnet-101", 44549160, 7.6},
		{"resnet-152", 60192808, 11.3},
	}
	for _, c := range cases {
		l, err := Analyze(Config{Model: c.model})
		if err != nil {
			t.Fatal(err)
		}
		if l.Params != c.params {
			t.Errorf("%s: params %d, want %d", c.model, l.Params, c.params)
		}
		if rel := math.Abs(float64(l.MACs)/1e9-c.paperMACs) / c.paperMACs; rel > 0.02 {
			t.Errorf("%s: %.3f GMACs, Table 1 says %.1f (off by %.1f%%)", c.model, float64(l.MACs)/1e9, c.paperMACs, rel*100)
		}
	}
}

// VGG-19 has 19.6e9 multiply-adds (Sec. 3.3 and Fig. 3); VGG-16 15.3e9 (Sec. 4.1).
// Parameter counts are torchvision's vgg16/vgg19 (138,357,544 and 143,667,240).
func TestVGGCounts(t *testing.T) {
	for _, c := range []struct {
		model  string
		params int64
		gmacs  float64
		tol    float64
	}{
		{"vgg-19", 143667240, 19.6, 0.02},
		{"vgg-16", 138357544, 15.3, 0.02},
	} {
		l, err := Analyze(Config{Model: c.model})
		if err != nil {
			t.Fatal(err)
		}
		if l.Params != c.params {
			t.Errorf("%s: params %d, want %d", c.model, l.Params, c.params)
		}
		if rel := math.Abs(float64(l.MACs)/1e9-c.gmacs) / c.gmacs; rel > c.tol {
			t.Errorf("%s: %.3f GMACs, paper says %.1f", c.model, float64(l.MACs)/1e9, c.gmacs)
		}
	}
}

// Table 6's parameter counts for CIFAR ResNets with option A, as the paper
// rounds them (two significant digits, "M"). pycls's CIFAR ResNets
// (R-56 855,770; R-110 1,730,714; paper-targets.md A.6) use projection
// shortcuts at the two stage transitions, i.e. option B: 16*32+2*32 +
// 32*64+2*64 = 2,752 parameters more than option A, so they check option B.
func TestCIFARCounts(t *testing.T) {
	for _, c := range []struct {
		model string
		paper string
		exact int64 // 0 = no published exact count
	}{
		{"resnet-20", "0.27M", 0},
		{"resnet-32", "0.46M", 0},
		{"resnet-44", "0.66M", 0},
		{"resnet-56", "0.85M", 855770},
		{"resnet-110", "1.7M", 1730714},
		{"resnet-1202", "19.4M", 0},
	} {
		l, err := Analyze(Config{Model: c.model})
		if err != nil {
			t.Fatal(err)
		}
		if got := PaperRound(l.Params); got != c.paper {
			t.Errorf("%s: %d params rounds to %s, Table 6 says %s", c.model, l.Params, got, c.paper)
		}
		if c.exact == 0 {
			continue
		}
		b, err := Analyze(Config{Model: c.model, Shortcut: "B"})
		if err != nil {
			t.Fatal(err)
		}
		if b.Params != c.exact || b.Params-l.Params != 2752 {
			t.Errorf("%s option B: %d params (A %d), pycls says %d", c.model, b.Params, l.Params, c.exact)
		}
	}
}

// Table 1's layout for ResNet-50: output sizes 112, 56, 28, 14, 7 and block
// counts 3, 4, 6, 3.
func TestImageNetLayout(t *testing.T) {
	l, err := Analyze(Config{Model: "resnet-50"})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name, out string
		blocks    int
	}{{"conv1", "112x112", 1}, {"conv2_x", "56x56", 3}, {"conv3_x", "28x28", 4}, {"conv4_x", "14x14", 6}, {"conv5_x", "7x7", 3}, {"fc", "1x1", 1}}
	if len(l.Stages) != len(want) {
		t.Fatalf("%d stages, want %d", len(l.Stages), len(want))
	}
	for i, w := range want {
		s := l.Stages[i]
		if s.Name != w.name || s.Output != w.out || s.Blocks != w.blocks {
			t.Errorf("stage %d = %s %s x%d, want %s %s x%d", i, s.Name, s.Output, s.Blocks, w.name, w.out, w.blocks)
		}
	}
	if l.Stages[1].Block != "[1x1, 64; 3x3, 64; 1x1, 256]" {
		t.Errorf("conv2_x block %q", l.Stages[1].Block)
	}
}

// Option A adds no parameters; option C adds projections on every block:
// "thirteen" more projection shortcuts on ResNet-34 than option B... the
// paper's count (Sec. 4.1) is of all 16 blocks' projections minus the 3
// that B already has.
func TestShortcutOptions(t *testing.T) {
	a, _ := Analyze(Config{Model: "resnet-34", Shortcut: "A"})
	b, _ := Analyze(Config{Model: "resnet-34", Shortcut: "B"})
	c, _ := Analyze(Config{Model: "resnet-34", Shortcut: "C"})
	p, _ := Analyze(Config{Model: "plain-34"})
	if a.Params != p.Params {
		t.Errorf("option A adds parameters: %d vs plain %d", a.Params, p.Params)
	}
	if !(a.Params < b.Params && b.Params < c.Params) {
		t.Errorf("params A %d, B %d, C %d not increasing", a.Params, b.Params, c.Params)
	}
	d, err := Define(Config{Model: "resnet-34", Shortcut: "C"})
	if err != nil {
		t.Fatal(err)
	}
	projections := 0
	for _, s := range d.Stages {
		for _, blk := range s.Blocks {
			if blk.Shortcut == 3 { // nn.ShortcutProjection
				projections++
			}
		}
	}
	if projections != 16 { // 3+4+6+3 blocks, Table 1
		t.Errorf("option C has %d projections, want 16", projections)
	}
}

func TestDefineErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Model: "alexnet"}, "unknown model"},
		{Config{Model: "resnet-21"}, "6n+2"},
		{Config{Model: "resnet-20", Shortcut: "D"}, "unknown shortcut option"},
		{Config{Model: "resnet-20", Family: ImageNet}, "ImageNet resnet depths"},
		{Config{Model: "vgg-11"}, "ImageNet vgg depths"},
		{Config{Model: "resnet-x"}, "not a positive integer"},
	} {
		_, err := Define(c.cfg)
		if err == nil || !contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want it to mention %q", c.cfg, err, c.want)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
