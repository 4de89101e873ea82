package engine

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// SamplerParams are the sampling settings of a request. The zero value
// samples greedily with no penalties.
type SamplerParams struct {
	Temperature float32 // ≤ 0: greedy (the most likely token)
	TopK        int     // ≤ 0: off
	TopP        float32 // ≥ 1 or ≤ 0: off
	MinP        float32 // ≤ 0: off

	RepeatPenalty    float32 // 1 or 0: off; llama.cpp's repeat_penalty
	PresencePenalty  float32 // OpenAI's presence_penalty
	FrequencyPenalty float32 // OpenAI's frequency_penalty
	RepeatLastN      int     // how many recent tokens the penalties see; 0: 64, -1: all

	LogitBias map[int32]float32 // added to a token's logit; -Inf bans it
	Seed      uint64
}

// candidate is a token with its (adjusted) logit and, once normalised,
// its probability.
type candidate struct {
	id    int32
	logit float32
	p     float32
}

// Sampler picks the next token from logits with llama.cpp's chain: logit
// bias, penalties, top-k, top-p, min-p, temperature, then a draw from the
// distribution. It keeps its buffers and random state between calls, so
// sampling allocates nothing; one Sampler serves one sequence.
type Sampler struct {
	p      SamplerParams
	rng    *rand.Rand
	cands  []candidate
	counts map[int32]int
}

// NewSampler makes a sampler; the same seed gives the same choices.
func NewSampler(p SamplerParams) *Sampler {
	return &Sampler{p: p, rng: rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15)), counts: map[int32]int{}}
}

// Sample returns the next token. history is the sequence so far (prompt
// and generated tokens), which the penalties look at. logits is modified.
func (s *Sampler) Sample(logits []float32, history []int32) int32 {
	p := &s.p
	for id, bias := range p.LogitBias {
		if id >= 0 && int(id) < len(logits) {
			logits[id] += bias
		}
	}
	s.penalize(logits, history)

	if p.Temperature <= 0 {
		return argmax(logits)
	}
	var c []candidate
	if p.TopK > 0 && p.TopK < len(logits) {
		c = topLogits(s.cands[:0], logits, p.TopK)
	} else {
		c = s.cands[:0]
		for i, l := range logits {
			if !math.IsInf(float64(l), -1) && !math.IsNaN(float64(l)) {
				c = append(c, candidate{id: int32(i), logit: l})
			}
		}
	}
	s.cands = c
	if len(c) == 0 {
		return argmax(logits)
	}
	slices.SortFunc(c, byLogit)
	if p.TopP > 0 && p.TopP < 1 {
		softmax(c)
		var cum float32
		for i := range c {
			cum += c[i].p
			if cum >= p.TopP {
				c = c[:i+1]
				break
			}
		}
	}
	if p.MinP > 0 {
		// Keep tokens whose probability is at least MinP times the best's.
		floor := c[0].logit + float32(math.Log(float64(p.MinP)))
		keep := 1
		for keep < len(c) && c[keep].logit >= floor {
			keep++
		}
		c = c[:keep]
	}
	for i := range c {
		c[i].logit /= p.Temperature
	}
	softmax(c)
	r := s.rng.Float32()
	var cum float32
	for _, x := range c {
		cum += x.p
		if r < cum {
			return x.id
		}
	}
	return c[len(c)-1].id
}

// penalize applies the repeat, presence and frequency penalties to the
// tokens of the recent history, as llama.cpp's penalties sampler does.
func (s *Sampler) penalize(logits []float32, history []int32) {
	p := &s.p
	repeat := p.RepeatPenalty != 0 && p.RepeatPenalty != 1
	if !repeat && p.PresencePenalty == 0 && p.FrequencyPenalty == 0 {
		return
	}
	n := p.RepeatLastN
	if n == 0 {
		n = 64
	}
	if n > 0 && len(history) > n {
		history = history[len(history)-n:]
	}
	clear(s.counts)
	for _, id := range history {
		s.counts[id]++
	}
	for id, count := range s.counts {
		if id < 0 || int(id) >= len(logits) {
			continue
		}
		l := logits[id]
		if repeat {
			if l <= 0 {
				l *= p.RepeatPenalty
			} else {
				l /= p.RepeatPenalty
			}
		}
		l -= float32(count)*p.FrequencyPenalty + p.PresencePenalty
		logits[id] = l
	}
}

func argmax(logits []float32) int32 {
	best := 0
	for i, l := range logits {
		if l > logits[best] {
			best = i
		}
	}
	return int32(best)
}

// softmax sets the probabilities of c (sorted by logit, best first).
func softmax(c []candidate) {
	maxL := c[0].logit
	var sum float64
	for i := range c {
		e := float32(math.Exp(float64(c[i].logit - maxL)))
		c[i].p = e
		sum += float64(e)
	}
	for i := range c {
		c[i].p = float32(float64(c[i].p) / sum)
	}
}

// maskPadding sets the logits from text on to -Inf: rows of a padded
// embedding that the tokenizer has no token for.
func maskPadding(logits []float32, text int) {
	for i := text; i < len(logits); i++ {
		logits[i] = float32(math.Inf(-1))
	}
}

// byLogit orders candidates best first, ties by token id, so that the
// order (and a seeded choice) does not depend on how they were gathered.
func byLogit(a, b candidate) int {
	if c := cmp.Compare(b.logit, a.logit); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// topLogits returns in c the k highest finite logits (fewer when fewer are
// finite), in no order: one pass over logits keeping a min-heap of k, so
// that a top-k sampler over a large vocabulary touches each logit once.
// Among equal logits the lower token id is kept.
func topLogits(c []candidate, logits []float32, k int) []candidate {
	worse := func(a, b candidate) bool { // a ranks below b
		return a.logit < b.logit || a.logit == b.logit && a.id > b.id
	}
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(c) {
				return
			}
			if r := l + 1; r < len(c) && worse(c[r], c[l]) {
				l = r
			}
			if !worse(c[l], c[i]) {
				return
			}
			c[i], c[l] = c[l], c[i]
			i = l
		}
	}
	i := 0
	for ; i < len(logits) && len(c) < k; i++ {
		l := logits[i]
		if math.IsInf(float64(l), -1) || math.IsNaN(float64(l)) {
			continue
		}
		c = append(c, candidate{id: int32(i), logit: l})
		for j := len(c) - 1; j > 0; {
			parent := (j - 1) / 2
			if !worse(c[j], c[parent]) {
				break
			}
			c[j], c[parent] = c[parent], c[j]
			j = parent
		}
	}
	if len(c) == 0 {
		return c
	}
	// The heap is full: a logit enters only above its least, kept in a
	// local so that the scan is one load and one compare per logit. NaN and
	// -Inf never beat it (a finite value); an equal logit has a higher id.
	thr := c[0].logit
	for ; i < len(logits); i++ {
		if l := logits[i]; l > thr {
			c[0] = candidate{id: int32(i), logit: l}
			down(0)
			thr = c[0].logit
		}
	}
	return c
}

// LogSoftmax returns log-probabilities of logits into dst (len(logits)).
func LogSoftmax(dst, logits []float32) []float32 {
	dst = slices.Grow(dst[:0], len(logits))[:len(logits)]
	maxL := float32(math.Inf(-1))
	for _, l := range logits {
		maxL = max(maxL, l)
	}
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l - maxL))
	}
	lse := maxL + float32(math.Log(sum))
	for i, l := range logits {
		dst[i] = l - lse
	}
	return dst
}

// TopLogprobs returns the k most likely tokens of logprobs, best first,
// into dst.
func TopLogprobs(dst []TokenLogprob, logprobs []float32, k int) []TokenLogprob {
	dst = dst[:0]
	for i, lp := range logprobs {
		if len(dst) < k {
			dst = append(dst, TokenLogprob{int32(i), lp})
			for j := len(dst) - 1; j > 0 && dst[j].Logprob > dst[j-1].Logprob; j-- {
				dst[j], dst[j-1] = dst[j-1], dst[j]
			}
			continue
		}
		if k == 0 || lp <= dst[k-1].Logprob {
			continue
		}
		dst[k-1] = TokenLogprob{int32(i), lp}
		for j := k - 1; j > 0 && dst[j].Logprob > dst[j-1].Logprob; j-- {
			dst[j], dst[j-1] = dst[j-1], dst[j]
		}
	}
	return dst
}

// TokenLogprob is a token with its log-probability.
type TokenLogprob struct {
	ID      int32
	Logprob float32
}
