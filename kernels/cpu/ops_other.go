//go:build !amd64

package cpu

import "github.com/openweights/owl/gguf"

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

func dotF16Vec(a []uint16, x []float32) float32 { return dotU16F32(a, x) }

func axpyF16Vec(acc []float32, p float32, v []uint16) {
	tab := f16Table
	for j := range acc {
		acc[j] += p * tab[v[j]]
	}
}

// hasAVX2 is amd64's CPU check; other architectures have no assembly.
const hasAVX2 = false

func roundF16Vec(dst, src []float32) {
	for j, v := range src {
		dst[j] = f16Table[gguf.Float32ToHalf(v)]
	}
}

func toF16Vec(dst []uint16, src []float32) {
	for j, v := range src {
		dst[j] = gguf.Float32ToHalf(v)
	}
}
