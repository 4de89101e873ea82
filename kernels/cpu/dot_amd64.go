package cpu

import (
	"golang.org/x/sys/cpu"

	"github.com/openweights/owl/gguf"
)

//go:generate go run gen_dot_amd64.go gen_kasm_amd64.go

// The assembly kernels of dot_amd64.s: nb blocks of one row of w with one
// row of x, or with four rows of x xrb bytes apart whose d_x (and s_x)
// come as floats from side (laneSide).

//go:noescape
func dotQ8_0AVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ8_0AVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, side, dst *float32, dstride int)

//go:noescape
func dotQ8_0VNNI(nb int, w, x *byte) float32

//go:noescape
func dotQ8_0VNNIx4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, side, dst *float32, dstride int)

//go:noescape
func dotQ4_0AVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ4_0AVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, side, dst *float32, dstride int)

//go:noescape
func dotQ4_0VNNI(nb int, w, x *byte) float32

//go:noescape
func dotQ4_0VNNIx4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, side, dst *float32, dstride int)

//go:noescape
func dotQ4_1AVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ4_1AVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, side, dst *float32, dstride int)

//go:noescape
func dotQ4_1VNNI(nb int, w, x *byte) float32

//go:noescape
func dotQ4_1VNNIx4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, side, dst *float32, dstride int)

//go:noescape
func dotQ5_0AVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ5_0AVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, side, dst *float32, dstride int)

//go:noescape
func dotQ5_0VNNI(nb int, w, x *byte) float32

//go:noescape
func dotQ5_0VNNIx4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, side, dst *float32, dstride int)

//go:noescape
func dotQ5_1AVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ5_1AVX2x4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, side, dst *float32, dstride int)

//go:noescape
func dotQ5_1VNNI(nb int, w, x *byte) float32

//go:noescape
func dotQ5_1VNNIx4t(nb int, w *byte, wrb, rows int, x *byte, xrb int, side, dst *float32, dstride int)

//go:noescape
func dotQ8_0VNNIx8z(nb int, w *byte, wrb, rows int, xi *byte, side, dst *float32, dstride int)

//go:noescape
func dotQ4_0VNNIx8z(nb int, w *byte, wrb, rows int, xi *byte, side, dst *float32, dstride int)

//go:noescape
func dotQ4_1VNNIx8z(nb int, w *byte, wrb, rows int, xi *byte, side, dst *float32, dstride int)

//go:noescape
func dotQ5_0VNNIx8z(nb int, w *byte, wrb, rows int, xi *byte, side, dst *float32, dstride int)

//go:noescape
func dotQ5_1VNNIx8z(nb int, w *byte, wrb, rows int, xi *byte, side, dst *float32, dstride int)

//go:noescape
func dotQ8_0AVX2r(nb int, w *byte, wrb, rows int, x *byte, side, corr, dst *float32)

//go:noescape
func dotQ8_0VNNIr(nb int, w *byte, wrb, rows int, x *byte, side, corr, dst *float32)

//go:noescape
func dotQ4_0AVX2r(nb int, w *byte, wrb, rows int, x *byte, side, corr, dst *float32)

//go:noescape
func dotQ4_0VNNIr(nb int, w *byte, wrb, rows int, x *byte, side, corr, dst *float32)

//go:noescape
func dotQ4_1AVX2r(nb int, w *byte, wrb, rows int, x *byte, side, corr, dst *float32)

//go:noescape
func dotQ4_1VNNIr(nb int, w *byte, wrb, rows int, x *byte, side, corr, dst *float32)

//go:noescape
func dotQ5_0AVX2r(nb int, w *byte, wrb, rows int, x *byte, side, corr, dst *float32)

//go:noescape
func dotQ5_0VNNIr(nb int, w *byte, wrb, rows int, x *byte, side, corr, dst *float32)

//go:noescape
func dotQ5_1AVX2r(nb int, w *byte, wrb, rows int, x *byte, side, corr, dst *float32)

//go:noescape
func dotQ5_1VNNIr(nb int, w *byte, wrb, rows int, x *byte, side, corr, dst *float32)

// hasAVX2 says whether the CPU runs the assembly kernels: AVX2 with the
// OS saving YMM state, FMA and F16C (every AVX2 CPU from Intel Haswell
// and AMD Excavator on). hasVNNI adds AVX512-VNNI on YMM and ZMM registers
// with AVX512BW's byte forms and mask registers (AVX512VL): Intel Ice Lake
// and later servers, AMD Zen 4 and later.
var (
	hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
	hasVNNI = hasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI
)

type (
	asmDot func(nb int, w, x *byte) float32
	// asmRows is rows of w against one row of x whose block scales are
	// side floats.
	asmRows func(nb int, w *byte, wrb, rows int, x *byte, side, corr, dst *float32)
	asmTile func(nb int, w *byte, wrb, rows int, x *byte, xrb int, side, dst *float32, dstride int)
	// asmTile8 is a tile of rows of w against eight rows of x interleaved.
	asmTile8 func(nb int, w *byte, wrb, rows int, xi *byte, side, dst *float32, dstride int)
	// asmTileK is asmTile for the kernels that read no side floats.
	asmTileK func(nb int, w *byte, wrb, rows int, x *byte, xrb int, dst *float32, dstride int)
)

// noSide adapts a kernel without side floats to asmTile.
func noSide(t asmTileK) asmTile {
	return func(nb int, w *byte, wrb, rows int, x *byte, xrb int, _, dst *float32, dstride int) {
		t(nb, w, wrb, rows, x, xrb, dst, dstride)
	}
}

// asmKernel wraps a type's assembly kernels as a laneKernel, checking the
// slice bounds the assembly cannot: blocks of block values, wsize bytes in
// w and xsize in x. rows1, the kernel of rows of w against one row of x
// reading side floats, is nil for the kernels that read none; shift is the
// kernels' correction shift (laneKernel.shift).
func asmKernel(block, wsize, xsize int, one asmDot, rows1 asmRows, tile asmTile, shift int) laneKernel {
	side := rows1 != nil
	sideLen := func(nb int) int { return laneSideLen(nb, xsize == sizeQ8_1, shift) }
	k := laneKernel{
		dot: func(n int, w, x []byte) float32 {
			nb := n / block
			if nb == 0 {
				return 0
			}
			_, _ = w[nb*wsize-1], x[nb*xsize-1]
			return one(nb, &w[0], &x[0])
		},
		tile4: func(n int, w []byte, wrb, rows int, x []byte, xrb int, sf, dst []float32, dstride int) {
			nb := n / block
			if rows <= 0 {
				return
			}
			if nb == 0 || xrb < nb*xsize || wrb < nb*wsize || dstride < rows {
				panic("cpu: tile4: empty or overlapping rows")
			}
			_, _ = w[(rows-1)*wrb+nb*wsize-1], x[3*xrb+nb*xsize-1]
			_ = dst[3*dstride+rows-1]
			var sp *float32
			if side {
				_ = sf[sideLen(nb)-1]
				sp = &sf[0]
			}
			tile(nb, &w[0], wrb, rows, &x[0], xrb, sp, &dst[0], 4*dstride)
		},
		shift: shift,
	}
	if side {
		k.dotRows = func(n int, w []byte, wrb, rows int, x []byte, sf []float32, lane int, dst []float32) {
			nb := n / block
			if rows <= 0 {
				return
			}
			if nb == 0 || wrb < nb*wsize || lane < 0 || lane > 3 {
				panic("cpu: dotRows: empty or overlapping rows")
			}
			_, _, _ = w[(rows-1)*wrb+nb*wsize-1], x[nb*xsize-1], sf[sideLen(nb)-1]
			_ = dst[rows-1]
			corr := &sf[0] // read only with a shift
			if shift > 0 {
				corr = &sf[4*nb+8*lane]
			}
			rows1(nb, &w[0], wrb, rows, &x[0], &sf[lane], corr, &dst[0])
		}
	}
	return k
}

// asmKernel8 wraps an eight-row tile kernel for blocks of block values,
// wsize bytes in w, its activations in layout, checking the bounds the
// assembly cannot.
func asmKernel8(block, wsize int, layout tile8Layout, tile asmTile8) func(n int, w []byte, wrb, rows int, xi []byte, side, dst []float32, dstride int) {
	return func(n int, w []byte, wrb, rows int, xi []byte, sf, dst []float32, dstride int) {
		nb := n / block
		if rows <= 0 {
			return
		}
		if nb == 0 || wrb < nb*wsize || dstride < rows {
			panic("cpu: tile8: empty or overlapping rows")
		}
		_, _ = w[(rows-1)*wrb+nb*wsize-1], xi[layout.xiLen(n)-1]
		_, _ = sf[layout.sideLen(n)-1], dst[7*dstride+rows-1]
		tile(nb, &w[0], wrb, rows, &xi[0], &sf[0], &dst[0], 4*dstride)
	}
}

// withTile8 gives k its eight-row tile (blocks of block values, wsize bytes
// in w, the activations in layout) where the CPU runs it: AVX512-VNNI.
func withTile8(k laneKernel, block, wsize int, layout tile8Layout, tile asmTile8) laneKernel {
	if hasVNNI {
		k.layout8, k.tile8 = layout, asmKernel8(block, wsize, layout, tile)
	}
	return k
}

func init() {
	if !hasAVX2 {
		return
	}
	type kernels struct {
		t            gguf.Type
		wsize, xsize int
		one          [2]asmDot
		rows1        [2]asmRows
		four         [2]asmTile
		eight        asmTile8
		shift        int // the VNNI kernels' correction shift (signed types)
	}
	isa := 0
	if hasVNNI {
		isa = 1
	}
	for _, k := range []kernels{
		{gguf.TypeQ8_0, sizeQ8_0, sizeQ8_0, [2]asmDot{dotQ8_0AVX2, dotQ8_0VNNI}, [2]asmRows{dotQ8_0AVX2r, dotQ8_0VNNIr},
			[2]asmTile{dotQ8_0AVX2x4t, dotQ8_0VNNIx4t}, dotQ8_0VNNIx8z, 7},
		{gguf.TypeQ4_0, sizeQ4_0, sizeQ8_0, [2]asmDot{dotQ4_0AVX2, dotQ4_0VNNI}, [2]asmRows{dotQ4_0AVX2r, dotQ4_0VNNIr},
			[2]asmTile{dotQ4_0AVX2x4t, dotQ4_0VNNIx4t}, dotQ4_0VNNIx8z, 3},
		{gguf.TypeQ4_1, sizeQ4_1, sizeQ8_1, [2]asmDot{dotQ4_1AVX2, dotQ4_1VNNI}, [2]asmRows{dotQ4_1AVX2r, dotQ4_1VNNIr},
			[2]asmTile{dotQ4_1AVX2x4t, dotQ4_1VNNIx4t}, dotQ4_1VNNIx8z, 0},
		{gguf.TypeQ5_0, sizeQ5_0, sizeQ8_0, [2]asmDot{dotQ5_0AVX2, dotQ5_0VNNI}, [2]asmRows{dotQ5_0AVX2r, dotQ5_0VNNIr},
			[2]asmTile{dotQ5_0AVX2x4t, dotQ5_0VNNIx4t}, dotQ5_0VNNIx8z, 4},
		{gguf.TypeQ5_1, sizeQ5_1, sizeQ8_1, [2]asmDot{dotQ5_1AVX2, dotQ5_1VNNI}, [2]asmRows{dotQ5_1AVX2r, dotQ5_1VNNIr},
			[2]asmTile{dotQ5_1AVX2x4t, dotQ5_1VNNIx4t}, dotQ5_1VNNIx8z, 0},
	} {
		shift := 0
		if hasVNNI {
			shift = k.shift
		}
		lk := asmKernel(qk, k.wsize, k.xsize, k.one[isa], k.rows1[isa], k.four[isa], shift)
		registerLanes(k.t, withTile8(lk, qk, k.wsize, legacyLayout8(k.xsize == sizeQ8_1, shift), k.eight))
		avx2Kernels[k.t] = asmKernel(qk, k.wsize, k.xsize, k.one[0], k.rows1[0], k.four[0], 0)
	}
}
