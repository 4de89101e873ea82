package cpu_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
	"github.com/openweights/owl/kernels/cpu"
)

// This test runs a minimal Llama forward pass (the graph llama.cpp builds
// for LLM_ARCH_LLAMA) on the CPU backend over the shared tiny models, and
// compares the log-probabilities with llama.cpp's: the end-to-end check of
// the backend's numerics. The engine's own Llama lives elsewhere; this one
// is deliberately the shortest that exercises every op on real weights.

var sharedDir = filepath.Join("..", "..", "..", "shared", "testdata")

type golden struct {
	Model        string  `json:"model"`
	PromptTokens []int32 `json:"prompt_tokens"`
	Greedy       []int32 `json:"greedy"`
	PromptLogits []struct {
		LSE float64     `json:"lse"`
		Top [][]float64 `json:"top"`
	} `json:"prompt_logits"`
}

type llama struct {
	b                        *cpu.Backend
	embd, layers, heads, kvh int
	hd, ff, vocab, rot       int
	eps, base                float32
	tokEmbd, outNorm, output *kernels.Tensor
	attnNorm, wq, wk, wv, wo []*kernels.Tensor
	ffnNorm, gate, up, down  []*kernels.Tensor
}

func loadLlama(t *testing.T, b *cpu.Backend, f *gguf.File) *llama {
	u := func(key string) int {
		v, err := f.Uint32(f.ArchKey(key))
		if err != nil {
			t.Fatal(err)
		}
		return int(v)
	}
	m := &llama{b: b, embd: u("embedding_length"), layers: u("block_count"), heads: u("attention.head_count"),
		kvh: u("attention.head_count_kv"), ff: u("feed_forward_length")}
	m.hd = m.embd / m.heads
	m.rot = m.hd
	if v, err := f.Uint32(f.ArchKey("rope.dimension_count")); err == nil {
		m.rot = int(v)
	}
	eps, err := f.Float32(f.ArchKey("attention.layer_norm_rms_epsilon"))
	if err != nil {
		t.Fatal(err)
	}
	m.eps, m.base = eps, 10000
	if v, err := f.Float32(f.ArchKey("rope.freq_base")); err == nil {
		m.base = v
	}
	load := func(name string) *kernels.Tensor {
		info, data, err := f.Tensor(name)
		if err != nil {
			return nil
		}
		shape := make([]int, len(info.Dims))
		for i, d := range info.Dims {
			shape[len(shape)-1-i] = int(d)
		}
		x, err := b.Load(info.Type, shape, data)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	must := func(name string) *kernels.Tensor {
		x := load(name)
		if x == nil {
			t.Fatalf("tensor %s missing", name)
		}
		return x
	}
	m.tokEmbd = must("token_embd.weight")
	m.vocab = m.tokEmbd.Rows()
	m.outNorm = must("output_norm.weight")
	if m.output = load("output.weight"); m.output == nil {
		m.output = m.tokEmbd
	}
	for l := 0; l < m.layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		m.attnNorm = append(m.attnNorm, must(p+"attn_norm.weight"))
		m.wq = append(m.wq, must(p+"attn_q.weight"))
		m.wk = append(m.wk, must(p+"attn_k.weight"))
		m.wv = append(m.wv, must(p+"attn_v.weight"))
		m.wo = append(m.wo, must(p+"attn_output.weight"))
		m.ffnNorm = append(m.ffnNorm, must(p+"ffn_norm.weight"))
		m.gate = append(m.gate, must(p+"ffn_gate.weight"))
		m.up = append(m.up, must(p+"ffn_up.weight"))
		m.down = append(m.down, must(p+"ffn_down.weight"))
	}
	return m
}

// forward returns the logits of every token of the batch.
func (m *llama) forward(c *kernels.KVCache, bt *kernels.Batch) []float32 {
	b, n := m.b, len(bt.Tokens)
	kvDim := m.kvh * m.hd
	x := b.NewTensor(gguf.TypeF32, n, m.embd)
	cur := b.NewTensor(gguf.TypeF32, n, m.embd)
	q := b.NewTensor(gguf.TypeF32, n, m.embd)
	k := b.NewTensor(gguf.TypeF32, n, kvDim)
	v := b.NewTensor(gguf.TypeF32, n, kvDim)
	att := b.NewTensor(gguf.TypeF32, n, m.embd)
	g := b.NewTensor(gguf.TypeF32, n, m.ff)
	up := b.NewTensor(gguf.TypeF32, n, m.ff)
	b.GetRows(x, m.tokEmbd, bt.Tokens)
	rq := kernels.RopeParams{Heads: m.heads, HeadDim: m.hd, Dims: m.rot, Base: m.base, FreqScale: 1, AttnFactor: 1}
	rk := rq
	rk.Heads = m.kvh
	ap := kernels.AttentionParams{Heads: m.heads, KVHeads: m.kvh, HeadDim: m.hd, Scale: 1 / float32(math.Sqrt(float64(m.hd)))}
	for l := 0; l < m.layers; l++ {
		b.RMSNorm(cur, x, m.attnNorm[l], m.eps)
		b.MatMul(q, m.wq[l], cur)
		b.MatMul(k, m.wk[l], cur)
		b.MatMul(v, m.wv[l], cur)
		b.Rope(q, bt.Pos, rq)
		b.Rope(k, bt.Pos, rk)
		b.StoreKV(c, l, k, v, bt)
		b.Attention(att, q, c, l, bt, ap)
		b.MatMul(cur, m.wo[l], att)
		b.Add(x, x, cur)
		b.RMSNorm(cur, x, m.ffnNorm[l], m.eps)
		b.MatMul(g, m.gate[l], cur)
		b.MatMul(up, m.up[l], cur)
		b.SiLUMul(g, g, up)
		b.MatMul(cur, m.down[l], g)
		b.Add(x, x, cur)
	}
	b.RMSNorm(cur, x, m.outNorm, m.eps)
	logits := b.NewTensor(gguf.TypeF32, n, m.vocab)
	b.MatMul(logits, m.output, cur)
	out := make([]float32, n*m.vocab)
	if err := b.ToHost(out, logits); err != nil {
		panic(err)
	}
	return out
}

func TestLlamaGolden(t *testing.T) {
	cpu.ForKernelSets(t, func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join(sharedDir, "golden", "*.json"))
		if len(files) == 0 {
			t.Skip("no golden files in shared/testdata/golden")
		}
		for _, threads := range []int{1, 2} {
			b := cpu.New(threads)
			defer b.Close()
			for _, path := range files {
				raw, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				var gd golden
				if err := json.Unmarshal(raw, &gd); err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				f, err := gguf.Open(filepath.Join(sharedDir, "models", gd.Model))
				if err != nil {
					t.Fatal(err)
				}
				m := loadLlama(t, b, f)
				c := b.NewKVCache(gguf.TypeF16, m.layers, 1, 64, m.kvh*m.hd)
				n := len(gd.PromptTokens)
				bt := &kernels.Batch{Tokens: gd.PromptTokens, Pos: make([]int32, n), Seq: make([]int32, n)}
				for i := range bt.Pos {
					bt.Pos[i] = int32(i)
				}
				logits := m.forward(c, bt)
				var worst float64
				for i, pl := range gd.PromptLogits {
					row := logits[i*m.vocab : (i+1)*m.vocab]
					var mx float64 = math.Inf(-1)
					for _, v := range row {
						mx = math.Max(mx, float64(v))
					}
					var s float64
					for _, v := range row {
						s += math.Exp(float64(v) - mx)
					}
					lse := mx + math.Log(s)
					for _, tl := range pl.Top {
						id, want := int(tl[0]), tl[1]-pl.LSE
						got := float64(row[id]) - lse
						worst = math.Max(worst, math.Abs(got-want))
						if math.Abs(got-want) > 1e-4 && os.Getenv("OWL_DEBUG") != "" {
							t.Logf("pos %d tok %d got %g want %g (logit %g vs %g, lse %g vs %g)", i, id, got, want, row[id], tl[1], lse, pl.LSE)
						}
					}
					// llama.cpp's top token is ours too, unless its margin is
					// below the comparison's noise.
					if len(pl.Top) > 1 && pl.Top[0][1]-pl.Top[1][1] >= 0.01 {
						if top := slices.Index(row, slices.Max(row)); top != int(pl.Top[0][0]) {
							t.Errorf("%s threads=%d position %d: top token %d, llama.cpp %d", filepath.Base(path), threads, i, top, int(pl.Top[0][0]))
						}
					}
				}
				t.Logf("%s threads=%d: max |Δ logprob| over llama.cpp's top 10 = %.2g", filepath.Base(path), threads, worst)
				// Greedy decoding, one token per batch, continues the cache.
				last := logits[(n-1)*m.vocab:]
				for k, want := range gd.Greedy {
					top := slices.Index(last, slices.Max(last))
					second := float32(math.Inf(-1))
					for id, v := range last {
						if id != top {
							second = max(second, v)
						}
					}
					// owl and llama.cpp agree to about 1e-6 here; a smaller
					// margin is a tie.
					if last[top]-second < 2e-5 {
						t.Logf("%s: greedy token %d has a margin of %g; not compared further", filepath.Base(path), k, last[top]-second)
						break
					}
					if int32(top) != want {
						t.Errorf("%s threads=%d: greedy token %d is %d, llama.cpp %d", filepath.Base(path), threads, k, top, want)
						break
					}
					pos := int32(n + k)
					last = m.forward(c, &kernels.Batch{Tokens: []int32{want}, Pos: []int32{pos}, Seq: []int32{0}})
				}
				if worst > 0.02 {
					t.Errorf("%s threads=%d: logprobs differ from llama.cpp by up to %g", filepath.Base(path), threads, worst)
				}
				f.Close()
			}
		}
	})
}
