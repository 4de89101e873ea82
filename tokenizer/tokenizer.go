// Package tokenizer turns text into token ids and back the way llama.cpp
// does, from the tokenizer.ggml.* metadata of a GGUF file (FromGGUF) or a
// Hugging Face tokenizer.json (FromHFJSON). It implements llama.cpp's
// algorithms:
//
//   - SPM ("llama"): SentencePiece-style merges of the adjacent pair whose
//     concatenation is the best-scoring token, spaces as ▁, a leading
//     space added, <0xNN> byte fallback;
//   - BPE ("gpt2"): a regex pre-tokenizer chosen by tokenizer.ggml.pre
//     (package pretok), GPT-2's byte-level encoding, merges by rank;
//     "gemma4" is its SentencePiece-style variant;
//   - WPM ("bert"): BERT normalization and greedy longest-match WordPiece.
//
// Special tokens are split off first as llama.cpp's tokenizer_st_partition
// does: user-defined tokens always, control tokens with parseSpecial.
// Decode, Detokenize and Stream turn ids back into text.
//
// A Tokenizer is immutable after construction and safe for concurrent use.
package tokenizer

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/openweights/owl/tokenizer/pretok"
)

// NoToken stands for an absent special token id.
const NoToken int32 = -1

// TokenType is the GGUF tokenizer.ggml.token_type of a token.
type TokenType int32

// GGUF token types (llama.cpp's llama_token_type).
const (
	TypeUndefined   TokenType = 0
	TypeNormal      TokenType = 1
	TypeUnknown     TokenType = 2
	TypeControl     TokenType = 3
	TypeUserDefined TokenType = 4
	TypeUnused      TokenType = 5
	TypeByte        TokenType = 6
)

// Attr holds a token's attributes as bits (llama.cpp's llama_token_attr).
type Attr uint32

// Token attributes.
const (
	AttrUnknown     Attr = 1 << 0
	AttrUnused      Attr = 1 << 1
	AttrNormal      Attr = 1 << 2
	AttrControl     Attr = 1 << 3 // special tokens such as BOS; not text
	AttrUserDefined Attr = 1 << 4 // added tokens matched verbatim in text
	AttrByte        Attr = 1 << 5 // <0xNN> byte fallback tokens
	AttrNormalized  Attr = 1 << 6
	AttrLStrip      Attr = 1 << 7 // eats whitespace on its left when matched
	AttrRStrip      Attr = 1 << 8 // eats whitespace on its right when matched
	AttrSingleWord  Attr = 1 << 9
)

func typeAttr(t TokenType) Attr {
	switch t {
	case TypeUnknown:
		return AttrUnknown
	case TypeUnused:
		return AttrUnused
	case TypeNormal:
		return AttrNormal
	case TypeControl:
		return AttrControl
	case TypeUserDefined:
		return AttrUserDefined
	case TypeByte:
		return AttrByte
	}
	return 0
}

type kind uint8

const (
	kindSPM kind = iota + 1
	kindBPE
	kindWPM
)

// Tokenizer encodes text to token ids and decodes them back.
type Tokenizer struct {
	model string // tokenizer.ggml.model, e.g. "llama", "gpt2", "bert"
	pre   string // tokenizer.ggml.pre
	kind  kind

	tokens      []string
	scores      []float32
	attrs       []Attr
	ids         map[string]int32
	maxTokenLen int

	bos, eos, eot, eom, unk, sep, pad, mask int32
	fimPre, fimSuf, fimMid, fimPad, fimRep  int32
	fimSep                                  int32
	eog                                     map[int32]bool

	addBOS, addEOS, addSEP bool
	addSpacePrefix         bool
	removeExtraWS          bool
	cleanSpaces            bool
	escapeWS               bool // spaces become ▁ before BPE (SPM-style BPE)
	ignoreMerges           bool
	byteEncode             bool // GPT-2 byte-level encoding of BPE words
	lowercase              bool // WPM normalizer
	stripAccents           bool // WPM normalizer

	preSplit     pretok.Splitter // BPE pre-tokenizer
	preType      string          // llama.cpp's pre-tokenizer type, lower case
	newlineWhole bool            // a word of only newlines that is a token stays whole
	prefix       prefixMode      // BPE from tokenizer.json: the ▁ its normalizer prepends

	specials []int32 // control, user-defined and unknown tokens, longest first
	trie     specialTrie
	pieces   []string // token_to_piece with special = true, by id

	bpe      *bpeModel
	spmWords bool // SPM merges can run word by word (see spmEncode)
}

// config collects everything a Tokenizer is built from, whatever the source.
type config struct {
	model, pre, name string
	tokens           []string
	scores           []float32 // nil: all zero
	types            []int32   // nil: all normal
	merges           [][2]string

	// Special token ids; nil means not given, so the model's default.
	bos, eos, eot, eom, unk, sep, pad, mask        *int32
	fimPre, fimSuf, fimMid, fimPad, fimRep, fimSep *int32

	addBOS, addEOS, addSEP, addSpacePrefix, removeExtraWS *bool
	lowercase, stripAccents                               *bool
	cleanSpaces                                           *bool

	// For BPE from tokenizer.json: the pre-tokenizer and byte handling come
	// from the file rather than from the pre name.
	split        pretok.Splitter
	splitSet     bool
	byteEncode   bool
	escapeWS     bool
	ignoreMerges bool
	prefix       prefixMode
	attrs        map[int32]Attr // extra attributes (lstrip/rstrip)
}

func newTokenizer(c *config) (*Tokenizer, error) {
	n := len(c.tokens)
	if n == 0 {
		return nil, fmt.Errorf("tokenizer: empty vocabulary")
	}
	if n > 1<<30 {
		return nil, fmt.Errorf("tokenizer: vocabulary of %d tokens is too large", n)
	}
	if c.scores != nil && len(c.scores) < n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens", len(c.scores), n)
	}
	if c.types != nil && len(c.types) < n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(c.types), n)
	}
	t := &Tokenizer{
		model: c.model,
		pre:   c.pre,
		eot:   NoToken, eom: NoToken,
		fimPre: NoToken, fimSuf: NoToken, fimMid: NoToken,
		fimPad: NoToken, fimRep: NoToken, fimSep: NoToken,
		lowercase: true, stripAccents: true,
		byteEncode: true,
	}
	// Defaults by model, as llama.cpp's llama_vocab::impl::load sets them.
	switch c.model {
	case "llama":
		t.kind = kindSPM
		t.bos, t.eos, t.unk, t.sep, t.pad, t.mask = 1, 2, 0, NoToken, NoToken, NoToken
		t.addSpacePrefix, t.addBOS = true, true
	case "bert":
		t.kind = kindWPM
		t.bos, t.eos, t.unk, t.sep, t.pad, t.mask = 101, NoToken, 100, 102, 0, 103
		t.cleanSpaces, t.addBOS, t.addSEP = true, true, true
	case "gpt2":
		t.kind = kindBPE
		t.bos, t.eos, t.unk, t.sep, t.pad, t.mask = 11, 11, NoToken, NoToken, NoToken, NoToken
		t.cleanSpaces = true
	case "gemma4":
		// SPM-style BPE: ▁ for spaces, <0xNN> byte fallback; the
		// pre-tokenizer is always gemma4's.
		t.kind = kindBPE
		t.bos, t.eos, t.unk, t.sep, t.pad, t.mask = NoToken, NoToken, NoToken, NoToken, NoToken, NoToken
		c.pre = "gemma4"
		t.pre = c.pre
	case "t5", "ugm", "rwkv", "plamo2", "hybriddna", "whitespace", "no_vocab", "none":
		return nil, fmt.Errorf("tokenizer: unsupported tokenizer model %q (supported: llama, gpt2, bert, gemma4)", c.model)
	default:
		return nil, fmt.Errorf("tokenizer: unknown tokenizer model %q (supported: llama, gpt2, bert, gemma4)", c.model)
	}
	if t.kind == kindBPE {
		if err := t.setupPre(c); err != nil {
			return nil, err
		}
	}
	if c.addSpacePrefix != nil {
		t.addSpacePrefix = *c.addSpacePrefix
	}
	if c.removeExtraWS != nil {
		t.removeExtraWS = *c.removeExtraWS
	}
	if c.cleanSpaces != nil {
		t.cleanSpaces = *c.cleanSpaces
	}

	t.tokens = make([]string, n)
	t.scores = make([]float32, n)
	t.attrs = make([]Attr, n)
	t.ids = make(map[string]int32, n)
	for i, w := range c.tokens {
		if w == "" {
			w = fmt.Sprintf("[EMPTY_%d]", i) // as llama.cpp names empty tokens
		}
		if j, dup := t.ids[w]; dup {
			return nil, fmt.Errorf("tokenizer: duplicate token %q has ids %d and %d", w, j, i)
		}
		t.ids[w] = int32(i)
		t.tokens[i] = w
		t.maxTokenLen = max(t.maxTokenLen, len(w))
		if c.scores != nil {
			t.scores[i] = c.scores[i]
		}
		t.attrs[i] = AttrNormal
		if c.types != nil {
			t.attrs[i] = typeAttr(TokenType(c.types[i]))
		}
	}
	for id, a := range c.attrs {
		if id >= 0 && int(id) < n {
			t.attrs[id] |= a
		}
	}

	// Special ids: a default outside the vocabulary is dropped; a given id
	// outside it is ignored (llama.cpp warns and keeps the default).
	set := func(dst *int32, given *int32) {
		if *dst >= int32(n) {
			*dst = NoToken
		}
		switch {
		case given == nil:
		case *given >= 0 && *given < int32(n):
			*dst = *given
		case *given == NoToken: // explicitly none (tokenizer.json)
			*dst = NoToken
		}
	}
	set(&t.bos, c.bos)
	set(&t.eos, c.eos)
	set(&t.eot, c.eot)
	set(&t.eom, c.eom)
	set(&t.unk, c.unk)
	set(&t.sep, c.sep)
	set(&t.pad, c.pad)
	set(&t.mask, c.mask)
	set(&t.fimPre, c.fimPre)
	set(&t.fimSuf, c.fimSuf)
	set(&t.fimMid, c.fimMid)
	set(&t.fimPad, c.fimPad)
	set(&t.fimRep, c.fimRep)
	set(&t.fimSep, c.fimSep)

	if c.addBOS != nil {
		t.addBOS = *c.addBOS
	}
	if c.addEOS != nil {
		t.addEOS = *c.addEOS
	}
	if c.addSEP != nil {
		t.addSEP = *c.addSEP
	}
	if t.preType == "gemma4" {
		t.addBOS = true // llama.cpp's workaround for Gemma 4 files
	}
	if t.addBOS && t.bos == NoToken {
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.add_bos_token is true, but tokenizer.ggml.bos_token_id is not set")
	}
	if t.addEOS && t.eos == NoToken {
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.add_eos_token is true, but tokenizer.ggml.eos_token_id is not set")
	}
	if t.addSEP && t.sep == NoToken {
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.add_sep_token is true, but tokenizer.ggml.seperator_token_id is not set")
	}
	if c.lowercase != nil {
		t.lowercase = *c.lowercase
		t.stripAccents = *c.lowercase
	}
	if c.stripAccents != nil {
		t.stripAccents = *c.stripAccents
	}

	t.detectSpecials()
	t.applyNameAttrs(c.name)

	for id := range t.tokens {
		if t.attrs[id]&(AttrControl|AttrUserDefined|AttrUnknown) != 0 {
			t.specials = append(t.specials, int32(id))
		}
	}
	// Longest first, as llama.cpp sorts them; ties by id for determinism
	// (llama.cpp's std::sort leaves their order unspecified).
	sort.SliceStable(t.specials, func(a, b int) bool {
		return len(t.tokens[t.specials[a]]) > len(t.tokens[t.specials[b]])
	})
	t.trie = buildSpecialTrie(t.tokens, t.specials)

	// All pieces live in one string, to load large vocabularies quickly.
	var buf []byte
	ends := make([]int, n)
	for id := range t.tokens {
		buf = t.appendTokenPiece(buf, int32(id))
		ends[id] = len(buf)
	}
	all := string(buf)
	t.pieces = make([]string, n)
	for id, end := range ends {
		start := 0
		if id > 0 {
			start = ends[id-1]
		}
		t.pieces[id] = all[start:end]
	}

	if t.kind == kindSPM {
		t.spmWords = spmWordsSafe(t.tokens)
	}
	if t.kind == kindBPE {
		m, err := newBPEModel(t, c.merges)
		if err != nil {
			return nil, err
		}
		t.bpe = m
	}
	return t, nil
}

// setupPre applies the pre-tokenizer and the flags llama.cpp ties to the
// tokenizer.ggml.pre name for BPE.
func (t *Tokenizer) setupPre(c *config) error {
	if c.splitSet { // from tokenizer.json
		t.preSplit = c.split
		t.byteEncode = c.byteEncode
		t.escapeWS = c.escapeWS
		t.ignoreMerges = c.ignoreMerges
		t.prefix = c.prefix
		return nil
	}
	spec, err := pretok.Lookup(c.pre)
	if err != nil {
		return fmt.Errorf("tokenizer: tokenizer.ggml.pre: %w", err)
	}
	t.preSplit = spec.Split
	t.preType = spec.Type
	t.ignoreMerges = spec.IgnoreMerges
	t.cleanSpaces = spec.CleanSpaces
	t.addBOS = t.addBOS || spec.AddBOS
	t.addSEP = t.addSEP || spec.AddSep
	if spec.NoBOS {
		t.bos = NoToken
	}
	t.byteEncode = spec.ByteEncode
	t.escapeWS = spec.EscapeWhitespace
	t.newlineWhole = spec.NewlineWhole
	return nil
}

// detectSpecials finds end-of-generation and other special tokens by their
// text, as llama.cpp's loader does for files that do not name them.
func (t *Tokenizer) detectSpecials() {
	control := func(id int32) { t.attrs[id] |= AttrControl }
	// llama.cpp takes the first match in hash order; here the first
	// candidate text in the vocabulary wins.
	pick := func(dst *int32, texts ...string) {
		if *dst != NoToken {
			return
		}
		for _, s := range texts {
			if id, ok := t.ids[s]; ok {
				*dst = id
				control(id)
				return
			}
		}
	}
	pick(&t.eot, "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>")
	pick(&t.eom, "<|eom_id|>")
	pick(&t.fimPre, "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>")
	pick(&t.fimSuf, "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>")
	pick(&t.fimMid, "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>")
	pick(&t.fimPad, "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]")
	pick(&t.fimRep, "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>")
	pick(&t.fimSep, "<|file_sep|>")

	for id, w := range t.tokens {
		if t.attrs[id]&AttrControl != 0 && t.attrs[id]&AttrUnused == 0 && strings.Contains(w, "unused") {
			t.attrs[id] |= AttrUnused
		}
	}

	t.eog = map[int32]bool{}
	for _, id := range []int32{t.fimPad, t.fimRep, t.fimSep} {
		if id != NoToken {
			t.eog[id] = true
		}
	}
	for id, w := range t.tokens {
		switch w {
		case "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
			"<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
			"_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
			"<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[":
			t.eog[int32(id)] = true
			control(int32(id))
		}
	}
	// gpt-oss renders these in text.
	for id, w := range t.tokens {
		switch w {
		case "<|channel|>", "<|message|>", "<|start|>", "<|constrain|>":
			t.attrs[id] = AttrUserDefined
		}
	}
	for _, id := range []int32{t.eos, t.eot, t.eom} {
		if id != NoToken {
			t.eog[id] = true
		}
	}
	// o200k_harmony and solar-open: <|end|> ends a message, not generation.
	has := func(s string) (int32, bool) {
		for id := range t.eog {
			if t.tokens[id] == s {
				return id, true
			}
		}
		return NoToken, false
	}
	_, ret := has("<|return|>")
	_, call := has("<|call|>")
	_, calls := has("<|calls|>")
	_, flush := has("<|flush|>")
	if end, ok := has("<|end|>"); ok && (ret && (call || calls) || (call || calls) && flush) {
		delete(t.eog, end)
		t.attrs[end] = AttrUserDefined
	}
	// gemma4 and paddleocr: </s> is not end of generation.
	if _, tr := has("<|tool_response>"); tr {
		if s, ok := has("</s>"); ok {
			delete(t.eog, s)
			t.attrs[s] = AttrNormal
		}
	}
}

// applyNameAttrs sets the strip attributes llama.cpp ties to model names.
func (t *Tokenizer) applyNameAttrs(name string) {
	name = strings.ToLower(name)
	setAttr := func(text string, a Attr, on bool) {
		id, ok := t.ids[text]
		if !ok {
			return
		}
		if on {
			t.attrs[id] |= a
		} else {
			t.attrs[id] &^= a
		}
	}
	switch {
	case containsAny(t.pre, "jina-v2-de", "jina-v2-es", "jina-v2-code"):
		setAttr("<mask>", AttrLStrip, true)
	case containsAny(name, "phi-3", "phi3"):
		for id := range t.tokens {
			if t.attrs[id]&(AttrControl|AttrUserDefined|AttrUnknown) != 0 {
				t.attrs[id] |= AttrRStrip
			}
		}
		setAttr("</s>", AttrRStrip, true)
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			setAttr(s, AttrRStrip, false)
		}
	case containsAny(name, "modern-bert"):
		setAttr("[MASK]", AttrLStrip, true)
	}
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// Model returns the tokenizer model name: "llama" (SPM), "gpt2" (BPE) or
// "bert" (WPM).
func (t *Tokenizer) Model() string { return t.model }

// Pre returns the BPE pre-tokenizer name (tokenizer.ggml.pre), if any.
func (t *Tokenizer) Pre() string { return t.pre }

// VocabSize returns the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOS returns the beginning-of-sequence token id, or NoToken.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS returns the end-of-sequence token id, or NoToken.
func (t *Tokenizer) EOS() int32 { return t.eos }

// EOT returns the end-of-turn token id, or NoToken.
func (t *Tokenizer) EOT() int32 { return t.eot }

// EOM returns the end-of-message token id, or NoToken.
func (t *Tokenizer) EOM() int32 { return t.eom }

// UNK returns the unknown token id, or NoToken.
func (t *Tokenizer) UNK() int32 { return t.unk }

// SEP returns the separator token id, or NoToken.
func (t *Tokenizer) SEP() int32 { return t.sep }

// PAD returns the padding token id, or NoToken.
func (t *Tokenizer) PAD() int32 { return t.pad }

// Mask returns the mask token id, or NoToken.
func (t *Tokenizer) Mask() int32 { return t.mask }

// AddBOS reports whether Encode with addSpecial prepends BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS || t.kind == kindWPM }

// AddEOS reports whether Encode with addSpecial appends EOS.
func (t *Tokenizer) AddEOS() bool { return t.addEOS }

// IsEOG reports whether id ends generation (EOS, EOT, EOM and the like).
func (t *Tokenizer) IsEOG(id int32) bool { return t.eog[id] }

// EOG returns the end-of-generation token ids in increasing order.
func (t *Tokenizer) EOG() []int32 {
	out := make([]int32, 0, len(t.eog))
	for id := range t.eog {
		out = append(out, id)
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

// Token returns the vocabulary text of id as stored (with ▁ or byte-level
// characters), or "" when id is out of range.
func (t *Tokenizer) Token(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// TokenID returns the id of the token whose vocabulary text is s.
func (t *Tokenizer) TokenID(s string) (int32, bool) {
	id, ok := t.ids[s]
	return id, ok
}

// Score returns the SPM score of id (0 when out of range).
func (t *Tokenizer) Score(id int32) float32 {
	if id < 0 || int(id) >= len(t.tokens) {
		return 0
	}
	return t.scores[id]
}

// Attr returns the attributes of id (0 when out of range).
func (t *Tokenizer) Attr(id int32) Attr {
	if id < 0 || int(id) >= len(t.tokens) {
		return 0
	}
	return t.attrs[id]
}

// IsControl reports whether id is a control token such as BOS.
func (t *Tokenizer) IsControl(id int32) bool { return t.Attr(id)&AttrControl != 0 }

// scratch pools per-call buffers.
var scratchPool = sync.Pool{New: func() any { return new(scratch) }}
