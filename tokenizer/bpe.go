package tokenizer

import (
	"fmt"
	"strings"
	"sync"
)

// bpeModel holds the merge table of a BPE tokenizer. Every string that
// takes part in a merge gets an id: its token id, or an id past the
// vocabulary for the few merge strings that are not tokens. Merges are
// then looked up by a pair of ids, with no string building per step.
type bpeModel struct {
	n      int32            // vocabulary size; ids >= n are merge-only strings
	ext    map[string]int32 // merge-only strings
	merges map[uint64]uint64
	// byteSym[b] is the id of byte b's byte-level character (-1: none).
	byteSym [256]int32
	// hexTok[b] is the <0xNN> token of byte b, for BPE without byte-level
	// encoding (-1: none).
	hexTok [256]int32

	cacheMu sync.Mutex
	cache   map[string][]int32
}

const (
	maxCachedWord = 64      // longest word (bytes) kept in the word cache
	maxCacheWords = 1 << 16 // the cache is emptied when it grows past this
)

func mergeKey(l, r int32) uint64 { return uint64(uint32(l))<<32 | uint64(uint32(r)) }

// splitMerge splits a GGUF merge line "left right" at its first space
// after the first byte, as llama.cpp does.
func splitMerge(line string) (l, r string, ok bool) {
	if len(line) < 2 {
		return "", "", false
	}
	i := strings.IndexByte(line[1:], ' ')
	if i < 0 {
		return "", "", false
	}
	return line[:i+1], line[i+2:], true
}

func newBPEModel(t *Tokenizer, merges [][2]string) (*bpeModel, error) {
	m := &bpeModel{
		n:      int32(len(t.tokens)),
		ext:    map[string]int32{},
		merges: make(map[uint64]uint64, len(merges)),
		cache:  map[string][]int32{},
	}
	if int64(len(merges)) >= 1<<31 {
		return nil, fmt.Errorf("tokenizer: %d merges is too many", len(merges))
	}
	var buf []byte
	for rank, mg := range merges {
		if mg[0] == "" || mg[1] == "" {
			continue // never matches a symbol
		}
		l, r := m.intern(t, mg[0]), m.intern(t, mg[1])
		key := mergeKey(l, r)
		if _, dup := m.merges[key]; dup {
			continue // the first (best) rank wins
		}
		buf = append(append(buf[:0], mg[0]...), mg[1]...)
		res := m.lookup(t, string(buf)) // no allocation
		if res < 0 {
			res = m.intern(t, string(buf))
		}
		m.merges[key] = uint64(rank)<<32 | uint64(uint32(res))
	}
	for b := 0; b < 256; b++ {
		m.byteSym[b] = m.lookup(t, byteEnc[b])
		m.hexTok[b] = NoToken
		const hex = "0123456789ABCDEF"
		if id, ok := t.ids[string([]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'})]; ok {
			m.hexTok[b] = id
		}
	}
	return m, nil
}

// intern returns the id of s, giving merge-only strings new ids.
func (m *bpeModel) intern(t *Tokenizer, s string) int32 {
	if id := m.lookup(t, s); id >= 0 {
		return id
	}
	id := m.n + int32(len(m.ext))
	m.ext[s] = id
	return id
}

func (m *bpeModel) lookup(t *Tokenizer, s string) int32 {
	if id, ok := t.ids[s]; ok {
		return id
	}
	if id, ok := m.ext[s]; ok {
		return id
	}
	return -1
}

// bpeBigram is a candidate merge of adjacent symbols whose ids were lid and
// rid when it was queued.
type bpeBigram struct {
	rank        int32
	left, right int32
	lid, rid    int32
	res         int32 // id of the merged string
}

// bpeBefore orders the queue: lowest rank first, then leftmost.
func bpeBefore(a, b *bpeBigram) bool {
	return a.rank < b.rank || a.rank == b.rank && a.left < b.left
}

type bpeQueue []bpeBigram

func (q *bpeQueue) push(b bpeBigram) {
	h := append(*q, b)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !bpeBefore(&h[i], &h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *bpeQueue) pop() bpeBigram {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && bpeBefore(&h[l], &h[m]) {
			m = l
		}
		if r < len(h) && bpeBefore(&h[r], &h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// bpeEncode is llama.cpp's llm_tokenizer_bpe_session::tokenize for one
// raw-text fragment: pre-tokenize into words, then BPE each word.
func (t *Tokenizer) bpeEncode(out []int32, text string, s *scratch) []int32 {
	if t.escapeWS {
		text = escapeSpaces(text)
	}
	text = sanitizeUTF8(text)
	s.words = t.preSplit.Split(s.words[:0], text)
	for _, w := range s.words {
		if w != "" {
			out = t.bpeWord(out, w, s)
		}
	}
	return out
}

// bpeWord appends the tokens of one pre-tokenized word.
func (t *Tokenizer) bpeWord(out []int32, word string, s *scratch) []int32 {
	m := t.bpe
	if len(word) <= maxCachedWord {
		m.cacheMu.Lock()
		ids, ok := m.cache[word]
		m.cacheMu.Unlock()
		if ok {
			return append(out, ids...)
		}
	}
	start := len(out)
	out = t.bpeMerge(out, word, s)
	if len(word) <= maxCachedWord {
		ids := append([]int32(nil), out[start:]...)
		m.cacheMu.Lock()
		if len(m.cache) >= maxCacheWords {
			clear(m.cache)
		}
		m.cache[strings.Clone(word)] = ids
		m.cacheMu.Unlock()
	}
	return out
}

// bpeMerge runs the merges on word: start from its characters (bytes, for
// byte-level BPE), repeatedly merge the adjacent pair of lowest rank
// (leftmost on ties), and spell symbols that are not tokens byte by byte.
func (t *Tokenizer) bpeMerge(out []int32, word string, s *scratch) []int32 {
	m := t.bpe
	if t.ignoreMerges {
		// A word that is a token is taken whole (llama.cpp's ignore_merges).
		w := word
		if t.byteEncode {
			s.enc = appendByteEncoded(s.enc[:0], word)
			w = string(s.enc) // the map lookup below does not allocate
			if id, ok := t.ids[w]; ok {
				return append(out, id)
			}
		} else if id, ok := t.ids[w]; ok {
			return append(out, id)
		}
	}
	if t.newlineWhole && strings.Trim(word, "\n") == "" {
		if id, ok := t.ids[word]; ok {
			return append(out, id) // llama.cpp's Gemma 4 newline fix
		}
	}
	syms := s.syms[:0]
	if t.byteEncode {
		for i := 0; i < len(word); i++ {
			syms = append(syms, symbol{start: int32(i), n: 1, prev: int32(i) - 1, next: int32(i) + 1, id: m.byteSym[word[i]]})
		}
	} else {
		for off := 0; off < len(word); {
			n := min(utf8Len(word[off]), len(word)-off)
			i := int32(len(syms))
			syms = append(syms, symbol{start: int32(off), n: int32(n), prev: i - 1, next: i + 1, id: m.lookup(t, word[off:off+n])})
			off += n
		}
	}
	syms[len(syms)-1].next = -1
	s.syms = syms

	if len(syms) > 1 {
		q := s.bpeq[:0]
		add := func(l, r int32) {
			if l < 0 || r < 0 {
				return
			}
			lid, rid := syms[l].id, syms[r].id
			if lid < 0 || rid < 0 {
				return
			}
			v, ok := m.merges[mergeKey(lid, rid)]
			if !ok {
				return
			}
			q.push(bpeBigram{rank: int32(v >> 32), left: l, right: r, lid: lid, rid: rid, res: int32(uint32(v))})
		}
		for i := int32(1); i < int32(len(syms)); i++ {
			add(i-1, i)
		}
		for len(q) > 0 {
			b := q.pop()
			l, r := &syms[b.left], &syms[b.right]
			// Skip pairs that changed since they were queued; comparing
			// ids is llama.cpp's comparison of the pair's text.
			if l.n == 0 || r.n == 0 || l.id != b.lid || r.id != b.rid {
				continue
			}
			l.id = b.res
			l.n += r.n
			r.n = 0
			l.next = r.next
			if r.next >= 0 {
				syms[r.next].prev = b.left
			}
			add(l.prev, b.left)
			add(b.left, l.next)
		}
		s.bpeq = q
	}

	for i := int32(0); i != -1; i = syms[i].next {
		sym := syms[i]
		if sym.id >= 0 && sym.id < m.n {
			out = append(out, sym.id)
			continue
		}
		// Not a token: fall back to its bytes, skipping those without a
		// token as llama.cpp does.
		raw := word[sym.start : sym.start+sym.n]
		if t.byteEncode {
			s.enc = appendByteEncoded(s.enc[:0], raw)
			for _, c := range s.enc {
				if id, ok := t.ids[string([]byte{c})]; ok {
					out = append(out, id)
				}
			}
		} else {
			for j := 0; j < len(raw); j++ {
				if id := m.hexTok[raw[j]]; id != NoToken {
					out = append(out, id)
				}
			}
		}
	}
	return out
}
