package netbuild

import (
	"fmt"
	"sort"
	"strings"

	"github.com/resnet-repro/resnet-repro/engine/nn"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
	"github.com/resnet-repro/resnet-repro/models"
)

// Tensors lists a network's parameters and BN running statistics under
// their PyTorch state_dict names (conv1.weight, bn1.running_mean,
// layer1.0.downsample.0.weight, fc.bias, ...), in network order.
func Tensors(net *nn.Network[float32]) []tensor.NamedTensor {
	var out []tensor.NamedTensor
	for _, p := range net.Params() {
		out = append(out, tensor.NamedTensor{Name: p.Name, Tensor: &tensor.Tensor{Shape: p.Shape, Data: p.Data}})
	}
	for _, s := range net.States() {
		out = append(out, tensor.NamedTensor{Name: s.Name, Tensor: &tensor.Tensor{Shape: s.Shape, Data: s.Data}})
	}
	return out
}

// Gradients lists every parameter's gradient under the parameter's name.
func Gradients(net *nn.Network[float32]) []tensor.NamedTensor {
	var out []tensor.NamedTensor
	for _, p := range net.Params() {
		out = append(out, tensor.NamedTensor{Name: p.Name, Tensor: &tensor.Tensor{Shape: p.Shape, Data: p.Grad}})
	}
	return out
}

// ignoredKeys are state_dict entries PyTorch writes that carry no weights.
func ignoredKey(name string) bool { return strings.HasSuffix(name, ".num_batches_tracked") }

// LoadTensors copies named tensors into the network. Every parameter and
// state must be present with its exact shape; a missing tensor, a shape
// mismatch or an unexpected extra tensor is an error naming it (source
// names the file in messages).
func LoadTensors(net *nn.Network[float32], ts map[string]*tensor.Tensor, source string) error {
	used := map[string]bool{}
	load := func(name string, shape tensor.Shape, dst []float32) error {
		t, ok := ts[name]
		if !ok {
			return fmt.Errorf("%s: missing tensor %q (shape %v)", source, name, shape)
		}
		if !t.Shape.Equal(shape) {
			return fmt.Errorf("%s: tensor %q has shape %v, the model needs %v", source, name, t.Shape, shape)
		}
		copy(dst, t.Data)
		used[name] = true
		return nil
	}
	for _, p := range net.Params() {
		if err := load(p.Name, p.Shape, p.Data); err != nil {
			return err
		}
	}
	for _, s := range net.States() {
		if err := load(s.Name, s.Shape, s.Data); err != nil {
			return err
		}
	}
	var extra []string
	for name := range ts {
		if !used[name] && !ignoredKey(name) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("%s: %d tensors the model does not have, e.g. %q (wrong model or shortcut option?)", source, len(extra), extra[0])
	}
	return nil
}

// WriteInit writes the network of d, freshly He-initialized with seed
// (Network.InitHe), to path as safetensors with PyTorch state_dict names
// and a header describing it (`repro init`), and returns its parameter
// count. A failure to write is a *WriteError.
func WriteInit(path string, d *models.Def, seed uint64) (params int, err error) {
	net, err := Build(nn.NewContext[float32](nil), d, 1)
	if err != nil {
		return 0, err
	}
	net.InitHe(seed)
	if err := tensor.WriteSafetensors(path, Tensors(net), weightsMetadata(d, seed)); err != nil {
		return 0, &WriteError{err}
	}
	return net.ParamCount(), nil
}

// weightsMetadata describes the network in a safetensors header.
func weightsMetadata(d *models.Def, seed uint64) map[string]string {
	cfg := d.Config
	return map[string]string{
		"model": cfg.Model, "family": string(cfg.Family), "shortcut": cfg.Shortcut,
		"width": fmt.Sprint(cfg.Width), "classes": fmt.Sprint(cfg.Classes), "input": fmt.Sprint(cfg.Input),
		"seed": fmt.Sprint(seed), "format": "pt", "producer": "resnet-repro",
	}
}
