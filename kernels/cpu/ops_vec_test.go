package cpu

import (
	"math"
	"math/big"
	"testing"

	"github.com/openweights/owl/gguf"
)

// TestVecExpSiLU checks the eight-lane expf and SiLU (assembly on amd64)
// bit for bit against the scalar expf and silu on random values across
// the whole range, the slow |n| > 126 and > 192 lanes and special values,
// at lengths that leave a scalar tail.
func TestVecExpSiLU(t *testing.T) {
	r := newRand(t)
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 87.3, 88.5, 89, -87.3, -88.5, -103, -104, -105, -126, -150,
		-200, 200, float32(math.Inf(-1)), float32(math.Inf(1)), 0x1p-130, -0x1p-130, math.MaxFloat32, -math.MaxFloat32}
	for _, n := range []int{1, 7, 8, 9, 64, 1000, 4099} {
		x := make([]float32, n)
		up := make([]float32, n)
		for i := range x {
			switch r.IntN(4) {
			case 0:
				x[i] = float32(r.NormFloat64())
			case 1:
				x[i] = float32(r.Float64()*400 - 200)
			case 2:
				x[i] = special[r.IntN(len(special))]
			default:
				x[i] = float32(r.Float64()*40 - 20)
			}
			up[i] = float32(r.NormFloat64())
		}
		m := float32(r.Float64()*4 - 2)
		gotE := make([]float32, n)
		gotS := make([]float32, n)
		expSubVec(gotE, x, m)
		siluMulVec(gotS, x, up)
		for i, v := range x {
			if want := expf(v - m); !sameFloat(gotE[i], want) {
				t.Fatalf("n=%d: expf(%g - %g): vector %g (%#x), scalar %g (%#x)", n, v, m, gotE[i], math.Float32bits(gotE[i]), want, math.Float32bits(want))
			}
			if want := silu(v) * up[i]; !sameFloat(gotS[i], want) {
				t.Fatalf("n=%d: silu(%g)·%g: vector %g, scalar %g", n, v, up[i], gotS[i], want)
			}
		}
	}
}

// sameFloat is bit equality, with every NaN equal to every other.
func sameFloat(a, b float32) bool {
	if a != a && b != b {
		return true
	}
	return math.Float32bits(a) == math.Float32bits(b)
}

// TestFMA32 checks fma32 against an exact big.Float computation rounded
// once, on random operands and on constructed halfway cases, where a
// float64 FMA rounded again to float32 would be wrong.
func TestFMA32(t *testing.T) {
	r := newRand(t)
	check := func(a, b, c float32) {
		t.Helper()
		want := exactFMA32(a, b, c)
		if got := fma32(a, b, c); !sameFloat(got, want) {
			t.Fatalf("fma32(%g, %g, %g) = %g, exact %g", a, b, c, got, want)
		}
	}
	for i := 0; i < 100000; i++ {
		a := float32(r.NormFloat64())
		b := float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-20)))
		c := float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-20)))
		check(a, b, c)
	}
	// c = 1+2^-23 (odd last bit) and a·b = 2^-24·(1-2^-46): the float64
	// sum rounds up to the float32 midpoint 1+2^-23+2^-24, which rounds to
	// even, up, where the exact sum rounds down.
	a, b := float32(1+0x1p-23), float32((1-0x1p-23)*0x1p-24)
	check(a, b, 1+0x1p-23)
	check(-a, b, -(1 + 0x1p-23))
	if float32(math.FMA(float64(a), float64(b), 1+0x1p-23)) == exactFMA32(a, b, 1+0x1p-23) {
		t.Fatal("the halfway case does not trip a float64 FMA: the test is not testing it")
	}
}

func exactFMA32(a, b, c float32) float32 {
	var p, s big.Float
	p.SetPrec(200).Mul(new(big.Float).SetFloat64(float64(a)), new(big.Float).SetFloat64(float64(b)))
	s.SetPrec(200).Add(&p, new(big.Float).SetFloat64(float64(c)))
	f, _ := s.Float32()
	return f
}

// TestVecF16 checks the attention loops over an F16 cache (assembly on
// amd64) bit for bit against their one-element references in tinyBLAS's
// order: the scores of one query against n keys, and P·V into the eight
// position-mod-8 slots from a starting position, for head sizes with and
// without the assembly's multiples and keys spaced wider than a head. The
// reference dot is checked against an exact float64 sum.
func TestVecF16(t *testing.T) {
	r := newRand(t)
	for _, hd := range []int{8, 24, 32, 64, 96, 128, 256, 40, 7} {
		for _, n := range []int{1, 3, 4, 8, 17, 40} {
			stride := hd + 8*r.IntN(3)
			kv := make([]uint16, (n-1)*stride+hd)
			for i := range kv {
				kv[i] = gguf.Float32ToHalf(float32(r.NormFloat64() * 4))
			}
			q := make([]float32, hd)
			for i := range q {
				q[i] = float32(r.NormFloat64())
			}
			sc := make([]float32, n)
			qkF16(sc, kv, stride, q)
			for j := range sc {
				key := kv[j*stride:][:hd]
				want := dot8F16(key, q)
				if !sameFloat(sc[j], want) {
					t.Fatalf("hd=%d n=%d: score %d = %g, reference %g", hd, n, j, sc[j], want)
				}
				var exact, mag float64
				for d, h := range key {
					exact += float64(f16Table[h]) * float64(q[d])
					mag += math.Abs(float64(f16Table[h]) * float64(q[d]))
				}
				if math.Abs(float64(want)-exact) > 1e-6*mag {
					t.Fatalf("hd=%d: reference %g, exact %g", hd, want, exact)
				}
			}
			p := make([]float32, n)
			for j := range p {
				p[j] = float32(r.Float64())
			}
			pos0 := r.IntN(20)
			got := make([]float32, 8*hd)
			want := make([]float32, 8*hd)
			for i := range got {
				got[i] = float32(r.NormFloat64())
				want[i] = got[i]
			}
			pvF16(got, p, kv, stride, pos0)
			pvF16Ref(want, p, kv, stride, pos0)
			for i := range want {
				if !sameFloat(got[i], want[i]) {
					t.Fatalf("hd=%d n=%d pos0=%d: slot %d[%d] = %g, want %g", hd, n, pos0, i/hd, i%hd, got[i], want[i])
				}
			}
			accGot, accWant := make([]float32, hd), make([]float32, hd)
			hsum8Rows(accGot, got)
			hsum8RowsRef(accWant, got)
			for d := range accWant {
				if !sameFloat(accGot[d], accWant[d]) {
					t.Fatalf("hd=%d: hsum8Rows[%d] = %g, reference %g", hd, d, accGot[d], accWant[d])
				}
			}
			// The one-pass form from cleared slots.
			clear(want)
			pvF16Ref(want, p, kv, stride, pos0)
			hsum8RowsRef(accWant, want)
			pvSumF16(accGot, got, p, kv, stride, pos0)
			for d := range accWant {
				if !sameFloat(accGot[d], accWant[d]) {
					t.Fatalf("hd=%d n=%d pos0=%d: pvSumF16[%d] = %g, reference %g", hd, n, pos0, d, accGot[d], accWant[d])
				}
			}
		}
	}
}

// TestVecToF16 checks the eight-lane binary16 conversions (F16C on amd64)
// against gguf.Float32ToHalf on values across binary16's range: normal,
// subnormal, underflowing, overflowing, exact ties and infinities.
func TestVecToF16(t *testing.T) {
	r := newRand(t)
	for _, n := range []int{1, 7, 8, 9, 64, 1001} {
		x := make([]float32, n)
		for i := range x {
			switch r.IntN(6) {
			case 0:
				x[i] = float32(r.NormFloat64() * 1e-6) // subnormal binary16
			case 1:
				x[i] = float32(r.NormFloat64() * 1e5) // beyond 65504 at times
			case 2:
				// halfway between two binary16 values
				h := uint16(r.IntN(0x7bff))
				x[i] = (gguf.HalfToFloat32(h) + gguf.HalfToFloat32(h+1)) / 2
			case 3:
				x[i] = float32(math.Inf(1 - 2*r.IntN(2)))
			case 4:
				x[i] = float32(r.NormFloat64() * 1e-9) // underflows to zero
			default:
				x[i] = float32(r.NormFloat64())
			}
		}
		gotH := make([]uint16, n)
		gotF := make([]float32, n)
		toF16Vec(gotH, x)
		roundF16Vec(gotF, x)
		for i, v := range x {
			want := gguf.Float32ToHalf(v)
			if gotH[i] != want {
				t.Fatalf("n=%d: toF16(%g) = %#04x, Float32ToHalf %#04x", n, v, gotH[i], want)
			}
			if !sameFloat(gotF[i], f16Table[want]) {
				t.Fatalf("n=%d: roundF16(%g) = %g, want %g", n, v, gotF[i], f16Table[want])
			}
		}
	}
}

// TestRopeRotate checks the assembly rotation against ropeRotateRef bit
// for bit, both layouts, on lengths with and without a scalar tail.
func TestRopeRotate(t *testing.T) {
	r := newRand(t)
	for _, neox := range []bool{false, true} {
		for _, dims := range []int{2, 6, 8, 16, 22, 64, 128, 130} {
			per := 2
			if neox {
				per = 1
			}
			n := dims / 2 * per
			cs, sn := randRow(r, n, 0), randRow(r, n, 1)
			if !neox { // one angle per pair, repeated for its two elements
				for k := 0; k < n; k += 2 {
					cs[k+1], sn[k+1] = cs[k], sn[k]
				}
			}
			row := randRow(r, dims, 2)
			want := append([]float32(nil), row...)
			ropeRotateRef(want, cs, sn, neox, 0)
			ropeRotate(row, cs, sn, neox)
			for i := range row {
				if math.Float32bits(row[i]) != math.Float32bits(want[i]) {
					t.Fatalf("neox=%v dims=%d: element %d = %v, reference %v", neox, dims, i, row[i], want[i])
				}
			}
		}
	}
}
