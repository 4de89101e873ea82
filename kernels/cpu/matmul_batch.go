package cpu

import "github.com/openweights/owl/gguf"

// Batched dot kernels for MatMul with several activation rows (prompt
// processing and continuous batching). A row of w is unpacked once into
// int8 values and float scales, then dotted against four rows of x at a
// time, so each weight value is decoded once per tile rather than once per
// activation row and each load of it feeds four products.
//
// Every output is bit-identical to the type's VecDot: the integer sum of a
// block is exact whatever the order, and the float accumulation over the
// blocks repeats VecDot's expressions in VecDot's block order.

// unpacked is one row of w decoded for batchKernel.dot4.
type unpacked struct {
	q  []int8    // the row's values (offset types: the unsigned quants)
	d  []float32 // per block: the scale
	m  []float32 // per block: the minimum (Q4_1, Q5_1) or dmin (Q4_K)
	sc []int32   // per sub-block: integer scale (K types)
	mn []int32   // per sub-block: integer minimum (Q4_K)
}

// batchScratch is one worker's scratch for batched MatMul.
type batchScratch struct {
	us  []unpacked
	xs  [6][]byte
	out [6]float32
}

func (u *unpacked) grow(cols int) {
	if len(u.q) < cols {
		u.q = make([]int8, cols)
		u.d = make([]float32, cols/qk+1)
		u.m = make([]float32, cols/qk+1)
		u.sc = make([]int32, cols/16+1)
		u.mn = make([]int32, cols/16+1)
	}
}

// batchKernel is a weight type's batched form: unpack decodes one row of
// cols values; dot3 returns the three VecDots of the unpacked row with
// x0..x2 (rows of VecDotType, packed into p by packX).
type batchKernel struct {
	unpack func(u *unpacked, w []byte, cols int)
	dot3   func(u *unpacked, cols int, p []uint64, x0, x1, x2 []byte) [3]float32
	// dot6 is dot3 for the six rows of two packed groups p and p2.
	dot6 func(u *unpacked, cols int, p, p2 []uint64, xs *[6][]byte, out *[6]float32)
	// blockBytes, valOff and blockVals place VecDotType's int8 values.
	blockBytes, valOff, blockVals int
}

var batchKernels = map[gguf.Type]*batchKernel{
	gguf.TypeQ8_0:   {unpackQ8_0, dot3Q8_0, dot6Q8_0, sizeQ8_0, 2, qk},
	gguf.TypeQ4_0:   {unpackQ4_0, dot3Q8_0, dot6Q8_0, sizeQ8_0, 2, qk},
	gguf.TypeQ5_0:   {unpackQ5_0, dot3Q8_0, dot6Q8_0, sizeQ8_0, 2, qk},
	gguf.TypeIQ4_NL: {unpackIQ4_NL, dot3Q8_0, dot6Q8_0, sizeQ8_0, 2, qk},
	gguf.TypeQ4_1:   {unpackQ4_1, dot3Q8_1, dot6Q8_1, sizeQ8_1, 4, qk},
	gguf.TypeQ5_1:   {unpackQ5_1, dot3Q8_1, dot6Q8_1, sizeQ8_1, 4, qk},
	gguf.TypeQ4_K:   {unpackQ4_K, dot3Q4_K, dot6Q4_K, sizeQ8_K, 4, qkK},
	gguf.TypeQ6_K:   {unpackQ6_K, dot3Q6_K, dot6Q6_K, sizeQ8_K, 4, qkK},
}

// Three activation rows are packed into one uint64 per column, value j of
// row k in bits 21k..21k+20 (two's complement, carries wrapping): one
// 64-bit multiply-add by a weight value then adds all three products, and
// as every block's integer sum s_k has |s_k| ≤ 32·128·128 = 2^19 (16
// values for Q6_K) the three sums are recovered exactly from the total.

// packX packs the int8 values of x rows r0..r2 into p.
func packX(p []uint64, r0, r1, r2 []byte, cols, blockBytes, valOff, blockVals int) {
	for b := 0; b < cols/blockVals; b++ {
		o := b*blockBytes + valOff
		y0, y1, y2 := r0[o:o+blockVals], r1[o:o+blockVals], r2[o:o+blockVals]
		pb := p[b*blockVals : (b+1)*blockVals]
		for j := range pb {
			pb[j] = uint64(int64(int8(y0[j]))) + uint64(int64(int8(y1[j])))<<21 + uint64(int64(int8(y2[j])))<<42
		}
	}
}

// unpack3 splits a packed sum into its three lanes.
func unpack3(s uint64) (s0, s1, s2 int32) {
	a := int64(s<<43) >> 43
	s -= uint64(a)
	b := int64(s<<22) >> 43
	s -= uint64(b) << 21
	return int32(a), int32(b), int32(int64(s) >> 42)
}

// dot32p returns the packed integer dots of 32 values q with packed rows p.
func dot32p(q *[32]int8, p *[32]uint64) (s0, s1, s2 int32) {
	var s, t uint64
	for j := 0; j < 32; j += 2 {
		s += uint64(int64(q[j])) * p[j]
		t += uint64(int64(q[j+1])) * p[j+1]
	}
	return unpack3(s + t)
}

// dot16p is dot32p over 16 values.
func dot16p(q *[16]int8, p *[16]uint64) (s0, s1, s2 int32) {
	var s, t uint64
	for j := 0; j < 16; j += 2 {
		s += uint64(int64(q[j])) * p[j]
		t += uint64(int64(q[j+1])) * p[j+1]
	}
	return unpack3(s + t)
}

func unpackQ8_0(u *unpacked, w []byte, cols int) {
	for b := 0; b < cols/qk; b++ {
		wb := (*[sizeQ8_0]byte)(w[b*sizeQ8_0:])
		u.d[b] = half(wb[:])
		q := (*[qk]int8)(u.q[b*qk:])
		for j := range q {
			q[j] = int8(wb[2+j])
		}
	}
}

// unpackNibbles writes the 32 values of a nibble block (element j low in
// byte j, element j+16 high) with bit j of qh as bit 4 and off subtracted.
func unpackNibbles(q *[qk]int8, qs *[16]byte, qh uint32, off int8) {
	for j, v := range qs {
		q[j] = int8(v&0xF|byte(qh>>j&1)<<4) - off
		q[j+16] = int8(v>>4|byte(qh>>(j+16)&1)<<4) - off
	}
}

func unpackQ4_0(u *unpacked, w []byte, cols int) {
	for b := 0; b < cols/qk; b++ {
		wb := (*[sizeQ4_0]byte)(w[b*sizeQ4_0:])
		u.d[b] = half(wb[:])
		unpackNibbles((*[qk]int8)(u.q[b*qk:]), (*[16]byte)(wb[2:]), 0, 8)
	}
}

func unpackIQ4_NL(u *unpacked, w []byte, cols int) {
	for b := 0; b < cols/qk; b++ {
		wb := (*[sizeQ4_0]byte)(w[b*sizeQ4_0:])
		u.d[b] = half(wb[:])
		q := (*[qk]int8)(u.q[b*qk:])
		for j, v := range (*[16]byte)(wb[2:]) {
			q[j] = kvaluesIQ4NL[v&0xF]
			q[j+16] = kvaluesIQ4NL[v>>4]
		}
	}
}

func unpackQ5_0(u *unpacked, w []byte, cols int) {
	for b := 0; b < cols/qk; b++ {
		wb := (*[sizeQ5_0]byte)(w[b*sizeQ5_0:])
		u.d[b] = half(wb[:])
		qh := uint32(wb[2]) | uint32(wb[3])<<8 | uint32(wb[4])<<16 | uint32(wb[5])<<24
		unpackNibbles((*[qk]int8)(u.q[b*qk:]), (*[16]byte)(wb[6:]), qh, 16)
	}
}

func unpackQ4_1(u *unpacked, w []byte, cols int) {
	for b := 0; b < cols/qk; b++ {
		wb := (*[sizeQ4_1]byte)(w[b*sizeQ4_1:])
		u.d[b], u.m[b] = half(wb[:]), half(wb[2:])
		unpackNibbles((*[qk]int8)(u.q[b*qk:]), (*[16]byte)(wb[4:]), 0, 0)
	}
}

func unpackQ5_1(u *unpacked, w []byte, cols int) {
	for b := 0; b < cols/qk; b++ {
		wb := (*[sizeQ5_1]byte)(w[b*sizeQ5_1:])
		u.d[b], u.m[b] = half(wb[:]), half(wb[2:])
		qh := uint32(wb[4]) | uint32(wb[5])<<8 | uint32(wb[6])<<16 | uint32(wb[7])<<24
		unpackNibbles((*[qk]int8)(u.q[b*qk:]), (*[16]byte)(wb[8:]), qh, 0)
	}
}

// dot4Q8_0 is the batched dotQ8_0Q8_0 (and Q4_0, Q5_0, IQ4_NL): per block
// (d_w·d_x)·isum, summed in float32.
func dot3Q8_0(u *unpacked, cols int, p []uint64, x0, x1, x2 []byte) [3]float32 {
	var s0, s1, s2 float32
	for b := 0; b < cols/qk; b++ {
		o := b * sizeQ8_0
		i0, i1, i2 := dot32p((*[qk]int8)(u.q[b*qk:]), (*[qk]uint64)(p[b*qk:]))
		d := u.d[b]
		s0 += float32((d * half(x0[o:])) * float32(i0))
		s1 += float32((d * half(x1[o:])) * float32(i1))
		s2 += float32((d * half(x2[o:])) * float32(i2))
	}
	return [3]float32{s0, s1, s2}
}

// dot4Q8_1 is the batched dotQ4_1Q8_1 and dotQ5_1Q8_1.
func dot3Q8_1(u *unpacked, cols int, p []uint64, x0, x1, x2 []byte) [3]float32 {
	var s0, s1, s2, m0, m1, m2 float32
	for b := 0; b < cols/qk; b++ {
		o := b * sizeQ8_1
		y0 := (*[4]byte)(x0[o:])
		y1 := (*[4]byte)(x1[o:])
		y2 := (*[4]byte)(x2[o:])
		i0, i1, i2 := dot32p((*[qk]int8)(u.q[b*qk:]), (*[qk]uint64)(p[b*qk:]))
		d, m := u.d[b], u.m[b]
		m0 += float32(m * half(y0[2:]))
		m1 += float32(m * half(y1[2:]))
		m2 += float32(m * half(y2[2:]))
		s0 += float32((d * half(y0[:])) * float32(i0))
		s1 += float32((d * half(y1[:])) * float32(i1))
		s2 += float32((d * half(y2[:])) * float32(i2))
	}
	return [3]float32{s0 + m0, s1 + m1, s2 + m2}
}

func unpackQ4_K(u *unpacked, w []byte, cols int) {
	for b := 0; b < cols/qkK; b++ {
		wb := (*[sizeQ4_K]byte)(w[b*sizeQ4_K:])
		u.d[b], u.m[b] = half(wb[0:]), half(wb[2:])
		sc := (*[12]byte)(wb[4:])
		for k := 0; k < 8; k++ {
			u.sc[8*b+k], u.mn[8*b+k] = gguf.ScaleMinK4(k, sc)
		}
		q := (*[qkK]int8)(u.q[b*qkK:])
		for j := 0; j < 4; j++ {
			q4 := (*[32]byte)(wb[16+32*j:])
			for k, v := range q4 {
				q[64*j+k] = int8(v & 0xF)
				q[64*j+32+k] = int8(v >> 4)
			}
		}
	}
}

// dot4Q4_K is the batched dotQ4_KQ8_K.
func dot3Q4_K(u *unpacked, cols int, p []uint64, x0, x1, x2 []byte) [3]float32 {
	var s [3]float32
	xs := [3][]byte{x0, x1, x2}
	for b := 0; b < cols/qkK; b++ {
		o := b * sizeQ8_K
		var is [3]int32
		for k := 0; k < 8; k++ {
			i0, i1, i2 := dot32p((*[32]int8)(u.q[b*qkK+32*k:]), (*[32]uint64)(p[b*qkK+32*k:]))
			sc := u.sc[8*b+k]
			is[0] += sc * i0
			is[1] += sc * i1
			is[2] += sc * i2
		}
		for r := range s {
			xb := (*q8K)(xs[r][o:])
			var summs int32
			for k := 0; k < 8; k++ {
				summs += u.mn[8*b+k] * (q8KBsum(xb, 2*k) + q8KBsum(xb, 2*k+1))
			}
			dx := q8KScale(xb)
			d := u.d[b] * dx
			dmin := u.m[b] * dx
			s[r] += float32(d*float32(is[r])) - float32(dmin*float32(summs))
		}
	}
	return s
}

func unpackQ6_K(u *unpacked, w []byte, cols int) {
	for b := 0; b < cols/qkK; b++ {
		wb := (*[sizeQ6_K]byte)(w[b*sizeQ6_K:])
		u.d[b] = half(wb[208:])
		for k := 0; k < 16; k++ {
			u.sc[16*b+k] = int32(int8(wb[192+k]))
		}
		q := (*[qkK]int8)(u.q[b*qkK:])
		for h := 0; h < 2; h++ {
			ql := (*[64]byte)(wb[64*h:])
			qh := (*[32]byte)(wb[128+32*h:])
			v := (*[128]int8)(q[128*h:])
			for k := 0; k < 32; k++ {
				hb := qh[k]
				v[k] = int8(ql[k]&0xF|(hb&3)<<4) - 32
				v[32+k] = int8(ql[32+k]&0xF|(hb>>2&3)<<4) - 32
				v[64+k] = int8(ql[k]>>4|(hb>>4&3)<<4) - 32
				v[96+k] = int8(ql[32+k]>>4|(hb>>6&3)<<4) - 32
			}
		}
	}
}

// dot4Q6_K is the batched dotQ6_KQ8_K.
func dot3Q6_K(u *unpacked, cols int, p []uint64, x0, x1, x2 []byte) [3]float32 {
	var s0, s1, s2 float32
	for b := 0; b < cols/qkK; b++ {
		o := b * sizeQ8_K
		var is0, is1, is2 int32
		for k := 0; k < 16; k++ {
			i0, i1, i2 := dot16p((*[16]int8)(u.q[b*qkK+16*k:]), (*[16]uint64)(p[b*qkK+16*k:]))
			sc := u.sc[16*b+k]
			is0 += sc * i0
			is1 += sc * i1
			is2 += sc * i2
		}
		d := u.d[b]
		s0 += float32((d * q8KScale((*q8K)(x0[o:]))) * float32(is0))
		s1 += float32((d * q8KScale((*q8K)(x1[o:]))) * float32(is1))
		s2 += float32((d * q8KScale((*q8K)(x2[o:]))) * float32(is2))
	}
	return [3]float32{s0, s1, s2}
}

// Six-row forms: two packed groups share each load of a weight value.

// dot32p2 is dot32p against two packed groups, returning the raw sums.
func dot32p2(q *[32]int8, p, p2 *[32]uint64) (s, t uint64) {
	for j := 0; j < 32; j += 4 {
		w0, w1 := uint64(int64(q[j])), uint64(int64(q[j+1]))
		w2, w3 := uint64(int64(q[j+2])), uint64(int64(q[j+3]))
		s += w0*p[j] + w1*p[j+1] + w2*p[j+2] + w3*p[j+3]
		t += w0*p2[j] + w1*p2[j+1] + w2*p2[j+2] + w3*p2[j+3]
	}
	return s, t
}

// dot16p2 is dot32p2 over 16 values.
func dot16p2(q *[16]int8, p, p2 *[16]uint64) (s, t uint64) {
	for j := 0; j < 16; j += 4 {
		w0, w1 := uint64(int64(q[j])), uint64(int64(q[j+1]))
		w2, w3 := uint64(int64(q[j+2])), uint64(int64(q[j+3]))
		s += w0*p[j] + w1*p[j+1] + w2*p[j+2] + w3*p[j+3]
		t += w0*p2[j] + w1*p2[j+1] + w2*p2[j+2] + w3*p2[j+3]
	}
	return s, t
}

// unpack6 splits two packed sums into six lanes.
func unpack6(s, t uint64) (i [6]int32) {
	i[0], i[1], i[2] = unpack3(s)
	i[3], i[4], i[5] = unpack3(t)
	return i
}

func dot6Q8_0(u *unpacked, cols int, p, p2 []uint64, xs *[6][]byte, out *[6]float32) {
	var s [6]float32
	for b := 0; b < cols/qk; b++ {
		o := b * sizeQ8_0
		is := unpack6(dot32p2((*[qk]int8)(u.q[b*qk:]), (*[qk]uint64)(p[b*qk:]), (*[qk]uint64)(p2[b*qk:])))
		d := u.d[b]
		for r := range s {
			s[r] += float32((d * half(xs[r][o:])) * float32(is[r]))
		}
	}
	*out = s
}

func dot6Q8_1(u *unpacked, cols int, p, p2 []uint64, xs *[6][]byte, out *[6]float32) {
	var s, ms [6]float32
	for b := 0; b < cols/qk; b++ {
		o := b * sizeQ8_1
		is := unpack6(dot32p2((*[qk]int8)(u.q[b*qk:]), (*[qk]uint64)(p[b*qk:]), (*[qk]uint64)(p2[b*qk:])))
		d, m := u.d[b], u.m[b]
		for r := range s {
			y := (*[4]byte)(xs[r][o:])
			ms[r] += float32(m * half(y[2:]))
			s[r] += float32((d * half(y[:])) * float32(is[r]))
		}
	}
	for r := range s {
		out[r] = s[r] + ms[r]
	}
}

func dot6Q4_K(u *unpacked, cols int, p, p2 []uint64, xs *[6][]byte, out *[6]float32) {
	var s [6]float32
	for b := 0; b < cols/qkK; b++ {
		o := b * sizeQ8_K
		var is [6]int32
		for k := 0; k < 8; k++ {
			v := unpack6(dot32p2((*[32]int8)(u.q[b*qkK+32*k:]), (*[32]uint64)(p[b*qkK+32*k:]), (*[32]uint64)(p2[b*qkK+32*k:])))
			sc := u.sc[8*b+k]
			for r := range is {
				is[r] += sc * v[r]
			}
		}
		for r := range s {
			xb := (*q8K)(xs[r][o:])
			var summs int32
			for k := 0; k < 8; k++ {
				summs += u.mn[8*b+k] * (q8KBsum(xb, 2*k) + q8KBsum(xb, 2*k+1))
			}
			dx := q8KScale(xb)
			d := u.d[b] * dx
			dmin := u.m[b] * dx
			s[r] += float32(d*float32(is[r])) - float32(dmin*float32(summs))
		}
	}
	*out = s
}

func dot6Q6_K(u *unpacked, cols int, p, p2 []uint64, xs *[6][]byte, out *[6]float32) {
	var s [6]float32
	for b := 0; b < cols/qkK; b++ {
		o := b * sizeQ8_K
		var is [6]int32
		for k := 0; k < 16; k++ {
			v := unpack6(dot16p2((*[16]int8)(u.q[b*qkK+16*k:]), (*[16]uint64)(p[b*qkK+16*k:]), (*[16]uint64)(p2[b*qkK+16*k:])))
			sc := u.sc[16*b+k]
			for r := range is {
				is[r] += sc * v[r]
			}
		}
		d := u.d[b]
		for r := range s {
			s[r] += float32((d * q8KScale((*q8K)(xs[r][o:]))) * float32(is[r]))
		}
	}
	*out = s
}

// dotF32s2 is dotF32s of a with b and with c, in dotF32s's order for each,
// sharing the loads of a.
func dotF32s2(a, b, c []float32) (float32, float32) {
	b, c = b[:len(a)], c[:len(a)]
	var s0, s1, s2, s3, t0, t1, t2, t3 float32
	for len(a) >= 8 {
		a8 := (*[8]float32)(a)
		b8 := (*[8]float32)(b)
		c8 := (*[8]float32)(c)
		s0 += float32(a8[0]*b8[0]) + float32(a8[4]*b8[4])
		t0 += float32(a8[0]*c8[0]) + float32(a8[4]*c8[4])
		s1 += float32(a8[1]*b8[1]) + float32(a8[5]*b8[5])
		t1 += float32(a8[1]*c8[1]) + float32(a8[5]*c8[5])
		s2 += float32(a8[2]*b8[2]) + float32(a8[6]*b8[6])
		t2 += float32(a8[2]*c8[2]) + float32(a8[6]*c8[6])
		s3 += float32(a8[3]*b8[3]) + float32(a8[7]*b8[7])
		t3 += float32(a8[3]*c8[3]) + float32(a8[7]*c8[7])
		a, b, c = a[8:], b[8:], c[8:]
	}
	for i, v := range a {
		s0 += float32(v * b[i])
		t0 += float32(v * c[i])
	}
	return (s0 + s1) + (s2 + s3), (t0 + t1) + (t2 + t3)
}
