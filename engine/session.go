package engine

import (
	"errors"
	"fmt"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// ErrContextFull is returned when tokens do not fit in a sequence's context.
var ErrContextFull = errors.New("context full")

// MaxBatch is the most tokens one forward pass takes; longer prompts are
// evaluated in chunks of this size.
const MaxBatch = 512

// Session runs a model over a KV cache of Seqs sequences of Ctx positions.
type Session struct {
	Model Model
	Cache *kernels.KVCache
	Ctx   int

	lens   []int // tokens cached per sequence
	batch  kernels.Batch
	logits []float32
	seen   []bool // EvalBatch's per-sequence scratch
}

// NewSession allocates a cache of cacheType (F16 or F32) for seqs
// sequences of ctx positions.
func NewSession(m Model, be kernels.Backend, cacheType gguf.Type, ctx, seqs int) (*Session, error) {
	if cacheType != gguf.TypeF16 && cacheType != gguf.TypeF32 {
		return nil, fmt.Errorf("engine: KV cache type %s: want F16 or F32", cacheType)
	}
	if ctx <= 0 || seqs <= 0 {
		return nil, fmt.Errorf("engine: context %d × %d sequences", ctx, seqs)
	}
	hp := m.HParams()
	return &Session{
		Model: m,
		Cache: be.NewKVCache(cacheType, hp.Layers, seqs, ctx, hp.KVDim()),
		Ctx:   ctx,
		lens:  make([]int, seqs),
	}, nil
}

// Len is the number of tokens in sequence seq's cache.
func (s *Session) Len(seq int) int { return s.lens[seq] }

// Truncate drops sequence seq's cached tokens from position n on (0 clears
// it), so a new prompt can reuse a shared prefix.
func (s *Session) Truncate(seq, n int) {
	s.lens[seq] = min(s.lens[seq], max(n, 0))
}

// Eval appends tokens to sequence seq and returns the logits after each
// token (allLogits) or after the last only: Vocab floats per token. The
// returned slice is reused by the next call.
func (s *Session) Eval(seq int, tokens []int32, allLogits bool) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, errors.New("engine: Eval of no tokens")
	}
	if seq < 0 || seq >= len(s.lens) {
		return nil, fmt.Errorf("engine: sequence %d of %d", seq, len(s.lens))
	}
	if s.lens[seq]+len(tokens) > s.Ctx {
		return nil, fmt.Errorf("engine: %d cached + %d new tokens exceed the context of %d by %d: %w",
			s.lens[seq], len(tokens), s.Ctx, s.lens[seq]+len(tokens)-s.Ctx, ErrContextFull)
	}
	vocab := s.Model.HParams().Vocab
	for _, t := range tokens {
		if t < 0 || int(t) >= vocab {
			return nil, fmt.Errorf("engine: token id %d outside the vocabulary of %d", t, vocab)
		}
	}
	nOut := 1
	if allLogits {
		nOut = len(tokens)
	}
	if cap(s.logits) < nOut*vocab {
		s.logits = make([]float32, nOut*vocab)
	}
	out := s.logits[:nOut*vocab]
	for start := 0; start < len(tokens); start += MaxBatch {
		chunk := tokens[start:min(start+MaxBatch, len(tokens))]
		b := s.fill(seq, chunk, allLogits, start+len(chunk) == len(tokens))
		dst := out
		if allLogits {
			dst = out[start*vocab:]
		}
		if err := s.Model.Forward(b, s.Cache, dst); err != nil {
			return nil, err
		}
		s.lens[seq] += len(chunk)
	}
	return out, nil
}

// fill prepares the batch for one chunk of a sequence, reusing its slices.
func (s *Session) fill(seq int, chunk []int32, all, last bool) *kernels.Batch {
	b := &s.batch
	n := len(chunk)
	b.Tokens = append(b.Tokens[:0], chunk...)
	b.Pos, b.Seq = b.Pos[:0], b.Seq[:0]
	b.Logits = b.Logits[:0]
	for i := 0; i < n; i++ {
		b.Pos = append(b.Pos, int32(s.lens[seq]+i))
		b.Seq = append(b.Seq, int32(seq))
		b.Logits = append(b.Logits, all || (last && i == n-1))
	}
	return b
}

// LogitsMode says which of a part's tokens EvalBatch returns logits for.
type LogitsMode uint8

const (
	LogitsNone LogitsMode = iota // none: a prompt chunk with more to come
	LogitsLast                   // the last token's: decoding, or a prompt's end
	LogitsAll                    // every token's: prompt logprobs
)

// SeqTokens is one sequence's share of a multi-sequence batch.
type SeqTokens struct {
	Seq    int
	Tokens []int32
	Logits LogitsMode
}

// EvalBatch appends each part's tokens to its sequence in a single forward
// pass, so the weights are read once for all of them, and returns the
// wanted logits, Vocab floats per row: parts in order, each part's rows in
// token order. A sequence may appear in one part only, and the parts hold
// at most MaxBatch tokens together. The returned slice is reused by the
// next call. Rows are computed independently, so a sequence's logits do
// not depend on what else shares the batch.
func (s *Session) EvalBatch(parts []SeqTokens) ([]float32, error) {
	return s.evalBatch(parts, false)
}

// HiddenBatch is EvalBatch returning, for the same rows, the final hidden
// states (Model.Hidden: after the output norm) instead of logits, Embd
// floats per row. The returned slice is reused by the next call.
func (s *Session) HiddenBatch(parts []SeqTokens) ([]float32, error) {
	return s.evalBatch(parts, true)
}

func (s *Session) evalBatch(parts []SeqTokens, hidden bool) ([]float32, error) {
	hp := s.Model.HParams()
	vocab, width := hp.Vocab, hp.Vocab
	if hidden {
		width = hp.Embd
	}
	if cap(s.seen) < len(s.lens) {
		s.seen = make([]bool, len(s.lens))
	}
	seen := s.seen[:len(s.lens)]
	clear(seen)
	total, rows := 0, 0
	for _, p := range parts {
		if p.Seq < 0 || p.Seq >= len(s.lens) {
			return nil, fmt.Errorf("engine: sequence %d of %d", p.Seq, len(s.lens))
		}
		if seen[p.Seq] {
			return nil, fmt.Errorf("engine: sequence %d twice in one batch", p.Seq)
		}
		seen[p.Seq] = true
		if len(p.Tokens) == 0 {
			return nil, fmt.Errorf("engine: no tokens for sequence %d", p.Seq)
		}
		if n := s.lens[p.Seq] + len(p.Tokens); n > s.Ctx {
			return nil, fmt.Errorf("engine: sequence %d: %d cached + %d new tokens exceed the context of %d by %d: %w",
				p.Seq, s.lens[p.Seq], len(p.Tokens), s.Ctx, n-s.Ctx, ErrContextFull)
		}
		for _, t := range p.Tokens {
			if t < 0 || int(t) >= vocab {
				return nil, fmt.Errorf("engine: token id %d outside the vocabulary of %d", t, vocab)
			}
		}
		total += len(p.Tokens)
		switch p.Logits {
		case LogitsNone:
		case LogitsLast:
			rows++
		case LogitsAll:
			rows += len(p.Tokens)
		default:
			return nil, fmt.Errorf("engine: logits mode %d", p.Logits)
		}
	}
	if total == 0 {
		return nil, errors.New("engine: EvalBatch of no tokens")
	}
	if total > MaxBatch {
		return nil, fmt.Errorf("engine: batch of %d tokens exceeds %d", total, MaxBatch)
	}
	b := &s.batch
	b.Tokens, b.Pos, b.Seq, b.Logits = b.Tokens[:0], b.Pos[:0], b.Seq[:0], b.Logits[:0]
	for _, p := range parts {
		n := len(p.Tokens)
		b.Tokens = append(b.Tokens, p.Tokens...)
		for i := range n {
			b.Pos = append(b.Pos, int32(s.lens[p.Seq]+i))
			b.Seq = append(b.Seq, int32(p.Seq))
			b.Logits = append(b.Logits, p.Logits == LogitsAll || (p.Logits == LogitsLast && i == n-1))
		}
	}
	if cap(s.logits) < rows*width {
		s.logits = make([]float32, rows*width)
	}
	out := s.logits[:rows*width]
	run := s.Model.Forward
	if hidden {
		run = s.Model.Hidden
	}
	if err := run(b, s.Cache, out); err != nil {
		return nil, err
	}
	for _, p := range parts {
		s.lens[p.Seq] += len(p.Tokens)
	}
	return out, nil
}
