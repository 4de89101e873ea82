package grammar

import (
	"slices"
	"unicode/utf8"
)

// runeSet is a set of code points as sorted, disjoint, non-adjacent
// inclusive ranges.
type runeSet []runeRange

type runeRange struct{ lo, hi rune }

// newRuneSet normalizes ranges given as lo, hi pairs.
func newRuneSet(pairs ...rune) runeSet {
	var s runeSet
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] <= pairs[i+1] {
			s = append(s, runeRange{pairs[i], pairs[i+1]})
		}
	}
	return s.normalize()
}

func (s runeSet) normalize() runeSet {
	slices.SortFunc(s, func(a, b runeRange) int { return int(a.lo - b.lo) })
	out := s[:0]
	for _, r := range s {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// complement returns the code points in [0, MaxRune] not in s.
func (s runeSet) complement() runeSet {
	var out runeSet
	next := rune(0)
	for _, r := range s {
		if r.lo > next {
			out = append(out, runeRange{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= utf8.MaxRune {
		out = append(out, runeRange{next, utf8.MaxRune})
	}
	return out
}

func (s runeSet) intersect(t runeSet) runeSet {
	var out runeSet
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		lo, hi := max(s[i].lo, t[j].lo), min(s[i].hi, t[j].hi)
		if lo <= hi {
			out = append(out, runeRange{lo, hi})
		}
		if s[i].hi < t[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
}

func (s runeSet) minus(t runeSet) runeSet { return s.intersect(t.complement()) }

func (s runeSet) each(f func(rune)) {
	for _, r := range s {
		for c := r.lo; c <= r.hi; c++ {
			f(c)
		}
	}
}

// Sets of code points as JSON strings hold them.
var (
	surrogates = newRuneSet(0xD800, 0xDFFF)
	// jsonEscaped are written as escapes inside strings.
	jsonEscaped = newRuneSet(0, 0x1F, '"', '"', '\\', '\\', 0x7F, 0x7F)
	// jsonRaw are written as themselves.
	jsonRaw = newRuneSet(0, utf8.MaxRune).minus(jsonEscaped).minus(surrogates)
	// allChars is every code point a JSON string can hold.
	allChars = newRuneSet(0, utf8.MaxRune).minus(surrogates)
)

// utf8Expr matches the UTF-8 encoding of one code point of s (surrogates
// excluded); nil when s has none.
func utf8Expr(s runeSet) *expr {
	var alts []*expr
	for _, r := range s.minus(surrogates) {
		utf8Split(r.lo, r.hi, &alts)
	}
	if len(alts) == 0 {
		return nil
	}
	return alt(alts...)
}

// utf8Split appends byte-range sequences that together match the
// encodings of lo..hi: first split where the encoded length changes, then
// until each piece is a product of byte ranges.
func utf8Split(lo, hi rune, out *[]*expr) {
	for _, b := range [...]rune{0x7F, 0x7FF, 0xFFFF} {
		if lo <= b && hi > b {
			utf8Split(lo, b, out)
			utf8Split(b+1, hi, out)
			return
		}
	}
	if hi < 0x80 {
		*out = append(*out, byteRange(byte(lo), byte(hi)))
		return
	}
	n := utf8.RuneLen(lo)
	for i := 1; i < n; i++ {
		m := rune(1)<<(6*i) - 1
		if lo&^m != hi&^m {
			if lo&m != 0 {
				utf8Split(lo, lo|m, out)
				utf8Split((lo|m)+1, hi, out)
				return
			}
			if hi&m != m {
				utf8Split(lo, (hi&^m)-1, out)
				utf8Split(hi&^m, hi, out)
				return
			}
		}
	}
	var a, b [utf8.UTFMax]byte
	utf8.EncodeRune(a[:], lo)
	utf8.EncodeRune(b[:], hi)
	parts := make([]*expr, n)
	for i := range n {
		parts[i] = byteRange(a[i], b[i])
	}
	*out = append(*out, seq(parts...))
}

// jsonCharExpr matches one code point of s as it appears inside a JSON
// string: raw, or as its escape where JSON requires one. nil when s is
// empty.
func jsonCharExpr(s runeSet) *expr {
	var alts []*expr
	if e := utf8Expr(s.intersect(jsonRaw)); e != nil {
		alts = append(alts, e)
	}
	s.intersect(jsonEscaped).each(func(r rune) {
		alts = append(alts, lit(string(appendJSONRune(nil, r))))
	})
	if len(alts) == 0 {
		return nil
	}
	return alt(alts...)
}
