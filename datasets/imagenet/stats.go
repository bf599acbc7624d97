package imagenet

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// ComputeMean computes the per-pixel mean image (3, Crop, Crop) of a split's
// center views (shorter side TestScale, as at test time) over at most
// maxImages images spread evenly over the split (all when maxImages <= 0),
// and its per-channel average. The result goes into Config.MeanImage and
// Config.Mean for the paper's per-pixel mean subtraction. Values are in the
// 0..255 scale; cfg's own Mean, MeanImage and Std are ignored.
func ComputeMean(split *Split, cfg Config, maxImages, workers int) (image []float32, channel [3]float32, err error) {
	if split == nil || split.Len() == 0 {
		return nil, channel, errors.New("imagenet: mean of an empty split")
	}
	sub := split
	if maxImages > 0 && maxImages < split.Len() {
		sub = &Split{Name: split.Name, Dir: split.Dir, Items: make([]Item, maxImages)}
		for i := range sub.Items {
			sub.Items[i] = split.Items[i*split.Len()/maxImages]
		}
	}
	cfg.Mean, cfg.MeanImage, cfg.Std = [3]float32{}, nil, [3]float32{1, 1, 1}
	l, err := NewLoader(sub, LoaderConfig{Mode: ModeCenter, Batch: 32, Workers: workers, Transform: cfg})
	if err != nil {
		return nil, channel, err
	}
	defer l.Close()
	view := 3 * cfg.Crop * cfg.Crop
	sum := make([]float64, view)
	for {
		b, err := l.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, channel, err
		}
		for i, v := range b.X.Data {
			sum[i%view] += float64(v)
		}
	}
	image = make([]float32, view)
	plane := cfg.Crop * cfg.Crop
	for i, s := range sum {
		m := s / float64(sub.Len())
		image[i] = float32(m)
		channel[i/plane] += float32(m / float64(plane))
	}
	return image, channel, nil
}

// BenchResult is the outcome of Bench.
type BenchResult struct {
	Images  int
	Seconds float64
	Decoder string
}

// PerSecond is the throughput in images per second.
func (r BenchResult) PerSecond() float64 { return float64(r.Images) / r.Seconds }

func (r BenchResult) String() string {
	return fmt.Sprintf("%d images in %.2fs: %.1f images/s (decoder %s)", r.Images, r.Seconds, r.PerSecond(), r.Decoder)
}

// Bench runs a loader for iters batches (fewer if an evaluation pass ends)
// and measures the images delivered per second of wall time, pipeline start
// included.
func Bench(split *Split, cfg LoaderConfig, iters int) (BenchResult, error) {
	res := BenchResult{Decoder: DecoderName}
	start := time.Now()
	l, err := NewLoader(split, cfg)
	if err != nil {
		return res, err
	}
	defer l.Close()
	for i := 0; i < iters; i++ {
		b, err := l.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, err
		}
		res.Images += b.Images()
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}
