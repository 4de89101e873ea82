package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot finds the module root (the folder holding go.mod) above the
// test's working directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// sharedQuantDir returns ../shared/testdata/quant beside the repository,
// skipping the test when it is not there.
func sharedQuantDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "..", "shared", "testdata", "quant")
	if _, err := os.Stat(filepath.Join(dir, "input-f32-6x512.bin")); err != nil {
		t.Skipf("ggml quantization vectors not found at %s (shared/ is not checked out beside the repository)", dir)
	}
	return dir
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readF32(t testing.TB, path string) []float32 {
	t.Helper()
	b := readFile(t, path)
	if len(b)%4 != 0 {
		t.Fatalf("%s: %d bytes is not a whole number of float32", path, len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// compareBytes fails with the first differing block and the number of
// differing blocks.
func compareBytes(t *testing.T, what string, got, want []byte, blockBytes int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d bytes, want %d", what, len(got), len(want))
	}
	first, bad := -1, 0
	for i := 0; i < len(want); i += blockBytes {
		g, w := got[i:i+blockBytes], want[i:i+blockBytes]
		if string(g) != string(w) {
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	if bad > 0 {
		blk := first / blockBytes
		t.Errorf("%s: %d of %d blocks differ; first is block %d (byte %d):\n got %x\nwant %x",
			what, bad, len(want)/blockBytes, blk, first, got[first:first+blockBytes], want[first:first+blockBytes])
	}
}

// compareFloatBits fails unless every value has the same bits (any NaN
// matches any NaN).
func compareFloatBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range want {
		g, w := got[i], want[i]
		if math.Float32bits(g) == math.Float32bits(w) || (g != g && w != w) {
			continue
		}
		if bad < 5 {
			t.Errorf("%s: value %d = %v (%#08x), want %v (%#08x)", what, i, g, math.Float32bits(g), w, math.Float32bits(w))
		}
		bad++
	}
	if bad > 5 {
		t.Errorf("%s: %d values differ in all", what, bad)
	}
}

// vectorType is the type a vector file is named after.
func vectorType(t *testing.T, name string) Type {
	t.Helper()
	typ, ok := ParseType(name)
	if !ok {
		t.Fatalf("unknown type %q", name)
	}
	return typ
}

// checkQuantize quantizes input as typ and compares with want, byte for
// byte.
func checkQuantize(t *testing.T, typ Type, input []float32, want []byte) {
	t.Helper()
	got := make([]byte, len(want))
	if err := QuantizeRow(typ, got, input); err != nil {
		t.Fatal(err)
	}
	compareBytes(t, "quantize", got, want, typ.Traits().TypeSize)
}

// checkDequantize dequantizes src of type typ and compares with want, bit
// for bit.
func checkDequantize(t *testing.T, typ Type, src []byte, want []float32) {
	t.Helper()
	got := make([]float32, len(want))
	if err := DequantizeRow(typ, got, src); err != nil {
		t.Fatal(err)
	}
	compareFloatBits(t, "dequantize", got, want)
}

// sharedQuantTypes are the file-name prefixes of ggml's vectors.
var sharedQuantTypes = []string{
	"f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0",
	"q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "iq4_nl", "iq4_xs",
}

// scaleFields lists, per K-quant, the byte ranges of a block that hold its
// scales (everything but the quantized levels).
var scaleFields = map[Type][][2]int{
	TypeQ2_K: {{0, 16}, {80, 84}},
	TypeQ3_K: {{96, 110}},
	TypeQ4_K: {{0, 16}},
	TypeQ5_K: {{0, 16}},
	TypeQ6_K: {{192, 210}},
}

// allZero reports whether every value is +0 or -0.
func allZero(x []float32) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}

// TestSharedVectors checks quantization and dequantization against the
// vectors in shared/testdata/quant, made by ggml (llama.cpp c392e50).
//
// Those files were made in a process where ggml's fp16->fp32 lookup table
// was never initialised, so every fp16 that ggml read back came out as 0:
// all dequant-f32 files but bf16's hold only signed zeros, and the
// K-quants skipped their final requantization (it is skipped when the
// decoded scale is 0), keeping the levels of the scale search. This test
// therefore compares what those files still pin down exactly (all bytes of
// the types that never read an fp16 back, the scale fields of the
// K-quants) and says so when it cannot compare more. The full comparison
// against a correctly run ggml is TestGGMLBuiltVectors.
func TestSharedVectors(t *testing.T) {
	dir := sharedQuantDir(t)
	input := readF32(t, filepath.Join(dir, "input-f32-6x512.bin"))
	if len(input) != 6*512 {
		t.Fatalf("input has %d values, want %d", len(input), 6*512)
	}
	for _, name := range sharedQuantTypes {
		t.Run(name, func(t *testing.T) {
			typ := vectorType(t, name)
			tr := typ.Traits()
			wantQ := readFile(t, filepath.Join(dir, name+".quant.bin"))
			wantF := readF32(t, filepath.Join(dir, name+".dequant-f32.bin"))

			size, _ := typ.RowSize(int64(len(input)))
			gotQ := make([]byte, size)
			if err := QuantizeRow(typ, gotQ, input); err != nil {
				t.Fatal(err)
			}
			if fields, ok := scaleFields[typ]; ok && string(gotQ) != string(wantQ) {
				// Compare the scale search only (see above).
				if len(gotQ) != len(wantQ) {
					t.Fatalf("quantize: %d bytes, want %d", len(gotQ), len(wantQ))
				}
				for b := 0; b < len(wantQ); b += tr.TypeSize {
					for _, f := range fields {
						g, w := gotQ[b+f[0]:b+f[1]], wantQ[b+f[0]:b+f[1]]
						if string(g) != string(w) {
							t.Fatalf("quantize: block %d scale bytes %d..%d = %x, want %x", b/tr.TypeSize, f[0], f[1], g, w)
						}
					}
				}
				t.Logf("quantize: scale fields match; levels not compared (shared vectors made without fp16 decoding)")
			} else {
				compareBytes(t, "quantize", gotQ, wantQ, tr.TypeSize)
			}

			gotF := make([]float32, len(input))
			if err := DequantizeRow(typ, gotF, wantQ); err != nil {
				t.Fatal(err)
			}
			if allZero(wantF) && !allZero(gotF) {
				t.Logf("dequantize: not compared, the shared dequant-f32 file holds only zeros")
				return
			}
			compareFloatBits(t, "dequantize", gotF, wantF)
		})
	}
}

// ownQuantDir is testdata/quant.
func ownQuantDir(t testing.TB) string {
	return filepath.Join(repoRoot(t), "testdata", "quant")
}

// TestGGMLBuiltVectors compares with testdata/quant/*.ggml.*, made by
// ggml's C reference quantizers and dequantizers (testdata/gen/quant/ggml.sh).
func TestGGMLBuiltVectors(t *testing.T) {
	dir := ownQuantDir(t)
	input := readF32(t, filepath.Join(dir, "ggml.input-f32.bin"))
	quantFiles, _ := filepath.Glob(filepath.Join(dir, "*.ggml.quant.bin"))
	if len(quantFiles) < 16 {
		t.Fatalf("testdata/quant holds %d ggml vectors, want 16 (run testdata/gen/quant/ggml.sh)", len(quantFiles))
	}
	for _, path := range quantFiles {
		name := strings.TrimSuffix(filepath.Base(path), ".ggml.quant.bin")
		t.Run(name, func(t *testing.T) {
			typ := vectorType(t, name)
			wantQ := readFile(t, path)
			checkQuantize(t, typ, input, wantQ)

			deq := filepath.Join(dir, name+".ggml.dequant-f32.bin")
			if _, err := os.Stat(deq); err != nil {
				if typ != TypeQ8_1 {
					t.Fatalf("missing %s", deq)
				}
				return // ggml cannot dequantize Q8_1
			}
			checkDequantize(t, typ, wantQ, readF32(t, deq))
		})
	}
}

// TestGGUFPyVectors checks against gguf-py's numpy reference: its
// quantizations for the types it can quantize, and its dequantization of
// random blocks (bit patterns no quantizer makes) for every type it reads.
func TestGGUFPyVectors(t *testing.T) {
	dir := ownQuantDir(t)
	quantFiles, _ := filepath.Glob(filepath.Join(dir, "*.pyq.quant.bin"))
	randFiles, _ := filepath.Glob(filepath.Join(dir, "*.pyrand.quant.bin"))
	if len(quantFiles) < 7 || len(randFiles) < 14 {
		t.Fatalf("testdata/quant holds %d quantization and %d random-block vectors, want 7 and 14 (run testdata/gen/quant/gen.sh)",
			len(quantFiles), len(randFiles))
	}
	for _, path := range quantFiles {
		name := strings.TrimSuffix(filepath.Base(path), ".pyq.quant.bin")
		t.Run("quantize/"+name, func(t *testing.T) {
			input := readF32(t, filepath.Join(dir, name+".pyq.input-f32.bin"))
			checkQuantize(t, vectorType(t, name), input, readFile(t, path))
		})
	}
	for _, path := range randFiles {
		name := strings.TrimSuffix(filepath.Base(path), ".pyrand.quant.bin")
		t.Run("dequantize/"+name, func(t *testing.T) {
			wantF := readF32(t, filepath.Join(dir, name+".pyrand.dequant-f32.bin"))
			checkDequantize(t, vectorType(t, name), readFile(t, path), wantF)
		})
	}
}

// testInput makes n deterministic values with varied scales per block.
func testInput(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		scale := math.Exp2(float64(i/256%8) - 4)
		x[i] = float32(r.NormFloat64() * scale)
	}
	return x
}

// TestRoundTripError checks that every quantizer's round trip stays within
// a bound proportional to each block's range, which catches layout slips
// that a self-consistent quantize/dequantize pair would not.
func TestRoundTripError(t *testing.T) {
	// Worst-case error per element as a fraction of the largest magnitude
	// in its block (at least 32 values): half a quantization step, plus the
	// fp16 rounding of the scales (up to 2^-11 of the largest magnitude),
	// except where Q4_0/Q5_0 clip the level opposite the largest value and
	// lose a whole step. Loose enough for any input, tight enough to fail on
	// a misplaced bit.
	bounds := map[Type]float64{
		TypeF32: 0, TypeF16: 1.0 / 2048, TypeBF16: 1.0 / 256,
		TypeQ4_0: 1.01 / 8, TypeQ4_1: 1.05 / 15, TypeQ5_0: 1.01 / 16, TypeQ5_1: 1.1 / 31,
		TypeQ8_0: 1.15 / 254, TypeQ8_1: 1.15 / 254, TypeQ8_K: 1.0001 / 254,
		TypeQ2_K: 0.5, TypeQ3_K: 0.25, TypeQ4_K: 0.1, TypeQ5_K: 0.05, TypeQ6_K: 0.03,
		TypeIQ4_NL: 0.12, TypeIQ4_XS: 0.12,
	}
	x := testInput(4096, 7)
	for _, typ := range Types() {
		tr := typ.Traits()
		if tr.Quantize == nil {
			continue
		}
		bound, ok := bounds[typ]
		if !ok {
			t.Errorf("%v: has a quantizer but no error bound in this test", typ)
			continue
		}
		t.Run(tr.Name, func(t *testing.T) {
			size, _ := typ.RowSize(int64(len(x)))
			q := make([]byte, size)
			tr.Quantize(q, x)
			y := make([]float32, len(x))
			tr.Dequantize(y, q)
			group := max(32, tr.BlockSize)
			var worst float64
			for g := 0; g < len(x); g += group {
				var amax float64
				for _, v := range x[g : g+group] {
					amax = math.Max(amax, math.Abs(float64(v)))
				}
				for i := g; i < g+group; i++ {
					e := math.Abs(float64(y[i] - x[i]))
					if e > bound*amax+1e-30 {
						t.Fatalf("element %d: %v -> %v, error %.3g > %.3g", i, x[i], y[i], e, bound*amax)
					}
					if amax > 0 {
						worst = max(worst, e/amax)
					}
				}
			}
			t.Logf("worst error %.4g of the block's largest magnitude (bound %g)", worst, bound)
		})
	}
}

// TestQ8Activations checks the activation formats Q8_1 and Q8_K, which no
// reference vector covers: their quants and scales against Q8_0 and the
// stored sums.
func TestQ8Activations(t *testing.T) {
	x := testInput(1024, 11)
	x[5] = 0
	copy(x[256:512], make([]float32, 256)) // an all-zero super-block

	q80 := make([]byte, 1024/32*sizeQ8_0)
	q81 := make([]byte, 1024/32*sizeQ8_1)
	quantQ8_0(q80, x)
	if err := QuantizeRow(TypeQ8_1, q81, x); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1024/32; i++ {
		b0, b1 := q80[i*sizeQ8_0:(i+1)*sizeQ8_0], q81[i*sizeQ8_1:(i+1)*sizeQ8_1]
		// ggml's Q8_1 has the same d and quants as Q8_0 and adds s = sum*d.
		if string(b0[:2]) != string(b1[:2]) || string(b0[2:]) != string(b1[4:]) {
			t.Fatalf("block %d: Q8_1 d/quants differ from Q8_0", i)
		}
		var sum int32
		for _, q := range b1[4:] {
			sum += int32(int8(q))
		}
		// s uses the unrounded d = amax/127.
		var amax float32
		for _, v := range x[32*i : 32*i+32] {
			amax = max(amax, abs32(v))
		}
		if got, want := le16(b1[2:]), Float32ToHalf(float32(sum)*(amax/127)); got != want {
			t.Fatalf("block %d: s = %#04x, want %#04x", i, got, want)
		}
	}

	q8k := make([]byte, 1024/256*sizeQ8_K)
	if err := QuantizeRow(TypeQ8_K, q8k, x); err != nil {
		t.Fatal(err)
	}
	y := make([]float32, 1024)
	if err := DequantizeRow(TypeQ8_K, y, q8k); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1024/256; i++ {
		b := q8k[i*sizeQ8_K : (i+1)*sizeQ8_K]
		d := math.Float32frombits(binary.LittleEndian.Uint32(b))
		var amax float32
		for _, v := range x[256*i : 256*(i+1)] {
			amax = max(amax, abs32(v))
		}
		if amax == 0 {
			if d != 0 {
				t.Fatalf("block %d: zero input gives d = %v", i, d)
			}
		} else if want := amax / 127; abs32(d) < want*0.999999 || abs32(d) > want*1.000001 {
			t.Fatalf("block %d: |d| = %v, want amax/127 = %v", i, abs32(d), want)
		}
		for j := 0; j < 16; j++ {
			var sum int32
			for _, q := range b[4+16*j : 4+16*j+16] {
				sum += int32(int8(q))
			}
			if got := int16(le16(b[4+256+2*j:])); int32(got) != sum {
				t.Fatalf("block %d: bsums[%d] = %d, want %d", i, j, got, sum)
			}
		}
		for j := 256 * i; j < 256*(i+1); j++ {
			if e := abs32(y[j] - x[j]); e > abs32(d)*0.5001 {
				t.Fatalf("value %d: %v -> %v, error above d/2 = %v", j, x[j], y[j], d/2)
			}
		}
	}
}

// TestHalfConversions compares the fp16 conversions with an independent
// implementation of IEEE 754 rounding and with exhaustive checks.
func TestHalfConversions(t *testing.T) {
	// Every half converts exactly: back to the same bits (NaNs aside).
	for h := 0; h < 1<<16; h++ {
		f := HalfToFloat32(uint16(h))
		if f != f {
			if uint16(h)&0x7C00 != 0x7C00 || uint16(h)&0x3FF == 0 {
				t.Fatalf("%#04x: NaN from a non-NaN", h)
			}
			if Float32ToHalf(f) != uint16(h)&0x8000|0x7E00 {
				t.Fatalf("%#04x: NaN does not convert back to the canonical NaN", h)
			}
			continue
		}
		if back := Float32ToHalf(f); back != uint16(h) {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, back)
		}
		if want := refHalfToFloat64(uint16(h)); float64(f) != want {
			t.Fatalf("%#04x: %v, want %v", h, f, want)
		}
	}
	// Float32 to half rounds to nearest even; checked against float64
	// arithmetic on a sweep of bit patterns that covers every exponent.
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 1_200_000; i++ {
		var bits uint32
		if i < 600_000 {
			// Dense around the half range: exponents 100..150.
			bits = uint32(r.IntN(51)+100)<<23 | r.Uint32()&0x7FFFFF | uint32(i&1)<<31
		} else {
			bits = r.Uint32()
		}
		f := math.Float32frombits(bits)
		if f != f {
			continue
		}
		if got, want := Float32ToHalf(f), refFloatToHalf(float64(f)); got != want {
			t.Fatalf("Float32ToHalf(%v = %#08x) = %#04x, want %#04x", f, bits, got, want)
		}
	}
	if got := Float32ToHalf(float32(math.NaN())); got&0x7FFF != 0x7E00 {
		t.Errorf("NaN -> %#04x, want a quiet NaN", got)
	}
}

// refHalfToFloat64 decodes a half from its fields.
func refHalfToFloat64(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10&0x1F), float64(h&0x3FF)
	switch e {
	case 0:
		return sign * m * math.Exp2(-24)
	case 31:
		return sign * math.Inf(1)
	}
	return sign * (1 + m/1024) * math.Exp2(float64(e-15))
}

// refFloatToHalf rounds a non-NaN value to the nearest half, ties to even,
// by search over the finite halves' magnitudes.
func refFloatToHalf(f float64) uint16 {
	var sign uint16
	if math.Signbit(f) {
		sign = 0x8000
		f = -f
	}
	if f >= 65520 { // halfway between 65504 and the next step rounds up to Inf
		return sign | 0x7C00
	}
	// Binary search the largest half magnitude <= f.
	lo, hi := 0, 0x7BFF
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if refHalfToFloat64(uint16(mid)) <= f {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	below := refHalfToFloat64(uint16(lo))
	if below == f || lo == 0x7BFF {
		return sign | uint16(lo)
	}
	above := refHalfToFloat64(uint16(lo + 1))
	switch {
	case f-below < above-f:
		return sign | uint16(lo)
	case f-below > above-f:
		return sign | uint16(lo+1)
	case lo%2 == 0:
		return sign | uint16(lo)
	}
	return sign | uint16(lo+1)
}

// TestBF16Conversions checks rounding to bfloat16 against float64 rounding.
func TestBF16Conversions(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 1_000_000; i++ {
		bits := r.Uint32()
		if i < 4 {
			bits = []uint32{0x7F7FFFFF, 0x3F808000, 0x3F818000, 0x00008000}[i]
		}
		f := math.Float32frombits(bits)
		got := Float32ToBF16(f)
		if f != f {
			if got&0x7F80 != 0x7F80 || got&0x7F == 0 || got&0x40 == 0 {
				t.Fatalf("NaN %#08x -> %#04x, want a quiet NaN", bits, got)
			}
			continue
		}
		// Truncate, then round up when the dropped part is more than half,
		// or exactly half with an odd kept part.
		trunc, rest := bits>>16, bits&0xFFFF
		want := trunc
		if rest > 0x8000 || (rest == 0x8000 && trunc&1 == 1) {
			want++
		}
		if got != uint16(want) {
			t.Fatalf("Float32ToBF16(%#08x) = %#04x, want %#04x", bits, got, want)
		}
		if back := BF16ToFloat32(got); math.Float32bits(back) != uint32(got)<<16 {
			t.Fatalf("BF16ToFloat32(%#04x) = %#08x", got, math.Float32bits(back))
		}
	}
}

// TestNearestInt checks ggml's magic-number rounding: ties to even.
func TestNearestInt(t *testing.T) {
	for _, c := range []struct {
		in   float32
		want int32
	}{{0, 0}, {0.5, 0}, {1.5, 2}, {2.5, 2}, {-0.5, 0}, {-1.5, -2}, {-2.5, -2}, {0.49999997, 0}, {3.7, 4}, {-3.7, -4}, {4194303, 4194303}, {-4194303, -4194303}} {
		if got := nearestInt(c.in); got != c.want {
			t.Errorf("nearestInt(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestBestIndexInt8 compares the branch-free search with a linear scan.
func TestBestIndexInt8(t *testing.T) {
	for x := float32(-140); x <= 140; x += 0.125 {
		got := bestIndexInt8(&kvaluesIQ4NL, x)
		best := 0
		for i := range kvaluesIQ4NL {
			d, bd := abs32(x-float32(kvaluesIQ4NL[i])), abs32(x-float32(kvaluesIQ4NL[best]))
			if d < bd || d == bd { // ties go to the larger level
				best = i
			}
		}
		if got != best {
			t.Fatalf("bestIndexInt8(%v) = %d, want %d", x, got, best)
		}
	}
}

// TestRowChecks covers the checked entry points' validation.
func TestRowChecks(t *testing.T) {
	cases := []struct {
		typ    Type
		elems  int
		nbytes int
		want   error
	}{
		{TypeQ4_0, 32, 18, nil},
		{TypeQ4_0, 0, 0, nil},
		{TypeQ4_0, 31, 18, ErrSize},
		{TypeQ4_0, 33, 18, ErrSize},
		{TypeQ4_0, 32, 17, ErrSize},
		{TypeQ4_0, 32, 19, ErrSize},
		{TypeQ4_K, 256, 144, nil},
		{TypeQ4_K, 255, 144, ErrSize},
		{TypeQ4_K, 512, 144, ErrSize},
		{TypeF16, 3, 6, nil},
		{TypeF16, 3, 5, ErrSize},
		{TypeIQ2_XXS, 256, 66, ErrUnsupported},
		{Type(99), 1, 1, ErrUnsupported},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%v/%d/%d", c.typ, c.elems, c.nbytes)
		t.Run(name, func(t *testing.T) {
			fl := make([]float32, c.elems)
			by := make([]byte, c.nbytes)
			for _, err := range []error{DequantizeRow(c.typ, fl, by), QuantizeRow(c.typ, by, fl)} {
				if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
					t.Fatalf("error %v, want %v", err, c.want)
				}
				if err != nil && !strings.Contains(err.Error(), c.typ.String()) {
					t.Fatalf("error %q does not name the type %v", err, c.typ)
				}
			}
		})
	}
	// Types with a decoder but no encoder.
	if err := QuantizeRow(TypeI32, make([]byte, 4), make([]float32, 1)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("QuantizeRow(I32) = %v, want ErrUnsupported", err)
	}
}

// TestRawKernelContract checks what the unchecked table functions do with
// mismatched slices: convert the whole blocks of the float side, leave a
// trailing partial block alone, and panic instead of overrunning when the
// byte side is short.
func TestRawKernelContract(t *testing.T) {
	for _, typ := range Types() {
		tr := typ.Traits()
		if tr.Dequantize == nil {
			continue
		}
		t.Run(tr.Name, func(t *testing.T) {
			src := make([]byte, 2*tr.TypeSize)
			dst := make([]float32, 2*tr.BlockSize)
			if tr.BlockSize > 1 {
				dst = dst[:2*tr.BlockSize-1]
			}
			sentinel := float32(12345)
			for i := range dst {
				dst[i] = sentinel
			}
			tr.Dequantize(dst, src) // all-zero blocks decode to zeros
			if tr.BlockSize > 1 {
				for i, v := range dst {
					if want := i >= tr.BlockSize; (v == sentinel) != want {
						t.Fatalf("value %d = %v; want sentinel only in the partial block", i, v)
					}
				}
			}
			defer func() {
				if recover() == nil {
					t.Fatal("Dequantize with a short source did not panic")
				}
			}()
			tr.Dequantize(make([]float32, 3*tr.BlockSize), src)
		})
	}
}

// TestDequantizeRandom feeds random bytes (including NaN/Inf scales) to
// every decoder to check they neither panic nor misbehave on any pattern,
// and that the decoding is a pure function of the bytes.
func TestDequantizeRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, typ := range Types() {
		tr := typ.Traits()
		if tr.Dequantize == nil {
			continue
		}
		src := make([]byte, 64*tr.TypeSize)
		for i := range src {
			src[i] = byte(r.Uint32())
		}
		a := make([]float32, 64*tr.BlockSize)
		b := make([]float32, 64*tr.BlockSize)
		tr.Dequantize(a, src)
		// Decode block by block: the result must not depend on neighbours.
		for i := 0; i < 64; i++ {
			tr.Dequantize(b[i*tr.BlockSize:(i+1)*tr.BlockSize], src[i*tr.TypeSize:(i+1)*tr.TypeSize])
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
				t.Fatalf("%v: value %d differs when decoded alone", typ, i)
			}
		}
	}
}

// TestQuantizeSpecialInputs runs every quantizer over awkward rows and
// checks the decodes are finite where the input is.
func TestQuantizeSpecialInputs(t *testing.T) {
	rows := map[string]func(i int) float32{
		"zeros":    func(int) float32 { return 0 },
		"negzero":  func(int) float32 { return float32(math.Copysign(0, -1)) },
		"constant": func(int) float32 { return -0.75 },
		"tiny":     func(i int) float32 { return float32(i%7-3) * 1e-20 },
		"huge":     func(i int) float32 { return float32(i%5-2) * 1e4 },
		"spike":    func(i int) float32 { return map[bool]float32{true: 100, false: 0.001}[i%97 == 0] },
	}
	for _, typ := range Types() {
		tr := typ.Traits()
		if tr.Quantize == nil {
			continue
		}
		for name, f := range rows {
			x := make([]float32, 512)
			for i := range x {
				x[i] = f(i)
			}
			size, _ := typ.RowSize(int64(len(x)))
			q := make([]byte, size)
			tr.Quantize(q, x)
			y := make([]float32, len(x))
			tr.Dequantize(y, q)
			for i, v := range y {
				if math.IsNaN(float64(v)) || (math.IsInf(float64(v), 0) && typ != TypeF16) {
					t.Fatalf("%v/%s: value %d decodes to %v", typ, name, i, v)
				}
			}
			if name == "zeros" || name == "negzero" {
				for i, v := range y {
					if v != 0 {
						t.Fatalf("%v/%s: value %d decodes to %v", typ, name, i, v)
					}
				}
			}
		}
	}
}

// TestDequantizeModels decodes every tensor of every shared model and
// checks the values are finite.
func TestDequantizeModels(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "..", "shared", "testdata", "models")
	paths, _ := filepath.Glob(filepath.Join(dir, "*.gguf"))
	if len(paths) == 0 {
		t.Skipf("no models under %s (shared/ is not checked out beside the repository)", dir)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			types := map[Type]int{}
			for _, ti := range f.Tensors {
				types[ti.Type]++
				data := f.TensorData(ti)
				out := make([]float32, ti.Elements())
				if err := DequantizeRow(ti.Type, out, data); err != nil {
					t.Fatalf("tensor %s: %v", ti.Name, err)
				}
				for i, v := range out {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("tensor %s (%v): value %d is %v", ti.Name, ti.Type, i, v)
					}
				}
			}
			t.Logf("%d tensors decoded, by type: %v", len(f.Tensors), types)
		})
	}
}
