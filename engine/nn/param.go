package nn

import (
	"fmt"

	"github.com/resnet-repro/resnet-repro/engine/tensor"
)

// Param is a trainable tensor and its gradient. Name follows PyTorch's
// state_dict naming (e.g. "layer1.0.conv1.weight"), which is also the
// safetensors key.
type Param[F tensor.Float] struct {
	Name  string
	Shape tensor.Shape
	Data  []F
	Grad  []F
	// FanIn is the number of inputs of one output unit (C*R*S for a conv,
	// In for a linear layer), used by He initialization; 0 for BN and biases.
	FanIn int
	// Kind says what the tensor is: "conv", "linear", "bn_weight", "bn_bias" or "bias".
	Kind string
}

func newParam[F tensor.Float](name, kind string, fanIn int, shape ...int) *Param[F] {
	s := tensor.Shape(shape).Clone()
	return &Param[F]{Name: name, Kind: kind, FanIn: fanIn, Shape: s, Data: make([]F, s.Size()), Grad: make([]F, s.Size())}
}

// State is a non-trainable tensor saved with the weights (BN running mean
// and variance).
type State[F tensor.Float] struct {
	Name  string
	Shape tensor.Shape
	Data  []F
}

// Workspace holds transient buffers shared by all modules of a network.
// Modules ask for a named slot with the size they need at build time;
// Allocate then gives each slot one buffer of its largest requested size.
type Workspace[F tensor.Float] struct {
	slots     map[string]*Slot[F]
	order     []string
	allocated bool
}

// Slot is one shared transient buffer.
type Slot[F tensor.Float] struct {
	name string
	max  int
	buf  []F
}

// NewWorkspace returns an empty workspace.
func NewWorkspace[F tensor.Float]() *Workspace[F] {
	return &Workspace[F]{slots: map[string]*Slot[F]{}}
}

// Slot registers a need for n elements under name and returns the slot.
func (w *Workspace[F]) Slot(name string, n int) *Slot[F] {
	if w.allocated {
		panic("nn: workspace slot requested after Allocate")
	}
	s, ok := w.slots[name]
	if !ok {
		s = &Slot[F]{name: name}
		w.slots[name] = s
		w.order = append(w.order, name)
	}
	if n > s.max {
		s.max = n
	}
	return s
}

// Allocate gives every slot its buffer. Called once by Build.
func (w *Workspace[F]) Allocate() {
	for _, name := range w.order {
		s := w.slots[name]
		s.buf = make([]F, s.max)
	}
	w.allocated = true
}

// Elements is the total number of elements held by the workspace.
func (w *Workspace[F]) Elements() int {
	n := 0
	for _, s := range w.slots {
		n += s.max
	}
	return n
}

// Get returns the first n elements of the slot's buffer.
func (s *Slot[F]) Get(n int) []F {
	if n > len(s.buf) {
		panic(fmt.Sprintf("nn: slot %q holds %d elements, %d requested (workspace not allocated?)", s.name, len(s.buf), n))
	}
	return s.buf[:n]
}

// gradSlots are the two ping-pong buffers that carry gradients between
// modules: a module reads dy from one and writes dx into the other.
const gradSlotA, gradSlotB = "grad.a", "grad.b"

// gradOther returns a gradient buffer of n elements that does not hold dy.
func (w *Workspace[F]) gradOther(dy []F, n int) []F {
	a := w.slots[gradSlotA].Get(n)
	if len(dy) > 0 && len(a) > 0 && &dy[0] == &w.slots[gradSlotA].buf[0] {
		return w.slots[gradSlotB].Get(n)
	}
	return a
}

// requestGrad registers that a module writes an input gradient of n elements.
func (w *Workspace[F]) requestGrad(n int) {
	w.Slot(gradSlotA, n)
	w.Slot(gradSlotB, n)
}
