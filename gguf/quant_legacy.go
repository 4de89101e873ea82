package gguf

import (
	"encoding/binary"
	"math"
)

// The "legacy" 32-element block formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and
// Q8_1 (ggml-common.h). Every block starts with an fp16 scale d; the _1
// variants add an fp16 offset (m for Q4_1/Q5_1, the block sum s for Q8_1).
//
// Quantizers follow ggml's quantize_row_*_ref operation for operation: the
// same float32 operations in the same order. Every product whose value,
// directly or through a variable, reaches an addition or subtraction is
// wrapped in float32(), which the Go spec defines to round and so forbids
// fusing the pair into an FMA (arm64, ppc64, s390x, riscv64 and amd64 v3
// would otherwise do so, rounding differently from ggml's portable build).
//
// All functions here convert len(dst)/32 (dequantize) or len(src)/32
// (quantize) whole blocks and panic on a too-short other side; see
// DequantizeRow and QuantizeRow for checked entry points.

const qk32 = 32

// Block sizes in bytes.
const (
	sizeQ4_0 = 2 + 16
	sizeQ4_1 = 2 + 2 + 16
	sizeQ5_0 = 2 + 4 + 16
	sizeQ5_1 = 2 + 2 + 4 + 16
	sizeQ8_0 = 2 + 32
	sizeQ8_1 = 2 + 2 + 32
)

func dequantQ4_0(dst []float32, src []byte) {
	nb := len(dst) / qk32
	src = src[:nb*sizeQ4_0]
	for i := 0; i < nb; i++ {
		b := (*[sizeQ4_0]byte)(src[i*sizeQ4_0:])
		y := (*[qk32]float32)(dst[i*qk32:])
		d := halfAt(b[0:])
		qs := (*[16]byte)(b[2:])
		for j, q := range qs {
			y[j] = float32(int32(q&0x0F)-8) * d
			y[j+16] = float32(int32(q>>4)-8) * d
		}
	}
}

func dequantQ4_1(dst []float32, src []byte) {
	nb := len(dst) / qk32
	src = src[:nb*sizeQ4_1]
	for i := 0; i < nb; i++ {
		b := (*[sizeQ4_1]byte)(src[i*sizeQ4_1:])
		y := (*[qk32]float32)(dst[i*qk32:])
		d := halfAt(b[0:])
		m := halfAt(b[2:])
		qs := (*[16]byte)(b[4:])
		for j, q := range qs {
			y[j] = float32(float32(q&0x0F)*d) + m
			y[j+16] = float32(float32(q>>4)*d) + m
		}
	}
}

func dequantQ5_0(dst []float32, src []byte) {
	nb := len(dst) / qk32
	src = src[:nb*sizeQ5_0]
	for i := 0; i < nb; i++ {
		b := (*[sizeQ5_0]byte)(src[i*sizeQ5_0:])
		y := (*[qk32]float32)(dst[i*qk32:])
		d := halfAt(b[0:])
		qh := binary.LittleEndian.Uint32(b[2:])
		qs := (*[16]byte)(b[6:])
		for j, q := range qs {
			h0, h1 := fifthBits(qh, j)
			y[j] = float32(int32(q&0x0F|h0)-16) * d
			y[j+16] = float32(int32(q>>4|h1)-16) * d
		}
	}
}

func dequantQ5_1(dst []float32, src []byte) {
	nb := len(dst) / qk32
	src = src[:nb*sizeQ5_1]
	for i := 0; i < nb; i++ {
		b := (*[sizeQ5_1]byte)(src[i*sizeQ5_1:])
		y := (*[qk32]float32)(dst[i*qk32:])
		d := halfAt(b[0:])
		m := halfAt(b[2:])
		qh := binary.LittleEndian.Uint32(b[4:])
		qs := (*[16]byte)(b[8:])
		for j, q := range qs {
			h0, h1 := fifthBits(qh, j)
			y[j] = float32(float32(q&0x0F|h0)*d) + m
			y[j+16] = float32(float32(q>>4|h1)*d) + m
		}
	}
}

func dequantQ8_0(dst []float32, src []byte) {
	nb := len(dst) / qk32
	src = src[:nb*sizeQ8_0]
	for i := 0; i < nb; i++ {
		b := (*[sizeQ8_0]byte)(src[i*sizeQ8_0:])
		dequantQ8Block((*[qk32]float32)(dst[i*qk32:]), halfAt(b[0:]), (*[qk32]byte)(b[2:]))
	}
}

// dequantQ8_1 ignores the stored block sum s; ggml has no to_float for Q8_1
// (it only ever feeds dot products), and d*q is what the values mean.
func dequantQ8_1(dst []float32, src []byte) {
	nb := len(dst) / qk32
	src = src[:nb*sizeQ8_1]
	for i := 0; i < nb; i++ {
		b := (*[sizeQ8_1]byte)(src[i*sizeQ8_1:])
		dequantQ8Block((*[qk32]float32)(dst[i*qk32:]), halfAt(b[0:]), (*[qk32]byte)(b[4:]))
	}
}

// dequantQ8Block is the body shared by Q8_0 and Q8_1: y = q·d.
func dequantQ8Block(y *[qk32]float32, d float32, qs *[qk32]byte) {
	for j, q := range qs {
		y[j] = float32(int8(q)) * d
	}
}

// fifthBits returns bit 4 of elements j and j+16 of a Q5_0/Q5_1 block,
// stored as bits j and j+16 of qh, in place (0 or 0x10).
func fifthBits(qh uint32, j int) (h0, h1 byte) {
	return byte(qh>>uint(j)<<4) & 0x10, byte(qh>>uint(j+12)) & 0x10
}

// absMax returns the element of largest magnitude (the first one on ties)
// and that magnitude, the way ggml's symmetric quantizers search for it.
func absMax(x []float32) (max, amax float32) {
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, max = a, v
		}
	}
	return max, amax
}

// minMax returns the smallest and largest element as ggml's asymmetric
// quantizers compute them (starting from ±FLT_MAX).
func minMax(x []float32) (min, max float32) {
	min, max = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < min {
			min = v
		}
		if v > max {
			max = v
		}
	}
	return min, max
}

// inverse returns 1/d, or 0 when d is 0 (ggml's d ? 1.0f/d : 0.0f).
func inverse(d float32) float32 {
	if d != 0 {
		return 1 / d
	}
	return 0
}

// quantLevel rounds the scaled value v·id to a level of Q4_0, Q4_1 or Q5_0 as
// ggml does: bias (8.5, 0.5, 16.5) then truncation to int8, capped at hi.
func quantLevel(v, id, bias float32, hi int32) uint8 {
	return uint8(clampHi(int32(int8(float32(v*id)+bias)), hi))
}

// put5 stores the low nibbles of the 5-bit levels of elements j and j+16
// in qs[j] and returns their fifth bits as bits j and j+16 of Q5's qh.
func put5(qs *[16]byte, j int, xi0, xi1 uint8) uint32 {
	qs[j] = xi0&0x0F | (xi1&0x0F)<<4
	return uint32(xi0&0x10)>>4<<uint(j) | uint32(xi1&0x10)>>4<<uint(j+16)
}

// clampHi returns min(hi, v) as C's MIN on ints.
func clampHi(v, hi int32) int32 {
	if v > hi {
		return hi
	}
	return v
}

func quantQ4_0(dst []byte, src []float32) {
	nb := len(src) / qk32
	dst = dst[:nb*sizeQ4_0]
	for i := 0; i < nb; i++ {
		x := (*[qk32]float32)(src[i*qk32:])
		b := (*[sizeQ4_0]byte)(dst[i*sizeQ4_0:])
		max, _ := absMax(x[:])
		d := max / -8
		id := inverse(d)
		putHalf(b[0:], d)
		for j := 0; j < 16; j++ {
			b[2+j] = quantLevel(x[j], id, 8.5, 15) | quantLevel(x[16+j], id, 8.5, 15)<<4
		}
	}
}

func quantQ4_1(dst []byte, src []float32) {
	nb := len(src) / qk32
	dst = dst[:nb*sizeQ4_1]
	for i := 0; i < nb; i++ {
		x := (*[qk32]float32)(src[i*qk32:])
		b := (*[sizeQ4_1]byte)(dst[i*sizeQ4_1:])
		min, max := minMax(x[:])
		d := (max - min) / 15
		id := inverse(d)
		putHalf(b[0:], d)
		putHalf(b[2:], min)
		for j := 0; j < 16; j++ {
			b[4+j] = quantLevel(x[j]-min, id, 0.5, 15) | quantLevel(x[16+j]-min, id, 0.5, 15)<<4
		}
	}
}

func quantQ5_0(dst []byte, src []float32) {
	nb := len(src) / qk32
	dst = dst[:nb*sizeQ5_0]
	for i := 0; i < nb; i++ {
		x := (*[qk32]float32)(src[i*qk32:])
		b := (*[sizeQ5_0]byte)(dst[i*sizeQ5_0:])
		max, _ := absMax(x[:])
		d := max / -16
		id := inverse(d)
		putHalf(b[0:], d)
		var qh uint32
		for j := 0; j < 16; j++ {
			qh |= put5((*[16]byte)(b[6:]), j, quantLevel(x[j], id, 16.5, 31), quantLevel(x[16+j], id, 16.5, 31))
		}
		binary.LittleEndian.PutUint32(b[2:], qh)
	}
}

func quantQ5_1(dst []byte, src []float32) {
	nb := len(src) / qk32
	dst = dst[:nb*sizeQ5_1]
	for i := 0; i < nb; i++ {
		x := (*[qk32]float32)(src[i*qk32:])
		b := (*[sizeQ5_1]byte)(dst[i*sizeQ5_1:])
		min, max := minMax(x[:])
		d := (max - min) / 31
		id := inverse(d)
		putHalf(b[0:], d)
		putHalf(b[2:], min)
		var qh uint32
		for j := 0; j < 16; j++ {
			// No int8 step or cap here, as in ggml's quantize_row_q5_1_ref.
			x0 := float32((x[j] - min) * id)
			x1 := float32((x[16+j] - min) * id)
			qh |= put5((*[16]byte)(b[8:]), j, uint8(x0+0.5), uint8(x1+0.5))
		}
		binary.LittleEndian.PutUint32(b[4:], qh)
	}
}

// cmax is C's MAX(a, b) macro, a > b ? a : b. Unlike Go's max it does not
// propagate NaN, which keeps ggml's results for inputs holding NaNs.
func cmax(a, b float32) float32 {
	if a > b {
		return a
	}
	return b
}

// roundf rounds half away from zero, as C's roundf.
func roundf(f float32) float32 { return float32(math.Round(float64(f))) }

// q8Scale returns the scale of a Q8_0/Q8_1 block, its largest magnitude
// over 127, and that scale's inverse.
func q8Scale(x *[qk32]float32) (d, id float32) {
	var amax float32
	for _, v := range x {
		amax = cmax(amax, abs32(v))
	}
	d = amax / 127
	return d, inverse(d)
}

func quantQ8_0(dst []byte, src []float32) {
	nb := len(src) / qk32
	dst = dst[:nb*sizeQ8_0]
	for i := 0; i < nb; i++ {
		x := (*[qk32]float32)(src[i*qk32:])
		b := (*[sizeQ8_0]byte)(dst[i*sizeQ8_0:])
		d, id := q8Scale(x)
		putHalf(b[0:], d)
		for j, v := range x {
			b[2+j] = byte(int8(roundf(v * id)))
		}
	}
}

func quantQ8_1(dst []byte, src []float32) {
	nb := len(src) / qk32
	dst = dst[:nb*sizeQ8_1]
	for i := 0; i < nb; i++ {
		x := (*[qk32]float32)(src[i*qk32:])
		b := (*[sizeQ8_1]byte)(dst[i*sizeQ8_1:])
		d, id := q8Scale(x)
		putHalf(b[0:], d)
		var sum int32
		for j, v := range x {
			q := int8(roundf(v * id))
			b[4+j] = byte(q)
			sum += int32(q)
		}
		putHalf(b[2:], float32(sum)*d)
	}
}
