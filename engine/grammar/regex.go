package grammar

import (
	"fmt"
	"regexp/syntax"
	"unicode"
)

// patternExpr compiles a JSON Schema "pattern" to the contents of a JSON
// string (without the quotes) whose decoded value matches it. Patterns
// are parsed with Go's RE2 syntax, which covers the ECMA-262 subset
// schemas use in practice; lookaround and backreferences fail to parse.
// As in JSON Schema, an unanchored pattern may match anywhere in the
// string.
func patternExpr(pattern string) (*expr, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	anchoredStart, anchoredEnd := false, false
	if len(subs) > 0 && subs[0].Op == syntax.OpBeginText {
		anchoredStart = true
		subs = subs[1:]
	}
	if len(subs) > 0 && subs[len(subs)-1].Op == syntax.OpEndText {
		anchoredEnd = true
		subs = subs[:len(subs)-1]
	}
	parts := make([]*expr, 0, len(subs)+2)
	anyString := star(jsonCharExpr(allChars))
	if !anchoredStart {
		parts = append(parts, anyString)
	}
	for _, s := range subs {
		e, err := regexExpr(s)
		if err != nil {
			return nil, err
		}
		parts = append(parts, e)
	}
	if !anchoredEnd {
		parts = append(parts, anyString)
	}
	return seq(parts...), nil
}

func regexExpr(re *syntax.Regexp) (*expr, error) {
	switch re.Op {
	case syntax.OpNoMatch:
		return alt(), nil
	case syntax.OpEmptyMatch:
		return eps(), nil
	case syntax.OpLiteral:
		parts := make([]*expr, len(re.Rune))
		for i, r := range re.Rune {
			s := newRuneSet(r, r)
			if re.Flags&syntax.FoldCase != 0 {
				for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
					s = append(s, runeRange{f, f})
				}
				s = s.normalize()
			}
			parts[i] = charsOrNothing(s)
		}
		return seq(parts...), nil
	case syntax.OpCharClass:
		var s runeSet
		for i := 0; i+1 < len(re.Rune); i += 2 {
			s = append(s, runeRange{re.Rune[i], re.Rune[i+1]})
		}
		return charsOrNothing(s.normalize()), nil
	case syntax.OpAnyCharNotNL:
		return charsOrNothing(allChars.minus(newRuneSet('\n', '\n'))), nil
	case syntax.OpAnyChar:
		return charsOrNothing(allChars), nil
	case syntax.OpCapture:
		return regexExpr(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		x, err := regexExpr(re.Sub[0])
		if err != nil {
			return nil, err
		}
		switch re.Op {
		case syntax.OpStar:
			return star(x), nil
		case syntax.OpPlus:
			return rep(x, 1, -1), nil
		case syntax.OpQuest:
			return opt(x), nil
		}
		if re.Min > maxRepeat || re.Max > maxRepeat {
			return nil, fmt.Errorf("repetition {%d,%d} is larger than the supported %d", re.Min, re.Max, maxRepeat)
		}
		return rep(x, re.Min, re.Max), nil
	case syntax.OpConcat, syntax.OpAlternate:
		parts := make([]*expr, len(re.Sub))
		for i, s := range re.Sub {
			e, err := regexExpr(s)
			if err != nil {
				return nil, err
			}
			parts[i] = e
		}
		if re.Op == syntax.OpConcat {
			return seq(parts...), nil
		}
		return &expr{kind: xAlt, subs: parts}, nil
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return nil, fmt.Errorf("anchor %s inside the pattern is not supported (only ^ at the start and $ at the end)", re)
	case syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return nil, fmt.Errorf("word boundary %s is not supported", re)
	}
	return nil, fmt.Errorf("regular expression %s is not supported", re)
}

// charsOrNothing matches one character of s, or nothing at all when s
// holds no character a JSON string can carry.
func charsOrNothing(s runeSet) *expr {
	if e := jsonCharExpr(s); e != nil {
		return e
	}
	return alt()
}
