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

func qkF16(sc []float32, k []uint16, kstride int, q []float32) {
	for j := range sc {
		sc[j] = dot8F16(k[j*kstride:][:len(q)], q)
	}
}

func pvF16(slots, p []float32, v []uint16, vstride, pos0 int) {
	pvF16Ref(slots, p, v, vstride, pos0)
}

func ropeRotate(row, cs, sn []float32, neox bool) { ropeRotateRef(row, cs, sn, neox, 0) }

func hsum8Rows(acc, slots []float32) { hsum8RowsRef(acc, slots) }

func pvSumF16(acc, slots, p []float32, v []uint16, vstride, pos0 int) {
	clear(slots)
	pvF16Ref(slots, p, v, vstride, pos0)
	hsum8RowsRef(acc, slots)
}
