package pretok

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Many pre-tokenizer patterns are alternations of runs of one character
// class, optionally led by one character of another: [\r\n], \p{N}{1,3},
// \s?[A-Za-z...]+, [^\n]+|[\n]+. parseSimple compiles exactly that subset
// into a matcher that needs no backtracking engine; anything else is left
// to regexp2.

// charSet is a character class: a union of classes and rune ranges,
// possibly negated.
type charSet struct {
	neg    bool
	cats   class
	ranges []runeRange // sorted, disjoint
	ascii  [2]uint64   // membership of runes < 128, negation applied
}

type runeRange struct{ lo, hi rune }

func (cs *charSet) has(r rune, c class) bool {
	if r < utf8.RuneSelf && r >= 0 {
		return cs.ascii[r>>6]&(1<<(r&63)) != 0
	}
	return cs.slowHas(r, c) != cs.neg
}

func (cs *charSet) slowHas(r rune, c class) bool {
	if c&cs.cats != 0 {
		return true
	}
	i := sort.Search(len(cs.ranges), func(i int) bool { return cs.ranges[i].hi >= r })
	return i < len(cs.ranges) && cs.ranges[i].lo <= r
}

func (cs *charSet) finish() {
	sort.Slice(cs.ranges, func(i, j int) bool { return cs.ranges[i].lo < cs.ranges[j].lo })
	var merged []runeRange
	for _, rg := range cs.ranges {
		if n := len(merged); n > 0 && rg.lo <= merged[n-1].hi+1 {
			merged[n-1].hi = max(merged[n-1].hi, rg.hi)
			continue
		}
		merged = append(merged, rg)
	}
	cs.ranges = merged
	for r := rune(0); r < utf8.RuneSelf; r++ {
		if cs.slowHas(r, asciiClass[r]) != cs.neg {
			cs.ascii[r>>6] |= 1 << (r & 63)
		}
	}
}

// categoryBits maps the \p{..} names the simple compiler accepts.
var categoryBits = map[string]class{
	"L": clL, "Lu": clLu, "Ll": clLl, "Lt": clLt, "Lm": clLm, "Lo": clLo,
	"M": clM, "N": clN, "Nd": clNd, "P": clP, "S": clS, "Han": clHan,
}

// simpleAlt is one alternative: LEAD? SET{min,max} (max < 0: unbounded),
// or with leadMin 1, LEAD SET{min,max} (as in Metaspace's ▁[^▁]*).
type simpleAlt struct {
	lead     *charSet
	leadMin  int
	set      *charSet
	min, max int
}

type simpleMatcher []simpleAlt

func (m simpleMatcher) match(s string, p int) int {
	for i := range m {
		a := &m[i]
		if a.lead != nil {
			r, c, w := decode(s, p)
			if a.lead.has(r, c) {
				if e := a.run(s, p+w); e >= 0 {
					return e
				}
			}
			if a.leadMin > 0 {
				continue
			}
		}
		if e := a.run(s, p); e >= 0 {
			return e
		}
	}
	return -1
}

// skipTable marks the ASCII bytes that start no match. (Bytes of
// multi-byte runes are never skipped.)
func (m simpleMatcher) skipTable() *[256]bool {
	var t [256]bool
	for b := range utf8.RuneSelf {
		t[b] = true
		for _, a := range m {
			if a.set.has(rune(b), asciiClass[b]) || a.lead != nil && a.lead.has(rune(b), asciiClass[b]) {
				t[b] = false
			}
		}
	}
	return &t
}

func (a *simpleAlt) run(s string, i int) int {
	n := 0
	for i < len(s) && (a.max < 0 || n < a.max) {
		r, c, w := decode(s, i)
		if !a.set.has(r, c) {
			break
		}
		i += w
		n++
	}
	if n < a.min {
		return -1
	}
	return i
}

// parseSimple compiles pat if it is in the simple subset.
func parseSimple(pat string) (simpleMatcher, bool) {
	var m simpleMatcher
	for _, alt := range splitTopLevel(pat) {
		a, ok := parseSimpleAlt(alt)
		if !ok {
			return nil, false
		}
		m = append(m, a)
	}
	return m, len(m) > 0
}

// splitTopLevel splits pat at the '|' outside classes. It gives up (one
// element, which then fails to parse) on groups.
func splitTopLevel(pat string) []string {
	var alts []string
	start, inClass := 0, false
	for i := 0; i < len(pat); i++ {
		switch pat[i] {
		case '\\':
			i++
		case '[':
			inClass = true
		case ']':
			inClass = false
		case '|':
			if !inClass {
				alts = append(alts, pat[start:i])
				start = i + 1
			}
		}
	}
	return append(alts, pat[start:])
}

type simpleItem struct {
	src      string // the atom's text, to merge repeats like [0-9][0-9][0-9]
	set      *charSet
	min, max int
}

func parseSimpleAlt(alt string) (simpleAlt, bool) {
	var items []simpleItem
	for i := 0; i < len(alt); {
		set, n, ok := parseAtom(alt[i:])
		if !ok {
			return simpleAlt{}, false
		}
		src := alt[i : i+n]
		i += n
		lo, hi, n, ok := parseQuant(alt[i:])
		if !ok {
			return simpleAlt{}, false
		}
		i += n
		if k := len(items) - 1; k >= 0 && items[k].src == src && items[k].max >= 0 && hi >= 0 {
			items[k].min += lo
			items[k].max += hi
			continue
		}
		items = append(items, simpleItem{src, set, lo, hi})
	}
	switch {
	case len(items) == 1 && items[0].min >= 1:
		return simpleAlt{set: items[0].set, min: items[0].min, max: items[0].max}, true
	case len(items) == 2 && items[0].max == 1 && (items[0].min == 1 || items[1].min >= 1):
		// Never an empty match: the lead or the run takes a rune.
		return simpleAlt{lead: items[0].set, leadMin: items[0].min, set: items[1].set, min: items[1].min, max: items[1].max}, true
	}
	return simpleAlt{}, false
}

// parseQuant parses an optional greedy quantifier; lazy and possessive
// forms are not simple.
func parseQuant(s string) (lo, hi, n int, ok bool) {
	lo, hi = 1, 1
	if s == "" {
		return lo, hi, 0, true
	}
	switch s[0] {
	case '+':
		lo, hi, n = 1, -1, 1
	case '*':
		lo, hi, n = 0, -1, 1
	case '?':
		lo, hi, n = 0, 1, 1
	case '{':
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return 0, 0, 0, false
		}
		body := s[1:end]
		n = end + 1
		var err error
		if a, b, found := strings.Cut(body, ","); found {
			if lo, err = strconv.Atoi(a); err != nil {
				return 0, 0, 0, false
			}
			if b == "" {
				hi = -1
			} else if hi, err = strconv.Atoi(b); err != nil || hi < lo {
				return 0, 0, 0, false
			}
		} else {
			if lo, err = strconv.Atoi(body); err != nil {
				return 0, 0, 0, false
			}
			hi = lo
		}
	default:
		return lo, hi, 0, true
	}
	if n < len(s) && (s[n] == '?' || s[n] == '+') {
		return 0, 0, 0, false
	}
	return lo, hi, n, true
}

// parseAtom parses one atom: a class, an escape or a literal rune.
func parseAtom(s string) (*charSet, int, bool) {
	cs := &charSet{}
	var n int
	switch s[0] {
	case '[':
		var ok bool
		if n, ok = parseClass(s, cs); !ok {
			return nil, 0, false
		}
	case '\\':
		if len(s) > 1 && s[1] == 'S' {
			cs.neg, cs.cats, n = true, clSpace, 2
			break
		}
		var ok bool
		if n, ok = parseEscape(s, cs); !ok {
			return nil, 0, false
		}
	case '(', ')', '.', '^', '$', '|', '*', '+', '?', '{', '}', ']':
		return nil, 0, false
	default:
		r, w := utf8.DecodeRuneInString(s)
		cs.ranges = append(cs.ranges, runeRange{r, r})
		n = w
	}
	cs.finish()
	return cs, n, true
}

// parseClass parses [..] at the start of s into cs.
func parseClass(s string, cs *charSet) (int, bool) {
	i := 1
	if i < len(s) && s[i] == '^' {
		cs.neg = true
		i++
	}
	first := true
	for i < len(s) {
		if s[i] == ']' && !first {
			return i + 1, true
		}
		first = false
		if s[i] == '[' {
			return 0, false // nested classes and subtraction
		}
		var lo rune
		if s[i] == '\\' {
			r, n, ok := classEscape(s[i:], cs)
			if !ok {
				return 0, false
			}
			i += n
			if r < 0 { // a category or \s, not a rune: no range from it
				continue
			}
			lo = r
		} else {
			r, w := utf8.DecodeRuneInString(s[i:])
			lo = r
			i += w
		}
		hi := lo
		if i+1 < len(s) && s[i] == '-' && s[i+1] != ']' {
			i++
			if s[i] == '\\' {
				r, n, ok := classEscape(s[i:], cs)
				if !ok || r < 0 {
					return 0, false
				}
				hi = r
				i += n
			} else {
				r, w := utf8.DecodeRuneInString(s[i:])
				hi = r
				i += w
			}
			if hi < lo {
				return 0, false
			}
		}
		cs.ranges = append(cs.ranges, runeRange{lo, hi})
	}
	return 0, false
}

// classEscape parses an escape inside a class: a rune (returned), or a
// category or \s (added to cs; -1 returned).
func classEscape(s string, cs *charSet) (rune, int, bool) {
	if len(s) < 2 {
		return 0, 0, false
	}
	switch s[1] {
	case 'p', 's', 'd':
		n, ok := parseEscape(s, cs)
		return -1, n, ok
	}
	return escapedRune(s)
}

// parseEscape parses \p{X}, \s, \d or an escaped rune into cs.
func parseEscape(s string, cs *charSet) (int, bool) {
	if len(s) < 2 {
		return 0, false
	}
	switch s[1] {
	case 'p':
		if len(s) < 4 || s[2] != '{' {
			return 0, false
		}
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return 0, false
		}
		bits, ok := categoryBits[s[3:end]]
		if !ok {
			return 0, false
		}
		cs.cats |= bits
		return end + 1, true
	case 's':
		cs.cats |= clSpace
		return 2, true
	case 'd':
		cs.cats |= clNd
		return 2, true
	}
	r, n, ok := escapedRune(s)
	if !ok {
		return 0, false
	}
	cs.ranges = append(cs.ranges, runeRange{r, r})
	return n, true
}

// escapedRune parses \r \n \t \f \v or an escaped punctuation character.
func escapedRune(s string) (rune, int, bool) {
	switch c := s[1]; c {
	case 'r':
		return '\r', 2, true
	case 'n':
		return '\n', 2, true
	case 't':
		return '\t', 2, true
	case 'f':
		return '\f', 2, true
	case 'v':
		return '\v', 2, true
	default:
		if c < utf8.RuneSelf && isASCIIPunct(c) || c == ' ' {
			return rune(c), 2, true
		}
	}
	return 0, 0, false
}
