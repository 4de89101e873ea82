package cpu

import (
	"math"
	"unsafe"

	"github.com/openweights/owl/gguf"
)

// Dot products of the float types. Like ggml's SIMD loops they keep several
// float32 partial sums (which also lets the CPU overlap the additions) and
// add them at the end.

// f16Table maps every binary16 bit pattern to its float32 value (ggml keeps
// the same table, ggml_table_f32_f16, for its scalar paths).
var f16Table = func() *[1 << 16]float32 {
	t := new([1 << 16]float32)
	for i := range t {
		t[i] = gguf.HalfToFloat32(uint16(i))
	}
	return t
}()

// asF32 views b as float32 values (little-endian host assumed, as
// everywhere in owl's CPU backend).
func asF32(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

// asU16 views b as uint16 values.
func asU16(b []byte) []uint16 {
	if len(b) < 2 {
		return nil
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/2)
}

// f32Bytes views f as bytes.
func f32Bytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), 4*len(f))
}

func dotF32(n int, w, x []byte) float32 { return dotF32s(asF32(w)[:n], asF32(x)[:n]) }

// All float dots below add the same products in the same order as dotF32s,
// so that a row of F16 or BF16 widened to float32 and dotted with dotF32s
// gives exactly their result (MatMul relies on it).

// dotF32s is the float32 dot product of two equal-length slices.
func dotF32s(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	for len(a) >= 8 {
		a8 := (*[8]float32)(a)
		b8 := (*[8]float32)(b)
		s0 += float32(a8[0]*b8[0]) + float32(a8[4]*b8[4])
		s1 += float32(a8[1]*b8[1]) + float32(a8[5]*b8[5])
		s2 += float32(a8[2]*b8[2]) + float32(a8[6]*b8[6])
		s3 += float32(a8[3]*b8[3]) + float32(a8[7]*b8[7])
		a, b = a[8:], b[8:]
	}
	for i, v := range a {
		s0 += float32(v * b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func dotF16(n int, w, x []byte) float32 {
	a := asU16(w)[:n]
	b := asU16(x)[:n]
	t := f16Table
	var s0, s1, s2, s3 float32
	for len(a) >= 8 {
		a8 := (*[8]uint16)(a)
		b8 := (*[8]uint16)(b)
		s0 += float32(t[a8[0]]*t[b8[0]]) + float32(t[a8[4]]*t[b8[4]])
		s1 += float32(t[a8[1]]*t[b8[1]]) + float32(t[a8[5]]*t[b8[5]])
		s2 += float32(t[a8[2]]*t[b8[2]]) + float32(t[a8[6]]*t[b8[6]])
		s3 += float32(t[a8[3]]*t[b8[3]]) + float32(t[a8[7]]*t[b8[7]])
		a, b = a[8:], b[8:]
	}
	for i, v := range a {
		s0 += float32(t[v] * t[b[i]])
	}
	return (s0 + s1) + (s2 + s3)
}

func bf16(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

func dotBF16(n int, w, x []byte) float32 {
	a := asU16(w)[:n]
	b := asU16(x)[:n]
	var s0, s1, s2, s3 float32
	for len(a) >= 8 {
		a8 := (*[8]uint16)(a)
		b8 := (*[8]uint16)(b)
		s0 += float32(bf16(a8[0])*bf16(b8[0])) + float32(bf16(a8[4])*bf16(b8[4]))
		s1 += float32(bf16(a8[1])*bf16(b8[1])) + float32(bf16(a8[5])*bf16(b8[5]))
		s2 += float32(bf16(a8[2])*bf16(b8[2])) + float32(bf16(a8[6])*bf16(b8[6]))
		s3 += float32(bf16(a8[3])*bf16(b8[3])) + float32(bf16(a8[7])*bf16(b8[7]))
		a, b = a[8:], b[8:]
	}
	for i, v := range a {
		s0 += float32(bf16(v) * bf16(b[i]))
	}
	return (s0 + s1) + (s2 + s3)
}

// widen converts a row of F16 or BF16 values to float32 (exactly).
func widen(t gguf.Type, dst []float32, src []byte) {
	h := asU16(src)[:len(dst)]
	if t == gguf.TypeBF16 {
		for i, v := range h {
			dst[i] = bf16(v)
		}
		return
	}
	tab := f16Table
	for i, v := range h {
		dst[i] = tab[v]
	}
}
