package engine

import (
	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// Phi-3 (and Phi-3.5, Phi-4) runs the Llama graph (llama.go) with NeoX
// rope over fused weights: attn_qkv holds Q, K and V's rows in that order
// and ffn_up the gate's rows then the up projection's (2·FF rows), both
// split without copying. Queries are scaled by 1/sqrt(head size) before
// attention rather than the scores. Rope may turn only the first
// rope.dimension_count elements of each head.
//
// The 128k-context models (LongRoPE) carry rope_factors_short and
// rope_factors_long, dividing each pair's frequency, and
// rope.scaling.attn_factor, scaling the rotation: as llama.cpp, the short
// factors apply when the session's context fits within
// rope.scaling.original_context_length, the long ones beyond it.
//
// attention.sliding_window is ignored, as llama.cpp ignores it for Phi-3
// (its converters do not record which layers slide).
func loadPhi3(f *gguf.File, be kernels.Backend) (Model, error) {
	return newLlama(f, be, llamaVariant{neox: true, fusedUp: true, scaleQ: true, longRope: true, partialRope: true})
}
