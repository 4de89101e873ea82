package engine

import (
	"fmt"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// llama is the Llama architecture (Llama 1/2/3, Mistral, TinyLlama,
// SmolLM): pre-norm decoder blocks of grouped-query attention with rotary
// positions and a SwiGLU feed-forward.
type llama struct {
	hp      *HParams
	be      kernels.Backend
	tokEmbd *kernels.Tensor
	layers  []llamaLayer
	outNorm *kernels.Tensor
	output  *kernels.Tensor // the token embedding when tied

	rope kernels.RopeParams // for queries; keys differ only in head count
	attn kernels.AttentionParams
	act  activations
}

type llamaLayer struct {
	attnNorm, wq, wk, wv, wo *kernels.Tensor
	ffnNorm, gate, up, down  *kernels.Tensor
}

func loadLlama(f *gguf.File, be kernels.Backend) (Model, error) {
	hp, err := readHParams(f)
	if err != nil {
		return nil, err
	}
	w := &weights{f: f, be: be}
	m := &llama{hp: hp, be: be, act: activations{be: be}}
	m.tokEmbd = w.get("token_embd.weight", -1, hp.Embd)
	if m.tokEmbd != nil {
		hp.Vocab = m.tokEmbd.Rows()
	}
	q, kv := hp.Heads*hp.HeadDim, hp.KVDim()
	for i := 0; i < hp.Layers; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		m.layers = append(m.layers, llamaLayer{
			attnNorm: w.get(p+"attn_norm.weight", hp.Embd),
			wq:       w.get(p+"attn_q.weight", q, hp.Embd),
			wk:       w.get(p+"attn_k.weight", kv, hp.Embd),
			wv:       w.get(p+"attn_v.weight", kv, hp.Embd),
			wo:       w.get(p+"attn_output.weight", hp.Embd, q),
			ffnNorm:  w.get(p+"ffn_norm.weight", hp.Embd),
			gate:     w.get(p+"ffn_gate.weight", hp.FF, hp.Embd),
			up:       w.get(p+"ffn_up.weight", hp.FF, hp.Embd),
			down:     w.get(p+"ffn_down.weight", hp.Embd, hp.FF),
		})
	}
	m.outNorm = w.get("output_norm.weight", hp.Embd)
	m.output = w.optional("output.weight", hp.Vocab, hp.Embd)
	if m.output == nil {
		m.output = m.tokEmbd
	}
	m.rope = ropeFor(hp, hp.Heads, hp.RopeBase)
	if ff := w.optional("rope_freqs.weight", hp.RopeDims/2); ff != nil {
		m.rope.FreqFactors = make([]float32, hp.RopeDims/2)
		if err := be.ToHost(m.rope.FreqFactors, ff); err != nil {
			return nil, err
		}
	}
	if w.err != nil {
		return nil, w.err
	}
	m.attn = attentionFor(hp, 0)
	return m, nil
}

func (m *llama) HParams() *HParams { return m.hp }

func (m *llama) Forward(b *kernels.Batch, cache *kernels.KVCache, logits []float32) error {
	hp, be, a := m.hp, m.be, &m.act
	n := len(b.Tokens)
	ropeK := m.rope
	ropeK.Heads = hp.KVHeads

	x := a.tensor(bufX, n, hp.Embd)
	h := a.tensor(bufH, n, hp.Embd)
	q := a.tensor(bufQ, n, hp.Heads*hp.HeadDim)
	k := a.tensor(bufK, n, hp.KVDim())
	v := a.tensor(bufV, n, hp.KVDim())
	att := a.tensor(bufAtt, n, hp.Heads*hp.HeadDim)
	gate := a.tensor(bufGate, n, hp.FF)
	up := a.tensor(bufUp, n, hp.FF)

	be.GetRows(x, m.tokEmbd, b.Tokens)
	for l, ly := range m.layers {
		// Attention: x += wo · attend(rope(wq·h), rope(wk·h), wv·h).
		be.RMSNorm(h, x, ly.attnNorm, hp.NormEps)
		be.MatMul(q, ly.wq, h)
		be.MatMul(k, ly.wk, h)
		be.MatMul(v, ly.wv, h)
		be.Rope(q, b.Pos, m.rope)
		be.Rope(k, b.Pos, ropeK)
		be.StoreKV(cache, l, k, v, b)
		be.Attention(att, q, cache, l, b, m.attn)
		be.MatMul(h, ly.wo, att)
		be.Add(x, x, h)

		// Feed-forward: x += down · (silu(gate·h) ⊙ up·h).
		be.RMSNorm(h, x, ly.ffnNorm, hp.NormEps)
		be.MatMul(gate, ly.gate, h)
		be.MatMul(up, ly.up, h)
		be.SiLUMul(gate, gate, up)
		be.MatMul(h, ly.down, gate)
		be.Add(x, x, h)
	}
	return output(be, a, x, b, m.outNorm, m.output, hp.NormEps, logits)
}
