package cpu

// Dot products of the 32-element block types with Q8_0/Q8_1 activations
// (ggml's ggml_vec_dot_q*_q8_*). Each block's integer sum is exact; it is
// scaled by the product of the two block scales, which ggml's x86 kernels
// form first (d_w·d_x)·sum, and the blocks are summed in float32.

const qk = 32

const (
	sizeQ4_0 = 18
	sizeQ4_1 = 20
	sizeQ5_0 = 22
	sizeQ5_1 = 24
	sizeQ8_0 = 34
	sizeQ8_1 = 36
)

// half reads the binary16 value at b[0:2].
func half(b []byte) float32 { return f16Table[uint16(b[0])|uint16(b[1])<<8] }

// kvaluesIQ4NL are IQ4_NL's 16 non-linear levels (ggml's kvalues_iq4nl).
var kvaluesIQ4NL = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// iq4Dot returns Σ kvalues[q_j]·y_j over a 32-element IQ4 block whose 16
// index bytes hold element j in the low nibble of byte j and element j+16
// in the high nibble; y holds the Q8 block's 32 int8 values.
func iq4Dot(qs *[16]byte, y *[qk]byte) int32 {
	kv := &kvaluesIQ4NL
	var s0, s1 int32
	for j, q := range qs {
		s0 += int32(int8(y[j])) * int32(kv[q&0xF])
		s1 += int32(int8(y[j+16])) * int32(kv[q>>4])
	}
	return s0 + s1
}

func dotQ8_0Q8_0(n int, w, x []byte) float32 {
	nb := n / qk
	w = w[:nb*sizeQ8_0]
	x = x[:nb*sizeQ8_0]
	var sum float32
	for len(w) >= sizeQ8_0 && len(x) >= sizeQ8_0 {
		wb := (*[sizeQ8_0]byte)(w)
		xb := (*[sizeQ8_0]byte)(x)
		s := dotI8x4(le64(wb[2:]), le64(wb[10:]), le64(wb[18:]), le64(wb[26:]), (*[32]byte)(xb[2:]))
		sum += float32((half(wb[:]) * half(xb[:])) * float32(s))
		w, x = w[sizeQ8_0:], x[sizeQ8_0:]
	}
	return sum
}

// nibbleDot returns Σ q_j·y_j over a 32-element block whose 16 quant
// bytes hold element j in the low nibble of byte j and element j+16 in the
// high nibble; when fifth is set, bit j of qh is element j's bit 4. y is the
// Q8 block's 32 int8 values. Signed quants are biased by bias (a minus*
// constant), unsigned ones are used as they are.
func nibbleDot(qs *[16]byte, qh uint32, fifth bool, y *[qk]byte, signed bool, bias uint64) int32 {
	q0, q1 := le64(qs[0:]), le64(qs[8:])
	a0, a1 := q0&lowNibbles, q1&lowNibbles
	a2, a3 := q0>>4&lowNibbles, q1>>4&lowNibbles
	if fifth {
		a0 |= spreadBits(uint8(qh)) << 4
		a1 |= spreadBits(uint8(qh>>8)) << 4
		a2 |= spreadBits(uint8(qh>>16)) << 4
		a3 |= spreadBits(uint8(qh>>24)) << 4
	}
	if !signed {
		return dotU8x4(a0, a1, a2, a3, y)
	}
	return dotI8x4((a0+bias)^topBits, (a1+bias)^topBits, (a2+bias)^topBits, (a3+bias)^topBits, y)
}

func dotQ4_0Q8_0(n int, w, x []byte) float32 {
	nb := n / qk
	w = w[:nb*sizeQ4_0]
	x = x[:nb*sizeQ8_0]
	var sum float32
	for len(w) >= sizeQ4_0 && len(x) >= sizeQ8_0 {
		wb := (*[sizeQ4_0]byte)(w)
		xb := (*[sizeQ8_0]byte)(x)
		s := nibbleDot((*[16]byte)(wb[2:]), 0, false, (*[qk]byte)(xb[2:]), true, minus8)
		sum += float32((half(wb[:]) * half(xb[:])) * float32(s))
		w, x = w[sizeQ4_0:], x[sizeQ8_0:]
	}
	return sum
}

func dotQ4_1Q8_1(n int, w, x []byte) float32 {
	nb := n / qk
	w = w[:nb*sizeQ4_1]
	x = x[:nb*sizeQ8_1]
	var sum, summs float32
	for len(w) >= sizeQ4_1 && len(x) >= sizeQ8_1 {
		wb := (*[sizeQ4_1]byte)(w)
		xb := (*[sizeQ8_1]byte)(x)
		s := nibbleDot((*[16]byte)(wb[4:]), 0, false, (*[qk]byte)(xb[4:]), false, 0)
		// The minimum m times the block sum s of x carries the offset.
		summs += float32(half(wb[2:]) * half(xb[2:]))
		sum += float32((half(wb[:]) * half(xb[:])) * float32(s))
		w, x = w[sizeQ4_1:], x[sizeQ8_1:]
	}
	return sum + summs
}

func dotQ5_0Q8_0(n int, w, x []byte) float32 {
	nb := n / qk
	w = w[:nb*sizeQ5_0]
	x = x[:nb*sizeQ8_0]
	var sum float32
	for len(w) >= sizeQ5_0 && len(x) >= sizeQ8_0 {
		wb := (*[sizeQ5_0]byte)(w)
		xb := (*[sizeQ8_0]byte)(x)
		qh := uint32(wb[2]) | uint32(wb[3])<<8 | uint32(wb[4])<<16 | uint32(wb[5])<<24
		s := nibbleDot((*[16]byte)(wb[6:]), qh, true, (*[qk]byte)(xb[2:]), true, minus16)
		sum += float32((half(wb[:]) * half(xb[:])) * float32(s))
		w, x = w[sizeQ5_0:], x[sizeQ8_0:]
	}
	return sum
}

func dotQ5_1Q8_1(n int, w, x []byte) float32 {
	nb := n / qk
	w = w[:nb*sizeQ5_1]
	x = x[:nb*sizeQ8_1]
	var sum, summs float32
	for len(w) >= sizeQ5_1 && len(x) >= sizeQ8_1 {
		wb := (*[sizeQ5_1]byte)(w)
		xb := (*[sizeQ8_1]byte)(x)
		qh := uint32(wb[4]) | uint32(wb[5])<<8 | uint32(wb[6])<<16 | uint32(wb[7])<<24
		s := nibbleDot((*[16]byte)(wb[8:]), qh, true, (*[qk]byte)(xb[4:]), false, 0)
		summs += float32(half(wb[2:]) * half(xb[2:]))
		sum += float32((half(wb[:]) * half(xb[:])) * float32(s))
		w, x = w[sizeQ5_1:], x[sizeQ8_1:]
	}
	return sum + summs
}

func dotIQ4_NLQ8_0(n int, w, x []byte) float32 {
	nb := n / qk
	w = w[:nb*sizeQ4_0]
	x = x[:nb*sizeQ8_0]
	var sum float32
	for i := 0; i < nb; i++ {
		wb := (*[sizeQ4_0]byte)(w[i*sizeQ4_0:])
		xb := (*[sizeQ8_0]byte)(x[i*sizeQ8_0:])
		s := iq4Dot((*[16]byte)(wb[2:]), (*[qk]byte)(xb[2:]))
		sum += float32((half(xb[:]) * half(wb[:])) * float32(s))
	}
	return sum
}
