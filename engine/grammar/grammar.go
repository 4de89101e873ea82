// Package grammar constrains token generation to a formal language: JSON
// Schemas (OpenAI's response_format json_schema), any JSON object
// (json_object mode), or a grammar built in Go.
//
// A schema compiles to a context-free grammar over bytes (a Grammar, which
// is immutable and safe to share). A Constraint runs that grammar as a
// pushdown recognizer against one sequence of generated tokens: Mask sets
// the logits of tokens that cannot come next to -Inf, Accept advances past
// the chosen token, Done says the value is complete.
//
// Masking walks a byte trie of the vocabulary once per step; the
// recognizer's configurations are cached as the states of a lazily built
// automaton, so after the first few steps a step costs one table lookup
// per visited trie node.
package grammar

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Limits that keep a hostile schema from building an enormous grammar.
const (
	maxElems  = 1 << 20 // grammar elements after lowering
	maxRepeat = 1000    // largest finite bound of one repetition
)

// ErrTooLarge reports a grammar that would exceed the size limits.
var ErrTooLarge = errors.New("grammar too large")

// byteSet is a set of bytes.
type byteSet [4]uint64

func (s *byteSet) add(b byte)      { s[b>>6] |= 1 << (b & 63) }
func (s *byteSet) has(b byte) bool { return s[b>>6]&(1<<(b&63)) != 0 }
func (s *byteSet) addRange(lo, hi byte) {
	for c := int(lo); c <= int(hi); c++ {
		s.add(byte(c))
	}
}
func (s *byteSet) empty() bool { return s[0]|s[1]|s[2]|s[3] == 0 }

// count returns the number of bytes in s.
func (s *byteSet) count() int {
	n := 0
	for c := 0; c < 256; c++ {
		if s.has(byte(c)) {
			n++
		}
	}
	return n
}

// expr is a grammar expression as built by the compilers, before it is
// lowered to flat rule alternatives.
type expr struct {
	kind     exprKind
	set      byteSet // xBytes
	subs     []*expr // xSeq, xAlt, xRepeat (one)
	rule     int     // xRef
	min, max int     // xRepeat; max < 0 means unbounded
}

type exprKind uint8

const (
	xBytes  exprKind = iota // one byte of set
	xSeq                    // subs in order; empty is ε
	xAlt                    // one of subs; empty matches nothing
	xRef                    // the rule
	xRepeat                 // subs[0] min to max times
)

// Expression constructors.

func eps() *expr { return &expr{kind: xSeq} }

func byteIn(set byteSet) *expr { return &expr{kind: xBytes, set: set} }

func oneByte(b byte) *expr {
	var s byteSet
	s.add(b)
	return byteIn(s)
}

func byteRange(lo, hi byte) *expr {
	var s byteSet
	s.addRange(lo, hi)
	return byteIn(s)
}

// bytesOf matches one of the bytes of chars.
func bytesOf(chars string) *expr {
	var s byteSet
	for i := 0; i < len(chars); i++ {
		s.add(chars[i])
	}
	return byteIn(s)
}

func lit(s string) *expr {
	e := &expr{kind: xSeq, subs: make([]*expr, len(s))}
	for i := 0; i < len(s); i++ {
		e.subs[i] = oneByte(s[i])
	}
	return e
}

func seq(subs ...*expr) *expr { return &expr{kind: xSeq, subs: subs} }

func alt(subs ...*expr) *expr {
	if len(subs) == 1 {
		return subs[0]
	}
	return &expr{kind: xAlt, subs: subs}
}

func ref(rule int) *expr { return &expr{kind: xRef, rule: rule} }

func rep(x *expr, min, max int) *expr {
	return &expr{kind: xRepeat, subs: []*expr{x}, min: min, max: max}
}

func opt(x *expr) *expr  { return rep(x, 0, 1) }
func star(x *expr) *expr { return rep(x, 0, -1) }

// Builder assembles a grammar from rules. The zero value is not ready;
// use newBuilder.
type builder struct {
	names  []string
	bodies []*expr
}

// newRule reserves a rule, so that bodies may refer to it before it is
// defined (recursion).
func (b *builder) newRule(name string) int {
	b.names = append(b.names, name)
	b.bodies = append(b.bodies, nil)
	return len(b.names) - 1
}

func (b *builder) define(r int, body *expr) { b.bodies[r] = body }

// rule reserves and defines a rule in one step.
func (b *builder) rule(name string, body *expr) int {
	r := b.newRule(name)
	b.define(r, body)
	return r
}

// Grammar elements after lowering: every rule alternative is a run of
// terminals and rule references closed by an end element.
type elemKind uint8

const (
	eEnd  elemKind = iota
	eTerm          // one byte of sets[id]
	eRef           // rule id
)

type elem struct {
	kind elemKind
	id   int32
}

// Grammar is a compiled context-free grammar over bytes. It is immutable
// and safe for concurrent use; each Constraint runs its own recognizer.
type Grammar struct {
	elems []elem
	rules [][]int32 // alternatives of each rule: start positions in elems
	names []string  // of the rules the compiler named
	base  []int32   // named rule each rule was made for
	root  int32
	sets  []byteSet

	// Bytes that no terminal tells apart share a class; the recognizer's
	// transition tables are indexed by class.
	class    [256]uint8
	classRep []byte // a byte of each class

	minLen []int32 // fewest bytes each rule derives (saturating)
}

// build lowers the rules to flat alternatives and checks the grammar: it
// prunes alternatives that can never finish, rejects a root that admits no
// finite string and rejects left recursion (which would make the
// recognizer loop without consuming input).
func (b *builder) build(root int) (*Grammar, error) {
	g := &Grammar{root: int32(root)}
	l := lowerer{g: g, b: b, setIdx: map[byteSet]int32{}}
	for r := 0; r < len(b.names); r++ {
		if b.bodies[r] == nil {
			return nil, fmt.Errorf("rule %s is not defined", b.names[r])
		}
	}
	// Lower rules in order; lowering may append anonymous rules, which the
	// loop then reaches too.
	g.names = append(g.names, b.names...)
	g.rules = make([][]int32, len(b.names))
	for r := range b.names {
		g.base = append(g.base, int32(r))
	}
	bodies := append([]*expr(nil), b.bodies...)
	l.pending = bodies
	for r := 0; r < len(l.pending); r++ {
		if err := l.lowerRule(r, l.pending[r]); err != nil {
			return nil, err
		}
	}
	if err := g.check(); err != nil {
		return nil, err
	}
	g.computeClasses()
	return g, nil
}

type lowerer struct {
	g       *Grammar
	b       *builder
	setIdx  map[byteSet]int32
	pending []*expr // body of each rule, indexed by rule id
}

func (l *lowerer) anon(parent int, body *expr) int32 {
	g := l.g
	id := len(g.rules)
	g.base = append(g.base, g.base[parent])
	g.rules = append(g.rules, nil)
	l.pending = append(l.pending, body)
	return int32(id)
}

func (l *lowerer) lowerRule(r int, body *expr) error {
	var alts []*expr
	if body.kind == xAlt {
		alts = body.subs
	} else {
		alts = []*expr{body}
	}
	starts := make([]int32, 0, len(alts))
	for _, a := range alts {
		starts = append(starts, int32(len(l.g.elems)))
		if err := l.lowerSeq(r, a); err != nil {
			return err
		}
		l.g.elems = append(l.g.elems, elem{kind: eEnd})
	}
	l.g.rules[r] = starts
	if len(l.g.elems) > maxElems {
		return fmt.Errorf("%w: more than %d grammar elements", ErrTooLarge, maxElems)
	}
	return nil
}

func (l *lowerer) emit(e elem) error {
	l.g.elems = append(l.g.elems, e)
	if len(l.g.elems) > maxElems {
		return fmt.Errorf("%w: more than %d grammar elements", ErrTooLarge, maxElems)
	}
	return nil
}

// atom returns an element standing for x, and an expression for that
// element: x itself when it is one terminal or reference, else a
// reference to a new rule with body x.
func (l *lowerer) atom(r int, x *expr) (elem, *expr) {
	switch x.kind {
	case xBytes:
		return elem{kind: eTerm, id: l.set(x.set)}, x
	case xRef:
		return elem{kind: eRef, id: int32(x.rule)}, x
	case xSeq:
		if len(x.subs) == 1 {
			return l.atom(r, x.subs[0])
		}
	}
	id := l.anon(r, x)
	return elem{kind: eRef, id: id}, ref(int(id))
}

func (l *lowerer) set(s byteSet) int32 {
	if id, ok := l.setIdx[s]; ok {
		return id
	}
	id := int32(len(l.g.sets))
	l.g.sets = append(l.g.sets, s)
	l.setIdx[s] = id
	return id
}

func (l *lowerer) lowerSeq(r int, x *expr) error {
	switch x.kind {
	case xBytes:
		return l.emit(elem{kind: eTerm, id: l.set(x.set)})
	case xRef:
		return l.emit(elem{kind: eRef, id: int32(x.rule)})
	case xSeq:
		for _, s := range x.subs {
			if err := l.lowerSeq(r, s); err != nil {
				return err
			}
		}
		return nil
	case xAlt:
		if len(x.subs) == 1 {
			return l.lowerSeq(r, x.subs[0])
		}
		return l.emit(elem{kind: eRef, id: l.anon(r, x)})
	case xRepeat:
		return l.lowerRepeat(r, x)
	}
	return fmt.Errorf("unknown expression kind %d", x.kind)
}

func (l *lowerer) lowerRepeat(r int, x *expr) error {
	min, max := x.min, x.max
	if min < 0 || (max >= 0 && max < min) || min > maxRepeat || max > maxRepeat {
		return fmt.Errorf("%w: repetition {%d,%d} (limit %d)", ErrTooLarge, min, max, maxRepeat)
	}
	if max == 0 {
		return nil
	}
	a, ax := l.atom(r, x.subs[0])
	for i := 0; i < min; i++ {
		if err := l.emit(a); err != nil {
			return err
		}
	}
	if max < 0 {
		// tail ::= a tail | ε — right recursion, which the recognizer
		// runs as a loop (a reference in last position pushes nothing).
		tail := l.anon(r, nil)
		l.pending[tail] = alt(seq(ax, ref(int(tail))), eps())
		return l.emit(elem{kind: eRef, id: tail})
	}
	if max == min {
		return nil
	}
	// opt_k ::= a opt_{k-1} | ε, nested max-min deep.
	next := int32(-1)
	for k := 1; k <= max-min; k++ {
		o := l.anon(r, nil)
		body := ax
		if next >= 0 {
			body = seq(body, ref(int(next)))
		}
		l.pending[o] = alt(body, eps())
		next = o
	}
	return l.emit(elem{kind: eRef, id: next})
}

// name returns a rule's name: named rules keep theirs, anonymous ones
// (made while lowering) add their number to their named rule's.
func (g *Grammar) name(r int32) string {
	if int(r) < len(g.names) {
		return g.names[r]
	}
	return fmt.Sprintf("%s-%d", g.names[g.base[r]], r)
}

// lenInf marks a rule with no finite string; lengths of real strings
// saturate just below it.
const lenInf = 1 << 30

func satAdd(a, b int32) int32 {
	if a == lenInf || b == lenInf {
		return lenInf
	}
	return min(a+b, lenInf-1)
}

// check computes the shortest string of every rule, prunes alternatives
// that can never finish, and rejects grammars the recognizer cannot run:
// a root with no finite string, and left recursion (the recognizer would
// expand rules forever without consuming input).
func (g *Grammar) check() error {
	g.computeMinLen()
	if g.minLen[g.root] == lenInf {
		return fmt.Errorf("%s admits no finite value", g.name(g.root))
	}
	for r := range g.rules {
		kept := g.rules[r][:0]
		for _, a := range g.rules[r] {
			if g.restLen(a) < lenInf {
				kept = append(kept, a)
			}
		}
		g.rules[r] = kept
	}
	// A rule is nullable when its shortest string is empty. Search the
	// left corners (references reachable through nullable prefixes) for a
	// cycle.
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, len(g.rules))
	var visit func(r int) error
	visit = func(r int) error {
		color[r] = grey
		for _, a := range g.rules[r] {
			for p := a; g.elems[p].kind == eRef; p++ {
				s := int(g.elems[p].id)
				switch color[s] {
				case grey:
					return fmt.Errorf("rule %s is left-recursive (it can reach itself without consuming input)", g.name(int32(s)))
				case white:
					if err := visit(s); err != nil {
						return err
					}
				}
				if g.minLen[s] != 0 {
					break
				}
			}
		}
		color[r] = black
		return nil
	}
	for r := range g.rules {
		if color[r] == white {
			if err := visit(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// computeMinLen finds the shortest string of each rule (lenInf for rules
// with none) with Knuth's generalization of Dijkstra's algorithm: a rule's
// length is final when it is the smallest candidate left, and an
// alternative becomes a candidate once all its references are final. It
// runs in O(E log E) for E grammar elements, whatever the rule order.
func (g *Grammar) computeMinLen() {
	n := len(g.rules)
	g.minLen = make([]int32, n)
	for i := range g.minLen {
		g.minLen[i] = lenInf
	}
	type altInfo struct {
		rule    int32
		pending int32 // references not yet final
		sum     int32 // terminals plus final references
	}
	var alts []altInfo
	uses := make([][]int32, n) // rule → alternatives referring to it, once per reference
	var h candHeap
	for r := range g.rules {
		for _, a := range g.rules[r] {
			ai := altInfo{rule: int32(r)}
			idx := int32(len(alts))
			for p := a; g.elems[p].kind != eEnd; p++ {
				if e := g.elems[p]; e.kind == eTerm {
					ai.sum = satAdd(ai.sum, 1)
				} else {
					ai.pending++
					uses[e.id] = append(uses[e.id], idx)
				}
			}
			alts = append(alts, ai)
			if ai.pending == 0 {
				h.push(cand{int32(r), ai.sum})
			}
		}
	}
	done := make([]bool, n)
	for len(h) > 0 {
		c := h.pop()
		if done[c.rule] {
			continue
		}
		done[c.rule] = true
		g.minLen[c.rule] = c.len
		for _, ai := range uses[c.rule] {
			a := &alts[ai]
			a.sum = satAdd(a.sum, c.len)
			if a.pending--; a.pending == 0 && !done[a.rule] {
				h.push(cand{a.rule, a.sum})
			}
		}
	}
}

type cand struct{ rule, len int32 }

// candHeap is a binary min-heap of candidates by length.
type candHeap []cand

func (h *candHeap) push(c cand) {
	*h = append(*h, c)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if q[p].len <= q[i].len {
			break
		}
		q[p], q[i] = q[i], q[p]
		i = p
	}
}

func (h *candHeap) pop() cand {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q = q[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(q) && q[l].len < q[m].len {
			m = l
		}
		if r < len(q) && q[r].len < q[m].len {
			m = r
		}
		if m == i {
			break
		}
		q[m], q[i] = q[i], q[m]
		i = m
	}
	*h = q
	return top
}

// restLen is the fewest bytes that finish the alternative from pos.
func (g *Grammar) restLen(pos int32) int32 {
	var n int32
	for ; g.elems[pos].kind != eEnd; pos++ {
		if e := g.elems[pos]; e.kind == eTerm {
			n = satAdd(n, 1)
		} else {
			n = satAdd(n, g.minLen[e.id])
		}
	}
	return n
}

// computeClasses partitions the bytes by membership in every terminal set.
func (g *Grammar) computeClasses() {
	sig := make(map[string]uint8)
	key := make([]byte, (len(g.sets)+7)/8)
	for c := 0; c < 256; c++ {
		clear(key)
		for i := range g.sets {
			if g.sets[i].has(byte(c)) {
				key[i/8] |= 1 << (i % 8)
			}
		}
		id, ok := sig[string(key)]
		if !ok {
			id = uint8(len(g.classRep))
			sig[string(key)] = id
			g.classRep = append(g.classRep, byte(c))
		}
		g.class[c] = id
	}
}

// String renders the grammar in a GBNF-like notation, for debugging.
func (g *Grammar) String() string {
	var sb strings.Builder
	for r, alts := range g.rules {
		fmt.Fprintf(&sb, "%s ::=", g.name(int32(r)))
		for i, a := range alts {
			if i > 0 {
				sb.WriteString(" |")
			}
			if g.elems[a].kind == eEnd {
				sb.WriteString(" \"\"")
			}
			for p := a; g.elems[p].kind != eEnd; p++ {
				e := g.elems[p]
				sb.WriteByte(' ')
				if e.kind == eRef {
					sb.WriteString(g.name(e.id))
				} else {
					sb.WriteString(formatSet(&g.sets[e.id]))
				}
			}
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

func formatSet(s *byteSet) string {
	if s.count() == 1 {
		for c := 0; c < 256; c++ {
			if s.has(byte(c)) {
				return fmt.Sprintf("%q", string(rune(c)))
			}
		}
	}
	var sb strings.Builder
	sb.WriteByte('[')
	for c := 0; c < 256; {
		if !s.has(byte(c)) {
			c++
			continue
		}
		d := c
		for d+1 < 256 && s.has(byte(d+1)) {
			d++
		}
		sb.WriteString(fmtByte(byte(c)))
		if d > c {
			sb.WriteByte('-')
			sb.WriteString(fmtByte(byte(d)))
		}
		c = d + 1
	}
	sb.WriteByte(']')
	return sb.String()
}

func fmtByte(b byte) string {
	if b > ' ' && b < 0x7f && b != '\\' && b != ']' && b != '-' && b != '[' {
		return string(rune(b))
	}
	return fmt.Sprintf("\\x%02X", b)
}

// Wrap returns a grammar for prefix, then a string of g, then suffix: for
// example a tool call's JSON arguments inside a model's <tool_call> tags.
func Wrap(prefix string, g *Grammar, suffix string) *Grammar {
	w := &Grammar{
		elems:  slices.Clone(g.elems),
		rules:  slices.Clone(g.rules),
		names:  g.names,
		base:   append(slices.Clone(g.base), g.base[g.root]),
		sets:   slices.Clone(g.sets),
		minLen: slices.Clone(g.minLen),
	}
	term := func(b byte) elem {
		var s byteSet
		s.add(b)
		w.sets = append(w.sets, s)
		return elem{kind: eTerm, id: int32(len(w.sets) - 1)}
	}
	start := int32(len(w.elems))
	for i := 0; i < len(prefix); i++ {
		w.elems = append(w.elems, term(prefix[i]))
	}
	w.elems = append(w.elems, elem{kind: eRef, id: g.root})
	for i := 0; i < len(suffix); i++ {
		w.elems = append(w.elems, term(suffix[i]))
	}
	w.elems = append(w.elems, elem{kind: eEnd})
	w.root = int32(len(w.rules))
	w.rules = append(w.rules, []int32{start})
	w.minLen = append(w.minLen, w.restLen(start))
	w.computeClasses()
	return w
}
