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
	registerK(
		kKernels{gguf.TypeQ4_K, sizeQ4_K, dotQ4_KAVX2, dotQ4_KAVX2x4t, dotQ4_KVNNIx8z, kLayout8},
		kKernels{gguf.TypeQ5_K, sizeQ5_K, dotQ5_KAVX2, dotQ5_KAVX2x4t, dotQ5_KVNNIx8z, kLayout8},
		kKernels{gguf.TypeQ6_K, sizeQ6_K, dotQ6_KAVX2, dotQ6_KAVX2x4t, dotQ6_KVNNIx8z, kx80Layout8},
	)
}

// kKernels are a K type's assembly kernels (super-blocks of size bytes,
// Q8_K activations, no side floats) and its eight-row tile's layout.
type kKernels struct {
	t     gguf.Type
	size  int
	dot   asmDot
	four  asmTileK
	eight asmTile8
	lay   tile8Layout
}

// registerK registers each type's AVX2 kernels, with the eight-row tile
// where the CPU runs it.
func registerK(ks ...kKernels) {
	for _, e := range ks {
		k := asmKernel(qkK, e.size, sizeQ8_K, e.dot, nil, noSide(e.four), 0)
		avx2Kernels[e.t] = k
		registerLanes(e.t, withTile8(k, qkK, e.size, e.lay, e.eight))
	}
}
