package cpu

import "math"

// fma32 is a float32 fused multiply-add. The exact product of two float32
// values fits a float64, so one float64 FMA rounds it and the sum once; the
// second rounding, to float32, differs from a single rounding only when the
// first lands exactly on a float32 tie.
func fma32(a, b, c float32) float32 {
	return float32(math.FMA(float64(a), float64(b), float64(c)))
}

// expf is ggml's vectorized exponential (ggml_v_expf, from Arm's optimized
// routines; max error 1.5 ulp), which ggml's AVX2 and NEON builds use for
// SiLU and softmax. Reproducing it, rather than a correctly rounded exp,
// keeps owl's activations bit-identical to llama.cpp's in most elements.
func expf(x float32) float32 {
	const r = 0x1.8p23
	z := fma32(x, 0x1.715476p+0, r)
	n := z - r
	b := fma32(-n, 0x1.7f7d1cp-20, fma32(-n, 0x1.62e4p-1, x))
	e := math.Float32bits(z) << 23
	k := math.Float32frombits(e + math.Float32bits(1))
	u := b * b
	j := fma32(fma32(fma32(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, fma32(0x1.555e66p-3, b, 0x1.fffdb6p-2)), u, 0x1.ffffecp-1*b)
	an := float32(math.Abs(float64(n)))
	if !(an > 126) {
		return fma32(j, k, k)
	}
	var g uint32
	if n <= 0 {
		g = 0x82000000
	}
	s1 := math.Float32frombits(g + 0x7f000000)
	if an > 192 {
		return s1 * s1
	}
	s2 := math.Float32frombits(e - g)
	return fma32(s2, j, s2) * s1
}
