package cpu

import (
	"testing"

	"github.com/openweights/owl/gguf"
)

// BenchmarkLaneTiles times the eight-row tile against two four-row tiles
// over the same 16 rows of w (576 columns, in L1) and eight rows of x,
// reporting nanoseconds per (w row, x row, block).
func BenchmarkLaneTiles(b *testing.B) {
	r := newRand(b)
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1} {
		k, ok := laneKernels[typ]
		if !ok || k.tile8 == nil {
			b.Skipf("no eight-row tile for %v on this CPU", typ)
		}
		tr := traits[typ]
		q81 := tr.VecDotType == gguf.TypeQ8_1
		const n, rows = 576, 16
		nb := n / qk
		xrb := rowSize(tr.VecDotType, n)
		xs := make([]byte, 8*xrb)
		xi := make([]byte, laneXiLen(nb, q81))
		side8 := make([]float32, laneSide8Len(nb, q81))
		sl := laneSideLen(nb, q81, k.shift)
		side := make([]float32, 2*sl)
		for i := 0; i < 8; i++ {
			tr.FromFloat(xs[i*xrb:], randRow(r, n, i))
			laneInterleave8(xi, side8, i, xs[i*xrb:], nb, q81, k.shift)
			laneSide(side[i/4*sl:], i%4, xs[i*xrb:], nb, q81, k.shift)
		}
		wrb := rowSize(typ, n)
		ws := make([]byte, rows*wrb)
		randBlocks(r, typ, ws)
		dst := make([]float32, 8*rows)
		perPair := func(b *testing.B) {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(8*rows*nb), "ns/pair")
		}
		b.Run(typ.String()+"/tile4x2", func(b *testing.B) {
			for b.Loop() {
				k.tile4(n, ws, wrb, rows, xs, xrb, side[:sl], dst, rows)
				k.tile4(n, ws, wrb, rows, xs[4*xrb:], xrb, side[sl:], dst[4*rows:], rows)
			}
			perPair(b)
		})
		b.Run(typ.String()+"/tile8", func(b *testing.B) {
			for b.Loop() {
				k.tile8(n, ws, wrb, rows, xi, side8, dst, rows)
			}
			perPair(b)
		})
	}
}

// BenchmarkLaneRows times decoding's one-row kernels (dotRows) over 16 rows
// of w of 576 columns (in L1) against one row of x, in nanoseconds per
// (w row, block).
func BenchmarkLaneRows(b *testing.B) {
	r := newRand(b)
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1} {
		k, ok := laneKernels[typ]
		if !ok || k.dotRows == nil {
			b.Skipf("no lane kernels for %v on this CPU", typ)
		}
		tr := traits[typ]
		q81 := tr.VecDotType == gguf.TypeQ8_1
		const n, rows = 576, 16
		nb := n / qk
		x := make([]byte, rowSize(tr.VecDotType, n))
		tr.FromFloat(x, randRow(r, n, 0))
		side := make([]float32, laneSideLen(nb, q81, k.shift))
		laneSide(side, 0, x, nb, q81, k.shift)
		wrb := rowSize(typ, n)
		ws := make([]byte, rows*wrb)
		randBlocks(r, typ, ws)
		dst := make([]float32, rows)
		b.Run(typ.String(), func(b *testing.B) {
			for b.Loop() {
				k.dotRows(n, ws, wrb, rows, x, side, 0, dst)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows*nb), "ns/block")
		})
	}
}
