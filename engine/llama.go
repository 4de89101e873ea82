package engine

import (
	"fmt"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// llama is the Llama architecture (Llama 1/2/3, Mistral, TinyLlama,
// SmolLM): pre-norm decoder blocks of grouped-query attention with rotary
// positions and a SwiGLU feed-forward. Qwen 2, Qwen 3 and Phi-3 run this
// same graph and differ only in their weights and rope (see llamaVariant).
type llama struct {
	decoder
	layers []llamaLayer
	rope   kernels.RopeParams // for queries; keys differ only in head count
	attn   kernels.AttentionParams
	// qScale, when not 0, scales the queries instead of the scores.
	qScale float32
	// ropeLong replaces the rope frequency factors (LongRoPE's short ones)
	// when the context exceeds the original training context.
	ropeLong []float32
}

type llamaLayer struct {
	attnNorm *kernels.Tensor
	attn     attnLayer
	ffnNorm  *kernels.Tensor
	ffn      ffnLayer
}

// llamaVariant is what distinguishes the architectures that share the
// Llama graph.
type llamaVariant struct {
	neox      bool // rotate (i, i+d/2) pairs rather than (2i, 2i+1)
	headNorms bool // per-head RMSNorm of queries and keys before rope
	fusedUp   bool // one ffn_up holds the gate's and the up projection's rows
	// scaleQ scales queries by 1/sqrt(head size) before attention rather
	// than the scores (the same up to rounding; llama.cpp does so for Phi-3).
	scaleQ bool
	// longRope always looks for rope_factors_long/short (Phi-3); otherwise
	// only when rope.scaling.type is longrope, and rope_freqs otherwise.
	longRope bool
	// partialRope allows rope.dimension_count below the head size, which
	// llama.cpp rejects for Llama and Qwen.
	partialRope bool
}

func loadLlama(f *gguf.File, be kernels.Backend) (Model, error) {
	return newLlama(f, be, llamaVariant{})
}

// newLlama reads the hyperparameters and loads the Llama graph's weights
// for variant v.
func newLlama(f *gguf.File, be kernels.Backend, v llamaVariant) (Model, error) {
	hp, err := readHParams(f)
	if err != nil {
		return nil, err
	}
	if hp.RopeDims != hp.HeadDim && !v.partialRope {
		return nil, fmt.Errorf("engine: %s = %d: %s rotates whole heads of %d", f.ArchKey("rope.dimension_count"), hp.RopeDims, hp.Arch, hp.HeadDim)
	}
	hp.RopeNeoX = v.neox
	w := &weights{f: f, be: be}
	m := &llama{decoder: loadDecoder(w, hp)}
	m.run = m.forward
	for i := 0; i < hp.Layers; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		m.layers = append(m.layers, llamaLayer{
			attnNorm: w.vec(p+"attn_norm.weight", hp.Embd),
			attn:     w.attention(p, hp, v.headNorms),
			ffnNorm:  w.vec(p+"ffn_norm.weight", hp.Embd),
			ffn:      w.ffn(p, hp, v.fusedUp),
		})
	}
	m.rope = ropeFor(hp, hp.RopeBase, hp.RopeScale)
	// Frequency factors are one tensor for all layers (llama.cpp points
	// every layer at it).
	if v.longRope || hp.RopeScaling == "longrope" {
		m.rope.FreqFactors = w.hostFloats("rope_factors_short.weight", hp.RopeDims/2)
		m.ropeLong = w.hostFloats("rope_factors_long.weight", hp.RopeDims/2)
	} else {
		m.rope.FreqFactors = w.hostFloats("rope_freqs.weight", hp.RopeDims/2)
	}
	if w.err != nil {
		return nil, w.err
	}
	m.attn = attentionFor(hp, 0)
	if v.scaleQ {
		m.qScale, m.attn.Scale = m.attn.Scale, 1
	}
	return m, nil
}

// forward runs b through the embedding and the layers.
func (m *llama) forward(b *kernels.Batch, cache *kernels.KVCache) *pass {
	hp, be := m.hp, m.be
	p := m.act.begin(hp, b, cache)
	rope := m.rope
	if m.ropeLong != nil && cache.Ctx > hp.RopeOrigCtx {
		// llama.cpp picks the long factors by the context size, so that
		// a sequence's rotation does not change as it grows.
		rope.FreqFactors = m.ropeLong
	}

	be.GetRows(p.x, m.tokEmbd, b.Tokens)
	for l := range m.layers {
		ly := &m.layers[l]
		// Attention: x += wo · attend(rope(wq·h), rope(wk·h), wv·h).
		be.RMSNorm(p.h, p.x, ly.attnNorm, hp.NormEps)
		p.attention(l, &ly.attn, rope, m.attn, m.qScale)
		be.Add(p.x, p.x, p.h)

		// Feed-forward: x += down · (silu(gate·h) ⊙ up·h).
		be.RMSNorm(p.h, p.x, ly.ffnNorm, hp.NormEps)
		p.ffn(&ly.ffn, false)
		be.Add(p.x, p.x, p.h)
	}
	return p
}
