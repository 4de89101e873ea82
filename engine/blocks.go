package engine

import (
	"math"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// activations are a forward pass's scratch tensors, allocated for the
// largest batch seen and reused, so decoding allocates nothing.
type activations struct {
	be    kernels.Backend
	list  []*kernels.Tensor
	alloc []int   // rows allocated for each tensor
	want  []int32 // rows whose logits are wanted
}

// tensor returns scratch tensor i (each call site uses its own index) with
// n rows of cols F32 elements.
func (a *activations) tensor(i, n, cols int) *kernels.Tensor {
	for len(a.list) <= i {
		a.list = append(a.list, nil)
		a.alloc = append(a.alloc, 0)
	}
	t := a.list[i]
	if t == nil || t.Shape[1] != cols || a.alloc[i] < n {
		t = a.be.NewTensor(gguf.TypeF32, n, cols)
		a.list[i], a.alloc[i] = t, n
	}
	t.Shape[0] = n
	return t
}

// ropeFor returns rope parameters for heads of hp's shape.
func ropeFor(hp *HParams, heads int, base float32) kernels.RopeParams {
	return kernels.RopeParams{
		Heads: heads, HeadDim: hp.HeadDim, Dims: hp.RopeDims, NeoX: hp.RopeNeoX,
		Base: base, FreqScale: hp.RopeScale, AttnFactor: 1, BetaFast: 32, BetaSlow: 1,
		OrigCtx: hp.CtxTrain,
	}
}

func attentionFor(hp *HParams, window int) kernels.AttentionParams {
	return kernels.AttentionParams{
		Heads: hp.Heads, KVHeads: hp.KVHeads, HeadDim: hp.HeadDim,
		Scale: float32(1 / math.Sqrt(float64(hp.HeadDim))), Window: window,
	}
}

// output applies the final norm and the output projection to the rows of
// x whose logits are wanted, and copies the logits to the host.
func output(be kernels.Backend, a *activations, x *kernels.Tensor, b *kernels.Batch, norm, proj *kernels.Tensor, eps float32, logits []float32) error {
	a.want = logitRows(a.want, b)
	k := len(a.want)
	if k == 0 {
		return nil
	}
	rows := a.tensor(bufOutRows, k, x.Cols())
	be.GetRows(rows, x, a.want)
	be.RMSNorm(rows, rows, norm, eps)
	out := a.tensor(bufLogits, k, proj.Rows())
	be.MatMul(out, proj, rows)
	return be.ToHost(logits[:k*proj.Rows()], out)
}

// Buffer indices shared by the architectures.
const (
	bufX = iota
	bufH
	bufQ
	bufK
	bufV
	bufAtt
	bufGate
	bufUp
	bufOutRows
	bufLogits
	bufCount
)
