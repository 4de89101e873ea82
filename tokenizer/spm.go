package tokenizer

import "strings"

// symbol is a run of bytes of the text being merged, linked to its
// neighbours; n == 0 once it has been merged into its left neighbour.
type symbol struct {
	start, n   int32
	prev, next int32
	id         int32 // BPE only: token (or merge-only string) id, -1 if none
}

// spmBigram is a candidate merge of symbols left and right into one token.
type spmBigram struct {
	score       float32
	left, right int32
	size        int32
}

// spmBefore orders the queue: higher score first, then leftmost.
func spmBefore(a, b spmBigram) bool {
	return a.score > b.score || a.score == b.score && a.left < b.left
}

type spmQueue []spmBigram

func (q *spmQueue) push(b spmBigram) {
	h := append(*q, b)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !spmBefore(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *spmQueue) pop() spmBigram {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && spmBefore(h[l], h[m]) {
			m = l
		}
		if r < len(h) && spmBefore(h[r], h[m]) {
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

// escapeSpaces replaces spaces by ▁ (U+2581) as SentencePiece does.
func escapeSpaces(s string) string {
	if strings.IndexByte(s, ' ') < 0 {
		return s
	}
	return strings.ReplaceAll(s, " ", "▁")
}

// spmEncode is llama.cpp's llm_tokenizer_spm_session::tokenize on text
// whose spaces are already escaped: start from UTF-8 characters, merge the
// adjacent pair whose concatenation is the highest-scoring token (leftmost
// on ties) until none is left, and spell symbols that are not tokens as
// byte tokens.
//
// When no token has a ▁ after some other character (t.spmWords), no merge
// can join a word to the ▁ that starts the next one, so each word is
// merged on its own: the same result, with small queues.
func (t *Tokenizer) spmEncode(out []int32, text string, s *scratch) []int32 {
	syms := s.syms[:0]
	if cap(syms) < len(text) {
		syms = make([]symbol, 0, len(text))
	}
	for off := 0; off < len(text); {
		n := min(utf8Len(text[off]), len(text)-off)
		syms = append(syms, symbol{start: int32(off), n: int32(n)})
		off += n
	}
	s.syms = syms
	isSpace := func(i int) bool {
		return syms[i].n == 3 && text[syms[i].start:syms[i].start+3] == "▁"
	}
	for lo := 0; lo < len(syms); {
		hi := len(syms)
		if t.spmWords {
			for hi = lo + 1; hi < len(syms); hi++ {
				if isSpace(hi) && !isSpace(hi-1) {
					break
				}
			}
		}
		out = t.spmMerge(out, text, syms[lo:hi], s)
		lo = hi
	}
	return out
}

// spmMerge runs the SPM merges over syms, whose start and n are set.
func (t *Tokenizer) spmMerge(out []int32, text string, syms []symbol, s *scratch) []int32 {
	for i := range syms {
		syms[i].prev, syms[i].next = int32(i)-1, int32(i)+1
	}
	syms[len(syms)-1].next = -1
	q := s.spmq[:0]
	try := func(left, right int32) {
		if left < 0 || right < 0 {
			return
		}
		st := syms[left].start
		size := syms[left].n + syms[right].n
		id, ok := t.ids[text[st:st+size]]
		if !ok {
			return
		}
		q.push(spmBigram{score: t.scores[id], left: left, right: right, size: size})
	}
	for i := int32(1); i < int32(len(syms)); i++ {
		try(i-1, i)
	}
	for len(q) > 0 {
		b := q.pop()
		l, r := &syms[b.left], &syms[b.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue // one side was merged since
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		try(l.prev, b.left)
		try(b.left, l.next)
	}
	s.spmq = q
	// llama.cpp's resegment: a merged symbol is always a token (merges
	// only make tokens), so only single characters can be missing, and
	// those become byte tokens.
	for i := int32(0); i != -1; i = syms[i].next {
		sym := syms[i]
		piece := text[sym.start : sym.start+sym.n]
		if id, ok := t.ids[piece]; ok {
			out = append(out, id)
			continue
		}
		for j := 0; j < len(piece); j++ {
			if id := t.spmByteToken(piece[j]); id != NoToken {
				out = append(out, id)
			}
		}
	}
	return out
}

// spmWordsSafe reports whether no token contains ▁ right after a
// character other than ▁, so that SPM merges never cross into a word.
func spmWordsSafe(tokens []string) bool {
	for _, w := range tokens {
		for i := 1; i < len(w); {
			j := strings.Index(w[i:], "▁")
			if j < 0 {
				break
			}
			at := i + j
			if at < 3 || w[at-3:at] != "▁" {
				return false
			}
			i = at + 3
		}
	}
	return true
}

// spmByteToken is llama.cpp's byte_to_token for SPM: the <0xNN> token, or
// else the one-byte token. llama.cpp fails when neither exists; here the
// unknown token stands in (or nothing, without one).
func (t *Tokenizer) spmByteToken(b byte) int32 {
	const hex = "0123456789ABCDEF"
	buf := [6]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'}
	if id, ok := t.ids[string(buf[:])]; ok {
		return id
	}
	if id, ok := t.ids[string([]byte{b})]; ok {
		return id
	}
	return t.unk
}
