package cpu

import "encoding/binary"

// Eight-at-a-time helpers for the integer dot kernels: operands are loaded
// as little-endian uint64 words and their bytes taken apart with shifts,
// which the Go compiler turns into far fewer instructions than byte loads.
// (Assembly kernels replace these on amd64 and arm64.)

const (
	lowNibbles = 0x0F0F0F0F0F0F0F0F
	low2Bits   = 0x0303030303030303
	lowBits    = 0x0101010101010101
)

func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// dotI8 returns Σ_k int8(a_k)·int8(b_k) over the eight bytes of a and b.
func dotI8(a, b uint64) int32 {
	return int32(int8(a))*int32(int8(b)) +
		int32(int8(a>>8))*int32(int8(b>>8)) +
		int32(int8(a>>16))*int32(int8(b>>16)) +
		int32(int8(a>>24))*int32(int8(b>>24)) +
		int32(int8(a>>32))*int32(int8(b>>32)) +
		int32(int8(a>>40))*int32(int8(b>>40)) +
		int32(int8(a>>48))*int32(int8(b>>48)) +
		int32(int8(a>>56))*int32(int8(b>>56))
}

// dotU8 returns Σ_k uint8(a_k)·int8(b_k): unsigned quants (at most 127)
// times signed activations.
func dotU8(a, b uint64) int32 {
	return int32(uint8(a))*int32(int8(b)) +
		int32(uint8(a>>8))*int32(int8(b>>8)) +
		int32(uint8(a>>16))*int32(int8(b>>16)) +
		int32(uint8(a>>24))*int32(int8(b>>24)) +
		int32(uint8(a>>32))*int32(int8(b>>32)) +
		int32(uint8(a>>40))*int32(int8(b>>40)) +
		int32(uint8(a>>48))*int32(int8(b>>48)) +
		int32(uint8(a>>56))*int32(int8(b>>56))
}

// spreadBits returns eight bytes whose bytes k are 1 where bit k of b is set.
func spreadBits(b uint8) uint64 {
	x := uint64(b) * lowBits & 0x8040201008040201
	// Each byte is 0 or a single bit; adding 0x7F sets its top bit exactly
	// when it is not 0, without carrying into the next byte.
	return (x + 0x7F7F7F7F7F7F7F7F) >> 7 & lowBits
}

// Offsets applied to eight small unsigned quants at once, giving int8
// bytes q−off: adding 0x80−off cannot carry out of a byte for these
// ranges, and flipping the top bit turns the biased value back into two's
// complement.
const (
	minus4  = 0x7C7C7C7C7C7C7C7C // q in 0..7
	minus8  = 0x7878787878787878 // q in 0..15
	minus16 = 0x7070707070707070 // q in 0..31
	minus32 = 0x6060606060606060 // q in 0..63
	topBits = 0x8080808080808080
)

// dotI8x4 is dotI8 over four words of a and the 32 bytes of y, written out
// so that a block costs one call.
func dotI8x4(a0, a1, a2, a3 uint64, y *[32]byte) (s int32) {
	b0, b1, b2, b3 := le64(y[0:]), le64(y[8:]), le64(y[16:]), le64(y[24:])
	s += int32(int8(a0))*int32(int8(b0)) +
		int32(int8(a0>>8))*int32(int8(b0>>8)) +
		int32(int8(a0>>16))*int32(int8(b0>>16)) +
		int32(int8(a0>>24))*int32(int8(b0>>24)) +
		int32(int8(a0>>32))*int32(int8(b0>>32)) +
		int32(int8(a0>>40))*int32(int8(b0>>40)) +
		int32(int8(a0>>48))*int32(int8(b0>>48)) +
		int32(int8(a0>>56))*int32(int8(b0>>56))
	s += int32(int8(a1))*int32(int8(b1)) +
		int32(int8(a1>>8))*int32(int8(b1>>8)) +
		int32(int8(a1>>16))*int32(int8(b1>>16)) +
		int32(int8(a1>>24))*int32(int8(b1>>24)) +
		int32(int8(a1>>32))*int32(int8(b1>>32)) +
		int32(int8(a1>>40))*int32(int8(b1>>40)) +
		int32(int8(a1>>48))*int32(int8(b1>>48)) +
		int32(int8(a1>>56))*int32(int8(b1>>56))
	s += int32(int8(a2))*int32(int8(b2)) +
		int32(int8(a2>>8))*int32(int8(b2>>8)) +
		int32(int8(a2>>16))*int32(int8(b2>>16)) +
		int32(int8(a2>>24))*int32(int8(b2>>24)) +
		int32(int8(a2>>32))*int32(int8(b2>>32)) +
		int32(int8(a2>>40))*int32(int8(b2>>40)) +
		int32(int8(a2>>48))*int32(int8(b2>>48)) +
		int32(int8(a2>>56))*int32(int8(b2>>56))
	s += int32(int8(a3))*int32(int8(b3)) +
		int32(int8(a3>>8))*int32(int8(b3>>8)) +
		int32(int8(a3>>16))*int32(int8(b3>>16)) +
		int32(int8(a3>>24))*int32(int8(b3>>24)) +
		int32(int8(a3>>32))*int32(int8(b3>>32)) +
		int32(int8(a3>>40))*int32(int8(b3>>40)) +
		int32(int8(a3>>48))*int32(int8(b3>>48)) +
		int32(int8(a3>>56))*int32(int8(b3>>56))
	return s
}

// dotU8x4 is dotU8 over four words of a and the 32 bytes of y.
func dotU8x4(a0, a1, a2, a3 uint64, y *[32]byte) (s int32) {
	b0, b1, b2, b3 := le64(y[0:]), le64(y[8:]), le64(y[16:]), le64(y[24:])
	s += int32(uint8(a0))*int32(int8(b0)) +
		int32(uint8(a0>>8))*int32(int8(b0>>8)) +
		int32(uint8(a0>>16))*int32(int8(b0>>16)) +
		int32(uint8(a0>>24))*int32(int8(b0>>24)) +
		int32(uint8(a0>>32))*int32(int8(b0>>32)) +
		int32(uint8(a0>>40))*int32(int8(b0>>40)) +
		int32(uint8(a0>>48))*int32(int8(b0>>48)) +
		int32(uint8(a0>>56))*int32(int8(b0>>56))
	s += int32(uint8(a1))*int32(int8(b1)) +
		int32(uint8(a1>>8))*int32(int8(b1>>8)) +
		int32(uint8(a1>>16))*int32(int8(b1>>16)) +
		int32(uint8(a1>>24))*int32(int8(b1>>24)) +
		int32(uint8(a1>>32))*int32(int8(b1>>32)) +
		int32(uint8(a1>>40))*int32(int8(b1>>40)) +
		int32(uint8(a1>>48))*int32(int8(b1>>48)) +
		int32(uint8(a1>>56))*int32(int8(b1>>56))
	s += int32(uint8(a2))*int32(int8(b2)) +
		int32(uint8(a2>>8))*int32(int8(b2>>8)) +
		int32(uint8(a2>>16))*int32(int8(b2>>16)) +
		int32(uint8(a2>>24))*int32(int8(b2>>24)) +
		int32(uint8(a2>>32))*int32(int8(b2>>32)) +
		int32(uint8(a2>>40))*int32(int8(b2>>40)) +
		int32(uint8(a2>>48))*int32(int8(b2>>48)) +
		int32(uint8(a2>>56))*int32(int8(b2>>56))
	s += int32(uint8(a3))*int32(int8(b3)) +
		int32(uint8(a3>>8))*int32(int8(b3>>8)) +
		int32(uint8(a3>>16))*int32(int8(b3>>16)) +
		int32(uint8(a3>>24))*int32(int8(b3>>24)) +
		int32(uint8(a3>>32))*int32(int8(b3>>32)) +
		int32(uint8(a3>>40))*int32(int8(b3>>40)) +
		int32(uint8(a3>>48))*int32(int8(b3>>48)) +
		int32(uint8(a3>>56))*int32(int8(b3>>56))
	return s
}
