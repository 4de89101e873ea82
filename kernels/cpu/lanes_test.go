package cpu

import (
	"math"
	"testing"

	"github.com/openweights/owl/gguf"
)

// refLaneDot is the plain-Go reference of a lane kernel: ggml's AVX2 order
// (lanes.go) spelled out one lane and one rounding at a time, from the
// weight row unpacked by the batched kernels' unpack functions.
func refLaneDot(t gguf.Type, n int, w, x []byte) float32 {
	bk := batchKernels[t]
	var u unpacked
	u.grow(n)
	bk.unpack(&u, w, n)
	var acc [8]float32
	var summs float32
	for b := 0; b < n/qk; b++ {
		xb := x[b*bk.blockBytes:]
		d := u.d[b] * half(xb)
		for k := range acc {
			var s int32
			for j := 4 * k; j < 4*k+4; j++ {
				s += int32(u.q[b*qk+j]) * int32(int8(xb[bk.valOff+j]))
			}
			acc[k] = fma32(d, float32(s), acc[k])
		}
		if bk.valOff == 4 { // Q8_1: the minimum times x's block sum
			summs = fma32(u.m[b], half(xb[2:]), summs)
		}
	}
	return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7])) + summs
}

// TestLaneKernels checks every registered lane kernel, one row and four,
// bit for bit against refLaneDot on random rows of several distributions
// and lengths, and on rows of random bytes (every quant pattern).
func TestLaneKernels(t *testing.T) {
	if len(laneKernels) == 0 {
		t.Skip("no lane kernels on this CPU (the amd64 assembly needs AVX2, FMA and F16C)")
	}
	r := newRand(t)
	sets := map[string]map[gguf.Type]laneKernel{"in use": laneKernels, "AVX2": avx2Kernels}
	for name, set := range sets {
		for typ, k := range set {
			tr := traits[typ]
			if tr.VecDotType == gguf.TypeQ8_K || typ == gguf.TypeIQ4_NL {
				continue // the K types' and IQ4_NL's kernels have their own tests
			}
			for _, n := range []int{32, 64, 256, 576, 1536} {
				for kind := 0; kind < 10; kind++ {
					wrow := make([]byte, rowSize(typ, n))
					if kind < 5 {
						typ.Traits().Quantize(wrow, randRow(r, n, kind))
					} else {
						randBlocks(r, typ, wrow)
					}
					xrb := rowSize(tr.VecDotType, n) + 4*r.IntN(3)
					xs := make([]byte, 4*xrb)
					q81 := tr.VecDotType == gguf.TypeQ8_1
					side := make([]float32, laneSideLen(n/qk, q81, k.shift))
					for i := 0; i < 4; i++ {
						tr.FromFloat(xs[i*xrb:], randRow(r, n, kind+i))
						laneSide(side, i, xs[i*xrb:], n/qk, q81, k.shift)
					}
					// A tile: the row of w and up to four more, wrb apart.
					rows := 1 + r.IntN(5)
					wrb := len(wrow) + 2*r.IntN(3)
					ws := make([]byte, (rows-1)*wrb+len(wrow))
					copy(ws, wrow)
					for j := 1; j < rows; j++ {
						randBlocks(r, typ, ws[j*wrb:j*wrb+len(wrow)])
					}
					dstride := rows + r.IntN(3)
					dst := make([]float32, 3*dstride+rows)
					k.tile4(n, ws, wrb, rows, xs, xrb, side, dst, dstride)
					for j := 0; j < rows; j++ {
						for i := 0; i < 4; i++ {
							want := refLaneDot(typ, n, ws[j*wrb:j*wrb+len(wrow)], xs[i*xrb:(i+1)*xrb])
							if got := dst[i*dstride+j]; math.Float32bits(got) != math.Float32bits(want) {
								t.Fatalf("%s %v n=%d kind=%d: tile4 w row %d x row %d: %v, reference %v", name, typ, n, kind, j, i, got, want)
							}
						}
					}
					var out [4]float32
					dot4(k, n, wrow, xs, xrb, side, &out)
					for i := 0; i < 4; i++ {
						xi := xs[i*xrb : (i+1)*xrb]
						want := refLaneDot(typ, n, wrow, xi)
						got := k.dot(n, wrow, xi)
						rowsOut := make([]float32, rows)
						k.dotRows(n, ws, wrb, rows, xi, side, i, rowsOut)
						for j, gs := range rowsOut {
							wj := ws[j*wrb : j*wrb+len(wrow)]
							if want := refLaneDot(typ, n, wj, xi); math.Float32bits(gs) != math.Float32bits(want) {
								t.Fatalf("%s %v n=%d kind=%d x row %d: dotRows w row %d %v, reference %v", name, typ, n, kind, i, j, gs, want)
							}
						}
						if math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%s %v n=%d kind=%d row %d: dot %v (%#x), reference %v (%#x)", name, typ, n, kind, i, got, math.Float32bits(got), want, math.Float32bits(want))
						}
						if math.Float32bits(out[i]) != math.Float32bits(want) {
							t.Fatalf("%s %v n=%d kind=%d row %d: dot4 %v, reference %v", name, typ, n, kind, i, out[i], want)
						}
					}
				}
			}
		}
	}
}

// randBlocks fills a row of typ with random bytes, its binary16 scales
// drawn from a sane range so that no block holds a NaN or an infinity.
func randBlocks(r interface{ Uint32() uint32 }, typ gguf.Type, row []byte) {
	for i := range row {
		row[i] = byte(r.Uint32())
	}
	bs := typ.Traits().TypeSize
	halves := 1 // d
	if typ == gguf.TypeQ4_1 || typ == gguf.TypeQ5_1 {
		halves = 2 // d, m
	}
	for b := 0; b+bs <= len(row); b += bs {
		for h := 0; h < halves; h++ {
			v := gguf.Float32ToHalf(float32(r.Uint32()%2000)/1000 - 1)
			row[b+2*h], row[b+2*h+1] = byte(v), byte(v>>8)
		}
	}
}

func rowSize(t gguf.Type, n int) int {
	rs, ok := t.RowSize(int64(n))
	if !ok {
		panic("rowSize")
	}
	return int(rs)
}

// forKernelSets runs f with the lane kernels (where the CPU has them) and
// with the plain-Go kernels, so that both stay tested on every machine.
func forKernelSets(t *testing.T, f func(t *testing.T)) {
	if len(laneKernels) > 0 {
		t.Run("lanes", f)
	}
	t.Run("plain", func(t *testing.T) {
		useLanes(false)
		defer useLanes(true)
		f(t)
	})
}

// dot4 is one row of w against four rows of x through k.tile4.
func dot4(k laneKernel, n int, w, x []byte, xrb int, side []float32, out *[4]float32) {
	k.tile4(n, w, len(w), 1, x, xrb, side, out[:], 1)
}

// TestLaneTile8 checks the eight-row tiles bit for bit against refLaneDot,
// x rows quantized from random floats and, for the extremes (-128, sums
// that need the full int32 correction), of random quant bytes.
func TestLaneTile8(t *testing.T) {
	r := newRand(t)
	tested := 0
	for typ, k := range laneKernels {
		tr := traits[typ]
		if k.tile8 == nil || tr.VecDotType == gguf.TypeQ8_K {
			continue // the K types' tiles: TestLaneTile8K
		}
		tested++
		q81 := tr.VecDotType == gguf.TypeQ8_1
		for _, n := range []int{32, 64, 576, 1536} {
			for kind := 0; kind < 8; kind++ {
				nb := n / qk
				xrb := rowSize(tr.VecDotType, n)
				xs := make([]byte, 8*xrb)
				xi := make([]byte, laneXiLen(nb, q81))
				side := make([]float32, laneSide8Len(nb, q81))
				for i := 0; i < 8; i++ {
					row := xs[i*xrb : (i+1)*xrb]
					tr.FromFloat(row, randRow(r, n, kind+i))
					if kind >= 5 {
						bs := xrb / nb
						for b := 0; b < nb; b++ {
							for j := bs - qk; j < bs; j++ {
								row[b*bs+j] = byte(r.Uint32())
							}
						}
					}
					laneInterleave8(xi, side, i, row, nb, q81, k.shift)
				}
				rows := 1 + r.IntN(5)
				wrb := rowSize(typ, n) + 2*r.IntN(3)
				ws := make([]byte, (rows-1)*wrb+rowSize(typ, n))
				for j := 0; j < rows; j++ {
					wrow := ws[j*wrb : j*wrb+rowSize(typ, n)]
					if kind < 4 {
						typ.Traits().Quantize(wrow, randRow(r, n, kind+j))
					} else {
						randBlocks(r, typ, wrow)
					}
				}
				dstride := rows + r.IntN(3)
				dst := make([]float32, 7*dstride+rows)
				k.tile8(n, ws, wrb, rows, xi, side, dst, dstride)
				for j := 0; j < rows; j++ {
					for i := 0; i < 8; i++ {
						want := refLaneDot(typ, n, ws[j*wrb:j*wrb+rowSize(typ, n)], xs[i*xrb:(i+1)*xrb])
						if got := dst[i*dstride+j]; math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%v n=%d kind=%d: tile8 w row %d x row %d: %v, reference %v", typ, n, kind, j, i, got, want)
						}
					}
				}
			}
		}
	}
	if tested == 0 {
		t.Skip("no eight-row tiles on this CPU (they need AVX512-VNNI and AVX512BW)")
	}
}
