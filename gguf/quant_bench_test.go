package gguf

import (
	"math/rand/v2"
	"testing"
)

// benchElems is the row length of the benchmarks: 64Ki values, 256 KiB of
// float32, small enough to stay in cache so the kernels are measured.
const benchElems = 1 << 16

// benchSource returns benchElems values of type t as bytes: quantized from
// normal values where t can be encoded, random bytes otherwise.
func benchSource(t Type, x []float32) []byte {
	tr := t.Traits()
	size, _ := t.RowSize(int64(len(x)))
	src := make([]byte, size)
	if tr.Quantize != nil {
		tr.Quantize(src, x)
		return src
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range src {
		src[i] = byte(r.Uint32())
	}
	return src
}

// reportGBs reports the rate of bytes per iteration as GB/s (1e9 bytes).
func reportGBs(b *testing.B, bytes, iters int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(bytes)*float64(iters)/s/1e9, "GB/s")
	}
}

// benchRow runs convert, which converts one benchmark row, as the
// sub-benchmark name; the rate counts the row's float32 bytes.
func benchRow(b *testing.B, name string, convert func()) {
	b.Run(name, func(b *testing.B) {
		b.SetBytes(4 * benchElems)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			convert()
			n++
		}
		reportGBs(b, 4*benchElems, n)
	})
}

// BenchmarkDequantize measures each decoder; the rate counts float32
// output bytes.
func BenchmarkDequantize(b *testing.B) {
	x := testInput(benchElems, 1)
	for _, typ := range Types() {
		tr := typ.Traits()
		if tr.Dequantize == nil {
			continue
		}
		src := benchSource(typ, x)
		dst := make([]float32, benchElems)
		tr.Dequantize(dst, src) // build any lookup table outside the timing
		benchRow(b, tr.Name, func() { tr.Dequantize(dst, src) })
	}
}

// BenchmarkQuantize measures each reference encoder; the rate counts
// float32 input bytes.
func BenchmarkQuantize(b *testing.B) {
	x := testInput(benchElems, 1)
	for _, typ := range Types() {
		tr := typ.Traits()
		if tr.Quantize == nil {
			continue
		}
		size, _ := typ.RowSize(benchElems)
		dst := make([]byte, size)
		benchRow(b, tr.Name, func() { tr.Quantize(dst, x) })
	}
}
