package engine

import (
	"fmt"
	"math"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// gemma3 is Google's Gemma 3 (text): decoder blocks normed before and
// after both attention and feed-forward, per-head RMSNorm of queries and
// keys, a GeGLU feed-forward, token embeddings scaled by sqrt(embedding),
// and, when attention.sliding_window is set, five sliding-window layers to
// each global one; the windowed layers rotate with their own rope base and
// no frequency scaling. The output is tied to the embedding. (Converters
// have already added Gemma's +1 to every norm weight.)
type gemma3 struct {
	decoder
	layers   []gemma3Layer
	embScale float32 // sqrt(embedding size)
	qScale   float32 // the scores' scale
}

type gemma3Layer struct {
	attnNorm     *kernels.Tensor
	attn         attnLayer
	postAttnNorm *kernels.Tensor
	ffnNorm      *kernels.Tensor
	ffn          ffnLayer
	postFFNNorm  *kernels.Tensor

	rope   kernels.RopeParams
	window kernels.AttentionParams
}

func loadGemma3(f *gguf.File, be kernels.Backend) (Model, error) {
	hp, err := readHParams(f)
	if err != nil {
		return nil, err
	}
	hp.RopeNeoX = true
	if err := readSlidingWindow(f, hp, 6); err != nil {
		return nil, err
	}
	w := &weights{f: f, be: be}
	m := &gemma3{decoder: loadDecoder(w, hp)}
	m.run = m.forward
	if m.head.softCap, err = (meta{f}).floatOr("final_logit_softcapping", 0); err != nil {
		return nil, err
	}
	if c := m.head.softCap; math.IsNaN(float64(c)) || c < 0 {
		return nil, fmt.Errorf("engine: %s = %g", f.ArchKey("final_logit_softcapping"), c)
	}
	m.embScale = float32(math.Sqrt(float64(hp.Embd)))
	// As llama.cpp (after gemma_pytorch): 1/sqrt(head size), but
	// 1/sqrt(embedding/heads) for the 27B model, known by its 62 layers;
	// query_pre_attn_scalar is not in the files.
	m.qScale = invSqrt(hp.HeadDim)
	if hp.Layers == 62 {
		m.qScale = invSqrt(hp.Embd / hp.Heads)
	}
	for i := 0; i < hp.Layers; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		ly := gemma3Layer{
			attnNorm:     w.vec(p+"attn_norm.weight", hp.Embd),
			attn:         w.attention(p, hp, true),
			postAttnNorm: w.vec(p+"post_attention_norm.weight", hp.Embd),
			ffnNorm:      w.vec(p+"ffn_norm.weight", hp.Embd),
			ffn:          w.ffn(p, hp, false),
			postFFNNorm:  w.vec(p+"post_ffw_norm.weight", hp.Embd),
			rope:         ropeFor(hp, hp.RopeBase, hp.RopeScale),
			window:       attentionFor(hp, 0),
		}
		if hp.SWALayers != nil && hp.SWALayers[i] {
			ly.rope = ropeFor(hp, hp.RopeBaseSWA, 1)
			ly.window.Window = hp.Window
		}
		// llama.cpp scales the scores (soft_max_ext), not the queries:
		// the same up to binary16 rounding of small query values.
		ly.window.Scale = m.qScale
		m.layers = append(m.layers, ly)
	}
	if w.err != nil {
		return nil, w.err
	}
	return m, nil
}

// forward runs b through the embedding and the layers.
func (m *gemma3) forward(b *kernels.Batch, cache *kernels.KVCache) *pass {
	hp, be := m.hp, m.be
	p := m.act.begin(hp, b, cache)

	be.GetRows(p.x, m.tokEmbd, b.Tokens)
	be.Scale(p.x, m.embScale)
	for l := range m.layers {
		ly := &m.layers[l]
		// Attention, normed on the way in and out:
		// x += norm(wo · attend(rope(norm(wq·h)), rope(norm(wk·h)), wv·h)).
		be.RMSNorm(p.h, p.x, ly.attnNorm, hp.NormEps)
		p.attention(l, &ly.attn, ly.rope, ly.window, 0)
		be.RMSNorm(p.h, p.h, ly.postAttnNorm, hp.NormEps)
		be.Add(p.x, p.x, p.h)

		// Feed-forward: x += norm(down · (gelu(gate·h) ⊙ up·h)).
		be.RMSNorm(p.h, p.x, ly.ffnNorm, hp.NormEps)
		p.ffn(&ly.ffn, true)
		be.RMSNorm(p.h, p.h, ly.postFFNNorm, hp.NormEps)
		be.Add(p.x, p.x, p.h)
	}
	return p
}
