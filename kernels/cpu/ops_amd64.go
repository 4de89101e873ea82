package cpu

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
