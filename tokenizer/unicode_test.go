package tokenizer

import "testing"

func TestSanitizeUTF8(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc", "abc"},
		{"é🦙", "é🦙"},
		{"a\xffb", "a\uFFFDb"},
		{"\xe2\x96", "\uFFFD\uFFFD"},     // truncated: one U+FFFD per byte
		{"\xc0\x80", "\x00"},             // overlong NUL: llama.cpp decodes it
		{"\xed\xa0\x80", "\xed\xa0\x80"}, // a surrogate is kept as is
		{"\xf7\xbf\xbf\xbf", "\uFFFD"},   // past U+10FFFF
		{"\x80a", "\uFFFDa"},             // stray continuation byte
	}
	for _, tc := range tests {
		if got := sanitizeUTF8(tc.in); got != tc.want {
			t.Errorf("sanitizeUTF8(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNFDFirst(t *testing.T) {
	tests := []struct{ in, want rune }{
		{'a', 'a'}, {'é', 'e'}, {'Ü', 'U'}, {'ử', 'u'}, {'ệ', 'e'}, {'가', 0x1100}, {'我', '我'}, {'Å', 'A'},
	}
	for _, tc := range tests {
		if got := nfdFirst(tc.in); got != tc.want {
			t.Errorf("nfdFirst(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestByteLevelTable(t *testing.T) {
	seen := map[rune]bool{}
	for b := 0; b < 256; b++ {
		r := byteToRune[b]
		if seen[r] {
			t.Fatalf("byte %d maps to %U twice", b, r)
		}
		seen[r] = true
		if back, ok := byteOf(r); !ok || int(back) != b {
			t.Errorf("byteOf(%U) = %d, %v; want %d", r, back, ok, b)
		}
	}
	if byteToRune[' '] != 'Ġ' || byteToRune['\n'] != 'Ċ' || byteToRune['a'] != 'a' {
		t.Errorf("space %q newline %q", byteToRune[' '], byteToRune['\n'])
	}
}

func TestCleanSpaces(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Hello , world !", "Hello, world!"},
		{"it 's", "it's"},
		{"we 're here , we 've", "we're here, we've"},
		{"don 't", "don 't"}, // llama.cpp keeps " 't" and " 'd"
		{"a ' b", "a'b"},
		{" ?", "?"},
	}
	for _, tc := range tests {
		if got := string(cleanSpaces([]byte(tc.in))); got != tc.want {
			t.Errorf("cleanSpaces(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
