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
	// RopeScaling is rope.scaling.type: "linear" (also when absent), "none",
	// "yarn" or "longrope".
	RopeScaling string
	// YaRN extension (ggml_rope_ext's ext_factor, attn_factor and n_ctx_orig):
	// ExtFactor is 1 under YaRN scaling, else 0; AttnFactor multiplies the
	// rotation (YaRN's magnitude correction times rope.scaling.attn_factor).
	RopeExtFactor  float32
	RopeAttnFactor float32
	RopeOrigCtx    int // rope.scaling.original_context_length, else CtxTrain

	// Interleaved sliding-window attention (Gemma 3): the window, which
	// layers use it (nil: none) and the rope base of those layers.
	Window      int
	SWALayers   []bool
	RopeBaseSWA float32

	// Pooling is ARCH.pooling_type: how an embedding model pools its
	// tokens' hidden states (PoolingNone when the key is absent, as for
	// the decoder models made to generate).
	Pooling Pooling
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
	if h.HeadDim <= 0 || h.FF <= 0 {
		return nil, fmt.Errorf("engine: implausible model shape: head size %d, feed-forward size %d", h.HeadDim, h.FF)
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
	if h.RopeDims <= 0 || h.RopeDims > h.HeadDim || h.RopeDims%2 != 0 {
		return nil, fmt.Errorf("engine: %s = %d does not fit head size %d", f.ArchKey("rope.dimension_count"), h.RopeDims, h.HeadDim)
	}
	if h.RopeBase, err = m.floatOr("rope.freq_base", 10000); err != nil {
		return nil, err
	}
	if err := readRopeScaling(f, h); err != nil {
		return nil, err
	}
	pool, err := m.intOr("pooling_type", int(PoolingNone))
	if err != nil {
		return nil, err
	}
	if h.Pooling = Pooling(pool); h.Pooling < PoolingNone || h.Pooling > PoolingRank {
		return nil, fmt.Errorf("engine: %s = %d: want 0 (none), 1 (mean), 2 (cls), 3 (last) or 4 (rank)", f.ArchKey("pooling_type"), pool)
	}
	if math.IsNaN(float64(h.RopeBase)) || h.RopeBase <= 0 {
		return nil, fmt.Errorf("engine: %s = %g is not a valid base", f.ArchKey("rope.freq_base"), h.RopeBase)
	}
	return h, nil
}

// readRopeScaling reads rope.scaling.* as llama.cpp's hparams and context
// setup do: a linear factor divides positions; YaRN adds its ramp (ext
// factor 1) and a magnitude correction that ggml's rope_yarn multiplies
// back; LongRoPE (Phi-3) scales through per-pair factor tensors, which the
// architecture loads; rope.scaling.attn_factor multiplies the rotation.
func readRopeScaling(f *gguf.File, h *HParams) error {
	m := meta{f}
	typeKey := f.ArchKey("rope.scaling.type")
	h.RopeScaling = "linear"
	if s, err := f.String(typeKey); err == nil {
		h.RopeScaling = s
	} else if !errors.Is(err, gguf.ErrKeyNotFound) {
		return err
	}
	factor, err := m.floatOr("rope.scaling.factor", 0)
	if err != nil {
		return err
	}
	if math.IsNaN(float64(factor)) || factor < 0 {
		return fmt.Errorf("engine: %s = %g is not a valid factor", f.ArchKey("rope.scaling.factor"), factor)
	}
	h.RopeScale = 1
	if factor != 0 {
		h.RopeScale = 1 / factor
	}
	if h.RopeOrigCtx, err = m.intOr("rope.scaling.original_context_length", h.CtxTrain); err != nil {
		return err
	}
	if h.RopeOrigCtx <= 0 {
		return fmt.Errorf("engine: %s = %d", f.ArchKey("rope.scaling.original_context_length"), h.RopeOrigCtx)
	}
	h.RopeAttnFactor = 1
	switch h.RopeScaling {
	case "linear", "longrope":
	case "none":
		h.RopeScale = 1
	case "yarn":
		// llama_context: attn_factor = mscale(f) / (1 + 0.1·ln f), with
		// f = 1/freq_scale, in float32.
		h.RopeExtFactor = 1
		lnf := float32(math.Log(float64(1 / h.RopeScale)))
		if lnf > 0 {
			h.RopeAttnFactor = float32(0.1*lnf) + 1
		}
		h.RopeAttnFactor *= 1 / (1 + float32(0.1*lnf))
	default:
		return fmt.Errorf("engine: %s %q is not supported (linear, none, yarn, longrope)", typeKey, h.RopeScaling)
	}
	attn, err := m.floatOr("rope.scaling.attn_factor", 1)
	if err != nil {
		return err
	}
	if math.IsNaN(float64(attn)) || attn <= 0 {
		return fmt.Errorf("engine: %s = %g is not a valid factor", f.ArchKey("rope.scaling.attn_factor"), attn)
	}
	h.RopeAttnFactor *= attn
	return nil
}

// readSlidingWindow reads interleaved sliding-window attention as llama.cpp
// loads it for Gemma 3: attention.sliding_window (absent or 0: none), then
// attention.sliding_window_pattern, either one bool per layer or a period n
// (every n-th layer global, the others windowed; 0: all windowed; period
// when absent), and rope.freq_base_swa (10000 when absent) for the windowed
// layers.
func readSlidingWindow(f *gguf.File, h *HParams, period int) error {
	m := meta{f}
	var err error
	if h.Window, err = m.intOr("attention.sliding_window", 0); err != nil || h.Window == 0 {
		return err
	}
	patternKey := f.ArchKey("attention.sliding_window_pattern")
	h.SWALayers = make([]bool, h.Layers)
	if v, ok := f.Lookup(patternKey); ok && v.Type == gguf.ValueArray {
		flags, ok := v.Data.([]bool)
		if !ok || len(flags) != h.Layers {
			return fmt.Errorf("engine: %s: want %d bools (one per layer) or a period", patternKey, h.Layers)
		}
		copy(h.SWALayers, flags)
	} else {
		if period, err = m.intOr("attention.sliding_window_pattern", period); err != nil {
			return err
		}
		for i := range h.SWALayers {
			h.SWALayers[i] = period == 0 || i%period < period-1
		}
	}
	if h.RopeBaseSWA, err = m.floatOr("rope.freq_base_swa", 10000); err != nil {
		return err
	}
	if math.IsNaN(float64(h.RopeBaseSWA)) || h.RopeBaseSWA <= 0 {
		return fmt.Errorf("engine: %s = %g is not a valid base", f.ArchKey("rope.freq_base_swa"), h.RopeBaseSWA)
	}
	return nil
}
