package netbuild

import (
	"fmt"

	"github.com/resnet-repro/resnet-repro/engine/backend"
	"github.com/resnet-repro/resnet-repro/engine/nn"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
	"github.com/resnet-repro/resnet-repro/models"
)

// WriteError is a failure to write an output file, as opposed to a problem
// with the inputs (files, model, flags): callers tell the two apart with
// errors.As. Its message is the underlying error's.
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// ForwardConfig is one forward pass over a batch read from a file (`repro
// forward`): Input is an NCHW float32 .npy batch whose height (= width) is
// the model's input size; Weights a .safetensors file with PyTorch names;
// Output where the logits go (.npy, N x classes). Labels (integer .npy)
// and Grads go together: with them, the gradients of the mean
// cross-entropy over the batch are written to Grads (.safetensors, the
// loss in its metadata). Train uses batch statistics instead of BN running
// statistics. OpenBackend opens the compute backend once the input and the
// model have been checked (so their errors come first); Forward closes it.
type ForwardConfig struct {
	Input, Weights, Output string
	Labels, Grads          string
	Train                  bool
	OpenBackend            func() (backend.Backend, error)
}

// ForwardResult says what Forward computed: Images x Classes logits on
// Backend and, with labels, the mean cross-entropy Loss and the number of
// top-1 Errors.
type ForwardResult struct {
	Images, Classes int
	Backend         string
	Loss            float64
	Errors          int
}

// Forward runs the network of cfg (its input size taken from fc.Input) on
// the batch of fc.Input with the weights of fc.Weights and writes the
// logits and, with labels, the parameter gradients. A failure to write is
// a *WriteError; every other error is about the inputs.
func Forward(cfg models.Config, fc ForwardConfig) (ForwardResult, error) {
	x, err := readBatch(fc.Input)
	if err != nil {
		return ForwardResult{}, err
	}
	cfg.Input = x.Shape[2]
	d, err := models.Define(cfg)
	if err != nil {
		return ForwardResult{}, err
	}
	be, err := fc.OpenBackend()
	if err != nil {
		return ForwardResult{}, err
	}
	defer be.Close()
	net, err := Build(nn.NewContext[float32](be), d, x.Shape[0])
	if err != nil {
		return ForwardResult{}, err
	}
	weights, _, err := tensor.ReadSafetensors(fc.Weights)
	if err != nil {
		return ForwardResult{}, err
	}
	if err := LoadTensors(net, weights, fc.Weights); err != nil {
		return ForwardResult{}, err
	}
	var labels []int
	if fc.Labels != "" {
		if labels, err = readLabels(fc.Labels, x.Shape[0], d.Classes); err != nil {
			return ForwardResult{}, err
		}
	}
	res := ForwardResult{Images: x.Shape[0], Classes: d.Classes, Backend: be.Name()}
	logits := net.Forward(x.Data, fc.Train)
	out := tensor.FromData(append([]float32(nil), logits...), x.Shape[0], d.Classes)
	if err := tensor.WriteNpy(fc.Output, out); err != nil {
		return ForwardResult{}, &WriteError{err}
	}
	if labels != nil {
		res.Loss, res.Errors = net.Loss(labels)
		net.Backward()
		if err := tensor.WriteSafetensors(fc.Grads, Gradients(net), map[string]string{"loss": fmt.Sprint(res.Loss)}); err != nil {
			return ForwardResult{}, &WriteError{err}
		}
	}
	return res, nil
}

// readBatch reads an NCHW float32 .npy batch of square RGB images, at
// least one image of at least one pixel.
func readBatch(path string) (*tensor.Tensor, error) {
	x, err := tensor.ReadNpyFloat32(path)
	if err != nil {
		return nil, err
	}
	if len(x.Shape) != 4 || x.Shape[1] != 3 || x.Shape[2] != x.Shape[3] {
		return nil, fmt.Errorf("forward: %s has shape %v, want (N, 3, H, H)", path, x.Shape)
	}
	if x.Shape[0] == 0 || x.Shape[2] == 0 {
		return nil, fmt.Errorf("forward: %s has shape %v and holds no pixels, want (N, 3, H, H) with N and H at least 1", path, x.Shape)
	}
	return x, nil
}

// readLabels reads n integer labels in [0, classes) from a .npy file.
func readLabels(path string, n, classes int) ([]int, error) {
	labels, err := tensor.ReadNpyLabels(path)
	if err != nil {
		return nil, err
	}
	if len(labels) != n {
		return nil, fmt.Errorf("forward: %s has %d labels for %d images", path, len(labels), n)
	}
	for i, l := range labels {
		if l < 0 || l >= classes {
			return nil, fmt.Errorf("forward: %s: label %d of image %d is outside [0, %d)", path, l, i, classes)
		}
	}
	return labels, nil
}
