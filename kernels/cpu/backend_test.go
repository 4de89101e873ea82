package cpu

import (
	"bytes"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// Tolerances of the element-wise tests: relative error ‖out−ref‖/‖ref‖
// against float64 references.
const f32Tol = 1e-5

func relErr(got []float32, want []float64) float64 {
	var num, den float64
	for i, w := range want {
		d := float64(got[i]) - w
		num += d * d
		den += w * w
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

func tensorOf(b *Backend, x []float32, shape ...int) *kernels.Tensor {
	t := b.NewTensor(gguf.TypeF32, shape...)
	copy(asF32(t.Data), x)
	return t
}

func values(t *kernels.Tensor) []float32 {
	return append([]float32(nil), asF32(t.Data)[:t.Elements()]...)
}

// backends returns CPU backends of 1, 2 and 3 threads; results must not
// depend on the thread count.
func backends(t testing.TB) []*Backend {
	bs := []*Backend{New(1), New(2), New(3)}
	t.Cleanup(func() {
		for _, b := range bs {
			b.Close()
		}
	})
	return bs
}

func sameBits(t *testing.T, what string, a, b []float32) {
	t.Helper()
	if !bytes.Equal(f32Bytes(a), f32Bytes(b)) {
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s: element %d: %g != %g", what, i, a[i], b[i])
			}
		}
		t.Fatalf("%s: lengths differ", what)
	}
}

func TestLoad(t *testing.T) {
	b := New(1)
	defer b.Close()
	data := make([]byte, 4*34)
	w, err := b.Load(gguf.TypeQ8_0, []int{4, 32}, data)
	if err != nil {
		t.Fatal(err)
	}
	if &w.Data[0] != &data[0] || w.Rows() != 4 || w.Cols() != 32 {
		t.Fatalf("Load copied or reshaped: %v", w)
	}
	// Misaligned float data is copied to aligned memory, other data wrapped.
	buf := make([]byte, 4*6+1)
	for i := range buf {
		buf[i] = byte(i)
	}
	f, err := b.Load(gguf.TypeF32, []int{2, 3}, buf[1:])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Data, buf[1:]) || &f.Data[0] == &buf[1] {
		t.Fatalf("misaligned F32 data not copied faithfully")
	}
	tests := []struct {
		name  string
		typ   gguf.Type
		shape []int
		size  int
		want  string
	}{
		{"short", gguf.TypeQ8_0, []int{4, 32}, 4*34 - 1, "have 135 bytes, want 136"},
		{"long", gguf.TypeF32, []int{3, 5}, 61, "have 61 bytes, want 60"},
		{"partial block", gguf.TypeQ4_K, []int{2, 128}, 144, "not whole blocks"},
		{"zero dim", gguf.TypeF32, []int{0, 4}, 0, "dimension 0"},
		{"negative dim", gguf.TypeF32, []int{2, -4}, 0, "dimension -4"},
		{"no shape", gguf.TypeF32, nil, 0, "empty shape"},
		{"unknown type", gguf.Type(99), []int{4}, 16, "unknown type"},
		{"unsupported type", gguf.TypeIQ2_XXS, []int{256}, 66, "not supported"},
		{"overflow", gguf.TypeF32, []int{1 << 30, 1 << 30, 1 << 30}, 4, "too many elements"},
	}
	for _, tt := range tests {
		_, err := b.Load(tt.typ, tt.shape, make([]byte, tt.size))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func TestTensorsAndToHost(t *testing.T) {
	b := New(2)
	defer b.Close()
	x := b.NewTensor(gguf.TypeF32, 3, 4)
	if len(x.Data) != 48 || x.Elements() != 12 {
		t.Fatalf("NewTensor F32 [3 4]: %d bytes", len(x.Data))
	}
	h := b.NewTensor(gguf.TypeF16, 5, 3)
	if len(h.Data) != 30 {
		t.Fatalf("NewTensor F16 [5 3]: %d bytes", len(h.Data))
	}
	for _, v := range append(x.Data, h.Data...) {
		if v != 0 {
			t.Fatal("NewTensor not zeroed")
		}
	}
	copy(asF32(x.Data), []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	out := make([]float32, 12)
	if err := b.ToHost(out, x); err != nil || out[11] != 12 {
		t.Fatalf("ToHost: %v %v", out, err)
	}
	if err := b.ToHost(out[:5], x); err == nil {
		t.Error("ToHost into a short slice succeeded")
	}
	if err := b.ToHost(make([]float32, 15), h); err == nil {
		t.Error("ToHost of an F16 tensor succeeded")
	}
	c := b.NewKVCache(gguf.TypeF16, 2, 3, 8, 16)
	if len(c.K) != 2 || len(c.V) != 2 || len(c.K[1].Data) != 2*3*8*16 || c.K[0].Shape[1] != 8 {
		t.Fatalf("NewKVCache: %+v", c)
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestZeroBackend(t *testing.T) {
	var b Backend
	defer b.Close()
	x := tensorOf(&b, []float32{3, 4}, 1, 2)
	b.RMSNorm(x, x, nil, 0)
	want := []float64{3 / math.Sqrt(12.5), 4 / math.Sqrt(12.5)}
	if e := relErr(values(x), want); e > f32Tol || b.Threads() != PhysicalCores() {
		t.Fatalf("zero Backend: %v with %d threads", values(x), b.Threads())
	}
}

func TestCloseStopsWorkers(t *testing.T) {
	before := runtime.NumGoroutine()
	b := New(4)
	if got := runtime.NumGoroutine(); got < before+3 {
		t.Fatalf("New(4) started %d goroutines, want 3", got-before)
	}
	b.Close()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > before {
		t.Fatalf("%d goroutines left after Close", got-before)
	}
	if err := b.Sync(); err == nil {
		t.Error("Sync after Close succeeded")
	}
	if PhysicalCores() < 1 || PhysicalCores() > runtime.NumCPU() {
		t.Errorf("PhysicalCores() = %d with %d CPUs", PhysicalCores(), runtime.NumCPU())
	}
}

// quantWeights returns rows×cols random weights as float values and as a
// tensor of type typ (quantized by gguf's reference quantizer).
func quantWeights(t testing.TB, b *Backend, r *rand.Rand, typ gguf.Type, rows, cols int) ([]float32, *kernels.Tensor) {
	wf := make([]float32, 0, rows*cols)
	var data []byte
	for i := 0; i < rows; i++ {
		row := randRow(r, cols, 0)
		wf = append(wf, row...)
		data = append(data, encode(t, typ, row)...)
	}
	w, err := b.Load(typ, []int{rows, cols}, data)
	if err != nil {
		t.Fatal(err)
	}
	return wf, w
}

func TestMatMul(t *testing.T) {
	forKernelSets(t, func(t *testing.T) {
		r := newRand(t)
		bs := backends(t)
		shapes := []struct{ rows, cols, n int }{
			{1, 256, 1}, {7, 256, 2}, {64, 512, 3}, {300, 256, 1}, {33, 256, 5}, {40, 512, 70}, {129, 256, 130},
		}
		for _, typ := range computeTypes() {
			tr := traits[typ]
			for _, s := range shapes {
				wf, w := quantWeights(t, bs[0], r, typ, s.rows, s.cols)
				xf := make([]float32, 0, s.n*s.cols)
				for i := 0; i < s.n; i++ {
					xf = append(xf, randRow(r, s.cols, 0)...)
				}
				x := tensorOf(bs[0], xf, s.n, s.cols)
				var first []float32
				for _, b := range bs {
					dst := b.NewTensor(gguf.TypeF32, s.n, s.rows)
					b.MatMul(dst, w, x)
					if first == nil {
						first = values(dst)
						continue
					}
					sameBits(t, typ.String()+" threads", first, values(dst))
				}
				// Each output is exactly one VecDot of the converted row.
				xrow := make([]byte, 4*s.cols)
				for i := 0; i < s.n; i++ {
					xi := xf[i*s.cols : (i+1)*s.cols]
					if tr.FromFloat == nil {
						copy(xrow, f32Bytes(xi))
					} else {
						// The backend's converter (q8act.go for Q8_0/Q8_1), not
						// gguf's reference quantizer.
						size, _ := tr.VecDotType.RowSize(int64(s.cols))
						xrow = make([]byte, size)
						tr.FromFloat(xrow, xi)
					}
					for rr := 0; rr < s.rows; rr++ {
						want := tr.VecDot(s.cols, w.Data[rr*w.RowBytes():(rr+1)*w.RowBytes()], xrow)
						if got := first[i*s.rows+rr]; math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%v %+v: dst[%d,%d] = %g, VecDot gives %g", typ, s, i, rr, got, want)
						}
					}
				}
				// Against the unquantized product.
				var q quantError
				for i := 0; i < s.n; i++ {
					for rr := 0; rr < s.rows; rr++ {
						q.add(wf[rr*s.cols:(rr+1)*s.cols], xf[i*s.cols:(i+1)*s.cols], first[i*s.rows+rr])
					}
				}
				tol := quantTol[typ]
				if typ == gguf.TypeF32 {
					tol = f32Tol
				}
				// Few dots make a noisy estimate of the error; widen the bound.
				tol *= 1 + 4/math.Sqrt(float64(q.n))
				if e := q.rms(); e > tol {
					t.Errorf("%v %+v: normalized error %g > %g", typ, s, e, tol)
				}
			}
		}
	})
}

func TestMatMulRowRange(t *testing.T) {
	r := newRand(t)
	for _, b := range backends(t) {
		for _, typ := range []gguf.Type{gguf.TypeF32, gguf.TypeF16, gguf.TypeQ8_0, gguf.TypeQ4_K} {
			const rows, cols = 48, 256
			_, w := quantWeights(t, b, r, typ, rows, cols)
			for _, n := range []int{1, 9} {
				x := tensorOf(b, randRow(r, n*cols, 0), n, cols)
				full := b.NewTensor(gguf.TypeF32, n, rows)
				b.MatMul(full, w, x)
				for _, rg := range [][2]int{{0, 16}, {16, 40}, {40, 48}, {5, 6}} {
					part := b.NewTensor(gguf.TypeF32, n, rg[1]-rg[0])
					b.MatMul(part, w.RowRange(rg[0], rg[1]), x)
					pv, fv := values(part), values(full)
					for i := 0; i < n; i++ {
						sameBits(t, "RowRange", pv[i*(rg[1]-rg[0]):(i+1)*(rg[1]-rg[0])], fv[i*rows+rg[0]:i*rows+rg[1]])
					}
				}
			}
		}
	}
}

func TestRMSNorm(t *testing.T) {
	r := newRand(t)
	bs := backends(t)
	for _, s := range []struct{ n, cols int }{{1, 64}, {3, 256}, {17, 1000}, {100, 4096}} {
		for _, withWeight := range []bool{false, true} {
			xf := randRow(r, s.n*s.cols, 3)
			wf := randRow(r, s.cols, 0)
			const eps = 1e-5
			ref := make([]float64, len(xf))
			for i := 0; i < s.n; i++ {
				row := xf[i*s.cols : (i+1)*s.cols]
				var ss float64
				for _, v := range row {
					ss += float64(v) * float64(v)
				}
				sc := 1 / math.Sqrt(ss/float64(s.cols)+eps)
				for j, v := range row {
					ref[i*s.cols+j] = float64(v) * sc
					if withWeight {
						ref[i*s.cols+j] *= float64(wf[j])
					}
				}
			}
			var first []float32
			for _, b := range bs {
				x := tensorOf(b, xf, s.n, s.cols)
				dst := b.NewTensor(gguf.TypeF32, s.n, s.cols)
				var w *kernels.Tensor
				if withWeight {
					w = tensorOf(b, wf, s.cols)
				}
				b.RMSNorm(dst, x, w, eps)
				got := values(dst)
				if e := relErr(got, ref); e > f32Tol {
					t.Errorf("%+v weight=%v: relative error %g", s, withWeight, e)
				}
				if first == nil {
					first = got
				} else {
					sameBits(t, "RMSNorm threads", first, got)
				}
				// In place gives the same result.
				b.RMSNorm(x, x, w, eps)
				sameBits(t, "RMSNorm in place", got, values(x))
			}
		}
	}
}

func TestElementwise(t *testing.T) {
	r := newRand(t)
	bs := backends(t)
	type op struct {
		name  string
		run   func(b *Backend, dst, a, bt *kernels.Tensor)
		ref   func(a, b float64) float64
		tol   float64
		bcast bool
	}
	silu64 := func(x float64) float64 { return x / (1 + math.Exp(-x)) }
	gelu64 := func(x float64) float64 {
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*x*(1+0.044715*x*x)))
	}
	ops := []op{
		{"Add", (*Backend).Add, func(a, b float64) float64 { return a + b }, 1e-7, true},
		{"Mul", (*Backend).Mul, func(a, b float64) float64 { return a * b }, 1e-7, true},
		{"Scale", func(b *Backend, dst, a, _ *kernels.Tensor) { copy(dst.Data, a.Data); b.Scale(dst, 0.37) },
			func(a, _ float64) float64 { return a * float64(float32(0.37)) }, 1e-7, false},
		{"SiLUMul", (*Backend).SiLUMul, func(a, b float64) float64 { return silu64(a) * b }, f32Tol, false},
		// ggml's GELU goes through a binary16 table (GGML_GELU_FP16): the
		// input and the result are rounded to binary16, a relative error
		// of up to 2^-11 each.
		{"GELUMul", (*Backend).GELUMul, func(a, b float64) float64 { return gelu64(a) * b }, 1e-3, false},
	}
	for _, o := range ops {
		for _, s := range []struct{ n, cols int }{{1, 32}, {5, 300}, {64, 2048}} {
			for _, bcast := range []bool{false, true} {
				if bcast && !o.bcast {
					continue
				}
				af := randRow(r, s.n*s.cols, 0)
				for i := range af {
					af[i] *= 4 // reach GELU's and SiLU's tails
				}
				bn := s.n
				if bcast {
					bn = 1
				}
				bf := randRow(r, bn*s.cols, 2)
				ref := make([]float64, len(af))
				for i, a := range af {
					ref[i] = o.ref(float64(a), float64(bf[i%len(bf)]))
				}
				var first []float32
				for _, b := range bs {
					a := tensorOf(b, af, s.n, s.cols)
					bt := tensorOf(b, bf, bn, s.cols)
					dst := b.NewTensor(gguf.TypeF32, s.n, s.cols)
					o.run(b, dst, a, bt)
					got := values(dst)
					if e := relErr(got, ref); e > o.tol {
						t.Errorf("%s %+v bcast=%v: relative error %g > %g", o.name, s, bcast, e, o.tol)
					}
					if first == nil {
						first = got
					} else {
						sameBits(t, o.name+" threads", first, got)
					}
				}
			}
		}
	}
}

func TestGELUTable(t *testing.T) {
	tab := geluTab()
	for _, x := range []float32{-20, -10, -9.99, -3, -0.5, 0, 1e-6, 0.5, 2, 9.99, 10, 25} {
		got := geluFP16(tab, x)
		var want float32
		switch {
		case x <= -10:
			want = 0
		case x >= 10:
			want = x
		default:
			// ggml: round the input to binary16, evaluate in float32,
			// round the result to binary16.
			xh := gguf.HalfToFloat32(gguf.Float32ToHalf(x))
			want = gguf.HalfToFloat32(gguf.Float32ToHalf(gelu(xh)))
		}
		if got != want {
			t.Errorf("gelu(%g) = %g, want %g", x, got, want)
		}
		if x > -9 && x < 9 {
			exact := 0.5 * float64(x) * (1 + math.Tanh(math.Sqrt(2/math.Pi)*float64(x)*(1+0.044715*float64(x)*float64(x))))
			if d := math.Abs(float64(got) - exact); d > 2e-3*math.Abs(exact)+1e-6 {
				t.Errorf("gelu(%g) = %g, tanh formula gives %g", x, got, exact)
			}
		}
	}
}

func TestGetRows(t *testing.T) {
	r := newRand(t)
	bs := backends(t)
	for _, typ := range gguf.Types() {
		if typ.Traits().Dequantize == nil || typ.Traits().Quantize == nil || traits[typ] == nil {
			continue
		}
		const rows, cols = 10, 512
		_, table := quantWeights(t, bs[0], r, typ, rows, cols)
		ids := []int32{3, 0, 9, 3, 7}
		want := make([]float32, 0, len(ids)*cols)
		for _, id := range ids {
			want = append(want, decode(t, typ, table.Data[int(id)*table.RowBytes():(int(id)+1)*table.RowBytes()], cols)...)
		}
		for _, b := range bs {
			dst := b.NewTensor(gguf.TypeF32, len(ids), cols)
			b.GetRows(dst, table, ids)
			sameBits(t, "GetRows "+typ.String(), values(dst), want)
		}
	}
}

// ropeRef rotates like ggml_rope_ext in float64, except for the angles
// theta = pos·theta_scale^i / freq_factor, which it takes from the same
// float32 recurrence and division ggml uses (that rounding is part of
// ggml's definition: the float32 angle of a large position is off by many
// ulps from the exact one).
func ropeRef(x []float32, pos []int32, p kernels.RopeParams) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	ts := float32(math.Pow(float64(p.Base), float64(float32(-2)/float32(p.Dims))))
	fs := float64(p.FreqScale)
	var corr [2]float64
	if p.ExtFactor != 0 {
		dim := func(nRot float64) float64 {
			return float64(p.Dims) * math.Log(float64(p.OrigCtx)/(nRot*2*math.Pi)) / (2 * math.Log(float64(p.Base)))
		}
		corr[0] = math.Max(0, math.Floor(dim(float64(p.BetaFast))))
		corr[1] = math.Min(float64(p.Dims-1), math.Ceil(dim(float64(p.BetaSlow))))
	}
	for t, ps := range pos {
		theta32 := float32(ps)
		for i0 := 0; i0 < p.Dims; i0 += 2 {
			ff := 1.0
			if p.FreqFactors != nil {
				ff = float64(p.FreqFactors[i0/2])
			}
			extrap := float64(float32(float64(theta32) / ff))
			theta := fs * extrap
			m := float64(p.AttnFactor)
			if p.ExtFactor != 0 {
				y := (float64(i0/2) - corr[0]) / math.Max(0.001, corr[1]-corr[0])
				mix := (1 - math.Min(1, math.Max(0, y))) * float64(p.ExtFactor)
				theta = theta*(1-mix) + extrap*mix
				m *= 1 + 0.1*math.Log(1/fs)
			}
			c, s := math.Cos(theta)*m, math.Sin(theta)*m
			for h := 0; h < p.Heads; h++ {
				row := out[(t*p.Heads+h)*p.HeadDim:]
				a, b := i0, i0+1
				if p.NeoX {
					a, b = i0/2, i0/2+p.Dims/2
				}
				x0, x1 := row[a], row[b]
				row[a] = x0*c - x1*s
				row[b] = x0*s + x1*c
			}
			theta32 *= ts
		}
	}
	return out
}

func TestRope(t *testing.T) {
	r := newRand(t)
	bs := backends(t)
	factors := randRow(r, 64, 4)
	for i := range factors {
		factors[i] += 1
	}
	cases := []struct {
		name string
		p    kernels.RopeParams
	}{
		{"normal", kernels.RopeParams{Heads: 4, HeadDim: 64, Dims: 64, Base: 10000, FreqScale: 1, AttnFactor: 1}},
		{"neox", kernels.RopeParams{Heads: 3, HeadDim: 128, Dims: 128, NeoX: true, Base: 1e6, FreqScale: 1, AttnFactor: 1}},
		{"partial", kernels.RopeParams{Heads: 2, HeadDim: 96, Dims: 32, NeoX: true, Base: 10000, FreqScale: 1, AttnFactor: 1}},
		{"linear scaling", kernels.RopeParams{Heads: 2, HeadDim: 64, Dims: 64, Base: 10000, FreqScale: 0.25, AttnFactor: 1}},
		{"freq factors", kernels.RopeParams{Heads: 2, HeadDim: 128, Dims: 128, Base: 500000, FreqScale: 1, AttnFactor: 1, FreqFactors: factors}},
		{"yarn", kernels.RopeParams{Heads: 2, HeadDim: 128, Dims: 128, NeoX: true, Base: 10000, FreqScale: 0.125,
			ExtFactor: 1, AttnFactor: 1, BetaFast: 32, BetaSlow: 1, OrigCtx: 4096}},
		{"zero defaults", kernels.RopeParams{Heads: 1, HeadDim: 32, Dims: 32, Base: 10000}},
	}
	for _, c := range cases {
		pos := []int32{0, 1, 2, 17, 511, 4095, 30000}
		xf := randRow(r, len(pos)*c.p.Heads*c.p.HeadDim, 0)
		p := c.p
		if p.FreqScale == 0 {
			p.FreqScale = 1
		}
		if p.AttnFactor == 0 {
			p.AttnFactor = 1
		}
		ref := ropeRef(xf, pos, p)
		var first []float32
		for _, b := range bs {
			x := tensorOf(b, xf, len(pos), c.p.Heads*c.p.HeadDim)
			b.Rope(x, pos, c.p)
			got := values(x)
			if e := relErr(got, ref); e > f32Tol {
				t.Errorf("%s: relative error %g", c.name, e)
			}
			if first == nil {
				first = got
			} else {
				sameBits(t, "Rope threads", first, got)
			}
		}
		// The elements past Dims are left alone.
		for i, v := range first {
			if i%c.p.HeadDim >= c.p.Dims && v != xf[i] {
				t.Fatalf("%s: element %d past the rotated dims changed", c.name, i)
			}
		}
	}
	// For small positions the float32 angle is accurate, and the result
	// matches the rotation by the exact angle.
	p := cases[0].p
	pos := []int32{0, 1, 5, 31}
	xf := randRow(r, len(pos)*p.Heads*p.HeadDim, 0)
	ref := make([]float64, len(xf))
	for t2, ps := range pos {
		for h := 0; h < p.Heads; h++ {
			for i := 0; i < p.Dims/2; i++ {
				th := float64(ps) * math.Pow(float64(p.Base), -2*float64(i)/float64(p.Dims))
				o := (t2*p.Heads+h)*p.HeadDim + 2*i
				x0, x1 := float64(xf[o]), float64(xf[o+1])
				ref[o] = x0*math.Cos(th) - x1*math.Sin(th)
				ref[o+1] = x0*math.Sin(th) + x1*math.Cos(th)
			}
		}
	}
	x := tensorOf(bs[0], xf, len(pos), p.Heads*p.HeadDim)
	bs[0].Rope(x, pos, p)
	if e := relErr(values(x), ref); e > f32Tol {
		t.Errorf("exact angles: relative error %g", e)
	}
}

// TestRopeAnglesReused ropes two tensors at the same positions (the second
// call takes the first's angles) and then at changed positions held in the
// same slice: each result must equal a fresh backend's.
func TestRopeAnglesReused(t *testing.T) {
	r := newRand(t)
	p := kernels.RopeParams{Heads: 3, HeadDim: 64, Dims: 64, Base: 10000, FreqScale: 1, AttnFactor: 1}
	pos := []int32{3, 4, 5, 100}
	b := New(2)
	defer b.Close()
	rope := func(b *Backend, xf []float32) []float32 {
		x := tensorOf(b, xf, len(pos), p.Heads*p.HeadDim)
		b.Rope(x, pos, p)
		return values(x)
	}
	fresh := func(xf []float32) []float32 {
		f := New(1)
		defer f.Close()
		return rope(f, xf)
	}
	for step := 0; step < 3; step++ {
		if step == 2 {
			pos[1] = 77 // same slice, new content: the angles must not be reused
		}
		xf := randRow(r, len(pos)*p.Heads*p.HeadDim, step)
		sameBits(t, "Rope call "+strconv.Itoa(step), rope(b, xf), fresh(xf))
	}
}
