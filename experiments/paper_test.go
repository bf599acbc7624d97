package experiments

import (
	"fmt"
	"testing"
)

// paperNumbers is every paper number the built-in specs carry, transcribed
// independently from ../shared/reference/paper-targets.md; the key is
// "spec/row metric" (row: a run, ensemble or reference name). The test
// fails on a number that differs, on one missing from a spec, and on one a
// spec carries that is not listed here.
var paperNumbers = map[string]float64{
	// A.1 Table 1, FLOPs row (1.8/3.6/3.8/7.6/11.3 x10^9), Sec 3.3 (VGG-19
	// 19.6e9, plain-34 3.6e9), Sec 4.1 (VGG-16 15.3e9).
	"table1/resnet-18 flops": 1.8e9, "table1/resnet-34 flops": 3.6e9, "table1/resnet-50 flops": 3.8e9,
	"table1/resnet-101 flops": 7.6e9, "table1/resnet-152 flops": 11.3e9,
	"table1/plain-18 flops": 1.8e9, "table1/plain-34 flops": 3.6e9,
	"table1/vgg-16 flops": 15.3e9, "table1/vgg-19 flops": 19.6e9,
	// A.9 / A.1: Fig. 3 caption, VGG-19 19.6, plain-34 and ResNet-34 3.6 billion FLOPs.
	"fig3/vgg-19 flops": 19.6e9, "fig3/plain-34 flops": 3.6e9, "fig3/resnet-34 flops": 3.6e9,
	// A.2 Table 2 (top-1, 10-crop).
	"table2/plain-18 top1_error": 27.94, "table2/plain-34 top1_error": 28.54,
	"table2/resnet-18 top1_error": 27.88, "table2/resnet-34 top1_error": 25.03,
	// A.3 Table 3 (top-1, top-5, 10-crop).
	"table3/plain-34 top1_error": 28.54, "table3/plain-34 top5_error": 10.02,
	"table3/resnet-34-a top1_error": 25.03, "table3/resnet-34-a top5_error": 7.76,
	"table3/resnet-34-b top1_error": 24.52, "table3/resnet-34-b top5_error": 7.46,
	"table3/resnet-34-c top1_error": 24.19, "table3/resnet-34-c top5_error": 7.40,
	"table3/resnet-50 top1_error": 22.85, "table3/resnet-50 top5_error": 6.71,
	"table3/resnet-101 top1_error": 21.75, "table3/resnet-101 top5_error": 6.05,
	"table3/resnet-152 top1_error": 21.43, "table3/resnet-152 top5_error": 5.71,
	"table3/VGG-16 [41] top1_error": 28.07, "table3/VGG-16 [41] top5_error": 9.33,
	"table3/GoogLeNet [44] top5_error": 9.15,
	"table3/PReLU-net [13] top1_error": 24.27, "table3/PReLU-net [13] top5_error": 7.38,
	// A.4 Table 4 (single model, val).
	"table4/resnet-34-b top1_error": 21.84, "table4/resnet-34-b top5_error": 5.71,
	"table4/resnet-34-c top1_error": 21.53, "table4/resnet-34-c top5_error": 5.60,
	"table4/resnet-50 top1_error": 20.74, "table4/resnet-50 top5_error": 5.25,
	"table4/resnet-101 top1_error": 19.87, "table4/resnet-101 top5_error": 4.60,
	"table4/resnet-152 top1_error": 19.38, "table4/resnet-152 top5_error": 4.49,
	"table4/VGG [41] (ILSVRC'14) top5_error": 8.43, "table4/GoogLeNet [44] (ILSVRC'14) top5_error": 7.89,
	"table4/VGG [41] (v5) top1_error": 24.4, "table4/VGG [41] (v5) top5_error": 7.1,
	"table4/PReLU-net [13] top1_error": 21.59, "table4/PReLU-net [13] top5_error": 5.71,
	"table4/BN-inception [16] top1_error": 21.99, "table4/BN-inception [16] top5_error": 5.81,
	// A.5 Table 5 (ensembles, top-5 on test).
	"table5/resnet-ensemble top5_error":      3.57,
	"table5/VGG [41] (ILSVRC'14) top5_error": 7.32, "table5/GoogLeNet [44] (ILSVRC'14) top5_error": 6.66,
	"table5/VGG [41] (v5) top5_error": 6.8, "table5/PReLU-net [13] top5_error": 4.94,
	"table5/BN-inception [16] top5_error": 4.82,
	// A.6 Table 6 (CIFAR-10 test error, params 0.27M ... 19.4M).
	"table6/resnet-20 test_error": 8.75, "table6/resnet-20 params": 0.27e6,
	"table6/resnet-32 test_error": 7.51, "table6/resnet-32 params": 0.46e6,
	"table6/resnet-44 test_error": 7.17, "table6/resnet-44 params": 0.66e6,
	"table6/resnet-56 test_error": 6.97, "table6/resnet-56 params": 0.85e6,
	"table6/resnet-110 test_error_best": 6.43, "table6/resnet-110 test_error_mean": 6.61,
	"table6/resnet-110 test_error_std": 0.16, "table6/resnet-110 params": 1.7e6,
	"table6/resnet-1202 test_error": 7.93, "table6/resnet-1202 params": 19.4e6,
	"table6/Maxout [10] test_error": 9.38, "table6/NIN [25] test_error": 8.81, "table6/DSN [24] test_error": 8.22,
	"table6/FitNet [35] (19 layers) test_error": 8.39, "table6/FitNet [35] (19 layers) params": 2.5e6,
	"table6/Highway [42,43] (19 layers) test_error_best": 7.54, "table6/Highway [42,43] (19 layers) test_error_mean": 7.72,
	"table6/Highway [42,43] (19 layers) test_error_std": 0.16, "table6/Highway [42,43] (19 layers) params": 2.3e6,
	"table6/Highway [42,43] (32 layers) test_error": 8.80, "table6/Highway [42,43] (32 layers) params": 1.25e6,
	// B.4, akamaster/pytorch_resnet_cifar10's README table ("Test err (this impl.)").
	"table6/ResNet-20, akamaster/pytorch_resnet_cifar10 (PyTorch) test_error":  8.27,
	"table6/ResNet-32, akamaster/pytorch_resnet_cifar10 (PyTorch) test_error":  7.37,
	"table6/ResNet-44, akamaster/pytorch_resnet_cifar10 (PyTorch) test_error":  6.90,
	"table6/ResNet-56, akamaster/pytorch_resnet_cifar10 (PyTorch) test_error":  6.61,
	"table6/ResNet-110, akamaster/pytorch_resnet_cifar10 (PyTorch) test_error": 6.32,
	// A.6 again, for Fig. 6's ResNet curves (A.9).
	"fig6/resnet-20 test_error": 8.75, "fig6/resnet-32 test_error": 7.51, "fig6/resnet-44 test_error": 7.17,
	"fig6/resnet-56 test_error": 6.97, "fig6/resnet-110 test_error_mean": 6.61, "fig6/resnet-1202 test_error": 7.93,
}

func TestPaperNumbersMatchPaperTargets(t *testing.T) {
	specs, err := Builtin(nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	check := func(spec, row string, m map[string]float64) {
		for metric, got := range m {
			key := fmt.Sprintf("%s/%s %s", spec, row, metric)
			seen[key] = true
			want, ok := paperNumbers[key]
			switch {
			case !ok:
				t.Errorf("%s = %v is not in the cross-check table (add it with its paper-targets.md section)", key, got)
			case got != want:
				t.Errorf("%s = %v, paper-targets.md says %v", key, got, want)
			}
		}
	}
	for _, s := range specs {
		for _, r := range s.Runs {
			check(s.ID, r.Name, r.Paper)
		}
		for _, e := range s.Ensembles {
			check(s.ID, e.Name, e.Paper)
		}
		for _, r := range s.References {
			check(s.ID, r.Name, r.Paper)
		}
	}
	for key := range paperNumbers {
		if !seen[key] {
			t.Errorf("%s is missing from the specs", key)
		}
	}
}

// TestRecipesAreThePapers pins the recipe numbers to paper-targets.md A.10.
func TestRecipesAreThePapers(t *testing.T) {
	c, i := Recipes["cifar-paper"], Recipes["imagenet-paper"]
	cases := []struct {
		name      string
		got, want any
	}{
		// A.10 CIFAR-10.
		{"cifar batch", c.Batch, 128}, {"cifar iterations", c.Iterations, 64000},
		{"cifar steps", fmt.Sprint(c.Schedule.Steps), "[32000 48000]"},
		{"cifar lr", c.Schedule.BaseLR, 0.1}, {"cifar factor", c.Schedule.Factor, 0.1},
		{"cifar wd", c.WeightDecay, 0.0001}, {"cifar momentum", c.Momentum, 0.9},
		{"cifar split", c.Split, "45k/5k"}, {"cifar pad", c.Augment.PadCrop, 4}, {"cifar flip", c.Augment.Flip, true},
		{"cifar warm-up lr", c.Schedule.Warmup.LR, 0.01}, {"cifar warm-up until", c.Schedule.Warmup.UntilTrainErrorBelow, 80.0},
		{"cifar warm-up depth", c.Schedule.Warmup.MinDepth, 110},
		{"cifar test view", fmt.Sprint(c.Eval.FinalViews), "[single]"},
		// A.10 ImageNet.
		{"imagenet batch", i.Batch, 256}, {"imagenet iterations", i.Iterations, 600000},
		{"imagenet lr", i.Schedule.BaseLR, 0.1}, {"imagenet factor", i.Schedule.Factor, 0.1},
		{"imagenet plateau", i.Schedule.Plateau != nil && len(i.Schedule.Steps) == 0, true},
		{"imagenet wd", i.WeightDecay, 0.0001}, {"imagenet momentum", i.Momentum, 0.9},
		{"imagenet scale aug", fmt.Sprint(i.Augment.ScaleShorter), "[256 480]"}, {"imagenet crop", i.Augment.Crop, 224},
		{"imagenet color", i.Augment.Color, "alexnet-pca"},
		{"imagenet views", fmt.Sprint(i.Eval.FinalViews), "[center 10-crop multi-scale]"},
		{"imagenet scales", fmt.Sprint(i.Eval.MultiScales), "[224 256 384 480 640]"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}
