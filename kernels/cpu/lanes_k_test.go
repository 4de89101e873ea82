package cpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/openweights/owl/gguf"
)

// The plain-Go references of ggml's AVX2 K-quant kernels
// (ggml_vec_dot_q*_K_q8_K in ggml-cpu/arch/x86/quants.c), one rounding at a
// time: per super-block eight int32 lanes, lane l the exact sum over the
// eight 32-value groups g of scale(g, l) × Σ_{e=4l..4l+3} q[32g+e]·x[32g+e],
// fused into eight float lanes with d_w·d_x and added at the end as
// hsum_float_8.

// hsum8 is ggml's hsum_float_8.
func hsum8(a *[8]float32) float32 {
	return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
}

// refLaneDotK4 is Q4_K's kernel (five: Q5_K's). The minimums: bsums added
// in 16-bit pairs (VPHADDW wraps), multiplied by the minimums and added in
// pairs (VPMADDWD), four int32; Q4_K fuses them with −d_x·dmin into four
// float lanes added (m0+m2)+(m1+m3) at the end, Q5_K fuses −d_x·dmin times
// their sum into a scalar (FMA).
func refLaneDotK4(n int, w, x []byte, five bool) float32 {
	size, qs := sizeQ4_K, 16
	if five {
		size, qs = sizeQ5_K, 48
	}
	var acc [8]float32
	var accm [4]float32
	var summs float32
	for b := 0; b < n/qkK; b++ {
		wb := w[b*size : (b+1)*size]
		xb := (*q8K)(x[b*sizeQ8_K:])
		yd := q8KScale(xb)
		d := yd * half(wb[0:])
		dmin := -yd * half(wb[2:])
		var sc, m [8]int32
		for j := range sc {
			sc[j], m[j] = gguf.ScaleMinK4(j, (*[12]byte)(wb[4:]))
		}
		var prod [4]int32
		for k := range prod {
			p0 := int16(q8KBsum(xb, 4*k) + q8KBsum(xb, 4*k+1))
			p1 := int16(q8KBsum(xb, 4*k+2) + q8KBsum(xb, 4*k+3))
			prod[k] = m[2*k]*int32(p0) + m[2*k+1]*int32(p1)
		}
		if five {
			summs = fma32(dmin, float32(prod[0]+prod[1]+prod[2]+prod[3]), summs)
		} else {
			for k := range accm {
				accm[k] = fma32(dmin, float32(prod[k]), accm[k])
			}
		}
		var sumi [8]int32
		for g := 0; g < 8; g++ {
			for l := range sumi {
				var s int32
				for e := 4 * l; e < 4*l+4; e++ {
					q := int32(wb[qs+32*(g/2)+e])
					if g%2 == 0 {
						q &= 0xF
					} else {
						q >>= 4
					}
					if five {
						q |= int32(wb[16+e]>>uint(g)&1) << 4
					}
					s += q * int32(int8(xb[4+32*g+e]))
				}
				sumi[l] += sc[g] * s
			}
		}
		for l := range acc {
			acc[l] = fma32(d, float32(sumi[l]), acc[l])
		}
	}
	if five {
		return hsum8(&acc) + summs
	}
	return hsum8(&acc) + ((accm[0] + accm[2]) + (accm[1] + accm[3]))
}

// refLaneDotQ6_K is Q6_K's kernel: group q of half h takes the low nibbles
// of ql[64h:] (q = 0) and ql[64h+32:] (q = 1), their high nibbles (q = 2,
// 3), bits 2q, 2q+1 of qh[32h:] on top; value less 32; values 0-15 of the
// group have scale 8h+2q, values 16-31 scale 8h+2q+1.
func refLaneDotQ6_K(n int, w, x []byte) float32 {
	var acc [8]float32
	for b := 0; b < n/qkK; b++ {
		wb := w[b*sizeQ6_K : (b+1)*sizeQ6_K]
		xb := (*q8K)(x[b*sizeQ8_K:])
		d := q8KScale(xb) * half(wb[208:])
		var sumi [8]int32
		for h := 0; h < 2; h++ {
			for q := 0; q < 4; q++ {
				for l := range sumi {
					var s int32
					for e := 4 * l; e < 4*l+4; e++ {
						lo := int32(wb[64*h+32*(q%2)+e])
						if q >= 2 {
							lo >>= 4
						}
						hi := int32(wb[128+32*h+e]>>uint(2*q)) & 3
						v := (lo&0xF | hi<<4) - 32
						s += v * int32(int8(xb[4+128*h+32*q+e]))
					}
					sumi[l] += int32(int8(wb[192+8*h+2*q+l/4])) * s
				}
			}
		}
		for l := range acc {
			acc[l] = fma32(d, float32(sumi[l]), acc[l])
		}
	}
	return hsum8(&acc)
}

// refLaneDotK is the reference of typ's K-quant lane kernel.
func refLaneDotK(typ gguf.Type, n int, w, x []byte) float32 {
	switch typ {
	case gguf.TypeQ4_K:
		return refLaneDotK4(n, w, x, false)
	case gguf.TypeQ5_K:
		return refLaneDotK4(n, w, x, true)
	case gguf.TypeQ6_K:
		return refLaneDotQ6_K(n, w, x)
	}
	panic("refLaneDotK: " + typ.String())
}

var laneKTypes = []gguf.Type{gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K}

// TestRefLaneDotK checks the references themselves: each is the exact dot
// product of the dequantized rows up to float32 rounding.
func TestRefLaneDotK(t *testing.T) {
	r := newRand(t)
	for _, typ := range laneKTypes {
		for _, n := range []int{256, 1024, 4096} {
			for kind := 0; kind < 8; kind++ { // from kind 8 on, bsums are random
				w, x := randKRows(r, typ, n, kind, 1, 0)
				got := float64(refLaneDotK(typ, n, w, x))
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

// randKRows returns one row of typ and rows rows of Q8_K, xrb bytes apart
// (xrb 0: packed). Kinds 0-4 quantize randRow's distributions; kinds 5-9
// take random bytes for w (sane f16 d and dmin) and, from kind 8 on, for x
// too (a sane float32 d; bsums then need not match the values, and may
// overflow in ggml's 16-bit pair sums, which the kernels must copy).
func randKRows(r *rand.Rand, typ gguf.Type, n, kind, rows, xrb int) (w, x []byte) {
	w = make([]byte, rowSize(typ, n))
	if kind < 5 {
		typ.Traits().Quantize(w, randRow(r, n, kind))
	} else {
		for i := range w {
			w[i] = byte(r.Uint32())
		}
		bs := typ.Traits().TypeSize
		for b := 0; b+bs <= len(w); b += bs {
			offs := []int{0, 2} // Q4_K, Q5_K: d, dmin
			if typ == gguf.TypeQ6_K {
				offs = []int{208}
			}
			for _, o := range offs {
				binary.LittleEndian.PutUint16(w[b+o:], gguf.Float32ToHalf(float32(r.IntN(2000))/1000-1))
			}
		}
	}
	xs := rowSize(gguf.TypeQ8_K, n)
	if xrb == 0 {
		xrb = xs
	}
	x = make([]byte, (rows-1)*xrb+xs)
	for i := 0; i < rows; i++ {
		xi := x[i*xrb : i*xrb+xs]
		if kind < 8 {
			gguf.TypeQ8_K.Traits().Quantize(xi, randRow(r, n, kind+i))
			continue
		}
		for j := range xi {
			xi[j] = byte(r.Uint32())
		}
		for b := 0; b < n/qkK; b++ {
			binary.LittleEndian.PutUint32(xi[b*sizeQ8_K:], math.Float32bits(float32(r.NormFloat64()*0.01)))
		}
	}
	return w, x
}

// TestLaneKernelsK checks the K-quant lane kernels (dot, tile4 with one
// row and more) bit for bit against the references, with the kernels in
// use and the AVX2 ones.
func TestLaneKernelsK(t *testing.T) {
	if checkLaneFamily(t, kFamily) == 0 {
		t.Skip("no K-quant lane kernels on this CPU (the amd64 assembly needs AVX2, FMA and F16C)")
	}
}

// BenchmarkLaneDotK times the K-quant lane kernels: one weight row of 4096
// with one and with four activation rows.
func BenchmarkLaneDotK(b *testing.B) { benchLaneFamily(b, kFamily) }

// TestLaneTile8K checks the K-quant eight-row tiles (Q2_K to Q6_K) bit for
// bit against the references, on quantized rows and rows of random bytes
// (bsum pairs that wrap).
func TestLaneTile8K(t *testing.T) {
	r := newRand(t)
	tested := 0
	for _, f := range []laneFamily{kFamily, k23Family} {
		for _, typ := range f.types {
			if checkTile8K(t, r, typ, f) {
				tested++
			}
		}
	}
	if tested == 0 {
		t.Skip("no K-quant eight-row tiles on this CPU (they need AVX512-VNNI and AVX512BW)")
	}
}

// checkTile8K checks typ's eight-row tile, when the CPU has one, against
// f's reference on f's random rows, and says whether it did.
func checkTile8K(t *testing.T, r *rand.Rand, typ gguf.Type, f laneFamily) bool {
	t.Helper()
	k, ok := laneKernels[typ]
	if !ok || k.tile8 == nil {
		return false
	}
	for _, n := range []int{256, 768, 2048} {
		for kind := 0; kind < 10; kind++ {
			xrb := rowSize(gguf.TypeQ8_K, n)
			_, xs := f.randRows(r, typ, n, kind, 8, xrb)
			xi := make([]byte, k.layout8.xiLen(n))
			side := make([]float32, k.layout8.sideLen(n))
			for i := 0; i < 8; i++ {
				k.layout8.write(xi, side, i, xs[i*xrb:(i+1)*xrb], n)
			}
			rows := 1 + r.IntN(5)
			wlen := rowSize(typ, n)
			wrb := wlen + 2*r.IntN(3)
			ws := make([]byte, (rows-1)*wrb+wlen)
			for j := 0; j < rows; j++ {
				wj, _ := f.randRows(r, typ, n, kind, 1, 0)
				copy(ws[j*wrb:], wj)
			}
			dstride := rows + r.IntN(3)
			dst := make([]float32, 7*dstride+rows)
			k.tile8(n, ws, wrb, rows, xi, side, dst, dstride)
			for j := 0; j < rows; j++ {
				for i := 0; i < 8; i++ {
					want := f.ref(typ, n, ws[j*wrb:j*wrb+wlen], xs[i*xrb:])
					if got := dst[i*dstride+j]; math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("%v n=%d kind=%d: tile8 w row %d x row %d: %v, reference %v", typ, n, kind, j, i, got, want)
					}
				}
			}
		}
	}
	return true
}

// laneFamily is a set of lane kernels without side floats (K, Q2_K/Q3_K,
// IQ4): their types, row lengths, kinds of random rows, and references.
type laneFamily struct {
	types    []gguf.Type
	lengths  func(typ gguf.Type) []int
	kinds    int
	randRows func(r *rand.Rand, typ gguf.Type, n, kind, rows, xrb int) (w, x []byte)
	ref      func(typ gguf.Type, n int, w, x []byte) float32
}

var kFamily = laneFamily{laneKTypes, func(gguf.Type) []int { return []int{256, 512, 768, 2048, 4096} }, 10, randKRows, refLaneDotK}

// checkLaneFamily checks f's kernels, in use and AVX2, bit for bit against
// its reference: a tile of the row of w and up to four more against four
// rows of x, one row with dot, and one row of w with tile4. It returns how
// many kernels it checked.
func checkLaneFamily(t *testing.T, f laneFamily) int {
	t.Helper()
	r := newRand(t)
	sets := map[string]map[gguf.Type]laneKernel{"in use": laneKernels, "AVX2": avx2Kernels}
	tested := 0
	for name, set := range sets {
		for _, typ := range f.types {
			k, ok := set[typ]
			if !ok {
				continue
			}
			tested++
			if k.dotRows != nil {
				t.Fatalf("%s %v: kernel reads side floats", name, typ)
			}
			xt := traits[typ].VecDotType
			for _, n := range f.lengths(typ) {
				for kind := 0; kind < f.kinds; kind++ {
					xrb := rowSize(xt, n) + 4*r.IntN(3)
					w, xs := f.randRows(r, typ, n, kind, 4, xrb)
					rows := 1 + r.IntN(5)
					wrb := len(w) + 2*r.IntN(3)
					ws := make([]byte, (rows-1)*wrb+len(w))
					copy(ws, w)
					for j := 1; j < rows; j++ {
						wj, _ := f.randRows(r, typ, n, kind, 1, 0)
						copy(ws[j*wrb:], wj)
					}
					dstride := rows + r.IntN(3)
					dst := make([]float32, 3*dstride+rows)
					k.tile4(n, ws, wrb, rows, xs, xrb, nil, dst, dstride)
					for j := 0; j < rows; j++ {
						for i := 0; i < 4; i++ {
							want := f.ref(typ, n, ws[j*wrb:j*wrb+len(w)], xs[i*xrb:])
							if got := dst[i*dstride+j]; math.Float32bits(got) != math.Float32bits(want) {
								t.Fatalf("%s %v n=%d kind=%d: tile4 w row %d x row %d: %v, reference %v", name, typ, n, kind, j, i, got, want)
							}
						}
					}
					var out [4]float32
					dot4(k, n, w, xs, xrb, nil, &out)
					for i := 0; i < 4; i++ {
						xi := xs[i*xrb:]
						want := f.ref(typ, n, w, xi)
						if got := k.dot(n, w, xi); math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%s %v n=%d kind=%d row %d: dot %v (%#x), reference %v (%#x)", name, typ, n, kind, i, got, math.Float32bits(got), want, math.Float32bits(want))
						}
						if math.Float32bits(out[i]) != math.Float32bits(want) {
							t.Fatalf("%s %v n=%d kind=%d row %d: dot4 %v (%#x), reference %v (%#x)", name, typ, n, kind, i, out[i], math.Float32bits(out[i]), want, math.Float32bits(want))
						}
					}
				}
			}
		}
	}
	return tested
}

// benchLaneFamily times f's kernels in use: one weight row of 4096 with
// one and with four activation rows.
func benchLaneFamily(b *testing.B, f laneFamily) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 4096
	for _, typ := range f.types {
		k, ok := laneKernels[typ]
		if !ok {
			continue
		}
		xrb := rowSize(traits[typ].VecDotType, n)
		w, xs := f.randRows(r, typ, n, 0, 4, xrb)
		b.Run(typ.String()+"/dot", func(b *testing.B) {
			for b.Loop() {
				k.dot(n, w, xs)
			}
		})
		b.Run(typ.String()+"/dot4", func(b *testing.B) {
			var out [4]float32
			for b.Loop() {
				dot4(k, n, w, xs, xrb, nil, &out)
			}
		})
	}
}
