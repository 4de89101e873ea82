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
