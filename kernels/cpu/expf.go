package cpu

import "math"

// fma32 is a float32 fused multiply-add, rounded once. The product of two
// float32 values is exact in a float64; the float64 sum is rounded, and
// rounding that again to float32 could differ from one rounding only when
// the float64 sum lies exactly halfway between two float32 values. Then
// the sum's exact error term (TwoSum) says which way the true value lies.
func fma32(a, b, c float32) float32 {
	p := float64(float64(a) * float64(b))
	s := p + float64(c)
	r := float32(s)
	// A float64 in float32's normal range lies halfway between two float32
	// values only when its 29 extra mantissa bits are exactly 1000…0.
	if bits := math.Float64bits(s); bits&(1<<29-1) != 1<<28 && bits>>52&0x7FF > 1023-126 {
		return r
	}
	if float64(r) == s || math.IsInf(s, 0) || math.IsNaN(s) {
		return r
	}
	bb := s - p
	e := (p - (s - bb)) + (float64(c) - bb)
	if e == 0 {
		return r
	}
	lo, hi := r, r
	if float64(r) < s {
		hi = math.Nextafter32(r, float32(math.Inf(1)))
	} else {
		lo = math.Nextafter32(r, float32(math.Inf(-1)))
	}
	if (float64(lo)+float64(hi))/2 != s {
		return r
	}
	if e > 0 {
		return hi
	}
	return lo
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
