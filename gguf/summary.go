package gguf

import (
	"fmt"
	"math"
	"sort"
)

// Summary is what `owl show` reports about a file: the facts a user checks
// before running a model, read from the metadata and tensor infos.
type Summary struct {
	Version      uint32           `json:"version"`
	Architecture string           `json:"architecture"`
	Name         string           `json:"name,omitempty"`
	Parameters   int64            `json:"parameters"`
	FileType     string           `json:"file_type,omitempty"`
	FileSize     int64            `json:"file_size"`
	Tensors      int              `json:"tensor_count"`
	MetadataKeys int              `json:"metadata_count"`
	DataOffset   int64            `json:"data_offset"`
	Alignment    uint64           `json:"alignment"`
	TensorTypes  []TypeUsage      `json:"tensor_types"`
	Hyper        []Hyperparameter `json:"hyperparameters"`
	Tokenizer    TokenizerSummary `json:"tokenizer"`
}

// TypeUsage counts the tensors of one type and their bytes.
type TypeUsage struct {
	Type       string `json:"type"`
	Count      int    `json:"count"`
	Bytes      int64  `json:"bytes"`
	Parameters int64  `json:"parameters"`
}

// Hyperparameter is one architecture setting, named as a user knows it.
// Value is a number, a string, a bool, or an array (per-layer values).
type Hyperparameter struct {
	Name  string `json:"name"`
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// TokenizerSummary describes the vocabulary.
type TokenizerSummary struct {
	Model           string `json:"model,omitempty"`
	Pre             string `json:"pre,omitempty"`
	VocabSize       int    `json:"vocab_size"`
	BOS             *int64 `json:"bos_token_id,omitempty"`
	EOS             *int64 `json:"eos_token_id,omitempty"`
	HasChatTemplate bool   `json:"has_chat_template"`
}

// hyperKeys lists the architecture-prefixed settings a summary shows, in
// display order.
var hyperKeys = []struct{ name, suffix string }{
	{"context length", "context_length"},
	{"embedding size", "embedding_length"},
	{"layers", "block_count"},
	{"feed-forward size", "feed_forward_length"},
	{"heads", "attention.head_count"},
	{"kv heads", "attention.head_count_kv"},
	{"key length", "attention.key_length"},
	{"value length", "attention.value_length"},
	{"sliding window", "attention.sliding_window"},
	{"rms norm epsilon", "attention.layer_norm_rms_epsilon"},
	{"norm epsilon", "attention.layer_norm_epsilon"},
	{"rope dimensions", "rope.dimension_count"},
	{"rope freq base", "rope.freq_base"},
	{"rope scaling", "rope.scaling.type"},
	{"rope scaling factor", "rope.scaling.factor"},
	{"rope original context", "rope.scaling.original_context_length"},
	{"experts", "expert_count"},
	{"experts used", "expert_used_count"},
	{"vocab size", "vocab_size"},
}

// Summarize gathers the summary of f; fileSize is the file's length in
// bytes (0 when unknown).
func (f *File) Summarize(fileSize int64) Summary {
	s := Summary{
		Version:      f.Version,
		Architecture: f.Arch(),
		FileSize:     fileSize,
		Tensors:      len(f.Tensors),
		MetadataKeys: len(f.KV),
		DataOffset:   f.DataOffset,
		Alignment:    f.Alignment,
	}
	s.Name, _ = f.String("general.name")
	if ft, err := f.Uint32("general.file_type"); err == nil {
		s.FileType = FileType(ft).String()
	}
	byType := map[Type]*TypeUsage{}
	for _, t := range f.Tensors {
		s.Parameters += t.Elements()
		u := byType[t.Type]
		if u == nil {
			u = &TypeUsage{Type: t.Type.String()}
			byType[t.Type] = u
		}
		u.Count++
		u.Bytes += t.Size()
		u.Parameters += t.Elements()
	}
	s.TensorTypes = make([]TypeUsage, 0, len(byType))
	for _, u := range byType {
		s.TensorTypes = append(s.TensorTypes, *u)
	}
	sort.Slice(s.TensorTypes, func(i, j int) bool {
		a, b := s.TensorTypes[i], s.TensorTypes[j]
		if a.Bytes != b.Bytes {
			return a.Bytes > b.Bytes
		}
		return a.Type < b.Type
	})
	s.Hyper = []Hyperparameter{}
	for _, h := range hyperKeys {
		key := f.ArchKey(h.suffix)
		if v, ok := f.Lookup(key); ok {
			s.Hyper = append(s.Hyper, Hyperparameter{Name: h.name, Key: key, Value: jsonSafe(v.Data)})
		}
	}
	tok := &s.Tokenizer
	tok.Model, _ = f.String("tokenizer.ggml.model")
	tok.Pre, _ = f.String("tokenizer.ggml.pre")
	if v, ok := f.Lookup("tokenizer.ggml.tokens"); ok {
		tok.VocabSize = v.Len()
	}
	if id, err := f.Int64("tokenizer.ggml.bos_token_id"); err == nil {
		tok.BOS = &id
	}
	if id, err := f.Int64("tokenizer.ggml.eos_token_id"); err == nil {
		tok.EOS = &id
	}
	_, tok.HasChatTemplate = f.Lookup("tokenizer.chat_template")
	return s
}

// jsonSafe replaces non-finite floats, which JSON cannot carry, with their
// names, so a summary of any file can be printed.
func jsonSafe(x any) any {
	switch v := x.(type) {
	case float32:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Sprint(v)
		}
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Sprint(v)
		}
	case []float32:
		for _, e := range v {
			if math.IsNaN(float64(e)) || math.IsInf(float64(e), 0) {
				return fmt.Sprint(v)
			}
		}
	case []float64:
		for _, e := range v {
			if math.IsNaN(e) || math.IsInf(e, 0) {
				return fmt.Sprint(v)
			}
		}
	}
	return x
}
