//go:build ignore

// gen_kasm_amd64.go holds what the K-quant and IQ4 kernel generators
// (gen_dot_k_amd64.go, gen_dot_k23_amd64.go, gen_dot_iq4_amd64.go) share:
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
