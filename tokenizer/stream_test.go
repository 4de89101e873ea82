package tokenizer

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestCompletePrefix(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"a\xe2\x96", 1},          // ▁ missing its last byte
		{"a\xe2\x96\x81", 4},      // complete
		{"a\xf0\x9f\xa6", 1},      // 🦙 missing a byte
		{"a\xf0", 1},              // just the lead byte
		{"a\x80", 2},              // a stray continuation byte never completes
		{"a\xff", 2},              // never valid
		{"\xe2\x96\x81\xc3", 3},   // complete then partial
		{"\x80\x80\x80\x80", 4},   // no start byte in reach
		{"a\xe2\x41", 3},          // lead byte followed by ASCII: invalid, emitted
		{"\xf0\x9f\xa6\x99", 4},   // 🦙
		{"\xed\xa0", 2},           // start of a surrogate: never valid in Go
		{"ab\xc3\xa9\xe4\xbd", 4}, // é then half of 你
	}
	for _, tc := range tests {
		if got := completePrefix([]byte(tc.in)); got != tc.want {
			t.Errorf("completePrefix(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestStream feeds every test vector's tokens one by one and checks that
// each step yields only whole characters and that the total is Decode.
func TestStream(t *testing.T) {
	for _, name := range vocabNames {
		t.Run(name, func(t *testing.T) {
			tok := loadVocab(t, name)
			for i, c := range readVocabCases(t, name) {
				ids := tok.Encode(c.text, true, false)
				s := tok.NewStream()
				var got []byte
				for _, id := range ids {
					part := s.Add(id)
					if !utf8.Valid(part) && utf8.ValidString(c.text) {
						t.Errorf("case %d: Add(%d) gave invalid UTF-8 %q", i, id, part)
					}
					got = append(got, part...)
				}
				got = append(got, s.Flush()...)
				if want := tok.Decode(ids); !bytes.Equal(got, want) {
					t.Errorf("case %d: stream gave %q, Decode %q", i, got, want)
				}
			}
		})
	}
}

// TestStreamSplitsCharacters uses byte tokens so that one character spans
// several tokens.
func TestStreamSplitsCharacters(t *testing.T) {
	tok := loadVocab(t, "llama-spm")
	// 🦙 has no token in this vocabulary: four <0xNN> byte tokens.
	ids := tok.Encode("🦙x", false, false)
	s := tok.NewStream()
	var steps [][]byte
	for _, id := range ids {
		steps = append(steps, s.Add(id))
	}
	if rest := s.Flush(); len(rest) != 0 {
		t.Errorf("Flush = %q, want nothing", rest)
	}
	var all []byte
	nonEmpty := 0
	for _, p := range steps {
		if len(p) > 0 {
			nonEmpty++
			if !utf8.Valid(p) {
				t.Errorf("step %q is not valid UTF-8", p)
			}
		}
		all = append(all, p...)
	}
	if string(all) != "🦙x" {
		t.Errorf("stream = %q, want %q", all, "🦙x")
	}
	if len(ids) < 5 || nonEmpty >= len(ids) {
		t.Errorf("ids %v, %d non-empty steps: expected byte tokens held back", ids, nonEmpty)
	}
	// A stream cut inside a character returns the partial bytes on Flush.
	s = tok.NewStream()
	var got []byte
	for _, id := range ids[:3] {
		got = append(got, s.Add(id)...)
	}
	if len(got) != 0 {
		t.Errorf("partial character emitted early: %q", got)
	}
	if rest := s.Flush(); len(rest) == 0 {
		t.Errorf("Flush lost the held bytes")
	}
}
