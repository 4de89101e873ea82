// Package cpu is owl's CPU backend: kernels.Backend in Go, with amd64
// assembly for the hot loops (AVX2, and AVX512-VNNI where present: the
// quantized dot products, expf and SiLU) and plain Go everywhere else, run
// on a persistent pool of worker goroutines.
//
// Its numerics follow ggml's CPU backend as llama.cpp builds it for x86
// with AVX2 (GCC, which contracts a*b+c into FMAs), so that a model run
// here reproduces llama.cpp's logits: to about 1e-6 on the shared test
// models, and to the goldens' printed precision on SmolLM2:
//
//   - MatMul converts activations to each weight type's dot type first
//     (Q8_0, Q8_1 or Q8_K for quantized weights, F16 or BF16 for half
//     weights; see Traits), then sums exact integer block products scaled
//     by d_w·d_x in float32, as ggml's vec_dot kernels do; on amd64 every
//     common type sums in ggml's AVX2 lane order (lanes.go).
//   - RMSNorm sums squares in float64 and scales in float32; the weight is
//     a separate multiply, as llama.cpp's graph has it.
//   - Rope builds ggml's float32 angle cache (theta multiplied by
//     theta_scale pair after pair) with YaRN's ramp, glibc's cosf and sinf
//     (sincosf.go), and rotates with ggml's two fused multiply-adds.
//   - SiLU and softmax use ggml's vector expf; GELU goes through ggml's
//     binary16 table.
//   - Attention follows llama.cpp's graph without flash attention: q and
//     the probabilities are rounded to binary16 before the products with an
//     F16 cache, which sum as tinyBLAS does (attention.go), and the softmax
//     sum as ggml's AVX2 soft_max.
//
// Every output element is computed by one goroutine from the same inputs in
// the same order whatever the thread count, so results do not depend on it.
package cpu
