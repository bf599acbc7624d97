package cifar10

import (
	"fmt"
	"testing"
)

// BenchmarkTrainLoader measures the augmenting pipeline (Sec. 4.2 input,
// batch 128 as in the paper) on 10,000 synthetic images, in images/s, with
// 1 and 2 workers. The caller only takes and releases batches, so this is
// the pipeline's throughput, not the engine's.
func BenchmarkTrainLoader(b *testing.B) {
	s := synthSplit(b, 10000)
	mean := MeanImage(s)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("batch128/workers%d", workers), func(b *testing.B) {
			l, err := NewTrainLoader(s, LoaderConfig{Batch: 128, Seed: 1, Augment: true, Mean: mean, Workers: workers})
			if err != nil {
				b.Fatal(err)
			}
			l.Start(0)
			defer l.Close()
			l.Release(l.Next())
			b.ResetTimer()
			for range b.N {
				l.Release(l.Next())
			}
			b.ReportMetric(float64(128*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkAugment is one image's pad-crop-flip with mean subtraction,
// beside plain mean subtraction (the test-time input).
func BenchmarkAugment(b *testing.B) {
	s := synthSplit(b, 1)
	mean := MeanImage(s)
	dst := make([]float32, ImageSize)
	b.Run("augment", func(b *testing.B) {
		for i := range b.N {
			augment(dst, s.Image(0), mean, i%9, (i/9)%9, i%2 == 0)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
	b.Run("normalize", func(b *testing.B) {
		for range b.N {
			normalize(dst, s.Image(0), mean)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
}
