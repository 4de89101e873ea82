//go:build ignore

// gen_dot_iq4_amd64.go writes dot_iq4_amd64.s: the dot kernels of the
// non-linear 4-bit weight types IQ4_NL (with Q8_0 activations) and IQ4_XS
// (with Q8_K activations), one row of w with one row of x, and a tile of
// rows of w each with four rows of x, summing in the order of ggml's AVX2
// kernels (ggml_vec_dot_iq4_nl_q8_0, ggml_vec_dot_iq4_xs_q8_K). Run by
// `go generate` in kernels/cpu.
//
// Both decode a block's 16 nibble bytes through the 16-entry level table
// (VPSHUFB): the low nibbles give values 0-15, the high ones 16-31. The
// products are ggml's mul_add_epi8: |w| times x with w's sign (VPSIGNB),
// by VPMADDUBSW into 16-bit pair sums. (VPSIGNB leaves x = -128 as -128
// where w < 0, so such a product comes out negated; activations quantized
// by ggml never hold -128, but the kernels copy ggml on any bytes.)
//
// IQ4_NL: the pair sums added in pairs (VPMADDWD with ones) make eight
// int32 lanes, lane l the sum of values 4l..4l+3; converted to float32 and
// fused-multiply-added with d_x·d_w, even blocks into one set of eight
// float lanes and odd blocks into another. At the end the two sets are
// added, then summed as hsum_float_8; an odd last block is ggml's scalar
// tail: its exact integer dot (true products, no VPSIGNB), converted and
// fused with d_x·d_w into the sum (vfmadd, as GCC builds ggml: -std=gnu11
// contracts `sumf += d * sumi`).
//
// IQ4_XS: per super-block, the pair sums of block j multiplied by its
// 6-bit scale less 32 and added in pairs (VPMADDWD), the eight int32 lanes
// summed exactly over the eight blocks; converted and fused with d_w·d_x
// into eight float lanes, added at the end as hsum_float_8.
//
// Register use:
//
//	SI w, DI x (row 0), R8 x row stride, R9 3·R8, CX blocks left,
//	tiles: DX dst, R13 rows of w left, AX and R12 dst's row stride and
//	3× it; IQ4_XS: AX, BX, R10, R11 scale unpacking
//	IQ4_NL: Y0-Y7 float lanes, Y(2k) even and Y(2k+1) odd blocks of row k;
//	Y10 16-bit ones, Y11 d_w, Y12 d_x·d_w, Y13 products
//	IQ4_XS: Y0-Y3 float lanes, Y4-Y7 integer lane sums, one per row;
//	Y10 the block's scale, Y11 products
//	Y8 decoded weights, Y9 their absolute values, Y14 0x0F bytes, Y15 the
//	level table in both halves
//	Stack: IQ4_XS 0-15 the eight 16-bit scales; tiles: the row of w (at 0
//	for IQ4_NL, 16 for IQ4_XS)
package main

import (
	"bytes"
	"fmt"
	"os"
)

const (
	nlSize  = 18  // IQ4_NL: d f16, qs[16]
	q80Size = 34  // Q8_0: d f16, qs[32]
	xsSize  = 136 // IQ4_XS: d f16, scales_h u16, scales_l[4], qs[128]
	q8KSize = 292 // Q8_K: d f32, qs[256], bsums[16]
)

// header starts a kernel (start: frame bytes of stack, the tile's current
// row of w at wp(SP)) with the level table and clears accs float
// accumulators.
func (g *gen) header(name string, frame, wp, accs int) {
	g.p("")
	g.start(name, frame, frame, wp, "\tVPBROADCASTB k4nibIQ<>(SB), Y14\n\tVBROADCASTI128 kvalIQ4<>(SB), Y15\n")
	for a := 0; a < accs; a++ {
		g.p("\tVXORPS Y%d, Y%d, Y%d", a, a, a)
	}
}

// decode sets Y8 to the 32 levels of the nibbles at off(SI) (low nibbles,
// then high ones) and Y9 to their absolute values.
func (g *gen) decode(off int) {
	g.p("\tVMOVDQU %d(SI), X8", off)
	g.p("\tVPSRLW $4, X8, X9")
	g.p("\tVINSERTI128 $1, X9, Y8, Y8")
	g.p("\tVPAND Y14, Y8, Y8")
	g.p("\tVPSHUFB Y8, Y15, Y8")
	g.p("\tVPABSB Y8, Y9")
}

// mulAdd sets Y<dst> to ggml's mul_add_epi8 of the decoded weights and the
// 32 values at the address a: 16-bit sums of adjacent products.
func (g *gen) mulAdd(a string, dst int) {
	g.p("\tVMOVDQU %s, Y%d", a, dst)
	g.p("\tVPSIGNB Y8, Y%d, Y%d", dst, dst)
	g.p("\tVPMADDUBSW Y%d, Y9, Y%d", dst, dst)
}

// iq4NL: blocks in pairs, block h of the pair into row k's lanes Y(2k+h);
// then the odd block, if any, as ggml's scalar tail.
func (g *gen) iq4NL() {
	frame := 0
	if g.rows > 1 {
		frame = 8
	}
	g.header("IQ4_NL", frame, 0, 2*g.rows)
	g.p("\tVPCMPEQW Y10, Y10, Y10")
	g.p("\tVPSRLW $15, Y10, Y10") // sixteen 16-bit ones
	g.p("\tCMPQ CX, $2")
	g.p("\tJLT pairsdone")
	g.p("pairloop:")
	for h := 0; h < 2; h++ {
		g.decode(nlSize*h + 2)
		g.p("\tVPBROADCASTW %d(SI), X11", nlSize*h)
		g.p("\tVCVTPH2PS X11, Y11")
		for k := 0; k < g.rows; k++ {
			g.p("\tVPBROADCASTW %s, X12", x(q80Size*h, k))
			g.p("\tVCVTPH2PS X12, Y12")
			g.p("\tVMULPS Y11, Y12, Y12")
			g.mulAdd(x(q80Size*h+2, k), 13)
			g.p("\tVPMADDWD Y10, Y13, Y13")
			g.p("\tVCVTDQ2PS Y13, Y13")
			g.p("\tVFMADD231PS Y13, Y12, Y%d", 2*k+h)
		}
	}
	g.p("\tADDQ $%d, SI", 2*nlSize)
	g.p("\tADDQ $%d, DI", 2*q80Size)
	g.p("\tSUBQ $2, CX")
	g.p("\tCMPQ CX, $2")
	g.p("\tJGE pairloop")
	g.p("pairsdone:")
	regs := make([]int, g.rows)
	for k := range regs {
		regs[k] = 2 * k
		g.p("\tVADDPS Y%d, Y%d, Y%d", 2*k+1, 2*k, 2*k)
		g.hsum8(2*k, 2*k)
	}
	g.p("\tTESTQ CX, CX")
	g.p("\tJZ done")
	// The tail: true 16-bit products of the levels (Y10 values 0-15, Y9
	// 16-31) and x, summed exactly.
	g.p("\tVMOVDQU 2(SI), X8")
	g.p("\tVPSRLW $4, X8, X9")
	g.p("\tVPAND X14, X8, X8")
	g.p("\tVPAND X14, X9, X9")
	g.p("\tVPSHUFB X8, X15, X8")
	g.p("\tVPSHUFB X9, X15, X9")
	g.p("\tVPMOVSXBW X8, Y10")
	g.p("\tVPMOVSXBW X9, Y9")
	g.p("\tVPBROADCASTW 0(SI), X11")
	g.p("\tVCVTPH2PS X11, X11")
	for k := 0; k < g.rows; k++ {
		g.p("\tVPMOVSXBW %s, Y12", x(2, k))
		g.p("\tVPMADDWD Y10, Y12, Y12")
		g.p("\tVPMOVSXBW %s, Y13", x(18, k))
		g.p("\tVPMADDWD Y9, Y13, Y13")
		g.p("\tVPADDD Y13, Y12, Y12")
		g.p("\tVEXTRACTI128 $1, Y12, X13")
		g.p("\tVPADDD X13, X12, X12")
		g.p("\tVPSHUFD $0x4e, X12, X13")
		g.p("\tVPADDD X13, X12, X12")
		g.p("\tVPSHUFD $0xb1, X12, X13")
		g.p("\tVPADDD X13, X12, X12")
		g.p("\tVCVTDQ2PS X12, X12")
		g.p("\tVPBROADCASTW %s, X13", x(0, k))
		g.p("\tVCVTPH2PS X13, X13")
		g.p("\tVMULSS X11, X13, X13")
		g.p("\tVFMADD231SS X12, X13, X%d", 2*k)
	}
	g.p("done:")
	g.store(regs)
	g.end(0)
}

// iq4XS: per super-block, the scales to 0(SP), then each block's products
// times its scale into the rows' integer lanes; fused into the float lanes
// with d_w·d_x.
func (g *gen) iq4XS() {
	frame := 16
	if g.rows > 1 {
		frame = 24
	}
	g.header("IQ4_XS", frame, 16, g.rows)
	g.p("\tTESTQ CX, CX")
	g.p("\tJZ done")
	g.p("loop:")
	// Scale j: nibble j of scales_l (bits 4j-4j+3 of its 32-bit word) and
	// bits 2j, 2j+1 of scales_h as bits 4-5, less 32.
	g.p("\tMOVWLZX 2(SI), AX")
	g.p("\tMOVL 4(SI), BX")
	for j := 0; j < 8; j++ {
		g.p("\tMOVL BX, R10")
		if j > 0 {
			g.p("\tSHRL $%d, R10", 4*j)
		}
		g.p("\tANDL $15, R10")
		g.p("\tMOVL AX, R11")
		switch {
		case 2*j < 4:
			g.p("\tSHLL $%d, R11", 4-2*j)
		case 2*j > 4:
			g.p("\tSHRL $%d, R11", 2*j-4)
		}
		g.p("\tANDL $0x30, R11")
		g.p("\tORL R11, R10")
		g.p("\tSUBL $32, R10")
		g.p("\tMOVW R10, %d(SP)", 2*j)
	}
	for k := 0; k < g.rows; k++ {
		g.p("\tVPXOR Y%d, Y%d, Y%d", 4+k, 4+k, 4+k)
	}
	for j := 0; j < 8; j++ {
		g.decode(8 + 16*j)
		g.p("\tVPBROADCASTW %d(SP), Y10", 2*j)
		for k := 0; k < g.rows; k++ {
			g.mulAdd(x(4+32*j, k), 11)
			g.p("\tVPMADDWD Y10, Y11, Y11")
			g.p("\tVPADDD Y11, Y%d, Y%d", 4+k, 4+k)
		}
	}
	g.p("\tVPBROADCASTW 0(SI), X8")
	g.p("\tVCVTPH2PS X8, Y8")
	for k := 0; k < g.rows; k++ {
		g.p("\tVBROADCASTSS %s, Y9", x(0, k))
		g.p("\tVMULPS Y9, Y8, Y9")
		g.p("\tVCVTDQ2PS Y%d, Y%d", 4+k, 4+k)
		g.p("\tVFMADD231PS Y%d, Y9, Y%d", 4+k, k)
	}
	g.p("\tADDQ $%d, SI", xsSize)
	g.p("\tADDQ $%d, DI", q8KSize)
	g.p("\tDECQ CX")
	g.p("\tJNZ loop")
	g.p("done:")
	regs := make([]int, g.rows)
	for k := range regs {
		regs[k] = k
		g.hsum8(k, k)
	}
	g.store(regs)
	g.end(16)
}

func main() {
	var out bytes.Buffer
	out.WriteString(`// Code generated by gen_dot_iq4_amd64.go; DO NOT EDIT.

#include "textflag.h"

DATA k4nibIQ<>+0(SB)/1, $0x0f
GLOBL k4nibIQ<>(SB), RODATA|NOPTR, $1
`)
	// ggml's kvalues_iq4nl, the 16 levels.
	for i, v := range []int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113} {
		fmt.Fprintf(&out, "DATA kvalIQ4<>+%d(SB)/1, $%d\n", i, uint8(v))
	}
	out.WriteString("GLOBL kvalIQ4<>(SB), RODATA|NOPTR, $16\n")
	for _, rows := range []int{1, 4} {
		g := &gen{rows: rows}
		g.iq4NL()
		out.Write(g.w.Bytes())
		g = &gen{rows: rows}
		g.iq4XS()
		out.Write(g.w.Bytes())
	}
	if err := os.WriteFile("dot_iq4_amd64.s", out.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
