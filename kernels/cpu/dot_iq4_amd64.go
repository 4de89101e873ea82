package cpu

import "github.com/openweights/owl/gguf"

//go:generate go run gen_dot_iq4_amd64.go gen_kasm_amd64.go

// The assembly kernels of dot_iq4_amd64.s, in the order of ggml's AVX2
// ggml_vec_dot_iq4_nl_q8_0 and ggml_vec_dot_iq4_xs_q8_K
// (gen_dot_iq4_amd64.go): nb blocks of one row of w with one row of x, or
// of each of rows rows of w (wrb bytes apart) with four rows of x (xrb
// bytes apart), result k of row r to dst[k·dstride/4 + r]. The kernels
// convert x's block scales themselves, so no side floats are needed.

//go:noescape
func dotIQ4_NLAVX2(nb int, w, x *byte) float32

//go:noescape
func dotIQ4_NLAVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, dst *float32, dstride int)

//go:noescape
func dotIQ4_XSAVX2(nb int, w, x *byte) float32

//go:noescape
func dotIQ4_XSAVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, dst *float32, dstride int)

func init() {
	if !hasAVX2 {
		return
	}
	for t, k := range map[gguf.Type]laneKernel{
		gguf.TypeIQ4_NL: asmKernel(qk, sizeQ4_0, sizeQ8_0, dotIQ4_NLAVX2, nil, noSide(dotIQ4_NLAVX2x4t), 0), // IQ4_NL blocks are Q4_0's size
		gguf.TypeIQ4_XS: asmKernel(qkK, sizeIQ4_XS, sizeQ8_K, dotIQ4_XSAVX2, nil, noSide(dotIQ4_XSAVX2x4t), 0),
	} {
		registerLanes(t, k)
		avx2Kernels[t] = k
	}
}
