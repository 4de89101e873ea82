package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// Stream decodes tokens one at a time, as they are generated. Each Add
// returns the bytes that are ready: it holds back a UTF-8 character split
// across tokens until its last byte arrives, so the output of every call
// is whole characters (bytes that can never complete a character are not
// held). The concatenation of all Add results and Flush equals Decode of
// all ids.
type Stream struct {
	t       *Tokenizer
	pending []byte
	strip   bool // the SPM leading space has not been removed yet
}

// NewStream starts an incremental decoder.
func (t *Tokenizer) NewStream() *Stream {
	return &Stream{t: t, strip: t.addSpacePrefix}
}

// Add decodes id and returns the text that is complete so far. The
// returned slice is valid until the next call.
func (s *Stream) Add(id int32) []byte {
	if !s.t.visible(id) {
		return nil
	}
	p := s.t.pieces[id]
	if s.strip && p != "" {
		s.strip = false
		p = strings.TrimPrefix(p, " ")
	}
	s.pending = append(s.pending, p...)
	n := completePrefix(s.pending)
	if n == 0 {
		return nil
	}
	out := make([]byte, n)
	copy(out, s.pending[:n])
	s.pending = append(s.pending[:0], s.pending[n:]...)
	return out
}

// Flush returns whatever is held back (an incomplete character at the end
// of the stream) and resets the stream for reuse.
func (s *Stream) Flush() []byte {
	out := s.pending
	s.pending = nil
	s.strip = s.t.addSpacePrefix
	return out
}

// completePrefix returns the length of b without a trailing partial UTF-8
// sequence: one that is a valid start of a character still missing bytes.
func completePrefix(b []byte) int {
	// A character is at most 4 bytes: look back for its first byte.
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}
