package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSamplerGreedy(t *testing.T) {
	logits := []float32{0.1, 2, -1, 1.9}
	s := NewSampler(SamplerParams{})
	if got := s.Sample(slices.Clone(logits), nil); got != 1 {
		t.Errorf("greedy = %d, want 1", got)
	}
	s = NewSampler(SamplerParams{LogitBias: map[int32]float32{1: float32(math.Inf(-1))}})
	if got := s.Sample(slices.Clone(logits), nil); got != 3 {
		t.Errorf("with token 1 banned = %d, want 3", got)
	}
	s = NewSampler(SamplerParams{RepeatPenalty: 1.5})
	if got := s.Sample(slices.Clone(logits), []int32{1}); got != 3 {
		t.Errorf("with token 1 penalised = %d, want 3", got)
	}
}

func TestPenalties(t *testing.T) {
	logits := []float32{2, -2, 1, 1}
	s := NewSampler(SamplerParams{RepeatPenalty: 2, PresencePenalty: 0.5, FrequencyPenalty: 0.25})
	s.penalize(logits, []int32{0, 1, 1, 3, 3, 3})
	// token 0: 2/2 - 0.25 - 0.5; token 1: -2*2 - 0.5 - 0.5; 2 untouched; 3: 1/2 - 0.75 - 0.5.
	want := []float32{0.25, -5, 1, -0.75}
	for i := range want {
		if math.Abs(float64(logits[i]-want[i])) > 1e-6 {
			t.Errorf("logit %d = %g, want %g", i, logits[i], want[i])
		}
	}
	// RepeatLastN limits the window: only the last two tokens count.
	logits = []float32{2, 2, 2}
	s = NewSampler(SamplerParams{PresencePenalty: 1, RepeatLastN: 2})
	s.penalize(logits, []int32{0, 1, 2})
	if logits[0] != 2 || logits[1] != 1 || logits[2] != 1 {
		t.Errorf("windowed penalties: %v", logits)
	}
}

func TestSamplerDistribution(t *testing.T) {
	// Temperature sampling follows softmax(logits/T): check frequencies.
	logits := []float32{1, 0, -1, -2}
	const n = 40000
	for _, tc := range []struct {
		name string
		p    SamplerParams
		want []float64
	}{
		{"temp 1", SamplerParams{Temperature: 1}, softmax64(logits, 1)},
		{"temp 0.5", SamplerParams{Temperature: 0.5}, softmax64(logits, 0.5)},
		{"top-k 1", SamplerParams{Temperature: 1, TopK: 1}, []float64{1, 0, 0, 0}},
		{"top-k 2", SamplerParams{Temperature: 1, TopK: 2}, softmax64(logits[:2], 1)},
		{"min-p", SamplerParams{Temperature: 1, MinP: 0.3}, softmax64([]float32{1, 0}, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSampler(tc.p)
			counts := make([]float64, len(logits))
			for i := 0; i < n; i++ {
				counts[s.Sample(slices.Clone(logits), nil)]++
			}
			for i, w := range tc.want {
				if got := counts[i] / n; math.Abs(got-w) > 0.015 {
					t.Errorf("token %d: frequency %.3f, want %.3f", i, got, w)
				}
			}
		})
	}
}

func TestTopP(t *testing.T) {
	// Probabilities 0.5, 0.3, 0.2: top-p 0.7 keeps the first two.
	logits := []float32{float32(math.Log(0.5)), float32(math.Log(0.3)), float32(math.Log(0.2))}
	s := NewSampler(SamplerParams{Temperature: 1, TopP: 0.7, Seed: 3})
	for i := 0; i < 2000; i++ {
		if got := s.Sample(slices.Clone(logits), nil); got == 2 {
			t.Fatal("top-p kept the least likely token")
		}
	}
}

func TestSamplerSeed(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, 1000)
	for i := range logits {
		logits[i] = float32(r.NormFloat64())
	}
	run := func(seed uint64) []int32 {
		s := NewSampler(SamplerParams{Temperature: 0.9, TopK: 50, TopP: 0.95, Seed: seed})
		var out []int32
		for i := 0; i < 50; i++ {
			out = append(out, s.Sample(slices.Clone(logits), out))
		}
		return out
	}
	if !slices.Equal(run(7), run(7)) {
		t.Error("same seed, different tokens")
	}
	if slices.Equal(run(7), run(8)) {
		t.Error("different seeds, same 50 tokens")
	}
}

func TestTopLogits(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 500; trial++ {
		n := 1 + r.IntN(300)
		logits := make([]float32, n)
		for i := range logits {
			switch r.IntN(10) {
			case 0:
				logits[i] = float32(math.Inf(-1))
			case 1:
				logits[i] = float32(math.NaN())
			default:
				logits[i] = float32(r.IntN(20)) // ties on purpose
			}
		}
		k := 1 + r.IntN(n)
		// The reference: all finite logits sorted best first, ties by id.
		var want []candidate
		for i, l := range logits {
			if !math.IsInf(float64(l), -1) && !math.IsNaN(float64(l)) {
				want = append(want, candidate{id: int32(i), logit: l})
			}
		}
		slices.SortFunc(want, byLogit)
		want = want[:min(k, len(want))]
		got := topLogits(nil, logits, k)
		slices.SortFunc(got, byLogit)
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d k=%d: got %v, want %v", n, k, got, want)
		}
	}
}

func TestLogprobs(t *testing.T) {
	logits := []float32{1, 3, 2, 0}
	lp := LogSoftmax(nil, logits)
	var sum float64
	for _, x := range lp {
		sum += math.Exp(float64(x))
	}
	if math.Abs(sum-1) > 1e-6 {
		t.Errorf("probabilities sum to %g", sum)
	}
	top := TopLogprobs(nil, lp, 2)
	if len(top) != 2 || top[0].ID != 1 || top[1].ID != 2 || top[0].Logprob != lp[1] {
		t.Errorf("top 2 = %+v", top)
	}
}

func softmax64(logits []float32, temp float64) []float64 {
	out := make([]float64, len(logits))
	var sum float64
	for i, l := range logits {
		out[i] = math.Exp(float64(l) / temp)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func TestStopFilter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stops  []string
		chunks []string
		want   []string // emitted per chunk
		hit    bool
	}{
		{"no stops", nil, []string{"ab", "c"}, []string{"ab", "c"}, false},
		{"split stop", []string{"</s>"}, []string{"hi <", "/", "s> more"}, []string{"hi ", "", ""}, true},
		{"false start", []string{"STOP"}, []string{"ST", "ART"}, []string{"", "START"}, false},
		{"earliest of two", []string{"yz", "b"}, []string{"xyzab"}, []string{"x"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := stopFilter{stops: tc.stops}
			var hit bool
			for i, c := range tc.chunks {
				var out []byte
				out, hit = f.add([]byte(c))
				if string(out) != tc.want[i] {
					t.Errorf("chunk %d: emitted %q, want %q", i, out, tc.want[i])
				}
			}
			if hit != tc.hit {
				t.Errorf("hit = %v", hit)
			}
		})
	}
}

// BenchmarkTopLogits is the top-40 pass over a 32000-token and a
// 262144-token vocabulary of random logits.
func BenchmarkTopLogits(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{32000, 262144} {
		l := make([]float32, n)
		for i := range l {
			l[i] = float32(r.NormFloat64() * 3)
		}
		c := make([]candidate, 0, 40)
		b.Run(fmt.Sprintf("vocab=%d", n), func(b *testing.B) {
			for b.Loop() {
				c = topLogits(c[:0], l, 40)
			}
		})
	}
}
