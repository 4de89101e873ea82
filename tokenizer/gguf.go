package tokenizer

import (
	"errors"
	"fmt"

	"github.com/openweights/owl/gguf"
)

// GGUF metadata keys read by FromGGUF.
const (
	keyModel        = "tokenizer.ggml.model"
	keyPre          = "tokenizer.ggml.pre"
	keyTokens       = "tokenizer.ggml.tokens"
	keyScores       = "tokenizer.ggml.scores"
	keyTokenType    = "tokenizer.ggml.token_type"
	keyMerges       = "tokenizer.ggml.merges"
	keyAddBOS       = "tokenizer.ggml.add_bos_token"
	keyAddEOS       = "tokenizer.ggml.add_eos_token"
	keyAddSEP       = "tokenizer.ggml.add_sep_token"
	keyAddPrefix    = "tokenizer.ggml.add_space_prefix"
	keyRemoveWS     = "tokenizer.ggml.remove_extra_whitespaces"
	keyLowercase    = "tokenizer.ggml.normalizer.lowercase"
	keyStripAccents = "tokenizer.ggml.normalizer.strip_accents"
)

// FromGGUF builds the tokenizer described by a GGUF file's tokenizer.ggml.*
// metadata, as llama.cpp's vocabulary loader reads it. Errors name the
// missing or malformed key.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	c := &config{}
	var err error
	if c.model, err = f.String(keyModel); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if c.pre, err = optString(f, keyPre); err != nil {
		return nil, err
	}
	if c.name, err = optString(f, "general.name"); err != nil {
		c.name = "" // only used to recognize a few models
	}
	if c.tokens, err = f.Strings(keyTokens); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if v, ok := f.Lookup(keyScores); ok {
		switch v.Data.(type) {
		case []int32:
			is, _ := f.Int32s(keyScores)
			c.scores = make([]float32, len(is))
			for i, x := range is {
				c.scores[i] = float32(x)
			}
		default:
			if c.scores, err = f.Float32s(keyScores); err != nil {
				return nil, fmt.Errorf("tokenizer: %w", err)
			}
		}
		if len(c.scores) < len(c.tokens) {
			return nil, fmt.Errorf("tokenizer: %s has %d entries for %d tokens", keyScores, len(c.scores), len(c.tokens))
		}
	}
	if _, ok := f.Lookup(keyTokenType); ok {
		if c.types, err = f.Int32s(keyTokenType); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if len(c.types) < len(c.tokens) {
			return nil, fmt.Errorf("tokenizer: %s has %d entries for %d tokens", keyTokenType, len(c.types), len(c.tokens))
		}
	}
	if c.model == "gpt2" || c.model == "gemma4" {
		lines, err := f.Strings(keyMerges)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: BPE vocabulary without merges: %w", err)
		}
		c.merges = make([][2]string, len(lines))
		for i, line := range lines {
			if l, r, ok := splitMerge(line); ok {
				c.merges[i] = [2]string{l, r}
			}
		}
	}
	ids := []struct {
		key string
		dst **int32
	}{
		{"tokenizer.ggml.bos_token_id", &c.bos},
		{"tokenizer.ggml.eos_token_id", &c.eos},
		{"tokenizer.ggml.eot_token_id", &c.eot},
		{"tokenizer.ggml.eom_token_id", &c.eom},
		{"tokenizer.ggml.unknown_token_id", &c.unk},
		{"tokenizer.ggml.seperator_token_id", &c.sep},
		{"tokenizer.ggml.padding_token_id", &c.pad},
		{"tokenizer.ggml.mask_token_id", &c.mask},
		{"tokenizer.ggml.fim_pre_token_id", &c.fimPre},
		{"tokenizer.ggml.fim_suf_token_id", &c.fimSuf},
		{"tokenizer.ggml.fim_mid_token_id", &c.fimMid},
		{"tokenizer.ggml.fim_pad_token_id", &c.fimPad},
		{"tokenizer.ggml.fim_rep_token_id", &c.fimRep},
		{"tokenizer.ggml.fim_sep_token_id", &c.fimSep},
		// Deprecated names of the FIM tokens.
		{"tokenizer.ggml.prefix_token_id", &c.fimPre},
		{"tokenizer.ggml.suffix_token_id", &c.fimSuf},
		{"tokenizer.ggml.middle_token_id", &c.fimMid},
	}
	for _, k := range ids {
		if err := optID(f, k.key, k.dst); err != nil {
			return nil, err
		}
	}
	// Older BERT files name the [CLS] token, which llama.cpp uses as BOS.
	if c.model == "bert" && c.bos == nil {
		if err := optID(f, "tokenizer.ggml.cls_token_id", &c.bos); err != nil {
			return nil, err
		}
	}
	bools := []struct {
		key string
		dst **bool
	}{
		{keyAddBOS, &c.addBOS},
		{keyAddEOS, &c.addEOS},
		{keyAddSEP, &c.addSEP},
		{keyAddPrefix, &c.addSpacePrefix},
		{keyRemoveWS, &c.removeExtraWS},
		{keyLowercase, &c.lowercase},
		{keyStripAccents, &c.stripAccents},
	}
	for _, k := range bools {
		if _, ok := f.Lookup(k.key); !ok {
			continue
		}
		b, err := f.Bool(k.key)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		*k.dst = &b
	}
	return newTokenizer(c)
}

func optString(f *gguf.File, key string) (string, error) {
	s, err := f.String(key)
	if errors.Is(err, gguf.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("tokenizer: %w", err)
	}
	return s, nil
}

func optID(f *gguf.File, key string, dst **int32) error {
	if _, ok := f.Lookup(key); !ok {
		return nil
	}
	u, err := f.Uint32(key)
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	if u > 1<<31-1 {
		return nil // out of the vocabulary anyway; llama.cpp ignores it
	}
	id := int32(u)
	*dst = &id
	return nil
}
