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
