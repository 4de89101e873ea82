package gguf

import (
	"encoding/binary"
	"math"
	"sync"
)

// Scalar conversions between float32 and the 16-bit float formats stored in
// GGUF files. They reproduce ggml's portable C conversions bit for bit, so
// that quantizers built on them write the same bytes as ggml.

// HalfToFloat32 converts an IEEE 754 binary16 value to float32. The
// conversion is exact.
func HalfToFloat32(h uint16) float32 {
	// Shift the half into the top of a float32 and rescale the exponent with
	// one exact multiply; subnormal halves are built with a magic-number
	// subtraction instead (the FP16 library's method, which ggml uses).
	w := uint32(h) << 16
	sign := w & 0x80000000
	twoW := w + w
	if twoW < 1<<27 {
		// Zero or subnormal: the mantissa is placed under an exponent of
		// 2^-1 and 0.5 is subtracted, leaving mantissa * 2^-24 exactly.
		den := math.Float32frombits((twoW>>17)|126<<23) - 0.5
		return math.Float32frombits(sign | math.Float32bits(den))
	}
	norm := math.Float32frombits((twoW>>4)+0xE0<<23) * 0x1p-112
	return math.Float32frombits(sign | math.Float32bits(norm))
}

// Float32ToHalf converts f to binary16, rounding to nearest even. Overflow
// gives an infinity; every NaN becomes the quiet NaN 0x7E00 (with f's sign),
// as in ggml.
func Float32ToHalf(f float32) uint16 {
	// Two multiplies round the mantissa at the half's precision (including
	// the subnormal range) in float32 hardware arithmetic; the exponent is
	// then re-biased with an add of a power of two.
	base := float32(abs32(f) * 0x1p+112 * 0x1p-110)
	w := math.Float32bits(f)
	shl1W := w + w
	sign := w & 0x80000000
	bias := shl1W & 0xFF000000
	if bias < 0x71000000 {
		bias = 0x71000000
	}
	base = math.Float32frombits((bias>>1)+0x07800000) + base
	bits := math.Float32bits(base)
	expBits := (bits >> 13) & 0x00007C00
	mantBits := bits & 0x00000FFF
	if shl1W > 0xFF000000 {
		return uint16(sign>>16) | 0x7E00
	}
	return uint16(sign>>16) | uint16(expBits+mantBits)
}

// BF16ToFloat32 converts a bfloat16 value to float32 (exact).
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBF16 converts f to bfloat16, rounding to nearest even; a NaN is
// kept a NaN and made quiet, as ggml does.
func Float32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((u + (0x7fff + ((u >> 16) & 1))) >> 16)
}

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

func halfAt(b []byte) float32 { return HalfToFloat32(binary.LittleEndian.Uint16(b)) }

func putHalf(b []byte, f float32) { binary.LittleEndian.PutUint16(b, Float32ToHalf(f)) }

// Row converters for the plain (block size 1) types.

func dequantF32(dst []float32, src []byte) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func quantF32(dst []byte, src []float32) {
	dst = dst[:4*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

// halfTable maps every half to its float32 value; a lookup is several
// times faster than the conversion for whole F16 rows. Built on first use.
var halfTable = sync.OnceValue(func() *[1 << 16]float32 {
	t := new([1 << 16]float32)
	for h := range t {
		t[h] = HalfToFloat32(uint16(h))
	}
	return t
})

func dequantF16(dst []float32, src []byte) {
	src = src[:2*len(dst)]
	t := halfTable()
	for i := range dst {
		dst[i] = t[binary.LittleEndian.Uint16(src[2*i:])]
	}
}

func quantF16(dst []byte, src []float32) {
	dst = dst[:2*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], Float32ToHalf(v))
	}
}

func dequantBF16(dst []float32, src []byte) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
	}
}

func quantBF16(dst []byte, src []float32) {
	dst = dst[:2*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], Float32ToBF16(v))
	}
}

func dequantF64(dst []float32, src []byte) {
	src = src[:8*len(dst)]
	for i := range dst {
		dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
	}
}

func dequantI8(dst []float32, src []byte) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = float32(int8(src[i]))
	}
}

func dequantI16(dst []float32, src []byte) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = float32(int16(binary.LittleEndian.Uint16(src[2*i:])))
	}
}

func dequantI32(dst []float32, src []byte) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = float32(int32(binary.LittleEndian.Uint32(src[4*i:])))
	}
}

func dequantI64(dst []float32, src []byte) {
	src = src[:8*len(dst)]
	for i := range dst {
		dst[i] = float32(int64(binary.LittleEndian.Uint64(src[8*i:])))
	}
}
