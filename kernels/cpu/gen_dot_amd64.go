//go:build ignore

// gen_dot_amd64.go writes dot_amd64.s: the lane-order dot kernels (see
// lanes.go) for the 32-element block types, one and four rows of x at a
// time, in AVX2 (+FMA, F16C) and with AVX512-VNNI, and eight rows on ZMM.
// Run by `go generate` in kernels/cpu, with gen_kasm_amd64.go.
//
// Register use in every kernel:
//
//	SI w, DI x (row 0), R8 x row stride, R9 3·R8, CX blocks left,
//	R10 the four rows' d_x, R11 their s_x (side floats);
//	four-row tiles: BX the row of w, R13 rows left, DX dst, AX its row
//	stride, R12 3·AX
//	Y0-Y3 lane accumulators, one per row of x
//	Y4 the block's 32 weight values, Y5 their absolute values (signed types)
//	Y6-Y7 temporaries, Y8 m_w (Q8_1 types) or a temporary, Y9 d_w
//	X10-X13 m_w·s_x sums (Q8_1 types; four-row kernels keep all in X10)
//	Y13 eights (Q4_0), Y14 0x0F bytes, Y15 0x0001 words (AVX2)
package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// blockType describes one weight type and the layout of its dot partner.
type blockType struct {
	name   string // Go name part: dotQ4_1AVX2, dotQ4_1AVX2x4
	wsize  int    // bytes per weight block
	xsize  int    // bytes per activation block (Q8_0: 34, Q8_1: 36)
	signed bool   // weights are signed: use the |w|, sign(x, w) trick
	min    bool   // weight block has a minimum at byte 2 (x has s at byte 2)
	decode string // instructions leaving the 32 values in Y4
	// The eight-row tile (tile8) reads the weights unsigned, doubled into
	// Z4's two halves by zdecode; a signed type's values are the unsigned
	// ones less 2^corr, so the integer sums start at -Σx·2^corr.
	zdecode string
	corr    int
	// vdecode, when set, is decode for the VNNI kernels, which may use
	// AVX512BW's mask registers (the Q5 types' fifth bits: one KMOVD and a
	// masked byte add instead of five shuffles and compares).
	vdecode string
	// udecode, for the signed types, leaves the values unsigned (2^corr
	// more) in Y4: the VNNI kernels with side floats take the lane sums'
	// correction from side as the integer accumulator's start instead of
	// moving the signs onto x with VPSIGNB for every row.
	udecode string
}

const nibbles = `	VMOVDQU %[1]d(SI), X4
	VPSRLW $4, X4, X6
	VINSERTI128 $1, X6, Y4, Y4
	VPAND Y14, Y4, Y4
`

// fifthBits leaves 0xFF in byte j of Y6 where bit j of the 32-bit qh at
// byte offset %[1]d is set.
const fifthBits = `	VPBROADCASTD %[1]d(SI), Y6
	VPSHUFB q5shuf<>(SB), Y6, Y6
	VPOR q5bits<>(SB), Y6, Y6
	VPCMPEQB Y7, Y7, Y7
	VPCMPEQB Y7, Y6, Y6
`

// znibbles leaves the 32 nibbles at byte offset %[1]d twice in Z4: the 16
// bytes in all four 128-bit lanes, lanes 1 and 3 shifted down by four.
const znibbles = `	VBROADCASTI32X4 %[1]d(SI), Z4
	VPSRLVW Z13, Z4, Z4
	VPANDD Z14, Z4, Z4
`

// q5high ors bit 4 (Y6 from fifthBits) into the nibbles of Y4.
const q5high = "\tVPAND q5x10<>(SB), Y6, Y6\n\tVPOR Y6, Y4, Y4\n"

var types = []blockType{
	{name: "Q8_0", wsize: 34, xsize: 34, signed: true, decode: "\tVMOVDQU 2(SI), Y4\n",
		udecode: "\tVPXOR 2(SI), Y15, Y4\n",
		zdecode: "\tVBROADCASTI64X4 2(SI), Z4\n\tVPXORD Z15, Z4, Z4\n", corr: 7},
	{name: "Q4_0", wsize: 18, xsize: 34, signed: true, decode: fmt.Sprintf(nibbles, 2) + "\tVPSUBB Y13, Y4, Y4\n",
		udecode: fmt.Sprintf(nibbles, 2),
		zdecode: fmt.Sprintf(znibbles, 2), corr: 3},
	{name: "Q4_1", wsize: 20, xsize: 36, min: true, decode: fmt.Sprintf(nibbles, 4),
		zdecode: fmt.Sprintf(znibbles, 4)},
	{name: "Q5_0", wsize: 22, xsize: 34, signed: true, decode: fmt.Sprintf(nibbles, 6) + fmt.Sprintf(fifthBits, 2) +
		// Where bit 4 is clear the value is q-16: set the top four bits.
		"\tVPANDN q5f0<>(SB), Y6, Y6\n\tVPOR Y6, Y4, Y4\n",
		// The same with a mask: subtract 16 where qh's bit is clear.
		vdecode: fmt.Sprintf(nibbles, 6) + "\tKMOVD 2(SI), K1\n\tKNOTD K1, K1\n\tVPSUBB Y13, Y4, K1, Y4\n",
		udecode: fmt.Sprintf(nibbles, 6) + "\tKMOVD 2(SI), K1\n\tVPADDB Y13, Y4, K1, Y4\n",
		// Unsigned: add 16 where it is set, in both halves.
		zdecode: fmt.Sprintf(znibbles, 6) + "\tKMOVD 2(SI), K1\n\tKUNPCKDQ K1, K1, K1\n\tVPADDB Z29, Z4, K1, Z4\n", corr: 4},
	{name: "Q5_1", wsize: 24, xsize: 36, min: true, decode: fmt.Sprintf(nibbles, 8) + fmt.Sprintf(fifthBits, 4) + q5high,
		vdecode: fmt.Sprintf(nibbles, 8) + "\tKMOVD 4(SI), K1\n\tVPADDB Y13, Y4, K1, Y4\n",
		zdecode: fmt.Sprintf(znibbles, 8) + "\tKMOVD 4(SI), K1\n\tKUNPCKDQ K1, K1, K1\n\tVPADDB Z29, Z4, K1, Z4\n"},
}

// kernel writes one function: isa is "AVX2" (VPMADDUBSW + VPMADDWD) or
// "VNNI" (AVX512-VNNI's VPDPBUSD on YMM, AVX512VL's embedded broadcast);
// rows is 1 or 4; d_x and s_x come from x's blocks or, with side (always
// for four rows), from side floats: a group's [nb][4] d_x, then [nb][4]
// s_x for Q8_1, one row reading lane 0 of the pointer it is given. One row
// of x with side loops over rows of w (the decoding form), without over one.
// The VNNI kernels of signed types with side read the weights unsigned and
// start each block's integer sums at the correction that follows d_x in
// side ([nb][4 rows][8 lanes] int32, laneSide), a row's at the corr pointer.
func kernel(w *bytes.Buffer, t blockType, isa string, rows int, side bool) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	side = side || rows > 1
	vnni := isa == "VNNI"
	xq := 2 // offset of x's quants
	if t.min {
		xq = 4
	}
	switch {
	case rows == 1 && side:
		p("// func dot%s%sr(nb int, w *byte, wrb, rows int, x *byte, side, corr, dst *float32)", t.name, isa)
		p("TEXT ·dot%s%sr(SB), NOSPLIT, $0-64", t.name, isa)
	case rows == 1:
		p("// func dot%s%s(nb int, w, x *byte) float32", t.name, isa)
		p("TEXT ·dot%s%s(SB), NOSPLIT, $0-28", t.name, isa)
	default:
		p("// func dot%s%sx4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, side, dst *float32, dstride int)", t.name, isa)
		p("TEXT ·dot%s%sx4t(SB), NOSPLIT, $0-72", t.name, isa)
	}
	ucorr := vnni && t.signed && side
	consts := func() {
		if ucorr && t.name == "Q8_0" {
			p("\tVPBROADCASTB x80<>(SB), Y15")
		}
		if !vnni {
			p("\tVPCMPEQW Y15, Y15, Y15")
			p("\tVPSRLW $15, Y15, Y15")
		}
		p("\tVPBROADCASTB lownib<>(SB), Y14")
		if t.name == "Q4_0" {
			p("\tVPBROADCASTB eight<>(SB), Y13")
		}
		if vnni && t.vdecode != "" {
			p("\tVPBROADCASTB sixteen<>(SB), Y13")
		}
	}
	if rows > 1 {
		// The tile: rows rows of w (BX, wrb apart), each against the four
		// rows of x, results to dst[k·dstride + r] (DX, AX = dstride).
		p("\tMOVQ w+8(FP), BX")
		p("\tMOVQ rows+24(FP), R13")
		p("\tMOVQ xrb+40(FP), R8")
		p("\tLEAQ (R8)(R8*2), R9")
		p("\tMOVQ dst+56(FP), DX")
		p("\tMOVQ dstride+64(FP), AX")
		p("\tLEAQ (AX)(AX*2), R12")
		consts()
		p("\tTESTQ R13, R13")
		p("\tJZ end")
		p("rowloop:")
		p("\tMOVQ nb+0(FP), CX")
		p("\tMOVQ BX, SI")
		p("\tMOVQ x+32(FP), DI")
		p("\tMOVQ side+48(FP), R10")
		p("\tMOVQ CX, R11")
		p("\tSHLQ $4, R11")
		p("\tADDQ R10, R11") // s_x after nb groups of four d_x
		if t.min {
			p("\tVXORPS X10, X10, X10")
		}
	} else if side {
		// Rows of w (BX, wrb apart) against one row of x, results to
		// dst[r] (DX).
		p("\tMOVQ w+8(FP), BX")
		p("\tMOVQ rows+24(FP), R13")
		p("\tMOVQ dst+56(FP), DX")
		consts()
		p("\tTESTQ R13, R13")
		p("\tJZ end")
		p("rowloop:")
		p("\tMOVQ nb+0(FP), CX")
		p("\tMOVQ BX, SI")
		p("\tMOVQ x+32(FP), DI")
		p("\tMOVQ side+40(FP), R10")
		if ucorr {
			p("\tMOVQ corr+48(FP), R11")
		} else {
			p("\tMOVQ CX, R11")
			p("\tSHLQ $4, R11")
			p("\tADDQ R10, R11")
		}
	} else {
		p("\tMOVQ nb+0(FP), CX")
		p("\tMOVQ w+8(FP), SI")
		p("\tMOVQ x+16(FP), DI")
		consts()
	}
	for k := 0; k < rows; k++ {
		p("\tVXORPS Y%d, Y%d, Y%d", k, k, k)
		if t.min && rows == 1 {
			p("\tVXORPS X%d, X%d, X%d", 10+k, 10+k, 10+k)
		}
	}
	p("\tTESTQ CX, CX")
	p("\tJZ done")
	p("loop:")
	switch {
	case ucorr:
		w.WriteString(t.udecode)
	case vnni && t.vdecode != "":
		w.WriteString(t.vdecode)
	default:
		w.WriteString(t.decode)
	}
	if t.signed && !ucorr {
		p("\tVPSIGNB Y4, Y4, Y5")
	}
	p("\tVPBROADCASTW (SI), X9")
	p("\tVCVTPH2PS X9, Y9")
	if t.min {
		p("\tVPBROADCASTW 2(SI), X8")
		p("\tVCVTPH2PS X8, X8")
	}
	for k := 0; k < rows; k++ {
		// d = d_w·d_x, broadcast.
		switch {
		case !side:
			p("\tVPBROADCASTW %s, X6", x(0, k))
			p("\tVCVTPH2PS X6, Y6")
			p("\tVMULPS Y6, Y9, Y6")
		case vnni:
			p("\tVMULPS.BCST %d(R10), Y9, Y6", 4*k)
		default:
			p("\tVBROADCASTSS %d(R10), Y6", 4*k)
			p("\tVMULPS Y6, Y9, Y6")
		}
		// Eight lanes of four exact products each.
		switch {
		case ucorr:
			p("\tVMOVDQU %d(R11), Y7", 32*k)
			p("\tVPDPBUSD %s, Y4, Y7", x(xq, k))
		case t.signed && vnni:
			p("\tVMOVDQU %s, Y8", x(xq, k))
			p("\tVPSIGNB Y4, Y8, Y8")
			p("\tVPXOR Y7, Y7, Y7")
			p("\tVPDPBUSD Y8, Y5, Y7")
		case vnni:
			p("\tVPXOR Y7, Y7, Y7")
			p("\tVPDPBUSD %s, Y4, Y7", x(xq, k))
		case t.signed:
			p("\tVMOVDQU %s, Y7", x(xq, k))
			p("\tVPSIGNB Y4, Y7, Y7")
			p("\tVPMADDUBSW Y7, Y5, Y7")
		default:
			p("\tVPMADDUBSW %s, Y4, Y7", x(xq, k))
		}
		if !vnni {
			p("\tVPMADDWD Y15, Y7, Y7")
		}
		p("\tVCVTDQ2PS Y7, Y7")
		p("\tVFMADD231PS Y7, Y6, Y%d", k)
		if t.min && rows == 1 && side {
			p("\tVFMADD231SS (R11), X8, X10")
		} else if t.min && rows == 1 {
			// summs += m_w·s_x, fused: ggml's scalar line as GCC
			// compiles it (gnu11, -mfma contracts it).
			p("\tVPBROADCASTW %s, X7", x(2, k))
			p("\tVCVTPH2PS X7, X7")
			p("\tVFMADD231SS X7, X8, X%d", 10+k)
		}
	}
	if t.min && rows > 1 {
		// The four rows' summs side by side: lane k += m_w·s_x[k].
		p("\tVFMADD231PS (R11), X8, X10")
	}
	p("\tADDQ $%d, SI", t.wsize)
	p("\tADDQ $%d, DI", t.xsize)
	if side {
		p("\tADDQ $16, R10")
		if ucorr {
			p("\tADDQ $128, R11")
		} else {
			p("\tADDQ $16, R11")
		}
	}
	p("\tDECQ CX")
	p("\tJNZ loop")
	p("done:")
	for k := 0; k < rows; k++ {
		// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), as ggml's hsum_float_8.
		p("\tVEXTRACTF128 $1, Y%d, X6", k)
		p("\tVADDPS X%d, X6, X6", k)
		p("\tVMOVHLPS X6, X6, X7")
		p("\tVADDPS X7, X6, X6")
		p("\tVMOVSHDUP X6, X7")
		p("\tVADDSS X7, X6, X6")
		switch {
		case t.min && rows == 1:
			p("\tVADDSS X%d, X6, X6", 10+k)
		case t.min:
			p("\tVPSHUFD $%d, X10, X7", k)
			p("\tVADDSS X7, X6, X6")
		}
		switch {
		case rows == 1 && side:
			p("\tVMOVSS X6, (DX)")
		case rows == 1:
			p("\tVMOVSS X6, ret+24(FP)")
		default:
			p("\tVMOVSS X6, %s", []string{"(DX)", "(DX)(AX*1)", "(DX)(AX*2)", "(DX)(R12*1)"}[k])
		}
	}
	if rows > 1 || side {
		nextRow(p)
		return
	}
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// nextRow ends a kernel that loops over rows of w (BX, wrb apart; R13
// left) writing one float of dst (DX) a row.
func nextRow(p func(string, ...any)) {
	p("\tADDQ $4, DX")
	p("\tADDQ wrb+16(FP), BX")
	p("\tDECQ R13")
	p("\tJNZ rowloop")
	p("end:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// tile8 writes dot<T>VNNIx8z: rows rows of w against a group of eight rows
// of x in the interleaved layout of laneInterleave8 (xi: per block the eight
// rows' 32 quants, then for Q8_0 activations their corrections, the eight
// lane sums times -2^corr as int32), each result the bits of the one-row
// kernel's.
//
// A ZMM register holds two rows of x: VPDPBUSD on the weights doubled into
// both halves gives both rows' eight exact lane sums in one instruction, and
// VCVTDQ2PS and VFMADD231PS likewise, each half a row's own accumulator in
// ggml's order. The products d_w·d_x of the eight rows come from one VMULPS
// and are spread to the halves by VPERMPS.
//
//	SI w, DI xi, CX blocks left, R10 side d_x [nb][8], R11 side s_x [nb][8]
//	BX the row of w, R13 rows left, DX dst, AX its row stride, R12 3·AX
//	Z0-Z3 accumulators (rows 2j, 2j+1), Z4 weights, Y6 d_w·d_x, Y8 m_w,
//	Y9 d_w, Y10 m_w·s_x sums, Z13 nibble shifts, Z14 0x0F, Z15 0x80,
//	Z16-Z23 temporaries, Z24-Z27 VPERMPS indices, Z28 the result gather
func tile8(w *bytes.Buffer, t blockType) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	xblk := 256
	if t.corr > 0 {
		xblk = 512
	}
	p("// func dot%sVNNIx8z(nb int, w *byte, wrb, rows int, xi *byte, side, dst *float32, dstride int)", t.name)
	p("TEXT ·dot%sVNNIx8z(SB), NOSPLIT, $0-64", t.name)
	p("\tMOVQ w+8(FP), BX")
	p("\tMOVQ rows+24(FP), R13")
	p("\tMOVQ dst+48(FP), DX")
	p("\tMOVQ dstride+56(FP), AX")
	p("\tLEAQ (AX)(AX*2), R12")
	p("\tVMOVDQU32 nibshift<>(SB), Z13")
	p("\tVPBROADCASTB lownib<>(SB), Z14")
	p("\tVPBROADCASTB x80<>(SB), Z15")
	p("\tVPBROADCASTB sixteen<>(SB), Z29")
	for j := 0; j < 4; j++ {
		p("\tVMOVDQU32 t8pair<>+%d(SB), Z%d", 64*j, 24+j)
	}
	p("\tVMOVDQU32 t8gather<>(SB), Z28")
	p("\tTESTQ R13, R13")
	p("\tJZ end")
	p("rowloop:")
	p("\tMOVQ nb+0(FP), CX")
	p("\tMOVQ BX, SI")
	p("\tMOVQ xi+32(FP), DI")
	p("\tMOVQ side+40(FP), R10")
	if t.min {
		p("\tMOVQ CX, R11")
		p("\tSHLQ $5, R11")
		p("\tADDQ R10, R11") // s_x after nb groups of eight d_x
		p("\tVXORPS Y10, Y10, Y10")
	}
	for j := 0; j < 4; j++ {
		p("\tVPXORD Z%d, Z%d, Z%d", j, j, j)
	}
	p("\tTESTQ CX, CX")
	p("\tJZ done")
	p("loop:")
	w.WriteString(t.zdecode)
	p("\tVPBROADCASTW (SI), X9")
	p("\tVCVTPH2PS X9, Y9")
	p("\tVMULPS (R10), Y9, Y6")
	if t.min {
		// summs[r] = fma(m_w, s_x[r], summs[r]), as ggml's scalar line.
		p("\tVPBROADCASTW 2(SI), X8")
		p("\tVCVTPH2PS X8, Y8")
		p("\tVFMADD231PS (R11), Y8, Y10")
	}
	for j := 0; j < 4; j++ {
		if t.corr > 0 {
			p("\tVMOVDQU32 %d(DI), Z%d", 256+64*j, 16+j)
		} else {
			p("\tVPXORD Z%d, Z%d, Z%d", 16+j, 16+j, 16+j)
		}
		p("\tVPDPBUSD %d(DI), Z4, Z%d", 64*j, 16+j)
		p("\tVCVTDQ2PS Z%d, Z%d", 16+j, 16+j)
		p("\tVPERMPS Z6, Z%d, Z%d", 24+j, 20+j)
		p("\tVFMADD231PS Z%d, Z%d, Z%d", 20+j, 16+j, j)
	}
	p("\tADDQ $%d, SI", t.wsize)
	p("\tADDQ $%d, DI", xblk)
	p("\tADDQ $32, R10")
	if t.min {
		p("\tADDQ $32, R11")
	}
	p("\tDECQ CX")
	p("\tJNZ loop")
	p("done:")
	tile8out(p, t)
	nextRow(p)
}

// tile8out adds the lanes of Z0-Z3 (rows 2j, 2j+1 in their halves) and
// stores the eight sums (plus Y10's m_w·s_x) to dst.
func tile8out(p func(string, ...any), t blockType) {
	sums8(p, "Z28")
	if t.min {
		p("\tVADDPS Y10, Y0, Y0")
	}
	store8(p)
}

func main() {
	var w bytes.Buffer
	w.WriteString(`// Code generated by gen_dot_amd64.go; DO NOT EDIT.

#include "textflag.h"

DATA lownib<>+0(SB)/1, $0x0f
GLOBL lownib<>(SB), RODATA|NOPTR, $1
DATA eight<>+0(SB)/1, $0x08
GLOBL eight<>(SB), RODATA|NOPTR, $1
DATA sixteen<>+0(SB)/1, $0x10
GLOBL sixteen<>(SB), RODATA|NOPTR, $1

// Byte j of a broadcast 32-bit qh lands in byte 8j..8j+7 of the result.
DATA q5shuf<>+0(SB)/8, $0x0000000000000000
DATA q5shuf<>+8(SB)/8, $0x0101010101010101
DATA q5shuf<>+16(SB)/8, $0x0202020202020202
DATA q5shuf<>+24(SB)/8, $0x0303030303030303
GLOBL q5shuf<>(SB), RODATA|NOPTR, $32
// Every bit but bit j%8 of byte j: all ones exactly where qh's bit j is set.
DATA q5bits<>+0(SB)/8, $0x7fbfdfeff7fbfdfe
DATA q5bits<>+8(SB)/8, $0x7fbfdfeff7fbfdfe
DATA q5bits<>+16(SB)/8, $0x7fbfdfeff7fbfdfe
DATA q5bits<>+24(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL q5bits<>(SB), RODATA|NOPTR, $32
DATA q5f0<>+0(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA q5f0<>+8(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA q5f0<>+16(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA q5f0<>+24(SB)/8, $0xf0f0f0f0f0f0f0f0
GLOBL q5f0<>(SB), RODATA|NOPTR, $32
DATA q5x10<>+0(SB)/8, $0x1010101010101010
DATA q5x10<>+8(SB)/8, $0x1010101010101010
DATA q5x10<>+16(SB)/8, $0x1010101010101010
DATA q5x10<>+24(SB)/8, $0x1010101010101010
GLOBL q5x10<>(SB), RODATA|NOPTR, $32
DATA x80<>+0(SB)/1, $0x80
GLOBL x80<>(SB), RODATA|NOPTR, $1

`)
	// tile8's constants: VPSRLVW counts (0 in 128-bit lanes 0 and 2, 4 in
	// 1 and 3), then the permutations (tile8Consts).
	for i := 0; i < 4; i++ {
		v := uint64(0)
		if i%2 == 1 {
			v = 0x0004000400040004
		}
		fmt.Fprintf(&w, "DATA nibshift<>+%d(SB)/8, $%#016x\nDATA nibshift<>+%d(SB)/8, $%#016x\n", 16*i, v, 16*i+8, v)
	}
	w.WriteString("GLOBL nibshift<>(SB), RODATA|NOPTR, $64\n")
	tile8Consts(&w, "t8")
	w.WriteString("\n")
	for _, t := range types {
		for _, isa := range []string{"AVX2", "VNNI"} {
			kernel(&w, t, isa, 1, false)
			kernel(&w, t, isa, 1, true)
			kernel(&w, t, isa, 4, true)
		}
		tile8(&w, t)
	}
	// Labels are per TEXT block in Go assembly, so loop/done repeat safely.
	out := strings.ReplaceAll(w.String(), "\n\n\n", "\n\n")
	if err := os.WriteFile("dot_amd64.s", []byte(out), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
