package cpu

import "github.com/openweights/owl/gguf"

//go:noescape
func siluMulAVX2(n int, dst, x, up *float32)

//go:noescape
func expSubAVX2(n int, dst, x *float32, m float32)

// siluMulVec sets y[j] = silu(a[j])·b[j], eight lanes at a time where the
// CPU can, the same values as the scalar loop.
func siluMulVec(y, a, b []float32) {
	n := len(a)
	_, _ = y[:n], b[:n]
	i := 0
	if hasAVX2 && n >= 8 {
		i = n &^ 7
		siluMulAVX2(i, &y[0], &a[0], &b[0])
	}
	for ; i < n; i++ {
		y[i] = silu(a[i]) * b[i]
	}
}

// expSubVec sets y[j] = expf(x[j] - m).
func expSubVec(y, x []float32, m float32) {
	n := len(x)
	_ = y[:n]
	i := 0
	if hasAVX2 && n >= 8 {
		i = n &^ 7
		expSubAVX2(i, &y[0], &x[0], m)
	}
	for ; i < n; i++ {
		y[i] = expf(x[i] - m)
	}
}

//go:noescape
func dotF16F32AVX2(n int, a *uint16, x *float32) float32

//go:noescape
func axpyF16AVX2(n int, acc *float32, p float32, v *uint16)

// dotF16Vec is dotU16F32, in assembly where the CPU and length allow.
func dotF16Vec(a []uint16, x []float32) float32 {
	if hasAVX2 && len(x) >= 8 && len(x)%8 == 0 {
		_ = a[len(x)-1]
		return dotF16F32AVX2(len(x), &a[0], &x[0])
	}
	return dotU16F32(a, x)
}

// axpyF16Vec sets acc[j] += p·v[j] (product rounded, then the sum).
func axpyF16Vec(acc []float32, p float32, v []uint16) {
	n := len(acc)
	_ = v[:n]
	i := 0
	if hasAVX2 && n >= 8 {
		i = n &^ 7
		axpyF16AVX2(i, &acc[0], p, &v[0])
	}
	tab := f16Table
	for ; i < n; i++ {
		acc[i] += p * tab[v[i]]
	}
}

//go:noescape
func roundF16AVX2(n int, dst, src *float32)

//go:noescape
func toF16AVX2(n int, dst *uint16, src *float32)

// roundF16Vec sets dst[j] to src[j] rounded to binary16 and widened back,
// as gguf.Float32ToHalf and f16Table do, eight at a time where it can.
func roundF16Vec(dst, src []float32) {
	n := len(src)
	_ = dst[:n]
	i := 0
	if hasAVX2 && n >= 8 {
		i = n &^ 7
		roundF16AVX2(i, &dst[0], &src[0])
	}
	for ; i < n; i++ {
		dst[i] = f16Table[gguf.Float32ToHalf(src[i])]
	}
}

// toF16Vec sets dst[j] to gguf.Float32ToHalf(src[j]).
func toF16Vec(dst []uint16, src []float32) {
	n := len(src)
	_ = dst[:n]
	i := 0
	if hasAVX2 && n >= 8 {
		i = n &^ 7
		toF16AVX2(i, &dst[0], &src[0])
	}
	for ; i < n; i++ {
		dst[i] = gguf.Float32ToHalf(src[i])
	}
}
