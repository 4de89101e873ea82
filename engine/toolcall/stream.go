package toolcall

import "strings"

// Parse reads a whole reply. It never fails: text that looks like the start
// of a call but is not a well-formed one (bad JSON, a missing name) is
// returned as content, verbatim. Parse gives exactly what a Stream fed the
// same text in any pieces gives.
func (f Format) Parse(text string) Message {
	s := f.NewStream()
	s.Add(text)
	s.Flush()
	return s.Message()
}

// Stream reads a reply as it is generated. Text that may be the start of a
// call marker (or of a call without one, such as a bare JSON object where
// the format allows it) is held back until it is known to be a call or not;
// a call is sent once it has ended. Content and reasoning are sent as soon
// as they are known to be such (reasoning without its surrounding
// whitespace, which is held back until more reasoning follows).
//
// A Stream is not safe for concurrent use. Create one per reply.
type Stream struct {
	f       Format
	all     strings.Builder // all text received (append-only, so slices stay valid)
	off     int             // how much of it has been consumed
	buf     string          // the rest: all[off:]
	scans   scanCache       // JSON scans in progress, resumed as text arrives
	mode    mode
	skipWS  bool   // drop whitespace at the start of content (after a call)
	started bool   // the current reasoning block has sent text
	pending string // DeepSeek calls-block opener: content unless a call follows
	suffix  string // text Flush appends (Plan: the end of a forced call)
	nCalls  int
	done    bool
	// What the current Add or Flush sends, built in pieces.
	dContent, dReasoning strings.Builder
	dCalls               []CallDelta
	// The reply so far; builders, since a long reply arrives in many pieces.
	content, reasoning strings.Builder
	calls              []Call
}

// mode is where in the reply the stream is.
type mode int

const (
	mStart      mode = iota // before the body: a reasoning block may open
	mThink                  // inside a reasoning block
	mAfterThink             // after a reasoning block: another may open
	mBodyStart              // start of the body: forms allowed only there
	mContent                // text, watching for call markers
	mRaw                    // text to the end, nothing more to find
	mPython                 // raw code to the end: one call of the python tool
	mLlamaNext              // after a Llama 3.x JSON call: another may follow
	mDSBlock                // inside DeepSeek R1's tool-calls block
	mGenResp                // inside Generic's {"response": "...
	mGenAfter               // after Generic's response string
)

// NewStream returns a Stream reading a reply in format f.
func (f Format) NewStream() *Stream {
	s := &Stream{f: f}
	if f.thinking && f.reasoning() != nil {
		s.mode = mThink
	}
	return s
}

// Add reads the next piece of the reply and returns what it completes.
// After Flush it returns nothing.
func (s *Stream) Add(text string) Delta {
	if s.done {
		return Delta{}
	}
	s.receive(text)
	s.run(false)
	return s.take()
}

// Flush ends the reply and returns the rest of it: held-back text, and
// anything that turns out to be content because the reply ended (an
// unfinished call).
func (s *Stream) Flush() Delta {
	if s.done {
		return Delta{}
	}
	s.receive(s.suffix)
	s.suffix = ""
	s.run(true)
	s.done = true
	return s.take()
}

// Message returns the reply read so far (all of it after Flush).
func (s *Stream) Message() Message {
	return Message{Content: s.content.String(), Reasoning: s.reasoning.String(), Calls: append([]Call(nil), s.calls...)}
}

func (s *Stream) receive(text string) {
	s.all.WriteString(text)
	s.buf = s.all.String()[s.off:]
}

func (s *Stream) take() Delta {
	d := Delta{Content: s.dContent.String(), Reasoning: s.dReasoning.String(), Calls: s.dCalls}
	s.dContent.Reset()
	s.dReasoning.Reset()
	s.dCalls = nil
	return d
}

// cursor returns a cursor over the unconsumed text from offset i.
func (s *Stream) cursor(i int, final bool) cursor {
	return cursor{s: s.buf[i:], final: final, base: s.off + i, scans: &s.scans}
}

// run steps the parser until it needs more text. With final set there is
// no more text, and every mode consumes what it has.
func (s *Stream) run(final bool) {
	stuck := 0
	for {
		n, m := len(s.buf), s.mode
		if !s.step(final) {
			break
		}
		if len(s.buf) == n && s.mode == m {
			// A step that neither consumed nor changed mode would loop
			// forever; take a byte as text instead. (Not expected.)
			if stuck++; stuck > 2 {
				if n == 0 {
					break
				}
				s.text(s.buf[:1])
				s.eat(1)
			}
		} else {
			stuck = 0
		}
	}
	if final && s.buf != "" {
		s.text(s.buf)
		s.eat(len(s.buf))
	}
}

func (s *Stream) eat(n int) {
	s.buf = s.buf[n:]
	s.off += n
}

// text sends content.
func (s *Stream) text(t string) {
	if t == "" {
		return
	}
	s.dContent.WriteString(t)
	s.content.WriteString(t)
}

// think sends reasoning.
func (s *Stream) think(t string) {
	if t == "" {
		return
	}
	s.dReasoning.WriteString(t)
	s.reasoning.WriteString(t)
}

// call sends a complete call.
func (s *Stream) call(name, args string) {
	id := s.f.callID(s.nCalls)
	s.dCalls = append(s.dCalls, CallDelta{Index: s.nCalls, ID: id, Name: name, Arguments: args})
	s.calls = append(s.calls, Call{ID: id, Name: name, Arguments: args})
	s.nCalls++
}

// blockResult is the outcome of reading a call (or marker) at the start of
// the buffer.
type blockResult int

const (
	blockDone blockResult = iota // read and consumed
	blockNeed                    // more text is needed to decide
	blockBad                     // not a call: its first byte is text
)

// step makes one move and reports whether it made progress; false means
// it needs more text (or has none left).
func (s *Stream) step(final bool) bool {
	if s.buf == "" && !final {
		return false
	}
	c := s.cursor(0, final)
	switch s.mode {
	case mStart:
		t := s.f.reasoning()
		if t == nil {
			s.mode = mBodyStart
			return true
		}
		c.ws()
		switch c.lit(t.open) {
		case matchYes:
			s.eat(c.i)
			s.mode, s.started = mThink, false
			return true
		case matchPartial:
			return false
		}
		s.mode = mBodyStart
		return true

	case mThink:
		t := s.f.reasoning()
		if i := strings.Index(s.buf, t.close); i >= 0 {
			s.reason(s.buf[:i], true)
			s.eat(i + len(t.close))
			s.mode = mAfterThink
			return true
		}
		keep := 0
		if !final {
			keep = partialSuffix(s.buf, t.close)
		}
		n := s.reason(s.buf[:len(s.buf)-keep], final)
		s.eat(n)
		return n > 0

	case mAfterThink:
		t := s.f.reasoning()
		c.ws()
		switch c.lit(t.open) {
		case matchYes:
			s.eat(c.i)
			s.mode, s.started = mThink, false
			return true
		case matchPartial:
			return false
		}
		s.eat(c.i) // whitespace after a reasoning block is dropped
		s.mode = mBodyStart
		return true

	case mBodyStart:
		return s.bodyStart(&c)

	case mContent:
		if s.skipWS {
			c.ws()
			s.eat(c.i)
			if s.buf == "" {
				return false
			}
			s.skipWS = false
		}
		i, r := s.findOpener(final)
		if i < 0 {
			s.text(s.buf)
			s.eat(len(s.buf))
			return false
		}
		if i > 0 {
			s.text(s.buf[:i])
			s.eat(i)
			return true
		}
		if r == matchPartial {
			return false
		}
		switch s.block(final) {
		case blockDone:
			return true
		case blockNeed:
			return false
		}
		s.text(s.buf[:1]) // every opener starts with an ASCII byte
		s.eat(1)
		return true

	case mRaw:
		if s.skipWS {
			c.ws()
			s.eat(c.i)
			if s.buf == "" {
				return false
			}
			s.skipWS = false
		}
		s.text(s.buf)
		s.eat(len(s.buf))
		return false

	case mPython:
		if !final {
			return false
		}
		s.call("python", marshal(map[string]string{"code": s.buf}))
		s.eat(len(s.buf))
		return false

	case mLlamaNext:
		c.ws()
		if c.lit(";") == matchPartial {
			return false
		}
		c.ws()
		if c.atEnd() {
			if !final {
				return false
			}
			s.eat(c.i)
			s.mode = mContent
			return true
		}
		if c.peek() == '{' {
			switch s.jsonCall(&c, false) {
			case blockDone:
				return true
			case blockNeed:
				return false
			}
		}
		s.mode = mContent
		return true

	case mDSBlock:
		return s.deepseekCall(&c)

	case mGenResp:
		return s.genericString(final)

	case mGenAfter:
		c.ws()
		switch c.lit("}") {
		case matchYes:
			s.eat(c.i)
			s.mode, s.skipWS = mRaw, true
			return true
		case matchPartial:
			return false
		}
		s.eat(c.i)
		s.mode = mRaw
		return true
	}
	return false
}

// reason sends reasoning text t from the current block, trimmed as a
// whole: leading whitespace is dropped until the block has sent text, and
// trailing whitespace is held back (not consumed) unless closed. It returns
// how much of t it consumed.
func (s *Stream) reason(t string, closed bool) int {
	n := 0
	if !s.started {
		k := skipSpace(t, 0)
		t, n = t[k:], k
	}
	out := strings.TrimRight(t, " \t\n\r")
	if out != "" {
		s.started = true
		s.think(out)
	}
	if closed {
		return n + len(t)
	}
	return n + len(out)
}

// findOpener returns the offset of the first call marker (or other marker
// the family removes) in the buffer, matchYes when it is certainly one and
// matchPartial when the buffer ends while it may still become one; -1 when
// there is none.
func (s *Stream) findOpener(final bool) (int, matchResult) {
	first := s.openerBytes()
	if first == "" {
		return -1, matchNo
	}
	for i := 0; i < len(s.buf); {
		j := strings.IndexAny(s.buf[i:], first)
		if j < 0 {
			break
		}
		i += j
		c := s.cursor(i, final)
		if r := s.opener(&c); r != matchNo {
			return i, r
		}
		i++
	}
	return -1, matchNo
}
