package engine

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Pooling is how an input's per-token hidden states become one vector:
// GGUF's ARCH.pooling_type, numbered as llama.cpp numbers it.
type Pooling int

const (
	PoolingNone Pooling = iota // the file names none: a model made to generate
	PoolingMean                // the mean over the tokens
	PoolingCLS                 // the first token's
	PoolingLast                // the last token's
	PoolingRank                // a reranker's classification head
)

func (p Pooling) String() string {
	if p >= PoolingNone && p <= PoolingRank {
		return [...]string{"none", "mean", "cls", "last", "rank"}[p]
	}
	return fmt.Sprintf("pooling(%d)", int(p))
}

// ErrCannotEmbed is returned for a model that has no embeddings to give:
// a reranker, whose pooling scores a pair of texts.
var ErrCannotEmbed = errors.New("the model cannot embed")

// EmbedPooling is the pooling the model's embeddings use: its own, or the
// mean when it names none. (llama.cpp's server refuses such a model on
// its OpenAI endpoint; averaging, as ollama does, serves the decoders
// people have.)
func (h *HParams) EmbedPooling() (Pooling, error) {
	switch h.Pooling {
	case PoolingNone:
		return PoolingMean, nil
	case PoolingMean, PoolingCLS, PoolingLast:
		return h.Pooling, nil
	}
	return 0, fmt.Errorf("engine: %s.pooling_type is %s, a reranker's: %w", h.Arch, h.Pooling, ErrCannotEmbed)
}

// checkEmbedInputs refuses inputs that cannot be embedded in a context of
// ctx positions, saying by how much one is too long.
func checkEmbedInputs(inputs [][]int32, ctx, vocab int) error {
	if len(inputs) == 0 {
		return errors.New("engine: no inputs to embed")
	}
	for i, in := range inputs {
		if len(in) == 0 {
			return fmt.Errorf("engine: input %d to embed is empty", i)
		}
		if len(in) > ctx {
			return fmt.Errorf("engine: input %d of %d tokens exceeds the context of %d by %d: %w", i, len(in), ctx, len(in)-ctx, ErrContextFull)
		}
		for _, t := range in {
			if t < 0 || int(t) >= vocab {
				return fmt.Errorf("engine: input %d: token id %d outside the vocabulary of %d", i, t, vocab)
			}
		}
	}
	return nil
}

// Embed returns one vector of Embd floats per input: the final hidden
// states of its tokens (Model.Hidden, after the output norm) pooled by
// pool (PoolingMean, PoolingCLS or PoolingLast) and scaled to unit length,
// as OpenAI's embeddings are (a zero vector stays zero). Each input is
// evaluated from position 0 in a sequence of its own, so inputs do not see
// each other; up to Seqs of them share each forward pass of at most
// MaxBatch tokens, longer ones in chunks. Embed uses every sequence of the
// session as scratch and leaves them empty.
func (s *Session) Embed(inputs [][]int32, pool Pooling) ([][]float32, error) {
	if pool != PoolingMean && pool != PoolingCLS && pool != PoolingLast {
		return nil, fmt.Errorf("engine: cannot embed with %s pooling", pool)
	}
	if err := checkEmbedInputs(inputs, s.Ctx, s.Model.HParams().Vocab); err != nil {
		return nil, err
	}
	e := newEmbedder(s, pool)
	items := make([]*embedding, len(inputs))
	for i, in := range inputs {
		items[i] = &embedding{tokens: in}
		e.add(items[i])
	}
	for e.busy() {
		if _, err := e.step(MaxBatch); err != nil {
			e.drop(func(*embedding) bool { return true })
			return nil, err
		}
	}
	out := make([][]float32, len(items))
	for i, x := range items {
		out[i] = x.out
	}
	return out, nil
}

// embedding is one input being embedded: evaluated in chunks in a
// sequence of the embedder's session and pooled as the chunks' hidden
// states come back.
type embedding struct {
	tokens []int32
	out    []float32 // the unit vector, once every token is evaluated
	job    *embedJob // the scheduler's request it belongs to; nil from Session.Embed

	seq  int       // the sequence holding its keys and values; -1 when none
	next int       // tokens evaluated
	sum  []float64 // the pooled rows: the sum of all (mean) or the one wanted
}

// embedder packs inputs into hidden-state passes over a session's
// sequences, each input in a sequence of its own, earlier inputs first.
type embedder struct {
	sess    *Session
	pool    Pooling
	free    []int        // sequences not in use
	waiting []*embedding // for a sequence, in arrival order
	active  []*embedding // holding a sequence, in arrival order
	parts   []SeqTokens
	owners  []*embedding // of each part
}

func newEmbedder(sess *Session, pool Pooling) *embedder {
	e := &embedder{sess: sess, pool: pool}
	for seq := len(sess.lens) - 1; seq >= 0; seq-- {
		sess.Truncate(seq, 0)
		e.free = append(e.free, seq)
	}
	return e
}

func (e *embedder) add(x *embedding) {
	x.seq, x.next = -1, 0
	e.waiting = append(e.waiting, x)
}

func (e *embedder) busy() bool { return len(e.waiting)+len(e.active) > 0 }

// step evaluates, in one pass of at most budget tokens, the next chunk of
// as many inputs as fit, and returns the inputs it completed. When the
// pass fails, the inputs in it are dropped and returned with the error.
func (e *embedder) step(budget int) ([]*embedding, error) {
	embd := e.sess.Model.HParams().Embd
	for len(e.waiting) > 0 && len(e.free) > 0 {
		x := e.waiting[0]
		e.waiting[0] = nil
		e.waiting = e.waiting[1:]
		x.seq = e.free[len(e.free)-1]
		e.free = e.free[:len(e.free)-1]
		x.sum = make([]float64, embd)
		e.active = append(e.active, x)
	}
	e.parts, e.owners = e.parts[:0], e.owners[:0]
	for _, x := range e.active {
		if budget <= 0 {
			break
		}
		n := min(len(x.tokens)-x.next, budget)
		// Only the rows the pooling reads come back.
		mode := LogitsNone
		switch {
		case e.pool == PoolingMean, e.pool == PoolingCLS && x.next == 0:
			mode = LogitsAll
		case e.pool == PoolingLast && x.next+n == len(x.tokens):
			mode = LogitsLast
		}
		e.parts = append(e.parts, SeqTokens{Seq: x.seq, Tokens: x.tokens[x.next : x.next+n], Logits: mode})
		e.owners = append(e.owners, x)
		budget -= n
	}
	if len(e.parts) == 0 {
		return nil, nil
	}
	hidden, err := e.eval()
	if err != nil {
		// A failed pass may have written part of these sequences.
		failed := slices.Clone(e.owners)
		for _, x := range failed {
			e.release(x)
		}
		return failed, err
	}
	var done []*embedding
	row := 0
	for k, p := range e.parts {
		x := e.owners[k]
		switch p.Logits {
		case LogitsAll:
			if e.pool == PoolingCLS {
				for i, v := range hidden[row*embd : (row+1)*embd] {
					x.sum[i] = float64(v)
				}
			} else {
				for r := row; r < row+len(p.Tokens); r++ {
					for i, v := range hidden[r*embd : (r+1)*embd] {
						x.sum[i] += float64(v)
					}
				}
			}
			row += len(p.Tokens)
		case LogitsLast:
			for i, v := range hidden[row*embd : (row+1)*embd] {
				x.sum[i] = float64(v)
			}
			row++
		}
		x.next += len(p.Tokens)
		if x.next == len(x.tokens) {
			x.out = unitVector(x.sum)
			e.release(x)
			done = append(done, x)
		}
	}
	return done, nil
}

// eval runs the step's pass, turning a backend panic into an error.
func (e *embedder) eval() (out []float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("engine: forward pass failed: %v", r)
		}
	}()
	return e.sess.HiddenBatch(e.parts)
}

// release frees x's sequence, clearing it, and x from the active list.
func (e *embedder) release(x *embedding) {
	if x.seq < 0 {
		return
	}
	e.sess.Truncate(x.seq, 0)
	e.free = append(e.free, x.seq)
	x.seq, x.sum = -1, nil
	if i := slices.Index(e.active, x); i >= 0 {
		e.active = slices.Delete(e.active, i, i+1)
	}
}

// drop abandons the inputs that match, waiting or in progress.
func (e *embedder) drop(match func(*embedding) bool) {
	for _, x := range slices.Clone(e.active) {
		if match(x) {
			e.release(x)
		}
	}
	e.waiting = slices.DeleteFunc(e.waiting, match)
}

// unitVector returns v scaled to unit Euclidean length, in float32; all
// zeros when v is. (A mean and its sum scale to the same vector.)
func unitVector(v []float64) []float32 {
	var ss float64
	for _, x := range v {
		ss += x * x
	}
	out := make([]float32, len(v))
	if ss == 0 {
		return out
	}
	scale := 1 / math.Sqrt(ss)
	for i, x := range v {
		out[i] = float32(x * scale)
	}
	return out
}
