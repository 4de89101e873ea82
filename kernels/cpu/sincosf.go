package cpu

import "math"

// sinf and cosf compute float32 sine and cosine as glibc's sinf/cosf do
// (the algorithm of ARM's optimized routines, glibc 2.28 and later), which
// llama.cpp's rope calls on Linux: the argument reduced modulo π/2 in
// double (a multiply-subtract below 120, 4/π to 192 bits above), then
// short polynomials in double, rounded to float32 once. Their results
// are within 0.56 ulp but not always correctly rounded: for about 1% of a
// rope's angles they differ from float32(math.Cos(x)) in the last bit,
// which is enough to move a small model's logits.
//
// Products are converted explicitly so that no compiler fuses them into
// FMAs: the same bits on every architecture (glibc's FMA build of these
// functions gives the same results on all angles tested).

// sincosPoly holds one polynomial set; the second negates the cosine's, for
// the quadrants where cos is -cos of the reduced angle.
type sincosPoly struct {
	sign               [4]float64
	hpiInv, hpi        float64 // 2/π scaled by 2^24, and π/2
	c0, c1, c2, c3, c4 float64
	s1, s2, s3         float64
}

var sincosPolys = [2]sincosPoly{
	{[4]float64{1, -1, -1, 1}, 0x1.45F306DC9C883p+23, 0x1.921FB54442D18p0,
		0x1p0, -0x1.ffffffd0c621cp-2, 0x1.55553e1068f19p-5, -0x1.6c087e89a359dp-10, 0x1.99343027bf8c3p-16,
		-0x1.555545995a603p-3, 0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13},
	{[4]float64{1, -1, -1, 1}, 0x1.45F306DC9C883p+23, 0x1.921FB54442D18p0,
		-0x1p0, 0x1.ffffffd0c621cp-2, -0x1.55553e1068f19p-5, 0x1.6c087e89a359dp-10, -0x1.99343027bf8c3p-16,
		-0x1.555545995a603p-3, 0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13},
}

// invPio4 is 4/π in 32-bit words, overlapping by 8 bits a step, as the
// large-argument reduction reads it.
var invPio4 = [...]uint32{
	0xa2, 0xa2f9, 0xa2f983, 0xa2f9836e, 0xf9836e4e, 0x836e4e44,
	0x6e4e4415, 0x4e441529, 0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1,
	0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0, 0x34ddc0db, 0xddc0db62,
	0xc0db6295, 0xdb629599, 0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041,
}

func abstop12(x float32) uint32 { return math.Float32bits(x) >> 20 & 0x7ff }

// sincosEval is the sine (n even) or cosine (n odd) polynomial at the
// reduced angle x, x2 = x².
func sincosEval(x, x2 float64, p *sincosPoly, n int) float32 {
	if n&1 == 0 {
		x3 := float64(x * x2)
		s1 := p.s2 + float64(x2*p.s3)
		x7 := float64(x3 * x2)
		s := x + float64(x3*p.s1)
		return float32(s + float64(x7*s1))
	}
	x4 := float64(x2 * x2)
	c2 := p.c3 + float64(x2*p.c4)
	c1 := p.c0 + float64(x2*p.c1)
	x6 := float64(x4 * x2)
	c := c1 + float64(x4*p.c2)
	return float32(c + float64(x6*c2))
}

// reduceLarge reduces |x| ≥ 120 (as its float32 bits xi) modulo π/2 with
// integer arithmetic on 4/π: the remainder in [-π/4, π/4] and the quadrant.
func reduceLarge(xi uint32) (float64, int) {
	arr := invPio4[(xi>>26)&15:]
	shift := (xi >> 23) & 7
	xi = (xi&0xffffff | 0x800000) << shift
	res0 := uint64(xi * arr[0])
	res1 := uint64(xi) * uint64(arr[4])
	res2 := uint64(xi) * uint64(arr[8])
	res0 = res2>>32 | res0<<32
	res0 += res1
	n := (res0 + 1<<61) >> 62
	res0 -= n << 62
	return float64(float64(int64(res0)) * 0x1.921FB54442D18p-62), int(n)
}

// sincosf returns sinf(y) (cos false) or cosf(y) (cos true).
func sincosf(y float32, cos bool) float32 {
	odd := 0
	if cos {
		odd = 1
	}
	x := float64(y)
	p := &sincosPolys[0]
	switch a := abstop12(y); {
	case a < abstop12(0x1.921FB6p-1): // |y| < π/4
		if a < abstop12(0x1p-12) {
			if cos {
				return 1
			}
			return y
		}
		return sincosEval(x, float64(x*x), p, odd)
	case a < abstop12(120):
		r := float64(x * p.hpiInv)
		n := int((int32(r) + 0x800000) >> 24)
		x -= float64(float64(n) * p.hpi)
		s := p.sign[n&3]
		if n&2 != 0 {
			p = &sincosPolys[1]
		}
		return sincosEval(float64(x*s), float64(x*x), p, n^odd)
	case a < abstop12(float32(math.Inf(1))):
		xi := math.Float32bits(y)
		x, n := reduceLarge(xi)
		q := n + int(xi>>31)
		s := p.sign[q&3]
		if q&2 != 0 {
			p = &sincosPolys[1]
		}
		return sincosEval(float64(x*s), float64(x*x), p, n^odd)
	}
	return y - y // NaN for ±Inf and NaN
}

func sinf(x float32) float32 { return sincosf(x, false) }
func cosf(x float32) float32 { return sincosf(x, true) }
