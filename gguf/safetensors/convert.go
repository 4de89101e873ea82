package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/x448/float16"
)

// convFloat32 converts len(dst) little-endian elements from src.
type convFloat32 func(dst []float32, src []byte)

func f32ToF32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func f16ToF32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = float16.Frombits(binary.LittleEndian.Uint16(src[2*i:])).Float32()
	}
}

// bf16ToF32 is exact: bfloat16 is the top half of a float32.
func bf16ToF32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
	}
}

func f64ToF32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
	}
}

// float32s converts the data of t into a new slice. It prefers the GGUF type
// table's converter, so that owl has one definition of each format, and
// falls back to its own where the table has none.
func float32s(t TensorInfo, data []byte) ([]float32, error) {
	in := t.DType.info()
	if in == nil || in.conv == nil {
		return nil, fmt.Errorf("safetensors: tensor %q: cannot convert %v to float32", t.Name, t.DType)
	}
	n := int64(len(data)) * 8 / int64(in.bits) // data was checked against the shape
	dst := make([]float32, n)
	if gt, ok := t.DType.GGUF(); ok {
		if tr := gt.Traits(); tr != nil && tr.Dequantize != nil && tr.BlockSize == 1 {
			tr.Dequantize(dst, data)
			return dst, nil
		}
	}
	in.conv(dst, data)
	return dst, nil
}
