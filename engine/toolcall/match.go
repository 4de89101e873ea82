package toolcall

import "strings"

// Matching markers in text that may still be growing: each match answers
// yes, no, or "partial" (the text ran out while it still matched).

type matchResult int

const (
	matchNo matchResult = iota
	matchYes
	matchPartial
)

// matchLit reports whether s starts with lit, or is a proper prefix of it.
func matchLit(s, lit string) matchResult {
	if strings.HasPrefix(s, lit) {
		return matchYes
	}
	if len(s) < len(lit) && strings.HasPrefix(lit, s) {
		return matchPartial
	}
	return matchNo
}

// cursor walks a pattern over s. With final set the text will not grow, so
// partial matches count as no match.
type cursor struct {
	s     string
	i     int
	final bool
	base  int        // offset of s in the whole reply, for scans
	scans *scanCache // nil: scan afresh
}

func (c *cursor) rest() string { return c.s[c.i:] }
func (c *cursor) atEnd() bool  { return c.i >= len(c.s) }
func (c *cursor) ws()          { c.i = skipSpace(c.s, c.i) }

// peek returns the next byte, or 0 at the end.
func (c *cursor) peek() byte {
	if c.i < len(c.s) {
		return c.s[c.i]
	}
	return 0
}

// lit consumes lit when the text continues with it.
func (c *cursor) lit(lit string) matchResult {
	r := matchLit(c.rest(), lit)
	switch {
	case r == matchYes:
		c.i += len(lit)
	case r == matchPartial && c.final:
		r = matchNo
	}
	return r
}

// anyLit consumes the first of lits the text continues with. When the
// text ends while one of them may still match it is ambiguous (a longer
// alternative may follow), so the result is partial.
func (c *cursor) anyLit(lits ...string) (string, matchResult) {
	found := -1
	for k, l := range lits {
		switch r := matchLit(c.rest(), l); {
		case r == matchPartial && !c.final:
			return "", matchPartial
		case r == matchYes && found < 0:
			found = k
		}
	}
	if found < 0 {
		return "", matchNo
	}
	c.i += len(lits[found])
	return lits[found], matchYes
}

// maxNameLen bounds a function name read from free text, so that an opener
// such as "<function=" followed by prose is rejected instead of holding
// back the rest of the output.
const maxNameLen = 256

// name consumes a run of name bytes (ASCII letters, digits, '_', '-', '.')
// that ends at the byte stop. It reports partial when the text ends inside
// the run.
func (c *cursor) name(stop byte) (string, matchResult) {
	start := c.i
	for c.i < len(c.s) && c.i-start <= maxNameLen {
		b := c.s[c.i]
		if b == stop {
			if c.i == start {
				return "", matchNo
			}
			return c.s[start:c.i], matchYes
		}
		if !isNameByte(b) {
			return "", matchNo
		}
		c.i++
	}
	if c.i-start > maxNameLen || c.final {
		return "", matchNo
	}
	return "", matchPartial
}

// until consumes bytes up to (not including) stop, at least one, none of
// them in bad. It reports partial when the text ends first.
func (c *cursor) until(stop byte, bad string) (string, matchResult) {
	start := c.i
	for c.i < len(c.s) && c.i-start <= maxNameLen {
		b := c.s[c.i]
		if b == stop {
			if c.i == start {
				return "", matchNo
			}
			return c.s[start:c.i], matchYes
		}
		if strings.IndexByte(bad, b) >= 0 {
			return "", matchNo
		}
		c.i++
	}
	if c.i-start > maxNameLen || c.final {
		return "", matchNo
	}
	return "", matchPartial
}

// json scans the JSON value at the cursor and consumes it. The scan
// resumes where an earlier step's scan of the same value stopped.
func (c *cursor) json() (string, scanStatus) {
	js := c.scans.get(c.base + c.i)
	js.scan(c.rest())
	n, st := js.result(c.final)
	if st != scanDone {
		return "", st
	}
	v := c.s[c.i : c.i+n]
	c.i += n
	return v, scanDone
}

// scanCache keeps the scans of JSON values still being generated, by
// where they start in the reply. A few suffice: a step scans at most a
// handful of values, and only the last can be unfinished.
type scanCache struct {
	at   [4]int
	scan [4]*jsonScanner
	next int
}

// get returns the scan of the value at offset at, new if there is none.
func (sc *scanCache) get(at int) *jsonScanner {
	if sc == nil {
		return new(jsonScanner)
	}
	for k, js := range sc.scan {
		if js != nil && sc.at[k] == at {
			return js
		}
	}
	k := sc.next
	sc.next = (sc.next + 1) % len(sc.scan)
	sc.at[k], sc.scan[k] = at, new(jsonScanner)
	return sc.scan[k]
}

func isNameByte(b byte) bool {
	return b == '_' || b == '-' || b == '.' || (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}

// partialSuffix returns the length of the longest proper prefix of marker
// that s ends with: text that must be held back because it may be the start
// of marker.
func partialSuffix(s, marker string) int {
	n := len(marker) - 1
	if n > len(s) {
		n = len(s)
	}
	for ; n > 0; n-- {
		if strings.HasSuffix(s, marker[:n]) {
			return n
		}
	}
	return 0
}
