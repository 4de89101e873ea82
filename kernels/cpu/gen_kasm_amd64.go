//go:build ignore

// gen_kasm_amd64.go holds what the kernel generators (gen_dot_amd64.go,
// gen_dot_k_amd64.go, gen_dot_k23_amd64.go, gen_dot_iq4_amd64.go) share:
// each runs together with this file, `go run gen_dot_k_amd64.go
// gen_kasm_amd64.go`, from the go:generate lines in the .go files beside
// the assembly.
package main

import (
	"bytes"
	"fmt"
)

type gen struct {
	w    bytes.Buffer
	rows int
}

func (g *gen) p(format string, a ...any) { fmt.Fprintf(&g.w, format+"\n", a...) }

// x is the address of byte off of row k's current activation block.
func x(off, k int) string {
	switch k {
	case 0:
		return fmt.Sprintf("%d(DI)", off)
	case 1:
		return fmt.Sprintf("%d(DI)(R8*1)", off)
	case 2:
		return fmt.Sprintf("%d(DI)(R8*2)", off)
	}
	return fmt.Sprintf("%d(DI)(R9*1)", off)
}

const (
	q8Bsums = 4 + 256 // Q8_K: d f32, qs[256], bsums[16] int16
	q8Size  = 292
)

// start begins a lane kernel: dot<name>AVX2 (one row of w with one of x,
// frame1 bytes of stack) or the tile dot<name>AVX2x4t (rows rows of w, wrb
// bytes apart, the current one kept at wp(SP), each against four rows of x
// xrb bytes apart; frame4 bytes), consts written once; for a tile, on to
// each row's pointers (CX, SI, DI).
func (g *gen) start(name string, frame1, frame4, wp int, consts string) {
	if g.rows == 1 {
		g.p("// func dot%sAVX2(nb int, w, x *byte) float32", name)
		g.p("TEXT ·dot%sAVX2(SB), NOSPLIT, $%d-28", name, frame1)
		g.p("\tMOVQ nb+0(FP), CX")
		g.p("\tMOVQ w+8(FP), SI")
		g.p("\tMOVQ x+16(FP), DI")
		g.w.WriteString(consts)
		return
	}
	g.p("// func dot%sAVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, dst *float32, dstride int)", name)
	g.p("TEXT ·dot%sAVX2x4t(SB), NOSPLIT, $%d-64", name, frame4)
	g.p("\tMOVQ w+8(FP), BX")
	g.p("\tMOVQ BX, %d(SP)", wp)
	g.p("\tMOVQ rows+24(FP), R13")
	g.p("\tMOVQ xrb+40(FP), R8")
	g.p("\tLEAQ (R8)(R8*2), R9")
	g.p("\tMOVQ dst+48(FP), DX")
	g.w.WriteString(consts)
	g.p("\tTESTQ R13, R13")
	g.p("\tJZ end")
	g.p("rowloop:")
	g.p("\tMOVQ nb+0(FP), CX")
	g.p("\tMOVQ %d(SP), SI", wp)
	g.p("\tMOVQ x+32(FP), DI")
}

// hsum8 sets X<dst> to Y<r>'s eight lanes added as hsum_float_8, using X8
// and X9.
func (g *gen) hsum8(r, dst int) {
	g.p("\tVEXTRACTF128 $1, Y%d, X8", r)
	g.p("\tVADDPS X%d, X8, X8", r)
	g.p("\tVMOVHLPS X8, X8, X9")
	g.p("\tVADDPS X9, X8, X8")
	g.p("\tVMOVSHDUP X8, X9")
	g.p("\tVADDSS X9, X8, X%d", dst)
}

// store writes row k's result X<regs[k]>: the return value for one row,
// else dst[k·dstride].
func (g *gen) store(regs []int) {
	if g.rows == 1 {
		g.p("\tVMOVSS X%d, ret+24(FP)", regs[0])
		return
	}
	g.p("\tMOVQ dstride+56(FP), AX")
	g.p("\tLEAQ (AX)(AX*2), R12")
	for k, r := range regs {
		g.p("\tVMOVSS X%d, %s", r, []string{"(DX)", "(DX)(AX*1)", "(DX)(AX*2)", "(DX)(R12*1)"}[k])
	}
}

// end moves a tile on to its next row of w (kept at wp(SP)) and loops,
// then returns.
func (g *gen) end(wp int) {
	if g.rows > 1 {
		g.p("\tADDQ $4, DX")
		g.p("\tMOVQ wrb+16(FP), AX")
		g.p("\tADDQ AX, %d(SP)", wp)
		g.p("\tDECQ R13")
		g.p("\tJNZ rowloop")
		g.p("end:")
	}
	g.p("\tVZEROUPPER")
	g.p("\tRET")
}

// zeroSums clears each row's integer lane sums (Y4 on).
func (g *gen) zeroSums() {
	for k := 0; k < g.rows; k++ {
		g.p("\tVPXOR Y%d, Y%d, Y%d", 4+k, 4+k, 4+k)
	}
}

// fmaD fuses each row's converted lane sums times d_w·d_x (d_w the fp16 at
// off(SI)) into its float lanes.
func (g *gen) fmaD(off int) {
	g.p("\tVPBROADCASTW %d(SI), X8", off)
	g.p("\tVCVTPH2PS X8, Y8")
	for k := 0; k < g.rows; k++ {
		g.p("\tVBROADCASTSS %s, Y9", x(0, k))
		g.p("\tVMULPS Y8, Y9, Y9")
		g.p("\tVCVTDQ2PS Y%d, Y%d", 4+k, 4+k)
		g.p("\tVFMADD231PS Y%d, Y9, Y%d", 4+k, k)
	}
}

// The eight-row ZMM tiles (gen_dot_amd64.go's tile8, gen_dot_k_amd64.go's
// q4K8 and q6K8) hold rows 2p and 2p+1 of x in the halves of Z0-Z3.

// tile8Consts writes the tiles' permutations as <prefix>pair (four
// vectors: d_w·d_x of rows 2p and 2p+1 spread over the halves) and
// <prefix>gather (lanes 0 and 8 of two registers).
func tile8Consts(w *bytes.Buffer, prefix string) {
	for p := 0; p < 4; p++ {
		for k := 0; k < 16; k++ {
			fmt.Fprintf(w, "DATA %spair<>+%d(SB)/4, $%d\n", prefix, 64*p+4*k, 2*p+k/8)
		}
	}
	fmt.Fprintf(w, "GLOBL %spair<>(SB), RODATA|NOPTR, $256\n", prefix)
	for k, v := range []int{0, 8, 16, 24} {
		fmt.Fprintf(w, "DATA %sgather<>+%d(SB)/4, $%d\n", prefix, 4*k, v)
	}
	fmt.Fprintf(w, "GLOBL %sgather<>(SB), RODATA|NOPTR, $64\n", prefix)
}

// sums8 leaves in Y0 the eight rows' hsum_float_8 of Z0-Z3, gather holding
// <prefix>gather: in every half at once (l_k + l_k+4), then (k=0 + k=2,
// k=1 + k=3), then their sum, in lanes 0 and 8.
func sums8(p func(string, ...any), gather string) {
	for j := 0; j < 4; j++ {
		p("\tVSHUFF32X4 $0xB1, Z%d, Z%d, Z16", j, j)
		p("\tVADDPS Z16, Z%d, Z%d", j, j)
		p("\tVPERMILPS $0x4E, Z%d, Z16", j)
		p("\tVADDPS Z16, Z%d, Z%d", j, j)
		p("\tVMOVSHDUP Z%d, Z16", j)
		p("\tVADDPS Z16, Z%d, Z%d", j, j)
	}
	p("\tVPERMT2PS Z1, %s, Z0", gather)
	p("\tVPERMT2PS Z3, %s, Z2", gather)
	p("\tVINSERTF128 $1, X2, Y0, Y0")
}

// store8 writes Y0's eight floats to dst[k·AX] (DX; AX dst's row stride
// in bytes, R12 3·AX), using R9.
func store8(p func(string, ...any)) {
	p("\tLEAQ (DX)(AX*4), R9")
	p("\tVMOVSS X0, (DX)")
	p("\tVEXTRACTPS $1, X0, (DX)(AX*1)")
	p("\tVEXTRACTPS $2, X0, (DX)(AX*2)")
	p("\tVEXTRACTPS $3, X0, (DX)(R12*1)")
	p("\tVEXTRACTF128 $1, Y0, X0")
	p("\tVMOVSS X0, (R9)")
	p("\tVEXTRACTPS $1, X0, (R9)(AX*1)")
	p("\tVEXTRACTPS $2, X0, (R9)(AX*2)")
	p("\tVEXTRACTPS $3, X0, (R9)(R12*1)")
}

// tile8Head starts a K-quant tile, dot<name>VNNIx8z: arguments, consts (after the
// permutations) once, then per row of w (kept at 64(SP)) the pointers,
// Z0-Z3 and zero (more accumulators) cleared, to the super-block loop.
func (g *gen) tile8Head(name, consts, zero string) {
	g.p("// func dot%sVNNIx8z(nb int, w *byte, wrb, rows int, xi *byte, side, dst *float32, dstride int)", name)
	g.p("TEXT ·dot%sVNNIx8z(SB), NOSPLIT, $72-64", name)
	g.p("\tMOVQ w+8(FP), BX")
	g.p("\tMOVQ BX, 64(SP)")
	g.p("\tMOVQ rows+24(FP), R13")
	g.p("\tMOVQ dst+48(FP), DX")
	for j := 0; j < 4; j++ {
		g.p("\tVMOVDQU32 k8pair<>+%d(SB), Z%d", 64*j, 24+j)
	}
	g.p("\tVMOVDQU32 k8gather<>(SB), Z28")
	g.w.WriteString(consts)
	g.p("\tTESTQ R13, R13")
	g.p("\tJZ end")
	g.p("rowloop:")
	g.p("\tMOVQ nb+0(FP), CX")
	g.p("\tMOVQ 64(SP), SI")
	g.p("\tMOVQ xi+32(FP), DI")
	g.p("\tMOVQ side+40(FP), R8")
	for j := 0; j < 4; j++ {
		g.p("\tVPXORD Z%d, Z%d, Z%d", j, j, j)
	}
	g.w.WriteString(zero)
	g.p("\tTESTQ CX, CX")
	g.p("\tJZ done")
	g.p("loop:")
}

// tile8Tail stores Y0's eight results, moves to the next row of w and
// loops.
func (g *gen) tile8Tail() {
	g.p("\tMOVQ dstride+56(FP), AX")
	g.p("\tLEAQ (AX)(AX*2), R12")
	store8(g.p)
	g.end(64)
	g.p("")
}

// tileKConsts writes the K-quant tiles' constants (after tile8Consts
// with prefix k8): k6scale, per group G the dword permutation taking
// scale 2G into lanes 0-3 and 8-11 and 2G+1 into 4-7 and 12-15 (16-value
// scales); k80, a 0x80 byte; k5bits, per group g 64 bytes of 1<<g.
func tileKConsts(out *bytes.Buffer) {
	for G := 0; G < 8; G++ {
		for k := 0; k < 16; k++ {
			fmt.Fprintf(out, "DATA k6scale<>+%d(SB)/4, $%d\n", 64*G+4*k, 2*G+k/4%2)
		}
	}
	out.WriteString("GLOBL k6scale<>(SB), RODATA|NOPTR, $512\n")
	out.WriteString("DATA k80<>+0(SB)/1, $0x80\nGLOBL k80<>(SB), RODATA|NOPTR, $1\n")
	for grp := 0; grp < 8; grp++ {
		for k := 0; k < 8; k++ {
			fmt.Fprintf(out, "DATA k5bits<>+%d(SB)/8, $%#016x\n", 64*grp+8*k, uint64(0x0101010101010101)<<grp)
		}
	}
	out.WriteString("GLOBL k5bits<>(SB), RODATA|NOPTR, $512\n")
}

// The K tiles with 16-value scales (Q2_K, Q3_K, Q6_K) keep a half's four
// groups of weights in Z4-Z7, their scale vectors in Z8-Z11 (from the
// scales as dwords in Z12), the lane sums of rows 2p, 2p+1 in Z16-Z19,
// and for signed weights against x+128 the w-only term in Z23 (0x80 bytes
// in Z29).

// groupScale sets Z8+q to group grp's scale vector, through the k6scale
// permutations at table.
func (g *gen) groupScale(q, grp int, table string) {
	g.p("\tVMOVDQU32 %d(%s), Z%d", 64*grp, table, 8+q)
	g.p("\tVPERMD Z12, Z%d, Z%d", 8+q, 8+q)
}

// wOnly adds group q's scale·128·Σw, per lane, to Z23.
func (g *gen) wOnly(q int) {
	g.p("\tVPXORD Z22, Z22, Z22")
	g.p("\tVPDPBUSD Z%d, Z29, Z22", 4+q)
	g.p("\tVPDPWSSD Z%d, Z22, Z23", 8+q)
}

// groupSums adds half h's four groups' scaled lane sums for the four pairs
// of rows: with x80 the activations (x+128) as VPDPBUSD's unsigned operand
// and the signed weights as its other, else the unsigned weights against x
// from memory.
func (g *gen) groupSums(h int, x80 bool) {
	for q := 0; q < 4; q++ {
		grp := 4*h + q
		for p := 0; p < 4; p++ {
			if x80 {
				g.p("\tVMOVDQU32 %d(DI), Z20", 256*grp+64*p)
				g.p("\tVPXORD Z21, Z21, Z21")
				g.p("\tVPDPBUSD Z%d, Z20, Z21", 4+q)
			} else {
				g.p("\tVPXORD Z21, Z21, Z21")
				g.p("\tVPDPBUSD %d(DI), Z%d, Z21", 256*grp+64*p, 4+q)
			}
			g.p("\tVPDPWSSD Z%d, Z21, Z%d", 8+q, 16+p)
		}
	}
}

// closeBlock8 ends a super-block of a 16-value-scale tile: the lane sums
// (less the w-only term with x80) converted and fused with d_w·d_x (d_w
// the fp16 at dOff(SI)) into Z0-Z3; then on to the next super-block (wsize
// bytes of w, xblk of xi) and, after the last, the sums and stores.
func (g *gen) closeBlock8(dOff, wsize, xblk int, x80 bool) {
	g.p("\tVPBROADCASTW %d(SI), X20", dOff)
	g.p("\tVCVTPH2PS X20, Y20")
	g.p("\tVMULPS (R8), Y20, Y22")
	for p := 0; p < 4; p++ {
		if x80 {
			g.p("\tVPSUBD Z23, Z%d, Z%d", 16+p, 16+p)
		}
		g.p("\tVCVTDQ2PS Z%d, Z%d", 16+p, 16+p)
		g.p("\tVPERMPS Z22, Z%d, Z20", 24+p)
		g.p("\tVFMADD231PS Z20, Z%d, Z%d", 16+p, p)
	}
	g.p("\tADDQ $%d, SI", wsize)
	g.p("\tADDQ $%d, DI", xblk)
	g.p("\tADDQ $32, R8")
	g.p("\tDECQ CX")
	g.p("\tJNZ loop")
	g.p("done:")
	sums8(g.p, "Z28")
	g.tile8Tail()
}
