package cpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openweights/owl/gguf"
)

// newRand returns a generator seeded afresh on every run; the seed is logged
// so that a failure can be replayed with OWL_SEED.
func newRand(t testing.TB) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("OWL_SEED"); s != "" {
		v, err := parseUint(s)
		if err != nil {
			t.Fatalf("OWL_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("seed %d (set OWL_SEED to replay)", seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

func parseUint(s string) (uint64, error) {
	var v uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, os.ErrInvalid
		}
		v = v*10 + uint64(c-'0')
	}
	return v, nil
}

// randRow fills n values from one of several distributions: normal, small
// normal (weights of std 0.02), uniform, normal with outliers, all positive.
func randRow(r *rand.Rand, n, kind int) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch kind % 5 {
		case 0:
			x[i] = float32(r.NormFloat64())
		case 1:
			x[i] = float32(r.NormFloat64() * 0.02)
		case 2:
			x[i] = float32(2*r.Float64() - 1)
		case 3:
			x[i] = float32(r.NormFloat64())
			if r.IntN(97) == 0 {
				x[i] *= 40
			}
		case 4:
			x[i] = float32(math.Abs(r.NormFloat64()))
		}
	}
	return x
}

// encode converts values to type t with gguf's reference converter (F32 as
// raw little-endian bytes).
func encode(t testing.TB, typ gguf.Type, x []float32) []byte {
	size, ok := typ.RowSize(int64(len(x)))
	if !ok {
		t.Fatalf("%v: %d elements", typ, len(x))
	}
	b := make([]byte, size)
	if err := gguf.QuantizeRow(typ, b, x); err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t testing.TB, typ gguf.Type, b []byte, n int) []float32 {
	x := make([]float32, n)
	if err := gguf.DequantizeRow(typ, x, b); err != nil {
		t.Fatal(err)
	}
	return x
}

// blockAbsMax returns, for every element, the largest magnitude in its block
// of w: a bound on the intermediate terms (scale·quant and offset) that a
// dot kernel adds, which may cancel in the dequantized value itself.
func blockAbsMax(w []float32, block int) []float64 {
	m := make([]float64, len(w))
	for b := 0; b < len(w); b += block {
		var a float64
		for _, v := range w[b : b+block] {
			a = math.Max(a, math.Abs(float64(v)))
		}
		for i := b; i < b+block; i++ {
			m[i] = a
		}
	}
	return m
}

// q8_1Correction is what the Q8_1 block sums s, stored as binary16, add to a
// Q4_1/Q5_1 dot beyond the exact Σ m·x: Σ_blocks m·(s − d·Σq). It is part of
// the format, so the reference includes it.
func q8_1Correction(w, x []byte, wsize int, n int) float64 {
	var c float64
	for b := 0; b < n/32; b++ {
		wb := w[b*wsize:]
		xb := x[b*sizeQ8_1:]
		m := float64(gguf.HalfToFloat32(binary.LittleEndian.Uint16(wb[2:])))
		d := float64(gguf.HalfToFloat32(binary.LittleEndian.Uint16(xb[0:])))
		s := float64(gguf.HalfToFloat32(binary.LittleEndian.Uint16(xb[2:])))
		var q int64
		for _, v := range xb[4:36] {
			q += int64(int8(v))
		}
		c += m * (s - d*float64(q))
	}
	return c
}

// dotRef returns the float64 dot product that a kernel for typ must match
// on the encoded rows w and x, given their decoded values wd and xd, and
// the magnitude of its terms, which bounds the kernel's rounding.
func dotRef(typ gguf.Type, w, x []byte, wd, xd []float32) (ref, mag float64) {
	bound := blockAbsMax(wd, typ.Traits().BlockSize)
	for i := range wd {
		ref += float64(wd[i]) * float64(xd[i])
		mag += 2 * bound[i] * math.Abs(float64(xd[i]))
	}
	switch typ {
	case gguf.TypeQ4_1:
		ref += q8_1Correction(w, x, sizeQ4_1, len(wd))
	case gguf.TypeQ5_1:
		ref += q8_1Correction(w, x, sizeQ5_1, len(wd))
	}
	return ref, mag
}

func computeTypes() []gguf.Type {
	var ts []gguf.Type
	for _, t := range gguf.Types() {
		if traits[t] != nil {
			ts = append(ts, t)
		}
	}
	return ts
}

func TestTraitsTable(t *testing.T) {
	// Every type gguf can decode and that a weight can have gets a dot
	// kernel (the integer types and F64 are not weight types; Q8_1 and Q8_K
	// exist only as activations).
	for _, typ := range gguf.Types() {
		tr := typ.Traits()
		switch typ {
		case gguf.TypeI8, gguf.TypeI16, gguf.TypeI32, gguf.TypeI64, gguf.TypeF64, gguf.TypeQ8_1, gguf.TypeQ8_K:
			continue
		}
		if tr.Dequantize != nil && TypeTraits(typ) == nil {
			t.Errorf("%v: gguf decodes it but it has no compute traits", typ)
		}
	}
	for typ, tr := range traits {
		dt := tr.VecDotType.Traits()
		if dt == nil || tr.VecDot == nil {
			t.Fatalf("%v: incomplete traits", typ)
		}
		if (tr.FromFloat == nil) != (tr.VecDotType == gguf.TypeF32) {
			t.Errorf("%v: FromFloat must be set exactly when the dot type is not F32", typ)
		}
		if dt.BlockSize > 1 && typ.Traits().BlockSize != dt.BlockSize {
			t.Errorf("%v: block size %d differs from its dot type %v's %d", typ, typ.Traits().BlockSize, tr.VecDotType, dt.BlockSize)
		}
	}
}

// TestVecDotExact checks every dot kernel against a float64 dot of the
// dequantized operands: the kernels may only differ by float32 rounding.
func TestVecDotExact(t *testing.T) {
	r := newRand(t)
	for _, typ := range computeTypes() {
		tr := traits[typ]
		bs := typ.Traits().BlockSize
		sizes := []int{256, 512, 2048, 4096 + 256}
		if bs <= 32 {
			sizes = append(sizes, 32, 96)
		}
		t.Run(typ.String(), func(t *testing.T) {
			for _, n := range sizes {
				for kind := 0; kind < 10; kind++ {
					wf := randRow(r, n, kind)
					xf := randRow(r, n, kind/2+kind%2)
					w := encode(t, typ, wf)
					x := encode(t, tr.VecDotType, xf)
					wd := decode(t, typ, w, n)
					xd := decode(t, tr.VecDotType, x, n)
					ref, mag := dotRef(typ, w, x, wd, xd)
					got := tr.VecDot(n, w, x)
					if d := math.Abs(float64(got) - ref); d > 1e-5*mag+1e-30 || math.IsNaN(float64(got)) {
						t.Errorf("n=%d kind=%d: got %g, want %g (diff %g, bound %g)", n, kind, got, ref, d, 1e-5*mag)
					}
				}
			}
		})
	}
}

// quantError accumulates the error of dot products of quantized operands
// against the exact dots of the original values, each normalized by
// ‖w‖·‖x‖/√n, the typical size of a dot of independent random rows. The
// RMS of that is about the relative RMS quantization error of the types,
// whether or not the rows are correlated; wrong layouts give about 1.
type quantError struct {
	sum float64
	n   int
}

func (q *quantError) add(w, x []float32, got float32) {
	var exact, ww, xx float64
	for i := range w {
		exact += float64(w[i]) * float64(x[i])
		ww += float64(w[i]) * float64(w[i])
		xx += float64(x[i]) * float64(x[i])
	}
	typical := math.Sqrt(ww * xx / float64(len(w)))
	if typical == 0 {
		return
	}
	e := (float64(got) - exact) / typical
	q.sum += e * e
	q.n++
}

func (q *quantError) rms() float64 {
	if q.n == 0 {
		return 0
	}
	return math.Sqrt(q.sum / float64(q.n))
}

// quantTol bounds quantError for each weight type with normal random
// weights and activations (activations converted to the dot type): about
// twice the quantization error measured, to stay clear of noise.
var quantTol = map[gguf.Type]float64{
	gguf.TypeF32: 1e-6, gguf.TypeF16: 2e-3, gguf.TypeBF16: 1e-2,
	gguf.TypeQ8_0: 0.02, gguf.TypeQ6_K: 0.04, gguf.TypeQ5_0: 0.08, gguf.TypeQ5_1: 0.07, gguf.TypeQ5_K: 0.07,
	gguf.TypeQ4_0: 0.16, gguf.TypeQ4_1: 0.14, gguf.TypeQ4_K: 0.14, gguf.TypeIQ4_NL: 0.15, gguf.TypeIQ4_XS: 0.15,
	gguf.TypeQ3_K: 0.35, gguf.TypeQ2_K: 0.6,
}

// TestVecDotQuantization checks the whole path (quantize weights, convert
// activations, dot) against the dots of the original float values.
func TestVecDotQuantization(t *testing.T) {
	r := newRand(t)
	const rows, cols, n = 16, 16, 1024
	for _, typ := range computeTypes() {
		tr := traits[typ]
		tol, ok := quantTol[typ]
		if !ok {
			t.Fatalf("%v: no tolerance", typ)
		}
		ws := make([][]float32, rows)
		wq := make([][]byte, rows)
		for i := range ws {
			ws[i] = randRow(r, n, 0)
			wq[i] = encode(t, typ, ws[i])
		}
		var q quantError
		for j := 0; j < cols; j++ {
			xf := randRow(r, n, 0)
			var xq []byte
			if tr.FromFloat == nil {
				xq = f32Bytes(xf)
			} else {
				size, _ := tr.VecDotType.RowSize(n)
				xq = make([]byte, size)
				tr.FromFloat(xq, xf)
			}
			for i := range ws {
				q.add(ws[i], xf, tr.VecDot(n, wq[i], xq))
			}
		}
		t.Logf("%-7v normalized error %.4f (tolerance %g)", typ, q.rms(), tol)
		if !(q.rms() <= tol) {
			t.Errorf("%v: normalized error %g > %g", typ, q.rms(), tol)
		}
	}
}

// TestVecDotGGMLVectors uses ggml's own quantized rows and its dequantized
// values (shared/testdata/quant), so the dot kernels are checked against
// ggml's block layouts independently of gguf's decoders.
func TestVecDotGGMLVectors(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "testdata", "quant")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("ggml quant vectors not present: %v", err)
	}
	r := newRand(t)
	const rowsN, n = 6, 512
	for _, typ := range computeTypes() {
		if typ == gguf.TypeF32 {
			continue
		}
		name := strings.ToLower(typ.String())
		name = strings.Replace(name, "_k", "_K", 1)
		qb, err := os.ReadFile(filepath.Join(dir, name+".quant.bin"))
		if err != nil {
			t.Errorf("%v: %v", typ, err)
			continue
		}
		db, err := os.ReadFile(filepath.Join(dir, name+".dequant-f32.bin"))
		if err != nil {
			t.Errorf("%v: %v", typ, err)
			continue
		}
		rs, _ := typ.RowSize(n)
		if len(qb) != rowsN*int(rs) || len(db) != rowsN*n*4 {
			t.Errorf("%v: unexpected file sizes %d, %d", typ, len(qb), len(db))
			continue
		}
		tr := traits[typ]
		// Some of the shared dequant-f32 files hold only zeros (a fault in
		// the data set); ggml's quantized bytes are still used then, decoded
		// by gguf.
		degenerate := true
		for _, v := range db {
			if v != 0 && v != 0x80 {
				degenerate = false
				break
			}
		}
		if degenerate {
			t.Logf("%v: %s.dequant-f32.bin holds only zeros; decoding ggml's quantized rows with gguf instead", typ, name)
		}
		for row := 0; row < rowsN; row++ {
			w := qb[row*int(rs) : (row+1)*int(rs)]
			wd := make([]float32, n)
			if degenerate {
				wd = decode(t, typ, w, n)
			} else {
				for i := range wd {
					wd[i] = math.Float32frombits(binary.LittleEndian.Uint32(db[4*(row*n+i):]))
				}
			}
			xf := randRow(r, n, row)
			x := encode(t, tr.VecDotType, xf)
			xd := decode(t, tr.VecDotType, x, n)
			ref, mag := dotRef(typ, w, x, wd, xd)
			got := tr.VecDot(n, w, x)
			if d := math.Abs(float64(got) - ref); d > 1e-5*mag+1e-30 {
				t.Errorf("%v row %d: got %g, want %g (diff %g, bound %g)", typ, row, got, ref, d, 1e-5*mag)
			}
		}
	}
}

func TestExpf(t *testing.T) {
	// ggml's vector exp is within 1.5 ulp of exp, flushes to 0 below
	// about −104 and to +Inf above about 88.4.
	r := newRand(t)
	for i := 0; i < 200000; i++ {
		x := float32(r.Float64()*200 - 100)
		if i < 1000 {
			x = float32(r.Float64()*2 - 1)
		}
		got, want := expf(x), math.Exp(float64(x))
		if want > math.MaxFloat32 || want < 0x1p-126 {
			continue
		}
		ulp := float64(math.Nextafter32(float32(want), float32(math.Inf(1))) - float32(want))
		if d := math.Abs(float64(got)-want) / ulp; d > 2 {
			t.Fatalf("expf(%g) = %g, exp = %g (%.2f ulp)", x, got, want, d)
		}
	}
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {float32(math.Inf(-1)), 0}, {-200, 0}, {200, float32(math.Inf(1))},
	} {
		if got := expf(c.x); got != c.want {
			t.Errorf("expf(%g) = %g, want %g", c.x, got, c.want)
		}
	}
}
