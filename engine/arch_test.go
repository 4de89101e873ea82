package engine

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels/cpu"
)

// The architectures are tested on tiny random models written in the test,
// against refForward: a plain float64 transformer over the same
// (dequantized) weights, written from the architectures' definitions in
// llama.cpp and kept apart from the engine's code. Each architecture's
// features are then switched off in the reference one at a time; the
// engine must disagree with every such variant, so the comparison pins the
// feature rather than passing by accident.

// tinyModel is a model file being built: metadata and named tensors.
type tinyModel struct {
	arch    string
	kv      []gguf.KV
	tensors []tinyTensor
	rng     *rand.Rand
	wtype   gguf.Type // type of the matrices; vectors stay F32
}

type tinyTensor struct {
	name  string
	shape []int // outermost first
	typ   gguf.Type
	data  []float32
}

func newTiny(arch string, wtype gguf.Type, seed uint64) *tinyModel {
	m := &tinyModel{arch: arch, wtype: wtype, rng: rand.New(rand.NewPCG(seed, 7))}
	m.set("general.architecture", arch)
	return m
}

// set adds a metadata key; a key starting with "." is prefixed with the
// architecture.
func (m *tinyModel) set(key string, v any) {
	if strings.HasPrefix(key, ".") {
		key = m.arch + key
	}
	val, err := gguf.ValueOf(v)
	if err != nil {
		panic(err)
	}
	m.kv = slices.DeleteFunc(m.kv, func(kv gguf.KV) bool { return kv.Key == key })
	m.kv = append(m.kv, gguf.KV{Key: key, Value: val})
}

// hparams sets the keys every architecture reads.
func (m *tinyModel) hparams(embd, layers, ff, heads, kvHeads, headDim int) {
	m.set(".embedding_length", uint32(embd))
	m.set(".block_count", uint32(layers))
	m.set(".feed_forward_length", uint32(ff))
	m.set(".attention.head_count", uint32(heads))
	m.set(".attention.head_count_kv", uint32(kvHeads))
	m.set(".attention.key_length", uint32(headDim))
	m.set(".attention.value_length", uint32(headDim))
	m.set(".attention.layer_norm_rms_epsilon", float32(1e-6))
	m.set(".context_length", uint32(64))
}

// add adds a tensor of random values: std scale around center.
func (m *tinyModel) add(name string, center, scale float64, shape ...int) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(center + scale*m.rng.NormFloat64())
	}
	typ := gguf.TypeF32
	if len(shape) == 2 {
		typ = m.wtype
	}
	m.tensors = append(m.tensors, tinyTensor{name, shape, typ, data})
}

// matrix adds a rows×cols weight scaled to keep activations near 1.
func (m *tinyModel) matrix(name string, rows, cols int) {
	m.add(name, 0, 1/math.Sqrt(float64(cols)), rows, cols)
}

func (m *tinyModel) norm(name string, n int) { m.add(name, 1, 0.2, n) }

func (m *tinyModel) drop(name string) {
	m.tensors = slices.DeleteFunc(m.tensors, func(t tinyTensor) bool { return t.name == name })
}

func (m *tinyModel) tensor(name string) *tinyTensor {
	for i := range m.tensors {
		if m.tensors[i].name == name {
			return &m.tensors[i]
		}
	}
	panic("no tensor " + name)
}

// file writes the model and parses it back.
func (m *tinyModel) file(t *testing.T) *gguf.File {
	t.Helper()
	infos := make([]gguf.TensorInfo, len(m.tensors))
	for i, x := range m.tensors {
		dims := make([]uint64, len(x.shape))
		for j, d := range x.shape {
			dims[len(dims)-1-j] = uint64(d)
		}
		infos[i] = gguf.TensorInfo{Name: x.name, Dims: dims, Type: x.typ}
	}
	var buf bytes.Buffer
	w, err := gguf.NewWriter(&buf, m.kv, infos)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range m.tensors {
		b := make([]byte, infos[i].Size())
		x.typ.Traits().Quantize(b, x.data)
		if err := w.WriteTensor(b); err != nil {
			t.Fatal(err)
		}
	}
	var f *gguf.File
	if err = w.Close(); err == nil {
		f, err = gguf.Parse(buf.Bytes())
	}
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Model shapes: embedding 64, 4 heads over 2 KV heads, feed-forward 96
// (multiples of 32, so every matrix can be Q8_0), a vocabulary of 40.
const (
	tEmbd, tFF, tHeads, tKVHeads, tVocab = 64, 96, 4, 2, 40
)

// layerWeights adds one layer's attention and feed-forward weights under
// the usual names (separate Q, K, V and gate, up).
func (m *tinyModel) layerWeights(i, heads, kvHeads, headDim int) {
	p := fmt.Sprintf("blk.%d.", i)
	q, kv := heads*headDim, kvHeads*headDim
	m.norm(p+"attn_norm.weight", tEmbd)
	m.matrix(p+"attn_q.weight", q, tEmbd)
	m.matrix(p+"attn_k.weight", kv, tEmbd)
	m.matrix(p+"attn_v.weight", kv, tEmbd)
	m.matrix(p+"attn_output.weight", tEmbd, q)
	m.norm(p+"ffn_norm.weight", tEmbd)
	m.matrix(p+"ffn_gate.weight", tFF, tEmbd)
	m.matrix(p+"ffn_up.weight", tFF, tEmbd)
	m.matrix(p+"ffn_down.weight", tEmbd, tFF)
}

func (m *tinyModel) embeddings(tied bool) {
	// Small enough that tied output logits stay near 1.
	m.add("token_embd.weight", 0, 1/math.Sqrt(tEmbd), tVocab, tEmbd)
	m.norm("output_norm.weight", tEmbd)
	if !tied {
		m.matrix("output.weight", tVocab, tEmbd)
	}
}

// tinyDecoder starts a model of layers layers, heads of headDim over
// kvHeads KV heads, with its embeddings and rope base.
func tinyDecoder(arch string, wt gguf.Type, seed uint64, layers, kvHeads, headDim int, base float32, tied bool) *tinyModel {
	m := newTiny(arch, wt, seed)
	m.hparams(tEmbd, layers, tFF, tHeads, kvHeads, headDim)
	m.set(".rope.freq_base", base)
	m.embeddings(tied)
	return m
}

func tinyLlama(wt gguf.Type) *tinyModel {
	m := tinyDecoder("llama", wt, 1, 2, tKVHeads, 16, 500, false)
	for i := range 2 {
		m.layerWeights(i, tHeads, tKVHeads, 16)
	}
	m.add("rope_freqs.weight", 2, 0.5, 8) // Llama 3's per-pair divisors
	return m
}

func tinyQwen2(wt gguf.Type) *tinyModel {
	m := tinyDecoder("qwen2", wt, 2, 2, tKVHeads, 16, 1000, true)
	m.add("output.bias", 0, 0.5, tVocab)
	for i := range 2 {
		m.layerWeights(i, tHeads, tKVHeads, 16)
		for _, b := range []struct {
			name string
			n    int
		}{{"attn_q", tHeads * 16}, {"attn_k", tKVHeads * 16}, {"attn_v", tKVHeads * 16}} {
			m.add(fmt.Sprintf("blk.%d.%s.bias", i, b.name), 0, 0.5, b.n)
		}
	}
	return m
}

// tinyQwen2YaRN is Qwen 2 with YaRN context extension.
func tinyQwen2YaRN(wt gguf.Type) *tinyModel {
	m := tinyQwen2(wt)
	m.set(".rope.freq_base", float32(100))
	m.set(".rope.scaling.type", "yarn")
	m.set(".rope.scaling.factor", float32(4))
	m.set(".rope.scaling.original_context_length", uint32(64))
	return m
}

// headNorms adds per-head Q and K norm weights to layer i.
func (m *tinyModel) headNorms(i, headDim int) {
	m.norm(fmt.Sprintf("blk.%d.attn_q_norm.weight", i), headDim)
	m.norm(fmt.Sprintf("blk.%d.attn_k_norm.weight", i), headDim)
}

func tinyQwen3(wt gguf.Type) *tinyModel {
	// Head size 32: the query width (128) is not the embedding's.
	m := tinyDecoder("qwen3", wt, 3, 2, tKVHeads, 32, 1000, false)
	for i := range 2 {
		m.layerWeights(i, tHeads, tKVHeads, 32)
		m.headNorms(i, 32)
	}
	return m
}

// tinyPhi3 has Phi-3's fused weights, partial rotary dimensions (12 of 16,
// as Phi-4-mini) and LongRoPE factors for an original context of 16.
func tinyPhi3(wt gguf.Type) *tinyModel {
	m := tinyDecoder("phi3", wt, 4, 2, tKVHeads, 16, 1000, false)
	m.set(".rope.dimension_count", uint32(12))
	m.set(".rope.scaling.attn_factor", float32(1.19))
	m.set(".rope.scaling.original_context_length", uint32(16))
	m.set(".attention.sliding_window", uint32(4)) // ignored, as by llama.cpp
	for i := range 2 {
		p := fmt.Sprintf("blk.%d.", i)
		m.norm(p+"attn_norm.weight", tEmbd)
		m.matrix(p+"attn_qkv.weight", (tHeads+2*tKVHeads)*16, tEmbd)
		m.matrix(p+"attn_output.weight", tEmbd, tHeads*16)
		m.norm(p+"ffn_norm.weight", tEmbd)
		m.matrix(p+"ffn_up.weight", 2*tFF, tEmbd)
		m.matrix(p+"ffn_down.weight", tEmbd, tFF)
	}
	m.add("rope_factors_short.weight", 1.5, 0.3, 6)
	m.add("rope_factors_long.weight", 4, 1, 6)
	return m
}

// tinyGemma3 has three layers, the third global (pattern period 3), a
// window of 4, distinct rope bases and linear scaling of the global
// layers, and a final logit soft-cap.
func tinyGemma3(wt gguf.Type) *tinyModel {
	m := tinyDecoder("gemma3", wt, 5, 3, 1, 32, 1000, true)
	m.set(".rope.freq_base_swa", float32(50))
	m.set(".rope.scaling.type", "linear")
	m.set(".rope.scaling.factor", float32(2))
	m.set(".attention.sliding_window", uint32(4))
	m.set(".attention.sliding_window_pattern", uint32(3))
	m.set(".final_logit_softcapping", float32(3))
	for i := range 3 {
		m.layerWeights(i, tHeads, 1, 32)
		m.headNorms(i, 32)
		p := fmt.Sprintf("blk.%d.", i)
		m.norm(p+"post_attention_norm.weight", tEmbd)
		m.norm(p+"post_ffw_norm.weight", tEmbd)
	}
	return m
}

// tinyGemma3Flags names the windowed layers with one bool per layer and
// leaves rope.freq_base_swa to its default; no soft-cap.
func tinyGemma3Flags(wt gguf.Type) *tinyModel {
	m := tinyGemma3(wt)
	m.set(".attention.sliding_window_pattern", []bool{true, false, true})
	m.kv = slices.DeleteFunc(m.kv, func(kv gguf.KV) bool {
		return kv.Key == "gemma3.rope.freq_base_swa" || kv.Key == "gemma3.final_logit_softcapping" || strings.HasPrefix(kv.Key, "gemma3.rope.scaling")
	})
	return m
}

// refConfig is the reference's description of an architecture, stated
// independently of the engine's HParams.
type refConfig struct {
	layers, heads, kvHeads, headDim, ropeDims int
	neox                                      bool
	ropeBase, freqScale                       []float64 // per layer
	window                                    []int     // per layer; 0: none
	factors                                   string    // frequency-factor tensor; "": none
	ropeMag                                   float64   // multiplies cos and sin
	yarn                                      *refYaRN
	attnScale                                 float64
	embScale                                  float64 // 0: none
	headNorms, postNorms, bias                bool
	gelu                                      bool
	fusedQKV, fusedUp                         bool
	softCap                                   float64
}

type refYaRN struct{ origCtx int }

// refForward returns the logits after each token, in float64, over the
// weights in f dequantized.
func refForward(t *testing.T, f *gguf.File, c refConfig, tokens []int32) [][]float64 {
	t.Helper()
	return refRun(t, f, c, tokens).logits
}

// refOutputs are the reference's outputs for each token: the logits, the
// final hidden state (after the output norm) and the residual stream
// before that norm.
type refOutputs struct {
	logits, hidden, residual [][]float64
}

func refRun(t *testing.T, f *gguf.File, c refConfig, tokens []int32) refOutputs {
	t.Helper()
	mat := func(name string) [][]float64 {
		info, data, err := f.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		cols := int(info.Dims[0])
		flat := make([]float32, info.Elements())
		info.Type.Traits().Dequantize(flat, data)
		rows := make([][]float64, len(flat)/cols)
		for r := range rows {
			rows[r] = make([]float64, cols)
			for j := range cols {
				rows[r][j] = float64(flat[r*cols+j])
			}
		}
		return rows
	}
	vec := func(name string) []float64 { return mat(name)[0] }
	optVec := func(name string) []float64 {
		if _, _, err := f.Tensor(name); err != nil {
			return nil
		}
		return vec(name)
	}
	emb := mat("token_embd.weight")
	out := emb
	if _, _, err := f.Tensor("output.weight"); err == nil {
		out = mat("output.weight")
	}
	var factors []float64
	if c.factors != "" {
		factors = vec(c.factors)
	}
	hd, q, kvw := c.headDim, c.heads*c.headDim, c.kvHeads*c.headDim
	type layer struct {
		attnNorm, ffnNorm, postAttn, postFFN, qn, kn, bq, bk, bv []float64
		wq, wk, wv, wo, gate, up, down                           [][]float64
	}
	ls := make([]layer, c.layers)
	for i := range ls {
		p := fmt.Sprintf("blk.%d.", i)
		l := &ls[i]
		l.attnNorm, l.ffnNorm = vec(p+"attn_norm.weight"), vec(p+"ffn_norm.weight")
		if c.fusedQKV {
			w := mat(p + "attn_qkv.weight")
			l.wq, l.wk, l.wv = w[:q], w[q:q+kvw], w[q+kvw:]
		} else {
			l.wq, l.wk, l.wv = mat(p+"attn_q.weight"), mat(p+"attn_k.weight"), mat(p+"attn_v.weight")
		}
		if c.bias {
			l.bq, l.bk, l.bv = vec(p+"attn_q.bias"), vec(p+"attn_k.bias"), vec(p+"attn_v.bias")
		}
		l.wo = mat(p + "attn_output.weight")
		if c.fusedUp {
			w := mat(p + "ffn_up.weight")
			l.gate, l.up = w[:len(w)/2], w[len(w)/2:]
		} else {
			l.gate, l.up = mat(p+"ffn_gate.weight"), mat(p+"ffn_up.weight")
		}
		l.down = mat(p + "ffn_down.weight")
		if c.headNorms {
			l.qn, l.kn = vec(p+"attn_q_norm.weight"), vec(p+"attn_k_norm.weight")
		}
		if c.postNorms {
			l.postAttn, l.postFFN = vec(p+"post_attention_norm.weight"), vec(p+"post_ffw_norm.weight")
		}
	}
	outBias := optVec("output.bias")
	if !c.bias {
		outBias = nil
	}
	outNorm := vec("output_norm.weight")

	matVec := func(w [][]float64, x, b []float64) []float64 {
		y := make([]float64, len(w))
		for r, row := range w {
			for j, v := range row {
				y[r] += v * x[j]
			}
			if b != nil {
				y[r] += b[r]
			}
		}
		return y
	}
	rms := func(x, w []float64) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		s := 1 / math.Sqrt(ss/float64(len(x))+1e-6)
		y := make([]float64, len(x))
		for i, v := range x {
			y[i] = v * s
			if w != nil {
				y[i] *= w[i]
			}
		}
		return y
	}
	rope := func(x []float64, pos int, l int) {
		d := c.ropeDims
		for h := 0; h < len(x)/hd; h++ {
			row := x[h*hd : (h+1)*hd]
			for i := 0; i < d/2; i++ {
				extrap := float64(pos) * math.Pow(c.ropeBase[l], -2*float64(i)/float64(d))
				if factors != nil {
					extrap /= factors[i]
				}
				theta, mag := extrap*c.freqScale[l], c.ropeMag
				if c.yarn != nil {
					// YaRN: interpolate the slow pairs, keep the fast ones,
					// ramping between the dimensions where 32 and 1
					// rotations fit the original context.
					corr := func(rot float64) float64 {
						return float64(d) * math.Log(float64(c.yarn.origCtx)/(rot*2*math.Pi)) / (2 * math.Log(c.ropeBase[l]))
					}
					low, high := max(0, math.Floor(corr(32))), min(float64(d-1), math.Ceil(corr(1)))
					mix := 1 - min(1, max(0, (float64(i)-low)/max(0.001, high-low)))
					theta = theta*(1-mix) + extrap*mix
					mag *= 1 + 0.1*math.Log(1/c.freqScale[l])
				}
				a, b := 2*i, 2*i+1
				if c.neox {
					a, b = i, i+d/2
				}
				x0, x1 := row[a], row[b]
				cs, sn := math.Cos(theta)*mag, math.Sin(theta)*mag
				row[a], row[b] = x0*cs-x1*sn, x0*sn+x1*cs
			}
		}
	}
	headNorm := func(x, w []float64) {
		for h := 0; h < len(x)/hd; h++ {
			copy(x[h*hd:(h+1)*hd], rms(x[h*hd:(h+1)*hd], w))
		}
	}
	act := func(g float64) float64 {
		if c.gelu {
			// The tanh approximation, through binary16 in and out as
			// ggml's CPU backend tabulates it (between ±10).
			half := func(v float64) float64 { return float64(gguf.HalfToFloat32(gguf.Float32ToHalf(float32(v)))) }
			if math.Abs(g) < 10 {
				g = half(g)
				return half(0.5 * g * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(g+0.044715*g*g*g))))
			}
			return max(g, 0)
		}
		return g / (1 + math.Exp(-g))
	}

	keys := make([][][]float64, c.layers) // [layer][pos]
	vals := make([][][]float64, c.layers)
	var res refOutputs
	for pos, tok := range tokens {
		x := slices.Clone(emb[tok])
		if c.embScale != 0 {
			for i := range x {
				x[i] *= c.embScale
			}
		}
		for li := range ls {
			l := &ls[li]
			h := rms(x, l.attnNorm)
			qv, kv, vv := matVec(l.wq, h, l.bq), matVec(l.wk, h, l.bk), matVec(l.wv, h, l.bv)
			if c.headNorms {
				headNorm(qv, l.qn)
				headNorm(kv, l.kn)
			}
			rope(qv, pos, li)
			rope(kv, pos, li)
			keys[li] = append(keys[li], kv)
			vals[li] = append(vals[li], vv)
			att := make([]float64, q)
			for hq := 0; hq < c.heads; hq++ {
				g := hq / (c.heads / c.kvHeads)
				start := 0
				if w := c.window[li]; w > 0 {
					start = max(0, pos-w+1)
				}
				scores := make([]float64, pos+1-start)
				mx := math.Inf(-1)
				for j := range scores {
					k := keys[li][start+j][g*hd : (g+1)*hd]
					for d := range hd {
						scores[j] += qv[hq*hd+d] * k[d]
					}
					scores[j] *= c.attnScale
					mx = max(mx, scores[j])
				}
				var sum float64
				for j := range scores {
					scores[j] = math.Exp(scores[j] - mx)
					sum += scores[j]
				}
				for j, p := range scores {
					v := vals[li][start+j][g*hd : (g+1)*hd]
					for d := range hd {
						att[hq*hd+d] += p / sum * v[d]
					}
				}
			}
			o := matVec(l.wo, att, nil)
			if c.postNorms {
				o = rms(o, l.postAttn)
			}
			for i := range x {
				x[i] += o[i]
			}
			h = rms(x, l.ffnNorm)
			gv, uv := matVec(l.gate, h, nil), matVec(l.up, h, nil)
			for i := range gv {
				gv[i] = act(gv[i]) * uv[i]
			}
			d := matVec(l.down, gv, nil)
			if c.postNorms {
				d = rms(d, l.postFFN)
			}
			for i := range x {
				x[i] += d[i]
			}
		}
		hidden := rms(x, outNorm)
		lg := matVec(out, hidden, outBias)
		if c.softCap > 0 {
			for i := range lg {
				lg[i] = c.softCap * math.Tanh(lg[i]/c.softCap)
			}
		}
		res.logits = append(res.logits, lg)
		res.hidden = append(res.hidden, hidden)
		res.residual = append(res.residual, x)
	}
	return res
}

func perLayer[T any](n int, v T) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// archCase is an architecture's tiny model, its reference configuration,
// the context its session gets, and the reference variants (each with a
// feature switched off or changed) that the engine must not match.
type archCase struct {
	name     string
	build    func(gguf.Type) *tinyModel
	ctx      int
	ref      refConfig
	variants map[string]func(*refConfig)
}

func archCases() []archCase {
	inv := func(n int) float64 { return 1 / math.Sqrt(float64(n)) }
	llama := refConfig{layers: 2, heads: tHeads, kvHeads: tKVHeads, headDim: 16, ropeDims: 16,
		ropeBase: perLayer(2, 500.0), freqScale: perLayer(2, 1.0), window: perLayer(2, 0),
		factors: "rope_freqs.weight", ropeMag: 1, attnScale: inv(16)}
	qwen2 := llama
	qwen2.neox, qwen2.bias, qwen2.factors = true, true, ""
	qwen2.ropeBase = perLayer(2, 1000.0)
	yarn := qwen2
	yarn.ropeBase, yarn.freqScale, yarn.yarn = perLayer(2, 100.0), perLayer(2, 0.25), &refYaRN{origCtx: 64}
	qwen3 := qwen2
	qwen3.bias, qwen3.headNorms, qwen3.headDim, qwen3.ropeDims, qwen3.attnScale = false, true, 32, 32, inv(32)
	phi3 := llama
	phi3.neox, phi3.fusedQKV, phi3.fusedUp, phi3.ropeDims = true, true, true, 12
	phi3.ropeBase, phi3.factors, phi3.ropeMag = perLayer(2, 1000.0), "rope_factors_short.weight", float64(float32(1.19))
	phi3Long := phi3
	phi3Long.factors = "rope_factors_long.weight"
	gemma := refConfig{layers: 3, heads: tHeads, kvHeads: 1, headDim: 32, ropeDims: 32, neox: true,
		ropeBase: []float64{50, 50, 1000}, freqScale: []float64{1, 1, 0.5}, window: []int{4, 4, 0},
		ropeMag: 1, attnScale: inv(32), embScale: math.Sqrt(tEmbd), headNorms: true, postNorms: true, gelu: true, softCap: 3}
	gemmaFlags := gemma
	gemmaFlags.ropeBase, gemmaFlags.freqScale, gemmaFlags.window = []float64{10000, 1000, 10000}, perLayer(3, 1.0), []int{4, 0, 4}
	gemmaFlags.softCap = 0

	return []archCase{
		{"llama", tinyLlama, 32, llama, map[string]func(*refConfig){
			"neox rope":       func(c *refConfig) { c.neox = true },
			"no rope_freqs":   func(c *refConfig) { c.factors = "" },
			"other rope base": func(c *refConfig) { c.ropeBase = perLayer(2, 10000.0) },
		}},
		{"qwen2", tinyQwen2, 32, qwen2, map[string]func(*refConfig){
			"normal rope": func(c *refConfig) { c.neox = false },
			"no biases":   func(c *refConfig) { c.bias = false },
		}},
		{"qwen2-yarn", tinyQwen2YaRN, 32, yarn, map[string]func(*refConfig){
			"linear scaling": func(c *refConfig) { c.yarn = nil },
			"no scaling":     func(c *refConfig) { c.yarn, c.freqScale = nil, perLayer(2, 1.0) },
		}},
		{"qwen3", tinyQwen3, 32, qwen3, map[string]func(*refConfig){
			"no head norms": func(c *refConfig) { c.headNorms = false },
			"normal rope":   func(c *refConfig) { c.neox = false },
		}},
		// A context within the original 16: the short factors.
		{"phi3-short", tinyPhi3, 16, phi3, map[string]func(*refConfig){
			"long factors":   func(c *refConfig) { c.factors = "rope_factors_long.weight" },
			"no attn factor": func(c *refConfig) { c.ropeMag = 1 },
			"8 rotated dims": func(c *refConfig) { c.ropeDims = 8 },
			"window":         func(c *refConfig) { c.window = perLayer(2, 4) },
		}},
		{"phi3-long", tinyPhi3, 32, phi3Long, map[string]func(*refConfig){
			"short factors": func(c *refConfig) { c.factors = "rope_factors_short.weight" },
		}},
		{"gemma3", tinyGemma3, 32, gemma, map[string]func(*refConfig){
			"no embedding scale":    func(c *refConfig) { c.embScale = 0 },
			"no post norms":         func(c *refConfig) { c.postNorms = false },
			"silu":                  func(c *refConfig) { c.gelu = false },
			"no window":             func(c *refConfig) { c.window = perLayer(3, 0) },
			"all windowed":          func(c *refConfig) { c.window = perLayer(3, 4) },
			"global base for swa":   func(c *refConfig) { c.ropeBase = perLayer(3, 1000.0) },
			"scaled swa":            func(c *refConfig) { c.freqScale = perLayer(3, 0.5) },
			"no soft-cap":           func(c *refConfig) { c.softCap = 0 },
			"no head norms":         func(c *refConfig) { c.headNorms = false },
			"embedding-size scale":  func(c *refConfig) { c.attnScale = inv(tEmbd / tHeads) },
			"window of 5 positions": func(c *refConfig) { c.window = []int{5, 5, 0} },
		}},
		{"gemma3-flags", tinyGemma3Flags, 32, gemmaFlags, map[string]func(*refConfig){
			"period 6": func(c *refConfig) { c.window, c.ropeBase = perLayer(3, 4), perLayer(3, 10000.0) },
		}},
	}
}

// engineLogprobs evaluates tokens with the engine, the first half as one
// batch and the rest one token at a time (both the prefill and the decode
// paths), with an F32 cache, and returns the log-softmax after each.
func engineLogprobs(t *testing.T, f *gguf.File, ctx int, tokens []int32) [][]float64 {
	t.Helper()
	be := cpu.New(2)
	defer be.Close()
	m, err := LoadModel(f, be)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(m, be, gguf.TypeF32, ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	vocab := m.HParams().Vocab
	var out [][]float64
	keep := func(logits []float32) {
		for i := 0; i < len(logits)/vocab; i++ {
			lp := LogSoftmax(nil, logits[i*vocab:(i+1)*vocab])
			row := make([]float64, vocab)
			for j, v := range lp {
				row[j] = float64(v)
			}
			out = append(out, row)
		}
	}
	half := len(tokens) / 2
	logits, err := s.Eval(0, tokens[:half], true)
	if err != nil {
		t.Fatal(err)
	}
	keep(logits)
	for _, tok := range tokens[half:] {
		if logits, err = s.Eval(0, []int32{tok}, false); err != nil {
			t.Fatal(err)
		}
		keep(logits)
	}
	return out
}

func logSoftmax64(x []float64) []float64 {
	mx := slices.Max(x)
	var sum float64
	for _, v := range x {
		sum += math.Exp(v - mx)
	}
	lse := mx + math.Log(sum)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v - lse
	}
	return out
}

func maxDiff(got [][]float64, ref [][]float64) float64 {
	var worst float64
	for i := range ref {
		want := logSoftmax64(ref[i])
		for j := range want {
			worst = max(worst, math.Abs(got[i][j]-want[j]))
		}
	}
	return worst
}

var tinyTokens = []int32{3, 17, 29, 5, 5, 38, 11, 0, 23, 31, 7, 19}

// TestArchitecturesMatchReference compares every architecture with the
// float64 reference for weights in F32, F16 and Q8_0 (the engine converts
// activations to the weights' dot type, so the tolerance grows with it),
// and checks that each reference variant with a feature changed is far
// from the engine.
func TestArchitecturesMatchReference(t *testing.T) {
	tolerance := map[gguf.Type]float64{gguf.TypeF32: 1e-3, gguf.TypeF16: 1e-2, gguf.TypeQ8_0: 0.1}
	for _, c := range archCases() {
		for _, wt := range []gguf.Type{gguf.TypeF32, gguf.TypeF16, gguf.TypeQ8_0} {
			t.Run(c.name+"/"+wt.String(), func(t *testing.T) {
				f := c.build(wt).file(t)
				got := engineLogprobs(t, f, c.ctx, tinyTokens)
				d := maxDiff(got, refForward(t, f, c.ref, tinyTokens))
				t.Logf("largest logprob difference from the reference: %.2g", d)
				if d > tolerance[wt] {
					t.Errorf("logprobs differ from the reference by %.3g (tolerance %g)", d, tolerance[wt])
				}
				if wt != gguf.TypeF32 {
					return
				}
				for name, change := range c.variants {
					v := c.ref
					change(&v)
					d := maxDiff(got, refForward(t, f, v, tinyTokens))
					t.Logf("the reference with %s differs by %.2g", name, d)
					if d < 20*tolerance[wt] {
						t.Errorf("the reference with %s is only %.3g from the engine: the test does not pin it", name, d)
					}
				}
			})
		}
	}
}

// TestArchitecturesMalformed checks that broken files fail to load with an
// error naming what is wrong.
func TestArchitecturesMalformed(t *testing.T) {
	cases := []struct {
		name  string
		build func() *tinyModel
		want  []string // substrings of the error
	}{
		{"unknown architecture", func() *tinyModel {
			m := tinyQwen2(gguf.TypeF32)
			m.set("general.architecture", "mamba")
			return m
		}, []string{`"mamba"`, "not supported", "gemma3", "qwen2"}},
		{"missing key", func() *tinyModel {
			m := tinyQwen3(gguf.TypeF32)
			m.kv = slices.DeleteFunc(m.kv, func(kv gguf.KV) bool { return kv.Key == "qwen3.block_count" })
			return m
		}, []string{"qwen3.block_count"}},
		{"missing head norm", func() *tinyModel {
			m := tinyQwen3(gguf.TypeF32)
			m.drop("blk.1.attn_k_norm.weight")
			return m
		}, []string{`"blk.1.attn_k_norm.weight"`, "missing"}},
		{"missing post norm", func() *tinyModel {
			m := tinyGemma3(gguf.TypeF32)
			m.drop("blk.2.post_ffw_norm.weight")
			return m
		}, []string{`"blk.2.post_ffw_norm.weight"`}},
		{"bias of the wrong length", func() *tinyModel {
			m := tinyQwen2(gguf.TypeF32)
			b := m.tensor("blk.0.attn_k.bias")
			b.shape, b.data = []int{16}, b.data[:16]
			return m
		}, []string{`"blk.0.attn_k.bias"`, "[16]", "[32]"}},
		{"fused QKV of the wrong height", func() *tinyModel {
			m := tinyPhi3(gguf.TypeF32)
			w := m.tensor("blk.0.attn_qkv.weight")
			w.shape, w.data = []int{64, tEmbd}, w.data[:64*tEmbd]
			return m
		}, []string{`"blk.0.attn_qkv.weight"`, "[64 64]", "[128 64]"}},
		{"unfused up in Phi-3", func() *tinyModel {
			m := tinyPhi3(gguf.TypeF32)
			w := m.tensor("blk.1.ffn_up.weight")
			w.shape, w.data = []int{tFF, tEmbd}, w.data[:tFF*tEmbd]
			return m
		}, []string{`"blk.1.ffn_up.weight"`, "[192 64]"}},
		{"F16 norm", func() *tinyModel {
			m := tinyQwen2(gguf.TypeF32)
			m.tensor("blk.0.ffn_norm.weight").typ = gguf.TypeF16
			return m
		}, []string{`"blk.0.ffn_norm.weight"`, "F16", "want F32"}},
		{"window pattern of the wrong length", func() *tinyModel {
			m := tinyGemma3(gguf.TypeF32)
			m.set(".attention.sliding_window_pattern", []bool{true, false})
			return m
		}, []string{"gemma3.attention.sliding_window_pattern"}},
		{"unknown rope scaling", func() *tinyModel {
			m := tinyQwen2(gguf.TypeF32)
			m.set(".rope.scaling.type", "dynamic")
			return m
		}, []string{"qwen2.rope.scaling.type", `"dynamic"`}},
		{"partial rotation in Qwen 2", func() *tinyModel {
			m := tinyQwen2(gguf.TypeF32)
			m.set(".rope.dimension_count", uint32(8))
			return m
		}, []string{"qwen2.rope.dimension_count"}},
		{"negative soft-cap", func() *tinyModel {
			m := tinyGemma3(gguf.TypeF32)
			m.set(".final_logit_softcapping", float32(-1))
			return m
		}, []string{"gemma3.final_logit_softcapping"}},
		{"zero head size", func() *tinyModel {
			m := tinyLlama(gguf.TypeF32)
			m.set(".attention.key_length", uint32(0))
			return m
		}, []string{"head size 0"}},
	}
	be := cpu.New(1)
	defer be.Close()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadModel(c.build().file(t), be)
			if err == nil {
				t.Fatal("loaded")
			}
			if missing := slices.DeleteFunc(c.want, func(w string) bool { return strings.Contains(err.Error(), w) }); len(missing) > 0 {
				t.Errorf("error %q does not mention %q", err, missing)
			}
		})
	}
}

// TestFusedWeightsShareMemory checks that Phi-3's fused tensors are split
// into views of the file's bytes, not copies.
func TestFusedWeightsShareMemory(t *testing.T) {
	f := tinyPhi3(gguf.TypeQ8_0).file(t)
	be := cpu.New(1)
	defer be.Close()
	m, err := LoadModel(f, be)
	if err != nil {
		t.Fatal(err)
	}
	ly := m.(*llama).layers[1]
	_, qkv, _ := f.Tensor("blk.1.attn_qkv.weight")
	_, up, _ := f.Tensor("blk.1.ffn_up.weight")
	for _, c := range []struct {
		name     string
		part     []byte
		file     []byte
		row, all int
	}{
		{"q", ly.attn.wq.Data, qkv, 0, 128},
		{"k", ly.attn.wk.Data, qkv, 64, 128},
		{"v", ly.attn.wv.Data, qkv, 96, 128},
		{"gate", ly.ffn.gate.Data, up, 0, 2 * tFF},
		{"up", ly.ffn.up.Data, up, tFF, 2 * tFF},
	} {
		rb := len(c.file) / c.all
		if &c.part[0] != &c.file[c.row*rb] {
			t.Errorf("%s does not start at row %d of the fused tensor's bytes", c.name, c.row)
		}
	}
}
