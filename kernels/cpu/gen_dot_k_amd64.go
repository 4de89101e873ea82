//go:build ignore

// gen_dot_k_amd64.go writes dot_k_amd64.s: the dot kernels of the K-quant
// weight types Q4_K, Q5_K and Q6_K with Q8_K activations (one row of w with
// one row of x, and a tile of rows of w each with four rows of x), summing
// in the order of ggml's AVX2 kernels (ggml_vec_dot_q*_K_q8_K): per
// super-block, eight int32 lanes, lane l holding the exact sum over the
// eight 32-value groups of scale × (the products of values 4l..4l+3 of the
// group); the lanes converted to float32 and fused-multiply-added with
// d_w·d_x into eight float lanes, added at the end as hsum_float_8. The
// minimum terms of Q4_K and Q5_K are added as ggml does (a four-float
// accumulator for Q4_K, a scalar for Q5_K). Run by `go generate` in
// kernels/cpu.
//
// There is no AVX512-VNNI variant: the integer sums are exact, so
// VPDPWSSD (a VPMADDWD and a VPADDD in one) would give the same bits, but
// its latency on the one-row kernels' accumulator chain made them slower
// and the four-row ones no faster than measurement noise (AMD EPYC, Zen 4).
//
// Register use in every kernel:
//
//	SI w, DI x (row 0), R8 x row stride, R9 3·R8, CX super-blocks left,
//	AX, BX, R10-R12 scale unpacking (then dst's row stride, AX and 3·AX in
//	R12); tiles: DX dst, R13 rows of w left
//	Y0-Y3 float lane accumulators, Y4-Y7 integer lane sums, one per row
//	Y8-Y11 decoded weights, Y12-Y13 scales and temporaries
//	Y14 0x0F bytes (Q4_K, Q5_K) or a temporary, Y15 qh (Q5_K) or 0x20
//	bytes (Q6_K)
//	Stack: 0-31 the sixteen 16-bit scales and minimums (Q4_K, Q5_K),
//	32-95 each row's minimum accumulator, 96-103 the tile's row of w
package main

import (
	"bytes"
	"fmt"
	"os"
)

// header starts a kernel (start; the row of w of a tile at 96(SP)) and
// clears each row's float lanes and minimum accumulator.
func (g *gen) header(name, consts string) {
	g.start(name, 96, 104, 96, consts)
	g.p("\tVXORPS X8, X8, X8")
	for k := 0; k < g.rows; k++ {
		g.p("\tVXORPS Y%d, Y%d, Y%d", k, k, k)
		g.p("\tVMOVUPS X8, %d(SP)", 32+16*k)
	}
}

// sumAdd adds the int16 pairs of Y13 times the scales in Y<sc> into row
// k's lane sums.
func (g *gen) sumAdd(sc, k int) {
	g.p("\tVPMADDWD Y%d, Y13, Y13", sc)
	g.p("\tVPADDD Y13, Y%d, Y%d", 4+k, 4+k)
}

// scalesK4 unpacks a Q4_K/Q5_K super-block's twelve scale bytes (at 4(SI))
// into eight 6-bit scales and eight 6-bit minimums, widened to 16 bits at
// 0(SP) (scales) and 16(SP) (minimums).
func (g *gen) scalesK4() {
	g.scaleBytesK4()
	g.p("\tMOVQ AX, X12")
	g.p("\tVPINSRQ $1, BX, X12, X12")
	g.p("\tVPMOVZXBW X12, Y12")
	g.p("\tVMOVDQU Y12, 0(SP)")
}

// scaleBytesK4 leaves the eight scales in the bytes of AX and the eight
// minimums in those of BX.
func (g *gen) scaleBytesK4() {
	g.p("\tMOVL 4(SI), AX")
	g.p("\tMOVL 8(SI), BX")
	g.p("\tMOVL 12(SI), R10")
	// Minimums 4-7: the high nibbles of bytes 8-11, and bits 6-7 of bytes 4-7.
	g.p("\tMOVL R10, R11")
	g.p("\tSHRL $4, R11")
	g.p("\tANDL $0x0f0f0f0f, R11")
	g.p("\tMOVL BX, R12")
	g.p("\tSHRL $6, R12")
	g.p("\tANDL $0x03030303, R12")
	g.p("\tSHLL $4, R12")
	g.p("\tORL R12, R11")
	// Scales 4-7: the low nibbles of bytes 8-11, and bits 6-7 of bytes 0-3.
	g.p("\tANDL $0x0f0f0f0f, R10")
	g.p("\tMOVL AX, R12")
	g.p("\tSHRL $6, R12")
	g.p("\tANDL $0x03030303, R12")
	g.p("\tSHLL $4, R12")
	g.p("\tORL R12, R10")
	// Minimums 0-3 and scales 0-3: the low six bits of bytes 4-7 and 0-3.
	g.p("\tANDL $0x3f3f3f3f, BX")
	g.p("\tANDL $0x3f3f3f3f, AX")
	// Into a register by quadwords: four stores and one wider load would
	// miss store forwarding.
	g.p("\tSHLQ $32, R10")
	g.p("\tORQ R10, AX")
	g.p("\tSHLQ $32, R11")
	g.p("\tORQ R11, BX")
}

// minsK4 computes each row's minimum products: the sixteen bsums added in
// pairs (16-bit, wrapping, as VPHADDW), multiplied by the minimums and
// added in pairs (VPMADDWD): four int32, converted. Q4_K fuses them with
// −d_x·dmin into the row's four-float accumulator; Q5_K adds the four as
// integers and fuses −d_x·dmin times their sum into a scalar: ggml's
// `summs += dmin * sum` as GCC compiles it (gnu11 with -mfma contracts it to
// an FMA, as the Q4_1 kernels' summs).
func (g *gen) minsK4(scalar bool) {
	g.p("\tVPBROADCASTW 2(SI), X13")
	g.p("\tVCVTPH2PS X13, X13")
	for k := 0; k < g.rows; k++ {
		g.p("\tVMOVDQU %s, X12", x(q8Bsums, k))
		g.p("\tVPHADDW %s, X12, X12", x(q8Bsums+16, k))
		g.p("\tVPMADDWD 16(SP), X12, X12")
		if scalar {
			g.p("\tVPSHUFD $0x4e, X12, X9")
			g.p("\tVPADDD X9, X12, X12")
			g.p("\tVPSHUFD $0xb1, X12, X9")
			g.p("\tVPADDD X9, X12, X12")
		}
		g.p("\tVCVTDQ2PS X12, X12")
		g.p("\tVMOVSS %s, X11", x(0, k))
		g.p("\tVMULSS X13, X11, X11")
		g.p("\tVMOVUPS %d(SP), X10", 32+16*k)
		if scalar {
			g.p("\tVFNMADD231SS X12, X11, X10")
		} else {
			g.p("\tVBROADCASTSS X11, X11")
			g.p("\tVFNMADD231PS X12, X11, X10")
		}
		g.p("\tVMOVUPS X10, %d(SP)", 32+16*k)
	}
}

// finish adds each row's lanes as hsum_float_8 and, with mins, the row's
// minimum accumulator (four floats added as ggml adds acc_m, or a scalar).
func (g *gen) finish(mins, scalar bool) {
	g.p("done:")
	var regs []int
	for k := 0; k < g.rows; k++ {
		g.hsum8(k, 4+k)
		if mins {
			g.p("\tVMOVUPS %d(SP), X10", 32+16*k)
			if !scalar {
				g.p("\tVMOVHLPS X10, X10, X11")
				g.p("\tVADDPS X11, X10, X10")
				g.p("\tVMOVSHDUP X10, X11")
				g.p("\tVADDSS X11, X10, X10")
			}
			g.p("\tVADDSS X10, X%d, X%d", 4+k, 4+k)
		}
		regs = append(regs, 4+k)
	}
	g.store(regs)
	g.end(96)
	g.p("")
}

// q4K: Q4_K (d, dmin, scales[12], qs[128]) and, with five, Q5_K (d, dmin,
// scales[12], qh[32], qs[128]). Group 2j takes the low nibbles of qs[32j:],
// group 2j+1 the high ones; Q5_K adds bit 2j (2j+1) of qh as bit 4.
func (g *gen) q4K(five bool) {
	name, size, qs := "Q4_K", 144, 16
	if five {
		name, size, qs = "Q5_K", 176, 48
	}
	g.header(name, "\tVPBROADCASTB k4nib<>(SB), Y14\n")
	g.p("\tTESTQ CX, CX")
	g.p("\tJZ done")
	g.p("loop:")
	g.scalesK4()
	g.minsK4(five)
	g.zeroSums()
	if five {
		g.p("\tVMOVDQU 16(SI), Y15")
	}
	for j := 0; j < 4; j++ {
		g.p("\tVPBROADCASTW %d(SP), Y10", 4*j)
		g.p("\tVPBROADCASTW %d(SP), Y11", 4*j+2)
		g.p("\tVMOVDQU %d(SI), Y8", qs+32*j)
		g.p("\tVPSRLW $4, Y8, Y9")
		g.p("\tVPAND Y14, Y8, Y8")
		g.p("\tVPAND Y14, Y9, Y9")
		if five {
			// ((qh >> b) & 1) << 4, by 16-bit shifts: the mask keeps bit 4
			// of each byte, which the shift fills from the byte's own bit b.
			for h, b := range []int{2 * j, 2*j + 1} {
				switch {
				case b < 4:
					g.p("\tVPSLLW $%d, Y15, Y12", 4-b)
				case b > 4:
					g.p("\tVPSRLW $%d, Y15, Y12", b-4)
				default:
					g.p("\tVMOVDQA Y15, Y12")
				}
				g.p("\tVPAND k5bit<>(SB), Y12, Y12")
				g.p("\tVPOR Y12, Y%d, Y%d", 8+h, 8+h)
			}
		}
		for k := 0; k < g.rows; k++ {
			g.p("\tVPMADDUBSW %s, Y8, Y13", x(4+64*j, k))
			g.sumAdd(10, k)
			g.p("\tVPMADDUBSW %s, Y9, Y13", x(4+64*j+32, k))
			g.sumAdd(11, k)
		}
	}
	g.fmaD(0)
	g.p("\tADDQ $%d, SI", size)
	g.p("\tADDQ $%d, DI", q8Size)
	g.p("\tDECQ CX")
	g.p("\tJNZ loop")
	g.finish(true, five)
}

// q6K: Q6_K (ql[128], qh[64], scales[16] int8, d). In half h of 128
// values, group q's low four bits are the low nibbles of ql[64h:] (q = 0)
// and ql[64h+32:] (q = 1), then their high nibbles (q = 2, 3); its top two
// bits are bits 2q, 2q+1 of qh[32h:]. The value is that less 32, which
// ggml subtracts as 32·q8 from each 16-bit pair sum.
func (g *gen) q6K() {
	g.header("Q6_K", "\tVPBROADCASTB k6off<>(SB), Y15\n")
	g.p("\tTESTQ CX, CX")
	g.p("\tJZ done")
	g.p("loop:")
	g.zeroSums()
	for h := 0; h < 2; h++ {
		ql, qh := 64*h, 128+32*h
		g.p("\tVMOVDQU %d(SI), Y14", qh)
		g.p("\tVMOVDQU %d(SI), Y12", ql)
		g.p("\tVMOVDQU %d(SI), Y13", ql+32)
		// Group 0: low nibbles of ql[0:32], qh bits 0-1.
		g.p("\tVPAND k4nib32<>(SB), Y12, Y8")
		g.p("\tVPSLLW $4, Y14, Y9")
		g.p("\tVPAND k6hi<>(SB), Y9, Y9")
		g.p("\tVPOR Y9, Y8, Y8")
		// Group 1: low nibbles of ql[32:64], qh bits 2-3.
		g.p("\tVPAND k4nib32<>(SB), Y13, Y9")
		g.p("\tVPSLLW $2, Y14, Y10")
		g.p("\tVPAND k6hi<>(SB), Y10, Y10")
		g.p("\tVPOR Y10, Y9, Y9")
		// Group 2: high nibbles of ql[0:32], qh bits 4-5.
		g.p("\tVPSRLW $4, Y12, Y12")
		g.p("\tVPAND k4nib32<>(SB), Y12, Y12")
		g.p("\tVPAND k6hi<>(SB), Y14, Y10")
		g.p("\tVPOR Y12, Y10, Y10")
		// Group 3: high nibbles of ql[32:64], qh bits 6-7.
		g.p("\tVPSRLW $4, Y13, Y13")
		g.p("\tVPAND k4nib32<>(SB), Y13, Y13")
		g.p("\tVPSRLW $2, Y14, Y11")
		g.p("\tVPAND k6hi<>(SB), Y11, Y11")
		g.p("\tVPOR Y13, Y11, Y11")
		for q := 0; q < 4; q++ {
			// Scales 8h+2q (values 0-15 of the group) and 8h+2q+1, each in
			// eight 16-bit words.
			g.p("\tVMOVDQU 192(SI), X12")
			g.p("\tVPSHUFB k6shuf<>+%d(SB), X12, X12", 16*(4*h+q))
			g.p("\tVPMOVSXBW X12, Y12")
			for k := 0; k < g.rows; k++ {
				off := 4 + 128*h + 32*q
				g.p("\tVPMADDUBSW %s, Y%d, Y13", x(off, k), 8+q)
				g.p("\tVPMADDUBSW %s, Y15, Y14", x(off, k))
				g.p("\tVPSUBW Y14, Y13, Y13")
				g.sumAdd(12, k)
			}
		}
	}
	g.fmaD(208)
	g.p("\tADDQ $210, SI")
	g.p("\tADDQ $%d, DI", q8Size)
	g.p("\tDECQ CX")
	g.p("\tJNZ loop")
	g.finish(false, false)
}

// q4K8 writes dotQ4_KVNNIx8z (five: dotQ5_KVNNIx8z, the fifth bits added
// by mask, the minimum products summed per row): rows rows of w against a group of eight
// rows of Q8_K x interleaved by laneInterleaveK8 (per super-block: for each
// of the eight 32-value groups the eight rows' quants, 256 bytes, then each
// row's eight pair sums of its bsums, int16, 128 bytes; side: [nb][8] d_x),
// each result the bits of dotQ4_KAVX2's.
//
// A ZMM register holds two rows of x, as in the legacy types' tiles: per
// group VPDPBUSD gives both rows' exact four-value lane sums, and VPDPWSSD
// multiplies them by the group's scale (a dword with zero high word,
// broadcast from the stack: the sums fit in 16 bits) into the lane sums.
// The minimum products of four rows at a time are one VPMADDWD of their
// bsum pairs with the eight minimums repeated in every 128-bit lane.
//
//	SI w, DI xi, R8 side, CX super-blocks left, DX dst, R13 rows left
//	(the row of w at 64(SP)); AX, BX, R10-R12 the scale unpacking
//	Z0-Z3 float lane accumulators (rows 2p, 2p+1), Z4/Z5 a 64-value
//	stretch's low and high nibbles doubled, Y6 d_w·d_x, Y7 dmin·d_x,
//	Z8/Z9 the minimum accumulators of rows 0-3 and 4-7 (four lanes a
//	row), Z10 the minimums, Z14 0x0F bytes, Z16-Z19 lane sums, Z20-Z23
//	temporaries, Z24-Z27 and Z29-Z31 permutations, Z28 the result gather
//	Stack: 0-31 the eight scales as dwords, 64 the row of w
func (g *gen) q4K8(five bool) {
	name, size, qs := "Q4_K", 144, 16
	if five {
		name, size, qs = "Q5_K", 176, 48
	}
	consts := "\tVPBROADCASTB k4nib<>(SB), Z14\n"
	if five {
		consts += "\tVPBROADCASTB k5bit<>(SB), Z13\n"
	}
	consts += "\tVMOVDQU32 k8quad<>(SB), Z29\n\tVMOVDQU32 k8quad<>+64(SB), Z30\n\tVMOVDQU32 k8gather4<>(SB), Z31\n"
	g.tile8Head(name, consts, "\tVPXORD Z8, Z8, Z8\n\tVPXORD Z9, Z9, Z9\n")
	g.scaleBytesK4()
	// Scales as dwords for VPDPWSSD's broadcast; minimums as words in
	// every 128-bit lane of Z10.
	g.p("\tMOVQ AX, X12")
	g.p("\tVPMOVZXBD X12, Y12")
	g.p("\tVMOVDQU Y12, 0(SP)")
	g.p("\tMOVQ BX, X12")
	g.p("\tVPMOVZXBW X12, X12")
	g.p("\tVSHUFI32X4 $0, Z12, Z12, Z10")
	g.p("\tVPBROADCASTW 0(SI), X11")
	g.p("\tVCVTPH2PS X11, Y11")
	g.p("\tVMULPS (R8), Y11, Y6")
	g.p("\tVPBROADCASTW 2(SI), X11")
	g.p("\tVCVTPH2PS X11, Y11")
	g.p("\tVMULPS (R8), Y11, Y7")
	for p := 0; p < 4; p++ {
		g.p("\tVPXORD Z%d, Z%d, Z%d", 16+p, 16+p, 16+p)
	}
	if five {
		g.p("\tVBROADCASTI64X4 16(SI), Z12") // qh, doubled
	}
	for j := 0; j < 4; j++ {
		g.p("\tVBROADCASTI64X4 %d(SI), Z4", qs+32*j)
		g.p("\tVPSRLW $4, Z4, Z5")
		g.p("\tVPANDD Z14, Z4, Z4")
		g.p("\tVPANDD Z14, Z5, Z5")
		if five {
			// Group 2j+h's fifth bits: bit 2j+h of each qh byte, as 16.
			for h := 0; h < 2; h++ {
				g.p("\tVPTESTMB k5bits<>+%d(SB), Z12, K1", 64*(2*j+h))
				g.p("\tVPADDB Z13, Z%d, K1, Z%d", 4+h, 4+h)
			}
		}
		for h := 0; h < 2; h++ {
			grp := 2*j + h
			for p := 0; p < 4; p++ {
				g.p("\tVPXORD Z%d, Z%d, Z%d", 20+p, 20+p, 20+p)
				g.p("\tVPDPBUSD %d(DI), Z%d, Z%d", 256*grp+64*p, 4+h, 20+p)
				g.p("\tVPDPWSSD.BCST %d(SP), Z%d, Z%d", 4*grp, 20+p, 16+p)
			}
		}
	}
	for p := 0; p < 4; p++ {
		g.p("\tVCVTDQ2PS Z%d, Z%d", 16+p, 16+p)
		g.p("\tVPERMPS Z6, Z%d, Z%d", 24+p, 20+p)
		g.p("\tVFMADD231PS Z%d, Z%d, Z%d", 20+p, 16+p, p)
	}
	// acc_m -= (d_x·dmin)·prod, four rows a register; for Q5_K the
	// four prods of a row added first (every lane of its 128 bits).
	for h := 0; h < 2; h++ {
		g.p("\tVPMADDWD %d(DI), Z10, Z%d", 2048+64*h, 20+h)
		if five {
			g.p("\tVPSHUFD $0x4E, Z%d, Z%d", 20+h, 22+h)
			g.p("\tVPADDD Z%d, Z%d, Z%d", 22+h, 20+h, 20+h)
			g.p("\tVPSHUFD $0xB1, Z%d, Z%d", 20+h, 22+h)
			g.p("\tVPADDD Z%d, Z%d, Z%d", 22+h, 20+h, 20+h)
		}
		g.p("\tVCVTDQ2PS Z%d, Z%d", 20+h, 20+h)
		g.p("\tVPERMPS Z7, Z%d, Z%d", 29+h, 22+h)
		g.p("\tVFNMADD231PS Z%d, Z%d, Z%d", 22+h, 20+h, 8+h)
	}
	g.p("\tADDQ $%d, SI", size)
	g.p("\tADDQ $2176, DI")
	g.p("\tADDQ $32, R8")
	g.p("\tDECQ CX")
	g.p("\tJNZ loop")
	g.p("done:")
	sums8(g.p, "Z28")
	for _, m := range []int{8, 9} {
		if !five { // Q5_K's is a scalar per row, in every lane of its 128 bits
			// ((m0+m2)+(m1+m3)) in each row's 128-bit lane.
			g.p("\tVPERMILPS $0x4E, Z%d, Z16", m)
			g.p("\tVADDPS Z16, Z%d, Z%d", m, m)
			g.p("\tVMOVSHDUP Z%d, Z16", m)
			g.p("\tVADDPS Z16, Z%d, Z%d", m, m)
		}
	}
	g.p("\tVPERMT2PS Z9, Z31, Z8")
	g.p("\tVADDPS Y8, Y0, Y0")
	g.tile8Tail()
}

// q6K8 writes dotQ6_KVNNIx8z, Q6_K's eight-row tile over the layout of
// laneInterleaveK8 for Q6_K (x's quants made unsigned, XOR 0x80), each
// result the bits of dotQ6_KAVX2's. The weights are q-32, signed, so
// VPDPBUSD takes x+128 by the values; every lane sum, at most 4·255·32,
// still fits the 16 bits VPDPWSSD multiplies by the scales (lanes 0-3 of a
// row take the group's first, 4-7 its second). What the 128 adds,
// scale·128·Σ(q-32) per lane, depends on w alone: it is summed once per
// super-block and subtracted from every row's lane sums.
//
//	SI w, DI xi, R8 side, R10 the scale permutations, CX super-blocks
//	left, DX dst, R13 rows left (the row of w at 64(SP))
//	Z0-Z3 float lane accumulators, Z4-Z7 a half's four groups doubled,
//	Z8-Z11 their scale vectors, Z12 the sixteen scales as dwords, Z13
//	0x0F, Z14 0x30, Z15 0x20, Z16-Z19 lane sums, Z20-Z22 temporaries, Z23
//	the w-only correction, Z24-Z27 pair permutations, Z28 the result
//	gather, Z29-Z31 a half's ql and qh bytes doubled, then 0x80
func (g *gen) q6K8() {
	g.tile8Head("Q6_K", "\tVPBROADCASTB k4nib<>(SB), Z13\n\tVPBROADCASTB k6hi<>(SB), Z14\n"+
		"\tVPBROADCASTB k6off<>(SB), Z15\n\tLEAQ k6scale<>(SB), R10\n", "")
	// The scales as 16-bit values with zero high words, one dword each.
	g.p("\tVPMOVSXBW 192(SI), Y12")
	g.p("\tVPMOVZXWD Y12, Z12")
	for p := 0; p < 4; p++ {
		g.p("\tVPXORD Z%d, Z%d, Z%d", 16+p, 16+p, 16+p)
	}
	g.p("\tVPXORD Z23, Z23, Z23")
	for h := 0; h < 2; h++ {
		ql, qh := 64*h, 128+32*h
		g.p("\tVBROADCASTI64X4 %d(SI), Z29", ql)    // A
		g.p("\tVBROADCASTI64X4 %d(SI), Z30", ql+32) // B
		g.p("\tVBROADCASTI64X4 %d(SI), Z31", qh)    // Q
		// Group 0: A's low nibbles, qh bits 0-1; so on. VPTERNLOGD
		// $0xF8 is dst | (B & C).
		g.p("\tVPSLLW $4, Z31, Z4")
		g.p("\tVPANDD Z14, Z4, Z4")
		g.p("\tVPTERNLOGD $0xF8, Z13, Z29, Z4")
		g.p("\tVPSLLW $2, Z31, Z5")
		g.p("\tVPANDD Z14, Z5, Z5")
		g.p("\tVPTERNLOGD $0xF8, Z13, Z30, Z5")
		g.p("\tVPSRLW $4, Z29, Z29")
		g.p("\tVPANDD Z14, Z31, Z6")
		g.p("\tVPTERNLOGD $0xF8, Z13, Z29, Z6")
		g.p("\tVPSRLW $4, Z30, Z30")
		g.p("\tVPSRLW $2, Z31, Z7")
		g.p("\tVPANDD Z14, Z7, Z7")
		g.p("\tVPTERNLOGD $0xF8, Z13, Z30, Z7")
		g.p("\tVPBROADCASTB k80<>(SB), Z29")
		for q := 0; q < 4; q++ {
			grp := 4*h + q
			g.p("\tVPSUBB Z15, Z%d, Z%d", 4+q, 4+q) // q-32
			g.groupScale(q, grp, "R10")
			g.wOnly(q)
		}
		g.groupSums(h, true)
	}
	g.closeBlock8(208, 210, 2048, true)
}

func main() {
	var out bytes.Buffer
	out.WriteString(`// Code generated by gen_dot_k_amd64.go; DO NOT EDIT.

#include "textflag.h"

DATA k4nib<>+0(SB)/1, $0x0f
GLOBL k4nib<>(SB), RODATA|NOPTR, $1
DATA k6off<>+0(SB)/1, $0x20
GLOBL k6off<>(SB), RODATA|NOPTR, $1
DATA k4nib32<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA k4nib32<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA k4nib32<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA k4nib32<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL k4nib32<>(SB), RODATA|NOPTR, $32
DATA k6hi<>+0(SB)/8, $0x3030303030303030
DATA k6hi<>+8(SB)/8, $0x3030303030303030
DATA k6hi<>+16(SB)/8, $0x3030303030303030
DATA k6hi<>+24(SB)/8, $0x3030303030303030
GLOBL k6hi<>(SB), RODATA|NOPTR, $32
DATA k5bit<>+0(SB)/8, $0x1010101010101010
DATA k5bit<>+8(SB)/8, $0x1010101010101010
DATA k5bit<>+16(SB)/8, $0x1010101010101010
DATA k5bit<>+24(SB)/8, $0x1010101010101010
GLOBL k5bit<>(SB), RODATA|NOPTR, $32
`)
	out.WriteString("// Byte shuffles: row i picks scale byte 2i eight times, then 2i+1.\n")
	for i := 0; i < 8; i++ {
		lo := uint64(0x0101010101010101) * uint64(2*i)
		hi := uint64(0x0101010101010101) * uint64(2*i+1)
		fmt.Fprintf(&out, "DATA k6shuf<>+%d(SB)/8, $0x%016x\n", 16*i, lo)
		fmt.Fprintf(&out, "DATA k6shuf<>+%d(SB)/8, $0x%016x\n", 16*i+8, hi)
	}
	out.WriteString("GLOBL k6shuf<>(SB), RODATA|NOPTR, $128\n")
	// The eight-row tiles' permutations (tile8Consts), then: product r
	// over lanes 4r..4r+3 (rows 0-3, then 4-7); lanes 0, 4, 8, 12 of two
	// registers.
	tile8Consts(&out, "k8")
	for h := 0; h < 2; h++ {
		for k := 0; k < 16; k++ {
			fmt.Fprintf(&out, "DATA k8quad<>+%d(SB)/4, $%d\n", 64*h+4*k, 4*h+k/4)
		}
	}
	out.WriteString("GLOBL k8quad<>(SB), RODATA|NOPTR, $128\n")
	for k := 0; k < 8; k++ {
		fmt.Fprintf(&out, "DATA k8gather4<>+%d(SB)/4, $%d\n", 4*k, 4*k)
	}
	out.WriteString("GLOBL k8gather4<>(SB), RODATA|NOPTR, $64\n")
	tileKConsts(&out)
	out.WriteString("\n")
	for _, rows := range []int{1, 4} {
		for _, t := range []string{"Q4_K", "Q5_K", "Q6_K"} {
			g := &gen{rows: rows}
			switch t {
			case "Q4_K":
				g.q4K(false)
			case "Q5_K":
				g.q4K(true)
			default:
				g.q6K()
			}
			out.Write(g.w.Bytes())
		}
	}
	g := &gen{rows: 8}
	g.q4K8(false)
	g.q4K8(true)
	g.q6K8()
	out.Write(g.w.Bytes())
	if err := os.WriteFile("dot_k_amd64.s", out.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
