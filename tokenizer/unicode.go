package tokenizer

//go:generate sh -c "python3 gen_nfd.py > nfd_table.go && gofmt -w nfd_table.go"

import (
	"sort"
	"unicode"
	"unicode/utf8"
)

// utf8Len is llama.cpp's unicode_len_utf8: the length of a UTF-8 sequence
// judged only by its first byte's high nibble. Continuation bytes and
// 0xF8..0xFF count as one byte. Callers clamp it to what is left.
func utf8Len(b byte) int {
	switch b >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

// decodeCpt decodes one code point the way llama.cpp's
// unicode_cpt_from_utf8 does: it checks only the lead byte's form and that
// enough continuation bytes follow, so it accepts overlong forms and
// surrogates that Go's decoder rejects. ok is false for an invalid sequence,
// which llama.cpp replaces by U+FFFD consuming a single byte.
func decodeCpt(s string, i int) (cpt rune, size int, ok bool) {
	c := s[i]
	switch {
	case c < 0x80:
		return rune(c), 1, true
	case c&0x40 == 0:
		return 0, 1, false
	case c&0x20 == 0:
		if i+1 >= len(s) || s[i+1]&0xC0 != 0x80 {
			return 0, 1, false
		}
		return rune(c&0x1F)<<6 | rune(s[i+1]&0x3F), 2, true
	case c&0x10 == 0:
		if i+2 >= len(s) || s[i+1]&0xC0 != 0x80 || s[i+2]&0xC0 != 0x80 {
			return 0, 1, false
		}
		return rune(c&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), 3, true
	case c&0x08 == 0:
		if i+3 >= len(s) || s[i+1]&0xC0 != 0x80 || s[i+2]&0xC0 != 0x80 || s[i+3]&0xC0 != 0x80 {
			return 0, 1, false
		}
		return rune(c&0x07)<<18 | rune(s[i+1]&0x3F)<<12 | rune(s[i+2]&0x3F)<<6 | rune(s[i+3]&0x3F), 4, true
	}
	return 0, 1, false
}

// codepoints is llama.cpp's unicode_cpts_from_utf8: invalid sequences
// become U+FFFD, one per bad byte.
func codepoints(dst []rune, s string) []rune {
	for i := 0; i < len(s); {
		cpt, n, ok := decodeCpt(s, i)
		if !ok {
			cpt = utf8.RuneError
		}
		dst = append(dst, cpt)
		i += n
	}
	return dst
}

// appendCpt is llama.cpp's unicode_cpt_to_utf8. Unlike utf8.AppendRune it
// encodes surrogates as they are; code points past U+10FFFF, which
// llama.cpp refuses with an exception, become U+FFFD.
func appendCpt(dst []byte, cpt rune) []byte {
	switch {
	case cpt < 0:
		return utf8.AppendRune(dst, utf8.RuneError)
	case cpt <= 0x7F:
		return append(dst, byte(cpt))
	case cpt <= 0x7FF:
		return append(dst, 0xC0|byte(cpt>>6), 0x80|byte(cpt&0x3F))
	case cpt <= 0xFFFF:
		return append(dst, 0xE0|byte(cpt>>12), 0x80|byte(cpt>>6&0x3F), 0x80|byte(cpt&0x3F))
	case cpt <= 0x10FFFF:
		return append(dst, 0xF0|byte(cpt>>18), 0x80|byte(cpt>>12&0x3F), 0x80|byte(cpt>>6&0x3F), 0x80|byte(cpt&0x3F))
	}
	return utf8.AppendRune(dst, utf8.RuneError)
}

// sanitizeUTF8 returns s after llama.cpp's round trip through code points
// (unicode_cpts_from_utf8 then unicode_cpt_to_utf8), which the BPE
// pre-tokenizer applies to all text: invalid bytes become U+FFFD. Valid
// UTF-8, the common case, is returned as is without copying.
func sanitizeUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		cpt, n, ok := decodeCpt(s, i)
		if !ok {
			cpt = utf8.RuneError
		}
		b = appendCpt(b, cpt)
		i += n
	}
	return string(b)
}

// isWhitespace is llama.cpp's whitespace set (Unicode White_Space).
func isWhitespace(r rune) bool {
	switch {
	case r >= 9 && r <= 13, r == ' ', r == 0x85, r == 0xA0, r == 0x1680,
		r >= 0x2000 && r <= 0x200A, r == 0x2028, r == 0x2029, r == 0x202F,
		r == 0x205F, r == 0x3000:
		return true
	}
	return false
}

// isControl matches llama.cpp's CONTROL flag: categories Cc, Cf, Co and Cs.
func isControl(r rune) bool {
	if r >= 0xD800 && r <= 0xDFFF {
		return true
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co)
}

// isAccentMark matches llama.cpp's ACCENT_MARK flag: category M.
func isAccentMark(r rune) bool { return unicode.Is(unicode.M, r) }

// isPunctuation matches llama.cpp's PUNCTUATION flag: category P.
func isPunctuation(r rune) bool { return unicode.Is(unicode.P, r) }

// isSymbol matches llama.cpp's SYMBOL flag: category S.
func isSymbol(r rune) bool { return unicode.Is(unicode.S, r) }

// toLower is llama.cpp's unicode_tolower: the simple lowercase mapping.
func toLower(r rune) rune {
	if r >= 0xD800 && r <= 0xDFFF || r > unicode.MaxRune {
		return r
	}
	return unicode.ToLower(r)
}

type nfdRange struct{ first, last, nfd rune }

// nfdFirst returns the first code point of r's canonical decomposition,
// which is what llama.cpp's unicode_cpts_normalize_nfd keeps.
func nfdFirst(r rune) rune {
	if r < 0xC0 {
		return r
	}
	i := sort.Search(len(nfdRanges), func(i int) bool { return nfdRanges[i].first > r }) - 1
	if i >= 0 && r <= nfdRanges[i].last {
		return nfdRanges[i].nfd
	}
	return r
}

// isChineseChar is the CJK test of llama.cpp's WPM pre-processing (which
// copies BERT's, including its 0x2B920 typo for 0x2B820).
func isChineseChar(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF ||
		r >= 0x3400 && r <= 0x4DBF ||
		r >= 0x20000 && r <= 0x2A6DF ||
		r >= 0x2A700 && r <= 0x2B73F ||
		r >= 0x2B740 && r <= 0x2B81F ||
		r >= 0x2B920 && r <= 0x2CEAF ||
		r >= 0xF900 && r <= 0xFAFF ||
		r >= 0x2F800 && r <= 0x2FA1F
}
