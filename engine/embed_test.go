package engine

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
	"github.com/openweights/owl/kernels/cpu"
)

// hiddenRows runs tokens through m as one batch on a fresh single-sequence
// cache and returns every token's final hidden state (Model.Hidden),
// bypassing Session and its chunking.
func hiddenRows(t *testing.T, m Model, be kernels.Backend, tokens []int32) [][]float32 {
	t.Helper()
	embd := m.HParams().Embd
	cache := be.NewKVCache(gguf.TypeF32, m.HParams().Layers, 1, len(tokens), m.HParams().KVDim())
	b := &kernels.Batch{Tokens: tokens, Pos: make([]int32, len(tokens)), Seq: make([]int32, len(tokens)), Logits: make([]bool, len(tokens))}
	for i := range tokens {
		b.Pos[i], b.Logits[i] = int32(i), true
	}
	flat := make([]float32, len(tokens)*embd)
	if err := m.Hidden(b, cache, flat); err != nil {
		t.Fatal(err)
	}
	rows := make([][]float32, len(tokens))
	for i := range rows {
		rows[i] = flat[i*embd : (i+1)*embd]
	}
	return rows
}

// refPool pools rows as the embeddings are defined, in float64: the mean,
// the first or the last row, scaled to unit length.
func refPool(rows [][]float32, pool Pooling) []float64 {
	v := make([]float64, len(rows[0]))
	switch pool {
	case PoolingMean:
		for _, r := range rows {
			for i, x := range r {
				v[i] += float64(x) / float64(len(rows))
			}
		}
	case PoolingCLS:
		for i, x := range rows[0] {
			v[i] = float64(x)
		}
	case PoolingLast:
		for i, x := range rows[len(rows)-1] {
			v[i] = float64(x)
		}
	}
	var ss float64
	for _, x := range v {
		ss += x * x
	}
	for i := range v {
		v[i] /= math.Sqrt(ss)
	}
	return v
}

func vecDiff(a []float32, b []float64) float64 {
	var worst float64
	for i := range b {
		worst = max(worst, math.Abs(float64(a[i])-b[i]))
	}
	return worst
}

func norm(v []float32) float64 {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	return math.Sqrt(ss)
}

func cosine(a, b []float32) float64 {
	var dot float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
	}
	return dot / (norm(a) * norm(b))
}

// TestHiddenMatchesReference checks every architecture's final hidden
// states against the float64 reference's (after the output norm: the
// residual stream before it must not match), and its mean-pooled
// embedding against the reference's.
func TestHiddenMatchesReference(t *testing.T) {
	tolerance := map[gguf.Type]float64{gguf.TypeF32: 1e-3, gguf.TypeQ8_0: 0.1}
	for _, c := range archCases() {
		for _, wt := range []gguf.Type{gguf.TypeF32, gguf.TypeQ8_0} {
			t.Run(c.name+"/"+wt.String(), func(t *testing.T) {
				f := c.build(wt).file(t)
				ref := refRun(t, f, c.ref, tinyTokens)
				be := cpu.New(2)
				defer be.Close()
				m, err := LoadModel(f, be)
				if err != nil {
					t.Fatal(err)
				}
				s, err := NewSession(m, be, gguf.TypeF32, c.ctx, 1)
				if err != nil {
					t.Fatal(err)
				}
				// The first half as one batch, the rest a token at a time.
				half := len(tinyTokens) / 2
				var got [][]float32
				h, err := s.HiddenBatch([]SeqTokens{{Seq: 0, Tokens: tinyTokens[:half], Logits: LogitsAll}})
				if err != nil {
					t.Fatal(err)
				}
				for i := range half {
					got = append(got, slices.Clone(h[i*tEmbd:(i+1)*tEmbd]))
				}
				for _, tok := range tinyTokens[half:] {
					h, err := s.HiddenBatch([]SeqTokens{{Seq: 0, Tokens: []int32{tok}, Logits: LogitsLast}})
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, slices.Clone(h))
				}
				var dHidden, dResidual float64
				for i := range got {
					dHidden = max(dHidden, vecDiff(got[i], ref.hidden[i]))
					dResidual = max(dResidual, vecDiff(got[i], ref.residual[i]))
				}
				t.Logf("largest hidden-state difference from the reference: %.2g (from the un-normed residual: %.2g)", dHidden, dResidual)
				if dHidden > tolerance[wt] {
					t.Errorf("hidden states differ from the reference by %.3g (tolerance %g)", dHidden, tolerance[wt])
				}
				if dResidual < 10*tolerance[wt] {
					t.Errorf("hidden states are within %.3g of the residual before the output norm", dResidual)
				}

				vecs, err := s.Embed([][]int32{tinyTokens}, PoolingMean)
				if err != nil {
					t.Fatal(err)
				}
				want := make([]float64, tEmbd)
				for _, r := range ref.hidden {
					for i, x := range r {
						want[i] += x
					}
				}
				var ss float64
				for _, x := range want {
					ss += x * x
				}
				for i := range want {
					want[i] /= math.Sqrt(ss)
				}
				// Unit vectors: the tolerance scales with 1/sqrt(embedding).
				if d := vecDiff(vecs[0], want); d > tolerance[wt]/4 {
					t.Errorf("mean-pooled embedding differs from the reference by %.3g", d)
				}
			})
		}
	}
}

var embedTexts = []string{
	"The quick brown fox jumps over the lazy dog.",
	"Hello",
	"Once upon a time, in a small village by the sea,",
	"The quick brown fox jumps over the lazy dog.",
	"Water boils at one hundred degrees",
}

// TestEmbedPoolsHiddenStates checks Session.Embed, which batches inputs
// over fewer sequences than there are inputs and splits a long one into
// MaxBatch chunks, against each input's hidden states from one whole
// forward pass pooled in float64; then unit length, determinism, and that
// identical texts give identical vectors and different ones different.
func TestEmbedPoolsHiddenStates(t *testing.T) {
	l, be := schedModel(t, numericsModel())
	var inputs [][]int32
	for _, text := range embedTexts {
		inputs = append(inputs, l.PromptTokens(text, false))
	}
	long := l.PromptTokens(strings.Repeat("All work and no play makes Jack a dull boy. ", 60), false)
	if len(long) <= MaxBatch+20 {
		t.Fatalf("long input of %d tokens does not span two passes", len(long))
	}
	long = long[:MaxBatch+20]
	inputs = append(inputs, long)
	s, err := NewSession(l.Model, be, gguf.TypeF32, len(long), 3)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][][]float32, len(inputs))
	for i, in := range inputs {
		rows[i] = hiddenRows(t, l.Model, be, in)
	}
	embd := l.Model.HParams().Embd
	for _, pool := range []Pooling{PoolingMean, PoolingCLS, PoolingLast} {
		got, err := s.Embed(inputs, pool)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(inputs) {
			t.Fatalf("%d vectors for %d inputs", len(got), len(inputs))
		}
		for i, v := range got {
			if len(v) != embd {
				t.Fatalf("%s: vector %d has %d values, want %d", pool, i, len(v), embd)
			}
			d := vecDiff(v, refPool(rows[i], pool))
			if d > 1e-5 {
				t.Errorf("%s: input %d (%d tokens) differs from its pooled hidden states by %.3g", pool, i, len(inputs[i]), d)
			}
			if n := norm(v); math.Abs(n-1) > 1e-5 {
				t.Errorf("%s: input %d has norm %v", pool, i, n)
			}
		}
		for seq := range 3 {
			if s.Len(seq) != 0 {
				t.Errorf("sequence %d keeps %d tokens", seq, s.Len(seq))
			}
		}
		if !slices.Equal(got[0], got[3]) {
			t.Errorf("%s: identical texts give different vectors", pool)
		}
		for _, pair := range [][2]int{{0, 1}, {0, 2}, {1, 2}, {2, 4}} {
			c := cosine(got[pair[0]], got[pair[1]])
			// Under causal attention the first token sees only itself:
			// texts that start alike (with BOS) share it.
			if same := pool == PoolingCLS && inputs[pair[0]][0] == inputs[pair[1]][0]; same != (c > 0.9999) {
				t.Errorf("%s: texts %d and %d give vectors of cosine %v", pool, pair[0], pair[1], c)
			}
		}
		if pool != PoolingMean {
			continue
		}
		// Deterministic, whatever else shares the passes.
		again, err := s.Embed([][]int32{inputs[2], inputs[0]}, pool)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[2], again[0]) || !slices.Equal(got[0], again[1]) {
			t.Errorf("%s: inputs embed differently the second time", pool)
		}
	}
}

func TestEmbedErrors(t *testing.T) {
	l, be := schedModel(t, schedTiny)
	s, err := NewSession(l.Model, be, gguf.TypeF32, 16, 2)
	if err != nil {
		t.Fatal(err)
	}
	vocab := l.Model.HParams().Vocab
	for _, tc := range []struct {
		name   string
		inputs [][]int32
		pool   Pooling
		want   string
		is     error
	}{
		{"no inputs", nil, PoolingMean, "no inputs", nil},
		{"empty input", [][]int32{{1}, {}}, PoolingMean, "input 1 to embed is empty", nil},
		{"too long", [][]int32{make([]int32, 20)}, PoolingMean, "20 tokens exceeds the context of 16 by 4", ErrContextFull},
		{"bad token", [][]int32{{1, int32(vocab)}}, PoolingMean, "outside the vocabulary", nil},
		{"no pooling", [][]int32{{1}}, PoolingNone, "none pooling", nil},
		{"rank pooling", [][]int32{{1}}, PoolingRank, "rank pooling", nil},
	} {
		_, err := s.Embed(tc.inputs, tc.pool)
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestPoolingType checks that ARCH.pooling_type is read, and what
// embeddings make of each value.
func TestPoolingType(t *testing.T) {
	for _, tc := range []struct {
		value     any // nil: absent
		pooling   Pooling
		embedWith Pooling
		loadErr   string
	}{
		{nil, PoolingNone, PoolingMean, ""},
		{uint32(0), PoolingNone, PoolingMean, ""},
		{uint32(1), PoolingMean, PoolingMean, ""},
		{int32(2), PoolingCLS, PoolingCLS, ""},
		{uint32(3), PoolingLast, PoolingLast, ""},
		{uint32(4), PoolingRank, 0, ""},
		{uint32(9), 0, 0, "llama.pooling_type = 9"},
		{"mean", 0, 0, "llama.pooling_type"},
	} {
		m := tinyLlama(gguf.TypeF32)
		if tc.value != nil {
			m.set(".pooling_type", tc.value)
		}
		be := cpu.New(1)
		model, err := LoadModel(m.file(t), be)
		be.Close()
		if tc.loadErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.loadErr) {
				t.Errorf("pooling_type %v: load error %v, want %q", tc.value, err, tc.loadErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		hp := model.HParams()
		if hp.Pooling != tc.pooling {
			t.Errorf("pooling_type %v: %s, want %s", tc.value, hp.Pooling, tc.pooling)
		}
		p, err := hp.EmbedPooling()
		if tc.pooling == PoolingRank {
			if !errors.Is(err, ErrCannotEmbed) {
				t.Errorf("rank pooling: %v", err)
			}
		} else if err != nil || p != tc.embedWith {
			t.Errorf("pooling_type %v: embeds with %s (%v), want %s", tc.value, p, err, tc.embedWith)
		}
	}
}
