package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openweights/owl/tokenizer"
)

// GenerateParams control one generation.
type GenerateParams struct {
	MaxTokens int // -1: until the context is full
	Stop      []string
	Sampler   SamplerParams
	// Logprobs asks for the top-Logprobs tokens of each generated
	// position; PromptLogprobs for each prompt position as well.
	Logprobs       int
	PromptLogprobs bool
}

// Result is a finished generation.
type Result struct {
	PromptTokens   []int32
	Tokens         []int32
	Text           []byte
	FinishReason   string           // "stop" or "length"
	PromptLogprobs [][]TokenLogprob // after each prompt token
	Logprobs       [][]TokenLogprob // of the distribution each generated token came from
	Timings        Timings
}

// Timings measure a generation.
type Timings struct {
	PromptTokens    int     `json:"prompt_n"`
	PromptMS        float64 `json:"prompt_ms"`
	PromptPerSecond float64 `json:"prompt_per_second"`
	GenTokens       int     `json:"predicted_n"`
	GenMS           float64 `json:"predicted_ms"`
	GenPerSecond    float64 `json:"predicted_per_second"`
	// CachedTokens are prompt tokens whose keys and values were reused
	// from an earlier request (the Scheduler's prefix reuse); PromptTokens
	// counts only those evaluated.
	CachedTokens int `json:"cache_n"`
}

// Generate evaluates prompt in sequence seq of s (from an empty cache) and
// samples up to p.MaxTokens tokens, passing text to emit as it becomes
// final (never a partial UTF-8 character, never text that may belong to a
// stop string). It stops at an end-of-generation token, a stop string,
// MaxTokens, or when ctx is cancelled.
func Generate(ctx context.Context, s *Session, seq int, v *tokenizer.Tokenizer, prompt []int32, p GenerateParams, emit func([]byte) error) (*Result, error) {
	if len(prompt) == 0 {
		return nil, errors.New("engine: empty prompt")
	}
	maxTokens := p.MaxTokens
	room := s.Ctx - len(prompt)
	if maxTokens < 0 {
		maxTokens = room
	}
	if len(prompt)+maxTokens > s.Ctx {
		return nil, fmt.Errorf("engine: prompt of %d tokens + %d to generate exceed the context of %d by %d: %w",
			len(prompt), maxTokens, s.Ctx, len(prompt)+maxTokens-s.Ctx, ErrContextFull)
	}
	vocab := s.Model.HParams().Vocab
	// Embedding rows past the tokenizer's vocabulary are padding, not
	// tokens: never sampled, never listed.
	textVocab := min(vocab, v.VocabSize())
	res := &Result{PromptTokens: prompt, FinishReason: "length"}
	s.Truncate(seq, 0)

	start := time.Now()
	logits, err := s.Eval(seq, prompt, p.PromptLogprobs)
	if err != nil {
		return nil, err
	}
	var lp []float32
	if p.PromptLogprobs {
		for i := range prompt {
			maskPadding(logits[i*vocab:(i+1)*vocab], textVocab)
			lp = LogSoftmax(lp, logits[i*vocab:(i+1)*vocab])
			res.PromptLogprobs = append(res.PromptLogprobs, TopLogprobs(nil, lp, p.Logprobs))
		}
		logits = logits[(len(prompt)-1)*vocab:]
	}
	res.Timings.PromptTokens = len(prompt)
	res.Timings.PromptMS = msSince(start)

	sampler := NewSampler(p.Sampler)
	history := append([]int32(nil), prompt...)
	stream := v.NewStream()
	stop := stopFilter{stops: p.Stop}
	genStart := time.Now()
	emitText := func(b []byte) error {
		res.Text = append(res.Text, b...)
		if emit != nil && len(b) > 0 {
			return emit(b)
		}
		return nil
	}
	for len(res.Tokens) < maxTokens {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		maskPadding(logits, textVocab)
		if p.Logprobs > 0 {
			lp = LogSoftmax(lp, logits)
			res.Logprobs = append(res.Logprobs, TopLogprobs(nil, lp, p.Logprobs))
		}
		id := sampler.Sample(logits, history)
		if v.IsEOG(id) {
			if p.Logprobs > 0 {
				res.Logprobs = res.Logprobs[:len(res.Logprobs)-1]
			}
			res.FinishReason = "stop"
			break
		}
		res.Tokens = append(res.Tokens, id)
		history = append(history, id)
		out, hit := stop.add(stream.Add(id))
		if err := emitText(out); err != nil {
			return res, err
		}
		if hit {
			res.FinishReason = "stop"
			break
		}
		if len(res.Tokens) == maxTokens {
			break
		}
		if logits, err = s.Eval(seq, []int32{id}, false); err != nil {
			return res, err
		}
	}
	if res.FinishReason != "stop" || !stop.hit {
		out, _ := stop.add(stream.Flush())
		if err := emitText(append(out, stop.flush()...)); err != nil {
			return res, err
		}
	}
	res.Timings.GenTokens = len(res.Tokens)
	res.Timings.GenMS = msSince(genStart)
	res.Timings.PromptPerSecond = perSecond(res.Timings.PromptTokens, res.Timings.PromptMS)
	res.Timings.GenPerSecond = perSecond(res.Timings.GenTokens, res.Timings.GenMS)
	return res, nil
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Nanoseconds()) / 1e6 }

func perSecond(n int, ms float64) float64 {
	if ms <= 0 {
		return 0
	}
	return float64(n) / ms * 1000
}

// stopFilter holds back text that could be the start of a stop string and
// cuts the output at the first stop string found. The stop text itself is
// never returned.
type stopFilter struct {
	stops   []string
	pending []byte
	hit     bool
}

// add takes new text and returns what is safe to emit; hit reports that a
// stop string was found (the text before it is returned).
func (f *stopFilter) add(b []byte) (out []byte, hit bool) {
	if f.hit {
		return nil, true
	}
	f.pending = append(f.pending, b...)
	if len(f.stops) == 0 {
		out, f.pending = f.pending, nil
		return out, false
	}
	cut := -1
	for _, s := range f.stops {
		if s == "" {
			continue
		}
		if i := bytes.Index(f.pending, []byte(s)); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		f.hit = true
		out = f.pending[:cut]
		f.pending = nil
		return out, true
	}
	// Keep the longest suffix that is a proper prefix of some stop string.
	keep := 0
	for _, s := range f.stops {
		for n := min(len(s)-1, len(f.pending)); n > keep; n-- {
			if bytes.HasSuffix(f.pending, []byte(s[:n])) {
				keep = n
				break
			}
		}
	}
	out = append([]byte(nil), f.pending[:len(f.pending)-keep]...)
	f.pending = append(f.pending[:0], f.pending[len(f.pending)-keep:]...)
	return out, false
}

// flush returns held-back text at the end of generation.
func (f *stopFilter) flush() []byte {
	out := f.pending
	f.pending = nil
	return out
}
