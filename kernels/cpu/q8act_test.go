package cpu

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/openweights/owl/gguf"
)

// q8Case is one block of activations and the int8 values ggml's x86
// quantize_row_q8_0/q8_1 give it, worked out by hand.
type q8Case struct {
	name  string
	x     map[int]float32 // non-zero elements; the rest of the 32 are 0
	d     float32
	want  map[int]int8 // non-zero quants
	refQs map[int]int8 // where gguf's reference quantizer differs
}

func f32bits(b uint32) float32 { return math.Float32frombits(b) }

var q8Cases = []q8Case{
	{
		name: "zero block",
		x:    map[int]float32{},
		d:    0,
		want: map[int]int8{},
	},
	{
		// amax 127: d = 1 and the multiplier is 1, so each value is its
		// own scaled value; ties go to the even neighbour.
		name:  "ties to even",
		x:     map[int]float32{0: 127, 1: 0.5, 2: 1.5, 3: 2.5, 4: -0.5, 5: -1.5, 6: -2.5, 7: 3.49, 8: -126.5, 31: 125.5},
		d:     1,
		want:  map[int]int8{0: 127, 2: 2, 3: 2, 5: -2, 6: -2, 7: 3, 8: -126, 31: 126},
		refQs: map[int]int8{1: 1, 3: 3, 4: -1, 6: -3, 8: -127},
	},
	{
		// amax -254 (sign ignored): d = 2, multiplier 0.5.
		name:  "halved",
		x:     map[int]float32{0: -254, 1: 3, 2: 5, 3: 7, 4: -9},
		d:     2,
		want:  map[int]int8{0: -127, 1: 2, 2: 2, 3: 4, 4: -4},
		refQs: map[int]int8{2: 3, 4: -5},
	},
	{
		// amax 0.3f (0x3e99999a): 127/amax = 423.3333f but 1/(amax/127) =
		// 423.33334f. 0x3b6836d4 scales to 1.4999999 (→ 1) with the first,
		// 1.5 (→ 2) with the second; 0x3bc18307 scales to exactly 2.5 (→ 2,
		// even) with the first, 2.5000002 (→ 3) with the second.
		name:  "multiplier 127/amax",
		x:     map[int]float32{0: f32bits(0x3e99999a), 1: f32bits(0x3b6836d4), 2: f32bits(0x3bc18307)},
		d:     f32bits(0x3e99999a) / 127,
		want:  map[int]int8{0: 127, 1: 1, 2: 2},
		refQs: map[int]int8{1: 2, 2: 3},
	},
}

func (c *q8Case) block() []float32 {
	x := make([]float32, q8Block)
	for i, v := range c.x {
		x[i] = v
	}
	return x
}

func (c *q8Case) quants(m map[int]int8) []int8 {
	q := make([]int8, q8Block)
	for i, v := range m {
		q[i] = v
	}
	return q
}

func TestFromFloatQ8(t *testing.T) {
	for _, c := range q8Cases {
		t.Run(c.name, func(t *testing.T) {
			x := c.block()
			want := c.quants(c.want)
			wantD := gguf.Float32ToHalf(c.d)
			var sum int32
			for _, q := range want {
				sum += int32(q)
			}
			wantS := gguf.Float32ToHalf(c.d * float32(sum))

			b0 := make([]byte, 2+q8Block)
			fromFloatQ8_0(b0, x)
			b1 := make([]byte, 4+q8Block)
			fromFloatQ8_1(b1, x)
			if d := binary.LittleEndian.Uint16(b0); d != wantD {
				t.Errorf("Q8_0 d %#04x, want %#04x", d, wantD)
			}
			if d, s := binary.LittleEndian.Uint16(b1), binary.LittleEndian.Uint16(b1[2:]); d != wantD || s != wantS {
				t.Errorf("Q8_1 d, s %#04x, %#04x, want %#04x, %#04x", d, s, wantD, wantS)
			}
			for i := range want {
				if q := int8(b0[2+i]); q != want[i] {
					t.Errorf("Q8_0 element %d (%g): %d, want %d", i, x[i], q, want[i])
				}
				if q := int8(b1[4+i]); q != want[i] {
					t.Errorf("Q8_1 element %d (%g): %d, want %d", i, x[i], q, want[i])
				}
			}

			// The cases are chosen where the reference quantizer (gguf's,
			// for files) rounds otherwise: check that it does, so that the
			// cases test the difference.
			ref := make([]byte, 2+q8Block)
			gguf.TypeQ8_0.Traits().Quantize(ref, x)
			for i := range want {
				w := want[i]
				if r, ok := c.refQs[i]; ok {
					w = r
				}
				if q := int8(ref[2+i]); q != w {
					t.Errorf("reference element %d (%g): %d, the case expects %d", i, x[i], q, w)
				}
			}
		})
	}
}

// TestFromFloatQ8Random checks random rows block by block: each quant is
// within half a step of its value (plus rounding of the multiplier), the
// extreme maps to ±127, and Q8_0 and Q8_1 agree.
func TestFromFloatQ8Random(t *testing.T) {
	r := newRand(t)
	const n = 64 * q8Block
	x := make([]float32, n)
	b0 := make([]byte, n/q8Block*(2+q8Block))
	b1 := make([]byte, n/q8Block*(4+q8Block))
	for iter := 0; iter < 50; iter++ {
		scale := float32(math.Exp(r.NormFloat64() * 4))
		for i := range x {
			x[i] = float32(r.NormFloat64()) * scale
		}
		fromFloatQ8_0(b0, x)
		fromFloatQ8_1(b1, x)
		for blk := 0; blk < n/q8Block; blk++ {
			xs := x[blk*q8Block : (blk+1)*q8Block]
			q0 := b0[blk*(2+q8Block)+2 : (blk+1)*(2+q8Block)]
			q1 := b1[blk*(4+q8Block)+4 : (blk+1)*(4+q8Block)]
			var amax float32
			for _, v := range xs {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
			id := 127 / amax
			var sum int32
			for i, v := range xs {
				q := int8(q0[i])
				if int8(q1[i]) != q {
					t.Fatalf("block %d element %d: Q8_0 %d, Q8_1 %d", blk, i, q, int8(q1[i]))
				}
				sum += int32(q)
				if e := math.Abs(float64(v*id) - float64(q)); e > 0.5 {
					t.Fatalf("block %d element %d: %g·%g = %g quantized to %d", blk, i, v, id, v*id, q)
				}
				if math.Abs(float64(v)) == float64(amax) && (q != 127 && q != -127) {
					t.Fatalf("block %d: the extreme %g quantized to %d", blk, v, q)
				}
			}
			d := gguf.HalfToFloat32(binary.LittleEndian.Uint16(b1[blk*(4+q8Block):]))
			s := binary.LittleEndian.Uint16(b1[blk*(4+q8Block)+2:])
			if want := gguf.Float32ToHalf(amax / 127 * float32(sum)); s != want {
				t.Fatalf("block %d: s %#04x, want %#04x (d %g, Σq %d)", blk, s, want, d, sum)
			}
		}
	}
}

// TestTraitsQ8Converters checks that the backend converts activations for
// Q8_0 and Q8_1 dot products with the x86 converters and for Q8_K with
// gguf's reference one.
func TestTraitsQ8Converters(t *testing.T) {
	x := (&q8Cases[1]).block()
	for _, wt := range []gguf.Type{gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ8_0, gguf.TypeIQ4_NL} {
		tr := TypeTraits(wt)
		size := 2 + q8Block
		if tr.VecDotType == gguf.TypeQ8_1 {
			size = 4 + q8Block
		}
		got, want := make([]byte, size), make([]byte, size)
		tr.FromFloat(got, x)
		if tr.VecDotType == gguf.TypeQ8_1 {
			fromFloatQ8_1(want, x)
		} else {
			fromFloatQ8_0(want, x)
		}
		if string(got) != string(want) {
			t.Errorf("%v: activations converted to %v as % x, want % x", wt, tr.VecDotType, got, want)
		}
	}
}

// TestFromFloatQ8Asm checks the assembly converters (where the CPU runs
// them) byte for byte against the Go ones on random rows of many scales,
// with all-zero blocks, exact halves after scaling and tiny (subnormal
// binary16) scales.
func TestFromFloatQ8Asm(t *testing.T) {
	if !hasAVX2 {
		t.Skip("the Q8 converters' assembly needs AVX2 (and amd64)")
	}
	r := newRand(t)
	for iter := 0; iter < 300; iter++ {
		n := q8Block * (1 + r.IntN(64))
		x := make([]float32, n)
		scale := float32(math.Exp(r.NormFloat64() * 6))
		ties := iter%3 == 0
		if ties {
			// A power-of-two scale and every block's amax pinned to
			// 127·scale make x·id = k + 0.5 exactly: round-to-even ties.
			scale = float32(math.Ldexp(1, r.IntN(40)-20))
		}
		for i := range x {
			switch {
			case ties && i%q8Block == 0:
				x[i] = 127 * scale
			case ties:
				x[i] = (float32(r.IntN(254)-127) + 0.5) * scale
			case r.IntN(8) == 0:
				x[i] = 0
			default:
				x[i] = float32(r.NormFloat64()) * scale
			}
		}
		if iter%7 == 0 {
			clear(x[:q8Block]) // an all-zero block
		}
		for _, q81 := range []bool{false, true} {
			size := 2 + q8Block
			conv, ref := fromFloatQ8_0, fromFloatQ8_0Go
			if q81 {
				size, conv, ref = 4+q8Block, fromFloatQ8_1, fromFloatQ8_1Go
			}
			got := make([]byte, n/q8Block*size)
			want := make([]byte, len(got))
			conv(got, x)
			ref(want, x)
			for i := range got {
				if got[i] != want[i] {
					blk := i / size
					t.Fatalf("Q8_1=%v n=%d scale %g: byte %d (block %d, offset %d) %#02x, Go %#02x; block %v", q81, n, scale, i, blk, i%size, got[i], want[i], x[blk*q8Block:(blk+1)*q8Block])
				}
			}
		}
	}
}
