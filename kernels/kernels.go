// Package kernels is the seam between the model architectures and the
// hardware: a Backend runs the few operations a transformer needs, over
// Tensors whose element types come from package gguf's type table.
// kernels/cpu implements it in Go (with assembly for the hot loops);
// kernels/cuda on NVIDIA GPUs. Architectures call a Backend and never look
// inside a tensor's bytes, so a new backend needs no change to them.
package kernels

import (
	"fmt"

	"github.com/openweights/owl/gguf"
)

// Tensor is a dense array of one element type. Shape is row-major,
// outermost first: a matrix of r rows of c elements has Shape [r, c], and
// Shape[len-1] is the row length (ggml's ne[0]). Quantized rows are whole
// blocks of the type.
type Tensor struct {
	Type  gguf.Type
	Shape []int
	// Data holds the bytes in host memory (the CPU backend's tensors; for
	// weights a slice of the mapped file, never written).
	Data []byte
	// Dev is the device address of a GPU backend's tensor, 0 on the CPU.
	Dev uintptr
}

// Cols is the row length.
func (t *Tensor) Cols() int {
	if len(t.Shape) == 0 {
		return 1
	}
	return t.Shape[len(t.Shape)-1]
}

// Rows is the number of rows (the product of all but the last dimension).
func (t *Tensor) Rows() int {
	n := 1
	for _, d := range t.Shape[:max(len(t.Shape)-1, 0)] {
		n *= d
	}
	return n
}

// Elements is the number of elements.
func (t *Tensor) Elements() int { return t.Rows() * t.Cols() }

// RowBytes is the size of one row in bytes.
func (t *Tensor) RowBytes() int {
	n, _ := t.Type.RowSize(int64(t.Cols()))
	return int(n)
}

// View returns the same memory under another shape of as many elements
// (e.g. [n, heads·headDim] seen as [n·heads, headDim] for per-head norms).
func (t *Tensor) View(shape ...int) *Tensor {
	v := &Tensor{Type: t.Type, Shape: shape, Data: t.Data, Dev: t.Dev}
	if v.Elements() != t.Elements() {
		panic(fmt.Sprintf("kernels: view %v of %v changes the element count", shape, t.Shape))
	}
	return v
}

// RowRange returns rows [r0, r1) of a matrix, sharing its memory: how a
// fused weight (Phi-3's QKV) is split without copying.
func (t *Tensor) RowRange(r0, r1 int) *Tensor {
	if r0 < 0 || r1 > t.Rows() || r0 > r1 {
		panic(fmt.Sprintf("kernels: rows [%d, %d) of %v", r0, r1, t.Shape))
	}
	rb := t.RowBytes()
	v := &Tensor{Type: t.Type, Shape: []int{r1 - r0, t.Cols()}}
	if t.Data != nil {
		v.Data = t.Data[r0*rb : r1*rb]
	}
	if t.Dev != 0 {
		v.Dev = t.Dev + uintptr(r0*rb)
	}
	return v
}

func (t *Tensor) String() string { return fmt.Sprintf("%s%v", t.Type, t.Shape) }

// RopeParams describes rotary position embedding as llama.cpp's ggml_rope_ext
// takes it.
type RopeParams struct {
	Heads   int     // heads in the tensor being rotated
	HeadDim int     // elements per head
	Dims    int     // leading elements of each head that rotate (n_rot), ≤ HeadDim
	NeoX    bool    // rotate pairs (i, i+Dims/2) instead of (2i, 2i+1)
	Base    float32 // frequency base (rope.freq_base)
	// FreqScale multiplies positions (1/rope.scaling.factor for linear
	// scaling; 1 otherwise). Zero means 1, as does a zero AttnFactor.
	FreqScale float32
	// FreqFactors divides each pair's frequency (Llama 3's rope_freqs
	// tensor); nil means all ones. Length Dims/2.
	FreqFactors []float32
	// YaRN extension: ExtFactor > 0 enables it, with the original context
	// length and the beta/attention factors as ggml names them.
	ExtFactor, AttnFactor, BetaFast, BetaSlow float32
	OrigCtx                                   int
}

// AttentionParams describes one layer's attention.
type AttentionParams struct {
	Heads, KVHeads, HeadDim int
	Scale                   float32 // multiplies q·k, usually 1/sqrt(HeadDim)
	// Window limits each token to the Window most recent positions
	// (sliding-window layers); 0 means unlimited.
	Window int
	// SoftCap, when > 0, applies cap·tanh(s/cap) to the scaled scores
	// (llama.cpp caps before scaling and pre-scales q instead: to match it,
	// scale q and pass Scale 1).
	SoftCap float32
}

// Batch is the tokens of one forward pass. Tokens of several sequences may
// share a batch; each attends only to its own sequence's cache.
type Batch struct {
	Tokens []int32
	Pos    []int32 // position of each token in its sequence
	Seq    []int32 // the sequence (KV cache slot) of each token; nil: all 0
	// Logits marks the tokens whose output logits are wanted; nil means
	// only the last token.
	Logits []bool
}

// Backend runs the operations of a transformer forward pass. Calls may be
// queued (a GPU backend records them on a stream); Sync waits for them and
// reports the first error. Shapes are checked by the caller: a mismatch is a
// programming error and a backend may panic on it.
type Backend interface {
	Name() string
	// Load makes a weight tensor from bytes of the model file. The CPU
	// backend wraps them without copying; a GPU backend uploads them.
	Load(t gguf.Type, shape []int, data []byte) (*Tensor, error)
	// NewTensor allocates a zeroed tensor for activations.
	NewTensor(t gguf.Type, shape ...int) *Tensor
	// NewKVCache allocates keys and values for layers × seqs sequences of
	// ctx positions of width kvDim (KV heads × head size), of type t (F16
	// or F32).
	NewKVCache(t gguf.Type, layers, seqs, ctx, kvDim int) *KVCache

	// GetRows sets dst row i to row ids[i] of table, dequantized to F32.
	GetRows(dst, table *Tensor, ids []int32)
	// MatMul sets dst[n, r] = Σ_c x[n, c]·w[r, c]: every row of x times
	// every row of w, for w of any type in the type table. As ggml does, x
	// is first converted to w's dot type (Q8_0, Q8_1 or Q8_K for quantized
	// w; F16 or BF16 for half-precision w).
	MatMul(dst, w, x *Tensor)
	// RMSNorm sets each row of dst to x/rms(x)·weight (weight may be nil).
	RMSNorm(dst, x, weight *Tensor, eps float32)
	// Add and Mul are element-wise; b has the shape of a or is one row
	// broadcast over a's rows.
	Add(dst, a, b *Tensor)
	Mul(dst, a, b *Tensor)
	// Scale multiplies x by s in place.
	Scale(x *Tensor, s float32)
	// Rope rotates x [n, Heads·HeadDim] in place; pos[i] is row i's position.
	Rope(x *Tensor, pos []int32, p RopeParams)
	// SiLUMul sets dst = silu(gate)·up; GELUMul dst = gelu(gate)·up (the
	// tanh approximation, as ggml_gelu).
	SiLUMul(dst, gate, up *Tensor)
	GELUMul(dst, gate, up *Tensor)
	// StoreKV writes row i of k and v [n, kvDim] at position b.Pos[i] of
	// sequence b.Seq[i] in layer's cache.
	StoreKV(c *KVCache, layer int, k, v *Tensor, b *Batch)
	// Attention sets dst [n, Heads·HeadDim] to causal softmax attention of
	// q [n, Heads·HeadDim] over layer's cache: token i sees positions
	// 0..b.Pos[i] of sequence b.Seq[i] (within Window when set).
	Attention(dst, q *Tensor, c *KVCache, layer int, b *Batch, p AttentionParams)
	// ToHost copies an F32 tensor into dst (len(dst) == x.Elements()),
	// waiting for queued work first.
	ToHost(dst []float32, x *Tensor) error
	// Sync waits for queued work and returns the first error.
	Sync() error
	// Close releases the backend's workers and memory.
	Close() error
}

// KVCache holds keys and values: per layer, K and V tensors of shape
// [seqs, ctx, kvDim].
type KVCache struct {
	Type              gguf.Type
	Layers, Seqs, Ctx int
	KVDim             int
	K, V              []*Tensor
}
