package gguf

import (
	"encoding/binary"
	"math"
)

// The K-quants: 256-element super-blocks split into sub-blocks of 16 or 32
// elements with their own small integer scales (ggml-common.h, block_q*_K).
//
// The quantizers are ggml's reference ones (quantize_row_q*_K_ref, no
// importance matrix). They search for scales with float32 arithmetic whose
// exact order decides ties, so the helpers below keep ggml's operation
// order, round with nearestInt as ggml does, and wrap products that feed an
// add in float32() so that no FMA is formed.

const qkK = 256

// Super-block sizes in bytes and where their fields sit.
const (
	sizeQ2_K = 16 + 64 + 2 + 2       // scales[16], qs[64], d, dmin
	sizeQ3_K = 32 + 64 + 12 + 2      // hmask[32], qs[64], scales[12], d
	sizeQ4_K = 2 + 2 + 12 + 128      // d, dmin, scales[12], qs[128]
	sizeQ5_K = 2 + 2 + 12 + 32 + 128 // d, dmin, scales[12], qh[32], qs[128]
	sizeQ6_K = 128 + 64 + 16 + 2     // ql[128], qh[64], scales[16] (int8), d
	sizeQ8_K = 4 + 256 + 32          // d (float32), qs[256] (int8), bsums[16] (int16)
)

// groupMaxEps is ggml's GROUP_MAX_EPS: groups whose largest magnitude is
// below it quantize to all zeros.
const groupMaxEps float32 = 1e-15

// nearestInt rounds to nearest, ties to even, by ggml's magic-number
// addition; for |f| > 2^22 it returns what ggml's does (garbage), which is
// what must be reproduced.
//
// The explicit conversion keeps a product passed in as f from being fused
// with the addition into an FMA once this is inlined.
func nearestInt(f float32) int32 {
	v := float32(f) + 12582912
	return int32(math.Float32bits(v)&0x007fffff) - 0x00400000
}

func sqrt32(f float32) float32 { return float32(math.Sqrt(float64(f))) }

func clamp32(v, lo, hi int32) int32 {
	if v > hi {
		v = hi
	}
	if v < lo {
		v = lo
	}
	return v
}

// ScaleMinK4 unpacks the 6-bit scale and min of sub-block j (0..7) from
// the 12 packed scale bytes of a Q4_K or Q5_K super-block (ggml's
// get_scale_min_k4). Dot-product kernels share it with the decoders here;
// int32 suits both their integer sums and the conversions to float32.
func ScaleMinK4(j int, q *[12]byte) (sc, m int32) {
	if j < 4 {
		return int32(q[j] & 63), int32(q[j+4] & 63)
	}
	return int32(q[j+4]&0xF | (q[j-4]>>6)<<4), int32(q[j+4]>>4 | (q[j]>>6)<<4)
}

// subScaleK4 returns the scale and offset of sub-block j of a Q4_K or Q5_K
// super-block whose super-block scales are d and dmin.
func subScaleK4(j int, q *[12]byte, d, dmin float32) (dl, ml float32) {
	sc, m := ScaleMinK4(j, q)
	return d * float32(sc), float32(dmin * float32(m))
}

// Q3KScale returns the signed 6-bit scale of sub-block j (0..15) from the
// 12 packed scale bytes of a Q3_K super-block.
func Q3KScale(j int, sc *[12]byte) int32 {
	var lo byte
	if j < 8 {
		lo = sc[j] & 0xF
	} else {
		lo = sc[j-8] >> 4
	}
	hi := (sc[8+j%4] >> (2 * (j / 4))) & 3
	return int32(lo|hi<<4) - 32
}

// ---------------------------------------------------------------------------
// Dequantization.

func dequantQ2_K(dst []float32, src []byte) {
	nb := len(dst) / qkK
	src = src[:nb*sizeQ2_K]
	for i := 0; i < nb; i++ {
		b := (*[sizeQ2_K]byte)(src[i*sizeQ2_K:])
		sc := (*[16]byte)(b[0:])
		d := halfAt(b[80:])
		dmin := halfAt(b[82:])
		y := dst[i*qkK:]
		is := 0
		for n := 0; n < 2; n++ {
			q := (*[32]byte)(b[16+32*n:])
			for shift := uint(0); shift < 8; shift += 2 {
				for half := 0; half < 2; half++ {
					s := sc[is]
					dl := d * float32(s&0xF)
					ml := float32(dmin * float32(s>>4))
					o := (*[16]float32)(y[16*is:])
					qq := (*[16]byte)(q[16*half:])
					for l, v := range qq {
						o[l] = float32(dl*float32((v>>shift)&3)) - ml
					}
					is++
				}
			}
		}
	}
}

func dequantQ3_K(dst []float32, src []byte) {
	nb := len(dst) / qkK
	src = src[:nb*sizeQ3_K]
	for i := 0; i < nb; i++ {
		b := (*[sizeQ3_K]byte)(src[i*sizeQ3_K:])
		hm := (*[32]byte)(b[0:])
		sc := (*[12]byte)(b[96:])
		dAll := halfAt(b[108:])
		y := dst[i*qkK:]
		is := 0
		hbit := uint(0) // bit of hmask holding the high bits of this group
		for n := 0; n < 2; n++ {
			q := (*[32]byte)(b[32+32*n:])
			for shift := uint(0); shift < 8; shift += 2 {
				for half := 0; half < 2; half++ {
					dl := dAll * float32(Q3KScale(is, sc))
					o := (*[16]float32)(y[16*is:])
					qq := (*[16]byte)(q[16*half:])
					hh := (*[16]byte)(hm[16*half:])
					for l, v := range qq {
						// Level 0..3, minus 4 when the high bit is clear.
						k := int32((v>>shift)&3) - 4 + 4*int32((hh[l]>>hbit)&1)
						o[l] = dl * float32(k)
					}
					is++
				}
				hbit++
			}
		}
	}
}

func dequantQ4_K(dst []float32, src []byte) {
	nb := len(dst) / qkK
	src = src[:nb*sizeQ4_K]
	for i := 0; i < nb; i++ {
		b := (*[sizeQ4_K]byte)(src[i*sizeQ4_K:])
		d := halfAt(b[0:])
		dmin := halfAt(b[2:])
		sc := (*[12]byte)(b[4:])
		y := dst[i*qkK:]
		for j := 0; j < 4; j++ {
			q := (*[32]byte)(b[16+32*j:])
			d1, m1 := subScaleK4(2*j, sc, d, dmin)
			d2, m2 := subScaleK4(2*j+1, sc, d, dmin)
			o := (*[64]float32)(y[64*j:])
			for l, v := range q {
				o[l] = float32(d1*float32(v&0xF)) - m1
				o[l+32] = float32(d2*float32(v>>4)) - m2
			}
		}
	}
}

func dequantQ5_K(dst []float32, src []byte) {
	nb := len(dst) / qkK
	src = src[:nb*sizeQ5_K]
	for i := 0; i < nb; i++ {
		b := (*[sizeQ5_K]byte)(src[i*sizeQ5_K:])
		d := halfAt(b[0:])
		dmin := halfAt(b[2:])
		sc := (*[12]byte)(b[4:])
		qh := (*[32]byte)(b[16:])
		y := dst[i*qkK:]
		u1, u2 := byte(1), byte(2)
		for j := 0; j < 4; j++ {
			ql := (*[32]byte)(b[48+32*j:])
			d1, m1 := subScaleK4(2*j, sc, d, dmin)
			d2, m2 := subScaleK4(2*j+1, sc, d, dmin)
			o := (*[64]float32)(y[64*j:])
			for l, v := range ql {
				h := qh[l]
				lo, hi := v&0xF, v>>4
				if h&u1 != 0 {
					lo += 16
				}
				if h&u2 != 0 {
					hi += 16
				}
				o[l] = float32(d1*float32(lo)) - m1
				o[l+32] = float32(d2*float32(hi)) - m2
			}
			u1 <<= 2
			u2 <<= 2
		}
	}
}

func dequantQ6_K(dst []float32, src []byte) {
	nb := len(dst) / qkK
	src = src[:nb*sizeQ6_K]
	for i := 0; i < nb; i++ {
		b := (*[sizeQ6_K]byte)(src[i*sizeQ6_K:])
		d := halfAt(b[208:])
		y := dst[i*qkK:]
		for n := 0; n < 2; n++ {
			ql := (*[64]byte)(b[64*n:])
			qh := (*[32]byte)(b[128+32*n:])
			sc := (*[8]byte)(b[192+8*n:])
			o := (*[128]float32)(y[128*n:])
			for half := 0; half < 2; half++ {
				// ggml computes d*scale*q left to right; the first product
				// is the same for 16 values.
				d1 := d * float32(int8(sc[half]))
				d2 := d * float32(int8(sc[half+2]))
				d3 := d * float32(int8(sc[half+4]))
				d4 := d * float32(int8(sc[half+6]))
				for l := 16 * half; l < 16*half+16; l++ {
					h := qh[l]
					q1 := int32(ql[l]&0xF|(h&3)<<4) - 32
					q2 := int32(ql[l+32]&0xF|((h>>2)&3)<<4) - 32
					q3 := int32(ql[l]>>4|((h>>4)&3)<<4) - 32
					q4 := int32(ql[l+32]>>4|((h>>6)&3)<<4) - 32
					o[l] = d1 * float32(q1)
					o[l+32] = d2 * float32(q2)
					o[l+64] = d3 * float32(q3)
					o[l+96] = d4 * float32(q4)
				}
			}
		}
	}
}

func dequantQ8_K(dst []float32, src []byte) {
	nb := len(dst) / qkK
	src = src[:nb*sizeQ8_K]
	for i := 0; i < nb; i++ {
		b := (*[sizeQ8_K]byte)(src[i*sizeQ8_K:])
		d := math.Float32frombits(binary.LittleEndian.Uint32(b[0:]))
		qs := (*[qkK]byte)(b[4:])
		o := (*[qkK]float32)(dst[i*qkK:])
		for j, q := range qs {
			o[j] = d * float32(int8(q))
		}
	}
}

// ---------------------------------------------------------------------------
// Scale search helpers (ggml's make_qx_quants, make_q3_quants,
// make_qkx2_quants), restricted to the cases the reference quantizers use.

// symLevels sets L[i] to bias plus the level of x[i] at inverse scale
// iscale, clamped to -nmax..nmax-1, and returns the x²-weighted sums
// Σw·x·l and Σw·l² that make_qx_quants and make_q3_quants fit with.
func symLevels(nmax int32, x []float32, L []int8, bias int32, iscale float32) (sumlx, suml2 float32) {
	L = L[:len(x)]
	for i, xi := range x {
		l := clamp32(nearestInt(iscale*xi), -nmax, nmax-1)
		L[i] = int8(l + bias)
		w := xi * xi
		fl := float32(l)
		sumlx += float32(w * xi * fl)
		suml2 += float32(w * fl * fl)
	}
	return sumlx, suml2
}

// requantSym sets L to the levels of x at the rounded scale d, clamped to
// -nmax..nmax-1 and stored plus nmax; a zero d leaves L as it is, as ggml
// does.
func requantSym(L []int8, x []float32, d float32, nmax int32) {
	if d == 0 {
		return
	}
	L = L[:len(x)]
	for i, xi := range x {
		L[i] = int8(clamp32(nearestInt(xi/d), -nmax, nmax-1) + nmax)
	}
}

// makeQXQuants is make_qx_quants with rmse_type 1 and no importance
// weights: symmetric levels -nmax..nmax-1 stored as L = level+nmax, weights
// x², and a search over 18 nearby scales.
func makeQXQuants(nmax int32, x []float32, L []int8) float32 {
	L = L[:len(x)]
	max, amax := absMax(x)
	if amax < groupMaxEps {
		clear(L)
		return 0
	}
	iscale := float32(-nmax) / max
	sumlx, suml2 := symLevels(nmax, x, L, nmax, iscale)
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := scale * sumlx
	for is := int32(-9); is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / max
		sumlx, suml2 = 0, 0
		for _, xi := range x {
			l := clamp32(nearestInt(iscale*xi), -nmax, nmax-1)
			w := xi * xi
			fl := float32(l)
			sumlx += float32(w * xi * fl)
			suml2 += float32(w * fl * fl)
		}
		if suml2 > 0 && sumlx*sumlx > best*suml2 {
			for i, xi := range x {
				L[i] = int8(nmax + clamp32(nearestInt(iscale*xi), -nmax, nmax-1))
			}
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}

// makeQ3Quants is make_q3_quants with do_rmse: symmetric levels refined one
// element at a time for at most five passes.
func makeQ3Quants(nmax int32, x []float32, L []int8) float32 {
	L = L[:len(x)]
	max, amax := absMax(x)
	if amax < groupMaxEps {
		clear(L)
		return 0
	}
	sumlx, suml2 := symLevels(nmax, x, L, 0, float32(-nmax)/max)
	for itry := 0; itry < 5; itry++ {
		changed := 0
		for i, xi := range x {
			w := xi * xi
			li := float32(L[i])
			slx := sumlx - float32(w*xi*li)
			if slx > 0 {
				sl2 := suml2 - float32(w*li*li)
				newL := clamp32(nearestInt(xi*sl2/slx), -nmax, nmax-1)
				if newL != int32(L[i]) {
					fn := float32(newL)
					slx += float32(w * xi * fn)
					sl2 += float32(w * fn * fn)
					if sl2 > 0 && slx*slx*suml2 > sumlx*sumlx*sl2 {
						L[i] = int8(newL)
						sumlx, suml2 = slx, sl2
						changed++
					}
				}
			}
		}
		if changed == 0 {
			break
		}
	}
	for i := range L {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

// makeQKX2Quants is make_qkx2_quants: levels 0..nmax with a scale and a
// non-positive offset fitted by weighted least squares over nstep+1 trial
// scales. It returns the scale and the negated offset (ggml's the_min).
func makeQKX2Quants(nmax int32, x, weights []float32, L, Laux []uint8,
	rmin, rdelta float32, nstep int32, useMad bool) (scale, theMin float32) {
	n := len(x)
	weights = weights[:n]
	L = L[:n]
	Laux = Laux[:n]
	min, max := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < min {
			min = x[i]
		}
		if x[i] > max {
			max = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if min > 0 {
		min = 0
	}
	if max == min {
		clear(L)
		return 0, -min
	}
	fmax := float32(nmax)
	iscale := fmax / (max - min)
	scale = 1 / iscale
	var bestError float32
	for i, xi := range x {
		l := clamp32(nearestInt(iscale*(xi-min)), 0, nmax)
		L[i] = uint8(l)
		diff := float32(scale*float32(l)) + min - xi
		bestError += float32(weights[i] * fitLoss(diff, useMad))
	}
	if nstep < 1 {
		return scale, -min
	}
	for is := int32(0); is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + fmax) / (max - min)
		var sumL, sumL2, sumXL float32
		for i, xi := range x {
			l := clamp32(nearestInt(iscale*(xi-min)), 0, nmax)
			Laux[i] = uint8(l)
			w := weights[i]
			fl := float32(l)
			sumL += float32(w * fl)
			sumL2 += float32(w * fl * fl)
			sumXL += float32(w * fl * xi)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var curError float32
			for i, xi := range x {
				diff := float32(thisScale*float32(Laux[i])) + thisMin - xi
				curError += float32(weights[i] * fitLoss(diff, useMad))
			}
			if curError < bestError {
				copy(L, Laux)
				bestError = curError
				scale = thisScale
				min = thisMin
			}
		}
	}
	return scale, -min
}

// fitLoss is make_qkx2_quants' error of one element: |diff| with useMad,
// else diff².
func fitLoss(diff float32, useMad bool) float32 {
	if useMad {
		return abs32(diff)
	}
	return diff * diff
}

// pack2Bits stores 256 two-bit levels as Q2_K and Q3_K do: byte l of each
// 32-byte group holds elements l, l+32, l+64 and l+96 of a 128-element half.
func pack2Bits(qs *[64]byte, L *[qkK]uint8) {
	for j := 0; j < qkK; j += 128 {
		for l := 0; l < 32; l++ {
			qs[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
		}
	}
}

// ---------------------------------------------------------------------------
// Quantization.

func quantQ2_K(dst []byte, src []float32) {
	nb := len(src) / qkK
	dst = dst[:nb*sizeQ2_K]
	const q4scale = 15
	var (
		L       [qkK]uint8
		laux    [16]uint8
		weights [16]float32
		mins    [16]float32
		scales  [16]float32
	)
	for i := 0; i < nb; i++ {
		x := (*[qkK]float32)(src[i*qkK:])
		b := (*[sizeQ2_K]byte)(dst[i*sizeQ2_K:])
		sc := (*[16]byte)(b[0:])
		var maxScale, maxMin float32
		for j := 0; j < 16; j++ {
			xs := x[16*j : 16*j+16]
			for l, v := range xs {
				weights[l] = abs32(v)
			}
			scales[j], mins[j] = makeQKX2Quants(3, xs, weights[:], L[16*j:16*j+16], laux[:], -0.5, 0.1, 15, true)
			maxScale, maxMin = cmax(scales[j], maxScale), cmax(mins[j], maxMin)
		}
		if maxScale > 0 {
			iscale := q4scale / maxScale
			for j := range sc {
				sc[j] = uint8(nearestInt(iscale * scales[j]))
			}
			putHalf(b[80:], maxScale/q4scale)
		} else {
			clear(sc[:])
			putHalf(b[80:], 0)
		}
		if maxMin > 0 {
			iscale := q4scale / maxMin
			for j := range sc {
				sc[j] |= uint8(nearestInt(iscale*mins[j]) << 4)
			}
			putHalf(b[82:], maxMin/q4scale)
		} else {
			putHalf(b[82:], 0)
		}
		dd, dm := halfAt(b[80:]), halfAt(b[82:])
		for j := 0; j < 16; j++ {
			d := dd * float32(sc[j]&0xF)
			if d == 0 {
				continue
			}
			m := float32(dm * float32(sc[j]>>4))
			for ii := 0; ii < 16; ii++ {
				L[16*j+ii] = uint8(clamp32(nearestInt((x[16*j+ii]+m)/d), 0, 3))
			}
		}
		pack2Bits((*[64]byte)(b[16:]), &L)
	}
}

func quantQ3_K(dst []byte, src []float32) {
	nb := len(src) / qkK
	dst = dst[:nb*sizeQ3_K]
	var (
		L      [qkK]int8
		scales [16]float32
	)
	for i := 0; i < nb; i++ {
		x := (*[qkK]float32)(src[i*qkK:])
		b := (*[sizeQ3_K]byte)(dst[i*sizeQ3_K:])
		hmask := (*[32]byte)(b[0:])
		sc := (*[12]byte)(b[96:])
		var maxScale, amax float32
		for j := 0; j < 16; j++ {
			scales[j] = makeQ3Quants(4, x[16*j:16*j+16], L[16*j:16*j+16])
			if s := abs32(scales[j]); s > amax {
				amax, maxScale = s, scales[j]
			}
		}
		clear(sc[:])
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := 0; j < 16; j++ {
				l := clamp32(int32(int8(nearestInt(iscale*scales[j]))), -32, 31) + 32
				if j < 8 {
					sc[j] = byte(l & 0xF)
				} else {
					sc[j-8] |= byte((l & 0xF) << 4)
				}
				l >>= 4
				sc[j%4+8] |= byte(l << (2 * (j / 4)))
			}
			putHalf(b[108:], 1/iscale)
		} else {
			putHalf(b[108:], 0)
		}
		dAll := halfAt(b[108:])
		for j := 0; j < 16; j++ {
			requantSym(L[16*j:16*j+16], x[16*j:16*j+16], dAll*float32(Q3KScale(j, sc)), 4)
		}
		// The high bit of the first 32 levels goes to bit 0 of hmask[0..31],
		// of the next 32 to bit 1, and so on.
		clear(hmask[:])
		var U [qkK]uint8
		for j := 0; j < qkK; j++ {
			l := uint8(L[j])
			if l > 3 {
				hmask[j%32] |= 1 << (j / 32)
				l -= 4
			}
			U[j] = l
		}
		pack2Bits((*[64]byte)(b[32:]), &U)
	}
}

// packScalesK4 stores eight 6-bit scales and mins as Q4_K/Q5_K do.
func packScalesK4(sc *[12]byte, ls, lm *[8]uint8) {
	for j := 0; j < 8; j++ {
		if j < 4 {
			sc[j] = ls[j]
			sc[j+4] = lm[j]
		} else {
			sc[j+4] = ls[j]&0xF | (lm[j]&0xF)<<4
			sc[j-4] |= (ls[j] >> 4) << 6
			sc[j] |= (lm[j] >> 4) << 6
		}
	}
}

// quantK4Scales does the part shared by the Q4_K and Q5_K quantizers: fit
// each 32-element sub-block with makeQKX2Quants, pack the 6-bit scales and
// mins, and requantize against the rounded scales. It returns the levels.
func quantK4Scales(x *[qkK]float32, b []byte, L *[qkK]uint8, nmax int32, rmin float32, nstep int32) {
	var (
		laux    [32]uint8
		weights [32]float32
		mins    [8]float32
		scales  [8]float32
	)
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := sqrt32(sumX2 / 32)
		for l, v := range xs {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2Quants(nmax, xs, weights[:], L[32*j:32*j+32], laux[:], rmin, 0.1, nstep, false)
		maxScale, maxMin = cmax(scales[j], maxScale), cmax(mins[j], maxMin)
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	var ls, lm [8]uint8
	for j := 0; j < 8; j++ {
		ls[j] = min(63, uint8(nearestInt(invScale*scales[j])))
		lm[j] = min(63, uint8(nearestInt(invMin*mins[j])))
	}
	sc := (*[12]byte)(b[4:])
	packScalesK4(sc, &ls, &lm)
	putHalf(b[0:], maxScale/63)
	putHalf(b[2:], maxMin/63)
	dd, dm := halfAt(b[0:]), halfAt(b[2:])
	for j := 0; j < 8; j++ {
		d, dmj := subScaleK4(j, sc, dd, dm)
		if d == 0 {
			continue
		}
		for ii := 0; ii < 32; ii++ {
			L[32*j+ii] = uint8(clamp32(nearestInt((x[32*j+ii]+dmj)/d), 0, nmax))
		}
	}
}

func quantQ4_K(dst []byte, src []float32) {
	nb := len(src) / qkK
	dst = dst[:nb*sizeQ4_K]
	var L [qkK]uint8
	for i := 0; i < nb; i++ {
		x := (*[qkK]float32)(src[i*qkK:])
		b := (*[sizeQ4_K]byte)(dst[i*sizeQ4_K:])
		quantK4Scales(x, b[:], &L, 15, -1, 20)
		for j := 0; j < 4; j++ {
			q := (*[32]byte)(b[16+32*j:])
			for l := range q {
				q[l] = L[64*j+l] | L[64*j+l+32]<<4
			}
		}
	}
}

func quantQ5_K(dst []byte, src []float32) {
	nb := len(src) / qkK
	dst = dst[:nb*sizeQ5_K]
	var L [qkK]uint8
	for i := 0; i < nb; i++ {
		x := (*[qkK]float32)(src[i*qkK:])
		b := (*[sizeQ5_K]byte)(dst[i*sizeQ5_K:])
		quantK4Scales(x, b[:], &L, 31, -0.5, 15)
		qh := (*[32]byte)(b[16:])
		clear(qh[:])
		m1, m2 := byte(1), byte(2)
		for j := 0; j < 4; j++ {
			ql := (*[32]byte)(b[48+32*j:])
			for l := range ql {
				l1, l2 := L[64*j+l], L[64*j+l+32]
				if l1 > 15 {
					l1 -= 16
					qh[l] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[l] |= m2
				}
				ql[l] = l1 | l2<<4
			}
			m1 <<= 2
			m2 <<= 2
		}
	}
}

func quantQ6_K(dst []byte, src []float32) {
	nb := len(src) / qkK
	dst = dst[:nb*sizeQ6_K]
	var (
		L      [qkK]int8
		scales [16]float32
	)
	for i := 0; i < nb; i++ {
		x := (*[qkK]float32)(src[i*qkK:])
		b := (*[sizeQ6_K]byte)(dst[i*sizeQ6_K:])
		var maxScale, maxAbsScale float32
		for ib := 0; ib < 16; ib++ {
			s := makeQXQuants(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16])
			scales[ib] = s
			if a := abs32(s); a > maxAbsScale {
				maxAbsScale, maxScale = a, s
			}
		}
		if maxAbsScale < groupMaxEps {
			clear(b[:])
			continue
		}
		iscale := -128 / maxScale
		putHalf(b[208:], 1/iscale)
		sc := (*[16]byte)(b[192:])
		for ib := range sc {
			sc[ib] = byte(int8(min(127, nearestInt(iscale*scales[ib]))))
		}
		dd := halfAt(b[208:])
		for j := 0; j < 16; j++ {
			requantSym(L[16*j:16*j+16], x[16*j:16*j+16], dd*float32(int8(sc[j])), 32)
		}
		for n := 0; n < 2; n++ {
			ql := (*[64]byte)(b[64*n:])
			qh := (*[32]byte)(b[128+32*n:])
			Ln := (*[128]int8)(L[128*n:])
			for l := 0; l < 32; l++ {
				l0, l1, l2, l3 := uint8(Ln[l]), uint8(Ln[l+32]), uint8(Ln[l+64]), uint8(Ln[l+96])
				ql[l] = l0&0xF | (l2&0xF)<<4
				ql[l+32] = l1&0xF | (l3&0xF)<<4
				qh[l] = l0>>4 | (l1>>4)<<2 | (l2>>4)<<4 | (l3>>4)<<6
			}
		}
	}
}

// quantQ8_K is quantize_row_q8_K_ref: one float32 scale per 256 values and
// the sums of each 16 quants, used for activations in K-quant dot products.
func quantQ8_K(dst []byte, src []float32) {
	nb := len(src) / qkK
	dst = dst[:nb*sizeQ8_K]
	for i := 0; i < nb; i++ {
		x := (*[qkK]float32)(src[i*qkK:])
		b := (*[sizeQ8_K]byte)(dst[i*sizeQ8_K:])
		qs := (*[qkK]byte)(b[4:])
		max, amax := absMax(x[:])
		if amax == 0 {
			clear(b[:])
			continue
		}
		// ggml uses -127 rather than -128 so that IQ dot kernels can negate.
		iscale := -127 / max
		for j, v := range x {
			qs[j] = byte(int8(min(127, nearestInt(iscale*v))))
		}
		for j := 0; j < 16; j++ {
			var sum int32
			for _, q := range qs[16*j : 16*j+16] {
				sum += int32(int8(q))
			}
			binary.LittleEndian.PutUint16(b[4+qkK+2*j:], uint16(int16(sum)))
		}
		binary.LittleEndian.PutUint32(b[0:], math.Float32bits(1/iscale))
	}
}
