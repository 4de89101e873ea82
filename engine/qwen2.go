package engine

import (
	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// Qwen 2 and 2.5 run the Llama graph (llama.go) with NeoX rope (pairs
// (i, i+d/2) rotate) and biases on the Q, K and V projections, which
// attention adds after each product; some files add an output.bias to the
// logits. Small models tie the output to the embedding.
func loadQwen2(f *gguf.File, be kernels.Backend) (Model, error) {
	return newLlama(f, be, llamaVariant{neox: true})
}
