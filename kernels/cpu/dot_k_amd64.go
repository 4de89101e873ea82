package cpu

import "github.com/openweights/owl/gguf"

//go:generate go run gen_dot_k_amd64.go

// The assembly kernels of dot_k_amd64.s, in the order of ggml's AVX2
// ggml_vec_dot_q*_K_q8_K (gen_dot_k_amd64.go): nb super-blocks of one row
// of a K-quant w with one row of Q8_K x, or of each of rows rows of w (wrb
// bytes apart) with four rows of x (xrb bytes apart), result k of row r to
// dst[k·dstride/4 + r]. Q8_K blocks carry their scale as a float32, so no
// side floats are needed. AVX2 only: a VNNI variant measured no faster.

//go:noescape
func dotQ4_KAVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ4_KAVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, dst *float32, dstride int)

//go:noescape
func dotQ5_KAVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ5_KAVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, dst *float32, dstride int)

//go:noescape
func dotQ6_KAVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ6_KAVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, dst *float32, dstride int)

// superBlockKernel wraps an assembly pair as a laneKernel, checking the
// slice bounds the assembly cannot.
func superBlockKernel(wsize int, one func(nb int, w, x *byte) float32, four func(nb int, w *byte, wrb, rows int, x *byte, xrb int, dst *float32, dstride int)) laneKernel {
	return laneKernel{
		dot: func(n int, w, x []byte) float32 {
			nb := n / qkK
			if nb == 0 {
				return 0
			}
			_, _ = w[nb*wsize-1], x[nb*sizeQ8_K-1]
			return one(nb, &w[0], &x[0])
		},
		dot4: func(n int, w, x []byte, xrb int, _ []float32, out *[4]float32) {
			nb := n / qkK
			if nb == 0 {
				*out = [4]float32{}
				return
			}
			if xrb < nb*sizeQ8_K {
				panic("cpu: dot4: x rows overlap")
			}
			_, _ = w[nb*wsize-1], x[3*xrb+nb*sizeQ8_K-1]
			four(nb, &w[0], 0, 1, &x[0], xrb, &out[0], 4)
		},
		tile4: func(n int, w []byte, wrb, rows int, x []byte, xrb int, _, dst []float32, dstride int) {
			nb := n / qkK
			if rows <= 0 {
				return
			}
			if nb == 0 || xrb < nb*sizeQ8_K || wrb < nb*wsize || dstride < rows {
				panic("cpu: tile4: empty or overlapping rows")
			}
			_, _ = w[(rows-1)*wrb+nb*wsize-1], x[3*xrb+nb*sizeQ8_K-1]
			_ = dst[3*dstride+rows-1]
			four(nb, &w[0], wrb, rows, &x[0], xrb, &dst[0], 4*dstride)
		},
	}
}

func init() {
	if !hasAVX2 {
		return
	}
	for t, k := range map[gguf.Type]laneKernel{
		gguf.TypeQ4_K: superBlockKernel(sizeQ4_K, dotQ4_KAVX2, dotQ4_KAVX2x4t),
		gguf.TypeQ5_K: superBlockKernel(sizeQ5_K, dotQ5_KAVX2, dotQ5_KAVX2x4t),
		gguf.TypeQ6_K: superBlockKernel(sizeQ6_K, dotQ6_KAVX2, dotQ6_KAVX2x4t),
	} {
		registerLanes(t, k)
		avx2Kernels[t] = k
	}
}
