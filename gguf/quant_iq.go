package gguf

import "encoding/binary"

// IQ4_NL and IQ4_XS: 4-bit indices into a fixed non-linear table of 16
// levels (ggml's kvalues_iq4nl). IQ4_NL has one fp16 scale per 32 values;
// IQ4_XS has an fp16 super-block scale and a 6-bit scale per 32 values.

const (
	sizeIQ4_NL = 2 + 16            // d, qs[16]
	sizeIQ4_XS = 2 + 2 + 4 + qkK/2 // d, scales_h (uint16), scales_l[4], qs[128]
)

// kvaluesIQ4NL are the IQ4 levels, sorted ascending.
var kvaluesIQ4NL = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// kvaluesIQ4NLf are the same levels as float32, for the dequantizers.
var kvaluesIQ4NLf = func() (f [16]float32) {
	for i, v := range kvaluesIQ4NL {
		f[i] = float32(v)
	}
	return f
}()

func dequantIQ4_NL(dst []float32, src []byte) {
	nb := len(dst) / qk32
	src = src[:nb*sizeIQ4_NL]
	for i := 0; i < nb; i++ {
		b := (*[sizeIQ4_NL]byte)(src[i*sizeIQ4_NL:])
		y := (*[qk32]float32)(dst[i*qk32:])
		dequantIQ4Block(y, halfAt(b[0:]), (*[16]byte)(b[2:]))
	}
}

func dequantIQ4_XS(dst []float32, src []byte) {
	nb := len(dst) / qkK
	src = src[:nb*sizeIQ4_XS]
	for i := 0; i < nb; i++ {
		b := (*[sizeIQ4_XS]byte)(src[i*sizeIQ4_XS:])
		d := halfAt(b[0:])
		scalesH := binary.LittleEndian.Uint16(b[2:])
		scalesL := (*[4]byte)(b[4:])
		y := dst[i*qkK:]
		for ib := 0; ib < 8; ib++ {
			ls := int32((scalesL[ib/2]>>(4*(ib%2)))&0xF) | int32((scalesH>>(2*ib))&3)<<4
			dequantIQ4Block((*[32]float32)(y[32*ib:]), d*float32(ls-32), (*[16]byte)(b[8+16*ib:]))
		}
	}
}

// dequantIQ4Block decodes 32 values: element j's level index is the low
// nibble of qs[j], element j+16's the high nibble, scaled by d.
func dequantIQ4Block(y *[32]float32, d float32, qs *[16]byte) {
	kv := &kvaluesIQ4NLf
	for j, q := range qs {
		y[j] = d * kv[q&0xF]
		y[j+16] = d * kv[q>>4]
	}
}

// bestIndexInt8 returns the index of the entry of the sorted table val
// nearest to x, ties going up. It compares 2x with the sum of neighbours,
// which is exact in float32, by a binary search, as current ggml's
// best_index_int8 does. (Older ggml compared x-val[i-1] with val[i]-x,
// whose rounding can pick the other level for x within an ulp or so of a
// midpoint; no vector we have distinguishes the two.)
func bestIndexInt8(val *[16]int8, x float32) int {
	x2 := float32(x) + float32(x) // no FMA with a product passed as x
	idx := 0
	for step := 8; step > 0; step >>= 1 {
		j := idx + step
		if x2 >= float32(int32(val[j-1])+int32(val[j])) {
			idx = j
		}
	}
	return idx
}

// quantIQ4Impl is ggml's quantize_row_iq4_nl_impl for 16 levels without an
// importance matrix (weights x²) and ntry 7, as quantize_iq4_nl and
// quantize_iq4_xs call it. x is one super-block (32 values for IQ4_NL, 256
// for IQ4_XS) of 32-value blocks. It returns the fp16 super-block scale and
// fills L (levels), and for several blocks the packed 6-bit block scales.
func quantIQ4Impl(x []float32, L []uint8, scales []float32, scalesH *uint16, scalesL []byte) (dh uint16) {
	const (
		blockSize = 32
		ntry      = 7
	)
	values := &kvaluesIQ4NL
	nblocks := len(x) / blockSize
	var weight [blockSize]float32
	var maxScale, amaxScale float32
	for ib := 0; ib < nblocks; ib++ {
		xb := x[ib*blockSize : ib*blockSize+blockSize]
		Lb := L[ib*blockSize : ib*blockSize+blockSize]
		for j, v := range xb {
			weight[j] = v * v
		}
		max, amax := absMax(xb)
		if amax < groupMaxEps {
			scales[ib] = 0
			clear(Lb)
			continue
		}
		d := -max / float32(values[0]) // ntry > 0
		id := 1 / d
		var sumqx, sumq2 float32
		for j, v := range xb {
			l := bestIndexInt8(values, id*v)
			Lb[j] = uint8(l)
			q := float32(values[l])
			w := weight[j]
			sumqx += float32(w * q * v)
			sumq2 += float32(w * q * q)
		}
		d = 0
		if sumq2 > 0 {
			d = sumqx / sumq2
		}
		best := d * sumqx
		for itry := int32(-ntry); itry <= ntry; itry++ {
			id = float32(itry+int32(values[0])) / max
			sumqx, sumq2 = 0, 0
			for j, v := range xb {
				l := bestIndexInt8(values, id*v)
				q := float32(values[l])
				w := weight[j]
				sumqx += float32(w * q * v)
				sumq2 += float32(w * q * q)
			}
			if sumq2 > 0 && sumqx*sumqx > best*sumq2 {
				d = sumqx / sumq2
				best = d * sumqx
			}
		}
		scales[ib] = d
		if a := abs32(d); a > amaxScale {
			amaxScale, maxScale = a, d
		}
	}

	if nblocks == 1 {
		dh = Float32ToHalf(scales[0])
		id := inverse(scales[0])
		for j, v := range x {
			L[j] = uint8(bestIndexInt8(values, id*v))
		}
		return dh
	}

	*scalesH = 0
	d := -maxScale / 32
	dh = Float32ToHalf(d)
	id := inverse(d)
	for ib := 0; ib < nblocks; ib++ {
		l := clamp32(nearestInt(id*scales[ib]), -32, 31)
		idl := inverse(d * float32(l))
		xb := x[ib*blockSize : ib*blockSize+blockSize]
		Lb := L[ib*blockSize : ib*blockSize+blockSize]
		for j, v := range xb {
			Lb[j] = uint8(bestIndexInt8(values, idl*v))
		}
		l += 32
		lLo, lHi := uint8(l&0xF), uint16(l>>4)
		if ib%2 == 0 {
			scalesL[ib/2] = lLo
		} else {
			scalesL[ib/2] |= lLo << 4
		}
		*scalesH |= lHi << (2 * (ib % 8))
	}
	return dh
}

// packNibbles32 stores 32 levels as 16 bytes, element j in the low nibble
// of byte j and element j+16 in the high nibble.
func packNibbles32(qs []byte, L []uint8) {
	qs = qs[:16]
	L = L[:32]
	for j := range qs {
		qs[j] = L[j] | L[j+16]<<4
	}
}

func quantIQ4_NL(dst []byte, src []float32) {
	nb := len(src) / qk32
	dst = dst[:nb*sizeIQ4_NL]
	var (
		L      [qk32]uint8
		scales [1]float32
		sh     uint16
	)
	for i := 0; i < nb; i++ {
		b := (*[sizeIQ4_NL]byte)(dst[i*sizeIQ4_NL:])
		dh := quantIQ4Impl(src[i*qk32:i*qk32+qk32], L[:], scales[:], &sh, nil)
		binary.LittleEndian.PutUint16(b[0:], dh)
		packNibbles32(b[2:], L[:])
	}
}

func quantIQ4_XS(dst []byte, src []float32) {
	nb := len(src) / qkK
	dst = dst[:nb*sizeIQ4_XS]
	var (
		L      [qkK]uint8
		scales [qkK / 32]float32
	)
	for i := 0; i < nb; i++ {
		b := (*[sizeIQ4_XS]byte)(dst[i*sizeIQ4_XS:])
		var sh uint16
		dh := quantIQ4Impl(src[i*qkK:i*qkK+qkK], L[:], scales[:], &sh, b[4:8])
		binary.LittleEndian.PutUint16(b[0:], dh)
		binary.LittleEndian.PutUint16(b[2:], sh)
		for ib := 0; ib < 8; ib++ {
			packNibbles32(b[8+16*ib:], L[32*ib:])
		}
	}
}
