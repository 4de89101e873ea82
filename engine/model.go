// Package engine turns a model file into a running model: the
// architectures (one file each, reading top to bottom), the KV cache
// bookkeeping, sampling and generation.
package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// Model is a loaded architecture.
type Model interface {
	HParams() *HParams
	// Forward runs one batch through the model, appending the batch's keys
	// and values to cache, and writes Vocab logits for each token marked in
	// b.Logits (or for the last token when b.Logits is nil), in order.
	Forward(b *kernels.Batch, cache *kernels.KVCache, logits []float32) error
	// Hidden runs b as Forward does but writes, instead of logits, the
	// final hidden state of the same tokens: Embd floats each, after the
	// output norm and before the output projection (what embeddings are
	// pooled from).
	Hidden(b *kernels.Batch, cache *kernels.KVCache, hidden []float32) error
}

// architectures maps general.architecture to its loader.
var architectures = map[string]func(f *gguf.File, be kernels.Backend) (Model, error){
	"llama":  loadLlama,
	"qwen2":  loadQwen2,
	"qwen3":  loadQwen3,
	"phi3":   loadPhi3,
	"gemma3": loadGemma3,
}

// Architectures lists the supported general.architecture values.
func Architectures() []string {
	out := make([]string, 0, len(architectures))
	for a := range architectures {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// LoadModel builds the architecture f names on backend be.
func LoadModel(f *gguf.File, be kernels.Backend) (Model, error) {
	arch := f.Arch()
	load, ok := architectures[arch]
	if !ok {
		if arch == "" {
			return nil, fmt.Errorf("engine: the file has no general.architecture")
		}
		return nil, fmt.Errorf("engine: architecture %q is not supported (supported: %s)", arch, strings.Join(Architectures(), ", "))
	}
	return load(f, be)
}

// logitRows lists the batch rows whose logits are wanted, into dst.
func logitRows(dst []int32, b *kernels.Batch) []int32 {
	dst = dst[:0]
	if b.Logits == nil {
		return append(dst, int32(len(b.Tokens)-1))
	}
	for i, want := range b.Logits {
		if want {
			dst = append(dst, int32(i))
		}
	}
	return dst
}

// OutputCount is how many rows of logits Forward writes for b.
func OutputCount(b *kernels.Batch) int {
	if b.Logits == nil {
		return 1
	}
	n := 0
	for _, want := range b.Logits {
		if want {
			n++
		}
	}
	return n
}
