package grammar

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"sync"
)

// Vocab is what a constraint needs from a tokenizer; *tokenizer.Tokenizer
// satisfies it.
type Vocab interface {
	VocabSize() int
	// Piece returns the bytes token id stands for in generated text.
	Piece(id int32) []byte
	// IsEOG reports whether id ends generation.
	IsEOG(id int32) bool
}

// controlVocab is optionally implemented by a Vocab. Control tokens (BOS,
// chat markers) are never allowed inside constrained output: their text is
// not part of the decoded result, so matching it would desynchronize the
// grammar from what the client receives.
type controlVocab interface {
	IsControl(id int32) bool
}

// unkVocab is optionally implemented by a Vocab; the unknown token is
// never allowed either, since decoding drops it too.
type unkVocab interface {
	UNK() int32
}

// tokenIndex is a byte trie over a vocabulary's pieces, stored in preorder
// so that a mask walk is a forward scan that skips dead subtrees.
type tokenIndex struct {
	size int // vocabulary size

	// Trie nodes below the root, in preorder. Node i stands for byte b[i]
	// at depth depth[i] (1 for first bytes); its subtree ends before
	// end[i]; the tokens whose piece ends at it are toks[first[i]:first[i+1]].
	b     []byte
	depth []uint16
	end   []int32
	first []int32
	toks  []int32

	maxDepth int
	eog      []int32

	pieceOff []int32 // piece of usable token id is pieces[pieceOff[id]:pieceOff[id+1]]
	pieces   []byte
	usable   []bool // in the trie: not EOG, not control, non-empty piece
	isEOG    []bool
}

// maxPiece bounds the piece length the trie indexes; longer pieces (none
// in real vocabularies) are never allowed.
const maxPiece = 1 << 12

func buildIndex(v Vocab) (*tokenIndex, error) {
	n := v.VocabSize()
	if n <= 0 {
		return nil, errors.New("grammar: vocabulary is empty")
	}
	cv, _ := v.(controlVocab)
	unk := int32(-1)
	if uv, ok := v.(unkVocab); ok {
		unk = uv.UNK()
	}
	ix := &tokenIndex{
		size:     n,
		pieceOff: make([]int32, n+1),
		usable:   make([]bool, n),
		isEOG:    make([]bool, n),
	}
	type entry struct {
		piece []byte
		id    int32
	}
	entries := make([]entry, 0, n)
	for id := int32(0); int(id) < n; id++ {
		p := v.Piece(id)
		ix.pieceOff[id] = int32(len(ix.pieces))
		switch {
		case v.IsEOG(id):
			ix.isEOG[id] = true
			ix.eog = append(ix.eog, id)
		case cv != nil && cv.IsControl(id), id == unk, len(p) == 0, len(p) > maxPiece:
		default:
			ix.usable[id] = true
			ix.pieces = append(ix.pieces, p...)
		}
	}
	ix.pieceOff[n] = int32(len(ix.pieces))
	for id := int32(0); int(id) < n; id++ {
		if ix.usable[id] {
			entries = append(entries, entry{ix.piece(id), id})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := bytes.Compare(a.piece, b.piece); c != 0 {
			return c
		}
		return int(a.id - b.id)
	})

	// Sorted pieces visit the trie in preorder: each piece shares a prefix
	// with the previous one and adds nodes for the rest.
	var path []int32 // node index at each depth-1
	var prev []byte
	for _, e := range entries {
		lcp := 0
		for lcp < len(prev) && lcp < len(e.piece) && prev[lcp] == e.piece[lcp] {
			lcp++
		}
		for len(path) > lcp {
			ix.end[path[len(path)-1]] = int32(len(ix.b))
			path = path[:len(path)-1]
		}
		for d := lcp; d < len(e.piece); d++ {
			path = append(path, int32(len(ix.b)))
			ix.b = append(ix.b, e.piece[d])
			ix.depth = append(ix.depth, uint16(d+1))
			ix.end = append(ix.end, 0)
			ix.first = append(ix.first, int32(len(ix.toks)))
		}
		ix.toks = append(ix.toks, e.id)
		ix.maxDepth = max(ix.maxDepth, len(e.piece))
		prev = e.piece
	}
	for _, p := range path {
		ix.end[p] = int32(len(ix.b))
	}
	ix.first = append(ix.first, int32(len(ix.toks)))
	return ix, nil
}

func (ix *tokenIndex) piece(id int32) []byte {
	return ix.pieces[ix.pieceOff[id]:ix.pieceOff[id+1]]
}

// The index of a vocabulary is built once and shared by all constraints
// on it; a small cache keyed by the Vocab value holds the recent ones.
var indexCache struct {
	sync.Mutex
	keys []Vocab
	vals []*tokenIndex
}

const indexCacheSize = 8

func indexFor(v Vocab) (*tokenIndex, error) {
	if v == nil {
		return nil, errors.New("grammar: nil vocabulary")
	}
	rv := reflect.ValueOf(v)
	if !rv.Comparable() {
		return buildIndex(v)
	}
	c := &indexCache
	c.Lock()
	defer c.Unlock()
	for i, k := range c.keys {
		if k == v {
			return c.vals[i], nil
		}
	}
	ix, err := buildIndex(v)
	if err != nil {
		return nil, err
	}
	if len(c.keys) == indexCacheSize {
		c.keys = c.keys[1:]
		c.vals = c.vals[1:]
	}
	c.keys = append(c.keys, v)
	c.vals = append(c.vals, ix)
	return ix, nil
}
