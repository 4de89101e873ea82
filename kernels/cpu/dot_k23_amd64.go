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
	for t, k := range map[gguf.Type]laneKernel{
		gguf.TypeQ2_K: asmKernel(qkK, sizeQ2_K, sizeQ8_K, dotQ2_KAVX2, nil, noSide(dotQ2_KAVX2x4t), 0),
		gguf.TypeQ3_K: asmKernel(qkK, sizeQ3_K, sizeQ8_K, dotQ3_KAVX2, nil, noSide(dotQ3_KAVX2x4t), 0),
	} {
		avx2Kernels[t] = k
		switch {
		case !hasVNNI:
		case t == gguf.TypeQ2_K:
			k.layout8 = kBsumLayout8
			k.tile8 = asmKernel8(qkK, sizeQ2_K, kBsumLayout8, dotQ2_KVNNIx8z)
		case t == gguf.TypeQ3_K:
			k.layout8 = kx80Layout8
			k.tile8 = asmKernel8(qkK, sizeQ3_K, kx80Layout8, dotQ3_KVNNIx8z)
		}
		registerLanes(t, k)
	}
}
