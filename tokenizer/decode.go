package tokenizer

import (
	"fmt"
	"strings"
)

// appendTokenPiece is llama.cpp's token_to_piece with special = true: it
// appends the text a token stands for. Control and unknown tokens give
// their own text; Decode leaves them out.
func (t *Tokenizer) appendTokenPiece(dst []byte, id int32) []byte {
	a := t.attrs[id]
	text := t.tokens[id]
	switch {
	case a&(AttrUnknown|AttrControl|AttrUserDefined) != 0:
		return append(dst, text...)
	case a&AttrNormal != 0:
		if t.kind == kindBPE && !t.escapeWS {
			return appendByteLevelDecoded(dst, text)
		}
		for {
			i := strings.Index(text, "▁")
			if i < 0 {
				return append(dst, text...)
			}
			dst = append(append(dst, text[:i]...), ' ')
			text = text[i+len("▁"):]
		}
	case a&AttrByte != 0:
		if b, ok := parseByteToken(text); ok {
			return append(dst, b)
		}
	}
	return dst // unused and undefined tokens stand for nothing
}

// parseByteToken reads the byte of a "<0xNN>" token the way llama.cpp does
// (strtol on the two characters after "<0x").
func parseByteToken(text string) (byte, bool) {
	if len(text) < 4 {
		return 0, false
	}
	v, n := 0, 0
	for _, c := range []byte(text[3:min(5, len(text))]) {
		switch {
		case c >= '0' && c <= '9':
			v = v*16 + int(c-'0')
		case c >= 'a' && c <= 'f':
			v = v*16 + int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v*16 + int(c-'A'+10)
		default:
			return byte(v), n > 0
		}
		n++
	}
	return byte(v), n > 0
}

// decodeByteLevel undoes GPT-2's byte-level encoding (llama_decode_text).
// Characters outside the mapping are kept visible, as llama.cpp does.
func appendByteLevelDecoded(out []byte, text string) []byte {
	for i := 0; i < len(text); {
		c, n, ok := decodeCpt(text, i)
		if !ok {
			c = 0xFFFD
		}
		i += n
		if b, ok := byteOf(c); ok {
			out = append(out, b)
			continue
		}
		out = append(out, "[UNK_BYTE_0x"...)
		for _, x := range appendCpt(nil, c) {
			out = fmt.Appendf(out, "%02x", x)
		}
		out = append(out, text...)
		out = append(out, ']')
	}
	return out
}

// Piece returns the text of token id as llama.cpp's token_to_piece with
// special = true gives it (control tokens show their names, "<s>"). Out of
// range ids give nil.
func (t *Tokenizer) Piece(id int32) []byte {
	if id < 0 || int(id) >= len(t.pieces) {
		return nil
	}
	return []byte(t.pieces[id])
}

// AppendPiece appends Piece(id) to dst.
func (t *Tokenizer) AppendPiece(dst []byte, id int32) []byte {
	if id < 0 || int(id) >= len(t.pieces) {
		return dst
	}
	return append(dst, t.pieces[id]...)
}

// visible reports whether id's piece is part of decoded text: control and
// unknown tokens are not (llama.cpp's token_to_piece with special = false).
func (t *Tokenizer) visible(id int32) bool {
	return id >= 0 && int(id) < len(t.pieces) && t.attrs[id]&(AttrUnknown|AttrControl) == 0
}

// Decode turns ids back into text: the pieces of all tokens except control
// and unknown ones. For SPM vocabularies, which encode text with a leading
// space added (add_space_prefix), the first piece loses one leading space,
// so that Decode(Encode(s, ...)) == s for text SPM can represent.
// Out-of-range ids are skipped. The bytes need not be valid UTF-8 when
// the ids split a character; see Stream for incremental output.
func (t *Tokenizer) Decode(ids []int32) []byte {
	var out []byte
	strip := t.addSpacePrefix
	for _, id := range ids {
		if !t.visible(id) {
			continue
		}
		p := t.pieces[id]
		if strip && p != "" {
			strip = false
			p = strings.TrimPrefix(p, " ")
		}
		out = append(out, p...)
	}
	return out
}

// Detokenize is llama.cpp's llama_detokenize: with removeSpecial a leading
// BOS and trailing EOS (when the model adds them) are dropped; with
// unparseSpecial control tokens are rendered as their text. For SPM the
// first token loses one leading space, and where the model asks for it
// (clean_up_tokenization_spaces, most BPE and WPM models) spaces before
// punctuation and some contractions are removed, as llama.cpp does.
func (t *Tokenizer) Detokenize(ids []int32, removeSpecial, unparseSpecial bool) []byte {
	strip := t.addSpacePrefix
	if removeSpecial && t.addBOS && len(ids) > 0 && ids[0] == t.bos {
		strip = false
		ids = ids[1:]
	}
	if removeSpecial && t.addEOS && len(ids) > 0 && ids[len(ids)-1] == t.eos {
		ids = ids[:len(ids)-1]
	}
	var text []byte
	for i, id := range ids {
		if id < 0 || int(id) >= len(t.pieces) {
			strip = false
			continue
		}
		if !unparseSpecial && t.attrs[id]&(AttrUnknown|AttrControl) != 0 {
			strip = false
			continue
		}
		p := t.pieces[id]
		if strip && i == 0 {
			p = strings.TrimPrefix(p, " ")
		}
		strip = false
		text = append(text, p...)
	}
	if t.cleanSpaces {
		text = cleanSpaces(text)
	}
	return text
}

// cleanSpaces is llama.cpp's clean-up of tokenization spaces, three passes
// over the bytes: " ?", " !", " .", " ," lose the space; a lone "'"
// between spaces loses both; " 's", " 'm", " 're", " 've" lose the space.
func cleanSpaces(text []byte) []byte {
	if len(text) == 0 {
		return text
	}
	// Pass 1.
	text = dropBefore(text, func(text []byte, i int) bool {
		x := text[i]
		return text[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')
	})
	// Pass 2: " ' " becomes "'". llama.cpp reads text[i-1] after it may
	// have been overwritten, so this loop follows it step by step.
	n := 1
	for i := 1; i < len(text); i++ {
		x := text[i]
		if x == '\'' && i+1 < len(text) && text[i-1] == ' ' && text[i+1] == ' ' {
			n--
			i++
			text[i] = 0
		}
		text[n] = x
		n++
	}
	text = text[:n]
	// Pass 3.
	return dropBefore(text, func(text []byte, i int) bool {
		if text[i-1] != ' ' || text[i] != '\'' || i+1 >= len(text) {
			return false
		}
		switch x1 := text[i+1]; {
		case x1 == 's' || x1 == 'm':
			return true
		case x1 == 't' || x1 == 'd':
			return false
		case i+2 < len(text):
			return (x1 == 'r' || x1 == 'v') && text[i+2] == 'e'
		}
		return false
	})
}

// dropBefore is one pass of cleanSpaces: it copies text[1:] down over
// itself, dropping the byte kept last wherever drop(text, i) holds for the
// byte text[i] that follows it.
func dropBefore(text []byte, drop func(text []byte, i int) bool) []byte {
	n := 1
	for i := 1; i < len(text); i++ {
		x := text[i]
		if drop(text, i) {
			n--
		}
		text[n] = x
		n++
	}
	return text[:n]
}
