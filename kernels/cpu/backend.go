package cpu

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// Backend runs kernels.Backend's operations on the CPU with a fixed pool of
// worker goroutines. Operations are synchronous: each returns when its
// result is written. A Backend may be shared between goroutines; its
// operations then run one at a time. The zero Backend is ready to use, with
// PhysicalCores() workers started on its first operation.
type Backend struct {
	mu      sync.Mutex
	pool    *pool
	threads int
	closed  bool

	// Scratch grown on demand and reused, so that operations allocate
	// nothing in the steady state.
	xq      []byte          // activations converted to a dot type
	xf      []float32       // activations widened back to float32 (F16 weights)
	scratch [][]float32     // per-worker float32 scratch
	unp     []*batchScratch // per-worker unpacked rows of w (batched MatMul)
	xp      []uint64        // activations packed for batched MatMul
	zero    []byte          // zeros standing for missing activation rows
	side    []float32       // activations' block scales for lane kernels
	xi      []byte          // activations interleaved for eight-row tiles
	side8   []float32       // and their block scales

	// One preallocated task per operation.
	conv convTask
	pack packTask
	mm   matmulTask
	norm rmsNormTask
	elem elemTask
	rows getRowsTask
	rope ropeTask
	// angles are the last Rope call's cos and sin, for the next at the
	// same positions.
	angles ropeAngles
	store  storeKVTask
	attn   attentionTask
}

var _ kernels.Backend = (*Backend)(nil)

// New starts a CPU backend with threads workers (the caller's goroutine
// counts as one of them); threads ≤ 0 means PhysicalCores().
func New(threads int) *Backend {
	b := new(Backend)
	b.start(threads)
	return b
}

func (b *Backend) start(threads int) {
	if threads <= 0 {
		threads = PhysicalCores()
	}
	b.pool, b.threads, b.scratch = newPool(threads), threads, make([][]float32, threads)
}

// Threads returns the number of workers.
func (b *Backend) Threads() int {
	b.lock()
	defer b.mu.Unlock()
	return b.threads
}

// Close stops the worker goroutines. The Backend must not be used after.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed && b.pool != nil {
		b.pool.close()
	}
	b.closed = true
	return nil
}

func (b *Backend) Name() string { return "cpu" }

// lock serializes operations and rejects use after Close.
func (b *Backend) lock() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		panic("cpu: backend used after Close")
	}
	if b.pool == nil {
		b.start(0)
	}
}

// errClosed reports use of a closed backend from the error-returning calls.
var errClosed = errors.New("cpu: backend is closed")

// maxElements bounds the element count a shape may claim, so that sizes
// computed from a corrupt header cannot overflow.
const maxElements = 1 << 50

// Load wraps bytes of a weight tensor without copying them. It checks that
// the CPU backend can compute with the type and that the bytes are exactly
// the size the shape needs.
func (b *Backend) Load(t gguf.Type, shape []int, data []byte) (*kernels.Tensor, error) {
	tr := t.Traits()
	if tr == nil {
		return nil, fmt.Errorf("cpu: load %v tensor: unknown type", t)
	}
	if traits[t] == nil && tr.Dequantize == nil {
		return nil, fmt.Errorf("cpu: load %v tensor: type not supported by the CPU backend", t)
	}
	if len(shape) == 0 {
		return nil, fmt.Errorf("cpu: load %v tensor: empty shape", t)
	}
	elems := int64(1)
	for _, d := range shape {
		if d <= 0 {
			return nil, fmt.Errorf("cpu: load %v tensor %v: dimension %d", t, shape, d)
		}
		if elems > maxElements/int64(d) {
			return nil, fmt.Errorf("cpu: load %v tensor %v: too many elements", t, shape)
		}
		elems *= int64(d)
	}
	cols := int64(shape[len(shape)-1])
	rowSize, ok := t.RowSize(cols)
	if !ok {
		return nil, fmt.Errorf("cpu: load %v tensor %v: row of %d elements is not whole blocks of %d", t, shape, cols, tr.BlockSize)
	}
	if want := elems / cols * rowSize; int64(len(data)) != want {
		return nil, fmt.Errorf("cpu: load %v tensor %v: have %d bytes, want %d", t, shape, len(data), want)
	}
	if a := uintptr(tr.TypeSize); tr.BlockSize == 1 && a > 1 && len(data) > 0 && uintptr(unsafe.Pointer(&data[0]))%a != 0 {
		// Float rows are read through typed views, which need aligned
		// memory; GGUF aligns tensor data, so this copy is for odd callers.
		aligned := f32Bytes(make([]float32, (len(data)+3)/4))[:len(data)]
		copy(aligned, data)
		data = aligned
	}
	return &kernels.Tensor{Type: t, Shape: append([]int(nil), shape...), Data: data}, nil
}

// NewTensor allocates a zeroed F32 or F16 tensor.
func (b *Backend) NewTensor(t gguf.Type, shape ...int) *kernels.Tensor {
	if t != gguf.TypeF32 && t != gguf.TypeF16 {
		panic(fmt.Sprintf("cpu: NewTensor of type %v (F32 or F16 only)", t))
	}
	x := &kernels.Tensor{Type: t, Shape: append([]int(nil), shape...)}
	n := x.Elements()
	if n < 0 {
		panic(fmt.Sprintf("cpu: NewTensor shape %v", shape))
	}
	size := n * t.Traits().TypeSize
	// Backed by float32s so that F32 views are aligned.
	x.Data = f32Bytes(make([]float32, (size+3)/4))[:size:size]
	if size == 0 {
		x.Data = []byte{}
	}
	return x
}

// NewKVCache allocates a zeroed cache of F16 or F32 keys and values.
func (b *Backend) NewKVCache(t gguf.Type, layers, seqs, ctx, kvDim int) *kernels.KVCache {
	if t != gguf.TypeF32 && t != gguf.TypeF16 {
		panic(fmt.Sprintf("cpu: KV cache of type %v (F16 or F32 only)", t))
	}
	c := &kernels.KVCache{Type: t, Layers: layers, Seqs: seqs, Ctx: ctx, KVDim: kvDim,
		K: make([]*kernels.Tensor, layers), V: make([]*kernels.Tensor, layers)}
	for l := range layers {
		c.K[l] = b.NewTensor(t, seqs, ctx, kvDim)
		c.V[l] = b.NewTensor(t, seqs, ctx, kvDim)
	}
	return c
}

// ToHost copies an F32 tensor into dst.
func (b *Backend) ToHost(dst []float32, x *kernels.Tensor) error {
	if x.Type != gguf.TypeF32 {
		return fmt.Errorf("cpu: ToHost of %v tensor: want F32", x)
	}
	if n := x.Elements(); len(dst) != n || len(x.Data) < 4*n {
		return fmt.Errorf("cpu: ToHost of %v tensor into %d values", x, len(dst))
	}
	copy(dst, asF32(x.Data))
	return nil
}

// Sync returns at once: every operation has finished when it returns.
func (b *Backend) Sync() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errClosed
	}
	return nil
}

// f32Of returns x's values, checking that x is an F32 tensor with its bytes.
func f32Of(x *kernels.Tensor, op, name string) []float32 {
	if x.Type != gguf.TypeF32 {
		panic(fmt.Sprintf("cpu: %s: %s is %v, want F32", op, name, x))
	}
	n := x.Elements()
	if len(x.Data) < 4*n {
		panic(fmt.Sprintf("cpu: %s: %s %v has %d bytes", op, name, x, len(x.Data)))
	}
	return asF32(x.Data)[:n]
}

// workerScratch makes every worker's scratch at least n floats.
func (b *Backend) workerScratch(n int) {
	for i, s := range b.scratch {
		if len(s) < n {
			b.scratch[i] = make([]float32, n)
		}
	}
}

// unpackRows is how many rows of w a worker unpacks at once for batched
// MatMul: with 4 activation rows they stay within L1 and L2.
const unpackRows = 16

// unpackScratch makes every worker's batched-MatMul scratch fit rows of
// cols values.
func (b *Backend) unpackScratch(cols int) []*batchScratch {
	if len(b.unp) < b.threads {
		b.unp = make([]*batchScratch, b.threads)
	}
	for i, bs := range b.unp {
		if bs == nil {
			bs = &batchScratch{us: make([]unpacked, unpackRows)}
			b.unp[i] = bs
		}
		for j := range bs.us {
			bs.us[j].grow(cols)
		}
	}
	return b.unp
}

// grainFor returns how many rows of cols elements make a chunk worth handing
// to a worker.
func grainFor(cols int) int { return max(1, 16384/max(cols, 1)) }
