// Package tensor holds the engine's plain float32 tensor (NCHW, row-major),
// its shape type, and the buffer arena that plans a model's memory once per
// (model, batch). It is the only engine package that other layers of the
// project (datasets, interchange) may import.
package tensor

import (
	"fmt"
	"strings"
)

// Shape lists a tensor's extents, outermost first. Activations are
// (N, C, H, W); convolution weights are (K, C, R, S); FC weights (Out, In).
type Shape []int

// Size is the product of the extents (1 for a scalar shape).
func (s Shape) Size() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Equal reports whether both shapes have the same extents.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// String formats the shape as 2x3x4.
func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "x")
}

// Clone returns a copy that does not share storage.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

// Tensor is a dense row-major float32 array. Data has exactly Shape.Size()
// elements. The engine's hot loops work on Data directly.
type Tensor struct {
	Shape Shape
	Data  []float32
}

// New allocates a zeroed tensor of the given shape.
func New(shape ...int) *Tensor {
	s := Shape(shape).Clone()
	return &Tensor{Shape: s, Data: make([]float32, s.Size())}
}

// FromData wraps data (not copied) in a tensor; it panics if the sizes differ.
func FromData(data []float32, shape ...int) *Tensor {
	s := Shape(shape).Clone()
	if s.Size() != len(data) {
		panic(fmt.Sprintf("tensor: %d elements do not fill shape %v", len(data), s))
	}
	return &Tensor{Shape: s, Data: data}
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: t.Shape.Clone(), Data: append([]float32(nil), t.Data...)}
}

// Float is the element type of the engine's kernels and layers: float32 for
// training and inference, float64 for numeric gradient checks.
type Float interface{ ~float32 | ~float64 }
