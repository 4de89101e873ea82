package grammar

import (
	"encoding/binary"
	"slices"
)

// The recognizer is a pushdown automaton run on all parses at once, as in
// llama.cpp's grammar sampler: a configuration is a set of stacks, each a
// chain of grammar positions whose top is a terminal. Stacks are interned
// as (position, parent) nodes, so equal stacks are equal ids, and a
// configuration is a sorted set of node ids, interned as a state. The
// transition of a state on a byte class is computed once and cached, which
// makes the recognizer a lazily built DFA over configurations.

// Cache bounds: past them the tables are rebuilt around the current state
// between steps, so memory stays bounded over a long generation.
const (
	maxStates = 1 << 14
	maxNodes  = 1 << 18
)

type stackNode struct {
	pos    int32 // grammar position: a terminal for tops, else a return position
	parent int32 // node id; 0 is the empty stack
}

type stateInfo struct {
	nodes  []int32 // sorted stack tops; 0 (the empty stack) means accept
	accept bool
}

type machine struct {
	g  *Grammar
	nc int // byte classes

	nodes   []stackNode
	nodeIdx map[uint64]int32

	// State 0 is dead: no stacks. trans[s*nc+c] is the state after class c,
	// -1 until computed.
	states   []stateInfo
	stateIdx map[string]int32
	trans    []int32

	// dist[n] is the fewest bytes that complete stack n (-1: not known).
	dist []int32

	// Scratch for one transition.
	out  []int32
	acc  bool
	seen map[uint64]struct{}
	key  []byte
}

func newMachine(g *Grammar) *machine {
	m := &machine{g: g, nc: len(g.classRep)}
	m.reset()
	return m
}

func (m *machine) reset() {
	m.nodes = append(m.nodes[:0], stackNode{pos: -1, parent: -1})
	m.nodeIdx = make(map[uint64]int32)
	m.states = append(m.states[:0], stateInfo{})
	m.stateIdx = make(map[string]int32)
	m.trans = m.trans[:0]
	for i := 0; i < m.nc; i++ {
		m.trans = append(m.trans, 0)
	}
	m.dist = m.dist[:0]
	if m.seen == nil {
		m.seen = make(map[uint64]struct{})
	}
}

// start returns the state before any input.
func (m *machine) start() int32 {
	m.begin()
	for _, a := range m.g.rules[m.g.root] {
		m.advance(a, 0)
	}
	return m.intern()
}

// step returns the state after one byte of class c; 0 means rejected.
func (m *machine) step(s int32, c uint8) int32 {
	if t := m.trans[int(s)*m.nc+int(c)]; t >= 0 {
		return t
	}
	return m.compute(s, c)
}

func (m *machine) compute(s int32, c uint8) int32 {
	g := m.g
	b := g.classRep[c]
	m.begin()
	for _, n := range m.states[s].nodes {
		if n == 0 {
			continue
		}
		nd := m.nodes[n]
		if g.sets[g.elems[nd.pos].id].has(b) {
			m.advance(nd.pos+1, nd.parent)
		}
	}
	t := m.intern()
	m.trans[int(s)*m.nc+int(c)] = t
	return t
}

func (m *machine) begin() {
	clear(m.seen)
	m.out = m.out[:0]
	m.acc = false
}

// advance adds the stacks that continue at pos below parent: pos is a
// terminal (a stack top), a rule reference (expanded into the rule's
// alternatives) or an alternative's end (return to parent).
func (m *machine) advance(pos, parent int32) {
	k := uint64(uint32(pos))<<32 | uint64(uint32(parent))
	if _, ok := m.seen[k]; ok {
		return
	}
	m.seen[k] = struct{}{}
	g := m.g
	switch e := g.elems[pos]; e.kind {
	case eEnd:
		if parent == 0 {
			m.acc = true
			return
		}
		p := m.nodes[parent]
		m.advance(p.pos, p.parent)
	case eTerm:
		m.out = append(m.out, m.node(pos, parent))
	case eRef:
		cont := parent
		if g.elems[pos+1].kind != eEnd {
			cont = m.node(pos+1, parent)
		}
		for _, a := range g.rules[e.id] {
			m.advance(a, cont)
		}
	}
}

func (m *machine) node(pos, parent int32) int32 {
	k := uint64(uint32(pos))<<32 | uint64(uint32(parent))
	if id, ok := m.nodeIdx[k]; ok {
		return id
	}
	id := int32(len(m.nodes))
	m.nodes = append(m.nodes, stackNode{pos: pos, parent: parent})
	m.nodeIdx[k] = id
	return id
}

// intern turns the scratch output into a state id.
func (m *machine) intern() int32 {
	if m.acc {
		m.out = append(m.out, 0)
	}
	if len(m.out) == 0 {
		return 0
	}
	slices.Sort(m.out)
	m.out = slices.Compact(m.out)
	m.key = m.key[:0]
	for _, n := range m.out {
		m.key = binary.LittleEndian.AppendUint32(m.key, uint32(n))
	}
	if id, ok := m.stateIdx[string(m.key)]; ok {
		return id
	}
	id := int32(len(m.states))
	m.states = append(m.states, stateInfo{nodes: slices.Clone(m.out), accept: m.acc})
	m.stateIdx[string(m.key)] = id
	for i := 0; i < m.nc; i++ {
		m.trans = append(m.trans, -1)
	}
	return id
}

// full reports that the caches have outgrown their bounds.
func (m *machine) full() bool {
	return len(m.states) > maxStates || len(m.nodes) > maxNodes
}

// compact rebuilds the tables around state s and returns its new id.
func (m *machine) compact(s int32) int32 {
	old := m.nodes
	stacks := m.states[s].nodes
	m.nodes = nil
	m.states = nil
	m.trans = nil
	m.reset()
	remap := map[int32]int32{0: 0}
	var copyNode func(n int32) int32
	copyNode = func(n int32) int32 {
		if id, ok := remap[n]; ok {
			return id
		}
		id := m.node(old[n].pos, copyNode(old[n].parent))
		remap[n] = id
		return id
	}
	m.begin()
	for _, n := range stacks {
		if n == 0 {
			m.acc = true
			continue
		}
		m.out = append(m.out, copyNode(n))
	}
	return m.intern()
}

// accepting reports whether the input so far is a complete string.
func (m *machine) accepting(s int32) bool { return m.states[s].accept }

// final reports that s accepts and nothing may follow.
func (m *machine) final(s int32) bool {
	n := m.states[s].nodes
	return len(n) == 1 && n[0] == 0
}

// remaining returns the fewest bytes that complete the input from state
// s, or -1 for the dead state.
func (m *machine) remaining(s int32) int {
	if s == 0 {
		return -1
	}
	best := -1
	for _, n := range m.states[s].nodes {
		d := int(m.stackDist(n))
		if best < 0 || d < best {
			best = d
		}
	}
	return best
}

// stackDist is the fewest bytes that empty stack n: the rest of each
// sequence on it, innermost first.
func (m *machine) stackDist(n int32) int32 {
	if n == 0 {
		return 0
	}
	for len(m.dist) < len(m.nodes) {
		m.dist = append(m.dist, -1)
	}
	if d := m.dist[n]; d >= 0 {
		return d
	}
	// Iterate down the chain to avoid deep recursion on deep stacks.
	var chain []int32
	for x := n; x != 0 && m.dist[x] < 0; x = m.nodes[x].parent {
		chain = append(chain, x)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		x := chain[i]
		m.dist[x] = satAdd(m.g.restLen(m.nodes[x].pos), m.stackDist(m.nodes[x].parent))
	}
	return m.dist[n]
}
