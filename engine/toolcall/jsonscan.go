package toolcall

// A streaming parser must tell "this JSON is not finished yet" from "this
// is not JSON": the first means wait for more text, the second means the
// text is plain content. jsonScanner is a byte-at-a-time JSON syntax checker
// that answers that for a growing prefix of a model's output, and resumes
// where it stopped when more text arrives, so that a long call held back
// while it is generated is scanned once, not once per piece.

// scanStatus is the verdict on a JSON prefix.
type scanStatus int

const (
	scanDone scanStatus = iota // a complete value ends at the returned offset
	scanMore                   // valid so far; the value needs more text
	scanBad                    // no continuation can make this valid JSON
)

// maxJSONDepth bounds nesting so that hostile output cannot grow the stack
// without limit (encoding/json refuses deeper than 10000 anyway).
const maxJSONDepth = 512

// scanState is what the scanner expects next.
type scanState uint8

const (
	sValue    scanState = iota // a value (whitespace allowed)
	sFirstKey                  // after '{': a key or '}'
	sKey                       // after ',' in an object: a key
	sColon                     // after a key: ':'
	sAfter                     // after a value: ',' or a closer, or the end
	sString                    // in a string
	sEscape                    // after '\' in a string
	sUnicode                   // in \uXXXX
	sNeg                       // after '-'
	sZero                      // after a leading 0
	sInt                       // in the integer digits
	sDot                       // after '.'
	sFrac                      // in the fraction digits
	sExp                       // after 'e'
	sExpSign                   // after 'e+' or 'e-'
	sExpDigit                  // in the exponent digits
	sLiteral                   // in true, false or null
	sDone                      // the value ended
	sBad                       // not JSON
)

// jsonScanner checks the JSON value at the start of a text that may grow.
// The zero value is ready.
type jsonScanner struct {
	n     int // bytes of the text scanned
	end   int // where the value ended, in sDone
	state scanState
	key   bool   // the string being scanned is an object key
	hex   int    // \u digits still expected
	lit   string // the literal being matched, and
	litN  int    // how much of it matched
	stack []byte // open containers, '{' or '['
	// firstItem: right after '[', where ']' may close an empty array.
	firstItem bool
}

// scan continues over s, which extends the text scanned so far.
func (js *jsonScanner) scan(s string) {
	for ; js.n < len(s) && js.state != sDone && js.state != sBad; js.n++ {
		js.step(s[js.n])
	}
}

// result reports the verdict on the text scanned so far: the value's
// length with scanDone; scanMore while it may still grow into a value
// (unless final, which makes an unfinished value scanBad); scanBad.
func (js *jsonScanner) result(final bool) (int, scanStatus) {
	switch js.state {
	case sDone:
		return js.end, scanDone
	case sBad:
		return 0, scanBad
	}
	if final {
		// A top-level number ends with the text.
		if len(js.stack) == 0 && (js.state == sZero || js.state == sInt || js.state == sFrac || js.state == sExpDigit) {
			return js.n, scanDone
		}
		return 0, scanBad
	}
	return 0, scanMore
}

// valueEnd records that a value ended just before byte js.n (exclusive
// end at).
func (js *jsonScanner) valueEnd(at int) {
	if len(js.stack) == 0 {
		js.state, js.end = sDone, at
		return
	}
	js.state = sAfter
}

func (js *jsonScanner) step(c byte) {
	switch js.state {
	case sValue:
		js.value(c)
	case sFirstKey, sKey:
		switch {
		case isSpace(c):
		case c == '"':
			js.state, js.key = sString, true
		case c == '}' && js.state == sFirstKey:
			js.stack = js.stack[:len(js.stack)-1]
			js.valueEnd(js.n + 1)
		default:
			js.state = sBad
		}
	case sColon:
		switch {
		case isSpace(c):
		case c == ':':
			js.state = sValue
		default:
			js.state = sBad
		}
	case sAfter:
		top := js.stack[len(js.stack)-1]
		switch {
		case isSpace(c):
		case c == ',':
			if top == '{' {
				js.state = sKey
			} else {
				js.state = sValue
			}
		case (c == '}' && top == '{') || (c == ']' && top == '['):
			js.stack = js.stack[:len(js.stack)-1]
			js.valueEnd(js.n + 1)
		default:
			js.state = sBad
		}
	case sString:
		switch {
		case c == '"':
			if js.key {
				js.key = false
				js.state = sColon
			} else {
				js.valueEnd(js.n + 1)
			}
		case c == '\\':
			js.state = sEscape
		case c < 0x20:
			js.state = sBad
		}
	case sEscape:
		switch c {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			js.state = sString
		case 'u':
			js.state, js.hex = sUnicode, 4
		default:
			js.state = sBad
		}
	case sUnicode:
		if !isHex(c) {
			js.state = sBad
			return
		}
		if js.hex--; js.hex == 0 {
			js.state = sString
		}
	case sNeg:
		switch {
		case c == '0':
			js.state = sZero
		case c >= '1' && c <= '9':
			js.state = sInt
		default:
			js.state = sBad
		}
	case sZero, sInt:
		switch {
		case c >= '0' && c <= '9' && js.state == sInt:
		case c == '.':
			js.state = sDot
		case c == 'e' || c == 'E':
			js.state = sExp
		default:
			js.numberEnd(c)
		}
	case sDot:
		if c >= '0' && c <= '9' {
			js.state = sFrac
		} else {
			js.state = sBad
		}
	case sFrac:
		switch {
		case c >= '0' && c <= '9':
		case c == 'e' || c == 'E':
			js.state = sExp
		default:
			js.numberEnd(c)
		}
	case sExp:
		switch {
		case c == '+' || c == '-':
			js.state = sExpSign
		case c >= '0' && c <= '9':
			js.state = sExpDigit
		default:
			js.state = sBad
		}
	case sExpSign:
		if c >= '0' && c <= '9' {
			js.state = sExpDigit
		} else {
			js.state = sBad
		}
	case sExpDigit:
		if c < '0' || c > '9' {
			js.numberEnd(c)
		}
	case sLiteral:
		if c != js.lit[js.litN] {
			js.state = sBad
			return
		}
		if js.litN++; js.litN == len(js.lit) {
			js.valueEnd(js.n + 1)
		}
	}
}

// value starts a value with byte c.
func (js *jsonScanner) value(c byte) {
	switch {
	case isSpace(c):
	case c == '{' || c == '[':
		if len(js.stack) >= maxJSONDepth {
			js.state = sBad
			return
		}
		js.stack = append(js.stack, c)
		js.state = sFirstKey
		if c == '[' {
			js.state = sValue
			js.firstItem = true
		}
	case c == ']' && js.firstItem:
		js.firstItem = false
		js.stack = js.stack[:len(js.stack)-1]
		js.valueEnd(js.n + 1)
		return
	case c == '"':
		js.state, js.key = sString, false
	case c == '-':
		js.state = sNeg
	case c == '0':
		js.state = sZero
	case c >= '1' && c <= '9':
		js.state = sInt
	case c == 't':
		js.state, js.lit, js.litN = sLiteral, "true", 1
	case c == 'f':
		js.state, js.lit, js.litN = sLiteral, "false", 1
	case c == 'n':
		js.state, js.lit, js.litN = sLiteral, "null", 1
	default:
		js.state = sBad
	}
	if !isSpace(c) && c != '[' {
		js.firstItem = false
	}
}

// numberEnd ends a number at byte c, which does not continue it, and
// processes c after the number.
func (js *jsonScanner) numberEnd(c byte) {
	js.valueEnd(js.n)
	if js.state == sAfter {
		js.step(c)
	}
}

// scanValue checks the JSON value that starts at s[0] (leading whitespace
// is allowed). It returns scanDone and the value's length (leading
// whitespace included) when a complete value is there; scanMore when s is a
// valid proper prefix of a value and final is false; or scanBad. A
// top-level number ends where the next byte cannot continue it, so "12" is
// scanMore (it may become "123") unless final.
func scanValue(s string, final bool) (int, scanStatus) {
	var js jsonScanner
	js.scan(s)
	return js.result(final)
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}
