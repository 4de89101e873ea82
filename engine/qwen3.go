package engine

import (
	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// Qwen 3 runs the Llama graph (llama.go) with NeoX rope and, in place of
// Qwen 2's biases, an RMSNorm over each head of the queries and keys
// (attn_q_norm, attn_k_norm, one weight of head size shared by the heads)
// between the projection and rope. Its head size (attention.key_length,
// 128) need not be embedding/heads.
func loadQwen3(f *gguf.File, be kernels.Backend) (Model, error) {
	return newLlama(f, be, llamaVariant{neox: true, headNorms: true})
}
