package cpu

import (
	"fmt"
	"math"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// seqOf returns token i's sequence; a batch without Seq is all sequence 0.
func seqOf(b *kernels.Batch, i int) int {
	if len(b.Seq) == 0 {
		return 0
	}
	return int(b.Seq[i])
}

func checkBatch(op string, c *kernels.KVCache, layer int, b *kernels.Batch, n int) {
	if layer < 0 || layer >= c.Layers {
		panic(fmt.Sprintf("cpu: %s: layer %d of %d", op, layer, c.Layers))
	}
	if len(b.Pos) != n || (len(b.Seq) != 0 && len(b.Seq) != n) {
		panic(fmt.Sprintf("cpu: %s: batch of %d positions and %d sequences for %d rows", op, len(b.Pos), len(b.Seq), n))
	}
	for i, p := range b.Pos {
		if s := seqOf(b, i); p < 0 || int(p) >= c.Ctx || s < 0 || s >= c.Seqs {
			panic(fmt.Sprintf("cpu: %s: token %d at position %d of sequence %d (cache of %d×%d)", op, i, p, s, c.Seqs, c.Ctx))
		}
	}
}

type storeKVTask struct {
	k, v   []float32
	kc, vc []byte
	f16    bool
	kvDim  int
	ctx    int
	b      *kernels.Batch
}

func (t *storeKVTask) do(_, lo, hi int) {
	d := t.kvDim
	for i := lo; i < hi; i++ {
		cell := seqOf(t.b, i)*t.ctx + int(t.b.Pos[i])
		k := t.k[i*d : (i+1)*d]
		v := t.v[i*d : (i+1)*d]
		if t.f16 {
			toF16Vec(asU16(t.kc)[cell*d:(cell+1)*d], k)
			toF16Vec(asU16(t.vc)[cell*d:(cell+1)*d], v)
			continue
		}
		copy(asF32(t.kc)[cell*d:(cell+1)*d], k)
		copy(asF32(t.vc)[cell*d:(cell+1)*d], v)
	}
}

// StoreKV writes row i of k and v [n, kvDim] at position b.Pos[i] of
// sequence b.Seq[i] in layer's cache, rounding to binary16 (to nearest
// even) for an F16 cache.
func (b *Backend) StoreKV(c *kernels.KVCache, layer int, k, v *kernels.Tensor, bt *kernels.Batch) {
	b.lock()
	defer b.mu.Unlock()
	ks := f32Of(k, "StoreKV", "k")
	vs := f32Of(v, "StoreKV", "v")
	n := len(bt.Pos)
	if len(ks) != n*c.KVDim || len(vs) != n*c.KVDim {
		panic(fmt.Sprintf("cpu: StoreKV: k %v, v %v for %d tokens of width %d", k, v, n, c.KVDim))
	}
	checkBatch("StoreKV", c, layer, bt, n)
	t := &b.store
	*t = storeKVTask{k: ks, v: vs, kc: c.K[layer].Data, vc: c.V[layer].Data, f16: c.Type == gguf.TypeF16,
		kvDim: c.KVDim, ctx: c.Ctx, b: bt}
	b.pool.run(t, n, grainFor(2*c.KVDim))
	*t = storeKVTask{}
}

// attentionTask computes one (token, head) per item, as llama.cpp's graph
// without flash attention does: KQ = K·q with q converted to the cache type
// (ggml_mul_mat converts it to F16 for an F16 cache), scaled, optionally
// soft-capped, a float32 softmax (ggml's vector expf) whose sum is kept in
// double, and the probabilities (again converted to F16 for an F16 cache)
// times V. Only the positions a token may see are visited, where llama.cpp
// masks the others to −∞; their terms would be exactly 0.
type attentionTask struct {
	q, dst    []float32
	k, v      []byte
	f16       bool
	heads     int
	group     int // query heads per KV head
	hd, kvDim int
	ctx       int
	scale     float32
	softCap   float32
	window    int
	b         *kernels.Batch
	scratch   [][]float32
}

func (t *attentionTask) do(w, lo, hi int) {
	hd := t.hd
	scr := t.scratch[w]
	qh := scr[:hd]
	acc := scr[hd : 2*hd]
	scores := scr[2*hd:]
	var kf, vf []float32
	var kh, vh []uint16
	if t.f16 {
		kh, vh = asU16(t.k), asU16(t.v)
	} else {
		kf, vf = asF32(t.k), asF32(t.v)
	}
	for item := lo; item < hi; item++ {
		i, h := item/t.heads, item%t.heads
		pos := int(t.b.Pos[i])
		start := 0
		if t.window > 0 {
			start = max(0, pos-t.window+1)
		}
		base := seqOf(t.b, i)*t.ctx*t.kvDim + h/t.group*hd
		q := t.q[(i*t.heads+h)*hd : (i*t.heads+h+1)*hd]
		if t.f16 {
			roundF16Vec(qh, q)
		} else {
			copy(qh, q)
		}
		sc := scores[:pos-start+1]
		first := base + start*t.kvDim // the first visible position's key and value
		if t.f16 {
			qkF16(sc, kh[first:], t.kvDim, qh)
		} else {
			for j := range sc {
				sc[j] = dotF32s(kf[first+j*t.kvDim:][:hd], qh)
			}
		}
		mx := float32(math.Inf(-1))
		for j, s := range sc {
			s *= t.scale
			if t.softCap > 0 {
				s = float32(math.Tanh(float64(s*(1/t.softCap)))) * t.softCap
			}
			sc[j] = s
			mx = cmax(mx, s)
		}
		expSubVec(sc, sc, mx)
		sum := softmaxSum(sc, start)
		inv := float32(1 / sum)
		clear(acc)
		for j, e := range sc {
			sc[j] = e * inv
		}
		if t.f16 {
			// The probabilities, converted to F16 as ggml converts them.
			roundF16Vec(sc, sc)
			pvSumF16(acc, scr[2*hd+t.ctx:][:8*hd], sc, vh[first:], t.kvDim, start)
		} else {
			for j, p := range sc {
				vr := vf[first+j*t.kvDim:][:hd]
				for d := range acc {
					acc[d] += float32(p * vr[d])
				}
			}
		}
		copy(t.dst[(i*t.heads+h)*hd:(i*t.heads+h+1)*hd], acc)
	}
}

// Attention sets dst [n, Heads·HeadDim] to causal softmax attention of q
// over layer's cache: token i sees positions 0..b.Pos[i] of sequence
// b.Seq[i], only the Window most recent of them when Window > 0. Scores
// are Scale·q·k, then cap·tanh(s/cap) when SoftCap > 0. Query head h reads
// KV head h/(Heads/KVHeads).
func (b *Backend) Attention(dst, q *kernels.Tensor, c *kernels.KVCache, layer int, bt *kernels.Batch, p kernels.AttentionParams) {
	b.lock()
	defer b.mu.Unlock()
	qs := f32Of(q, "Attention", "q")
	ds := f32Of(dst, "Attention", "dst")
	n := len(bt.Pos)
	if p.Heads <= 0 || p.KVHeads <= 0 || p.Heads%p.KVHeads != 0 || p.KVHeads*p.HeadDim != c.KVDim {
		panic(fmt.Sprintf("cpu: Attention: %d heads, %d KV heads of %d for a cache of width %d", p.Heads, p.KVHeads, p.HeadDim, c.KVDim))
	}
	if len(qs) != n*p.Heads*p.HeadDim || len(ds) != len(qs) {
		panic(fmt.Sprintf("cpu: Attention: q %v, dst %v for %d tokens of %d×%d", q, dst, n, p.Heads, p.HeadDim))
	}
	checkBatch("Attention", c, layer, bt, n)
	t := &b.attn
	*t = attentionTask{q: qs, dst: ds, k: c.K[layer].Data, v: c.V[layer].Data, f16: c.Type == gguf.TypeF16,
		heads: p.Heads, group: p.Heads / p.KVHeads, hd: p.HeadDim, kvDim: c.KVDim, ctx: c.Ctx,
		scale: p.Scale, softCap: p.SoftCap, window: p.Window, b: bt}
	b.workerScratch(2*p.HeadDim + c.Ctx + 8*p.HeadDim)
	t.scratch = b.scratch
	b.pool.run(t, n*p.Heads, 1)
	*t = attentionTask{}
}

// softmaxSum is ggml_vec_soft_max_f32's sum under AVX2 of the
// exponentials e of positions start.. (masked positions before start count
// as 0): per eight positions from position 0 a float32 sum
// ((e0+e4)+(e2+e6))+((e1+e5)+(e3+e7)), those added in float64.
func softmaxSum(e []float32, start int) float64 {
	var sum float64
	for c := start &^ 7; c < start+len(e); c += 8 {
		var v [8]float32
		for l := range v {
			if j := c + l - start; j >= 0 && j < len(e) {
				v[l] = e[j]
			}
		}
		sum += float64(((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7])))
	}
	return sum
}

// With an F16 cache llama.cpp's KQ and KQV products run through tinyBLAS
// (llamafile_sgemm) on x86: each output is one eight-lane accumulator, the
// k-th term FMA'd into lane k mod 8, the lanes added at the end as
// ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)). For KQ k runs over the head's
// dimensions; for KQV over the cache positions from 0, so the lane of a
// position is its number mod 8 (masked positions add 0). Following it
// makes owl's attention match llama.cpp's bit for bit.

// dot8F16 is tinyBLAS's dot of binary16 a with x.
func dot8F16(a []uint16, x []float32) float32 {
	var l [8]float32
	for i, v := range x {
		l[i%8] = fma32(f16Table[a[i]], v, l[i%8])
	}
	return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}

// pvF16Ref is pvF16 one element at a time.
func pvF16Ref(slots, p []float32, v []uint16, vstride, pos0 int) {
	hd := len(slots) / 8
	for j, pj := range p {
		sl := slots[(pos0+j)%8*hd:][:hd]
		for d, h := range v[j*vstride:][:hd] {
			sl[d] = fma32(f16Table[h], pj, sl[d])
		}
	}
}

// hsum8RowsRef sets acc[d] to the tinyBLAS lane sum of the eight slots' d.
func hsum8RowsRef(acc, slots []float32) {
	hd := len(acc)
	for d := range acc {
		var l [8]float32
		for s := range l {
			l[s] = slots[s*hd+d]
		}
		acc[d] = ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
	}
}
