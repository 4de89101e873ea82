package cpu

import "github.com/openweights/owl/gguf"

//go:generate go run gen_dot_k_amd64.go gen_kasm_amd64.go

// The assembly kernels of dot_k_amd64.s, in the order of ggml's AVX2
// ggml_vec_dot_q*_K_q8_K (gen_dot_k_amd64.go): nb super-blocks of one row
// of a K-quant w with one row of Q8_K x, or of each of rows rows of w (wrb
// bytes apart) with four rows of x (xrb bytes apart), result k of row r to
// dst[k·dstride/4 + r]. Q8_K blocks carry their scale as a float32, so no
// side floats are needed. AVX2, but for the eight-row tiles (AVX512-VNNI
// on ZMM): a VNNI variant of these measured no faster.

//go:noescape
func dotQ4_KAVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ4_KAVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, dst *float32, dstride int)

//go:noescape
func dotQ4_KVNNIx8z(nb int, w *byte, wrb, rows int, xi *byte, side, dst *float32, dstride int)

//go:noescape
func dotQ5_KVNNIx8z(nb int, w *byte, wrb, rows int, xi *byte, side, dst *float32, dstride int)

//go:noescape
func dotQ6_KVNNIx8z(nb int, w *byte, wrb, rows int, xi *byte, side, dst *float32, dstride int)

//go:noescape
func dotQ5_KAVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ5_KAVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, dst *float32, dstride int)

//go:noescape
func dotQ6_KAVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ6_KAVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, dst *float32, dstride int)

func init() {
	if !hasAVX2 {
		return
	}
	for t, k := range map[gguf.Type]laneKernel{
		gguf.TypeQ4_K: asmKernel(qkK, sizeQ4_K, sizeQ8_K, dotQ4_KAVX2, nil, noSide(dotQ4_KAVX2x4t), 0),
		gguf.TypeQ5_K: asmKernel(qkK, sizeQ5_K, sizeQ8_K, dotQ5_KAVX2, nil, noSide(dotQ5_KAVX2x4t), 0),
		gguf.TypeQ6_K: asmKernel(qkK, sizeQ6_K, sizeQ8_K, dotQ6_KAVX2, nil, noSide(dotQ6_KAVX2x4t), 0),
	} {
		avx2Kernels[t] = k
		switch {
		case !hasVNNI:
		case t == gguf.TypeQ4_K:
			k.layout8 = kLayout8
			k.tile8 = asmKernel8(qkK, sizeQ4_K, kLayout8, dotQ4_KVNNIx8z)
		case t == gguf.TypeQ5_K:
			k.layout8 = kLayout8
			k.tile8 = asmKernel8(qkK, sizeQ5_K, kLayout8, dotQ5_KVNNIx8z)
		case t == gguf.TypeQ6_K:
			k.layout8 = kx80Layout8
			k.tile8 = asmKernel8(qkK, sizeQ6_K, kx80Layout8, dotQ6_KVNNIx8z)
		}
		registerLanes(t, k)
	}
}
