package pretok

import (
	"sync"
	"unicode/utf8"
)

// matcher finds a match of one pattern starting exactly at s[p]
// (p < len(s)): its end (> p), or -1 if there is none.
type matcher interface {
	match(s string, p int) int
}

// scanner splits text the way unicode_regex_split does with one pattern:
// every leftmost match is a chunk, and so is each run of text between
// matches.
type scanner struct {
	m matcher
	// skip, if set, marks the bytes no match can start with, so that gaps
	// of ASCII text are passed over without trying the matcher.
	skip *[256]bool
}

func (sc scanner) Split(dst []string, text string) []string {
	gap := 0 // start of the text not yet emitted
	for p := 0; p < len(text); {
		if sc.skip != nil && sc.skip[text[p]] {
			p++
			continue
		}
		e := sc.m.match(text, p)
		if e < 0 {
			if text[p] < utf8.RuneSelf {
				p++
			} else {
				_, w := utf8.DecodeRuneInString(text[p:])
				p += w
			}
			continue
		}
		if gap < p {
			dst = append(dst, text[gap:p])
		}
		dst = append(dst, text[p:e])
		p, gap = e, e
	}
	if gap < len(text) {
		dst = append(dst, text[gap:])
	}
	return dst
}

// seq applies its splitters in turn, each to every chunk of the one
// before, as llama.cpp applies a list of regexes.
type seq []Splitter

var scratch = sync.Pool{New: func() any { return new([]string) }}

func (q seq) Split(dst []string, text string) []string {
	start := len(dst)
	dst = q[0].Split(dst, text)
	if len(q) == 1 {
		return dst
	}
	bp := scratch.Get().(*[]string)
	buf := *bp
	for _, sp := range q[1:] {
		buf = append(buf[:0], dst[start:]...)
		dst = dst[:start]
		for _, chunk := range buf {
			dst = sp.Split(dst, chunk)
		}
	}
	clear(buf)
	*bp = buf[:0]
	scratch.Put(bp)
	return dst
}

// trailingSpace implements \s+$: the whitespace at the end of the text
// becomes its own chunk. ($ may also match before a final "\n", but the
// leftmost match then still runs to the end.)
type trailingSpace struct{}

func (trailingSpace) Split(dst []string, text string) []string {
	if text == "" {
		return dst
	}
	start := -1
	for i := 0; i < len(text); {
		c, w := classAt(text, i)
		if c&clSpace == 0 {
			start = -1
		} else if start < 0 {
			start = i
		}
		i += w
	}
	switch {
	case start < 0:
		return append(dst, text)
	case start > 0:
		dst = append(dst, text[:start])
	}
	return append(dst, text[start:])
}

// digitGroups splits each maximal run of runes in mask into groups of three
// counted from its end, the first group taking the remainder:
//
//	\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N}))   (mask \p{N}; AFMoE)
//	\d{1,3}(?=(?:\d{3})*\b)                (mask \d, boundary; Tiny Aya)
//
// With boundary, a run followed by a word character matches nothing: no
// group end can then satisfy \b. Text outside the groups is gap chunks.
// Written by hand because a backtracking engine rescans the whole run
// for every group, which is quadratic in its length.
type digitGroups struct {
	mask     class
	boundary bool
}

func (d digitGroups) Split(dst []string, text string) []string {
	gap := 0
	var ends []int // rune ends within the current run
	for i := 0; i < len(text); {
		c, w := classAt(text, i)
		if c&d.mask == 0 {
			i += w
			continue
		}
		start := i
		ends = ends[:0]
		for i < len(text) {
			c, w := classAt(text, i)
			if c&d.mask == 0 {
				break
			}
			i += w
			ends = append(ends, i)
		}
		if d.boundary {
			if c, w := classAt(text, i); w > 0 && c&clWord != 0 {
				continue
			}
		}
		if gap < start {
			dst = append(dst, text[gap:start])
		}
		prev := start
		for k := (len(ends)+2)%3 + 1; k <= len(ends); k += 3 {
			dst = append(dst, text[prev:ends[k-1]])
			prev = ends[k-1]
		}
		gap = i
	}
	if gap < len(text) {
		dst = append(dst, text[gap:])
	}
	return dst
}

// digitTriples implements (?=(\d{3})+(?!\d)): an empty match, so a split
// point, before every group of three digits counted from the end of each
// run of \d. Hand-written for the same reason as digitGroups.
type digitTriples struct{}

func (digitTriples) Split(dst []string, text string) []string {
	prev := 0
	var starts []int // rune starts within the current run
	for i := 0; i < len(text); {
		c, w := classAt(text, i)
		if c&clNd == 0 {
			i += w
			continue
		}
		starts = starts[:0]
		for i < len(text) {
			c, w := classAt(text, i)
			if c&clNd == 0 {
				break
			}
			starts = append(starts, i)
			i += w
		}
		for k := len(starts) % 3; k+3 <= len(starts); k += 3 {
			if cut := starts[k]; cut > prev {
				dst = append(dst, text[prev:cut])
				prev = cut
			}
		}
	}
	if prev < len(text) {
		dst = append(dst, text[prev:])
	}
	return dst
}
