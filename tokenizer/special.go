package tokenizer

import "strings"

// frag is a piece of the input: either raw text (tok < 0) covering
// text[off:off+n], or a special token matched in it.
type frag struct {
	tok    int32
	off, n int
}

// specialTrie finds which special tokens occur anywhere in a text, so that
// the partition below only runs for those. Node 0 is unused; root[b] is
// the node after the byte b.
type specialTrie struct {
	root  [256]int32
	nodes []trieNode
}

type trieNode struct {
	next map[byte]int32
	term int32 // index into Tokenizer.specials ending here, or -1
}

func buildSpecialTrie(tokens []string, specials []int32) specialTrie {
	tr := specialTrie{nodes: make([]trieNode, 1, 1+len(specials))}
	for i, id := range specials {
		w := tokens[id]
		n := tr.root[w[0]]
		if n == 0 {
			n = tr.newNode()
			tr.root[w[0]] = n
		}
		for j := 1; j < len(w); j++ {
			c, ok := tr.nodes[n].next[w[j]]
			if !ok {
				c = tr.newNode()
				if tr.nodes[n].next == nil {
					tr.nodes[n].next = map[byte]int32{}
				}
				tr.nodes[n].next[w[j]] = c
			}
			n = c
		}
		tr.nodes[n].term = int32(i)
	}
	return tr
}

func (tr *specialTrie) newNode() int32 {
	tr.nodes = append(tr.nodes, trieNode{term: -1})
	return int32(len(tr.nodes) - 1)
}

// mark sets seen[i] for every special i that occurs in text and reports
// whether any does.
func (tr *specialTrie) mark(text string, seen []bool) bool {
	any := false
	for i := 0; i < len(text); i++ {
		n := tr.root[text[i]]
		for j := i + 1; n != 0; j++ {
			if t := tr.nodes[n].term; t >= 0 {
				seen[t] = true
				any = true
			}
			if j >= len(text) {
				break
			}
			n = tr.nodes[n].next[text[j]]
		}
	}
	return any
}

// partition is llama.cpp's tokenizer_st_partition: for each special token,
// longest first, split every raw-text fragment at the token's occurrences.
// With parseSpecial false only user-defined tokens are matched; control and
// unknown tokens stay text. Tokens with AttrLStrip/AttrRStrip eat the
// whitespace next to them.
func (t *Tokenizer) partition(s *scratch, text string, parseSpecial bool) []frag {
	frags := append(s.frags[:0], frag{tok: -1, off: 0, n: len(text)})
	if len(t.specials) == 0 || text == "" {
		s.frags = frags
		return frags
	}
	seen := s.seen[:0]
	for range t.specials {
		seen = append(seen, false)
	}
	s.seen = seen
	if !t.trie.mark(text, seen) {
		s.frags = frags
		return frags
	}
	next := s.frags2[:0]
	for i, id := range t.specials {
		if !seen[i] {
			continue
		}
		a := t.attrs[id]
		if !parseSpecial && a&(AttrControl|AttrUnknown) != 0 {
			continue
		}
		w := t.tokens[id]
		next = next[:0]
		for _, f := range frags {
			if f.tok >= 0 {
				next = append(next, f)
				continue
			}
			off, n := f.off, f.n
			for n > 0 {
				k := strings.Index(text[off:off+n], w)
				if k < 0 {
					next = append(next, frag{tok: -1, off: off, n: n})
					break
				}
				left := k
				if a&AttrLStrip != 0 {
					for left > 0 && isCSpace(text[off+left-1]) {
						left--
					}
				}
				if left > 0 {
					next = append(next, frag{tok: -1, off: off, n: left})
				}
				next = append(next, frag{tok: id, off: off + k, n: len(w)})
				roff := off + k + len(w)
				rn := off + n - roff
				if a&AttrRStrip != 0 {
					for rn > 0 && isCSpace(text[roff]) {
						roff++
						rn--
					}
				}
				off, n = roff, rn
			}
		}
		frags, next = next, frags
	}
	s.frags, s.frags2 = frags, next
	return frags
}

// isCSpace is C's isspace in the "C" locale.
func isCSpace(c byte) bool {
	return c == ' ' || c >= '\t' && c <= '\r'
}
