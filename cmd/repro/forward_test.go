package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/resnet-repro/resnet-repro/engine/tensor"
)

// torchrefDir is one PyTorch fixture (netbuild/testdata/torchref, made by
// tools/torchref/make_fixtures.py): resnet-34 layout, option A, width 0.04
// (odd filter counts 3/5/10/20), CIFAR stem on 32x32, 10 classes, batch 2.
const torchrefDir = "../../netbuild/testdata/torchref/resnet34-A-cifarstem"

// `repro forward` end to end: the .npy logits and the safetensors
// gradients it writes match PyTorch's in eval and train mode. The command
// runs our float32 engine, so the tolerance is models' float32 rule (see
// netbuild/torchref_test.go): 10x PyTorch's own float32-vs-float64 error for
// the same case and mode, at least 3e-5; measured ours/torch ratio on this
// case is below 2. Metric per tensor: max|ours - torch| / max|torch|.
func TestForwardMatchesPyTorch(t *testing.T) {
	fix := func(name string) string { return filepath.Join(torchrefDir, name) }
	raw, err := os.ReadFile(fix("case.json"))
	if err != nil {
		t.Fatalf("%v (fixtures come from tools/torchref/make_fixtures.py)", err)
	}
	var meta struct {
		TorchF32 map[string]struct {
			Logits float64 `json:"logits"`
			Grads  float64 `json:"grads"`
		} `json:"torch_f32_vs_f64"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"eval", "train"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			logitsPath, gradsPath := filepath.Join(dir, "logits.npy"), filepath.Join(dir, "grads.safetensors")
			var out, errOut bytes.Buffer
			code := run([]string{"repro", "forward", "--model", "resnet-34", "--shortcut", "A", "--cifar-stem",
				"--width", "0.04", "--classes", "10",
				"--weights", fix("weights.safetensors"), "--input", fix("x.npy"), "--mode", mode,
				"--output", logitsPath, "--labels", fix("y.npy"), "--grads", gradsPath, "--threads", "2"}, &out, &errOut)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if !strings.Contains(out.String(), mode+" mode") {
				t.Errorf("output %q does not name the mode", out.String())
			}
			ys := meta.TorchF32[mode]
			logTol, gradTol := math.Max(3e-5, 10*ys.Logits), math.Max(3e-5, 10*ys.Grads)

			got, err := tensor.ReadNpyFloat32(logitsPath)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tensor.ReadNpyFloat32(fix("logits_" + mode + ".npy"))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Shape.Equal(want.Shape) {
				t.Fatalf("logits shape %v, PyTorch %v", got.Shape, want.Shape)
			}
			if e := tensor.MaxRelDiff(got.Data, want.Data); e > logTol {
				t.Errorf("logits differ from PyTorch by %.3g (tolerance %.3g)", e, logTol)
			}

			grads, gmeta, err := tensor.ReadSafetensors(gradsPath)
			if err != nil {
				t.Fatal(err)
			}
			ref, rmeta, err := tensor.ReadSafetensors(fix("grads_" + mode + ".safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if len(grads) != len(ref) {
				t.Errorf("%d gradients written, PyTorch has %d", len(grads), len(ref))
			}
			worst := 0.0
			for name, r := range ref {
				g, ok := grads[name]
				if !ok {
					t.Errorf("no gradient %q written", name)
					continue
				}
				if !g.Shape.Equal(r.Shape) {
					t.Errorf("%s: shape %v, PyTorch %v", name, g.Shape, r.Shape)
					continue
				}
				e := tensor.MaxRelDiff(g.Data, r.Data)
				if e > gradTol {
					t.Errorf("gradient of %s differs from PyTorch by %.3g (tolerance %.3g)", name, e, gradTol)
				}
				worst = math.Max(worst, e)
			}
			loss, err1 := strconv.ParseFloat(gmeta["loss"], 64)
			refLoss, err2 := strconv.ParseFloat(rmeta["loss"], 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("loss metadata %q (ours), %q (PyTorch)", gmeta["loss"], rmeta["loss"])
			}
			if e := math.Abs(loss-refLoss) / refLoss; e > logTol {
				t.Errorf("loss %v, PyTorch %v", loss, refLoss)
			}
			t.Logf("logits and %d gradients written by repro forward; worst gradient %.2g (tolerance %.2g)", len(grads), worst, gradTol)
		})
	}
}
