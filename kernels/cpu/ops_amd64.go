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

//go:noescape
func qkF16AVX2(n, hd int, sc *float32, k *uint16, kstride int, q *float32)

//go:noescape
func pvF16AVX2(n, hd int, slots, p *float32, v *uint16, vstride, slot0 int)

// qkF16 sets sc[j] to the dot of key j (k[j·kstride:][:len(q)]) with q
// in tinyBLAS's order (dot8F16).
func qkF16(sc []float32, k []uint16, kstride int, q []float32) {
	hd := len(q)
	if n := len(sc); hasAVX2 && n > 0 && hd > 0 && hd%8 == 0 {
		_ = k[(n-1)*kstride+hd-1]
		qkF16AVX2(n, hd, &sc[0], &k[0], 2*kstride, &q[0])
		return
	}
	for j := range sc {
		sc[j] = dot8F16(k[j*kstride:][:hd], q)
	}
}

// pvF16 accumulates P·V into slots (8 rows of hd = len(slots)/8 floats)
// in tinyBLAS's lanes: value row j (v[j·vstride:][:hd]) times p[j] is
// FMA'd into slot (pos0+j) mod 8, pos0 being row 0's position.
func pvF16(slots, p []float32, v []uint16, vstride, pos0 int) {
	hd := len(slots) / 8
	if n := len(p); hasAVX2 && n > 0 && hd > 0 && hd%8 == 0 {
		_ = v[(n-1)*vstride+hd-1]
		pvF16AVX2(n, hd, &slots[0], &p[0], &v[0], 2*vstride, pos0%8)
		return
	}
	pvF16Ref(slots, p, v, vstride, pos0)
}

//go:noescape
func pvSumF16AVX512(n, hd int, acc, p *float32, v *uint16, vstride, slot0 int)

// pvSumF16 sets acc (hd floats) to P·V in tinyBLAS's lanes, pvF16 into
// cleared slots then hsum8Rows, in one pass where the CPU has AVX-512 and
// hd is a multiple of 32; slots is the scratch (8·hd floats) otherwise.
func pvSumF16(acc, slots, p []float32, v []uint16, vstride, pos0 int) {
	hd := len(acc)
	if n := len(p); hasVNNI && n > 0 && hd > 0 && hd%32 == 0 {
		_ = v[(n-1)*vstride+hd-1]
		pvSumF16AVX512(n, hd, &acc[0], &p[0], &v[0], 2*vstride, pos0%8)
		return
	}
	clear(slots)
	pvF16(slots, p, v, vstride, pos0)
	hsum8Rows(acc, slots)
}

//go:noescape
func hsum8RowsAVX2(hd int, acc, slots *float32)

// hsum8Rows sets acc[d] to the tinyBLAS lane sum of the eight slots' d.
func hsum8Rows(acc, slots []float32) {
	hd := len(acc)
	if hasAVX2 && hd > 0 && hd%8 == 0 {
		_ = slots[8*hd-1]
		hsum8RowsAVX2(hd, &acc[0], &slots[0])
		return
	}
	hsum8RowsRef(acc, slots)
}

//go:noescape
func ropeNeoxAVX2(n int, x0, x1, c, s *float32)

//go:noescape
func ropePairsAVX2(n int, x, c, s *float32)

// ropeRotate is ropeRotateRef, eight lanes at a time where it can.
func ropeRotate(row, cs, sn []float32, neox bool) {
	half := len(row) / 2
	pairs := 0 // rotated by the assembly
	switch {
	case !hasAVX2:
	case neox && half >= 8:
		pairs = half &^ 7
		_, _, _ = row[half+pairs-1], cs[pairs-1], sn[pairs-1]
		ropeNeoxAVX2(pairs, &row[0], &row[half], &cs[0], &sn[0])
	case !neox && half >= 4:
		pairs = half &^ 3
		_, _, _ = row[2*pairs-1], cs[2*pairs-1], sn[2*pairs-1]
		ropePairsAVX2(2*pairs, &row[0], &cs[0], &sn[0])
	}
	ropeRotateRef(row, cs, sn, neox, pairs)
}
