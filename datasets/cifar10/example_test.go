package cifar10_test

import (
	"fmt"

	"github.com/resnet-repro/resnet-repro/datasets/cifar10"
)

// A training loop's use of the package (synthetic images stand in for
// cifar10.Load's Dataset.Train).
func Example() {
	const n = 1000
	images := make([]byte, n*cifar10.ImageSize)
	labels := make([]uint8, n)
	for i := range labels {
		labels[i] = uint8(i % cifar10.NumClasses)
		images[i*cifar10.ImageSize] = byte(i)
	}
	train, err := cifar10.NewSplit("synthetic", images, labels)
	if err != nil {
		panic(err)
	}
	mean := cifar10.MeanImage(train) // the training split actually used

	loader, err := cifar10.NewTrainLoader(train, cifar10.LoaderConfig{Batch: 128, Seed: 1, Augment: true, Mean: mean})
	if err != nil {
		panic(err)
	}
	resumeAt := 9 // e.g. the iteration stored in a checkpoint
	loader.Start(resumeAt)
	for it := resumeAt; it < 12; it++ {
		b := loader.Next()
		fmt.Println("iteration", b.Iteration, "epoch", b.Epoch, "x", b.X.Shape, "labels", len(b.Labels))
		loader.Release(b)
	}
	loader.Close()

	eval, err := cifar10.NewEvalLoader(train, cifar10.EvalConfig{Batch: 300, Mean: mean})
	if err != nil {
		panic(err)
	}
	for b, ok := eval.Next(); ok; b, ok = eval.Next() {
		fmt.Println("eval batch", b.Iteration, "x", b.X.Shape)
	}
	// Output:
	// iteration 9 epoch 1 x 128x3x32x32 labels 128
	// iteration 10 epoch 1 x 128x3x32x32 labels 128
	// iteration 11 epoch 1 x 128x3x32x32 labels 128
	// eval batch 0 x 300x3x32x32
	// eval batch 1 x 300x3x32x32
	// eval batch 2 x 300x3x32x32
	// eval batch 3 x 100x3x32x32
}
