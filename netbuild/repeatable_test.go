package netbuild

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/resnet-repro/resnet-repro/engine/backend/cpu"
	"github.com/resnet-repro/resnet-repro/engine/nn"
	"github.com/resnet-repro/resnet-repro/engine/optim"
	"github.com/resnet-repro/resnet-repro/models"
)

// TestFastTrainingStepsAreRepeatable: at the training batch (128), the
// default fast engine (our Winograd stage 1 and batch norms, oneDNN for the
// rest) overwrites every gradient on each backward pass, so that a second
// forward+backward on the same batch and weights gives bit-identical
// gradients, step after step of SGD (a kernel that accumulated into its
// output, or kept state from the previous step, would fail). The fast path's
// agreement with the reference is netbuild/fastpath_test.go's.
func TestFastTrainingStepsAreRepeatable(t *testing.T) {
	fast, err := cpu.New(2)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	d, err := models.Define(models.Config{Model: "resnet-20"})
	if err != nil {
		t.Fatal(err)
	}
	const batch = 128 // cifar-paper's, where the size rules pick the training kernels
	net, err := Build(nn.NewContext[float32](fast), d, batch)
	if err != nil {
		t.Fatal(err)
	}
	net.InitHe(7)
	opt := optim.NewSGD(net.Params(), 0.9, 1e-4)
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, net.InShape().Size())
	labels := make([]int, batch)
	for step := range 3 {
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 0.25)
		}
		for i := range labels {
			labels[i] = rng.IntN(10)
		}
		var first [][]float32
		for pass := range 2 {
			net.Forward(x, true)
			net.Loss(labels)
			net.Backward()
			for i, p := range net.Params() {
				if pass == 0 {
					first = append(first, slices.Clone(p.Grad))
				} else if !slices.Equal(p.Grad, first[i]) {
					t.Errorf("step %d: %s differs on a second backward pass of the same batch", step, p.Name)
				}
			}
		}
		opt.Step(0.1)
	}
}
