package engine

import (
	"fmt"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// weights loads named tensors from a file onto a backend, checking their
// shapes, and remembers the first error so a loader reads top to bottom.
type weights struct {
	f   *gguf.File
	be  kernels.Backend
	err error
}

// get loads tensor name, which must have the given shape (row-major,
// outermost first).
func (w *weights) get(name string, shape ...int) *kernels.Tensor {
	t, ok := w.load(name, shape, true)
	if !ok {
		return nil
	}
	return t
}

// optional loads a tensor that an architecture may or may not have; it is
// nil when absent.
func (w *weights) optional(name string, shape ...int) *kernels.Tensor {
	t, _ := w.load(name, shape, false)
	return t
}

// vec loads a vector the kernels read as float32 (norm weights, biases):
// it must be F32, as converters write them.
func (w *weights) vec(name string, n int) *kernels.Tensor {
	return w.f32(w.get(name, n), name)
}

// optionalVec is vec for a vector that may be absent (nil then).
func (w *weights) optionalVec(name string, n int) *kernels.Tensor {
	return w.f32(w.optional(name, n), name)
}

func (w *weights) f32(t *kernels.Tensor, name string) *kernels.Tensor {
	if t != nil && t.Type != gguf.TypeF32 && w.err == nil {
		w.err = fmt.Errorf("engine: tensor %q has type %s, want F32", name, t.Type)
	}
	if w.err != nil {
		return nil
	}
	return t
}

// hostFloats copies an optional F32 vector of n elements to the host (rope
// frequency factors, which the kernels take as a slice); nil when absent.
func (w *weights) hostFloats(name string, n int) []float32 {
	t := w.optionalVec(name, n)
	if t == nil {
		return nil
	}
	out := make([]float32, n)
	if err := w.be.ToHost(out, t); err != nil {
		w.err = fmt.Errorf("engine: tensor %q: %w", name, err)
		return nil
	}
	return out
}

func (w *weights) load(name string, shape []int, required bool) (*kernels.Tensor, bool) {
	if w.err != nil {
		return nil, false
	}
	info, data, err := w.f.Tensor(name)
	if err != nil {
		if required {
			w.err = fmt.Errorf("engine: %s model: missing tensor %q", w.f.Arch(), name)
		}
		return nil, false
	}
	got := make([]int, len(info.Dims))
	for i, d := range info.Dims {
		got[len(got)-1-i] = int(d)
	}
	if !sameShape(got, shape) {
		w.err = fmt.Errorf("engine: tensor %q has shape %v, want %v (-1: any)", name, got, shape)
		return nil, false
	}
	if info.Type.Traits() == nil || info.Type.Traits().Dequantize == nil {
		w.err = fmt.Errorf("engine: tensor %q has type %s, which owl cannot compute with", name, info.Type)
		return nil, false
	}
	t, err := w.be.Load(info.Type, got, data)
	if err != nil {
		w.err = fmt.Errorf("engine: tensor %q: %w", name, err)
		return nil, false
	}
	return t, true
}

// sameShape compares a tensor's shape a with the wanted shape b (where -1
// matches any size), ignoring leading 1s (GGUF stores a vector as one
// dimension, a converter may add a unit one).
func sameShape(a, b []int) bool {
	for len(a) > 0 && a[0] == 1 && len(a) > len(b) {
		a = a[1:]
	}
	for len(b) > 0 && b[0] == 1 && len(b) > len(a) {
		b = b[1:]
	}
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && b[i] != -1 {
			return false
		}
	}
	return true
}
