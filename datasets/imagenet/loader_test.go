package imagenet

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// smallConfig is the default geometry scaled to 32-pixel crops, so the
// fixture images (50-90 pixels a side) are resized both ways: training
// shorter sides [37, 69], test side 37.
func smallConfig() Config { return DefaultConfig().Scaled(32) }

type snapshot struct {
	iter, epoch   int
	labels, index []int
	x             []float32
}

func take(t *testing.T, l *Loader, n int) []snapshot {
	t.Helper()
	var out []snapshot
	for i := 0; i < n; i++ {
		b, err := l.Next()
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		out = append(out, snapshot{b.Iter, b.Epoch, slices.Clone(b.Labels), slices.Clone(b.Index), slices.Clone(b.X.Data)})
	}
	return out
}

// TestTrainResume: the batches of a run restarted at iteration k (with a
// different worker count and prefetch depth) equal those of an
// uninterrupted run, bit for bit; batches follow TrainBatch; every epoch
// visits every image once; another seed gives other batches.
func TestTrainResume(t *testing.T) {
	ds, err := Open(fixtureTree(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	const batch, iters = 5, 10 // 12 images: batches straddle epochs 0-4
	cfg := LoaderConfig{Mode: ModeTrain, Batch: batch, Workers: 2, Seed: 99, Transform: smallConfig()}
	l, err := NewLoader(ds.Train, cfg)
	if err != nil {
		t.Fatal(err)
	}
	full := take(t, l, iters)
	l.Close()
	if _, err := l.Next(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}

	for _, k := range []int{1, 6, 9} {
		rc := cfg
		rc.Start, rc.Workers, rc.Prefetch = k, 3, 1
		l2, err := NewLoader(ds.Train, rc)
		if err != nil {
			t.Fatal(err)
		}
		resumed := take(t, l2, iters-k)
		l2.Close()
		for i, s := range resumed {
			f := full[k+i]
			if s.iter != f.iter || s.epoch != f.epoch || !slices.Equal(s.index, f.index) || !slices.Equal(s.labels, f.labels) || !slices.Equal(s.x, f.x) {
				t.Fatalf("restart at %d: batch %d differs from the uninterrupted run", k, k+i)
			}
		}
	}

	var seq []int
	for it, s := range full {
		idx, epochs := TrainBatch(ds.Train.Len(), batch, 99, it)
		if !slices.Equal(idx, s.index) || epochs[0] != s.epoch || s.iter != it {
			t.Fatalf("iteration %d: loader %v (epoch %d), TrainBatch %v (epoch %d)", it, s.index, s.epoch, idx, epochs[0])
		}
		for b, i := range s.index {
			if s.labels[b] != ds.Train.Items[i].Label {
				t.Fatalf("iteration %d slot %d: label %d, item %d has %d", it, b, s.labels[b], i, ds.Train.Items[i].Label)
			}
		}
		seq = append(seq, s.index...)
	}
	for e := 0; e+12 <= len(seq); e += 12 {
		ep := slices.Clone(seq[e : e+12])
		slices.Sort(ep)
		for i, v := range ep {
			if v != i {
				t.Fatalf("epoch %d does not visit each image once: %v", e/12, seq[e:e+12])
			}
		}
	}
	if slices.Equal(seq[:12], seq[12:24]) {
		t.Fatal("epochs 0 and 1 have the same order")
	}

	other := cfg
	other.Seed = 100
	l3, err := NewLoader(ds.Train, other)
	if err != nil {
		t.Fatal(err)
	}
	defer l3.Close()
	if o := take(t, l3, 1)[0]; slices.Equal(o.x, full[0].x) {
		t.Fatal("seeds 99 and 100 gave the same first batch")
	}
}

// TestEvalTenCropSample runs 10-crop testing over the shared sample: 104
// images in batches of 16 are 7 batches (the last of 8), shapes (16·10, 3,
// 224, 224), split order, then io.EOF; a loader batch equals the
// Transformer applied directly.
func TestEvalTenCropSample(t *testing.T) {
	ds, err := Open(requireSample(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	l, err := NewLoader(ds.Val, LoaderConfig{Mode: ModeTenCrop, Batch: 16, Transform: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Iterations() != 7 {
		t.Fatalf("Iterations = %d, want 7", l.Iterations())
	}
	dec := NewDecoder()
	defer dec.Close()
	tr, _ := NewTransformer(cfg)
	want := make([]float32, 10*3*224*224)
	next := 0
	for it := 0; ; it++ {
		b, err := l.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n := min(16, 104-16*it)
		if b.Iter != it || b.Images() != n || b.Views != 10 || !b.X.Shape.Equal([]int{10 * n, 3, 224, 224}) || len(b.X.Data) != 10*n*3*224*224 {
			t.Fatalf("batch %d: iter %d, %d images, views %d, shape %v", it, b.Iter, b.Images(), b.Views, b.X.Shape)
		}
		for i, idx := range b.Index {
			if idx != next || b.Labels[i] != ds.Val.Items[idx].Label {
				t.Fatalf("batch %d slot %d: index %d label %d, want %d", it, i, idx, b.Labels[i], next)
			}
			next++
		}
		if it == 3 { // a middle batch, its image 5
			img, err := dec.DecodeFile(ds.Val.Items[b.Index[5]].Path, cfg.TestScale)
			if err != nil {
				t.Fatal(err)
			}
			tr.TenCrop(want, img)
			if !slices.Equal(want, b.X.Data[5*len(want):6*len(want)]) {
				t.Fatal("loader's 10 crops differ from Transformer.TenCrop")
			}
		}
	}
	if next != 104 {
		t.Fatalf("pass covered %d images, want 104", next)
	}
	if _, err := l.Next(); err != io.EOF {
		t.Fatalf("Next after the pass: %v, want io.EOF", err)
	}
}

func TestMultiScale(t *testing.T) {
	ds, err := Open(fixtureTree(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := smallConfig()
	l, err := NewLoader(ds.Train, LoaderConfig{Mode: ModeMultiScale, Batch: 7, Transform: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Iterations() != 12 {
		t.Fatalf("Iterations = %d, want one image a batch (12)", l.Iterations())
	}
	dec := NewDecoder()
	defer dec.Close()
	for it := 0; it < 12; it++ {
		b, err := l.Next()
		if err != nil {
			t.Fatal(err)
		}
		if b.X != nil || b.Images() != 1 || len(b.Scales) != len(cfg.MultiScales) {
			t.Fatalf("batch %d: X %v, %d images, %d scales", it, b.X, b.Images(), len(b.Scales))
		}
		img, err := dec.DecodeFile(ds.Train.Items[it].Path, 0)
		if err != nil {
			t.Fatal(err)
		}
		for s, side := range cfg.MultiScales {
			w, h := ResizedSize(img.SrcW, img.SrcH, side)
			if x := b.Scales[s]; !x.Shape.Equal([]int{1, 3, h, w}) || len(x.Data) != 3*h*w {
				t.Fatalf("image %d scale %d: shape %v, want 1x3x%dx%d", it, side, x.Shape, h, w)
			}
		}
	}
	if _, err := l.Next(); err != io.EOF {
		t.Fatalf("after 12 images: %v, want io.EOF", err)
	}
}

// TestLoaderBadJPEG: a truncated JPEG in the second batch gives an error
// naming it, no batch, and the same error from then on.
func TestLoaderBadJPEG(t *testing.T) {
	root := fixtureTree(t)
	ds, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bad := ds.Train.Items[5].Path
	data, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []Mode{ModeCenter, ModeTrain} {
		t.Run(mode.String(), func(t *testing.T) {
			l, err := NewLoader(ds.Train, LoaderConfig{Mode: mode, Batch: 4, Workers: 2, Transform: smallConfig()})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if mode == ModeCenter {
				if _, err := l.Next(); err != nil {
					t.Fatalf("batch 0 (good images): %v", err)
				}
			}
			var b *Batch
			for i := 0; i < 10 && err == nil; i++ { // training: the bad file comes within 3 iterations
				b, err = l.Next()
			}
			if err == nil || b != nil || !strings.Contains(err.Error(), filepath.Base(bad)) {
				t.Fatalf("got batch %v, error %v; want no batch and an error naming %s", b, err, bad)
			}
			if b2, err2 := l.Next(); b2 != nil || err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("after the error: batch %v, error %v", b2, err2)
			}
		})
	}
}

func TestComputeMean(t *testing.T) {
	// A split of one flat-colour PNG: its mean image is that colour
	// everywhere (PNG is lossless; tolerance float32 rounding).
	root := t.TempDir()
	img := gradientRGB(50, 40)
	for i := range img.Pix {
		img.Pix[i] = []byte{90, 150, 210, 255}[i%4]
	}
	writeFile(t, root, "train/n01440764/a.JPEG", encodePNG(t, img))
	ds, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := smallConfig()
	mean, ch, err := ComputeMean(ds.Train, cfg, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(mean) != 3*32*32 {
		t.Fatalf("mean image has %d values", len(mean))
	}
	for i, v := range mean {
		if want := []float32{90, 150, 210}[i/(32*32)]; v < want-1e-3 || v > want+1e-3 {
			t.Fatalf("mean[%d] = %g, want %g", i, v, want)
		}
	}
	if ch[0] < 89.99 || ch[0] > 90.01 || ch[2] < 209.99 || ch[2] > 210.01 {
		t.Fatalf("channel means %v", ch)
	}
}

func BenchmarkLoaderTrainSample(b *testing.B) {
	ds, err := Open(requireSample(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, crop := range []int{224, 112, 64} {
		b.Run(fmt.Sprintf("crop=%d", crop), func(b *testing.B) {
			cfg := LoaderConfig{Mode: ModeTrain, Batch: 32, Transform: DefaultConfig().Scaled(crop)}
			l, err := NewLoader(ds.Val, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := l.Next(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(32*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
