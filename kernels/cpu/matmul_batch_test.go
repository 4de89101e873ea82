package cpu

import (
	"math"
	"testing"

	"github.com/openweights/owl/gguf"
)

// TestMatMulBatchedExtremes drives the packed three-row integer sums to
// their largest magnitudes (Q8_0 weights of −128 and 127 against
// activations quantized to ±127) and checks every output against VecDot.
func TestMatMulBatchedExtremes(t *testing.T) {
	forKernelSets(t, func(t *testing.T) {
		b := New(2)
		defer b.Close()
		const rows, cols, n = 6, 256, 7
		var data []byte
		for r := 0; r < rows; r++ {
			for blk := 0; blk < cols/qk; blk++ {
				data = append(data, 0x00, 0x3C) // d = 1
				for j := 0; j < qk; j++ {
					q := byte(0x80) // −128
					if r%2 == 1 && j%3 == 0 {
						q = 0x7F
					}
					data = append(data, q)
				}
			}
		}
		w, err := b.Load(gguf.TypeQ8_0, []int{rows, cols}, data)
		if err != nil {
			t.Fatal(err)
		}
		xf := make([]float32, n*cols)
		for i := range xf {
			switch row := i / cols; row % 3 {
			case 0:
				xf[i] = -1
			case 1:
				xf[i] = 1
			default:
				xf[i] = float32(1 - 2*(i%2))
			}
		}
		x := tensorOf(b, xf, n, cols)
		dst := b.NewTensor(gguf.TypeF32, n, rows)
		b.MatMul(dst, w, x)
		got := values(dst)
		tr := traits[gguf.TypeQ8_0]
		xq := make([]byte, cols/qk*sizeQ8_0)
		for i := 0; i < n; i++ {
			tr.FromFloat(xq, xf[i*cols:(i+1)*cols])
			for r := 0; r < rows; r++ {
				want := tr.VecDot(cols, data[r*w.RowBytes():(r+1)*w.RowBytes()], xq)
				if math.Float32bits(got[i*rows+r]) != math.Float32bits(want) {
					t.Errorf("dst[%d,%d] = %g, VecDot gives %g", i, r, got[i*rows+r], want)
				}
			}
		}
	})
}

// TestUnpack3 checks the lane split at the lanes' limits.
func TestUnpack3(t *testing.T) {
	const lim = 1 << 19
	vals := []int64{0, 1, -1, lim, -lim, lim - 1, -lim + 1, 12345, -54321}
	for _, a := range vals {
		for _, c := range vals {
			for _, d := range vals {
				s := uint64(a) + uint64(c)<<21 + uint64(d)<<42
				x, y, z := unpack3(s)
				if int64(x) != a || int64(y) != c || int64(z) != d {
					t.Fatalf("unpack3(%d, %d, %d) = %d, %d, %d", a, c, d, x, y, z)
				}
			}
		}
	}
}
