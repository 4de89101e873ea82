package tokenizer

import (
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

var (
	fuzzOnce sync.Once
	fuzzToks map[string]*Tokenizer
)

// FuzzRoundTrip encodes arbitrary bytes with several test vocabularies:
// no panic, ids in range, Stream agrees with Decode, and for byte-level
// BPE and SPM, Decode gives valid UTF-8 text back. (Invalid UTF-8 is not
// kept: BPE pre-tokenization turns it into U+FFFD, and SPM, which splits
// by lead bytes, can swallow the ▁ of a space into a broken character, as
// llama.cpp does. SPM also turns a ▁ in the text into a space.)
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"", " ", "Hello world", "\xff\xfe", "a\xe2\x96", "<s>x</s>", "<|endoftext|>",
		"  \n\t\r\v", "🦙 ▁x", "ＡＢＣ１２３", "'s 're 'LL", "\u0000\u200d", "Führer 1234567"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, special bool) {
		fuzzOnce.Do(func() {
			fuzzToks = map[string]*Tokenizer{}
			for _, name := range []string{"gpt-2", "llama-spm", "bert-bge", "mpt"} {
				fuzzToks[name] = loadVocab(t, name)
			}
		})
		if len(fuzzToks) == 0 {
			t.Skip("no vocabularies")
		}
		for name, tok := range fuzzToks {
			ids := tok.Encode(text, special, special)
			for _, id := range ids {
				if id < 0 || int(id) >= tok.VocabSize() {
					t.Fatalf("%s: id %d out of range", name, id)
				}
			}
			got := string(tok.Decode(ids))
			s := tok.NewStream()
			var streamed []byte
			for _, id := range ids {
				streamed = append(streamed, s.Add(id)...)
			}
			streamed = append(streamed, s.Flush()...)
			if string(streamed) != got {
				t.Fatalf("%s: stream %q != Decode %q", name, streamed, got)
			}
			if special {
				continue // parsed control tokens do not decode
			}
			switch name {
			case "gpt-2", "mpt":
				if utf8.ValidString(text) && got != text {
					t.Fatalf("%s: Decode(Encode(%q)) = %q", name, text, got)
				}
			case "llama-spm":
				if utf8.ValidString(text) && !strings.Contains(text, "▁") && got != text {
					t.Fatalf("%s: Decode(Encode(%q)) = %q", name, text, got)
				}
			}
		}
	})
}
