package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/resnet-repro/resnet-repro/engine/kernels"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
)

// Network is a chain of modules ending in logits, planned for one batch
// size. Build it with NewNetwork after creating its modules on ctx.
type Network[F tensor.Float] struct {
	Ctx     *Context[F]
	Modules []Module[F]
	Classes int
	dlogits []F
	logits  []F
	params  []*Param[F]
	states  []*State[F]
}

// NewNetwork checks that the modules chain (each input shape matches the
// previous output size) and allocates the workspace.
func NewNetwork[F tensor.Float](ctx *Context[F], modules []Module[F], classes int) *Network[F] {
	for i := 1; i < len(modules); i++ {
		if modules[i].InShape().Size() != modules[i-1].OutShape().Size() {
			panic(fmt.Sprintf("nn: module %d takes %v but module %d gives %v", i, modules[i].InShape(), i-1, modules[i-1].OutShape()))
		}
	}
	out := modules[len(modules)-1].OutShape()
	if len(out) != 2 || out[1] != classes {
		panic(fmt.Sprintf("nn: last module gives %v, want (N, %d)", out, classes))
	}
	// A block whose input is the stem's or the previous block's output (both
	// end in a ReLU) applies that ReLU's mask in its own backward (fused with
	// the shortcut's add), and the previous block then skips its separate
	// ReLU backward pass: the same gradient, one pass fewer per block.
	for i := 1; i < len(modules); i++ {
		r, ok := modules[i].(*Residual[F])
		if !ok {
			continue
		}
		switch prev := modules[i-1].(type) {
		case *Stem[F]:
			r.maskInputGrad = true // harmless: the stem's fused BN+ReLU backward masks too
		case *Residual[F]:
			r.maskInputGrad = true
			prev.gradMasked = true
		}
	}
	ctx.WS.Allocate()
	n := &Network[F]{Ctx: ctx, Modules: modules, Classes: classes, dlogits: make([]F, out.Size())}
	seen := map[string]bool{}
	for _, m := range modules {
		for _, p := range m.Params() {
			if seen[p.Name] {
				panic("nn: duplicate parameter name " + p.Name)
			}
			seen[p.Name] = true
			n.params = append(n.params, p)
		}
		n.states = append(n.states, m.States()...)
	}
	return n
}

// Batch is the number of images the network was planned for.
func (n *Network[F]) Batch() int { return n.Modules[0].InShape()[0] }

// InShape is the input shape (N, C, H, W).
func (n *Network[F]) InShape() tensor.Shape { return n.Modules[0].InShape() }

// Params lists all trainable tensors in a fixed order (the order of
// initialization and of the optimizer).
func (n *Network[F]) Params() []*Param[F] { return n.params }

// States lists all non-trainable saved tensors (BN running statistics).
func (n *Network[F]) States() []*State[F] { return n.states }

// ParamCount is the number of trainable scalars.
func (n *Network[F]) ParamCount() int {
	c := 0
	for _, p := range n.params {
		c += len(p.Data)
	}
	return c
}

// Forward runs the chain on x (N, C, H, W), which must stay intact until
// Backward, and returns the logits (N, classes), valid until the next call.
func (n *Network[F]) Forward(x []F, training bool) []F {
	if len(x) != n.InShape().Size() {
		panic(fmt.Sprintf("nn: input has %d elements, network takes %v", len(x), n.InShape()))
	}
	for _, m := range n.Modules {
		x = m.Forward(x, training)
	}
	n.logits = x
	return x
}

// Loss computes the mean softmax cross-entropy of the last Forward's logits
// against labels and stores its gradient for Backward. It returns the loss
// and the number of top-1 errors.
func (n *Network[F]) Loss(labels []int) (loss float64, errors int) {
	return kernels.SoftmaxCrossEntropy(n.dlogits, n.logits, labels, n.Classes)
}

// Backward propagates the gradient stored by Loss (or set through
// DLogits) back through every module, overwriting every parameter's Grad.
func (n *Network[F]) Backward() {
	dy := n.dlogits
	for i := len(n.Modules) - 1; i >= 0; i-- {
		dy = n.Modules[i].Backward(dy)
	}
}

// DLogits is the buffer Backward starts from; Loss fills it, and tests may
// set it directly.
func (n *Network[F]) DLogits() []F { return n.dlogits }

// InitHe initializes the network as the paper does (Sec. 3.4, ref. [13]):
// conv and fc weights from N(0, 2/fan_in), biases 0, BN scale 1 and shift 0,
// running mean 0 and variance 1. Values are drawn in Params() order from a
// PCG generator seeded with seed, so a seed fixes the weights.
func (n *Network[F]) InitHe(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5265734e6574)) // "ResNet"
	for _, p := range n.params {
		switch p.Kind {
		case "conv", "linear":
			std := math.Sqrt(2 / float64(p.FanIn))
			for i := range p.Data {
				p.Data[i] = F(rng.NormFloat64() * std)
			}
		case "bn_weight":
			for i := range p.Data {
				p.Data[i] = 1
			}
		default:
			for i := range p.Data {
				p.Data[i] = 0
			}
		}
	}
	for _, s := range n.states {
		v := F(0)
		if len(s.Name) > len("running_var") && s.Name[len(s.Name)-len("running_var"):] == "running_var" {
			v = 1
		}
		for i := range s.Data {
			s.Data[i] = v
		}
	}
}

// CopyWeights copies every parameter and state of src into dst, converting
// the element type; both networks must come from the same definition.
func CopyWeights[D, S tensor.Float](dst *Network[D], src *Network[S]) {
	dp, sp := dst.Params(), src.Params()
	ds, ss := dst.States(), src.States()
	if len(dp) != len(sp) || len(ds) != len(ss) {
		panic("nn: CopyWeights between different networks")
	}
	for i := range dp {
		copyConvert(dp[i].Data, sp[i].Data, dp[i].Name, sp[i].Name)
	}
	for i := range ds {
		copyConvert(ds[i].Data, ss[i].Data, ds[i].Name, ss[i].Name)
	}
}

func copyConvert[D, S tensor.Float](dst []D, src []S, dn, sn string) {
	if dn != sn || len(dst) != len(src) {
		panic(fmt.Sprintf("nn: CopyWeights: %s (%d) vs %s (%d)", dn, len(dst), sn, len(src)))
	}
	for i, v := range src {
		dst[i] = D(v)
	}
}
