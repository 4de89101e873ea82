package cpu

import (
	"testing"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// TestNoAllocs checks that operations allocate nothing once their scratch
// has grown: the pool hands out preallocated tasks, so a forward pass
// creates no garbage.
func TestNoAllocs(t *testing.T) {
	forKernelSets(t, func(t *testing.T) {
		r := newRand(t)
		b := New(2)
		defer b.Close()
		const n, cols, rows = 8, 512, 96
		_, wq := quantWeights(t, b, r, gguf.TypeQ4_K, rows, cols)
		_, wh := quantWeights(t, b, r, gguf.TypeF16, rows, cols)
		x := tensorOf(b, randRow(r, n*cols, 0), n, cols)
		x1 := tensorOf(b, randRow(r, cols, 0), 1, cols)
		dst := b.NewTensor(gguf.TypeF32, n, rows)
		dst1 := b.NewTensor(gguf.TypeF32, 1, rows)
		norm := b.NewTensor(gguf.TypeF32, n, cols)
		weight := tensorOf(b, randRow(r, cols, 0), cols)
		c := b.NewKVCache(gguf.TypeF16, 1, 2, 64, 128)
		batch := &kernels.Batch{Pos: []int32{0, 1, 2, 3, 0, 1, 4, 5}, Seq: []int32{0, 0, 0, 0, 1, 1, 0, 0}}
		k := tensorOf(b, randRow(r, n*128, 0), n, 128)
		q := tensorOf(b, randRow(r, n*256, 0), n, 256)
		att := b.NewTensor(gguf.TypeF32, n, 256)
		ap := kernels.AttentionParams{Heads: 4, KVHeads: 2, HeadDim: 64, Scale: 0.125}
		rp := kernels.RopeParams{Heads: 4, HeadDim: 64, Dims: 64, Base: 10000, FreqScale: 1, AttnFactor: 1}
		ops := []struct {
			name string
			f    func()
		}{
			{"MatMul Q4_K n=8", func() { b.MatMul(dst, wq, x) }},
			{"MatMul Q4_K n=1", func() { b.MatMul(dst1, wq, x1) }},
			{"MatMul F16 n=8", func() { b.MatMul(dst, wh, x) }},
			{"RMSNorm", func() { b.RMSNorm(norm, x, weight, 1e-6) }},
			{"Rope", func() { b.Rope(q, batch.Pos, rp) }},
			{"StoreKV", func() { b.StoreKV(c, 0, k, k, batch) }},
			{"Attention", func() { b.Attention(att, q, c, 0, batch, ap) }},
			{"SiLUMul", func() { b.SiLUMul(norm, x, x) }},
			{"Add", func() { b.Add(norm, x, weight) }},
			{"GetRows", func() { b.GetRows(norm, wq, batch.Pos) }},
		}
		for _, op := range ops {
			op.f() // grow scratch
			if a := testing.AllocsPerRun(50, op.f); a != 0 {
				t.Errorf("%s: %v allocations per call", op.name, a)
			}
		}
	})
}
