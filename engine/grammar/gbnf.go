package grammar

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseGBNF parses a grammar in llama.cpp's GBNF notation (the "grammar"
// field of llama.cpp's server): rules "name ::= alternatives", string
// literals, character classes ([a-z], [^\n]), ".", grouping, repetition
// (* + ? {m} {m,} {m,n}) and # comments; the start rule is root.
// Characters are Unicode code points, matched as their UTF-8 bytes.
// Token matches (<[id]>, <token>, !<...>) are not supported. Left
// recursion is rejected, as llama.cpp does.
func ParseGBNF(src string) (*Grammar, error) {
	p := &gbnfParser{src: src, ids: map[string]int{}}
	if err := p.parse(); err != nil {
		return nil, err
	}
	root, ok := p.ids["root"]
	if !ok || !p.defined[root] {
		return nil, fmt.Errorf("grammar: gbnf: no root rule")
	}
	for name, id := range p.ids {
		if !p.defined[id] {
			return nil, fmt.Errorf("grammar: gbnf: rule %q is used at %s but never defined", name, p.where(p.firstUse[id]))
		}
	}
	g, err := p.b.build(root)
	if err != nil {
		return nil, fmt.Errorf("grammar: gbnf: %w", err)
	}
	return g, nil
}

// NewGBNF parses a GBNF grammar and returns a constraint for it.
func NewGBNF(src string, vocab Vocab) (*Constraint, error) {
	g, err := ParseGBNF(src)
	if err != nil {
		return nil, err
	}
	return New(g, vocab)
}

type gbnfParser struct {
	src      string
	pos      int
	b        builder
	ids      map[string]int
	defined  []bool
	firstUse []int
	depth    int
}

type gbnfError struct{ msg string }

// fail stops parsing with an error at the current position.
func (p *gbnfParser) fail(format string, args ...any) {
	panic(gbnfError{fmt.Sprintf("grammar: gbnf: %s: ", p.where(p.pos)) + fmt.Sprintf(format, args...)})
}

// where gives a position as line:column.
func (p *gbnfParser) where(pos int) string {
	line := 1 + strings.Count(p.src[:pos], "\n")
	col := pos - strings.LastIndexByte(p.src[:pos], '\n')
	return fmt.Sprintf("%d:%d", line, col)
}

func (p *gbnfParser) parse() (err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(gbnfError)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%s", e.msg)
		}
	}()
	for {
		p.space(true)
		if p.pos == len(p.src) {
			return nil
		}
		start := p.pos
		name := p.name()
		p.space(false)
		if !strings.HasPrefix(p.src[p.pos:], "::=") {
			p.fail("expected ::= after rule name %q", name)
		}
		p.pos += 3
		p.space(true)
		id := p.rule(name, start)
		if p.defined[id] {
			p.pos = start
			p.fail("rule %q is defined twice", name)
		}
		p.defined[id] = true
		p.b.define(id, p.alternates(false))
		if p.pos < len(p.src) && p.src[p.pos] == '\r' {
			p.pos++
		}
		if p.pos < len(p.src) {
			if p.src[p.pos] != '\n' {
				p.fail("unexpected %q", p.rest())
			}
			p.pos++
		}
	}
}

func (p *gbnfParser) rest() string {
	r := p.src[p.pos:]
	if len(r) > 20 {
		r = r[:20] + "..."
	}
	return r
}

// rule returns the id of a rule by name, reserving it on first sight.
func (p *gbnfParser) rule(name string, at int) int {
	if id, ok := p.ids[name]; ok {
		return id
	}
	id := p.b.newRule(name)
	p.ids[name] = id
	p.defined = append(p.defined, false)
	p.firstUse = append(p.firstUse, at)
	return id
}

// space skips blanks and comments, and newlines when newlineOK.
func (p *gbnfParser) space(newlineOK bool) {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t':
			p.pos++
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		case (c == '\n' || c == '\r') && newlineOK:
			p.pos++
		default:
			return
		}
	}
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func (p *gbnfParser) name() string {
	start := p.pos
	for p.pos < len(p.src) && isNameByte(p.src[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		p.fail("expected a rule name, found %q", p.rest())
	}
	return p.src[start:p.pos]
}

func (p *gbnfParser) alternates(nested bool) *expr {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxJSONDepth {
		p.fail("groups nested more than %d deep", maxJSONDepth)
	}
	alts := []*expr{p.sequence(nested)}
	for p.pos < len(p.src) && p.src[p.pos] == '|' {
		p.pos++
		p.space(true)
		alts = append(alts, p.sequence(nested))
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return &expr{kind: xAlt, subs: alts}
}

func (p *gbnfParser) sequence(nested bool) *expr {
	var items []*expr
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		start := p.pos
		switch {
		case c == '"':
			p.pos++
			var parts []*expr
			for {
				if p.pos >= len(p.src) {
					p.pos = start
					p.fail("unterminated string")
				}
				if p.src[p.pos] == '"' {
					p.pos++
					break
				}
				r := p.char()
				parts = append(parts, lit(string(r)))
			}
			items = append(items, seq(parts...))
		case c == '[':
			p.pos++
			negate := p.pos < len(p.src) && p.src[p.pos] == '^'
			if negate {
				p.pos++
			}
			var set runeSet
			for p.pos < len(p.src) && p.src[p.pos] != ']' {
				lo := p.char()
				hi := lo
				if p.pos+1 < len(p.src) && p.src[p.pos] == '-' && p.src[p.pos+1] != ']' {
					p.pos++
					hi = p.char()
				}
				if hi < lo {
					p.fail("empty character range %q-%q", lo, hi)
				}
				set = append(set, runeRange{lo, hi})
			}
			if p.pos >= len(p.src) {
				p.pos = start
				p.fail("unterminated character class")
			}
			p.pos++
			set = set.normalize()
			if negate {
				set = set.complement()
			}
			e := utf8Expr(set)
			if e == nil {
				e = alt() // matches nothing
			}
			items = append(items, e)
		case c == '.':
			p.pos++
			items = append(items, utf8Expr(allChars))
		case c == '(':
			p.pos++
			p.space(true)
			e := p.alternates(true)
			if p.pos >= len(p.src) || p.src[p.pos] != ')' {
				p.pos = start
				p.fail("unbalanced (")
			}
			p.pos++
			items = append(items, e)
		case c == '<' || c == '!':
			p.fail("token matches (<...>) are not supported")
		case isNameByte(c):
			name := p.name()
			items = append(items, ref(p.rule(name, start)))
		case c == '*' || c == '+' || c == '?' || c == '{':
			if len(items) == 0 {
				p.fail("%q without anything to repeat", c)
			}
			last := len(items) - 1
			items[last] = p.repetition(items[last])
		default:
			return seq(items...)
		}
		p.space(nested)
	}
	return seq(items...)
}

func (p *gbnfParser) repetition(x *expr) *expr {
	c := p.src[p.pos]
	p.pos++
	switch c {
	case '*':
		return star(x)
	case '+':
		return rep(x, 1, -1)
	case '?':
		return opt(x)
	}
	p.space(false)
	min := p.int()
	max := min
	p.space(false)
	if p.pos < len(p.src) && p.src[p.pos] == ',' {
		p.pos++
		p.space(false)
		max = -1
		if p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			max = p.int()
		}
		p.space(false)
	}
	if p.pos >= len(p.src) || p.src[p.pos] != '}' {
		p.fail("expected } in repetition")
	}
	p.pos++
	if max >= 0 && max < min {
		p.fail("repetition {%d,%d} has max below min", min, max)
	}
	return rep(x, min, max)
}

func (p *gbnfParser) int() int {
	start := p.pos
	for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
		p.pos++
	}
	n, err := strconv.Atoi(p.src[start:p.pos])
	if err != nil || n > maxRepeat {
		p.pos = start
		p.fail("expected a repetition count up to %d", maxRepeat)
	}
	return n
}

// char reads one character of a literal or class: raw UTF-8 or an escape.
func (p *gbnfParser) char() rune {
	if p.src[p.pos] != '\\' {
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		if r == utf8.RuneError && n <= 1 {
			p.fail("invalid UTF-8")
		}
		p.pos += n
		return r
	}
	p.pos++
	if p.pos >= len(p.src) {
		p.fail("escape at end of input")
	}
	c := p.src[p.pos]
	p.pos++
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case '\\', '"', '[', ']', '-', '^':
		return rune(c)
	case 'x', 'u', 'U':
		n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
		if p.pos+n > len(p.src) {
			p.fail("short \\%c escape", c)
		}
		v, err := strconv.ParseUint(p.src[p.pos:p.pos+n], 16, 32)
		if err != nil || v > utf8.MaxRune || v >= 0xD800 && v <= 0xDFFF {
			p.fail("bad \\%c escape %q", c, p.src[p.pos:p.pos+n])
		}
		p.pos += n
		return rune(v)
	}
	p.pos -= 2
	p.fail("unknown escape \\%c", c)
	return 0
}
