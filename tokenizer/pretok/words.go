package pretok

import "unicode/utf8"

// Hand-written matchers for the hot word-level patterns. Each match method
// is the regex engine's answer at one position: it tries the alternatives in
// order, with greedy quantifiers and the backtracking the patterns imply,
// and returns the end of the first match starting at p, or -1. The scan
// driver (scan.go) turns matches into chunks. The differential tests check
// every one of them against regexp2 running the pattern it implements.

// contraction returns the length (2 or 3) of 's 't 're 've 'm 'll 'd at
// s[p:], or 0. fold makes the letters case-insensitive ('S, 'LL, ...).
func contraction(s string, p int, fold bool) int {
	if p+1 >= len(s) || s[p] != '\'' {
		return 0
	}
	a := s[p+1]
	if fold {
		a = lowerASCII(a)
	}
	switch a {
	case 's', 't', 'm', 'd':
		return 2
	}
	if p+2 >= len(s) {
		return 0
	}
	b := s[p+2]
	if fold {
		b = lowerASCII(b)
	}
	if (a == 'r' || a == 'v') && b == 'e' || a == 'l' && b == 'l' {
		return 3
	}
	return 0
}

func lowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// spaceTail matches the whitespace alternatives at p, where s[p] is
// whitespace:
//
//	\s*[\r\n]+   (newlines: only if nl)
//	\s+(?!\S)
//	\s+          (only if tail; otherwise a lone space before \S is no match)
func spaceTail(s string, p int, nl, tail bool) int {
	end, last, lastNL := spaceRun(s, p)
	if nl && lastNL >= 0 {
		// \s* backtracks to just before the last newline; [\r\n]+ takes it.
		return lastNL
	}
	if end == len(s) {
		return end // nothing follows, so (?!\S) holds at the end
	}
	if last > p {
		return last // give back one rune so that (?!\S) holds
	}
	if tail {
		return end
	}
	return -1
}

// gpt2Matcher: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
// and, with tail, the Hugging Face ByteLevel form ending in |\s+.
type gpt2Matcher struct{ tail bool }

func (m gpt2Matcher) match(s string, p int) int {
	if n := contraction(s, p, false); n > 0 {
		return p + n
	}
	q := p
	c, _ := classAt(s, p)
	if s[p] == ' ' {
		if c2, w2 := classAt(s, p+1); w2 > 0 && c2&clSpace == 0 {
			q, c = p+1, c2
		}
	}
	switch {
	case c&clL != 0:
		return runOf(s, q, clL)
	case c&clN != 0:
		return runOf(s, q, clN)
	case c&clSpace == 0:
		return runNot(s, q, clSpace|clL|clN)
	}
	return spaceTail(s, p, false, m.tail)
}

// llama3Matcher covers the Llama 3 / Qwen 2 family:
//
//	(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|    (if contractions)
//	[^\r\n\p{L}\p{N}]?WORD+|                                      WORD = \p{L}, or [\p{L}\p{M}] with marks
//	\p{N}{1,digits}|                                              (digits 0: \p{N}+)
//	 ?PUNCT+[\r\n]*|                                              PUNCT = [^\s\p{L}\p{N}] (and not \p{M} with marks); [\r\n]* only if punctNL
//	\s*[\r\n]+|\s+(?!\S)|\s+
//
// With cascade (Jais 2), whitespace not ending in a newline is cut into
// blocks: \s{512}(?!\S)|\s{256}(?!\S)|...|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}
// replaces \s+(?!\S)|\s+.
type llama3Matcher struct {
	contractions bool
	marks        bool
	digits       int
	punctNL      bool
	cascade      bool
}

func (m llama3Matcher) match(s string, p int) int {
	b := s[p]
	if m.contractions {
		if n := contraction(s, p, true); n > 0 {
			return p + n
		}
	}
	word := clL
	notPunct := clSpace | clL | clN
	if m.marks {
		word |= clM
		notPunct |= clM
	}
	c, w := classAt(s, p)
	if c&word != 0 {
		return runOf(s, p, word)
	}
	if b != '\r' && b != '\n' && c&(clL|clN) == 0 {
		if c2, w2 := classAt(s, p+w); w2 > 0 && c2&word != 0 {
			return runOf(s, p+w, word)
		}
	}
	if c&clN != 0 {
		return runMax(s, p, clN, m.digits)
	}
	if e := punctRun(s, p, c, notPunct, m.punctNL, false); e >= 0 {
		return e
	}
	if m.cascade {
		return cascadeSpace(s, p)
	}
	return spaceTail(s, p, true, true)
}

// punctRun matches ` ?PUNCT+` at p, PUNCT being the runes whose class has
// no bit of notPunct and c the class at p, followed with nl by [\r\n]*
// (with slash, [\r\n/]*). It returns -1 when no such run starts at p.
func punctRun(s string, p int, c, notPunct class, nl, slash bool) int {
	q := p
	if s[p] == ' ' {
		if c2, w2 := classAt(s, p+1); w2 > 0 && c2&notPunct == 0 {
			q, c = p+1, c2
		}
	}
	if c&notPunct != 0 {
		return -1
	}
	e := runNot(s, q, notPunct)
	for nl && e < len(s) && (s[e] == '\r' || s[e] == '\n' || slash && s[e] == '/') {
		e++
	}
	return e
}

// cascadeSpace matches Jais 2's whitespace alternatives at p, where s[p]
// is whitespace.
func cascadeSpace(s string, p int) int {
	end, _, lastNL := spaceRun(s, p)
	if lastNL >= 0 {
		return lastNL // \s*[\r\n]+
	}
	n := utf8.RuneCountInString(s[p:end])
	k := 1 // \s{1}
	for _, try := range [...]int{512, 256, 128, 64, 32, 16, 8, 4, 2} {
		// \s{try}(?!\S): try runes, then whitespace or the end.
		if n > try || n == try && end == len(s) {
			k = try
			break
		}
	}
	for ; k > 0; k-- {
		_, w := utf8.DecodeRuneInString(s[p:])
		p += w
	}
	return p
}

// gpt4oMatcher covers the GPT-4o (o200k) family, which splits words at
// case changes:
//
//	[\p{Han}]+|                                                   (if han)
//	[^\r\n\p{L}\p{N}]?UPPER*LOWER+CONTRACTION?|
//	[^\r\n\p{L}\p{N}]?UPPER+LOWER*CONTRACTION?|
//	\p{N}{1,digits}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// UPPER = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}], LOWER = [\p{Ll}\p{Lm}\p{Lo}\p{M}]
// (both without Han if han), CONTRACTION = (?:'[sS]|...|'[dD]) if
// contractions, and the trailing class is [\r\n]* unless slash.
type gpt4oMatcher struct {
	contractions bool
	digits       int
	slash        bool
	han          bool
}

const (
	clUpper = clLu | clLt | clLm | clLo | clM
	clLower = clLl | clLm | clLo | clM
)

func (m gpt4oMatcher) isUpper(c class) bool {
	return c&clUpper != 0 && !(m.han && c&clHan != 0)
}

func (m gpt4oMatcher) isLower(c class) bool {
	return c&clLower != 0 && !(m.han && c&clHan != 0)
}

func (m gpt4oMatcher) suffix(s string, e int) int {
	if m.contractions {
		e += contraction(s, e, true)
	}
	return e
}

// upperLower matches UPPER*LOWER+ at q. UPPER* first takes its whole run,
// then gives runes back until LOWER+ can start: the start is the rune after
// the run if it is LOWER, else the last rune of the run that is LOWER too.
func (m gpt4oMatcher) upperLower(s string, q int) int {
	lastLower := -1
	i := q
	for i < len(s) {
		c, w := classAt(s, i)
		if !m.isUpper(c) {
			break
		}
		if m.isLower(c) {
			lastLower = i
		}
		i += w
	}
	start := lastLower
	if c, w := classAt(s, i); w > 0 && m.isLower(c) {
		start = i
	}
	if start < 0 {
		return -1
	}
	return m.suffix(s, m.runLower(s, start))
}

// upperPlus matches UPPER+LOWER* at q.
func (m gpt4oMatcher) upperPlus(s string, q int) int {
	i := q
	for i < len(s) {
		c, w := classAt(s, i)
		if !m.isUpper(c) {
			break
		}
		i += w
	}
	if i == q {
		return -1
	}
	return m.suffix(s, m.runLower(s, i))
}

func (m gpt4oMatcher) runLower(s string, i int) int {
	for i < len(s) {
		c, w := classAt(s, i)
		if !m.isLower(c) {
			break
		}
		i += w
	}
	return i
}

func (m gpt4oMatcher) match(s string, p int) int {
	b := s[p]
	c, w := classAt(s, p)
	if m.han && c&clHan != 0 {
		return runOf(s, p, clHan)
	}
	// The optional prefix is tried first with one rune, then with none,
	// for each of the two word alternatives in turn.
	prefix := b != '\r' && b != '\n' && c&(clL|clN) == 0 && p+w < len(s)
	if prefix {
		if e := m.upperLower(s, p+w); e >= 0 {
			return e
		}
	}
	if e := m.upperLower(s, p); e >= 0 {
		return e
	}
	if prefix {
		if e := m.upperPlus(s, p+w); e >= 0 {
			return e
		}
	}
	if e := m.upperPlus(s, p); e >= 0 {
		return e
	}
	if c&clN != 0 {
		return runMax(s, p, clN, m.digits)
	}
	if e := punctRun(s, p, c, clSpace|clL|clN, true, m.slash); e >= 0 {
		return e
	}
	return spaceTail(s, p, true, true)
}

// deepseek3Matcher is the word pattern of DeepSeek V3 (also Hunyuan dense,
// JoyAI, HY v4, AFMoE), applied after digits and CJK runs are split off:
//
//	[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|
//	[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|
//	 ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Unlike the others it matches nothing at some runes (controls, digits not
// before a letter, unassigned code points); those become gap chunks.
type deepseek3Matcher struct{}

func isASCIILetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

func isASCIIPunct(b byte) bool {
	return '!' <= b && b <= '/' || ':' <= b && b <= '@' || '[' <= b && b <= '`' || '{' <= b && b <= '~'
}

func (deepseek3Matcher) match(s string, p int) int {
	b := s[p]
	if isASCIIPunct(b) && p+1 < len(s) && isASCIILetter(s[p+1]) {
		e := p + 2
		for e < len(s) && isASCIILetter(s[e]) {
			e++
		}
		return e
	}
	const word = clL | clM
	c, w := classAt(s, p)
	if c&word != 0 {
		return runOf(s, p, word)
	}
	if b != '\r' && b != '\n' && c&(clL|clP|clS) == 0 {
		if c2, w2 := classAt(s, p+w); w2 > 0 && c2&word != 0 {
			return runOf(s, p+w, word)
		}
	}
	q := p
	if b == ' ' {
		if c2, w2 := classAt(s, p+1); w2 > 0 && c2&(clP|clS) != 0 {
			q, c = p+1, c2
		}
	}
	if c&(clP|clS) != 0 {
		e := runOf(s, q, clP|clS)
		for e < len(s) && (s[e] == '\r' || s[e] == '\n') {
			e++
		}
		return e
	}
	if c&clSpace != 0 {
		return spaceTail(s, p, true, true)
	}
	return -1
}
