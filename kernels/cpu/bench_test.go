package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// BenchmarkMatMul multiplies a 2048×2048 weight of each type by n rows of
// activations, reporting GFLOP/s (2 per multiply-add) and GB/s of weight
// bytes read (each weight row is read once per call).
func BenchmarkMatMul(b *testing.B) {
	const rows, cols = 2048, 2048
	r := rand.New(rand.NewPCG(1, 2))
	for _, typ := range computeTypes() {
		data := make([]byte, 0)
		for i := 0; i < rows; i++ {
			data = append(data, encode(b, typ, randRow(r, cols, 1))...)
		}
		for _, n := range []int{1, 16, 32} {
			xf := randRow(r, n*cols, 0)
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%v/n=%d/threads=%d", typ, n, threads), func(b *testing.B) {
					be := New(threads)
					defer be.Close()
					w, err := be.Load(typ, []int{rows, cols}, data)
					if err != nil {
						b.Fatal(err)
					}
					x := tensorOf(be, xf, n, cols)
					dst := be.NewTensor(gguf.TypeF32, n, rows)
					be.MatMul(dst, w, x)
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						be.MatMul(dst, w, x)
					}
					sec := b.Elapsed().Seconds() / float64(b.N)
					b.ReportMetric(2*float64(rows*cols*n)/sec/1e9, "GFLOP/s")
					b.ReportMetric(float64(len(data))/sec/1e9, "GB/s")
				})
			}
		}
	}
}

// BenchmarkAttention is one decode step over 512 cached positions.
func BenchmarkAttention(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	be := New(0)
	defer be.Close()
	const ctx, heads, kvHeads, hd = 512, 32, 8, 128
	c := be.NewKVCache(gguf.TypeF16, 1, 1, ctx, kvHeads*hd)
	pos := make([]int32, ctx)
	for i := range pos {
		pos[i] = int32(i)
	}
	kv := tensorOf(be, randRow(r, ctx*kvHeads*hd, 0), ctx, kvHeads*hd)
	be.StoreKV(c, 0, kv, kv, &kernels.Batch{Pos: pos})
	q := tensorOf(be, randRow(r, heads*hd, 0), 1, heads*hd)
	dst := be.NewTensor(gguf.TypeF32, 1, heads*hd)
	bt := &kernels.Batch{Pos: []int32{ctx - 1}}
	p := kernels.AttentionParams{Heads: heads, KVHeads: kvHeads, HeadDim: hd, Scale: 0.088}
	b.ReportAllocs()
	for b.Loop() {
		be.Attention(dst, q, c, 0, bt, p)
	}
}

// BenchmarkVecDot is one dot product of 4096 elements per type, on one
// goroutine: the kernels alone.
func BenchmarkVecDot(b *testing.B) {
	const n = 4096
	r := rand.New(rand.NewPCG(5, 6))
	for _, typ := range computeTypes() {
		tr := traits[typ]
		w := encode(b, typ, randRow(r, n, 1))
		x := encode(b, tr.VecDotType, randRow(r, n, 0))
		b.Run(typ.String(), func(b *testing.B) {
			var s float32
			for b.Loop() {
				s += tr.VecDot(n, w, x)
			}
			b.ReportMetric(float64(n)/(b.Elapsed().Seconds()/float64(b.N))/1e9, "Gelem/s")
			sinkF32 = s
		})
	}
}

var sinkF32 float32
