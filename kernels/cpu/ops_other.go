//go:build !amd64

package cpu

func siluMulVec(y, a, b []float32) {
	for j, v := range a {
		y[j] = silu(v) * b[j]
	}
}

func expSubVec(y, x []float32, m float32) {
	for j, v := range x {
		y[j] = expf(v - m)
	}
}
