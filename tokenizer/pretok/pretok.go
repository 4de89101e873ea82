// Package pretok implements the pre-tokenizers of byte-level BPE
// vocabularies: the regex splitting of text into word chunks that BPE then
// merges within. Lookup resolves a GGUF tokenizer.ggml.pre value to its
// Spec through one table (table.go) holding every value llama.cpp
// recognises; Regex builds a splitter from Hugging Face tokenizer.json
// patterns.
//
// Chunking follows Python regex / Hugging Face semantics, which is what the
// models were trained with: patterns are applied in sequence, each to the
// chunks of the one before; every match is a chunk and so is the text
// between matches. The hot patterns (GPT-2, Llama 3, Qwen 2, GPT-4o,
// DeepSeek, ...) run on hand-written matchers that are tested against
// regexp2 running the pattern itself; the rest run on regexp2.
//
// Known differences from llama.cpp, whose std::regex path approximates
// Unicode classes: the GPT-4o family's letter-case classes are exact here
// (llama.cpp takes every non-ASCII letter as both cases, and its Kimi K2
// splitter ignores case), and Kimi K2's \p{Han} is the Han script
// (llama.cpp: the CJK ideograph blocks). Classes
// come from Go's Unicode tables, llama.cpp's from its own generated ones.
// Contractions match '[sS] etc. as llama.cpp's rewritten patterns do, not
// (?i:'s) with full case folding ('\u017f'). Invalid UTF-8 bytes stay as
// they are in the chunks and are classified as U+FFFD; llama.cpp replaces
// them with U+FFFD.
package pretok

import (
	"fmt"
	"slices"
)

// A Splitter splits text into chunks.
type Splitter interface {
	// Split appends the chunks of text to dst and returns it. The chunks are
	// non-empty substrings of text that cover it exactly, in order. Split
	// is safe for concurrent use.
	Split(dst []string, text string) []string
}

// Spec describes one tokenizer.ggml.pre value: its splitter and the
// tokenizer flags llama.cpp's llama_vocab::impl::load sets for it.
type Spec struct {
	Name string // the pre value; "default" for ""
	// Type is the llama.cpp pre-tokenizer type the name maps to
	// (LLAMA_VOCAB_PRE_TYPE_<Type>, lower case). Names of one Type share
	// Patterns; flags may differ.
	Type     string
	Patterns []string // applied in sequence, see Regex
	Split    Splitter

	// IgnoreMerges: a whole chunk found in the vocabulary is one token,
	// without running the merges (ignore_merges).
	IgnoreMerges bool
	// CleanSpaces: detokenizing removes the space before punctuation and
	// contractions (clean_up_tokenization_spaces). True for most BPE types.
	CleanSpaces bool
	// AddBOS and AddSep are the defaults of add_bos / add_sep; the GGUF
	// keys tokenizer.ggml.add_bos_token / add_sep_token override them.
	AddBOS bool
	AddSep bool
	// NoBOS: the default BOS id is none (chatglm), until the GGUF sets one.
	NoBOS bool
	// ByteEncode: chunks are mapped through GPT-2's bytes-to-unicode table
	// before BPE. False for SPM-style BPE vocabularies (raw UTF-8 pieces,
	// <0xXX> byte fallback): gemma4, sarvam-moe, whitespace.
	ByteEncode bool
	// EscapeWhitespace: ' ' becomes U+2581 before splitting, and back when
	// detokenizing (gemma4, sarvam-moe).
	EscapeWhitespace bool
	// DropWhitespace: whitespace is removed rather than tokenized, each run
	// of other text tokenized alone (llama.cpp's whitespace session, used
	// with tokenizer model "whitespace"). The splitter's chunks are then
	// runs of whitespace, to drop, and runs of other text.
	DropWhitespace bool
	// NewlineWhole: a chunk of only '\n' that is in the vocabulary is one
	// token (gemma4).
	NewlineWhole bool
}

// Lookup returns the Spec of a tokenizer.ggml.pre value. "" (a GGUF without
// the key) is "default", as in llama.cpp.
func Lookup(pre string) (Spec, error) {
	if pre == "" {
		pre = "default"
	}
	e, ok := byName[pre]
	if !ok {
		return Spec{}, fmt.Errorf("pretok: unknown pre-tokenizer %q", pre)
	}
	t := types[e.typ]
	sp, err := t.splitter()
	if err != nil {
		return Spec{}, fmt.Errorf("pretok: pre-tokenizer %q: %w", pre, err)
	}
	s := Spec{
		Name:        pre,
		Type:        e.typ,
		Patterns:    slices.Clone(t.patterns),
		Split:       sp,
		CleanSpaces: true,
		ByteEncode:  !t.rawUTF8,
	}
	e.flags.apply(&s)
	return s, nil
}

// Names returns every pre value Lookup accepts, sorted.
func Names() []string {
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
