package pretok

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// class is a bit set of the Unicode properties the pre-tokenizer patterns
// test. It is computed from Go's unicode tables, the same tables regexp2
// uses for \p{..}, \s and \b, so the hand-written splitters and the general
// regex engine agree on every code point.
type class uint16

const (
	clLu    class = 1 << iota // uppercase letter
	clLl                      // lowercase letter
	clLt                      // titlecase letter
	clLm                      // modifier letter
	clLo                      // other letter
	clMn                      // nonspacing mark (a \w character)
	clMc                      // spacing or enclosing mark
	clNd                      // decimal digit (\d)
	clNo                      // letter-like or other number
	clP                       // punctuation
	clPc                      // connector punctuation (a \w character); always with clP
	clS                       // symbol
	clSpace                   // \s: Unicode White_Space
	clHan                     // script Han
	clJoin                    // ZWNJ, ZWJ (\w characters in regexp2)

	clL = clLu | clLl | clLt | clLm | clLo
	clM = clMn | clMc
	clN = clNd | clNo
	// clWord is regexp2's \w (and so its \b): L, Mn, Nd, Pc, ZWNJ, ZWJ.
	clWord = clL | clMn | clNd | clPc | clJoin
)

// classSources lists the tables each class bit is built from.
var classSources = []struct {
	bit    class
	tables []*unicode.RangeTable
}{
	{clLu, []*unicode.RangeTable{unicode.Lu}},
	{clLl, []*unicode.RangeTable{unicode.Ll}},
	{clLt, []*unicode.RangeTable{unicode.Lt}},
	{clLm, []*unicode.RangeTable{unicode.Lm}},
	{clLo, []*unicode.RangeTable{unicode.Lo}},
	{clMn, []*unicode.RangeTable{unicode.Mn}},
	{clMc, []*unicode.RangeTable{unicode.Mc, unicode.Me}},
	{clNd, []*unicode.RangeTable{unicode.Nd}},
	{clNo, []*unicode.RangeTable{unicode.Nl, unicode.No}},
	{clP, []*unicode.RangeTable{unicode.P}},
	{clPc, []*unicode.RangeTable{unicode.Pc}},
	{clS, []*unicode.RangeTable{unicode.S}},
	{clSpace, []*unicode.RangeTable{unicode.White_Space}},
	{clHan, []*unicode.RangeTable{unicode.Han}},
}

// asciiClass is consulted first: most text is ASCII.
var asciiClass = func() (t [utf8.RuneSelf]class) {
	for r := range t {
		t[r] = slowClass(rune(r))
	}
	return t
}()

// slowClass classifies one rune straight from the unicode tables.
func slowClass(r rune) class {
	var c class
	for _, src := range classSources {
		for _, tab := range src.tables {
			if unicode.Is(tab, r) {
				c |= src.bit
			}
		}
	}
	if r == 0x200C || r == 0x200D {
		c |= clJoin
	}
	return c
}

// The full table is two-level: blocks of 128 code points, identical blocks
// shared, so all of Unicode costs a few hundred KB. It is built on first use
// of a non-ASCII rune, not at program start.
const blockShift = 7

var (
	tableOnce   sync.Once
	blockIndex  []uint16
	blockValues []class
)

func buildTables() {
	full := make([]class, unicode.MaxRune+1)
	set := func(tab *unicode.RangeTable, bit class) {
		for _, rg := range tab.R16 {
			for r := int(rg.Lo); r <= int(rg.Hi); r += int(rg.Stride) {
				full[r] |= bit
			}
		}
		for _, rg := range tab.R32 {
			for r := int(rg.Lo); r <= int(rg.Hi); r += int(rg.Stride) {
				full[r] |= bit
			}
		}
	}
	for _, src := range classSources {
		for _, tab := range src.tables {
			set(tab, src.bit)
		}
	}
	full[0x200C] |= clJoin
	full[0x200D] |= clJoin

	const size = 1 << blockShift
	seen := make(map[[size]class]uint16)
	index := make([]uint16, len(full)/size)
	var values []class
	for b := range index {
		var key [size]class
		copy(key[:], full[b*size:])
		id, ok := seen[key]
		if !ok {
			id = uint16(len(values) / size)
			seen[key] = id
			values = append(values, key[:]...)
		}
		index[b] = id
	}
	blockIndex, blockValues = index, values
}

// classOf returns the properties of r; 0 for runes outside Unicode.
func classOf(r rune) class {
	if uint32(r) < utf8.RuneSelf {
		return asciiClass[r]
	}
	if uint32(r) > unicode.MaxRune {
		return 0
	}
	tableOnce.Do(buildTables)
	return blockValues[int(blockIndex[r>>blockShift])<<blockShift|int(r&(1<<blockShift-1))]
}

// decode returns the rune at s[i] (i < len(s)), its class and its width.
// An invalid byte decodes as U+FFFD of width 1, as in Go's []rune(s)
// conversion, which is what regexp2 sees.
func decode(s string, i int) (rune, class, int) {
	if b := s[i]; b < utf8.RuneSelf {
		return rune(b), asciiClass[b], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	return r, classOf(r), w
}

// classAt is decode without the rune; 0 and width 0 at the end of s.
func classAt(s string, i int) (class, int) {
	if i >= len(s) {
		return 0, 0
	}
	if b := s[i]; b < utf8.RuneSelf {
		return asciiClass[b], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	return classOf(r), w
}

// runOf returns the end of the run of runes with a class in mask starting at i.
func runOf(s string, i int, mask class) int {
	for i < len(s) {
		c, w := classAt(s, i)
		if c&mask == 0 {
			break
		}
		i += w
	}
	return i
}

// runNot returns the end of the run of runes with no class in mask starting at i.
func runNot(s string, i int, mask class) int {
	for i < len(s) {
		c, w := classAt(s, i)
		if c&mask != 0 {
			break
		}
		i += w
	}
	return i
}

// runMax is runOf limited to max runes (max <= 0: unlimited).
func runMax(s string, i int, mask class, max int) int {
	for n := 0; i < len(s) && (max <= 0 || n < max); n++ {
		c, w := classAt(s, i)
		if c&mask == 0 {
			break
		}
		i += w
	}
	return i
}

// spaceRun scans the run of whitespace starting at i. It returns the end of
// the run, the start of its last rune, and the end of its last '\r' or '\n'
// (-1 if it has none).
func spaceRun(s string, i int) (end, last, nl int) {
	last, nl = i, -1
	for i < len(s) {
		b := s[i]
		if b < utf8.RuneSelf {
			if asciiClass[b]&clSpace == 0 {
				break
			}
			last = i
			i++
			if b == '\r' || b == '\n' {
				nl = i
			}
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if classOf(r)&clSpace == 0 {
			break
		}
		last = i
		i += w
	}
	return i, last, nl
}
