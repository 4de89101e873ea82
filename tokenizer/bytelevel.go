package tokenizer

import "unicode/utf8"

// GPT-2's byte-level encoding maps every byte to a printable code point so
// that BPE works on text without spaces or control characters: printable
// Latin-1 bytes map to themselves, the other 68 to U+0100 onwards in order.
var (
	byteToRune [256]rune
	// runeByte[r] is the byte that code point r encodes, or -1.
	runeByte [0x144]int16
	// byteEnc[b] is the UTF-8 of byteToRune[b].
	byteEnc [256]string
)

func init() {
	for i := range runeByte {
		runeByte[i] = -1
	}
	n := rune(0)
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !(b >= 0x21 && b <= 0x7E || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF) {
			r = 256 + n
			n++
		}
		byteToRune[b] = r
		runeByte[r] = int16(b)
		byteEnc[b] = string(r)
	}
}

// appendByteEncoded appends the byte-level encoding of s.
func appendByteEncoded(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = utf8.AppendRune(dst, byteToRune[s[i]])
	}
	return dst
}

// byteOf returns the byte that the byte-level code point r stands for.
func byteOf(r rune) (byte, bool) {
	if r < 0 || int(r) >= len(runeByte) || runeByte[r] < 0 {
		return 0, false
	}
	return byte(runeByte[r]), true
}
