package chat

import (
	"errors"
	"fmt"
	"strings"
)

// The engine is more lenient than Jinja2 in a few operations that chat
// templates use, and it has no Markup type. Rather than fork it, owl parses
// each expression in a template the way Jinja2 does and rewrites the few
// operations that differ into calls of helper functions and filters, which
// render passes to the template as globals (see pyops.go). The engine finds
// a filter it does not have among the template's variables, so a helper
// filter is an ordinary value. The rewritten operations:
//
//   - a + b becomes __owl_add(a, b), Python's + (str + None is a TypeError,
//     not "aNone"). When an operand is Markup (x|safe, x|escape, or such a
//     sum), __owl_add_markup also HTML-escapes the plain-string side, as
//     Markup.__add__ and __radd__ do.
//   - x.attr and x[key] become (x|__owl_defined).attr and (...)[key]: an
//     attribute or item of an undefined value is an UndefinedError.
//   - x is iterable and x is sequence become (x|__owl_is_iterable):
//     Undefined is iterable, and a sequence, in Jinja2.
//   - x|map(...)|tojson, and tojson, length, count or last of the other
//     filters that return a generator in Jinja2 (select, reject, selectattr,
//     rejectattr, unique, items, batch, reverse of a non-string), gets
//     |__owl_iterator(...) before the consumer, which fails as Python does.
//   - for x in e becomes for x in __owl_for(e): iterating None or a number
//     is a TypeError.
//
// Only expressions in {{ }}, {% if %}, {% elif %}, {% for %} and
// {% set x = ... %} are rewritten. A tag whose expression this parser does
// not take whole is left as written (the engine's semantics apply there);
// tests check that every template in the test set is taken whole.
//
// The rewrite is syntactic, so Markup is tracked only within one
// expression: a Markup value stored with {% set %} and added later is a
// plain string to the engine.

// Helper names; the prefix is reserved (Options.Extra may not use it).
const (
	helperPrefix     = "__owl_"
	helperAdd        = "__owl_add"
	helperAddMarkup  = "__owl_add_markup"
	helperDefined    = "__owl_defined"
	helperIsIterable = "__owl_is_iterable"
	helperIterator   = "__owl_iterator"
	helperFor        = "__owl_for"
)

// rewriteStats counts the tags rewrite looked at, for tests.
type rewriteStats struct {
	Parsed  int      // expressions parsed (and rewritten where needed)
	Skipped []string // expressions left as written, with the reason
}

// rewrite returns src with its expressions rewritten as described above.
// Tag boundaries are found as the engine's scanner finds them, so the
// engine sees the same tags.
func rewrite(src string) (string, rewriteStats) {
	var (
		out   strings.Builder
		stats rewriteStats
		last  int
	)
	for _, tag := range scanTags(src) {
		rw, ok, err := rewriteTag(src, tag)
		if err != nil {
			stats.Skipped = append(stats.Skipped, fmt.Sprintf("%.60q: %v", src[tag.start:tag.end], err))
			continue
		}
		if !ok {
			continue
		}
		stats.Parsed++
		out.WriteString(src[last:tag.start])
		out.WriteString(rw)
		last = tag.end
	}
	out.WriteString(src[last:])
	return out.String(), stats
}

type tagKind int

const (
	tagExpr tagKind = iota // {{ ... }}
	tagStmt                // {% ... %}
)

// tag is the content of a {{ }} or {% %} tag: src[start:end], without the
// delimiters and whitespace-control marks.
type tag struct {
	kind       tagKind
	start, end int
}

// scanTags finds the tags as the engine's scanner does: a closer inside a
// quoted string or inside brackets does not count, comments are skipped,
// and nothing between {% raw %} and {% endraw %} is a tag.
func scanTags(src string) []tag {
	var tags []tag
	raw := false
	for i := 0; i < len(src); {
		if raw {
			if strings.HasPrefix(src[i:], "{%") {
				if end := strings.Index(src[i+2:], "%}"); end >= 0 &&
					strings.TrimSpace(strings.Trim(strings.TrimSpace(src[i+2:i+2+end]), "-+")) == "endraw" {
					raw = false
					continue
				}
			}
			i++
			continue
		}
		if src[i] != '{' || i+1 >= len(src) {
			i++
			continue
		}
		var closer string
		kind := tagExpr
		switch src[i+1] {
		case '{':
			closer = "}}"
		case '%':
			closer, kind = "%}", tagStmt
		case '#':
			closer = "#}"
		default:
			i++
			continue
		}
		comment := closer == "#}"
		i += 2
		if i < len(src) && (src[i] == '-' || src[i] == '+') {
			i++
		}
		start, end := i, -1
		depth := 0
		for i < len(src) {
			ch := src[i]
			if !comment && (ch == '\'' || ch == '"') {
				i++
				for i < len(src) && src[i] != ch {
					if src[i] == '\\' && i+1 < len(src) {
						i++
					}
					i++
				}
				if i < len(src) {
					i++
				}
				continue
			}
			if depth == 0 && (ch == '-' || ch == '+') && i+2 < len(src) && src[i+1] == closer[0] && src[i+2] == closer[1] {
				end = i
				i += 3
				break
			}
			if depth == 0 && i+1 < len(src) && ch == closer[0] && src[i+1] == closer[1] {
				end = i
				i += 2
				break
			}
			if !comment {
				switch ch {
				case '(', '[', '{':
					depth++
				case ')', ']', '}':
					depth--
				}
			}
			i++
		}
		if end < 0 {
			break // unclosed: the engine rejects the template
		}
		if comment {
			continue
		}
		tags = append(tags, tag{kind: kind, start: start, end: end})
		if kind == tagStmt && strings.TrimSpace(src[start:end]) == "raw" {
			raw = true
		}
	}
	return tags
}

// rewriteTag returns the rewritten content of t; ok is false when the tag
// holds no expression that rewrite handles.
func rewriteTag(src string, t tag) (string, bool, error) {
	if t.kind == tagStmt {
		body := strings.TrimSpace(src[t.start:t.end])
		n := 0
		for n < len(body) && isNameByte(body[n]) {
			n++
		}
		switch body[:n] {
		case "if", "elif", "for", "set":
		default:
			return "", false, nil
		}
	}
	toks, err := lexExpr(src, t.start, t.end)
	if err != nil {
		return "", false, err
	}
	p := &parser{src: src, toks: toks}
	if t.kind == tagExpr {
		root, err := p.parseTuple(true, nil)
		if err != nil {
			return "", false, err
		}
		if err := p.expectEnd(); err != nil {
			return "", false, err
		}
		return src[t.start:root.start] + p.emit(root) + src[root.end:t.end], true, nil
	}
	kw := p.peek()
	if kw.kind != tokName {
		return "", false, nil
	}
	switch kw.val {
	case "if", "elif":
		p.next()
		root, err := p.parseTuple(false, nil)
		if err != nil {
			return "", false, err
		}
		if err := p.expectEnd(); err != nil {
			return "", false, err
		}
		return src[t.start:root.start] + p.emit(root) + src[root.end:t.end], true, nil
	case "for":
		return p.rewriteFor(t)
	case "set":
		// {% set target = value %}; a block set ({% set x %}) has no value.
		eq := -1
		depth := 0
		for i, tk := range p.toks {
			switch {
			case tk.kind == tokOp && (tk.val == "(" || tk.val == "[" || tk.val == "{"):
				depth++
			case tk.kind == tokOp && (tk.val == ")" || tk.val == "]" || tk.val == "}"):
				depth--
			case depth == 0 && tk.kind == tokOp && tk.val == "=":
				eq = i
			}
			if eq >= 0 {
				break
			}
		}
		if eq < 0 {
			return "", false, nil
		}
		p.pos = eq + 1
		root, err := p.parseTuple(true, nil)
		if err != nil {
			return "", false, err
		}
		if err := p.expectEnd(); err != nil {
			return "", false, err
		}
		return src[t.start:root.start] + p.emit(root) + src[root.end:t.end], true, nil
	}
	return "", false, nil
}

// rewriteFor handles {% for target in iter [if cond] [recursive] %}.
func (p *parser) rewriteFor(t tag) (string, bool, error) {
	p.next() // for
	for {
		tk := p.peek()
		if tk.kind == tokEOF {
			return "", false, errors.New("for without in")
		}
		if tk.kind == tokName && tk.val == "in" {
			break
		}
		p.next()
	}
	p.next() // in
	iter, err := p.parseTuple(false, []string{"recursive"})
	if err != nil {
		return "", false, err
	}
	var cond *node
	if p.acceptName("if") {
		if cond, err = p.parseExpression(true); err != nil {
			return "", false, err
		}
	}
	p.acceptName("recursive")
	if err := p.expectEnd(); err != nil {
		return "", false, err
	}
	var b strings.Builder
	b.WriteString(p.src[t.start:iter.start])
	if iter.kind == nodeTuple && iter.start == iter.istart {
		// An unparenthesized tuple: always iterable.
		b.WriteString(p.emit(iter))
	} else {
		b.WriteString(helperFor + "(" + p.emit(iter) + ")")
	}
	pos := iter.end
	if cond != nil {
		b.WriteString(p.src[pos:cond.start])
		b.WriteString(p.emit(cond))
		pos = cond.end
	}
	b.WriteString(p.src[pos:t.end])
	return b.String(), true, nil
}

// ---- lexer ----

type tokKind int

const (
	tokEOF tokKind = iota
	tokName
	tokString
	tokNumber
	tokOp
)

type token struct {
	kind       tokKind
	val        string // the source text (operators, names) or the raw literal
	start, end int    // offsets into the template source
}

var twoCharOps = []string{"//", "**", "==", "!=", "<=", ">="}

// lexExpr splits src[start:end] into Jinja2's expression tokens.
func lexExpr(src string, start, end int) ([]token, error) {
	var toks []token
	i := start
	for i < end {
		ch := src[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v':
			i++
		case ch == '_' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z':
			j := i + 1
			for j < end && isNameByte(src[j]) {
				j++
			}
			toks = append(toks, token{tokName, src[i:j], i, j})
			i = j
		case ch == '\'' || ch == '"':
			j := i + 1
			for j < end && src[j] != ch {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= end {
				return nil, errors.New("unterminated string")
			}
			toks = append(toks, token{tokString, src[i : j+1], i, j + 1})
			i = j + 1
		case ch >= '0' && ch <= '9':
			j := i + 1
			for j < end && (isNameByte(src[j])) {
				j++ // digits, _, and the letters of 0x1f, 1e5
			}
			afterDot := len(toks) > 0 && toks[len(toks)-1].kind == tokOp && toks[len(toks)-1].val == "."
			if !afterDot && j+1 < end && src[j] == '.' && src[j+1] >= '0' && src[j+1] <= '9' {
				j++
				for j < end && isNameByte(src[j]) {
					j++
				}
			}
			if (src[j-1] == 'e' || src[j-1] == 'E') && j < end && (src[j] == '+' || src[j] == '-') {
				j++
				for j < end && src[j] >= '0' && src[j] <= '9' {
					j++
				}
			}
			toks = append(toks, token{tokNumber, src[i:j], i, j})
			i = j
		default:
			op := ""
			for _, two := range twoCharOps {
				if strings.HasPrefix(src[i:end], two) {
					op = two
					break
				}
			}
			if op == "" {
				if !strings.ContainsRune("+-*/%~<>=.,:|()[]{}", rune(ch)) {
					return nil, fmt.Errorf("unexpected character %q", ch)
				}
				op = string(ch)
			}
			toks = append(toks, token{tokOp, op, i, i + len(op)})
			i += len(op)
		}
	}
	toks = append(toks, token{kind: tokEOF, start: end, end: end})
	return toks, nil
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ---- parser: Jinja2's expression grammar (jinja2/parser.py) ----

type nodeKind int

const (
	nodeLeaf    nodeKind = iota // name, constant, string
	nodeTuple                   // a, b or (a, b)
	nodeList                    // [a, b]
	nodeDict                    // {a: b}
	nodeGetattr                 // x.name, x.0
	nodeGetitem                 // x[...]
	nodeCall                    // f(...)
	nodeFilter                  // x | name(...)
	nodeTest                    // x is [not] name ...
	nodeUnary                   // -x, +x, not x
	nodeBinary                  // x op y, op in + - * / // % ** ~ and or
	nodeCompare                 // x == y < z ...
	nodeCond                    // x if y else z
)

// node is an expression with its place in the source. start and end take
// in the parentheses around it; istart and iend do not. kids are in source
// order and lie within [istart, iend).
type node struct {
	kind         nodeKind
	op           string // operator, filter or test name, attribute
	negated      bool   // is not
	start, end   int
	istart, iend int
	kids         []*node
}

func (n *node) isName() bool {
	return n.kind == nodeLeaf && n.start == n.istart && isIdent(n.op)
}

func isIdent(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

type parser struct {
	src   string
	toks  []token
	pos   int
	depth int
}

// maxExprDepth bounds the parser's recursion on deeply nested input.
const maxExprDepth = 1000

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) peekAt(k int) token {
	if p.pos+k < len(p.toks) {
		return p.toks[p.pos+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) isOp(val string) bool {
	t := p.peek()
	return t.kind == tokOp && t.val == val
}

func (p *parser) isName(val string) bool {
	t := p.peek()
	return t.kind == tokName && t.val == val
}

func (p *parser) acceptName(val string) bool {
	if p.isName(val) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expectOp(val string) (token, error) {
	if !p.isOp(val) {
		return token{}, fmt.Errorf("expected %q, found %q", val, p.peek().val)
	}
	return p.next(), nil
}

func (p *parser) expectEnd() error {
	if t := p.peek(); t.kind != tokEOF {
		return fmt.Errorf("unexpected %q", t.val)
	}
	return nil
}

// enter counts one level of parser recursion; a template nested deeper
// than maxExprDepth is left to the engine.
func (p *parser) enter() error {
	p.depth++
	if p.depth > maxExprDepth {
		return errors.New("expression nested too deeply")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func binaryNode(op string, l, r *node) *node {
	return &node{kind: nodeBinary, op: op, start: l.start, end: r.end, istart: l.start, iend: r.end, kids: []*node{l, r}}
}

// isTupleEnd reports whether the token ends a tuple: the end of the tag,
// a closing bracket, or one of extraEnd.
func (p *parser) isTupleEnd(extraEnd []string) bool {
	t := p.peek()
	if t.kind == tokEOF || t.kind == tokOp && (t.val == ")" || t.val == "]" || t.val == "}") {
		return true
	}
	for _, e := range extraEnd {
		if t.kind == tokName && t.val == e {
			return true
		}
	}
	return false
}

// parseTuple is Jinja2's parse_tuple: one expression, or several separated
// by commas (a tuple without parentheses).
func (p *parser) parseTuple(withCond bool, extraEnd []string) (*node, error) {
	var items []*node
	isTuple := false
	for {
		if len(items) > 0 {
			if _, err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		if p.isTupleEnd(extraEnd) {
			break
		}
		n, err := p.parseExpression(withCond)
		if err != nil {
			return nil, err
		}
		items = append(items, n)
		if p.isOp(",") {
			isTuple = true
		} else {
			break
		}
	}
	if !isTuple {
		if len(items) == 0 {
			return nil, fmt.Errorf("expected an expression, found %q", p.peek().val)
		}
		return items[0], nil
	}
	end := p.toks[p.pos-1].end // the last item or the trailing comma
	return &node{kind: nodeTuple, start: items[0].start, end: end, istart: items[0].start, iend: end, kids: items}, nil
}

func (p *parser) parseExpression(withCond bool) (*node, error) {
	if withCond {
		return p.parseCondExpr()
	}
	return p.parseOr()
}

func (p *parser) parseCondExpr() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	for p.acceptName("if") {
		test, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		kids := []*node{n, test}
		if p.acceptName("else") {
			alt, err := p.parseCondExpr()
			if err != nil {
				return nil, err
			}
			kids = append(kids, alt)
		}
		last := kids[len(kids)-1]
		n = &node{kind: nodeCond, start: n.start, end: last.end, istart: n.start, iend: last.end, kids: kids}
	}
	return n, nil
}

func (p *parser) parseOr() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.acceptName("or") {
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = binaryNode("or", l, r)
	}
	return l, nil
}

func (p *parser) parseAnd() (*node, error) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.acceptName("and") {
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = binaryNode("and", l, r)
	}
	return l, nil
}

func (p *parser) parseNot() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if p.isName("not") {
		t := p.next()
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &node{kind: nodeUnary, op: "not", start: t.start, end: x.end, istart: t.start, iend: x.end, kids: []*node{x}}, nil
	}
	return p.parseCompare()
}

func (p *parser) parseCompare() (*node, error) {
	x, err := p.parseMath1()
	if err != nil {
		return nil, err
	}
	kids := []*node{x}
	for {
		t := p.peek()
		switch {
		case t.kind == tokOp && (t.val == "==" || t.val == "!=" || t.val == "<" || t.val == "<=" || t.val == ">" || t.val == ">="):
			p.next()
		case t.kind == tokName && t.val == "in":
			p.next()
		case t.kind == tokName && t.val == "not" && p.peekAt(1).kind == tokName && p.peekAt(1).val == "in":
			p.next()
			p.next()
		default:
			if len(kids) == 1 {
				return x, nil
			}
			last := kids[len(kids)-1]
			return &node{kind: nodeCompare, start: x.start, end: last.end, istart: x.start, iend: last.end, kids: kids}, nil
		}
		y, err := p.parseMath1()
		if err != nil {
			return nil, err
		}
		kids = append(kids, y)
	}
}

func (p *parser) parseMath1() (*node, error) {
	l, err := p.parseConcat()
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") {
		op := p.next().val
		r, err := p.parseConcat()
		if err != nil {
			return nil, err
		}
		l = binaryNode(op, l, r)
	}
	return l, nil
}

func (p *parser) parseConcat() (*node, error) {
	l, err := p.parseMath2()
	if err != nil {
		return nil, err
	}
	for p.isOp("~") {
		p.next()
		r, err := p.parseMath2()
		if err != nil {
			return nil, err
		}
		l = binaryNode("~", l, r)
	}
	return l, nil
}

func (p *parser) parseMath2() (*node, error) {
	l, err := p.parsePow()
	if err != nil {
		return nil, err
	}
	for p.isOp("*") || p.isOp("/") || p.isOp("//") || p.isOp("%") {
		op := p.next().val
		r, err := p.parsePow()
		if err != nil {
			return nil, err
		}
		l = binaryNode(op, l, r)
	}
	return l, nil
}

func (p *parser) parsePow() (*node, error) {
	l, err := p.parseUnary(true)
	if err != nil {
		return nil, err
	}
	for p.isOp("**") {
		p.next()
		r, err := p.parseUnary(true)
		if err != nil {
			return nil, err
		}
		l = binaryNode("**", l, r)
	}
	return l, nil
}

func (p *parser) parseUnary(withFilter bool) (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var n *node
	if p.isOp("-") || p.isOp("+") {
		t := p.next()
		x, err := p.parseUnary(false)
		if err != nil {
			return nil, err
		}
		n = &node{kind: nodeUnary, op: t.val, start: t.start, end: x.end, istart: t.start, iend: x.end, kids: []*node{x}}
	} else {
		var err error
		if n, err = p.parsePrimary(); err != nil {
			return nil, err
		}
	}
	n, err := p.parsePostfix(n)
	if err != nil {
		return nil, err
	}
	if withFilter {
		return p.parseFilterExpr(n)
	}
	return n, nil
}

func (p *parser) parsePrimary() (*node, error) {
	t := p.peek()
	switch t.kind {
	case tokName:
		p.next()
		return &node{kind: nodeLeaf, op: t.val, start: t.start, end: t.end, istart: t.start, iend: t.end}, nil
	case tokString:
		p.next()
		end := t.end
		for p.peek().kind == tokString { // adjacent literals concatenate
			end = p.next().end
		}
		return &node{kind: nodeLeaf, start: t.start, end: end, istart: t.start, iend: end}, nil
	case tokNumber:
		p.next()
		return &node{kind: nodeLeaf, op: t.val, start: t.start, end: t.end, istart: t.start, iend: t.end}, nil
	case tokOp:
		switch t.val {
		case "(":
			p.next()
			if p.isOp(")") {
				rp := p.next()
				return &node{kind: nodeTuple, start: t.start, end: rp.end, istart: t.start, iend: rp.end}, nil
			}
			n, err := p.parseTuple(true, nil)
			if err != nil {
				return nil, err
			}
			rp, err := p.expectOp(")")
			if err != nil {
				return nil, err
			}
			n.start, n.end = t.start, rp.end
			return n, nil
		case "[":
			return p.parseItems(nodeList, "]")
		case "{":
			return p.parseItems(nodeDict, "}")
		}
	}
	return nil, fmt.Errorf("unexpected %q", t.val)
}

// parseItems parses a list or dict literal, its opening bracket next.
func (p *parser) parseItems(kind nodeKind, closer string) (*node, error) {
	open := p.next()
	n := &node{kind: kind, start: open.start, istart: open.start}
	for !p.isOp(closer) {
		if len(n.kids) > 0 {
			if _, err := p.expectOp(","); err != nil {
				return nil, err
			}
			if p.isOp(closer) {
				break
			}
		}
		x, err := p.parseCondExpr()
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, x)
		if kind == nodeDict {
			if _, err := p.expectOp(":"); err != nil {
				return nil, err
			}
			v, err := p.parseCondExpr()
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, v)
		}
	}
	cl := p.next()
	n.end, n.iend = cl.end, cl.end
	return n, nil
}

func (p *parser) parsePostfix(n *node) (*node, error) {
	for {
		switch {
		case p.isOp("."):
			p.next()
			t := p.next()
			if t.kind != tokName && t.kind != tokNumber {
				return nil, fmt.Errorf("unexpected %q after '.'", t.val)
			}
			n = &node{kind: nodeGetattr, op: t.val, start: n.start, end: t.end, istart: n.start, iend: t.end, kids: []*node{n}}
		case p.isOp("["):
			var err error
			if n, err = p.parseSubscript(n); err != nil {
				return nil, err
			}
		case p.isOp("("):
			var err error
			if n, err = p.parseCall(nodeCall, "", n); err != nil {
				return nil, err
			}
		default:
			return n, nil
		}
	}
}

func (p *parser) parseFilterExpr(n *node) (*node, error) {
	for {
		switch {
		case p.isOp("|"):
			p.next()
			name, err := p.parseDottedName()
			if err != nil {
				return nil, err
			}
			f := &node{kind: nodeFilter, op: name.val, start: n.start, end: name.end, istart: n.start, iend: name.end, kids: []*node{n}}
			if p.isOp("(") {
				if f, err = p.parseCall(nodeFilter, name.val, n); err != nil {
					return nil, err
				}
			}
			n = f
		case p.isName("is"):
			p.next()
			negated := p.acceptName("not")
			name, err := p.parseDottedName()
			if err != nil {
				return nil, err
			}
			t := &node{kind: nodeTest, op: name.val, negated: negated, start: n.start, end: name.end, istart: n.start, iend: name.end, kids: []*node{n}}
			nt := p.peek()
			switch {
			case p.isOp("("):
				if t, err = p.parseCall(nodeTest, name.val, n); err != nil {
					return nil, err
				}
				t.negated = negated
			case nt.kind == tokString || nt.kind == tokNumber || p.isOp("[") || p.isOp("{") ||
				nt.kind == tokName && nt.val != "else" && nt.val != "or" && nt.val != "and":
				if nt.kind == tokName && nt.val == "is" {
					return nil, errors.New("'is' after a test")
				}
				arg, err := p.parsePrimary()
				if err != nil {
					return nil, err
				}
				if arg, err = p.parsePostfix(arg); err != nil {
					return nil, err
				}
				t.kids = append(t.kids, arg)
				t.end, t.iend = arg.end, arg.end
			}
			n = t
		case p.isOp("("):
			var err error
			if n, err = p.parseCall(nodeCall, "", n); err != nil {
				return nil, err
			}
		default:
			return n, nil
		}
	}
}

// parseDottedName reads a filter or test name (Jinja2 allows dots in it).
func (p *parser) parseDottedName() (token, error) {
	t := p.next()
	if t.kind != tokName {
		return t, fmt.Errorf("expected a name, found %q", t.val)
	}
	for p.isOp(".") && p.peekAt(1).kind == tokName {
		p.next()
		n := p.next()
		t.val += "." + n.val
		t.end = n.end
	}
	return t, nil
}

// parseSubscript parses x[...], slices and x[a, b] included.
func (p *parser) parseSubscript(obj *node) (*node, error) {
	p.next() // [
	n := &node{kind: nodeGetitem, start: obj.start, istart: obj.start, kids: []*node{obj}}
	for !p.isOp("]") {
		t := p.peek()
		switch {
		case t.kind == tokOp && (t.val == ":" || t.val == ","):
			p.next()
		case t.kind == tokEOF:
			return nil, errors.New("unclosed '['")
		default:
			x, err := p.parseCondExpr()
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, x)
		}
	}
	cl := p.next()
	n.end, n.iend = cl.end, cl.end
	return n, nil
}

// parseCall parses an argument list, its '(' next, for a call of fn
// (kind nodeCall) or a filter or test applied to fn.
func (p *parser) parseCall(kind nodeKind, name string, fn *node) (*node, error) {
	p.next() // (
	n := &node{kind: kind, op: name, start: fn.start, istart: fn.start, kids: []*node{fn}}
	for !p.isOp(")") {
		if len(n.kids) > 1 {
			if _, err := p.expectOp(","); err != nil {
				return nil, err
			}
			if p.isOp(")") {
				break
			}
		}
		if p.isOp("*") || p.isOp("**") {
			p.next()
		} else if p.peek().kind == tokName && p.peekAt(1).kind == tokOp && p.peekAt(1).val == "=" {
			p.next()
			p.next()
		}
		x, err := p.parseCondExpr()
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, x)
	}
	cl := p.next()
	n.end, n.iend = cl.end, cl.end
	return n, nil
}

// ---- emitter ----

// generatorFilters return a generator (or an iterator) in Jinja2 and a
// list in the engine; generatorConsumers fail on a generator in Python.
var (
	generatorFilters   = map[string]bool{"map": true, "select": true, "reject": true, "selectattr": true, "rejectattr": true, "unique": true, "items": true, "batch": true, "reverse": true}
	generatorConsumers = map[string]bool{"tojson": true, "length": true, "count": true, "last": true}
)

// isMarkup reports whether n's value is a markupsafe.Markup in Jinja2, as
// far as the expression alone shows.
func isMarkup(n *node) bool {
	switch n.kind {
	case nodeFilter:
		return n.op == "safe" || n.op == "escape" || n.op == "e" || n.op == "forceescape"
	case nodeBinary:
		return n.op == "+" && (isMarkup(n.kids[0]) || isMarkup(n.kids[1]))
	}
	return false
}

// emit returns n's source with the rewrites applied.
func (p *parser) emit(n *node) string {
	var b strings.Builder
	p.emitTo(&b, n)
	return b.String()
}

func (p *parser) emitTo(b *strings.Builder, n *node) {
	b.WriteString(p.src[n.start:n.istart])
	switch {
	case n.kind == nodeBinary && n.op == "+":
		l, r := n.kids[0], n.kids[1]
		lm, rm := isMarkup(l), isMarkup(r)
		if lm || rm {
			b.WriteString(helperAddMarkup + "(")
		} else {
			b.WriteString(helperAdd + "(")
		}
		p.emitTo(b, l)
		b.WriteString(", ")
		p.emitTo(b, r)
		if lm || rm {
			fmt.Fprintf(b, ", %t, %t", lm, rm)
		}
		b.WriteString(")")
	case n.kind == nodeGetattr || n.kind == nodeGetitem:
		obj := n.kids[0]
		b.WriteString("(")
		p.emitTo(b, obj)
		b.WriteString("|" + helperDefined)
		if obj.isName() {
			b.WriteString("('" + obj.op + "')")
		}
		b.WriteString(")")
		p.copyWith(b, obj.end, n.iend, n.kids[1:])
	case n.kind == nodeTest && len(n.kids) == 1 && (n.op == "iterable" || n.op == "sequence"):
		if n.negated {
			b.WriteString("(not ")
		}
		b.WriteString("(")
		p.emitTo(b, n.kids[0])
		b.WriteString("|" + helperIsIterable + ")")
		if n.negated {
			b.WriteString(")")
		}
	case n.kind == nodeFilter && generatorConsumers[n.op] && n.kids[0].kind == nodeFilter && generatorFilters[n.kids[0].op]:
		in := n.kids[0]
		p.emitTo(b, in)
		b.WriteString("|" + helperIterator + "('" + n.op + "')")
		p.copyWith(b, in.end, n.iend, n.kids[1:])
	default:
		p.copyWith(b, n.istart, n.iend, n.kids)
	}
	b.WriteString(p.src[n.iend:n.end])
}

// copyWith copies src[from:to], emitting each of kids (which lie in that
// range, in order) in place of its source.
func (p *parser) copyWith(b *strings.Builder, from, to int, kids []*node) {
	for _, k := range kids {
		b.WriteString(p.src[from:k.start])
		p.emitTo(b, k)
		from = k.end
	}
	b.WriteString(p.src[from:to])
}
