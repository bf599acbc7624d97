package reproduce

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/results"
)

// sharedImageNetSample is the real ImageNet validation sample beside the
// repository (one JPEG per class in val/<wnid>/).
const sharedImageNetSample = "../../shared/datasets/imagenet-sample"

// A tiny ImageNet training: ResNet-18 at width 1/8 on 224 crops, 2
// iterations of batch 4, evaluated (center, then 10-crop and multi-scale at
// the end, imagenet-paper's final views) on 8 images.
const tinyImageNetSpec = `id: tinyinet
artifact: Test
title: ImageNet eval test
kind: train
source: eval_imagenet_test.go
dataset: imagenet
recipe: imagenet-paper
protocol: 10-crop
runs:
  - {name: resnet-18, model: resnet-18, shortcut: B}
scales:
  quick: {width: 0.125, batch: 4, iterations: 2, eval_interval: 2, eval_subset: 8, train_subset: 8}
`

// imagenetTree lays out the first n classes of the shared sample as an
// ILSVRC folder whose train/ and val/ both hold their one image (links).
func imagenetTree(t *testing.T, n int) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join(sharedImageNetSample, "val"))
	if err != nil {
		t.Fatal(err)
	}
	wnids, err := os.ReadDir(src)
	if err != nil {
		t.Fatalf("the shared ImageNet sample is missing at %s: %v", src, err)
	}
	root := t.TempDir()
	for _, w := range wnids[:n] {
		files, err := os.ReadDir(filepath.Join(src, w.Name()))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %v", w.Name(), err)
		}
		for _, split := range []string{"train", "val"} {
			dir := filepath.Join(root, split, w.Name())
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(src, w.Name(), files[0].Name()), filepath.Join(dir, files[0].Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

// Weights evaluated on an ImageNet folder with our runs' input (per-pixel
// mean) and views reproduce, bit for bit, what the run that trained them
// recorded: the center view's top-1, top-5 and loss, 10-crop's and
// multi-scale's top-1 and top-5. Unknown
// views and normalizations, and per-pixel without train/, are errors.
func TestEvaluateImageNetWeights(t *testing.T) {
	requireData(t)
	tree := imagenetTree(t, 8)
	spec := filepath.Join(t.TempDir(), "tinyinet.yaml")
	if err := os.WriteFile(spec, []byte(tinyImageNetSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, t.TempDir())
	env.ImageNetDir = tree
	opts := RunOptions{Resolve: experiments.Options{Scale: experiments.ScaleQuick, ImageNet: true}}
	if sum, err := env.RunSpecs(context.Background(), []string{spec}, opts); err != nil || sum.Trained != 1 {
		t.Fatalf("training: %+v %v", sum, err)
	}
	planned, err := Plan([]string{spec}, opts)
	if err != nil || len(planned) != 1 {
		t.Fatal(planned, err)
	}
	def, err := DefineRun(planned[0].Config)
	if err != nil {
		t.Fatal(err)
	}
	ck, ok, err := env.DB.LatestCheckpoint(planned[0].ID)
	if err != nil || !ok {
		t.Fatalf("checkpoint: %v %v", ok, err)
	}
	req := EvalRequest{Def: def, Weights: ck.Path, Batch: 4, ImageNet: true, // every view
		Normalize: NormalizePerPixel, Limit: 8}
	res, err := env.Evaluate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := env.DB.Metrics(planned[0].ID, results.MetricFilter{Split: results.SplitVal, From: 2, To: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	for _, m := range recorded {
		want[m.Name] = m.Value
	}
	if res.Images != 8 || len(res.Metrics) != 7 {
		t.Fatalf("%d images, metrics %+v: want 8 images, center loss/error/top5, 10-crop and multi-scale error/top5", res.Images, res.Metrics)
	}
	for _, m := range res.Metrics {
		w, ok := want[m.Name]
		if !ok || m.Value != w {
			t.Errorf("%s = %v, the run recorded %v (%v)", m.Name, m.Value, w, ok)
		}
	}

	// Torchvision's normalization scales the input by 1/58 or so: other logits, other loss.
	req.Normalize, req.Views = "", []string{ViewCenter}
	tv, err := env.Evaluate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if tv.Metrics[0].Name != results.MetricLoss || tv.Metrics[0].Value == want[results.MetricLoss] {
		t.Errorf("torchvision normalization gave loss %+v, the same as the per-pixel mean's %v", tv.Metrics[0], want[results.MetricLoss])
	}

	sample, err := filepath.Abs(sharedImageNetSample)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		views     []string
		normalize string
		root      string
		wantErr   string
	}{
		{"unknown view", []string{"5-crop"}, "", tree, `unknown view "5-crop"`},
		{"unknown normalization", nil, "zca", tree, `unknown normalization "zca"`},
		{"per-pixel without train", nil, NormalizePerPixel, sample, "needs the training images"},
	} {
		env.ImageNetDir = c.root
		_, err := env.Evaluate(context.Background(), EvalRequest{Def: def, Weights: ck.Path, ImageNet: true, Views: c.views, Normalize: c.normalize})
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.wantErr)
		}
	}
}
