package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/openweights/owl/tokenizer/pretok"
)

// gpt2Pattern is the regex of Hugging Face's ByteLevel pre-tokenizer.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// hfFile is the part of a tokenizer.json that FromHFJSON reads; the
// polymorphic parts are decoded by their "type".
type hfFile struct {
	AddedTokens   []hfAddedToken  `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         struct {
		Type         string          `json:"type"`
		Vocab        json.RawMessage `json:"vocab"`
		Merges       json.RawMessage `json:"merges"`
		ByteFallback bool            `json:"byte_fallback"`
		IgnoreMerges bool            `json:"ignore_merges"`
		UnkToken     *string         `json:"unk_token"`
		Dropout      *float64        `json:"dropout"`
		ContPrefix   *string         `json:"continuing_subword_prefix"`
		EndSuffix    *string         `json:"end_of_word_suffix"`
	} `json:"model"`
}

type hfAddedToken struct {
	ID      int64  `json:"id"`
	Content string `json:"content"`
	LStrip  bool   `json:"lstrip"`
	RStrip  bool   `json:"rstrip"`
	Special bool   `json:"special"`
}

// hfNode is any normalizer, pre-tokenizer, decoder or post-processor.
type hfNode struct {
	Type string `json:"type"`
	// Sequence members.
	Normalizers   []json.RawMessage `json:"normalizers"`
	PreTokenizers []json.RawMessage `json:"pretokenizers"`
	Decoders      []json.RawMessage `json:"decoders"`
	Processors    []json.RawMessage `json:"processors"`
	// Prepend, Replace, Metaspace, Split.
	Prepend       string          `json:"prepend"`
	Content       string          `json:"content"`
	Pattern       json.RawMessage `json:"pattern"`
	Replacement   string          `json:"replacement"`
	PrependScheme string          `json:"prepend_scheme"`
	AddPrefix     *bool           `json:"add_prefix_space"`
	SplitWords    *bool           `json:"split"`
	Behavior      string          `json:"behavior"`
	Invert        bool            `json:"invert"`
	UseRegex      *bool           `json:"use_regex"`
	Individual    bool            `json:"individual_digits"`
	// TemplateProcessing.
	Single []struct {
		SpecialToken *struct {
			ID string `json:"id"`
		} `json:"SpecialToken"`
		Sequence *struct {
			ID string `json:"id"`
		} `json:"Sequence"`
	} `json:"single"`
}

type hfPattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

// hfConfig is the part of tokenizer_config.json read here.
type hfConfig struct {
	AddBOS *bool           `json:"add_bos_token"`
	AddEOS *bool           `json:"add_eos_token"`
	BOS    json.RawMessage `json:"bos_token"`
	EOS    json.RawMessage `json:"eos_token"`
	UNK    json.RawMessage `json:"unk_token"`
	PAD    json.RawMessage `json:"pad_token"`
}

// FromHFJSON builds a tokenizer from a Hugging Face tokenizer.json and
// (optionally, nil) its tokenizer_config.json. It supports BPE models of
// two kinds, mapped onto llama.cpp's algorithms:
//
//   - byte-level BPE (GPT-2, Llama 3, Qwen 2.5, SmolLM, Mistral Tekken): a
//     ByteLevel pre-tokenizer, alone or after Split regexes in a Sequence,
//     and a ByteLevel decoder;
//   - SentencePiece-style BPE with byte_fallback (Llama 2, Mistral v0.1,
//     Gemma): spaces become ▁ through Replace/Prepend normalizers or a
//     Metaspace pre-tokenizer, and characters without a token become
//     <0xNN> tokens.
//
// added_tokens are control tokens when "special", user-defined otherwise;
// their lstrip/rstrip are honoured. BOS/EOS come from tokenizer_config.json
// (add_bos_token, bos_token, ...) or else from a TemplateProcessing
// post-processor. An NFC normalizer is accepted and not applied, as
// llama.cpp does not apply it either. Other models, normalizers and
// pre-tokenizers are reported as unsupported.
func FromHFJSON(tokenizerJSON, tokenizerConfigJSON []byte) (*Tokenizer, error) {
	var f hfFile
	if err := json.Unmarshal(tokenizerJSON, &f); err != nil {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: %w", err)
	}
	if f.Model.Type != "BPE" && !(f.Model.Type == "" && len(f.Model.Merges) > 0) {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: unsupported model type %q (only BPE)", f.Model.Type)
	}
	if f.Model.ContPrefix != nil && *f.Model.ContPrefix != "" || f.Model.EndSuffix != nil && *f.Model.EndSuffix != "" {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: BPE with continuing_subword_prefix or end_of_word_suffix is unsupported")
	}
	c := &config{model: "gpt2", splitSet: true}
	vocab, err := hfVocab(f.Model.Vocab)
	if err != nil {
		return nil, err
	}
	if c.merges, err = hfMerges(f.Model.Merges); err != nil {
		return nil, err
	}
	if err := hfTokens(c, vocab, f.AddedTokens); err != nil {
		return nil, err
	}
	if err := hfPipeline(c, &f); err != nil {
		return nil, err
	}
	if !c.byteEncode && !f.Model.ByteFallback {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: BPE without byte-level encoding needs byte_fallback")
	}
	c.ignoreMerges = f.Model.IgnoreMerges
	c.cleanSpaces = new(bool) // Decode gives the text as it was

	// Types: byte fallback tokens, the unknown token.
	if !c.byteEncode {
		for i, w := range c.tokens {
			if c.types[i] == int32(TypeNormal) && len(w) == 6 && strings.HasPrefix(w, "<0x") && w[5] == '>' {
				if _, ok := parseByteToken(w); ok {
					c.types[i] = int32(TypeByte)
				}
			}
		}
	}
	id := func(s string) *int32 {
		for i, w := range c.tokens {
			if w == s {
				v := int32(i)
				return &v
			}
		}
		return nil
	}
	none := NoToken
	c.bos, c.eos, c.unk, c.pad, c.sep, c.mask = &none, &none, &none, &none, &none, &none
	if f.Model.UnkToken != nil {
		if u := id(*f.Model.UnkToken); u != nil {
			c.unk = u
			c.types[*u] = int32(TypeUnknown)
		}
	}
	addBOS, addEOS := false, false
	if err := hfPostProcessor(c, f.PostProcessor, id, &addBOS, &addEOS); err != nil {
		return nil, err
	}
	if len(tokenizerConfigJSON) > 0 {
		var tc hfConfig
		if err := json.Unmarshal(tokenizerConfigJSON, &tc); err != nil {
			return nil, fmt.Errorf("tokenizer: tokenizer_config.json: %w", err)
		}
		for _, x := range []struct {
			raw json.RawMessage
			dst **int32
			key string
		}{{tc.BOS, &c.bos, "bos_token"}, {tc.EOS, &c.eos, "eos_token"}, {tc.UNK, &c.unk, "unk_token"}, {tc.PAD, &c.pad, "pad_token"}} {
			s, ok, err := hfTokenName(x.raw)
			if err != nil {
				return nil, fmt.Errorf("tokenizer: tokenizer_config.json: %s: %w", x.key, err)
			}
			if !ok {
				continue
			}
			v := id(s)
			if v == nil {
				return nil, fmt.Errorf("tokenizer: tokenizer_config.json: %s %q is not in the vocabulary", x.key, s)
			}
			*x.dst = v
		}
		if tc.AddBOS != nil {
			addBOS = *tc.AddBOS
		}
		if tc.AddEOS != nil {
			addEOS = *tc.AddEOS
		}
	}
	c.addBOS, c.addEOS = &addBOS, &addEOS
	f0 := false
	c.addSpacePrefix = &f0
	if c.prefix != prefixNone {
		t := true
		c.addSpacePrefix = &t // Decode drops the space again
	}
	return newTokenizer(c)
}

// hfVocab decodes the model's vocab object token by token, so that
// duplicate tokens are caught rather than silently merged.
func hfVocab(raw json.RawMessage) (map[int64]string, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: model has no vocab")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: model.vocab is not an object")
	}
	vocab := map[int64]string{}
	seen := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: model.vocab: %w", err)
		}
		tok := kt.(string)
		var id int64
		if err := dec.Decode(&id); err != nil {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: model.vocab[%q]: %w", tok, err)
		}
		if seen[tok] {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: model.vocab: duplicate token %q", tok)
		}
		seen[tok] = true
		if prev, dup := vocab[id]; dup {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: model.vocab: id %d used by %q and %q", id, prev, tok)
		}
		vocab[id] = tok
	}
	return vocab, nil
}

// hfMerges accepts both forms of merges: "a b" strings and ["a", "b"] pairs.
func hfMerges(raw json.RawMessage) ([][2]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err == nil {
		out := make([][2]string, len(lines))
		for i, line := range lines {
			// tokenizer.json splits at the first space (the pieces never
			// contain one: byte-level and ▁ encodings have no spaces).
			l, r, ok := strings.Cut(line, " ")
			if !ok {
				return nil, fmt.Errorf("tokenizer: tokenizer.json: merge %d %q has no space", i, line)
			}
			out[i] = [2]string{l, r}
		}
		return out, nil
	}
	var pairs [][]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: model.merges: %w", err)
	}
	out := make([][2]string, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: merge %d has %d parts, want 2", i, len(p))
		}
		out[i] = [2]string{p[0], p[1]}
	}
	return out, nil
}

// hfTokens lays out the vocabulary by id, with the added tokens.
func hfTokens(c *config, vocab map[int64]string, added []hfAddedToken) error {
	n := int64(0)
	for id := range vocab {
		if id < 0 {
			return fmt.Errorf("tokenizer: tokenizer.json: negative token id %d", id)
		}
		n = max(n, id+1)
	}
	for _, a := range added {
		if a.ID < 0 {
			return fmt.Errorf("tokenizer: tokenizer.json: added token %q has negative id %d", a.Content, a.ID)
		}
		n = max(n, a.ID+1)
	}
	// Ids may leave holes (filled below), but not unboundedly many.
	if limit := int64(len(vocab)+len(added)) + 1024; n > limit {
		return fmt.Errorf("tokenizer: tokenizer.json: token id %d is far past the %d tokens given", n-1, len(vocab)+len(added))
	}
	c.tokens = make([]string, n)
	c.types = make([]int32, n)
	for id, tok := range vocab {
		c.tokens[id] = tok
		c.types[id] = int32(TypeNormal)
	}
	c.attrs = map[int32]Attr{}
	for _, a := range added {
		if a.Content == "" {
			return fmt.Errorf("tokenizer: tokenizer.json: added token %d is empty", a.ID)
		}
		c.tokens[a.ID] = a.Content
		c.types[a.ID] = int32(TypeUserDefined)
		if a.Special {
			c.types[a.ID] = int32(TypeControl)
		}
		var at Attr
		if a.LStrip {
			at |= AttrLStrip
		}
		if a.RStrip {
			at |= AttrRStrip
		}
		if at != 0 {
			c.attrs[int32(a.ID)] = at
		}
	}
	for i := range c.tokens {
		if c.tokens[i] == "" {
			c.tokens[i] = fmt.Sprintf("[PAD%d]", i) // as llama.cpp's converter fills holes
			c.types[i] = int32(TypeUnused)
		}
	}
	return nil
}

func decodeNode(raw json.RawMessage, what string) (*hfNode, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var n hfNode
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: %s: %w", what, err)
	}
	return &n, nil
}

// hfPipeline maps the normalizer, pre-tokenizer and decoder onto the
// pre-tokenizer splitter, byte-level encoding and ▁ handling.
func hfPipeline(c *config, f *hfFile) error {
	var patterns []string
	byteLevel, metaspace := false, false

	// Normalizer.
	norm, err := decodeNode(f.Normalizer, "normalizer")
	if err != nil {
		return err
	}
	var norms []*hfNode
	if norm != nil {
		if norm.Type == "Sequence" {
			for _, r := range norm.Normalizers {
				n, err := decodeNode(r, "normalizer")
				if err != nil {
					return err
				}
				if n != nil {
					norms = append(norms, n)
				}
			}
		} else {
			norms = append(norms, norm)
		}
	}
	for _, n := range norms {
		switch n.Type {
		case "NFC":
			// llama.cpp does not normalize BPE text either.
		case "Prepend":
			if n.Prepend != "▁" {
				return fmt.Errorf("tokenizer: tokenizer.json: unsupported Prepend normalizer %q", n.Prepend)
			}
			c.prefix = prefixAlways
		case "Replace":
			var p hfPattern
			if err := json.Unmarshal(n.Pattern, &p); err != nil || p.String == nil || *p.String != " " || n.Content != "▁" {
				return fmt.Errorf("tokenizer: tokenizer.json: unsupported Replace normalizer (only \" \" to \"▁\")")
			}
			c.escapeWS = true
		default:
			return fmt.Errorf("tokenizer: tokenizer.json: unsupported normalizer %q", n.Type)
		}
	}

	// Pre-tokenizer.
	pre, err := decodeNode(f.PreTokenizer, "pre_tokenizer")
	if err != nil {
		return err
	}
	var pres []*hfNode
	if pre != nil {
		if pre.Type == "Sequence" {
			for _, r := range pre.PreTokenizers {
				n, err := decodeNode(r, "pre_tokenizer")
				if err != nil {
					return err
				}
				if n != nil {
					pres = append(pres, n)
				}
			}
		} else {
			pres = append(pres, pre)
		}
	}
	for _, n := range pres {
		switch n.Type {
		case "ByteLevel":
			byteLevel = true
			if n.AddPrefix != nil && *n.AddPrefix {
				return fmt.Errorf("tokenizer: tokenizer.json: ByteLevel add_prefix_space is unsupported")
			}
			if n.UseRegex == nil || *n.UseRegex {
				patterns = append(patterns, gpt2Pattern)
			}
		case "Split":
			if n.Invert || n.Behavior != "Isolated" {
				return fmt.Errorf("tokenizer: tokenizer.json: unsupported Split (behavior %q, invert %v; only Isolated)", n.Behavior, n.Invert)
			}
			var p hfPattern
			if err := json.Unmarshal(n.Pattern, &p); err != nil {
				return fmt.Errorf("tokenizer: tokenizer.json: Split pattern: %w", err)
			}
			switch {
			case p.Regex != nil:
				patterns = append(patterns, *p.Regex)
			case p.String != nil && *p.String != "":
				patterns = append(patterns, regexp.QuoteMeta(*p.String))
			default:
				return fmt.Errorf("tokenizer: tokenizer.json: Split without a pattern")
			}
		case "Digits":
			if n.Individual {
				patterns = append(patterns, `\p{N}`)
			} else {
				patterns = append(patterns, `\p{N}+`)
			}
		case "Metaspace":
			if n.Replacement != "▁" {
				return fmt.Errorf("tokenizer: tokenizer.json: unsupported Metaspace replacement %q", n.Replacement)
			}
			metaspace = true
			c.escapeWS = true
			scheme := n.PrependScheme
			if scheme == "" { // older files
				scheme = "never"
				if n.AddPrefix == nil || *n.AddPrefix {
					scheme = "always"
				}
			}
			switch scheme {
			case "always":
				c.prefix = prefixUnlessSpace
			case "first":
				c.prefix = prefixFirst
			case "never":
			default:
				return fmt.Errorf("tokenizer: tokenizer.json: unsupported Metaspace prepend_scheme %q", scheme)
			}
			if n.SplitWords == nil || *n.SplitWords {
				patterns = append(patterns, `▁[^▁]*`)
			}
		default:
			return fmt.Errorf("tokenizer: tokenizer.json: unsupported pre-tokenizer %q", n.Type)
		}
	}
	if byteLevel && (c.escapeWS || metaspace) {
		return fmt.Errorf("tokenizer: tokenizer.json: ByteLevel with ▁ spaces is unsupported")
	}
	c.byteEncode = byteLevel

	// The decoder must undo what the pre-tokenizer did.
	if dec, err := decodeNode(f.Decoder, "decoder"); err != nil {
		return err
	} else if dec != nil {
		hasByteLevel := dec.Type == "ByteLevel"
		for _, r := range dec.Decoders {
			if d, err := decodeNode(r, "decoder"); err == nil && d != nil && d.Type == "ByteLevel" {
				hasByteLevel = true
			}
		}
		if hasByteLevel != byteLevel {
			return fmt.Errorf("tokenizer: tokenizer.json: decoder %q does not match the pre-tokenizer", dec.Type)
		}
	}

	if len(patterns) == 0 {
		c.split = wholeText{}
	} else {
		sp, err := pretok.Regex(patterns...)
		if err != nil {
			return fmt.Errorf("tokenizer: tokenizer.json: pre-tokenizer: %w", err)
		}
		c.split = sp
	}
	return nil
}

// hfPostProcessor reads BOS/EOS from a TemplateProcessing's single
// template: special tokens before and after $A.
func hfPostProcessor(c *config, raw json.RawMessage, id func(string) *int32, addBOS, addEOS *bool) error {
	pp, err := decodeNode(raw, "post_processor")
	if err != nil || pp == nil {
		return err
	}
	nodes := []*hfNode{pp}
	for _, r := range pp.Processors {
		if n, err := decodeNode(r, "post_processor"); err == nil && n != nil {
			nodes = append(nodes, n)
		}
	}
	for _, n := range nodes {
		if n.Type != "TemplateProcessing" {
			continue
		}
		seenSeq := false
		for _, p := range n.Single {
			switch {
			case p.Sequence != nil:
				seenSeq = true
			case p.SpecialToken != nil:
				v := id(p.SpecialToken.ID)
				if v == nil {
					return fmt.Errorf("tokenizer: tokenizer.json: post_processor token %q is not in the vocabulary", p.SpecialToken.ID)
				}
				if seenSeq {
					c.eos, *addEOS = v, true
				} else {
					c.bos, *addBOS = v, true
				}
			}
		}
	}
	return nil
}

// hfTokenName reads a tokenizer_config.json token: a string, an
// {"content": ...} object, or null.
func hfTokenName(raw json.RawMessage) (string, bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, true, nil
	}
	var o struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || o.Content == nil {
		return "", false, fmt.Errorf("neither a string nor an object with content")
	}
	return *o.Content, true, nil
}

// wholeText is the pre-tokenizer of tokenizer.json files without one: the
// whole fragment is one word.
type wholeText struct{}

func (wholeText) Split(dst []string, text string) []string {
	if text == "" {
		return dst
	}
	return append(dst, text)
}
