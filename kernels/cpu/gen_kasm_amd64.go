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
	g.p("\tADDQ $4, DX")
	g.p("\tMOVQ wrb+16(FP), AX")
	g.p("\tADDQ AX, 64(SP)")
	g.p("\tDECQ R13")
	g.p("\tJNZ rowloop")
	g.p("end:")
	g.p("\tVZEROUPPER")
	g.p("\tRET")
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
