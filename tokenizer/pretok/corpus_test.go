package pretok

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// Test inputs shared by the differential, golden and coverage tests.

// trickyInputs are hand-picked edge cases of the patterns.
var trickyInputs = []string{
	"Hello world  123 's",
	"I'm, you're, he's, we've, they'll, she'd, it't",
	"I'M, YOU'RE, HE'S, WE'VE, THEY'LL, SHE'D, IT'T 'Re 'rE 'lL 'Ll",
	"'s's''s 's'",
	"a  b   c    d\te\t\tf \tg\t h",
	"trailing spaces   ",
	"   leading",
	"\n\n\nlines\r\n\r\nwindows\rmac\n",
	" \n \n  x\n  \n",
	"tabs\t\n\tafter",
	"12 123 1234 12345 123456 1234567 0.5 1,000,000",
	"x1 x12 x123 x1234 a1b2c3 12ab 123_ 1234-5",
	"²³ ½ Ⅻ ① ٣٤٥ १२३४ 12²345",
	"HelloWorld iPhone ABCdef ABC DEF aBC XMLHttpRequest",
	"ǅungla ǈ ʰello ᵃb ꜰꜰ ß ẞ",
	"Привет мир! Ελληνικά ΐ μ",
	"مرحبا بالعالم שלום עולם",
	"नमस्ते दुनिया বাংলা สวัสดีครับ",
	"e\u0301 a\u0300b \u0301\u0301x \u0903\u20dd",
	"中文字符 漢字 日本語のひらがなとカタカナ 한국어 문장",
	"〇々⺀𠀀豈 ｶﾀｶﾅ ＡＢＣ１２３！？",
	"「こんにちは」、世界。…“quoted”‘x’—dash：；，",
	"🦙 😀👍🏽 👨\u200d👩\u200d👧 ❤\ufe0f 🇺🇸",
	"$€©∑→₿ +<=>^~|` @#%&*",
	"... --- *** ___ /// \\\\ !!! ??? ;;;",
	"path/to/file.go\n/usr/bin\n// comment\n/*x*/",
	"func main() {\n\tfmt.Println(\"hi\")\n}\n",
	"if (a<b && c>=d) { return x[i]+y; }",
	"<sentinel:12> IMGIMGABCZ IMGIMGAZZ    four  two\tt",
	"\x00\x01\x1f ctrl\u200b\u200c\u200d\ufeff \u0378\ue000\U000e0001\ufffd",
	"nbsp\u00a0x\u3000y\u2028z\u2029w\u0085v\u2009u\vt\fs",
	"ſ K ﬀ İ µ Ω",
	"don't DON'T Don'T y'all ma'am rock'n'roll",
	"email@example.com https://example.com/a?b=c&d=e#f",
	" ",
	"  ",
	"\t",
	"\n",
	"a",
	"'",
}

// invalidInputs have invalid UTF-8; Python cannot hold them, so they are
// used only by the Go-only tests.
var invalidInputs = []string{
	"\xff",
	"abc\xc3 def",
	"\xe2\x82 x\xe2\x82\xac",
	"\xed\xa0\x80 surrogate",
	"\xf4\x90\x80\x80 beyond",
	"ab\x80\x80cd  \xc0\xaf",
}

// pieces are what random inputs are made of.
var pieces = []string{
	"the", "The", "THE", "hello", "World", "iPhone", "XMLHttp", "aBc", "x", "Q",
	"0", "7", "12", "123", "4567", "98765", "3.14", "1,000",
	".", ",", "!", "?", "...", "-", "--", "_", "/", "\\", "(", ")", "[", "]", "{", "}", "<", ">", "=", "+",
	"*", "&", "^", "%", "$", "#", "@", "~", "`", "|", "\"", ";", ":",
	"'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'ve", "'VE", "'m", "'M", "'ll", "'LL", "'lL", "'d", "'D", "'x", "'",
	" ", " ", " ", "  ", "   ", "\t", "\n", "\r\n", "\r", "\n\n", " \n", "\u00a0", "\u3000", "\u2028", "\u0085", "\v", "\f", "\u2009",
	"中文", "漢字", "日本語", "ひらがな", "カタカナ", "한국어", "〇", "々", "⺀", "𠀀", "豈", "ｶﾀ",
	"Привет", "Ελληνικά", "ΐ", "مرحبا", "שלום", "नमस्ते", "สวัสดี", "বাংলা",
	"\u0301", "e\u0301", "\u0903", "\u20dd", "\u0bcd",
	"🦙", "😀", "👍🏽", "👨\u200d👩", "❤\ufe0f", "🇺🇸",
	"ǅ", "ǈ", "ʰ", "ᵃ", "ꜰ", "ß", "µ",
	"²", "½", "Ⅻ", "٣", "१२", "①",
	"€", "©", "∑", "→", "₿",
	"\x00", "\x1f", "\u200b", "\u200d", "\u200c", "\ufeff", "\u0378", "\ue000", "\U000e0001", "\ufffd",
	"ſ", "K", "ﬀ", "İ", "ＡＢ", "！", "？", "、", "。", "…", "“", "”", "‘", "—",
	"<sentinel:3>", "IMGIMGABZ", "    ", "\u2581", "\u2581x",
}

// randomInput joins up to maxPieces random pieces.
func randomInput(rng *rand.Rand, maxPieces int, invalid bool) string {
	var b strings.Builder
	n := 1 + rng.IntN(maxPieces)
	for range n {
		if invalid && rng.IntN(20) == 0 {
			b.WriteByte(byte(0x80 + rng.IntN(0x80)))
			continue
		}
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.String()
}

// randomRunes is noise: random code points from a few planes.
func randomRunes(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		var r rune
		switch rng.IntN(4) {
		case 0:
			r = rune(rng.IntN(0x80))
		case 1:
			r = rune(rng.IntN(0x3000))
		case 2:
			r = rune(rng.IntN(0x10000))
		default:
			r = rune(rng.IntN(0x30000))
		}
		if !utf8.ValidRune(r) {
			r = 'x'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// vocabTestInputs returns the strings of llama.cpp's tokenizer tests
// (.inp files, all the same text), or nil if the shared data is absent.
func vocabTestInputs(t testing.TB) []string {
	path := filepath.Join("..", "..", "..", "shared", "testdata", "vocab", "ggml-vocab-gpt-2.gguf.inp")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Logf("no llama.cpp test inputs (%v); using the built-in inputs only", err)
		return nil
	}
	const sep = "\n__ggml_vocab_test__\n"
	parts := strings.Split(string(data), sep)
	if len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// checkCover fails unless chunks are non-empty and concatenate to text.
func checkCover(t testing.TB, what, text string, chunks []string) {
	t.Helper()
	var b strings.Builder
	for i, c := range chunks {
		if c == "" {
			t.Fatalf("%s: chunk %d of %q is empty: %q", what, i, text, chunks)
		}
		b.WriteString(c)
	}
	if b.String() != text {
		t.Fatalf("%s: chunks of %q do not cover it: %q", what, text, chunks)
	}
}
