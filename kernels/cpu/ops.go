package cpu

import (
	"fmt"
	"math"
	"sync"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// The element-wise operations, computed as ggml computes them in float32
// (products wrapped in float32() so that the compiler forms no FMA where
// ggml's C rounds twice).

type rmsNormTask struct {
	x, dst, weight []float32
	cols           int
	eps            float32
}

func (t *rmsNormTask) do(_, lo, hi int) {
	for i := lo; i < hi; i++ {
		x := t.x[i*t.cols : (i+1)*t.cols]
		y := t.dst[i*t.cols : (i+1)*t.cols]
		// ggml_rms_norm: squares in float32 summed in double, the mean
		// rounded to float32, then 1/sqrtf(mean+eps).
		var sum float64
		for _, v := range x {
			sum += float64(float32(v * v))
		}
		mean := float32(sum / float64(t.cols))
		scale := 1 / float32(math.Sqrt(float64(mean+t.eps)))
		if t.weight == nil {
			for j, v := range x {
				y[j] = v * scale
			}
			continue
		}
		// llama.cpp multiplies by the weight as a separate ggml_mul.
		w := t.weight[:len(x)]
		for j, v := range x {
			y[j] = float32(v*scale) * w[j]
		}
	}
}

// RMSNorm sets each row of dst to x/rms(x)·weight (weight may be nil).
func (b *Backend) RMSNorm(dst, x, weight *kernels.Tensor, eps float32) {
	b.lock()
	defer b.mu.Unlock()
	xs := f32Of(x, "RMSNorm", "x")
	ds := f32Of(dst, "RMSNorm", "dst")
	cols := x.Cols()
	if len(ds) != len(xs) {
		panic(fmt.Sprintf("cpu: RMSNorm: dst %v, x %v", dst, x))
	}
	t := &b.norm
	*t = rmsNormTask{x: xs, dst: ds, cols: cols, eps: eps}
	if weight != nil {
		t.weight = f32Of(weight, "RMSNorm", "weight")
		if len(t.weight) != cols {
			panic(fmt.Sprintf("cpu: RMSNorm: weight %v for rows of %d", weight, cols))
		}
	}
	if cols > 0 {
		b.pool.run(t, len(xs)/cols, grainFor(cols))
	}
	*t = rmsNormTask{}
}

// Element-wise operation kinds.
const (
	opAdd = iota
	opMul
	opScale
	opSiLUMul
	opGELUMul
)

// elemTask runs one element-wise operation over rows; b (when set) has
// either the shape of a or one row (bcast).
type elemTask struct {
	op      int
	dst     []float32
	a, b    []float32
	cols    int
	bcast   bool
	s       float32
	geluTab *[1 << 16]uint16
}

func (t *elemTask) do(_, lo, hi int) {
	c := t.cols
	for i := lo; i < hi; i++ {
		y := t.dst[i*c : (i+1)*c]
		a := t.a[i*c : (i+1)*c]
		var b []float32
		if t.bcast {
			b = t.b[:c]
		} else if t.b != nil {
			b = t.b[i*c : (i+1)*c]
		}
		switch t.op {
		case opAdd:
			for j, v := range a {
				y[j] = v + b[j]
			}
		case opMul:
			for j, v := range a {
				y[j] = v * b[j]
			}
		case opScale:
			for j, v := range a {
				y[j] = v * t.s
			}
		case opSiLUMul:
			siluMulVec(y, a, b)
		case opGELUMul:
			tab := t.geluTab
			for j, v := range a {
				y[j] = geluFP16(tab, v) * b[j]
			}
		}
	}
}

// silu is ggml_v_silu: x/(1+expf(-x)) with ggml's vector expf.
func silu(x float32) float32 {
	return x / (1 + expf(-x))
}

// ggml's GELU constants.
const (
	geluCoefA   float32 = 0.044715
	sqrt2OverPi float32 = 0.79788456080286535587989211986876
)

// gelu is ggml_gelu_f32, the tanh approximation, in float32.
func gelu(x float32) float32 {
	inner := float32(sqrt2OverPi*x) * (1 + float32(float32(geluCoefA*x)*x))
	return float32(0.5*x) * (1 + float32(math.Tanh(float64(inner))))
}

var (
	geluOnce  sync.Once
	geluTable *[1 << 16]uint16
)

// geluTab returns ggml's GELU table: for every binary16 input, gelu of it
// rounded to binary16 (ggml_table_gelu_f16).
func geluTab() *[1 << 16]uint16 {
	geluOnce.Do(func() {
		t := new([1 << 16]uint16)
		for i := range t {
			t[i] = gguf.Float32ToHalf(gelu(f16Table[i]))
		}
		geluTable = t
	})
	return geluTable
}

// geluFP16 is ggml_vec_gelu_f32 as ggml's CPU backend builds it
// (GGML_GELU_FP16): the input is rounded to binary16 and looked up in the
// table, except in the tails where gelu is 0 or the identity.
func geluFP16(tab *[1 << 16]uint16, x float32) float32 {
	switch {
	case x <= -10:
		return 0
	case x >= 10:
		return x
	}
	return f16Table[tab[gguf.Float32ToHalf(x)]]
}

// binary checks operands of an element-wise op and runs it.
func (b *Backend) elementwise(op int, name string, dst, a, bt *kernels.Tensor, s float32) {
	as := f32Of(a, name, "a")
	ds := f32Of(dst, name, "dst")
	if len(ds) != len(as) {
		panic(fmt.Sprintf("cpu: %s: dst %v, a %v", name, dst, a))
	}
	cols := a.Cols()
	t := &b.elem
	*t = elemTask{op: op, dst: ds, a: as, cols: cols, s: s}
	if bt != nil {
		t.b = f32Of(bt, name, "b")
		switch {
		case len(t.b) == len(as):
		case len(t.b) == cols:
			t.bcast = true
		default:
			panic(fmt.Sprintf("cpu: %s: b %v neither matches a %v nor is one row of it", name, bt, a))
		}
	}
	if op == opGELUMul {
		t.geluTab = geluTab()
	}
	if cols > 0 {
		b.pool.run(t, len(as)/cols, grainFor(cols))
	}
	*t = elemTask{}
}

// Add sets dst = a + b (b of a's shape, or one row broadcast).
func (b *Backend) Add(dst, a, bt *kernels.Tensor) {
	b.lock()
	defer b.mu.Unlock()
	b.elementwise(opAdd, "Add", dst, a, bt, 0)
}

// Mul sets dst = a · b element-wise (b of a's shape, or one row broadcast).
func (b *Backend) Mul(dst, a, bt *kernels.Tensor) {
	b.lock()
	defer b.mu.Unlock()
	b.elementwise(opMul, "Mul", dst, a, bt, 0)
}

// Scale multiplies x by s in place.
func (b *Backend) Scale(x *kernels.Tensor, s float32) {
	b.lock()
	defer b.mu.Unlock()
	b.elementwise(opScale, "Scale", x, x, nil, s)
}

// SiLUMul sets dst = silu(gate)·up.
func (b *Backend) SiLUMul(dst, gate, up *kernels.Tensor) {
	b.lock()
	defer b.mu.Unlock()
	if up.Elements() != gate.Elements() {
		panic(fmt.Sprintf("cpu: SiLUMul: gate %v, up %v", gate, up))
	}
	b.elementwise(opSiLUMul, "SiLUMul", dst, gate, up, 0)
}

// GELUMul sets dst = gelu(gate)·up with ggml's binary16-table GELU.
func (b *Backend) GELUMul(dst, gate, up *kernels.Tensor) {
	b.lock()
	defer b.mu.Unlock()
	if up.Elements() != gate.Elements() {
		panic(fmt.Sprintf("cpu: GELUMul: gate %v, up %v", gate, up))
	}
	b.elementwise(opGELUMul, "GELUMul", dst, gate, up, 0)
}

type getRowsTask struct {
	dst   []float32
	table []byte
	rb    int
	cols  int
	ids   []int32
	deq   func(dst []float32, src []byte)
}

func (t *getRowsTask) do(_, lo, hi int) {
	for i := lo; i < hi; i++ {
		r := int(t.ids[i])
		t.deq(t.dst[i*t.cols:(i+1)*t.cols], t.table[r*t.rb:(r+1)*t.rb])
	}
}

// GetRows sets dst row i to row ids[i] of table, dequantized to F32.
func (b *Backend) GetRows(dst, table *kernels.Tensor, ids []int32) {
	b.lock()
	defer b.mu.Unlock()
	tr := table.Type.Traits()
	if tr == nil || tr.Dequantize == nil {
		panic(fmt.Sprintf("cpu: GetRows: cannot dequantize %v", table))
	}
	ds := f32Of(dst, "GetRows", "dst")
	cols, rows := table.Cols(), table.Rows()
	if len(ds) != len(ids)*cols {
		panic(fmt.Sprintf("cpu: GetRows: dst %v for %d rows of %v", dst, len(ids), table))
	}
	rb := table.RowBytes()
	if len(table.Data) < rows*rb {
		panic(fmt.Sprintf("cpu: GetRows: table %v has %d bytes", table, len(table.Data)))
	}
	for _, id := range ids {
		if id < 0 || int(id) >= rows {
			panic(fmt.Sprintf("cpu: GetRows: row %d of %v", id, table))
		}
	}
	t := &b.rows
	*t = getRowsTask{dst: ds, table: table.Data, rb: rb, cols: cols, ids: ids, deq: tr.Dequantize}
	b.pool.run(t, len(ids), grainFor(cols))
	*t = getRowsTask{}
}
