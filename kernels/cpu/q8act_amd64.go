package cpu

//go:noescape
func fromFloatQ8_0AVX2(nb int, dst *byte, src *float32)

//go:noescape
func fromFloatQ8_1AVX2(nb int, dst *byte, src *float32)

// q8RowAVX2 converts the whole blocks of src with the assembly when the CPU
// has it and reports how many floats it did.
func q8RowAVX2(dst []byte, src []float32, q81 bool) int {
	nb := len(src) / q8Block
	if !hasAVX2 || nb == 0 {
		return 0
	}
	size := 2 + q8Block
	if q81 {
		size = 4 + q8Block
	}
	_ = dst[nb*size-1]
	if q81 {
		fromFloatQ8_1AVX2(nb, &dst[0], &src[0])
	} else {
		fromFloatQ8_0AVX2(nb, &dst[0], &src[0])
	}
	return nb * q8Block
}
