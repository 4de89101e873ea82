package cpu

import (
	"encoding/binary"
	"math"

	"github.com/openweights/owl/gguf"
)

// Activations are converted to Q8_0 and Q8_1 as ggml's x86 build converts
// them (quantize_row_q8_0/q8_1 under AVX/AVX2/AVX-512), not as its
// reference quantizer, which gguf implements for files: the inverse scale is
// 127/amax rather than 1/(amax/127), and values round half to even (the SIMD
// round instruction) rather than half away from zero. The two differ only in
// the last bit of a scale or on exact ties, but a quantized model amplifies
// those, and llama.cpp's logits on x86 are what owl is compared with.

const q8Block = 32

// q8Scales returns a block's scale d = amax/127 and the multiplier
// 127/amax, 0 for an all-zero block.
func q8Scales(x *[q8Block]float32) (d, id float32) {
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	d = amax / 127
	if amax != 0 {
		id = 127 / amax
	}
	return d, id
}

// q8Round rounds v*id half to even and saturates to int8, as the SIMD
// round, convert and pack instructions do.
func q8Round(v, id float32) int8 {
	r := math.RoundToEven(float64(v * id))
	return int8(max(-128, min(127, r)))
}

// fromFloatQ8_0 converts src to Q8_0 blocks (d f16, 32 × int8) in dst,
// in assembly where the CPU has it (the same bytes).
func fromFloatQ8_0(dst []byte, src []float32) {
	done := q8RowAVX2(dst, src, false)
	fromFloatQ8_0Go(dst[done/q8Block*(2+q8Block):], src[done:])
}

func fromFloatQ8_0Go(dst []byte, src []float32) {
	const size = 2 + q8Block
	for i := 0; i+q8Block <= len(src); i += q8Block {
		x := (*[q8Block]float32)(src[i:])
		b := (*[size]byte)(dst[i/q8Block*size:])
		d, id := q8Scales(x)
		binary.LittleEndian.PutUint16(b[0:], gguf.Float32ToHalf(d))
		for j, v := range x {
			b[2+j] = byte(q8Round(v, id))
		}
	}
}

// fromFloatQ8_1 converts src to Q8_1 blocks (d f16, s = d·Σq f16, 32 ×
// int8) in dst. s takes the unrounded d, as ggml's does.
func fromFloatQ8_1(dst []byte, src []float32) {
	done := q8RowAVX2(dst, src, true)
	fromFloatQ8_1Go(dst[done/q8Block*(4+q8Block):], src[done:])
}

func fromFloatQ8_1Go(dst []byte, src []float32) {
	const size = 4 + q8Block
	for i := 0; i+q8Block <= len(src); i += q8Block {
		x := (*[q8Block]float32)(src[i:])
		b := (*[size]byte)(dst[i/q8Block*size:])
		d, id := q8Scales(x)
		var sum int32
		for j, v := range x {
			q := q8Round(v, id)
			b[4+j] = byte(q)
			sum += int32(q)
		}
		binary.LittleEndian.PutUint16(b[0:], gguf.Float32ToHalf(d))
		binary.LittleEndian.PutUint16(b[2:], gguf.Float32ToHalf(d*float32(sum)))
	}
}
