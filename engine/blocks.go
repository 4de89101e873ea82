package engine

import (
	"math"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// The pieces the architectures share: the weights of an attention and a
// feed-forward block as every supported file stores them, one forward
// pass's scratch tensors, and the blocks run over them.

// activations are a forward pass's scratch tensors, allocated for the
// largest batch seen and reused, so decoding allocates nothing.
type activations struct {
	be    kernels.Backend
	list  []*kernels.Tensor
	alloc []int   // rows allocated for each tensor
	want  []int32 // rows whose logits are wanted
	p     pass
}

// tensor returns scratch tensor i (each call site uses its own index) with
// n rows of cols F32 elements.
func (a *activations) tensor(i, n, cols int) *kernels.Tensor {
	for len(a.list) <= i {
		a.list = append(a.list, nil)
		a.alloc = append(a.alloc, 0)
	}
	t := a.list[i]
	if t == nil || t.Shape[1] != cols || a.alloc[i] < n {
		t = a.be.NewTensor(gguf.TypeF32, n, cols)
		a.list[i], a.alloc[i] = t, n
	}
	t.Shape[0] = n
	return t
}

// Buffer indices shared by the architectures.
const (
	bufX = iota
	bufH
	bufQ
	bufK
	bufV
	bufAtt
	bufGate
	bufUp
	bufOutRows
	bufLogits
	bufCount
)

// pass is one forward pass: the batch, the cache, and scratch tensors sized
// for the batch. x is the residual stream; a block reads its normed input
// from h and leaves its output there.
type pass struct {
	a     *activations
	be    kernels.Backend
	hp    *HParams
	b     *kernels.Batch
	cache *kernels.KVCache

	x, h, q, k, v, att, gate, up *kernels.Tensor
	qHeads, kHeads               kernels.Tensor // per-head views of q and k, reused
}

// begin starts a forward pass of b over cache.
func (a *activations) begin(hp *HParams, b *kernels.Batch, cache *kernels.KVCache) *pass {
	n := len(b.Tokens)
	p := &a.p
	*p = pass{a: a, be: a.be, hp: hp, b: b, cache: cache, qHeads: p.qHeads, kHeads: p.kHeads}
	p.x = a.tensor(bufX, n, hp.Embd)
	p.h = a.tensor(bufH, n, hp.Embd)
	p.q = a.tensor(bufQ, n, hp.Heads*hp.HeadDim)
	p.k = a.tensor(bufK, n, hp.KVDim())
	p.v = a.tensor(bufV, n, hp.KVDim())
	p.att = a.tensor(bufAtt, n, hp.Heads*hp.HeadDim)
	p.gate = a.tensor(bufGate, n, hp.FF)
	p.up = a.tensor(bufUp, n, hp.FF)
	return p
}

// headView points v at t seen as one row per head of size hd, without
// allocating (kernels.Tensor.View would).
func headView(v, t *kernels.Tensor, hd int) *kernels.Tensor {
	v.Type, v.Data, v.Dev = t.Type, t.Data, t.Dev
	v.Shape = append(v.Shape[:0], t.Elements()/hd, hd)
	return v
}

// attnLayer is one layer's attention weights.
type attnLayer struct {
	wq, wk, wv, wo *kernels.Tensor
	bq, bk, bv, bo *kernels.Tensor // biases; nil when absent
	qNorm, kNorm   *kernels.Tensor // per-head RMSNorm weights (Qwen 3, Gemma 3); nil when absent
}

// attention loads the attention weights of layer prefix p as llama.cpp's
// create_tensor_qkv finds them: a fused attn_qkv (Phi-3), split into its Q,
// K and V rows without copying, or separate attn_q, attn_k and attn_v; each
// with optional biases (Qwen 2). headNorms requires per-head Q and K norms.
func (w *weights) attention(p string, hp *HParams, headNorms bool) attnLayer {
	q, kv := hp.Heads*hp.HeadDim, hp.KVDim()
	var l attnLayer
	if qkv := w.optional(p+"attn_qkv.weight", q+2*kv, hp.Embd); qkv != nil {
		l.wq, l.wk, l.wv = qkv.RowRange(0, q), qkv.RowRange(q, q+kv), qkv.RowRange(q+kv, q+2*kv)
		if b := w.optionalVec(p+"attn_qkv.bias", q+2*kv); b != nil {
			l.bq, l.bk, l.bv = vecRange(b, 0, q), vecRange(b, q, q+kv), vecRange(b, q+kv, q+2*kv)
		}
	} else {
		l.wq = w.get(p+"attn_q.weight", q, hp.Embd)
		l.wk = w.get(p+"attn_k.weight", kv, hp.Embd)
		l.wv = w.get(p+"attn_v.weight", kv, hp.Embd)
	}
	if l.bq == nil {
		l.bq = w.optionalVec(p+"attn_q.bias", q)
		l.bk = w.optionalVec(p+"attn_k.bias", kv)
		l.bv = w.optionalVec(p+"attn_v.bias", kv)
	}
	l.wo = w.get(p+"attn_output.weight", hp.Embd, q)
	l.bo = w.optionalVec(p+"attn_output.bias", hp.Embd)
	if headNorms {
		l.qNorm = w.vec(p+"attn_q_norm.weight", hp.HeadDim)
		l.kNorm = w.vec(p+"attn_k_norm.weight", hp.HeadDim)
	}
	return l
}

// vecRange is elements [i, j) of vector v, sharing its memory.
func vecRange(v *kernels.Tensor, i, j int) *kernels.Tensor {
	return v.View(v.Elements(), 1).RowRange(i, j).View(j - i)
}

// ffnLayer is one layer's gated feed-forward weights.
type ffnLayer struct {
	gate, up, down *kernels.Tensor
	bGate, bUp     *kernels.Tensor // biases; nil when absent
	bDown          *kernels.Tensor
}

// ffn loads the feed-forward weights of layer prefix p: ffn_gate and ffn_up,
// or (fusedUp, Phi-3) one ffn_up of 2·FF rows, the gate's rows first, split
// without copying.
func (w *weights) ffn(p string, hp *HParams, fusedUp bool) ffnLayer {
	var l ffnLayer
	if fusedUp {
		if up := w.get(p+"ffn_up.weight", 2*hp.FF, hp.Embd); up != nil {
			l.gate, l.up = up.RowRange(0, hp.FF), up.RowRange(hp.FF, 2*hp.FF)
		}
	} else {
		l.gate = w.get(p+"ffn_gate.weight", hp.FF, hp.Embd)
		l.up = w.get(p+"ffn_up.weight", hp.FF, hp.Embd)
		l.bGate = w.optionalVec(p+"ffn_gate.bias", hp.FF)
		l.bUp = w.optionalVec(p+"ffn_up.bias", hp.FF)
	}
	l.down = w.get(p+"ffn_down.weight", hp.Embd, hp.FF)
	l.bDown = w.optionalVec(p+"ffn_down.bias", hp.Embd)
	return l
}

// outputHead turns the last hidden state into logits.
type outputHead struct {
	norm, proj *kernels.Tensor
	bias       *kernels.Tensor // Qwen 2's output.bias; nil when absent
	softCap    float32         // cap·tanh(logit/cap) when > 0 (Gemma)
}

// decoder is what every architecture holds: hyperparameters, backend,
// token embedding, output head and scratch tensors, and the
// architecture's own graph.
type decoder struct {
	hp      *HParams
	be      kernels.Backend
	tokEmbd *kernels.Tensor
	head    outputHead
	act     activations
	// run takes a batch from its token ids through every layer, leaving
	// the residual stream in the returned pass's x; the architecture sets
	// it, and Forward and Hidden finish the pass.
	run func(b *kernels.Batch, cache *kernels.KVCache) *pass
}

func (d *decoder) HParams() *HParams { return d.hp }

func (d *decoder) Forward(b *kernels.Batch, cache *kernels.KVCache, logits []float32) error {
	return d.run(b, cache).output(&d.head, logits)
}

func (d *decoder) Hidden(b *kernels.Batch, cache *kernels.KVCache, hidden []float32) error {
	return d.run(b, cache).hidden(&d.head, hidden)
}

// loadDecoder loads the token embedding (whose rows set the vocabulary
// size) and the output head: output_norm and output.weight, or the
// embedding when they are tied, with an optional output.bias.
func loadDecoder(w *weights, hp *HParams) decoder {
	d := decoder{hp: hp, be: w.be, act: activations{be: w.be}}
	d.tokEmbd = w.get("token_embd.weight", -1, hp.Embd)
	if d.tokEmbd != nil {
		hp.Vocab = d.tokEmbd.Rows()
	}
	d.head.norm = w.vec("output_norm.weight", hp.Embd)
	d.head.proj = w.optional("output.weight", hp.Vocab, hp.Embd)
	if d.head.proj == nil {
		d.head.proj = d.tokEmbd
	}
	d.head.bias = w.optionalVec("output.bias", hp.Vocab)
	return d
}

// ropeFor returns rope parameters for the query heads with the given base
// and frequency scale (sliding-window layers have their own).
func ropeFor(hp *HParams, base, freqScale float32) kernels.RopeParams {
	return kernels.RopeParams{
		Heads: hp.Heads, HeadDim: hp.HeadDim, Dims: hp.RopeDims, NeoX: hp.RopeNeoX,
		Base: base, FreqScale: freqScale,
		ExtFactor: hp.RopeExtFactor, AttnFactor: hp.RopeAttnFactor, BetaFast: 32, BetaSlow: 1,
		OrigCtx: hp.RopeOrigCtx,
	}
}

func attentionFor(hp *HParams, window int) kernels.AttentionParams {
	return kernels.AttentionParams{
		Heads: hp.Heads, KVHeads: hp.KVHeads, HeadDim: hp.HeadDim,
		Scale: invSqrt(hp.HeadDim), Window: window,
	}
}

// invSqrt is 1/sqrtf(n) as llama.cpp computes attention scales, in float32.
func invSqrt(n int) float32 {
	return 1 / float32(math.Sqrt(float64(n)))
}

// project sets dst = w·x (+ bias).
func (p *pass) project(dst, w, bias, x *kernels.Tensor) {
	p.be.MatMul(dst, w, x)
	if bias != nil {
		p.be.Add(dst, dst, bias)
	}
}

// attention replaces h, layer l's normed input, by the layer's attention
// output: wo · attend(rope(norm(wq·h)), rope(norm(wk·h)), wv·h), the norms
// per head when the layer has them. Keys rotate as rope does queries, with
// the KV head count. qScale, when not 0, multiplies the rotated queries
// (Phi-3, Gemma 3 scale queries where other graphs scale scores: attn
// should then have Scale 1).
func (p *pass) attention(l int, ly *attnLayer, rope kernels.RopeParams, attn kernels.AttentionParams, qScale float32) {
	be, hp := p.be, p.hp
	p.project(p.q, ly.wq, ly.bq, p.h)
	p.project(p.k, ly.wk, ly.bk, p.h)
	p.project(p.v, ly.wv, ly.bv, p.h)
	if ly.qNorm != nil {
		q := headView(&p.qHeads, p.q, hp.HeadDim)
		be.RMSNorm(q, q, ly.qNorm, hp.NormEps)
		k := headView(&p.kHeads, p.k, hp.HeadDim)
		be.RMSNorm(k, k, ly.kNorm, hp.NormEps)
	}
	be.Rope(p.q, p.b.Pos, rope)
	rope.Heads = hp.KVHeads
	be.Rope(p.k, p.b.Pos, rope)
	if qScale != 0 {
		be.Scale(p.q, qScale)
	}
	be.StoreKV(p.cache, l, p.k, p.v, p.b)
	be.Attention(p.att, p.q, p.cache, l, p.b, attn)
	p.project(p.h, ly.wo, ly.bo, p.att)
}

// ffn replaces h, a normed input, by down · (act(gate·h) ⊙ up·h), act being
// SiLU (SwiGLU) or, with gelu, GELU (GeGLU).
func (p *pass) ffn(ly *ffnLayer, gelu bool) {
	p.project(p.gate, ly.gate, ly.bGate, p.h)
	p.project(p.up, ly.up, ly.bUp, p.h)
	if gelu {
		p.be.GELUMul(p.gate, p.gate, p.up)
	} else {
		p.be.SiLUMul(p.gate, p.gate, p.up)
	}
	p.project(p.h, ly.down, ly.bDown, p.gate)
}

// normedRows applies the final norm to the rows of x whose outputs are
// wanted, gathered into a scratch tensor; nil when none is.
func (p *pass) normedRows(o *outputHead) *kernels.Tensor {
	be, a := p.be, p.a
	a.want = logitRows(a.want, p.b)
	k := len(a.want)
	if k == 0 {
		return nil
	}
	rows := a.tensor(bufOutRows, k, p.x.Cols())
	be.GetRows(rows, p.x, a.want)
	be.RMSNorm(rows, rows, o.norm, p.hp.NormEps)
	return rows
}

// hidden copies the wanted rows' final hidden states, normed, to the host.
func (p *pass) hidden(o *outputHead, dst []float32) error {
	rows := p.normedRows(o)
	if rows == nil {
		return nil
	}
	return p.be.ToHost(dst[:rows.Elements()], rows)
}

// output applies the final norm and the output projection to the rows of
// x whose logits are wanted, and copies the logits to the host.
func (p *pass) output(o *outputHead, logits []float32) error {
	be, a := p.be, p.a
	rows := p.normedRows(o)
	if rows == nil {
		return nil
	}
	k := rows.Rows()
	out := a.tensor(bufLogits, k, o.proj.Rows())
	p.project(out, o.proj, o.bias, rows)
	dst := logits[:k*o.proj.Rows()]
	if err := be.ToHost(dst, out); err != nil {
		return err
	}
	if c := o.softCap; c > 0 {
		// As ggml: scale by 1/cap, tanh, scale by cap, in float32.
		inv := 1 / c
		for i, v := range dst {
			dst[i] = float32(math.Tanh(float64(v*inv))) * c
		}
	}
	return nil
}
