package tokenizer

// wpmEncode is llama.cpp's llm_tokenizer_wpm_session::tokenize: normalize
// and split into words, then cover each word ("▁" + word, as GGUF BERT
// vocabularies spell word starts) greedily with the longest tokens; a word
// that cannot be covered becomes the unknown token.
func (t *Tokenizer) wpmEncode(out []int32, text string, s *scratch) []int32 {
	words := t.wpmPreprocess(s, text)
	buf := s.buf[:0]
	for _, w := range words {
		if w == "" {
			continue
		}
		buf = append(append(buf[:0], "▁"...), w...)
		word := string(buf)
		n := len(word)
		start := len(out)
		for i := 0; i < n; i++ {
			match := false
			for j := min(n, i+t.maxTokenLen+1); j > i; j-- {
				if id, ok := t.ids[word[i:j]]; ok {
					out = append(out, id)
					match = true
					i = j - 1
					break
				}
			}
			if !match { // the whole word is unknown
				out = out[:start]
				break
			}
		}
		if len(out) == start {
			out = append(out, t.unk)
		}
	}
	s.buf = buf
	return out
}

// wpmPreprocess is llama.cpp's WPM preprocess: optionally NFD and strip
// accents, lowercase, drop control characters, split at whitespace, and
// make punctuation, ASCII symbols and CJK characters words of their own.
func (t *Tokenizer) wpmPreprocess(s *scratch, text string) []string {
	cpts := codepoints(s.runes[:0], text)
	s.runes = cpts
	words := s.words[:0]
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	for _, c := range cpts {
		if t.stripAccents {
			c = nfdFirst(c)
		}
		if isWhitespace(c) {
			flush()
			continue
		}
		if c == 0 || c == 0xFFFD || isControl(c) {
			continue
		}
		if t.stripAccents && isAccentMark(c) {
			continue
		}
		lc := c
		if t.lowercase {
			lc = toLower(c)
		}
		if isPunctuation(c) || c < 0x7F && isSymbol(c) || isChineseChar(c) {
			flush()
			words = append(words, string(appendCpt(nil, lc)))
			continue
		}
		cur = appendCpt(cur, lc)
	}
	flush()
	s.words = words
	return words
}
