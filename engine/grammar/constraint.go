package grammar

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// ErrIncomplete is returned by Accept for an end-of-generation token
// before the grammar's value is complete.
var ErrIncomplete = errors.New("grammar: generation ended before the value was complete")

// ErrRejected is wrapped by Accept's error for a token the grammar does
// not allow at that point.
var ErrRejected = errors.New("grammar: token not allowed")

// Constraint restricts one generated sequence to a grammar. It implements
// the engine's Constraint interface. It is not safe for concurrent use;
// each sequence needs its own.
type Constraint struct {
	g     *Grammar
	ix    *tokenIndex
	m     *machine
	state int32
	ended bool // an EOG token was accepted

	allowed []uint64 // scratch bitset for Mask
	stack   []int32  // state at each trie depth
}

// New returns a constraint that holds generation from vocab to g.
func New(g *Grammar, vocab Vocab) (*Constraint, error) {
	if !g.valid() {
		return nil, errors.New("grammar: empty grammar (use CompileJSONSchema, ParseGBNF or JSONObject)")
	}
	ix, err := indexFor(vocab)
	if err != nil {
		return nil, err
	}
	m := newMachine(g)
	return &Constraint{
		g:       g,
		ix:      ix,
		m:       m,
		state:   m.start(),
		allowed: make([]uint64, (ix.size+63)/64),
		stack:   make([]int32, ix.maxDepth+1),
	}, nil
}

// NewJSONSchema compiles schema (a JSON Schema document) and returns a
// constraint for it; see CompileJSONSchema for what is supported.
func NewJSONSchema(schema []byte, vocab Vocab) (*Constraint, error) {
	g, err := CompileJSONSchema(schema)
	if err != nil {
		return nil, err
	}
	return New(g, vocab)
}

// NewJSONObject returns a constraint to any JSON object (OpenAI's
// response_format json_object).
func NewJSONObject(vocab Vocab) (*Constraint, error) {
	return New(JSONObject(), vocab)
}

// Mask sets the logits of tokens that may not come next to -Inf. Entries
// past the vocabulary are masked too. End-of-generation tokens stay
// allowed once the value is complete. When nothing at all is allowed (a
// vocabulary that cannot spell what the grammar needs next), every logit
// is -Inf and the caller should end the generation with an error.
func (c *Constraint) Mask(logits []float32) {
	if c.m.full() {
		c.state = c.m.compact(c.state)
	}
	clear(c.allowed)
	if !c.ended {
		c.walk()
	}
	if c.ended || c.m.accepting(c.state) {
		for _, id := range c.ix.eog {
			c.allowed[id>>6] |= 1 << (id & 63)
		}
	}
	negInf := float32(math.Inf(-1))
	n := min(len(logits), c.ix.size)
	for w := 0; w*64 < n; w++ {
		word := c.allowed[w]
		if word == math.MaxUint64 {
			continue
		}
		hi := min(n, w*64+64)
		for i := w * 64; i < hi; i++ {
			if word&(1<<(i&63)) == 0 {
				logits[i] = negInf
			}
		}
	}
	for i := n; i < len(logits); i++ {
		logits[i] = negInf
	}
}

// walk marks the tokens whose piece the grammar accepts from the current
// state.
func (c *Constraint) walk() {
	ix, m, class := c.ix, c.m, &c.g.class
	st := c.stack
	st[0] = c.state
	n := int32(len(ix.b))
	for i := int32(0); i < n; {
		d := ix.depth[i]
		s := st[d-1]
		t := m.trans[int(s)*m.nc+int(class[ix.b[i]])]
		if t < 0 {
			t = m.compute(s, class[ix.b[i]])
		}
		if t == 0 {
			i = ix.end[i]
			continue
		}
		st[d] = t
		for _, id := range ix.toks[ix.first[i]:ix.first[i+1]] {
			c.allowed[id>>6] |= 1 << (id & 63)
		}
		i++
	}
}

// Accept advances the constraint past token id. It fails, changing
// nothing, for a token the grammar does not allow next, and for an
// end-of-generation token before the value is complete (ErrIncomplete).
func (c *Constraint) Accept(id int32) error {
	if id < 0 || int(id) >= c.ix.size {
		return fmt.Errorf("%w: token id %d out of range [0,%d)", ErrRejected, id, c.ix.size)
	}
	if c.ended {
		return fmt.Errorf("%w: token %d after end of generation", ErrRejected, id)
	}
	if c.ix.isEOG[id] {
		if !c.m.accepting(c.state) {
			return ErrIncomplete
		}
		c.ended = true
		return nil
	}
	if !c.ix.usable[id] {
		return fmt.Errorf("%w: token %d is a control token or has no text", ErrRejected, id)
	}
	if c.m.full() {
		c.state = c.m.compact(c.state)
	}
	s := c.state
	for _, b := range c.ix.piece(id) {
		if s = c.m.step(s, c.g.class[b]); s == 0 {
			return fmt.Errorf("%w: token %d (%q)", ErrRejected, id, c.ix.piece(id))
		}
	}
	c.state = s
	return nil
}

// Done reports that generation should stop: an end-of-generation token was
// accepted, or the value is complete and nothing may follow it.
func (c *Constraint) Done() bool {
	return c.ended || c.m.final(c.state)
}

// Complete reports whether the text accepted so far is a complete value
// (more may still follow, as digits after a top-level number may).
func (c *Constraint) Complete() bool {
	return c.ended || c.m.accepting(c.state)
}

// Remaining returns the fewest bytes of text that would complete the
// value from here (0 when complete). A caller near its token limit can use
// it to steer towards a valid end.
func (c *Constraint) Remaining() int {
	if c.ended {
		return 0
	}
	return c.m.remaining(c.state)
}

// peek returns the state after token id's piece without accepting it;
// 0 when the grammar rejects it (tests).
func (c *Constraint) peek(id int32) int32 {
	s := c.state
	for _, b := range c.ix.piece(id) {
		if s = c.m.step(s, c.g.class[b]); s == 0 {
			return 0
		}
	}
	return s
}

// allowedCount is the number of tokens the last Mask allowed (tests).
func (c *Constraint) allowedCount() int {
	n := 0
	for _, w := range c.allowed {
		n += bits.OnesCount64(w)
	}
	return n
}

// valid reports whether g was built (the zero Grammar was not).
func (g *Grammar) valid() bool { return g != nil && len(g.rules) > 0 }

// Match reports whether text is a complete string of g's language.
func (g *Grammar) Match(text []byte) bool {
	if !g.valid() {
		return false
	}
	m := newMachine(g)
	s := m.start()
	for _, b := range text {
		if s = m.step(s, g.class[b]); s == 0 {
			return false
		}
	}
	return m.accepting(s)
}

// MatchPrefix reports whether text can be extended to a complete string.
func (g *Grammar) MatchPrefix(text []byte) bool {
	if !g.valid() {
		return false
	}
	m := newMachine(g)
	s := m.start()
	for _, b := range text {
		if s = m.step(s, g.class[b]); s == 0 {
			return false
		}
	}
	return true
}
