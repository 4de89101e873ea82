package grammar

import (
	"math/big"
	"strings"
)

// Number ranges. A bounded number is written without exponent, with at
// most 16 integer and 16 fraction digits, so its value lies on the grid
// of multiples of 10^-16. Every bound is first moved onto that grid
// (inclusive), then the range is split by sign and integer part, and the
// fraction digits are constrained by comparing them, digit by digit, with
// the bounds' fraction digits.

const fracDigits = 16

var (
	gridScale = new(big.Int).Exp(big.NewInt(10), big.NewInt(fracDigits), nil) // 10^16
	gridStep  = new(big.Rat).SetFrac(big.NewInt(1), gridScale)                // 10^-16
	numLimit  = new(big.Rat).Sub(new(big.Rat).SetInt(gridScale), gridStep)    // largest magnitude
)

// toGrid rounds r onto the grid: up for a lower bound, down for an upper
// one; an exclusive bound moves one step further in.
func toGrid(r *big.Rat, lower, exclusive bool) *big.Rat {
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(gridScale))
	var n *big.Int
	if lower {
		n = ceilRat(scaled)
		if exclusive && scaled.IsInt() {
			n.Add(n, big.NewInt(1))
		}
	} else {
		n = floorRat(scaled)
		if exclusive && scaled.IsInt() {
			n.Sub(n, big.NewInt(1))
		}
	}
	return new(big.Rat).SetFrac(n, gridScale)
}

// numberRange matches decimal numbers x with lo ≤ x ≤ hi, both on the
// grid and within ±numLimit.
func numberRange(lo, hi *big.Rat) *expr {
	var alts []*expr
	zero := new(big.Rat)
	if hi.Sign() >= 0 {
		alts = append(alts, magnitudeRange(maxRat(lo, zero), hi))
	}
	if lo.Sign() < 0 {
		// Negative numbers: "-" and a magnitude > 0 (no "-0").
		mlo := maxRat(new(big.Rat).Neg(hi), gridStep)
		alts = append(alts, seq(lit("-"), magnitudeRange(mlo, new(big.Rat).Neg(lo))))
	}
	return alt(alts...)
}

func maxRat(a, b *big.Rat) *big.Rat {
	if a.Cmp(b) >= 0 {
		return a
	}
	return b
}

// magnitudeRange matches unsigned decimals in [lo, hi], 0 ≤ lo ≤ hi.
func magnitudeRange(lo, hi *big.Rat) *expr {
	a, b := floorRat(lo), floorRat(hi)
	fa, fb := fractionDigits(lo), fractionDigits(hi)
	if a.Cmp(b) == 0 {
		return seq(lit(a.String()), fraction(&fa, &fb))
	}
	alts := []*expr{seq(lit(a.String()), fraction(&fa, nil))}
	a1 := new(big.Int).Add(a, big.NewInt(1))
	b1 := new(big.Int).Sub(b, big.NewInt(1))
	if a1.Cmp(b1) <= 0 {
		alts = append(alts, seq(natRange(a1.Int64(), b1.Int64()), fraction(nil, nil)))
	}
	alts = append(alts, seq(lit(b.String()), fraction(nil, &fb)))
	return alt(alts...)
}

// fractionDigits returns the fraction digits of a grid value, without
// trailing zeros ("" for an integer).
func fractionDigits(r *big.Rat) string {
	scaled := new(big.Int).Mul(r.Num(), gridScale)
	scaled.Quo(scaled, r.Denom()) // exact on the grid
	frac := new(big.Int).Mod(scaled, gridScale).String()
	frac = strings.Repeat("0", fracDigits-len(frac)) + frac
	return strings.TrimRight(frac, "0")
}

// fraction matches an optional "." and 1 to 16 digits whose value as a
// fraction lies between lo and hi (digit strings, shorter ones padded
// with zeros; nil is no bound).
func fraction(lo, hi *string) *expr {
	var alts []*expr
	if lo == nil || *lo == "" {
		alts = append(alts, eps()) // no fraction: the value .0 meets lo
	}
	if d := fracDigitsIn(lo, hi, fracDigits, true); d != nil {
		alts = append(alts, seq(lit("."), d))
	}
	return alt(alts...)
}

// fracDigitsIn matches digit strings of up to n digits (at least one when
// need) between lo and hi; nil when there are none.
func fracDigitsIn(lo, hi *string, n int, need bool) *expr {
	if lo == nil && hi == nil {
		if need {
			return rep(byteRange('0', '9'), 1, n)
		}
		return rep(byteRange('0', '9'), 0, n)
	}
	var alts []*expr
	// The empty rest is the value 0: it meets hi always, lo when lo is 0.
	if !need && (lo == nil || *lo == "") {
		alts = append(alts, eps())
	}
	if n == 0 {
		if len(alts) == 0 {
			return nil
		}
		return alts[0]
	}
	l, h := byte('0'), byte('9')
	if lo != nil && *lo != "" {
		l = (*lo)[0]
	}
	if hi != nil {
		h = '0'
		if *hi != "" {
			h = (*hi)[0]
		}
	}
	rest := func(s *string) *string {
		if s == nil {
			return nil
		}
		r := ""
		if *s != "" {
			r = (*s)[1:]
		}
		return &r
	}
	if l > h {
		return altOrNil(alts)
	}
	if l == h {
		if sub := fracDigitsIn(rest(lo), rest(hi), n-1, false); sub != nil {
			alts = append(alts, seq(oneByte(l), sub))
		}
		return altOrNil(alts)
	}
	if lo != nil {
		if sub := fracDigitsIn(rest(lo), nil, n-1, false); sub != nil {
			alts = append(alts, seq(oneByte(l), sub))
		}
		l++
	}
	hiEnd := h
	if hi != nil {
		hiEnd--
	}
	if l <= hiEnd {
		alts = append(alts, seq(byteRange(l, hiEnd), rep(byteRange('0', '9'), 0, n-1)))
	}
	if hi != nil {
		if sub := fracDigitsIn(nil, rest(hi), n-1, false); sub != nil {
			alts = append(alts, seq(oneByte(h), sub))
		}
	}
	return altOrNil(alts)
}

func altOrNil(alts []*expr) *expr {
	if len(alts) == 0 {
		return nil
	}
	return alt(alts...)
}
