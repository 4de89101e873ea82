package cpu

import (
	"github.com/openweights/owl/gguf"
)

// Traits is the compute side of a tensor type, the counterpart of ggml's
// type_traits_cpu: how rows of the type take part in a dot product. The
// format side (sizes, dequantization) is gguf's type table.
type Traits struct {
	// VecDotType is the type the other operand of a dot product is
	// converted to: Q8_0, Q8_1 or Q8_K for quantized weights, the type
	// itself for F32, F16 and BF16.
	VecDotType gguf.Type
	// VecDot returns the dot product of n elements: one row w of this type
	// with one row x of VecDotType. n is a multiple of both block sizes.
	VecDot func(n int, w, x []byte) float32
	// FromFloat converts len(src) float32 values to VecDotType in dst; nil
	// when VecDotType is F32 (the values are used as they are).
	FromFloat func(dst []byte, src []float32)
}

// traits is the one table of compute traits, keyed by tensor type.
var traits = map[gguf.Type]*Traits{
	gguf.TypeF32:    {VecDotType: gguf.TypeF32, VecDot: dotF32},
	gguf.TypeF16:    {VecDotType: gguf.TypeF16, VecDot: dotF16, FromFloat: fromFloatF16},
	gguf.TypeBF16:   {VecDotType: gguf.TypeBF16, VecDot: dotBF16, FromFloat: fromFloatBF16},
	gguf.TypeQ4_0:   {VecDotType: gguf.TypeQ8_0, VecDot: dotQ4_0Q8_0},
	gguf.TypeQ4_1:   {VecDotType: gguf.TypeQ8_1, VecDot: dotQ4_1Q8_1},
	gguf.TypeQ5_0:   {VecDotType: gguf.TypeQ8_0, VecDot: dotQ5_0Q8_0},
	gguf.TypeQ5_1:   {VecDotType: gguf.TypeQ8_1, VecDot: dotQ5_1Q8_1},
	gguf.TypeQ8_0:   {VecDotType: gguf.TypeQ8_0, VecDot: dotQ8_0Q8_0},
	gguf.TypeQ2_K:   {VecDotType: gguf.TypeQ8_K, VecDot: dotQ2_KQ8_K},
	gguf.TypeQ3_K:   {VecDotType: gguf.TypeQ8_K, VecDot: dotQ3_KQ8_K},
	gguf.TypeQ4_K:   {VecDotType: gguf.TypeQ8_K, VecDot: dotQ4_KQ8_K},
	gguf.TypeQ5_K:   {VecDotType: gguf.TypeQ8_K, VecDot: dotQ5_KQ8_K},
	gguf.TypeQ6_K:   {VecDotType: gguf.TypeQ8_K, VecDot: dotQ6_KQ8_K},
	gguf.TypeIQ4_NL: {VecDotType: gguf.TypeQ8_0, VecDot: dotIQ4_NLQ8_0},
	gguf.TypeIQ4_XS: {VecDotType: gguf.TypeQ8_K, VecDot: dotIQ4_XSQ8_K},
}

func init() {
	// Activations become Q8_0/Q8_1 as llama.cpp's x86 build converts them
	// (q8act.go); Q8_K takes gguf's reference quantizer, which ggml's x86
	// quantize_row_q8_K calls too.
	for _, tr := range traits {
		if tr.FromFloat != nil || tr.VecDotType == gguf.TypeF32 {
			continue
		}
		switch tr.VecDotType {
		case gguf.TypeQ8_0:
			tr.FromFloat = fromFloatQ8_0
		case gguf.TypeQ8_1:
			tr.FromFloat = fromFloatQ8_1
		default:
			tr.FromFloat = tr.VecDotType.Traits().Quantize
		}
	}
}

// TypeTraits returns the compute traits of t, or nil when the CPU backend
// cannot multiply by tensors of that type.
func TypeTraits(t gguf.Type) *Traits { return traits[t] }

// F16 and BF16 rows (activations and the KV cache) are converted by gguf's
// encoders, which round as ggml does.
var (
	fromFloatF16  = gguf.TypeF16.Traits().Quantize
	fromFloatBF16 = gguf.TypeBF16.Traits().Quantize
)
