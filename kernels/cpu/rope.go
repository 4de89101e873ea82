package cpu

import (
	"fmt"
	"math"
	"slices"

	"github.com/openweights/owl/kernels"
)

// Rotary position embedding as ggml_rope_ext computes it on the CPU: per
// token a cache of (cos, sin) pairs whose angle starts at the position and
// is multiplied by theta_scale = base^(-2/n_dims) pair after pair in
// float32, with YaRN's ramp between interpolated and extrapolated angles.

func logf(x float32) float32 { return float32(math.Log(float64(x))) }

// yarnCorrDim is ggml_rope_yarn_corr_dim: the dimension at which n_rot
// rotations fit in the original context.
func yarnCorrDim(nDims, nCtxOrig int, nRot, base float32) float32 {
	return float32(nDims) * logf(float32(nCtxOrig)/(nRot*2*float32(math.Pi))) / (2 * logf(base))
}

// yarnCorrDims is ggml_rope_yarn_corr_dims.
func yarnCorrDims(nDims, nCtxOrig int, base, betaFast, betaSlow float32) [2]float32 {
	start := float32(math.Floor(float64(yarnCorrDim(nDims, nCtxOrig, betaFast, base))))
	end := float32(math.Ceil(float64(yarnCorrDim(nDims, nCtxOrig, betaSlow, base))))
	return [2]float32{cmax(0, start), cmin(float32(nDims-1), end)}
}

// cmax and cmin are C's MAX and MIN macros.
func cmax(a, b float32) float32 {
	if a > b {
		return a
	}
	return b
}

func cmin(a, b float32) float32 {
	if a < b {
		return a
	}
	return b
}

func yarnRamp(low, high float32, i0 int) float32 {
	y := (float32(i0/2) - low) / cmax(0.001, high-low)
	return 1 - cmin(1, cmax(0, y))
}

// ropeYarn is ggml's rope_yarn: the cos and sin of pair i0's angle.
func ropeYarn(thetaExtrap, freqScale float32, corr [2]float32, i0 int, extFactor, mscale float32) (c, s float32) {
	thetaInterp := freqScale * thetaExtrap
	theta := thetaInterp
	if extFactor != 0 {
		rampMix := yarnRamp(corr[0], corr[1], i0) * extFactor
		theta = float32(thetaInterp*(1-rampMix)) + float32(thetaExtrap*rampMix)
		mscale *= 1 + float32(0.1*logf(1/freqScale))
	}
	return cosf(theta) * mscale, sinf(theta) * mscale
}

type ropeTask struct {
	x          []float32
	pos        []int32
	heads, hd  int
	dims       int
	neox       bool
	thetaScale float32
	freqScale  float32
	factors    []float32
	corr       [2]float32
	extFactor  float32
	attnFactor float32
	// tab holds each position's angles, 2·n floats a row (ropeAngles);
	// cached says they are there already.
	tab    []float32
	n      int
	cached bool
}

// ropeKey is what a rope's angles depend on besides the positions and the
// frequency factors.
type ropeKey struct {
	dims                                         int
	neox                                         bool
	thetaScale, freqScale, extFactor, attnFactor float32
	corr                                         [2]float32
}

// ropeAngles keeps the last Rope call's angles: a forward pass ropes q and
// k of every layer at the same positions, so all but the first call find
// them here.
type ropeAngles struct {
	key     ropeKey
	pos     []int32
	factors []float32
	tab     []float32
	valid   bool
}

func (t *ropeTask) do(_, lo, hi int) {
	// The angles' cos and sin, laid out for ropeRotate: per rotated pair
	// (neox), or twice per pair, once for each of its elements.
	per := 1
	if !t.neox {
		per = 2
	}
	n := t.n
	for i := lo; i < hi; i++ {
		cs, sn := t.tab[2*n*i:][:n], t.tab[2*n*i+n:][:n]
		if !t.cached {
			theta := float32(t.pos[i])
			for i0 := 0; i0 < t.dims; i0 += 2 {
				ff := float32(1)
				if t.factors != nil {
					ff = t.factors[i0/2]
				}
				c, s := ropeYarn(theta/ff, t.freqScale, t.corr, i0, t.extFactor, t.attnFactor)
				k := i0 / 2 * per
				cs[k], sn[k] = c, s
				if per == 2 {
					cs[k+1], sn[k+1] = c, s
				}
				theta *= t.thetaScale
			}
		}
		for h := 0; h < t.heads; h++ {
			ropeRotate(t.x[(i*t.heads+h)*t.hd:][:t.dims], cs, sn, t.neox)
		}
	}
}

// ropeRotateRef rotates pairs from.. of row: (row[k], row[k+half]) by angle
// k for neox, else (row[2k], row[2k+1]); cs and sn hold the angles as
// ropeTask.do lays them out.
func ropeRotateRef(row, cs, sn []float32, neox bool, from int) {
	half := len(row) / 2
	for k := from; k < half; k++ {
		a, b, j := 2*k, 2*k+1, 2*k
		if neox {
			a, b, j = k, k+half, k
		}
		c, s := cs[j], sn[j]
		x0, x1 := row[a], row[b]
		// ggml's x0·cos − x1·sin and x0·sin + x1·cos as GCC compiles
		// them for x86 with FMA (ggml builds as GNU C++, which
		// contracts): the first product of each fused.
		row[a] = fma32(x0, c, -float32(x1*s))
		row[b] = fma32(x0, s, float32(x1*c))
	}
}

// Rope rotates x [n, Heads·HeadDim] in place; pos[i] is row i's position.
// A zero FreqScale or AttnFactor means 1.
func (b *Backend) Rope(x *kernels.Tensor, pos []int32, p kernels.RopeParams) {
	b.lock()
	defer b.mu.Unlock()
	xs := f32Of(x, "Rope", "x")
	if p.Heads <= 0 || p.HeadDim <= 0 || p.Dims <= 0 || p.Dims > p.HeadDim || p.Dims%2 != 0 {
		panic(fmt.Sprintf("cpu: Rope: heads %d, head size %d, rotated dims %d", p.Heads, p.HeadDim, p.Dims))
	}
	if len(xs) != len(pos)*p.Heads*p.HeadDim {
		panic(fmt.Sprintf("cpu: Rope: x %v for %d positions of %d×%d", x, len(pos), p.Heads, p.HeadDim))
	}
	if p.FreqFactors != nil && len(p.FreqFactors) < p.Dims/2 {
		panic(fmt.Sprintf("cpu: Rope: %d frequency factors for %d dims", len(p.FreqFactors), p.Dims))
	}
	t := &b.rope
	*t = ropeTask{
		x: xs, pos: pos, heads: p.Heads, hd: p.HeadDim, dims: p.Dims, neox: p.NeoX,
		thetaScale: float32(math.Pow(float64(p.Base), float64(float32(-2)/float32(p.Dims)))),
		freqScale:  p.FreqScale, factors: p.FreqFactors, extFactor: p.ExtFactor, attnFactor: p.AttnFactor,
	}
	if t.freqScale == 0 {
		t.freqScale = 1
	}
	if t.attnFactor == 0 {
		t.attnFactor = 1
	}
	if t.extFactor != 0 {
		t.corr = yarnCorrDims(p.Dims, p.OrigCtx, p.Base, p.BetaFast, p.BetaSlow)
	}
	t.n = p.Dims / 2
	if !t.neox {
		t.n = p.Dims
	}
	a := &b.angles
	key := ropeKey{t.dims, t.neox, t.thetaScale, t.freqScale, t.extFactor, t.attnFactor, t.corr}
	t.cached = a.valid && a.key == key && slices.Equal(a.pos, pos) && slices.Equal(a.factors, p.FreqFactors)
	if !t.cached {
		a.valid = false // until the task has written them
		a.key, a.pos, a.factors = key, append(a.pos[:0], pos...), append(a.factors[:0], p.FreqFactors...)
		if need := 2 * t.n * len(pos); len(a.tab) < need {
			a.tab = make([]float32, need)
		}
	}
	t.tab = a.tab
	b.pool.run(t, len(pos), grainFor(p.Heads*p.HeadDim))
	a.valid = true
	*t = ropeTask{}
}
