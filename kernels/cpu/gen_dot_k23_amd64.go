//go:build ignore

// gen_dot_k23_amd64.go writes dot_k23_amd64.s: the dot kernels of the
// K-quant weight types Q2_K and Q3_K with Q8_K activations (one row of w
// with one row of x, and a tile of rows of w each with four rows of x),
// summing in the order of ggml's AVX2 ggml_vec_dot_q2_K_q8_K and
// ggml_vec_dot_q3_K_q8_K: per super-block, eight int32 lanes, lane l
// holding the exact sum over the eight 32-value groups of scale × (the
// products of values 4l..4l+3 of the group; values 0-15 of group g take
// scale 2g, values 16-31 scale 2g+1); the lanes converted to float32 and
// fused-multiply-added with d_w·d_x into eight float lanes, added at the
// end as hsum_float_8. Q2_K first fuses its minimum products into the same
// float lanes: lane l takes min(2l)·bsum(2l) + min(2l+1)·bsum(2l+1), times
// −d_x·dmin. Run by `go generate` in kernels/cpu.
//
// Register use in every kernel:
//
//	SI w, DI x (row 0), R8 x row stride, R9 3·R8, CX super-blocks left,
//	AX, BX, R10-R12 Q3_K's scale unpacking (then dst's row stride, AX and
//	3·AX in R12); tiles: DX dst, R13 rows of w left
//	Y0-Y3 float lane accumulators, Y4-Y7 integer lane sums, one per row
//	Y8 a group's 2-bit values, Y9 Q3_K's high-bit term, Y10 temporary,
//	Y11 the 32 bytes of packed 2-bit values, Y12 scales, Y13 products
//	Y14 the super-block's sixteen 8-bit scales (X14)
//	Y15 0x03 bytes (Q2_K) or the complemented hmask (Q3_K)
//	Stack (tiles): 0-7 the tile's row of w
package main

import (
	"bytes"
	"fmt"
	"os"
)

// header starts a kernel (start) and clears each row's float lanes.
func (g *gen) header(name, consts string) {
	g.start(name, 0, 8, 0, consts)
	for k := 0; k < g.rows; k++ {
		g.p("\tVXORPS Y%d, Y%d, Y%d", k, k, k)
	}
	g.p("\tTESTQ CX, CX")
	g.p("\tJZ done")
	g.p("loop:")
}

// groupScales puts group grp's two scales, each in eight 16-bit words (the
// low 128 bits scale 2·grp, the high ones 2·grp+1), into Y12 from the
// sixteen scale bytes in X14, widened signed (Q3_K) or unsigned (Q2_K).
func (g *gen) groupScales(grp int, signed bool) {
	g.p("\tVPSHUFB k23shuf<>+%d(SB), X14, X12", 16*grp)
	if signed {
		g.p("\tVPMOVSXBW X12, Y12")
	} else {
		g.p("\tVPMOVZXBW X12, Y12")
	}
}

// sumAdd multiplies the int16 pair sums in Y13 by the scales in Y12, adding
// pairs (VPMADDWD), into row k's lane sums.
func (g *gen) sumAdd(k int) {
	g.p("\tVPMADDWD Y12, Y13, Y13")
	g.p("\tVPADDD Y13, Y%d, Y%d", 4+k, 4+k)
}

// lowBits sets Y8 to bits 2s, 2s+1 of each byte of Y11 (mask: the 0x03
// bytes, a register or a memory operand).
func (g *gen) lowBits(s int, mask string) {
	if s == 0 {
		g.p("\tVPAND %s, Y11, Y8", mask)
		return
	}
	g.p("\tVPSRLW $%d, Y11, Y8", 2*s)
	g.p("\tVPAND %s, Y8, Y8", mask)
}

// next steps to the next super-block of w (size bytes) and x.
func (g *gen) next(size int) {
	g.p("\tADDQ $%d, SI", size)
	g.p("\tADDQ $%d, DI", q8Size)
	g.p("\tDECQ CX")
	g.p("\tJNZ loop")
}

// finish adds each row's lanes as hsum_float_8 and stores the results.
func (g *gen) finish() {
	g.p("done:")
	var regs []int
	for k := 0; k < g.rows; k++ {
		g.hsum8(k, 4+k)
		regs = append(regs, 4+k)
	}
	g.store(regs)
	g.end(0)
	g.p("")
}

// q2K: Q2_K (scales[16], qs[64], d, dmin). Scale byte j holds sub-block
// j's scale (low nibble) and minimum (high nibble). Group 4h+s (h the half
// of 128 values) is bits 2s, 2s+1 of qs[32h:].
func (g *gen) q2K() {
	g.header("Q2_K", "\tVPBROADCASTB k3<>(SB), Y15\n")
	g.p("\tVMOVDQU 0(SI), X14")
	g.p("\tVPSRLW $4, X14, X13")
	g.p("\tVPAND k0f16<>(SB), X13, X13")
	g.p("\tVPAND k0f16<>(SB), X14, X14")
	// The minimum products first, as ggml adds them: the sixteen
	// minimums times the sixteen bsums, added in pairs (exact int32).
	g.p("\tVPMOVZXBW X13, Y13")
	g.p("\tVPBROADCASTW 82(SI), X8")
	g.p("\tVCVTPH2PS X8, Y8")
	for k := 0; k < g.rows; k++ {
		g.p("\tVPMADDWD %s, Y13, Y12", x(q8Bsums, k))
		g.p("\tVCVTDQ2PS Y12, Y12")
		g.p("\tVBROADCASTSS %s, Y9", x(0, k))
		g.p("\tVMULPS Y8, Y9, Y9")
		// acc − (d_x·dmin)·prod in one rounding: ggml's FMA with −d_x·dmin.
		g.p("\tVFNMADD231PS Y12, Y9, Y%d", k)
	}
	g.zeroSums()
	for h := 0; h < 2; h++ {
		g.p("\tVMOVDQU %d(SI), Y11", 16+32*h)
		for s := 0; s < 4; s++ {
			grp := 4*h + s
			g.lowBits(s, "Y15")
			g.groupScales(grp, false)
			for k := 0; k < g.rows; k++ {
				g.p("\tVPMADDUBSW %s, Y8, Y13", x(4+32*grp, k))
				g.sumAdd(k)
			}
		}
	}
	g.fmaD(80)
	g.next(84)
	g.finish()
}

// q3K: Q3_K (hmask[32], qs[64], scales[12], d). Group 4h+s's low two bits
// are bits 2s, 2s+1 of qs[32h:], its high bit bit 4h+s of hmask; ggml
// subtracts 4 where that bit is clear, as a second VPMADDUBSW of 4·(1−bit)
// with x taken from the first's 16-bit pair sums. The scales are six bits
// (low nibbles in bytes 0-7, high two bits in bytes 8-11) less 32.
func (g *gen) q3K() {
	g.header("Q3_K", "")
	g.q3Scales()
	// The complemented hmask: bit b set where group b's values take −4.
	g.p("\tVMOVDQU 0(SI), Y15")
	g.p("\tVPCMPEQB Y10, Y10, Y10")
	g.p("\tVPXOR Y10, Y15, Y15")
	g.zeroSums()
	for h := 0; h < 2; h++ {
		g.p("\tVMOVDQU %d(SI), Y11", 32+32*h)
		for s := 0; s < 4; s++ {
			grp := 4*h + s
			g.lowBits(s, "k3x32<>(SB)")
			// 4·(1−bit grp), by 16-bit shifts: the mask keeps bit 2 of
			// each byte, which the shift fills from the byte's own bit.
			switch {
			case grp < 2:
				g.p("\tVPSLLW $%d, Y15, Y9", 2-grp)
				g.p("\tVPAND k4x32<>(SB), Y9, Y9")
			case grp > 2:
				g.p("\tVPSRLW $%d, Y15, Y9", grp-2)
				g.p("\tVPAND k4x32<>(SB), Y9, Y9")
			default:
				g.p("\tVPAND k4x32<>(SB), Y15, Y9")
			}
			g.groupScales(grp, true)
			for k := 0; k < g.rows; k++ {
				g.p("\tVPMADDUBSW %s, Y8, Y13", x(4+32*grp, k))
				g.p("\tVPMADDUBSW %s, Y9, Y10", x(4+32*grp, k))
				g.p("\tVPSUBW Y10, Y13, Y13")
				g.sumAdd(k)
			}
		}
	}
	g.fmaD(108)
	g.next(110)
	g.finish()
}

// q3Scales leaves a Q3_K super-block's sixteen scales, less 32, as the
// signed bytes of X14 (using AX, BX, R10-R12).
func (g *gen) q3Scales() {
	// Scales 0-7 in AX, 8-15 in BX, eight bytes each: the nibbles of
	// bytes 0-7 (low ones for 0-7, high ones for 8-15), with bits 2i, 2i+1
	// of bytes 8-11 on top for scales 4i..4i+3.
	g.p("\tMOVQ 96(SI), AX")
	g.p("\tMOVL 104(SI), R10")
	g.p("\tMOVQ $0x0f0f0f0f0f0f0f0f, R12")
	g.p("\tMOVQ AX, BX")
	g.p("\tSHRQ $4, BX")
	g.p("\tANDQ R12, BX")
	g.p("\tANDQ R12, AX")
	g.p("\tMOVQ $0x0303030303030303, R12")
	// (aux2 | (aux2>>2)<<32) & 0x03…, then (aux2>>4 | (aux2>>6)<<32): the
	// bits the 64-bit shifts carry across fall outside the mask.
	g.p("\tMOVQ R10, R11")
	g.p("\tSHLQ $30, R11")
	g.p("\tORQ R10, R11")
	g.p("\tANDQ R12, R11")
	g.p("\tSHLQ $4, R11")
	g.p("\tORQ R11, AX")
	g.p("\tMOVQ R10, R11")
	g.p("\tSHLQ $26, R11")
	g.p("\tSHRQ $4, R10")
	g.p("\tORQ R10, R11")
	g.p("\tANDQ R12, R11")
	g.p("\tSHLQ $4, R11")
	g.p("\tORQ R11, BX")
	g.p("\tVMOVQ AX, X14")
	g.p("\tVPINSRQ $1, BX, X14, X14")
	g.p("\tVPSUBB k32x16<>(SB), X14, X14")
}

// q3K8 writes dotQ3_KVNNIx8z, Q3_K's eight-row tile over x made unsigned
// (kx80Layout8), as Q6_K's (gen_dot_k_amd64.go): the values, -4..3, go in
// signed against x+128, each lane sum (at most 4·255·4) multiplied by its
// 16-value scale with VPDPWSSD, and scale·128·Σw, which depends on w
// alone, subtracted once per super-block; each result the bits of
// dotQ3_KAVX2's.
//
//	Z4-Z7 a half's four groups, Z8-Z11 their scale vectors, Z12 the
//	scales as dwords, Z13 0x04, Z15 hmask doubled, Z16-Z19 lane sums,
//	Z20-Z22 temporaries, Z23 the w-only term, Z29 0x80, Z30 a half's qs
//	doubled, Z31 0x03; R9 the scale permutations; the rest as tile8Head
func (g *gen) q3K8() {
	g.tile8Head("Q3_K", "\tVPBROADCASTB k3<>(SB), Z31\n\tVPBROADCASTB k4x32<>(SB), Z13\n\tVPBROADCASTB k80<>(SB), Z29\n", "")
	g.q3Scales()
	g.p("\tVPMOVSXBW X14, Y12")
	g.p("\tVPMOVZXWD Y12, Z12")
	g.p("\tLEAQ k6scale<>(SB), R9")
	g.p("\tVBROADCASTI64X4 0(SI), Z15")
	for p := 0; p < 4; p++ {
		g.p("\tVPXORD Z%d, Z%d, Z%d", 16+p, 16+p, 16+p)
	}
	g.p("\tVPXORD Z23, Z23, Z23")
	for h := 0; h < 2; h++ {
		g.p("\tVBROADCASTI64X4 %d(SI), Z30", 32+32*h)
		for q := 0; q < 4; q++ {
			grp := 4*h + q
			if q == 0 {
				g.p("\tVPANDD Z31, Z30, Z4")
			} else {
				g.p("\tVPSRLW $%d, Z30, Z%d", 2*q, 4+q)
				g.p("\tVPANDD Z31, Z%d, Z%d", 4+q, 4+q)
			}
			// Less 4 where hmask's bit grp is clear.
			g.p("\tVPTESTNMB k5bits<>+%d(SB), Z15, K1", 64*grp)
			g.p("\tVPSUBB Z13, Z%d, K1, Z%d", 4+q, 4+q)
			g.groupScale(q, grp, "R9")
			g.wOnly(q)
		}
		g.groupSums(h, true)
	}
	g.closeBlock8(108, 110, 2048, true)
}

// q2K8 writes dotQ2_KVNNIx8z, Q2_K's eight-row tile over kBsumLayout8
// (after the quants each row's sixteen bsums), each result the bits of
// dotQ2_KAVX2's: per super-block first the minimum products, the bsums of
// two rows at once times the minimums (one VPMADDWD), fused with
// -d_x·dmin into the float lanes; then the unsigned 2-bit values' lane
// sums, each multiplied by its 16-value scale with VPDPWSSD.
//
//	Z4-Z7 a half's four groups, Z8-Z11 their scale vectors, Z12 the
//	scales as dwords, Z13 the minimums as words (both halves), Z14 0x0F,
//	Z15 0x03, Z16-Z19 lane sums, Z20-Z23 temporaries, Z30 a half's qs
//	doubled; R9 the scale permutations; the rest as tile8Head
func (g *gen) q2K8() {
	g.tile8Head("Q2_K", "\tVPBROADCASTB k3<>(SB), Z15\n\tVPBROADCASTB k0f16<>(SB), Z14\n", "")
	g.p("\tVMOVDQU32 0(SI), X20")
	g.p("\tVPSRLW $4, X20, X21")
	g.p("\tVPANDD X14, X21, X21")
	g.p("\tVPANDD X14, X20, X20")
	g.p("\tVPMOVZXBD X20, Z12")
	g.p("\tVPMOVZXBW X21, Y13")
	g.p("\tVSHUFI64X2 $0x44, Z13, Z13, Z13")
	// acc -= (d_x·dmin)·prod, as ggml first fuses the minimums.
	g.p("\tVPBROADCASTW 82(SI), X20")
	g.p("\tVCVTPH2PS X20, Y20")
	g.p("\tVMULPS (R8), Y20, Y22")
	for p := 0; p < 4; p++ {
		g.p("\tVPMADDWD %d(DI), Z13, Z20", 2048+64*p)
		g.p("\tVCVTDQ2PS Z20, Z20")
		g.p("\tVPERMPS Z22, Z%d, Z21", 24+p)
		g.p("\tVFNMADD231PS Z21, Z20, Z%d", p)
	}
	g.p("\tLEAQ k6scale<>(SB), R9")
	for p := 0; p < 4; p++ {
		g.p("\tVPXORD Z%d, Z%d, Z%d", 16+p, 16+p, 16+p)
	}
	for h := 0; h < 2; h++ {
		g.p("\tVBROADCASTI64X4 %d(SI), Z30", 16+32*h)
		for q := 0; q < 4; q++ {
			grp := 4*h + q
			if q == 0 {
				g.p("\tVPANDD Z15, Z30, Z4")
			} else {
				g.p("\tVPSRLW $%d, Z30, Z%d", 2*q, 4+q)
				g.p("\tVPANDD Z15, Z%d, Z%d", 4+q, 4+q)
			}
			g.groupScale(q, grp, "R9")
		}
		g.groupSums(h, false)
	}
	g.closeBlock8(80, 84, 2304, false)
}

func main() {
	var out bytes.Buffer
	out.WriteString(`// Code generated by gen_dot_k23_amd64.go; DO NOT EDIT.

#include "textflag.h"

DATA k3<>+0(SB)/1, $0x03
GLOBL k3<>(SB), RODATA|NOPTR, $1
DATA k0f16<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA k0f16<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL k0f16<>(SB), RODATA|NOPTR, $16
DATA k32x16<>+0(SB)/8, $0x2020202020202020
DATA k32x16<>+8(SB)/8, $0x2020202020202020
GLOBL k32x16<>(SB), RODATA|NOPTR, $16
`)
	for _, c := range []struct {
		name string
		b    uint64
	}{{"k3x32", 0x03}, {"k4x32", 0x04}} {
		for i := 0; i < 4; i++ {
			fmt.Fprintf(&out, "DATA %s<>+%d(SB)/8, $0x%016x\n", c.name, 8*i, c.b*0x0101010101010101)
		}
		fmt.Fprintf(&out, "GLOBL %s<>(SB), RODATA|NOPTR, $32\n", c.name)
	}
	out.WriteString("// Byte shuffles: row i picks scale byte 2i eight times, then 2i+1.\n")
	for i := 0; i < 8; i++ {
		lo := uint64(0x0101010101010101) * uint64(2*i)
		hi := uint64(0x0101010101010101) * uint64(2*i+1)
		fmt.Fprintf(&out, "DATA k23shuf<>+%d(SB)/8, $0x%016x\n", 16*i, lo)
		fmt.Fprintf(&out, "DATA k23shuf<>+%d(SB)/8, $0x%016x\n", 16*i+8, hi)
	}
	out.WriteString("GLOBL k23shuf<>(SB), RODATA|NOPTR, $128\n")
	tile8Consts(&out, "k8")
	tileKConsts(&out)
	out.WriteString("\n")
	for _, rows := range []int{1, 4} {
		for _, t := range []string{"Q2_K", "Q3_K"} {
			g := &gen{rows: rows}
			if t == "Q2_K" {
				g.q2K()
			} else {
				g.q3K()
			}
			out.Write(g.w.Bytes())
		}
	}
	g := &gen{rows: 8}
	g.q2K8()
	g.q3K8()
	out.Write(g.w.Bytes())
	if err := os.WriteFile("dot_k23_amd64.s", out.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
