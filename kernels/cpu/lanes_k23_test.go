package cpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/openweights/owl/gguf"
)

// The plain-Go references of ggml's AVX2 Q2_K and Q3_K kernels
// (ggml_vec_dot_q2_K_q8_K, ggml_vec_dot_q3_K_q8_K in
// ggml-cpu/arch/x86/quants.c), one rounding at a time, in the lane order of
// lanes_k_test.go: per super-block eight int32 lanes, lane l the exact sum
// over the eight 32-value groups g of scale(2g + l/4) ×
// Σ_{e=4l..4l+3} q[32g+e]·x[32g+e], fused into eight float lanes with
// d_w·d_x and added at the end as hsum_float_8.

// refLaneDotQ2_K is Q2_K's kernel. Before a super-block's values, each
// float lane l takes −d_x·dmin times min(2l)·bsum(2l) + min(2l+1)·bsum(2l+1)
// (int32, exact), fused; group g's values are bits 2(g%4), 2(g%4)+1 of
// qs[32(g/4):], scales and minimums the low and high nibbles of scales[].
func refLaneDotQ2_K(n int, w, x []byte) float32 {
	var acc [8]float32
	for b := 0; b < n/qkK; b++ {
		wb := w[b*sizeQ2_K : (b+1)*sizeQ2_K]
		xb := (*q8K)(x[b*sizeQ8_K:])
		yd := q8KScale(xb)
		d := yd * half(wb[80:])
		dmin := -yd * half(wb[82:])
		for l := range acc {
			prod := int32(wb[2*l]>>4)*q8KBsum(xb, 2*l) + int32(wb[2*l+1]>>4)*q8KBsum(xb, 2*l+1)
			acc[l] = fma32(dmin, float32(prod), acc[l])
		}
		var sumi [8]int32
		for g := 0; g < 8; g++ {
			for l := range sumi {
				var s int32
				for e := 4 * l; e < 4*l+4; e++ {
					q := int32(wb[16+32*(g/4)+e]>>uint(2*(g%4))) & 3
					s += q * int32(int8(xb[4+32*g+e]))
				}
				sumi[l] += int32(wb[2*g+l/4]&0xF) * s
			}
		}
		for l := range acc {
			acc[l] = fma32(d, float32(sumi[l]), acc[l])
		}
	}
	return hsum8(&acc)
}

// refLaneDotQ3_K is Q3_K's kernel: group g's values are bits 2(g%4),
// 2(g%4)+1 of qs[32(g/4):], less 4 where bit g of hmask[e] is clear; the
// scales are gguf.Q3KScale's.
func refLaneDotQ3_K(n int, w, x []byte) float32 {
	var acc [8]float32
	for b := 0; b < n/qkK; b++ {
		wb := w[b*sizeQ3_K : (b+1)*sizeQ3_K]
		xb := (*q8K)(x[b*sizeQ8_K:])
		d := q8KScale(xb) * half(wb[108:])
		sc := (*[12]byte)(wb[96:])
		var sumi [8]int32
		for g := 0; g < 8; g++ {
			for l := range sumi {
				var s int32
				for e := 4 * l; e < 4*l+4; e++ {
					q := int32(wb[32+32*(g/4)+e]>>uint(2*(g%4))) & 3
					if wb[e]>>uint(g)&1 == 0 {
						q -= 4
					}
					s += q * int32(int8(xb[4+32*g+e]))
				}
				sumi[l] += gguf.Q3KScale(2*g+l/4, sc) * s
			}
		}
		for l := range acc {
			acc[l] = fma32(d, float32(sumi[l]), acc[l])
		}
	}
	return hsum8(&acc)
}

// refLaneDotK23 is the reference of typ's lane kernel.
func refLaneDotK23(typ gguf.Type, n int, w, x []byte) float32 {
	switch typ {
	case gguf.TypeQ2_K:
		return refLaneDotQ2_K(n, w, x)
	case gguf.TypeQ3_K:
		return refLaneDotQ3_K(n, w, x)
	}
	panic("refLaneDotK23: " + typ.String())
}

var laneK23Types = []gguf.Type{gguf.TypeQ2_K, gguf.TypeQ3_K}

// k23Scales are the offsets of a block's fp16 super-block scales.
func k23Scales(typ gguf.Type) []int {
	if typ == gguf.TypeQ2_K {
		return []int{80, 82} // d, dmin
	}
	return []int{108}
}

// randK23Rows is randKRows for Q2_K and Q3_K: kinds 0-9 as there (from 5
// on, w random bytes with sane f16 scales; from 8 on, x random bytes with
// random bsums), and two extremes: kind 10 every weight byte 0xFF with x
// all −128 and bsums −32768, kind 11 every weight byte 0 with x all −128
// and bsums 32767 (for Q3_K the largest values, then the most negative
// values and scales; the largest pair sums VPMADDUBSW makes).
func randK23Rows(r *rand.Rand, typ gguf.Type, n, kind, rows, xrb int) (w, x []byte) {
	if kind < 10 {
		w, x = randKRows(r, typ, n, kind, rows, xrb)
		if kind < 5 {
			return w, x
		}
		for i := range w {
			w[i] = byte(r.Uint32())
		}
	} else {
		w = make([]byte, rowSize(typ, n))
		xs := rowSize(gguf.TypeQ8_K, n)
		if xrb == 0 {
			xrb = xs
		}
		x = make([]byte, (rows-1)*xrb+xs)
		fill, bsum := byte(0xFF), uint16(0x8000)
		if kind == 11 {
			fill, bsum = 0, 0x7FFF
		}
		for i := range w {
			w[i] = fill
		}
		for i := 0; i < rows; i++ {
			for b := 0; b < n/qkK; b++ {
				xb := x[i*xrb+b*sizeQ8_K : i*xrb+(b+1)*sizeQ8_K]
				binary.LittleEndian.PutUint32(xb, math.Float32bits(float32(r.NormFloat64()*0.01)))
				for j := 4; j < 4+qkK; j++ {
					xb[j] = 0x80
				}
				for j := 0; j < 16; j++ {
					binary.LittleEndian.PutUint16(xb[k23Bsums+2*j:], bsum)
				}
			}
		}
	}
	bs := typ.Traits().TypeSize
	for b := 0; b+bs <= len(w); b += bs {
		for _, o := range k23Scales(typ) {
			binary.LittleEndian.PutUint16(w[b+o:], gguf.Float32ToHalf(float32(r.IntN(2000))/1000-1))
		}
	}
	return w, x
}

// k23Bsums is the offset of a Q8_K block's bsums.
const k23Bsums = 4 + qkK

// TestRefLaneDotK23 checks the references themselves: each is the exact
// dot product of the dequantized rows up to float32 rounding.
func TestRefLaneDotK23(t *testing.T) {
	r := newRand(t)
	for _, typ := range laneK23Types {
		for _, n := range []int{256, 1024, 4096} {
			for kind := 0; kind < 12; kind++ {
				if kind == 8 || kind == 9 {
					continue // random bsums need not match the values
				}
				w, x := randK23Rows(r, typ, n, kind, 1, 0)
				if kind >= 10 {
					// The extremes' bsums are not the values' sums either.
					fixBsums(x, n)
				}
				got := float64(refLaneDotK23(typ, n, w, x))
				wf, xf := make([]float32, n), make([]float32, n)
				typ.Traits().Dequantize(wf, w)
				gguf.TypeQ8_K.Traits().Dequantize(xf, x)
				var exact, mag float64
				for i := range wf {
					exact += float64(wf[i]) * float64(xf[i])
					mag += math.Abs(float64(wf[i]) * float64(xf[i]))
				}
				if math.Abs(got-exact) > 1e-5*mag+1e-30 {
					t.Fatalf("%v n=%d kind=%d: reference %v, exact %v (Σ|wx| %v)", typ, n, kind, got, exact, mag)
				}
			}
		}
	}
}

// fixBsums sets the bsums of the Q8_K row x to the sums of its values.
func fixBsums(x []byte, n int) {
	for b := 0; b < n/qkK; b++ {
		xb := x[b*sizeQ8_K:]
		for j := 0; j < 16; j++ {
			var s int16
			for e := 0; e < 16; e++ {
				s += int16(int8(xb[4+16*j+e]))
			}
			binary.LittleEndian.PutUint16(xb[k23Bsums+2*j:], uint16(s))
		}
	}
}

// TestLaneKernelsK23 checks the Q2_K and Q3_K lane kernels bit for bit
// against the references, with the kernels in use and the AVX2 ones.
func TestLaneKernelsK23(t *testing.T) {
	if checkLaneFamily(t, k23Family) == 0 {
		t.Skip("no Q2_K/Q3_K lane kernels on this CPU (the amd64 assembly needs AVX2, FMA and F16C)")
	}
}

var k23Family = laneFamily{laneK23Types, func(gguf.Type) []int { return []int{256, 512, 768, 2048, 4096} }, 12, randK23Rows, refLaneDotK23}

// BenchmarkLaneDotK23 times the Q2_K and Q3_K lane kernels: one weight row
// of 4096 with one and with four activation rows.
func BenchmarkLaneDotK23(b *testing.B) { benchLaneFamily(b, k23Family) }
