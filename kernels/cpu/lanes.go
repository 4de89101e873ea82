package cpu

import (
	"encoding/binary"
	"math"

	"github.com/openweights/owl/gguf"
)

// Lane kernels: dot products in the summation order of ggml's x86 SIMD
// kernels, for the CPUs that run them as fast as ggml does (assembly,
// dot_amd64.s). ggml's AVX2 vec_dot keeps eight float32 lanes: per block,
// lane k takes the exact integer sum of elements 4k..4k+3, converted to
// float32 and fused-multiply-added with d_w·d_x; the lanes are then added
// ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)). Summing in that order makes owl's
// logits match llama.cpp's x86 builds bit for bit where the plain-Go
// kernels (a block-serial float32 sum) differ in the last bits.
//
// Where no lane kernel is registered for a type, MatMul uses the plain-Go
// kernels (traits.go, matmul_batch.go). Either way one row of w dotted with
// one row of x gives the same bits whether it is computed alone or in a
// batch, so a request's tokens do not depend on what else is running.

// laneKernel is one weight type's dot products in lane order; x rows are of
// the type's VecDotType.
type laneKernel struct {
	// dot returns the dot product of n elements of one row of w and x.
	dot func(n int, w, x []byte) float32
	// tile4 computes rows rows of w (wrb bytes apart) against four rows
	// of x (xrb bytes apart) in one call, result k of row r to
	// dst[k·dstride + r]; side holds the four x rows' block scales as
	// floats (laneSide) when the kernel reads them.
	tile4 func(n int, w []byte, wrb, rows int, x []byte, xrb int, side, dst []float32, dstride int)
	// dotRows computes rows rows of w (wrb bytes apart) against one row
	// of x, result r to dst[r], x's side floats from lane of the four-row
	// group's side: decoding, and the rows of x after the whole groups of
	// four. Set exactly for the kernels that read side floats; the Q8_K
	// kernels, whose activation blocks carry a float32 scale, read none
	// (tile4's side is then nil) and decode with dot.
	dotRows func(n int, w []byte, wrb, rows int, x []byte, side []float32, lane int, dst []float32)
	// tile8, where the CPU has it, is tile4 for eight rows of x in the
	// interleaved layout that layout8 writes (xi, with side its side8).
	tile8   func(n int, w []byte, wrb, rows int, xi []byte, side, dst []float32, dstride int)
	layout8 tile8Layout
	// shift, when not 0, says the kernels read signed weights unsigned,
	// 2^shift more, and take the correction (laneSide, laneInterleave8)
	// as each block's integer start.
	shift int
}

// laneCorr returns the negated lane sums of a Q8_0 block's 32 quants (four
// values a lane) times 2^shift: dot(w + 2^shift, x) + corr = dot(w, x).
func laneCorr(q *[32]byte, shift int) (c [8]int32) {
	for l := 0; l < 8; l += 2 {
		// Two lanes at once: the bytes' unsigned sums, less 256 for each
		// negative byte.
		v := binary.LittleEndian.Uint64(q[4*l:])
		t := v&0x00FF00FF00FF00FF + v>>8&0x00FF00FF00FF00FF
		t = t&0x0000FFFF0000FFFF + t>>16&0x0000FFFF0000FFFF
		h := v >> 7 & 0x0101010101010101
		h += h >> 8
		h = (h + h>>16) & 0x000000FF000000FF
		c[l] = int32(uint32(h<<8-t)) << shift
		c[l+1] = int32(uint32((h>>32)<<8-t>>32)) << shift
	}
	return c
}

// laneSideLen is the length of one four-row group's side floats for nb
// blocks: [nb][4] d_x, then for Q8_1 [nb][4] s_x, or with a shift the
// corrections [nb][4 rows][8 lanes] (int32 bits).
func laneSideLen(nb int, q81 bool, shift int) int {
	switch {
	case q81:
		return 8 * nb
	case shift > 0:
		return 36 * nb
	}
	return 4 * nb
}

// laneSide writes row k (of four) of a group's side floats from its Q8_0
// or Q8_1 row x of nb blocks: the block scales converted once per MatMul
// rather than once per row of w, and with a shift the corrections.
func laneSide(side []float32, k int, x []byte, nb int, q81 bool, shift int) {
	if q81 {
		for b := 0; b < nb; b++ {
			xb := (*[sizeQ8_1]byte)(x[b*sizeQ8_1:])
			side[4*b+k] = f16Table[binary.LittleEndian.Uint16(xb[:])]
			side[4*(nb+b)+k] = f16Table[binary.LittleEndian.Uint16(xb[2:])]
		}
		return
	}
	for b := 0; b < nb; b++ {
		xb := (*[sizeQ8_0]byte)(x[b*sizeQ8_0:])
		side[4*b+k] = f16Table[binary.LittleEndian.Uint16(xb[:])]
		if shift > 0 {
			c := laneCorr((*[32]byte)(xb[2:]), shift)
			dst := (*[8]float32)(side[4*nb+32*b+8*k:])
			for l, v := range c {
				dst[l] = math.Float32frombits(uint32(v))
			}
		}
	}
}

// tile8Layout is how a type's eight-row tiles take their activations: the
// lengths of one eight-row group's interleaved quants (xiLen) and side
// floats (sideLen) for rows of n values, and write, which fills row k of a
// group from a row x of the type's VecDotType.
type tile8Layout struct {
	xiLen, sideLen func(n int) int
	write          func(xi []byte, side []float32, k int, x []byte, n int)
}

// legacyLayout8 is the 32-value block types' tile8Layout (laneInterleave8).
func legacyLayout8(q81 bool, shift int) tile8Layout {
	return tile8Layout{
		xiLen:   func(n int) int { return laneXiLen(n/qk, q81) },
		sideLen: func(n int) int { return laneSide8Len(n/qk, q81) },
		write: func(xi []byte, side []float32, k int, x []byte, n int) {
			laneInterleave8(xi, side, k, x, n/qk, q81, shift)
		},
	}
}

// The K-quant tiles' activation layouts (laneInterleaveK8): kLayout8 for
// Q4_K and Q5_K, kx80Layout8 for Q6_K and Q3_K, kBsumLayout8 for Q2_K.
var (
	kLayout8     = kLayout(kTailPairs)
	kx80Layout8  = kLayout(kTailX80)
	kBsumLayout8 = kLayout(kTailBsums)
)

// kTail is what follows a super-block's quants in laneInterleaveK8.
type kTail int

const (
	kTailPairs kTail = iota // each row's eight bsum pair sums, int16
	kTailX80                // nothing; the quants XOR 0x80 (unsigned)
	kTailBsums              // each row's sixteen bsums, int16
)

func kLayout(tail kTail) tile8Layout {
	return tile8Layout{
		xiLen:   func(n int) int { return laneXiBlockK(tail) * (n / qkK) },
		sideLen: func(n int) int { return 8 * (n / qkK) },
		write: func(xi []byte, side []float32, k int, x []byte, n int) {
			laneInterleaveK8(xi, side, k, x, n/qkK, tail)
		},
	}
}

// laneXiBlockK is one super-block's bytes in laneInterleaveK8's layout.
func laneXiBlockK(tail kTail) int {
	switch tail {
	case kTailX80:
		return 8 * 256
	case kTailBsums:
		return 8*256 + 8*32
	}
	return 8*256 + 8*16
}

// laneInterleaveK8 writes row k (of eight) of a group's Q8_K tile8
// activations from its row x of nb super-blocks: per super-block, for each
// of the eight 32-value groups the eight rows' quants, then per tail each
// row's eight sums of bsum pairs (int16, wrapping as VPHADDW adds: Q4_K's
// minimums) or its sixteen bsums (Q2_K's), or nothing with the quants made
// unsigned (XOR 0x80: Q6_K's and Q3_K's signed weights). side holds
// [nb][8] d_x.
func laneInterleaveK8(xi []byte, side []float32, k int, x []byte, nb int, tail kTail) {
	blk := laneXiBlockK(tail)
	for b := 0; b < nb; b++ {
		xb := (*q8K)(x[b*sizeQ8_K:])
		dst := xi[b*blk : (b+1)*blk]
		for g := 0; g < 8; g++ {
			d := (*[32]byte)(dst[256*g+32*k:])
			copy(d[:], xb[4+32*g:])
			if tail == kTailX80 {
				for i := 0; i < 32; i += 8 {
					v := binary.LittleEndian.Uint64(d[i:])
					binary.LittleEndian.PutUint64(d[i:], v^0x8080808080808080)
				}
			}
		}
		switch tail {
		case kTailPairs:
			for i := 0; i < 8; i++ {
				binary.LittleEndian.PutUint16(dst[2048+16*k+2*i:], uint16(int16(q8KBsum(xb, 2*i)+q8KBsum(xb, 2*i+1))))
			}
		case kTailBsums:
			copy(dst[2048+32*k:][:32], xb[4+qkK:])
		}
		side[8*b+k] = q8KScale(xb)
	}
}

// laneXiLen and laneSide8Len are the lengths of one eight-row group's
// interleaved activations and side floats for nb blocks.
func laneXiLen(nb int, q81 bool) int {
	if q81 {
		return 256 * nb
	}
	return 512 * nb
}

func laneSide8Len(nb int, q81 bool) int {
	if q81 {
		return 16 * nb
	}
	return 8 * nb
}

// laneInterleave8 writes row k (of eight) of a group's tile8 activations
// from its Q8_0 or Q8_1 row x of nb blocks. Per block xi holds the eight
// rows' 32 quants, so that one 64-byte load carries two rows; for Q8_0 (the
// signed weight types, read unsigned) follow each row's corrections
// (laneCorr) as little-endian int32. side holds [nb][8] d_x, then for Q8_1
// [nb][8] s_x.
func laneInterleave8(xi []byte, side []float32, k int, x []byte, nb int, q81 bool, shift int) {
	if q81 {
		for b := 0; b < nb; b++ {
			xb := (*[sizeQ8_1]byte)(x[b*sizeQ8_1:])
			copy(xi[b*256+32*k:][:32], xb[4:])
			side[8*b+k] = f16Table[binary.LittleEndian.Uint16(xb[:])]
			side[8*(nb+b)+k] = f16Table[binary.LittleEndian.Uint16(xb[2:])]
		}
		return
	}
	for b := 0; b < nb; b++ {
		xb := (*[sizeQ8_0]byte)(x[b*sizeQ8_0:])
		dst := (*[512]byte)(xi[b*512:])
		copy(dst[32*k:][:32], xb[2:])
		side[8*b+k] = f16Table[binary.LittleEndian.Uint16(xb[:])]
		c := laneCorr((*[32]byte)(xb[2:]), shift)
		sums := (*[32]byte)(dst[256+32*k:])
		for l, v := range c {
			binary.LittleEndian.PutUint32(sums[4*l:], uint32(v))
		}
	}
}

// laneKernels holds the lane kernels the running CPU supports; arch files
// fill it at init. lanesOn (false in tests that pin the plain-Go kernels)
// says whether MatMul and the traits table use them.
var (
	laneKernels = map[gguf.Type]laneKernel{}
	// avx2Kernels are the AVX2 kernels where the CPU has them, kept so
	// that tests on a VNNI machine check them too.
	avx2Kernels = map[gguf.Type]laneKernel{}
	plainVecDot = map[gguf.Type]func(n int, w, x []byte) float32{}
	lanesOn     bool
)

// registerLanes installs k as t's kernel; called from init functions.
func registerLanes(t gguf.Type, k laneKernel) {
	laneKernels[t] = k
	useLanes(true)
}

// useLanes switches the traits table and MatMul between the lane kernels
// and the plain-Go ones. Not safe while a MatMul runs: tests and init only.
func useLanes(on bool) {
	for t, k := range laneKernels {
		tr := traits[t]
		if _, ok := plainVecDot[t]; !ok {
			plainVecDot[t] = tr.VecDot
		}
		if on {
			tr.VecDot = k.dot
		} else {
			tr.VecDot = plainVecDot[t]
		}
	}
	lanesOn = on && len(laneKernels) > 0
}

// laneKernelFor returns t's lane kernel when lanes are in use.
func laneKernelFor(t gguf.Type) (laneKernel, bool) {
	if !lanesOn {
		return laneKernel{}, false
	}
	k, ok := laneKernels[t]
	return k, ok
}
