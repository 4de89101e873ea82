package cpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/openweights/owl/gguf"
)

// The plain-Go references of ggml's AVX2 IQ4 kernels
// (ggml_vec_dot_iq4_nl_q8_0 and ggml_vec_dot_iq4_xs_q8_K in
// ggml-cpu/arch/x86/quants.c), one rounding at a time.

// iq4Level is value e (0-31) of the 32-value IQ4 block whose nibbles are
// qs: low nibbles first, then high ones.
func iq4Level(qs []byte, e int) int32 {
	v := qs[e%16]
	if e >= 16 {
		v >>= 4
	}
	return int32(kvaluesIQ4NL[v&0xF])
}

// mulAddEpi8 is one product of ggml's mul_add_epi8: |w| times y with w's
// sign, negated in int8 (VPSIGNB), so that y = -128 stays -128 when w < 0.
func mulAddEpi8(w int32, y byte) int32 {
	sy := int8(y)
	if w < 0 {
		w, sy = -w, -sy
	}
	return w * int32(sy)
}

// refDotIQ4_NL is ggml's AVX2 IQ4_NL kernel: blocks in pairs, block 2i
// fused into eight float lanes acc1 and block 2i+1 into acc2, lane l the
// exact integer sum of values 4l..4l+3 times d_x·d_w; hsum_float_8 of
// acc1+acc2; then an odd last block as a scalar: its exact dot (true
// products) fused with d_x·d_w into the sum.
func refDotIQ4_NL(n int, w, x []byte) float32 {
	nb := n / qk
	var acc [2][8]float32
	ib := 0
	for ; ib+1 < nb; ib += 2 {
		for h := 0; h < 2; h++ {
			wb := w[(ib+h)*sizeQ4_0:]
			xb := x[(ib+h)*sizeQ8_0:]
			d := half(xb) * half(wb)
			for l := range acc[h] {
				var s int32
				for e := 4 * l; e < 4*l+4; e++ {
					s += mulAddEpi8(iq4Level(wb[2:18], e), xb[2+e])
				}
				acc[h][l] = fma32(d, float32(s), acc[h][l])
			}
		}
	}
	var sum [8]float32
	for l := range sum {
		sum[l] = acc[0][l] + acc[1][l]
	}
	sumf := hsum8(&sum)
	if ib < nb {
		wb := w[ib*sizeQ4_0:]
		xb := x[ib*sizeQ8_0:]
		d := half(xb) * half(wb)
		var s int32
		for e := 0; e < qk; e++ {
			s += iq4Level(wb[2:18], e) * int32(int8(xb[2+e]))
		}
		sumf = fma32(d, float32(s), sumf)
	}
	return sumf
}

// refDotIQ4_XS is ggml's AVX2 IQ4_XS kernel: per super-block, lane l the
// exact sum over the eight blocks j of (scale_j − 32) × the products of
// values 4l..4l+3, fused with d_w·d_x into eight float lanes added at the
// end as hsum_float_8.
func refDotIQ4_XS(n int, w, x []byte) float32 {
	var acc [8]float32
	for b := 0; b < n/qkK; b++ {
		wb := w[b*sizeIQ4_XS : (b+1)*sizeIQ4_XS]
		xb := (*q8K)(x[b*sizeQ8_K:])
		d := half(wb) * q8KScale(xb)
		sh := uint32(binary.LittleEndian.Uint16(wb[2:]))
		var isum [8]int32
		for j := 0; j < 8; j++ {
			ls := int32(wb[4+j/2]>>(4*uint(j%2)))&0xF | int32(sh>>(2*uint(j))&3)<<4 - 32
			for l := range isum {
				var s int32
				for e := 4 * l; e < 4*l+4; e++ {
					s += mulAddEpi8(iq4Level(wb[8+16*j:8+16*j+16], e), xb[4+32*j+e])
				}
				isum[l] += ls * s
			}
		}
		for l := range acc {
			acc[l] = fma32(d, float32(isum[l]), acc[l])
		}
	}
	return hsum8(&acc)
}

func refDotIQ4(typ gguf.Type, n int, w, x []byte) float32 {
	if typ == gguf.TypeIQ4_NL {
		return refDotIQ4_NL(n, w, x)
	}
	return refDotIQ4_XS(n, w, x)
}

var laneIQ4Types = []gguf.Type{gguf.TypeIQ4_NL, gguf.TypeIQ4_XS}

// iq4Lengths are the row lengths tested: for IQ4_NL, odd block counts
// (one block alone, a pair and a tail) as well as even ones.
func iq4Lengths(typ gguf.Type) []int {
	if typ == gguf.TypeIQ4_NL {
		return []int{32, 64, 96, 256, 608, 1536, 4128}
	}
	return []int{256, 512, 768, 2048}
}

// randIQ4Rows returns one row of typ and rows rows of its activation type
// (Q8_0 or Q8_K), xrb bytes apart (xrb 0: packed). Kinds 0-4 quantize
// randRow's distributions; kinds 5-9 take random bytes for w (a sane f16
// d) and, from kind 8 on, for x too (a sane scale; values may be -128,
// which no quantizer writes but the kernels must handle as ggml does).
func randIQ4Rows(r *rand.Rand, typ gguf.Type, n, kind, rows, xrb int) (w, x []byte) {
	w = make([]byte, rowSize(typ, n))
	bs := typ.Traits().TypeSize
	if kind < 5 {
		typ.Traits().Quantize(w, randRow(r, n, kind))
	} else {
		for i := range w {
			w[i] = byte(r.Uint32())
		}
		for b := 0; b+bs <= len(w); b += bs {
			binary.LittleEndian.PutUint16(w[b:], gguf.Float32ToHalf(float32(r.IntN(2000))/1000-1))
		}
	}
	xt := traits[typ].VecDotType
	xs := rowSize(xt, n)
	if xrb == 0 {
		xrb = xs
	}
	x = make([]byte, (rows-1)*xrb+xs)
	for i := 0; i < rows; i++ {
		xi := x[i*xrb : i*xrb+xs]
		if kind < 8 {
			xt.Traits().Quantize(xi, randRow(r, n, kind+i))
			continue
		}
		for j := range xi {
			xi[j] = byte(r.Uint32())
		}
		if xt == gguf.TypeQ8_K {
			for b := 0; b < n/qkK; b++ {
				binary.LittleEndian.PutUint32(xi[b*sizeQ8_K:], math.Float32bits(float32(r.NormFloat64()*0.01)))
			}
		} else {
			for b := 0; b < n/qk; b++ {
				binary.LittleEndian.PutUint16(xi[b*sizeQ8_0:], gguf.Float32ToHalf(float32(r.NormFloat64()*0.01)))
			}
		}
	}
	return w, x
}

// TestRefDotIQ4 checks the references themselves: each is the exact dot
// product of the dequantized rows up to float32 rounding (x quantized, so
// no -128 values).
func TestRefDotIQ4(t *testing.T) {
	r := newRand(t)
	for _, typ := range laneIQ4Types {
		xt := traits[typ].VecDotType
		for _, n := range iq4Lengths(typ) {
			for kind := 0; kind < 8; kind++ {
				w, x := randIQ4Rows(r, typ, n, kind, 1, 0)
				got := float64(refDotIQ4(typ, n, w, x))
				wf, xf := make([]float32, n), make([]float32, n)
				typ.Traits().Dequantize(wf, w)
				xt.Traits().Dequantize(xf, x)
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

// TestRefDotIQ4Order checks that the references pin ggml's order where it
// matters: IQ4_NL's separate odd-block lanes and scalar tail, and the sign
// quirk of x = -128, each give other bits than the alternatives on some
// rows.
func TestRefDotIQ4Order(t *testing.T) {
	r := newRand(t)
	const n = 96 // a pair and a tail
	var pairs, tail bool
	for i := 0; i < 200 && !(pairs && tail); i++ {
		w, x := randIQ4Rows(r, gguf.TypeIQ4_NL, n, 5, 1, 0)
		want := refDotIQ4_NL(n, w, x)
		// One set of lanes for all blocks, the tail through the lanes too.
		var acc [8]float32
		for b := 0; b < n/qk; b++ {
			d := half(x[b*sizeQ8_0:]) * half(w[b*sizeQ4_0:])
			for l := range acc {
				var s int32
				for e := 4 * l; e < 4*l+4; e++ {
					s += iq4Level(w[b*sizeQ4_0+2:], e) * int32(int8(x[b*sizeQ8_0+2+e]))
				}
				acc[l] = fma32(d, float32(s), acc[l])
			}
		}
		if math.Float32bits(hsum8(&acc)) != math.Float32bits(want) {
			pairs = true
		}
		// The tail unfused.
		var s int32
		for e := 0; e < qk; e++ {
			s += iq4Level(w[2*sizeQ4_0+2:], e) * int32(int8(x[2*sizeQ8_0+2+e]))
		}
		d := half(x[2*sizeQ8_0:]) * half(w[2*sizeQ4_0:])
		head := refDotIQ4_NL(64, w, x)
		if math.Float32bits(head+float32(d*float32(s))) != math.Float32bits(want) {
			tail = true
		}
	}
	if !pairs || !tail {
		t.Fatalf("IQ4_NL reference indistinguishable from another order: lanes %v, tail %v", pairs, tail)
	}
	// -5 · -128 is 640; VPSIGNB negates -128 to -128, so ggml gets -640.
	if mulAddEpi8(-5, 0x80) != -640 || mulAddEpi8(5, 0x80) != -640 || mulAddEpi8(-5, 3) != -15 || mulAddEpi8(-5, 0xfd) != 15 {
		t.Fatalf("mulAddEpi8 does not copy VPSIGNB")
	}
}

// TestLaneKernelsIQ4 checks the IQ4 lane kernels bit for bit against the
// references, with the kernels in use and the AVX2 ones.
func TestLaneKernelsIQ4(t *testing.T) {
	if checkLaneFamily(t, iq4Family) == 0 {
		t.Skip("no IQ4 lane kernels on this CPU (the amd64 assembly needs AVX2, FMA and F16C)")
	}
}

var iq4Family = laneFamily{laneIQ4Types, iq4Lengths, 10, randIQ4Rows, refDotIQ4}

// BenchmarkLaneDotIQ4 times the IQ4 lane kernels: one weight row of 4096
// with one and with four activation rows.
func BenchmarkLaneDotIQ4(b *testing.B) { benchLaneFamily(b, iq4Family) }
