package pretok

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// Regex returns a Splitter that applies patterns in sequence, each to every
// chunk left by the one before, like llama.cpp's unicode_regex_split and a
// Hugging Face Sequence of Split pre-tokenizers with behavior "Isolated":
// each match is a chunk and so is the text between matches. Empty matches
// only mark split points.
//
// Patterns use Python regex / Oniguruma syntax as in tokenizer.json:
// \p{..} categories and scripts, (?i:..), look-around, and possessive
// quantifiers (rewritten to atomic groups). \s is Unicode White_Space and
// \d is \p{Nd}, as in Python's regex module. Patterns that llama.cpp
// recognises get a hand-written splitter; the rest run on regexp2.
func Regex(patterns ...string) (Splitter, error) {
	if len(patterns) == 0 {
		return nil, fmt.Errorf("pretok: no patterns")
	}
	return compile(patterns, true)
}

func compile(patterns []string, fast bool) (Splitter, error) {
	q := make(seq, 0, len(patterns))
	for _, pat := range patterns {
		sp, err := compileOne(pat, fast)
		if err != nil {
			return nil, err
		}
		q = append(q, sp)
	}
	if len(q) == 1 {
		return q[0], nil
	}
	return q, nil
}

func compileOne(pat string, fast bool) (Splitter, error) {
	if pat == "" {
		return nil, fmt.Errorf("pretok: empty pattern")
	}
	if fast {
		if sp, ok := fastPatterns[pat]; ok {
			return sp, nil
		}
		if m, ok := parseSimple(pat); ok {
			return scanner{m, m.skipTable()}, nil
		}
	}
	re, err := compileRegexp2(pat)
	if err != nil {
		return nil, err
	}
	return regexSplitter{re}, nil
}

func compileRegexp2(pat string) (re *regexp2.Regexp, err error) {
	expr, err := rewritePossessive(pat)
	if err != nil {
		return nil, fmt.Errorf("pretok: pattern %q: %w", pat, err)
	}
	// regexp2's parser panics on some malformed input (an unknown \p{..}).
	defer func() {
		if r := recover(); r != nil {
			re, err = nil, fmt.Errorf("pretok: pattern %q: %v", pat, r)
		}
	}()
	re, err = regexp2.Compile(expr, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("pretok: pattern %q: %w", pat, err)
	}
	return re, nil
}

// regexSplitter runs one regexp2 pattern. regexp2 matches on runes; the
// match positions are mapped back to byte offsets of the text.
type regexSplitter struct{ re *regexp2.Regexp }

func (x regexSplitter) Split(dst []string, text string) []string {
	if text == "" {
		return dst
	}
	runes := make([]rune, 0, len(text))
	offs := make([]int, 0, len(text)+1)
	for i, r := range text { // invalid bytes: one U+FFFD each, as in []rune(text)
		runes = append(runes, r)
		offs = append(offs, i)
	}
	offs = append(offs, len(text))
	prev := 0
	m, err := x.re.FindRunesMatch(runes)
	for ; m != nil && err == nil; m, err = x.re.FindNextMatch(m) {
		start, end := offs[m.Index], offs[m.Index+m.Length]
		if start > prev {
			dst = append(dst, text[prev:start])
		}
		if end > start {
			dst = append(dst, text[start:end])
		}
		prev = end
	}
	// err can only be a match timeout, and none is set; the rest of the
	// text stays one chunk rather than being lost.
	if prev < len(text) {
		dst = append(dst, text[prev:])
	}
	return dst
}

// rewritePossessive turns possessive quantifiers (X?+, X*+, X++, X{n,m}+),
// which .NET syntax lacks, into atomic groups: (?>X?).
func rewritePossessive(pat string) (string, error) {
	if !strings.Contains(pat, "+") {
		return pat, nil
	}
	var out strings.Builder
	var groups []int // output offsets of open groups
	atom := -1       // output offset where the last atom starts
	for i := 0; i < len(pat); {
		c := pat[i]
		switch c {
		case '\\':
			n := escapeLen(pat[i:])
			atom = out.Len()
			out.WriteString(pat[i : i+n])
			i += n
		case '[':
			n := classLen(pat[i:])
			if n < 0 {
				return "", fmt.Errorf("unterminated character class")
			}
			atom = out.Len()
			out.WriteString(pat[i : i+n])
			i += n
		case '(':
			groups = append(groups, out.Len())
			out.WriteByte(c)
			i++
			atom = -1
		case ')':
			if len(groups) == 0 {
				return "", fmt.Errorf("unbalanced ')'")
			}
			atom = groups[len(groups)-1]
			groups = groups[:len(groups)-1]
			out.WriteByte(c)
			i++
		case '*', '+', '?', '{':
			n := 1
			if c == '{' {
				end := strings.IndexByte(pat[i:], '}')
				if end < 0 {
					out.WriteByte(c) // a literal '{'
					atom = out.Len() - 1
					i++
					continue
				}
				n = end + 1
			}
			q := pat[i : i+n]
			i += n
			if atom >= 0 && i < len(pat) && pat[i] == '+' {
				s := out.String()
				out.Reset()
				out.WriteString(s[:atom])
				out.WriteString("(?>")
				out.WriteString(s[atom:])
				out.WriteString(q)
				out.WriteByte(')')
				i++
			} else {
				out.WriteString(q)
				if i < len(pat) && pat[i] == '?' { // lazy
					out.WriteByte('?')
					i++
				}
			}
			atom = -1
		case '|':
			out.WriteByte(c)
			i++
			atom = -1
		default:
			atom = out.Len()
			out.WriteByte(c)
			i++
		}
	}
	return out.String(), nil
}

// escapeLen is the length of the escape at the start of s (s[0] == '\\').
func escapeLen(s string) int {
	if len(s) < 2 {
		return len(s)
	}
	switch s[1] {
	case 'p', 'P', 'x', 'u':
		if len(s) > 2 && s[2] == '{' {
			if end := strings.IndexByte(s, '}'); end > 0 {
				return end + 1
			}
		}
		switch s[1] {
		case 'x':
			return min(len(s), 4)
		case 'u':
			return min(len(s), 6)
		}
	}
	_, w := utf8.DecodeRuneInString(s[1:])
	return 1 + w
}

// classLen is the length of the class at the start of s, or -1.
func classLen(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[':
			if i > 0 && i+1 < len(s) && s[i+1] == ':' { // [:alpha:]
				if end := strings.Index(s[i:], ":]"); end > 0 {
					i += end + 1
					continue
				}
			}
			depth++
			if i+1 < len(s) && s[i+1] == '^' {
				i++
			}
			if i+1 < len(s) && s[i+1] == ']' { // a leading ']' is literal
				i++
			}
		case ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}
