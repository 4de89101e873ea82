package cpu

import (
	"math"

	"github.com/openweights/owl/gguf"
)

// Dot products of the 256-element super-block types with Q8_K activations
// (ggml's ggml_vec_dot_q*_K_q8_K). Integer sums over each sub-block are
// exact and weighted by the sub-block's integer scale; Q8_K's per-16 block
// sums (bsums) carry the contribution of the sub-block minimums. Per super
// block the result is scaled in float32 by d_w·d_x as ggml does.

const qkK = 256

const (
	sizeQ2_K   = 84
	sizeQ3_K   = 110
	sizeQ4_K   = 144
	sizeQ5_K   = 176
	sizeQ6_K   = 210
	sizeQ8_K   = 292
	sizeIQ4_XS = 136
)

// q8K is a view of one Q8_K block: d (float32), qs[256] (int8), bsums[16]
// (int16).
type q8K = [sizeQ8_K]byte

func q8KScale(b *q8K) float32 {
	return math.Float32frombits(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
}

func q8KBsum(b *q8K, j int) int32 {
	o := 4 + qkK + 2*j
	return int32(int16(uint16(b[o]) | uint16(b[o+1])<<8))
}

// sumMinK scales a Q4_K or Q5_K super-block's integer sums:
// d·d_x·isum − dmin·d_x·summs, with d and dmin the fp16 values in dm.
func sumMinK(dm *[4]byte, dx float32, isum, summs int32) float32 {
	d := half(dm[0:]) * dx
	dmin := half(dm[2:]) * dx
	return float32(d*float32(isum)) - float32(dmin*float32(summs))
}

func dotQ2_KQ8_K(n int, w, x []byte) float32 {
	nb := n / qkK
	w = w[:nb*sizeQ2_K]
	x = x[:nb*sizeQ8_K]
	var sum float32
	for i := 0; i < nb; i++ {
		wb := (*[sizeQ2_K]byte)(w[i*sizeQ2_K:])
		xb := (*q8K)(x[i*sizeQ8_K:])
		sc := (*[16]byte)(wb[0:])
		q8 := (*[qkK]byte)(xb[4:])
		var summs int32
		for j := 0; j < 16; j++ {
			summs += q8KBsum(xb, j) * int32(sc[j]>>4)
		}
		dy := q8KScale(xb)
		dall := dy * half(wb[80:])
		dmin := dy * half(wb[82:])
		var isum int32
		for g := 0; g < 8; g++ { // groups of 32 values: 2-bit field g%4 of qs[32*(g/4):]
			q2 := (*[32]byte)(wb[16+32*(g/4):])
			y := (*[32]byte)(q8[32*g:])
			shift := uint(2 * (g % 4))
			s0 := dotU8(le64(q2[0:])>>shift&low2Bits, le64(y[0:])) + dotU8(le64(q2[8:])>>shift&low2Bits, le64(y[8:]))
			s1 := dotU8(le64(q2[16:])>>shift&low2Bits, le64(y[16:])) + dotU8(le64(q2[24:])>>shift&low2Bits, le64(y[24:]))
			isum += int32(sc[2*g]&0xF)*s0 + int32(sc[2*g+1]&0xF)*s1
		}
		sum += float32(dall*float32(isum)) - float32(dmin*float32(summs))
	}
	return sum
}

func dotQ3_KQ8_K(n int, w, x []byte) float32 {
	nb := n / qkK
	w = w[:nb*sizeQ3_K]
	x = x[:nb*sizeQ8_K]
	var sum float32
	for i := 0; i < nb; i++ {
		wb := (*[sizeQ3_K]byte)(w[i*sizeQ3_K:])
		xb := (*q8K)(x[i*sizeQ8_K:])
		hm := (*[32]byte)(wb[0:])
		sc := (*[12]byte)(wb[96:])
		q8 := (*[qkK]byte)(xb[4:])
		var isum int32
		for g := 0; g < 8; g++ {
			q3 := (*[32]byte)(wb[32+32*(g/4):])
			y := (*[32]byte)(q8[32*g:])
			shift := uint(2 * (g % 4))
			// 2 low bits, and bit g of hmask as bit 2: 0..7, less 4.
			var v [4]int32
			for k := range v {
				a := le64(q3[8*k:])>>shift&low2Bits | (le64(hm[8*k:])>>uint(g)&lowBits)<<2
				v[k] = dotI8((a+minus4)^topBits, le64(y[8*k:]))
			}
			isum += gguf.Q3KScale(2*g, sc)*(v[0]+v[1]) + gguf.Q3KScale(2*g+1, sc)*(v[2]+v[3])
		}
		sum += float32((half(wb[108:]) * q8KScale(xb)) * float32(isum))
	}
	return sum
}

func dotQ4_KQ8_K(n int, w, x []byte) float32 {
	nb := n / qkK
	w = w[:nb*sizeQ4_K]
	x = x[:nb*sizeQ8_K]
	var sum float32
	for i := 0; i < nb; i++ {
		wb := (*[sizeQ4_K]byte)(w[i*sizeQ4_K:])
		xb := (*q8K)(x[i*sizeQ8_K:])
		sc := (*[12]byte)(wb[4:])
		q8 := (*[qkK]byte)(xb[4:])
		var isum, summs int32
		for j := 0; j < 4; j++ {
			q4 := (*[32]byte)(wb[16+32*j:])
			y := (*[64]byte)(q8[64*j:])
			q0, q1, q2, q3 := le64(q4[0:]), le64(q4[8:]), le64(q4[16:]), le64(q4[24:])
			s0 := dotU8x4(q0&lowNibbles, q1&lowNibbles, q2&lowNibbles, q3&lowNibbles, (*[32]byte)(y[0:]))
			s1 := dotU8x4(q0>>4&lowNibbles, q1>>4&lowNibbles, q2>>4&lowNibbles, q3>>4&lowNibbles, (*[32]byte)(y[32:]))
			sc0, m0 := gguf.ScaleMinK4(2*j, sc)
			sc1, m1 := gguf.ScaleMinK4(2*j+1, sc)
			isum += sc0*s0 + sc1*s1
			summs += m0*(q8KBsum(xb, 4*j)+q8KBsum(xb, 4*j+1)) + m1*(q8KBsum(xb, 4*j+2)+q8KBsum(xb, 4*j+3))
		}
		sum += sumMinK((*[4]byte)(wb[0:]), q8KScale(xb), isum, summs)
	}
	return sum
}

func dotQ5_KQ8_K(n int, w, x []byte) float32 {
	nb := n / qkK
	w = w[:nb*sizeQ5_K]
	x = x[:nb*sizeQ8_K]
	var sum float32
	for i := 0; i < nb; i++ {
		wb := (*[sizeQ5_K]byte)(w[i*sizeQ5_K:])
		xb := (*q8K)(x[i*sizeQ8_K:])
		sc := (*[12]byte)(wb[4:])
		qh := (*[32]byte)(wb[16:])
		q8 := (*[qkK]byte)(xb[4:])
		var isum, summs int32
		for j := 0; j < 4; j++ {
			q4 := (*[32]byte)(wb[48+32*j:])
			y := (*[64]byte)(q8[64*j:])
			var lo, hi [4]uint64
			for k := range lo {
				q, h := le64(q4[8*k:]), le64(qh[8*k:])
				lo[k] = q&lowNibbles | (h>>uint(2*j)&lowBits)<<4
				hi[k] = q>>4&lowNibbles | (h>>uint(2*j+1)&lowBits)<<4
			}
			s0 := dotU8x4(lo[0], lo[1], lo[2], lo[3], (*[32]byte)(y[0:]))
			s1 := dotU8x4(hi[0], hi[1], hi[2], hi[3], (*[32]byte)(y[32:]))
			sc0, m0 := gguf.ScaleMinK4(2*j, sc)
			sc1, m1 := gguf.ScaleMinK4(2*j+1, sc)
			isum += sc0*s0 + sc1*s1
			summs += m0*(q8KBsum(xb, 4*j)+q8KBsum(xb, 4*j+1)) + m1*(q8KBsum(xb, 4*j+2)+q8KBsum(xb, 4*j+3))
		}
		sum += sumMinK((*[4]byte)(wb[0:]), q8KScale(xb), isum, summs)
	}
	return sum
}

func dotQ6_KQ8_K(n int, w, x []byte) float32 {
	nb := n / qkK
	w = w[:nb*sizeQ6_K]
	x = x[:nb*sizeQ8_K]
	var sum float32
	for i := 0; i < nb; i++ {
		wb := (*[sizeQ6_K]byte)(w[i*sizeQ6_K:])
		xb := (*q8K)(x[i*sizeQ8_K:])
		sc := (*[16]byte)(wb[192:])
		q8 := (*[qkK]byte)(xb[4:])
		var isum int32
		for h := 0; h < 2; h++ { // halves of 128 values
			ql := (*[64]byte)(wb[64*h:])
			qh := (*[32]byte)(wb[128+32*h:])
			y := (*[128]byte)(q8[128*h:])
			var s [8]int32 // per 16-value sub-block of this half
			for k := 0; k < 32; k += 8 {
				lo, hi, hb := le64(ql[k:]), le64(ql[32+k:]), le64(qh[k:])
				a0 := lo&lowNibbles | (hb&low2Bits)<<4
				a1 := hi&lowNibbles | (hb>>2&low2Bits)<<4
				a2 := lo>>4&lowNibbles | (hb>>4&low2Bits)<<4
				a3 := hi>>4&lowNibbles | (hb>>6&low2Bits)<<4
				sub := k >> 4
				s[sub] += dotI8((a0+minus32)^topBits, le64(y[k:]))
				s[2+sub] += dotI8((a1+minus32)^topBits, le64(y[32+k:]))
				s[4+sub] += dotI8((a2+minus32)^topBits, le64(y[64+k:]))
				s[6+sub] += dotI8((a3+minus32)^topBits, le64(y[96+k:]))
			}
			for k, v := range s {
				isum += int32(int8(sc[8*h+k])) * v
			}
		}
		sum += float32((half(wb[208:]) * q8KScale(xb)) * float32(isum))
	}
	return sum
}

func dotIQ4_XSQ8_K(n int, w, x []byte) float32 {
	nb := n / qkK
	w = w[:nb*sizeIQ4_XS]
	x = x[:nb*sizeQ8_K]
	var sum float32
	for i := 0; i < nb; i++ {
		wb := (*[sizeIQ4_XS]byte)(w[i*sizeIQ4_XS:])
		xb := (*q8K)(x[i*sizeQ8_K:])
		d4d8 := half(wb[0:]) * q8KScale(xb)
		sh := uint32(wb[2]) | uint32(wb[3])<<8
		q8 := (*[qkK]byte)(xb[4:])
		for ib := 0; ib < 8; ib++ {
			ls := int32(wb[4+ib/2]>>(4*uint(ib%2)))&0xF | int32((sh>>(2*uint(ib)))&3)<<4
			s := iq4Dot((*[16]byte)(wb[8+16*ib:]), (*[32]byte)(q8[32*ib:]))
			sum += float32((d4d8 * float32(ls-32)) * float32(s))
		}
	}
	return sum
}
