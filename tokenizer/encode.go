package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// prefixMode says when BPE text gets a leading space (▁), for
// tokenizer.json files whose normalizer or Metaspace pre-tokenizer adds
// one. GGUF BPE vocabularies never do, as in llama.cpp.
type prefixMode uint8

const (
	prefixNone        prefixMode = iota
	prefixAlways                 // Prepend normalizer: every text fragment
	prefixFirst                  // Metaspace "first": the start of the input only
	prefixUnlessSpace            // Metaspace "always": fragments not starting with a space
)

// scratch holds the buffers of one Encode call; they are pooled.
type scratch struct {
	frags, frags2 []frag
	seen          []bool
	syms          []symbol
	spmq          spmQueue
	bpeq          bpeQueue
	words         []string
	enc, buf      []byte
	runes         []rune
}

// Encode tokenizes text as llama.cpp's llama_tokenize does. With
// addSpecial the model's BOS/EOS (CLS/SEP for BERT) are added as its
// metadata asks. With parseSpecial, control tokens written in the text
// (such as "<|im_start|>") become their ids; without it they are plain
// text. User-defined (added) tokens are matched either way.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	return t.AppendEncode(nil, text, addSpecial, parseSpecial)
}

// maxEncode bounds the text one pass tokenizes: offsets within it are
// int32. Longer texts (llama.cpp cannot take them at all) are tokenized
// in pieces of this size, cut at a character boundary.
var maxEncode = 1 << 30 // a variable for tests

// AppendEncode is Encode appending to dst.
func (t *Tokenizer) AppendEncode(dst []int32, text string, addSpecial, parseSpecial bool) []int32 {
	if len(text) > maxEncode {
		return t.encodeHuge(dst, text, addSpecial, parseSpecial)
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)

	var frags []frag
	if text != "" {
		frags = t.partition(s, text, parseSpecial)
	}
	out := dst
	switch t.kind {
	case kindSPM:
		if addSpecial && t.addBOS {
			out = append(out, t.bos)
		}
		prevSpecial := true // the text after a special token gets a leading space
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, f.tok)
				prevSpecial = true
				continue
			}
			frag := text[f.off : f.off+f.n]
			if t.addSpacePrefix && prevSpecial {
				frag = " " + frag
			}
			out = t.spmEncode(out, escapeSpaces(frag), s)
			prevSpecial = false
		}
		if addSpecial && t.addEOS {
			out = append(out, t.eos)
		}
	case kindBPE:
		if addSpecial && t.addBOS {
			out = append(out, t.bos)
		}
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, f.tok)
				continue
			}
			frag := text[f.off : f.off+f.n]
			switch t.prefix {
			case prefixAlways:
				frag = " " + frag
			case prefixFirst:
				if f.off == 0 && !strings.HasPrefix(frag, " ") {
					frag = " " + frag
				}
			case prefixUnlessSpace:
				if !strings.HasPrefix(frag, " ") {
					frag = " " + frag
				}
			}
			out = t.bpeEncode(out, frag, s)
		}
		if addSpecial && t.addEOS {
			out = append(out, t.eos)
		}
	case kindWPM:
		if addSpecial && t.bos != NoToken {
			out = append(out, t.bos)
		}
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, f.tok)
				continue
			}
			out = t.wpmEncode(out, text[f.off:f.off+f.n], s)
		}
		if addSpecial && t.sep != NoToken {
			out = append(out, t.sep)
		}
	}
	// Do not keep huge buffers alive in the pool.
	if cap(s.syms) > 1<<18 || cap(s.spmq) > 1<<18 || cap(s.bpeq) > 1<<18 {
		*s = scratch{}
	}
	return out
}

func (t *Tokenizer) encodeHuge(dst []int32, text string, addSpecial, parseSpecial bool) []int32 {
	if addSpecial && (t.addBOS || t.kind == kindWPM) && t.bos != NoToken {
		dst = append(dst, t.bos)
	}
	for len(text) > 0 {
		n := min(len(text), maxEncode)
		for n < len(text) && n > 0 && !utf8.RuneStart(text[n]) {
			n--
		}
		if n == 0 {
			n = min(len(text), maxEncode)
		}
		dst = t.AppendEncode(dst, text[:n], false, parseSpecial)
		text = text[n:]
	}
	if addSpecial && t.kind == kindWPM && t.sep != NoToken {
		dst = append(dst, t.sep)
	} else if addSpecial && t.kind != kindWPM && t.addEOS {
		dst = append(dst, t.eos)
	}
	return dst
}
