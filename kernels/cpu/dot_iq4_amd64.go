package cpu

import "github.com/openweights/owl/gguf"

//go:generate go run gen_dot_iq4_amd64.go

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

// iq4NLKernel wraps IQ4_NL's assembly as a laneKernel, checking the slice
// bounds the assembly cannot. (superBlockKernel is the same for blocks of
// 256 values against Q8_K.)
func iq4NLKernel() laneKernel {
	const wsize, xsize = sizeQ4_0, sizeQ8_0 // IQ4_NL blocks are Q4_0's size
	return laneKernel{
		dot: func(n int, w, x []byte) float32 {
			nb := n / qk
			if nb == 0 {
				return 0
			}
			_, _ = w[nb*wsize-1], x[nb*xsize-1]
			return dotIQ4_NLAVX2(nb, &w[0], &x[0])
		},
		dot4: func(n int, w, x []byte, xrb int, _ []float32, out *[4]float32) {
			nb := n / qk
			if nb == 0 {
				*out = [4]float32{}
				return
			}
			if xrb < nb*xsize {
				panic("cpu: dot4: x rows overlap")
			}
			_, _ = w[nb*wsize-1], x[3*xrb+nb*xsize-1]
			dotIQ4_NLAVX2x4t(nb, &w[0], 0, 1, &x[0], xrb, &out[0], 4)
		},
		tile4: func(n int, w []byte, wrb, rows int, x []byte, xrb int, _, dst []float32, dstride int) {
			nb := n / qk
			if rows <= 0 {
				return
			}
			if nb == 0 || xrb < nb*xsize || wrb < nb*wsize || dstride < rows {
				panic("cpu: tile4: empty or overlapping rows")
			}
			_, _ = w[(rows-1)*wrb+nb*wsize-1], x[3*xrb+nb*xsize-1]
			_ = dst[3*dstride+rows-1]
			dotIQ4_NLAVX2x4t(nb, &w[0], wrb, rows, &x[0], xrb, &dst[0], 4*dstride)
		},
	}
}

func init() {
	if !hasAVX2 {
		return
	}
	for t, k := range map[gguf.Type]laneKernel{
		gguf.TypeIQ4_NL: iq4NLKernel(),
		gguf.TypeIQ4_XS: superBlockKernel(sizeIQ4_XS, dotIQ4_XSAVX2, dotIQ4_XSAVX2x4t),
	} {
		registerLanes(t, k)
		avx2Kernels[t] = k
	}
}
