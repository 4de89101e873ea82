package cpu

import "github.com/openweights/owl/gguf"

//go:generate go run gen_dot_k23_amd64.go gen_kasm_amd64.go

// The assembly kernels of dot_k23_amd64.s, in the order of ggml's AVX2
// ggml_vec_dot_q2_K_q8_K and ggml_vec_dot_q3_K_q8_K (gen_dot_k23_amd64.go),
// with the arguments of dot_k_amd64.s's kernels and wrapped the same way
// (asmKernel), and eight-row tiles on AVX512-VNNI.

//go:noescape
func dotQ2_KAVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ2_KAVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, dst *float32, dstride int)

//go:noescape
func dotQ3_KAVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ3_KAVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, dst *float32, dstride int)

//go:noescape
func dotQ2_KVNNIx8z(nb int, w *byte, wrb, rows int, xi *byte, side, dst *float32, dstride int)

//go:noescape
func dotQ3_KVNNIx8z(nb int, w *byte, wrb, rows int, xi *byte, side, dst *float32, dstride int)

func init() {
	if !hasAVX2 {
		return
	}
	registerK(
		kKernels{gguf.TypeQ2_K, sizeQ2_K, dotQ2_KAVX2, dotQ2_KAVX2x4t, dotQ2_KVNNIx8z, kBsumLayout8},
		kKernels{gguf.TypeQ3_K, sizeQ3_K, dotQ3_KAVX2, dotQ3_KAVX2x4t, dotQ3_KVNNIx8z, kx80Layout8},
	)
}
