package cpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// cacheValue reads element i of a cache tensor as stored.
func cacheValue(c *kernels.KVCache, t *kernels.Tensor, i int) float64 {
	if c.Type == gguf.TypeF16 {
		return float64(gguf.HalfToFloat32(binary.LittleEndian.Uint16(t.Data[2*i:])))
	}
	return float64(asF32(t.Data)[i])
}

// roundHalf rounds to binary16 through float32, as ggml converts operands
// of an F16 matrix product.
func roundHalf(x float64) float64 {
	return float64(gguf.HalfToFloat32(gguf.Float32ToHalf(float32(x))))
}

// attentionRef is causal attention in float64 over the cache as stored.
// For an F16 cache it rounds q and the probabilities to binary16 as
// llama.cpp's graph does (they are operands of F16 matrix products), when
// modelF16 is set.
func attentionRef(q []float32, c *kernels.KVCache, layer int, b *kernels.Batch, p kernels.AttentionParams, modelF16 bool) []float64 {
	hd := p.HeadDim
	out := make([]float64, len(q))
	f16 := modelF16 && c.Type == gguf.TypeF16
	for i, pos := range b.Pos {
		seq := int(b.Seq[i])
		for h := 0; h < p.Heads; h++ {
			kvh := h / (p.Heads / p.KVHeads)
			lo := 0
			if p.Window > 0 {
				lo = max(0, int(pos)-p.Window+1)
			}
			qh := make([]float64, hd)
			for d := range qh {
				qh[d] = float64(q[(i*p.Heads+h)*hd+d])
				if f16 {
					qh[d] = roundHalf(qh[d])
				}
			}
			var scores []float64
			mx := math.Inf(-1)
			for j := lo; j <= int(pos); j++ {
				o := (seq*c.Ctx+j)*c.KVDim + kvh*hd
				var s float64
				for d := range qh {
					s += qh[d] * cacheValue(c, c.K[layer], o+d)
				}
				s *= float64(p.Scale)
				if p.SoftCap > 0 {
					s = float64(p.SoftCap) * math.Tanh(s/float64(p.SoftCap))
				}
				scores = append(scores, s)
				mx = math.Max(mx, s)
			}
			var sum float64
			for j, s := range scores {
				scores[j] = math.Exp(s - mx)
				sum += scores[j]
			}
			for j, e := range scores {
				pr := e / sum
				if f16 {
					pr = roundHalf(pr)
				}
				o := (seq*c.Ctx+lo+j)*c.KVDim + kvh*hd
				for d := 0; d < hd; d++ {
					out[(i*p.Heads+h)*hd+d] += pr * cacheValue(c, c.V[layer], o+d)
				}
			}
		}
	}
	return out
}

func TestAttention(t *testing.T) {
	r := newRand(t)
	bs := backends(t)
	const layers, seqs, ctx = 2, 3, 40
	params := []kernels.AttentionParams{
		{Heads: 4, KVHeads: 4, HeadDim: 32, Scale: 1 / float32(math.Sqrt(32))},
		{Heads: 8, KVHeads: 2, HeadDim: 64, Scale: 0.125},             // GQA
		{Heads: 6, KVHeads: 3, HeadDim: 32, Scale: 0.2, Window: 5},    // sliding window
		{Heads: 4, KVHeads: 1, HeadDim: 64, Scale: 1, SoftCap: 2},     // soft cap, MQA
		{Heads: 2, KVHeads: 2, HeadDim: 128, Scale: 0.09, Window: 64}, // window wider than the context used
	}
	// A first batch fills the start of sequence 2; the second batch mixes
	// three sequences, out of order, at different positions.
	first := &kernels.Batch{Pos: []int32{0, 1, 2}, Seq: []int32{2, 2, 2}}
	second := &kernels.Batch{Seq: []int32{0, 1, 0, 2, 0, 1, 2, 0, 0, 0, 0, 1}, Pos: []int32{0, 0, 1, 3, 2, 1, 4, 3, 4, 5, 6, 2}}
	for _, ct := range []gguf.Type{gguf.TypeF32, gguf.TypeF16} {
		for _, p := range params {
			name := fmt.Sprintf("%v/%+v", ct, p)
			kvDim := p.KVHeads * p.HeadDim
			width := p.Heads * p.HeadDim
			var firstOut []float32
			seed := r.Uint64()
			for _, b := range bs {
				c := b.NewKVCache(ct, layers, seqs, ctx, kvDim)
				// Same random data for every backend.
				rr := rand.New(rand.NewPCG(seed, 1))
				for _, bt := range []*kernels.Batch{first, second} {
					n := len(bt.Pos)
					kf, vf := randRow(rr, n*kvDim, 0), randRow(rr, n*kvDim, 2)
					b.StoreKV(c, 1, tensorOf(b, kf, n, kvDim), tensorOf(b, vf, n, kvDim), bt)
					// What StoreKV wrote.
					for i := 0; i < n; i++ {
						o := (int(bt.Seq[i])*ctx + int(bt.Pos[i])) * kvDim
						for d := 0; d < kvDim; d++ {
							want := float64(kf[i*kvDim+d])
							if ct == gguf.TypeF16 {
								want = roundHalf(want)
							}
							if got := cacheValue(c, c.K[1], o+d); got != want {
								t.Fatalf("%s: K cache[%d] = %g, want %g", name, o+d, got, want)
							}
						}
					}
				}
				n := len(second.Pos)
				qf := randRow(rr, n*width, 0)
				q := tensorOf(b, qf, n, width)
				dst := b.NewTensor(gguf.TypeF32, n, width)
				b.Attention(dst, q, c, 1, second, p)
				got := values(dst)
				tol := f32Tol
				if ct == gguf.TypeF16 {
					// ggml rounds probabilities to binary16; where the
					// float32 and float64 probabilities round differently
					// one term moves by 2^-11 of itself.
					tol = 1e-4
				}
				e := relErr(got, attentionRef(qf, c, 1, second, p, true))
				if b.Threads() == 1 {
					t.Logf("%s: relative error %.2g", name, e)
				}
				if e > tol {
					t.Errorf("%s threads=%d: relative error %g > %g", name, b.Threads(), e, tol)
				}
				if ct == gguf.TypeF16 {
					// The binary16 rounding of q and the probabilities is
					// small next to the attention itself.
					if e := relErr(got, attentionRef(qf, c, 1, second, p, false)); e > 3e-3 {
						t.Errorf("%s: relative error %g against unrounded attention", name, e)
					}
				}
				if firstOut == nil {
					firstOut = got
				} else {
					sameBits(t, name+" threads", firstOut, got)
				}
				// Layer 0 was never written: attention over zeros is zero.
				b.Attention(dst, q, c, 0, second, p)
				for _, v := range values(dst) {
					if v != 0 {
						t.Fatalf("%s: attention over an empty layer gave %g", name, v)
					}
				}
			}
		}
	}
}
