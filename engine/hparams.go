package engine

import (
	"errors"
	"fmt"
	"math"

	"github.com/openweights/owl/gguf"
)

// HParams are the hyperparameters an architecture reads from the file.
type HParams struct {
	Arch     string
	Vocab    int
	Embd     int
	Layers   int
	FF       int
	Heads    int
	KVHeads  int
	HeadDim  int // key/query size per head
	HeadDimV int // value size per head
	CtxTrain int // context length the model was trained with
	NormEps  float32

	RopeDims  int
	RopeBase  float32
	RopeScale float32 // frequency scale: 1/rope.scaling.factor for linear scaling
	RopeNeoX  bool

	// Sliding-window attention (Gemma 3): window size and which layers use it.
	Window    int
	SWALayers []bool
	RopeBaseSWA float32
}

// KVDim is the width of one token's keys (and values) in the cache.
func (h *HParams) KVDim() int { return h.KVHeads * h.HeadDim }

// meta reads typed metadata with errors that name the key.
type meta struct{ f *gguf.File }

func (m meta) int(suffix string) (int, error) {
	v, err := m.f.Uint32(m.f.ArchKey(suffix))
	if err != nil {
		return 0, err
	}
	return int(v), nil
}

// intOr reads an optional integer key, giving def when it is absent.
func (m meta) intOr(suffix string, def int) (int, error) {
	v, err := m.int(suffix)
	if errors.Is(err, gguf.ErrKeyNotFound) {
		return def, nil
	}
	return v, err
}

func (m meta) floatOr(suffix string, def float32) (float32, error) {
	v, err := m.f.Float32(m.f.ArchKey(suffix))
	if errors.Is(err, gguf.ErrKeyNotFound) {
		return def, nil
	}
	return v, err
}

// readHParams reads the keys every supported architecture shares. The vocab
// size comes from the token embedding, which is what the weights use.
func readHParams(f *gguf.File) (*HParams, error) {
	m := meta{f}
	h := &HParams{Arch: f.Arch()}
	var err error
	for _, r := range []struct {
		dst    *int
		suffix string
	}{
		{&h.Embd, "embedding_length"},
		{&h.Layers, "block_count"},
		{&h.FF, "feed_forward_length"},
		{&h.Heads, "attention.head_count"},
	} {
		if *r.dst, err = m.int(r.suffix); err != nil {
			return nil, err
		}
	}
	if h.CtxTrain, err = m.intOr("context_length", 4096); err != nil {
		return nil, err
	}
	if h.KVHeads, err = m.intOr("attention.head_count_kv", h.Heads); err != nil {
		return nil, err
	}
	if h.Heads <= 0 || h.KVHeads <= 0 || h.Heads%h.KVHeads != 0 {
		return nil, fmt.Errorf("engine: %s: %d heads cannot share %d KV heads", f.ArchKey("attention.head_count_kv"), h.Heads, h.KVHeads)
	}
	if h.Embd <= 0 || h.Layers <= 0 || h.Layers > 1<<12 {
		return nil, fmt.Errorf("engine: implausible model shape: embedding %d, %d layers", h.Embd, h.Layers)
	}
	if h.HeadDim, err = m.intOr("attention.key_length", h.Embd/h.Heads); err != nil {
		return nil, err
	}
	if h.HeadDimV, err = m.intOr("attention.value_length", h.HeadDim); err != nil {
		return nil, err
	}
	if h.HeadDimV != h.HeadDim {
		return nil, fmt.Errorf("engine: %s %d differs from the key length %d: not supported", f.ArchKey("attention.value_length"), h.HeadDimV, h.HeadDim)
	}
	if h.NormEps, err = m.floatOr("attention.layer_norm_rms_epsilon", 1e-5); err != nil {
		return nil, err
	}
	if h.RopeDims, err = m.intOr("rope.dimension_count", h.HeadDim); err != nil {
		return nil, err
	}
	if h.RopeDims > h.HeadDim || h.RopeDims%2 != 0 {
		return nil, fmt.Errorf("engine: %s = %d does not fit head size %d", f.ArchKey("rope.dimension_count"), h.RopeDims, h.HeadDim)
	}
	if h.RopeBase, err = m.floatOr("rope.freq_base", 10000); err != nil {
		return nil, err
	}
	h.RopeScale = 1
	scaling, _ := f.String(f.ArchKey("rope.scaling.type"))
	factor, err := m.floatOr("rope.scaling.factor", 0)
	if err != nil {
		return nil, err
	}
	if scaling == "" || scaling == "linear" {
		if factor > 0 {
			h.RopeScale = 1 / factor
		}
	} else if scaling != "none" {
		return nil, fmt.Errorf("engine: %s %q is not supported", f.ArchKey("rope.scaling.type"), scaling)
	}
	if math.IsNaN(float64(h.RopeBase)) || h.RopeBase <= 0 {
		return nil, fmt.Errorf("engine: %s = %g is not a valid base", f.ArchKey("rope.freq_base"), h.RopeBase)
	}
	return h, nil
}
