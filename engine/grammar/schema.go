package grammar

import (
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// ErrUnsupported is matched (errors.Is) by schema errors for features the
// compiler does not enforce.
var ErrUnsupported = errors.New("grammar: unsupported schema feature")

// SchemaError reports a schema that cannot be compiled, and where.
type SchemaError struct {
	Path        string // JSON pointer of the subschema, "#" for the root
	Msg         string
	Unsupported bool // a valid schema using a feature not supported here
}

func (e *SchemaError) Error() string { return "grammar: schema at " + e.Path + ": " + e.Msg }

// Is makes errors.Is(err, ErrUnsupported) true for unsupported features.
func (e *SchemaError) Is(target error) bool { return target == ErrUnsupported && e.Unsupported }

func invalid(path, format string, args ...any) error {
	return &SchemaError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

func unsupported(path, format string, args ...any) error {
	return &SchemaError{Path: path, Msg: fmt.Sprintf(format, args...), Unsupported: true}
}

// Keywords by role. Unknown keywords are ignored, as JSON Schema says.
var (
	annotationKeys = setOf("$schema", "$id", "$comment", "$anchor", "$vocabulary", "$defs", "definitions",
		"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
		"contentEncoding", "contentMediaType", "contentSchema")
	unsupportedKeys = setOf("not", "if", "then", "else", "dependentRequired", "dependentSchemas", "dependencies",
		"patternProperties", "propertyNames", "unevaluatedProperties", "unevaluatedItems",
		"contains", "minContains", "maxContains", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor")
	objectKeys  = setOf("properties", "required", "additionalProperties", "minProperties", "maxProperties")
	arrayKeys   = setOf("items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems")
	stringKeys  = setOf("minLength", "maxLength", "pattern", "format")
	numberKeys  = setOf("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
	combineKeys = setOf("$ref", "anyOf", "oneOf", "allOf", "enum", "const", "type")
)

func setOf(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// intLimit bounds generated integers (|n| < 10^16), as llama.cpp's
// json-schema-to-grammar does: unbounded digit runs let a model ramble.
const intLimit = 1e16 - 1

// maxRefDepth bounds nested $ref resolution during compilation.
const maxRefDepth = 1000

// CompileJSONSchema compiles a JSON Schema (draft 2020-12; the subset
// OpenAI's strict structured outputs use, and more) to a grammar for JSON
// text that validates against it.
//
// Supported: type (one or a list), enum, const, properties (output in
// schema order), required, additionalProperties (false, true or a schema;
// absent means false when properties are given, as in llama.cpp), items,
// prefixItems, minItems, maxItems, anyOf, oneOf (when its alternatives
// provably never both match: different types, enum or const values, or a
// required const property), allOf with one schema, $ref to local JSON
// pointers ("#", "#/$defs/x", recursion allowed), minLength, maxLength,
// pattern, format date, time, date-time, uuid and ipv4, and minimum,
// maximum, exclusiveMinimum, exclusiveMaximum for integers and numbers
// (bounded numbers are written without exponent). Keywords that
// constrain values in other ways (not, if/then/else, patternProperties,
// uniqueItems, multipleOf, other formats...) give an error wrapping
// ErrUnsupported that names them.
//
// Whitespace is llama.cpp's minimal policy: none required, and at most a
// space or a newline plus indentation between tokens. Numbers have at
// most 16 integer and 16 fraction digits and two exponent digits.
func CompileJSONSchema(schema []byte) (*Grammar, error) {
	v, err := parseJSON(schema)
	if err != nil {
		return nil, fmt.Errorf("grammar: schema is not valid JSON: %w", err)
	}
	c := newCompiler(v)
	e, err := c.compile(v, "#")
	if err != nil {
		return nil, err
	}
	g, err := c.b.build(c.b.rule("root", e))
	if err != nil {
		return nil, fmt.Errorf("grammar: schema: %w", err)
	}
	return g, nil
}

var jsonObject = sync.OnceValue(func() *Grammar {
	c := newCompiler(nil)
	g, err := c.b.build(c.b.rule("root", c.prim("object")))
	if err != nil {
		panic(err) // a fixed grammar: cannot fail
	}
	return g
})

// JSONObject returns the grammar of any JSON object (OpenAI's json_object
// response format), with the same whitespace and number policy as
// compiled schemas.
func JSONObject() *Grammar { return jsonObject() }

type compiler struct {
	b     builder
	root  *jv
	refs  map[string]int // resolved $ref → rule
	prims map[string]int
	depth int
}

func newCompiler(root *jv) *compiler {
	return &compiler{root: root, refs: map[string]int{}, prims: map[string]int{}}
}

// prim returns a reference to a shared rule of the JSON grammar.
func (c *compiler) prim(name string) *expr {
	if r, ok := c.prims[name]; ok {
		return ref(r)
	}
	r := c.b.newRule(name)
	c.prims[name] = r
	ws := func() *expr { return c.prim("ws") }
	var body *expr
	switch name {
	case "ws":
		body = alt(eps(), lit(" "), seq(lit("\n"), opt(lit("\n")), rep(bytesOf(" \t"), 0, 20)))
	case "null":
		body = lit("null")
	case "boolean":
		body = alt(lit("true"), lit("false"))
	case "int-part":
		body = alt(lit("0"), seq(byteRange('1', '9'), rep(byteRange('0', '9'), 0, 15)))
	case "integer":
		body = seq(opt(lit("-")), c.prim("int-part"))
	case "number":
		body = seq(opt(lit("-")), c.prim("int-part"),
			opt(seq(lit("."), rep(byteRange('0', '9'), 1, 16))),
			// Two exponent digits keep every number a finite float64,
			// which decoders such as Go's encoding/json insist on.
			opt(seq(bytesOf("eE"), opt(bytesOf("-+")), rep(byteRange('0', '9'), 1, 2))))
	case "char":
		// Any character: raw (not '"', '\\', controls or DEL) or escaped.
		// \u escapes of surrogates are left out, so that every match is
		// exactly one character (minLength/maxLength count characters).
		hex := byteIn(hexSet())
		var nonD byteSet
		nonD.addRange('0', '9')
		nonD.addRange('a', 'c')
		nonD.addRange('A', 'C')
		nonD.addRange('e', 'f')
		nonD.addRange('E', 'F')
		noSurrogate := alt(seq(byteIn(nonD), hex, hex, hex), seq(bytesOf("dD"), byteRange('0', '7'), hex, hex))
		body = alt(utf8Expr(jsonRaw), seq(lit(`\`), alt(bytesOf(`"\/bfnrt`), seq(lit("u"), noSurrogate))))
	case "string":
		body = seq(lit(`"`), star(c.prim("char")), lit(`"`))
	case "value":
		body = alt(c.prim("object"), c.prim("array"), c.prim("string"), c.prim("number"), c.prim("boolean"), c.prim("null"))
	case "object":
		kv := seq(c.prim("string"), ws(), lit(":"), ws(), c.prim("value"), ws())
		body = seq(lit("{"), ws(), opt(seq(kv, star(seq(lit(","), ws(), kv)))), lit("}"))
	case "array":
		item := seq(c.prim("value"), ws())
		body = seq(lit("["), ws(), opt(seq(item, star(seq(lit(","), ws(), item)))), lit("]"))
	case "hex":
		body = byteIn(hexSet())
	case "date":
		body = dateExpr()
	case "time":
		body = timeExpr()
	default:
		panic("grammar: unknown primitive " + name)
	}
	c.b.define(r, body)
	return ref(r)
}

func hexSet() byteSet {
	var s byteSet
	s.addRange('0', '9')
	s.addRange('a', 'f')
	s.addRange('A', 'F')
	return s
}

// visit compiles a subschema to a reference to its own rule (named by its
// path), so that using it in several places never copies its grammar.
func (c *compiler) visit(s *jv, path string) (*expr, error) {
	e, err := c.compile(s, path)
	if err != nil || e.kind == xRef || e.kind == xBytes {
		return e, err
	}
	return ref(c.b.rule(path, e)), nil
}

// compile compiles a subschema to an expression.
func (c *compiler) compile(s *jv, path string) (*expr, error) {
	switch s.kind {
	case jBool:
		if s.b {
			return c.prim("value"), nil
		}
		return nil, invalid(path, "schema false admits no value")
	case jObject:
	default:
		return nil, invalid(path, "a schema must be an object or a boolean, not %s", s.kind)
	}
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxRefDepth {
		return nil, unsupported(path, "schema nested more than %d levels deep", maxRefDepth)
	}
	for _, m := range s.obj {
		if unsupportedKeys[m.key] {
			return nil, unsupported(path, "keyword %q is not supported", m.key)
		}
	}
	// constraints lists the value-constraining keywords present except
	// those in skip.
	constraints := func(skip ...string) []string {
		var out []string
		for _, m := range s.obj {
			k := m.key
			if annotationKeys[k] || slices.Contains(skip, k) {
				continue
			}
			if combineKeys[k] || objectKeys[k] || arrayKeys[k] || stringKeys[k] || numberKeys[k] {
				out = append(out, k)
			}
		}
		return out
	}

	if r := s.get("$ref"); r != nil {
		if other := constraints("$ref"); len(other) > 0 {
			return nil, unsupported(path, "keywords next to $ref are not supported: %s", strings.Join(other, ", "))
		}
		if r.kind != jString {
			return nil, invalid(path, "$ref must be a string")
		}
		return c.ref(r.s, path)
	}
	for _, k := range []string{"anyOf", "oneOf"} {
		list := s.get(k)
		if list == nil {
			continue
		}
		if other := constraints(k); len(other) > 0 {
			return nil, unsupported(path, "keywords next to %s are not supported: %s", k, strings.Join(other, ", "))
		}
		if list.kind != jArray || len(list.arr) == 0 {
			return nil, invalid(path, "%s must be a non-empty array", k)
		}
		if k == "oneOf" {
			if len(list.arr) > maxOneOf {
				return nil, unsupported(path, "oneOf with more than %d alternatives", maxOneOf)
			}
			if i, j := c.overlapping(list.arr); i >= 0 {
				return nil, unsupported(path, "oneOf alternatives %d and %d may both match a value; oneOf is supported only for alternatives of different types, enum or const values, or objects with a required const property that tells them apart (use anyOf)", i, j)
			}
		}
		var alts []*expr
		for i, sub := range list.arr {
			if sub.kind == jBool && !sub.b {
				continue
			}
			e, err := c.visit(sub, fmt.Sprintf("%s/%s/%d", path, k, i))
			if err != nil {
				return nil, err
			}
			alts = append(alts, e)
		}
		if len(alts) == 0 {
			return nil, invalid(path, "no %s alternative admits a value", k)
		}
		return alt(alts...), nil
	}
	if list := s.get("allOf"); list != nil {
		if list.kind != jArray || len(list.arr) == 0 {
			return nil, invalid(path, "allOf must be a non-empty array")
		}
		if other := constraints("allOf"); len(other) > 0 || len(list.arr) > 1 {
			return nil, unsupported(path, "allOf is supported only with a single schema and nothing next to it")
		}
		return c.visit(list.arr[0], path+"/allOf/0")
	}

	types, err := schemaTypes(s, path)
	if err != nil {
		return nil, err
	}
	if s.get("enum") != nil || s.get("const") != nil {
		if other := constraints("enum", "const", "type"); len(other) > 0 {
			return nil, unsupported(path, "enum or const together with %s is not supported", strings.Join(other, ", "))
		}
		return enumExpr(s, types, path)
	}
	if types == nil {
		types = inferTypes(s)
		if types == nil {
			return c.prim("value"), nil
		}
	}
	var alts []*expr
	for _, t := range types {
		e, err := c.typeExpr(s, t, path)
		if err != nil {
			return nil, err
		}
		alts = append(alts, e)
	}
	return alt(alts...), nil
}

var typeNames = []string{"null", "boolean", "object", "array", "number", "string", "integer"}

// schemaTypes returns the "type" keyword as a list (nil when absent);
// "integer" is dropped when "number" is also listed.
func schemaTypes(s *jv, path string) ([]string, error) {
	t := s.get("type")
	if t == nil {
		return nil, nil
	}
	var names []string
	switch t.kind {
	case jString:
		names = []string{t.s}
	case jArray:
		for _, e := range t.arr {
			if e.kind != jString {
				return nil, invalid(path, "type must be a string or an array of strings")
			}
			names = append(names, e.s)
		}
	default:
		return nil, invalid(path, "type must be a string or an array of strings")
	}
	if len(names) == 0 {
		return nil, invalid(path, "type is an empty array")
	}
	var out []string
	for _, n := range names {
		if !slices.Contains(typeNames, n) {
			return nil, invalid(path, "unknown type %q", n)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if slices.Contains(out, "number") {
		out = slices.DeleteFunc(out, func(n string) bool { return n == "integer" })
	}
	return out, nil
}

// inferTypes picks the types a schema without "type" constrains by its
// keywords; nil when it constrains none (any value). Producing only those
// types is valid output: the keywords of other types would not apply.
func inferTypes(s *jv) []string {
	var out []string
	for _, g := range []struct {
		name string
		keys map[string]bool
	}{{"object", objectKeys}, {"array", arrayKeys}, {"string", stringKeys}, {"number", numberKeys}} {
		for _, m := range s.obj {
			if g.keys[m.key] {
				out = append(out, g.name)
				break
			}
		}
	}
	return out
}

func enumExpr(s *jv, types []string, path string) (*expr, error) {
	var values []*jv
	if e := s.get("enum"); e != nil {
		if e.kind != jArray {
			return nil, invalid(path, "enum must be an array")
		}
		values = e.arr
	}
	if k := s.get("const"); k != nil {
		if s.get("enum") != nil {
			values = slices.DeleteFunc(slices.Clone(values), func(v *jv) bool { return !jsonEqual(v, k) })
		} else {
			values = []*jv{k}
		}
	}
	var alts []*expr
	for _, v := range values {
		if types != nil && !hasType(v, types) {
			continue
		}
		alts = append(alts, lit(string(v.appendJSON(nil))))
	}
	if len(alts) == 0 {
		return nil, invalid(path, "no enum or const value is allowed by the schema")
	}
	return alt(alts...), nil
}

func hasType(v *jv, types []string) bool {
	for _, t := range types {
		if t == v.kind.String() || (t == "integer" && v.kind == jNumber && v.isInteger()) {
			return true
		}
	}
	return false
}

// jsonEqual is JSON Schema equality: numbers by value, objects ignoring
// member order.
func jsonEqual(a, b *jv) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case jNull:
		return true
	case jBool:
		return a.b == b.b
	case jString:
		return a.s == b.s
	case jNumber:
		x, ok1 := a.rat()
		y, ok2 := b.rat()
		return ok1 && ok2 && x.Cmp(y) == 0
	case jArray:
		return slices.EqualFunc(a.arr, b.arr, jsonEqual)
	case jObject:
		if len(a.obj) != len(b.obj) {
			return false
		}
		for _, m := range a.obj {
			if o := b.get(m.key); o == nil || !jsonEqual(m.val, o) {
				return false
			}
		}
		return true
	}
	return false
}

// resolveRef looks up a local JSON pointer ("#", "#/a/0/b") in root.
func resolveRef(root *jv, target string) (*jv, error) {
	frag, ok := strings.CutPrefix(target, "#")
	if !ok || frag != "" && frag[0] != '/' {
		return nil, fmt.Errorf("$ref %q is not a local JSON pointer", target)
	}
	v := root
	if frag == "" {
		return v, nil
	}
	for _, tok := range strings.Split(frag[1:], "/") {
		tok, err := url.PathUnescape(tok)
		if err != nil {
			return nil, fmt.Errorf("$ref %q: %v", target, err)
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch v.kind {
		case jObject:
			v = v.get(tok)
		case jArray:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v.arr) {
				v = nil
			} else {
				v = v.arr[i]
			}
		default:
			v = nil
		}
		if v == nil {
			return nil, fmt.Errorf("$ref %q does not resolve", target)
		}
	}
	return v, nil
}

// ref compiles a $ref: local JSON pointers only.
func (c *compiler) ref(target, path string) (*expr, error) {
	if r, ok := c.refs[target]; ok {
		return ref(r), nil
	}
	if !strings.HasPrefix(target, "#") {
		return nil, unsupported(path, "$ref %q: only references within the schema (#/...) are supported", target)
	}
	frag := target[1:]
	if frag != "" && !strings.HasPrefix(frag, "/") {
		return nil, unsupported(path, "$ref %q: anchors are not supported, use a JSON pointer", target)
	}
	v, err := resolveRef(c.root, target)
	if err != nil {
		return nil, invalid(path, "%v", err)
	}
	r := c.b.newRule(target)
	c.refs[target] = r
	e, err := c.compile(v, target)
	if err != nil {
		return nil, err
	}
	c.b.define(r, e)
	return ref(r), nil
}

func (c *compiler) typeExpr(s *jv, t, path string) (*expr, error) {
	switch t {
	case "null":
		return c.prim("null"), nil
	case "boolean":
		return c.prim("boolean"), nil
	case "integer":
		return c.integerExpr(s, path)
	case "number":
		return c.numberExpr(s, path)
	case "string":
		return c.stringExpr(s, path)
	case "array":
		return c.arrayExpr(s, path)
	case "object":
		return c.objectExpr(s, path)
	}
	return nil, invalid(path, "unknown type %q", t)
}

// count reads a non-negative integer keyword; -1 when absent.
func count(s *jv, key, path string) (int, error) {
	v := s.get(key)
	if v == nil {
		return -1, nil
	}
	r, ok := v.rat()
	if !ok || !r.IsInt() || r.Sign() < 0 {
		return 0, invalid(path, "%s must be a non-negative integer", key)
	}
	if !r.Num().IsInt64() || r.Num().Int64() > maxRepeat {
		return 0, unsupported(path, "%s %s is larger than the supported %d", key, v.s, maxRepeat)
	}
	return int(r.Num().Int64()), nil
}

func (c *compiler) integerExpr(s *jv, path string) (*expr, error) {
	if m := s.get("multipleOf"); m != nil {
		if r, ok := m.rat(); !ok || r.Cmp(big.NewRat(1, 1)) != 0 {
			return nil, unsupported(path, "multipleOf %s is not supported (only 1)", m.s)
		}
	}
	var lo, hi *big.Int
	bound := func(key string, f func(r *big.Rat) *big.Int, lower bool) error {
		v := s.get(key)
		if v == nil {
			return nil
		}
		r, ok := v.rat()
		if !ok {
			return invalid(path, "%s must be a number", key)
		}
		b := f(r)
		if lower && (lo == nil || b.Cmp(lo) > 0) {
			lo = b
		}
		if !lower && (hi == nil || b.Cmp(hi) < 0) {
			hi = b
		}
		return nil
	}
	one := big.NewInt(1)
	for _, k := range []struct {
		key   string
		f     func(*big.Rat) *big.Int
		lower bool
	}{
		{"minimum", ceilRat, true},
		{"exclusiveMinimum", func(r *big.Rat) *big.Int { return new(big.Int).Add(floorRat(r), one) }, true},
		{"maximum", floorRat, false},
		{"exclusiveMaximum", func(r *big.Rat) *big.Int { return new(big.Int).Sub(ceilRat(r), one) }, false},
	} {
		if err := bound(k.key, k.f, k.lower); err != nil {
			return nil, err
		}
	}
	if lo == nil && hi == nil {
		return c.prim("integer"), nil
	}
	limit := big.NewInt(intLimit)
	negLimit := new(big.Int).Neg(limit)
	if lo == nil || lo.Cmp(negLimit) < 0 {
		lo = negLimit
	}
	if hi == nil || hi.Cmp(limit) > 0 {
		hi = limit
	}
	if lo.Cmp(limit) > 0 || hi.Cmp(negLimit) < 0 {
		return nil, unsupported(path, "integer bounds beyond ±%d are not supported", int64(intLimit))
	}
	if lo.Cmp(hi) > 0 {
		return nil, invalid(path, "no integer lies between the minimum and the maximum")
	}
	return intRange(lo.Int64(), hi.Int64()), nil
}

// numberExpr compiles a number with optional bounds; bounded numbers are
// written without exponent (see numberRange).
func (c *compiler) numberExpr(s *jv, path string) (*expr, error) {
	if m := s.get("multipleOf"); m != nil {
		return nil, unsupported(path, "multipleOf is supported for type integer only (and only 1)")
	}
	lo, hi := new(big.Rat).Neg(numLimit), numLimit
	bounded := false
	for _, k := range []struct {
		key              string
		lower, exclusive bool
	}{{"minimum", true, false}, {"exclusiveMinimum", true, true}, {"maximum", false, false}, {"exclusiveMaximum", false, true}} {
		v := s.get(k.key)
		if v == nil {
			continue
		}
		r, ok := v.rat()
		if !ok {
			return nil, invalid(path, "%s must be a number", k.key)
		}
		bounded = true
		b := toGrid(r, k.lower, k.exclusive)
		if k.lower && b.Cmp(lo) > 0 {
			lo = b
		}
		if !k.lower && b.Cmp(hi) < 0 {
			hi = b
		}
	}
	if !bounded {
		return c.prim("number"), nil
	}
	if lo.Cmp(numLimit) > 0 || hi.Cmp(new(big.Rat).Neg(numLimit)) < 0 {
		return nil, unsupported(path, "number bounds beyond ±10^16 are not supported")
	}
	if lo.Cmp(hi) > 0 {
		return nil, invalid(path, "no number lies between the minimum and the maximum")
	}
	return numberRange(lo, hi), nil
}

func floorRat(r *big.Rat) *big.Int {
	// Euclidean division rounds down for a positive divisor, and Rat
	// denominators are positive.
	q, _ := new(big.Int).DivMod(r.Num(), r.Denom(), new(big.Int))
	return q
}

func ceilRat(r *big.Rat) *big.Int {
	q := floorRat(r)
	if !r.IsInt() {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// intRange matches the decimal integers lo..hi in canonical form (no
// leading zeros, no "-0").
func intRange(lo, hi int64) *expr {
	var alts []*expr
	if lo < 0 {
		a, b := int64(1), -lo
		if hi < 0 {
			a = -hi
		}
		alts = append(alts, seq(lit("-"), natRange(a, b)))
	}
	if hi >= 0 {
		alts = append(alts, natRange(max(lo, 0), hi))
	}
	return alt(alts...)
}

// natRange matches a..b (0 ≤ a ≤ b), one alternative per digit count.
func natRange(a, b int64) *expr {
	var alts []*expr
	as, bs := strconv.FormatInt(a, 10), strconv.FormatInt(b, 10)
	for n := len(as); n <= len(bs); n++ {
		lo, hi := as, bs
		if n > len(as) {
			lo = "1" + strings.Repeat("0", n-1)
		}
		if n < len(bs) {
			hi = strings.Repeat("9", n)
		}
		alts = append(alts, digitRange(lo, hi))
	}
	return alt(alts...)
}

// digitRange matches the digit strings of lo's length between lo and hi.
func digitRange(lo, hi string) *expr {
	if lo == "" {
		return eps()
	}
	if lo[0] == hi[0] {
		return seq(oneByte(lo[0]), digitRange(lo[1:], hi[1:]))
	}
	n := len(lo) - 1
	if n == 0 {
		return byteRange(lo[0], hi[0])
	}
	any := rep(byteRange('0', '9'), n, n)
	var alts []*expr
	from, to := lo[0], hi[0]
	if lo[1:] != strings.Repeat("0", n) {
		alts = append(alts, seq(oneByte(lo[0]), digitRange(lo[1:], strings.Repeat("9", n))))
		from++
	}
	highAll := hi[1:] == strings.Repeat("9", n)
	if !highAll {
		to--
	}
	if from <= to {
		alts = append(alts, seq(byteRange(from, to), any))
	}
	if !highAll {
		alts = append(alts, seq(oneByte(hi[0]), digitRange(strings.Repeat("0", n), hi[1:])))
	}
	return alt(alts...)
}

func (c *compiler) stringExpr(s *jv, path string) (*expr, error) {
	minLen, err := count(s, "minLength", path)
	if err != nil {
		return nil, err
	}
	maxLen, err := count(s, "maxLength", path)
	if err != nil {
		return nil, err
	}
	pattern, format := s.get("pattern"), s.get("format")
	q := lit(`"`)
	switch {
	case pattern != nil:
		if pattern.kind != jString {
			return nil, invalid(path, "pattern must be a string")
		}
		if format != nil || minLen >= 0 || maxLen >= 0 {
			return nil, unsupported(path, "pattern together with format, minLength or maxLength is not supported")
		}
		e, err := patternExpr(pattern.s)
		if err != nil {
			return nil, unsupported(path, "pattern %q: %v", pattern.s, err)
		}
		return seq(q, e, q), nil
	case format != nil:
		if format.kind != jString {
			return nil, invalid(path, "format must be a string")
		}
		if minLen >= 0 || maxLen >= 0 {
			return nil, unsupported(path, "format together with minLength or maxLength is not supported")
		}
		var e *expr
		switch format.s {
		case "date":
			e = c.prim("date")
		case "time":
			e = c.prim("time")
		case "date-time":
			e = seq(c.prim("date"), lit("T"), c.prim("time"))
		case "uuid":
			h := c.prim("hex")
			e = seq(rep(h, 8, 8), lit("-"), rep(h, 4, 4), lit("-"), rep(h, 4, 4), lit("-"), rep(h, 4, 4), lit("-"), rep(h, 12, 12))
		case "ipv4":
			octet := alt(byteRange('0', '9'), seq(byteRange('1', '9'), byteRange('0', '9')),
				seq(lit("1"), byteRange('0', '9'), byteRange('0', '9')),
				seq(lit("2"), byteRange('0', '4'), byteRange('0', '9')), seq(lit("25"), byteRange('0', '5')))
			e = seq(octet, lit("."), octet, lit("."), octet, lit("."), octet)
		default:
			return nil, unsupported(path, "format %q is not supported (date, time, date-time, uuid, ipv4 are)", format.s)
		}
		return seq(q, e, q), nil
	case minLen >= 0 || maxLen >= 0:
		minLen = max(minLen, 0)
		if maxLen >= 0 && minLen > maxLen {
			return nil, invalid(path, "minLength %d is larger than maxLength %d", minLen, maxLen)
		}
		return seq(q, rep(c.prim("char"), minLen, maxLen), q), nil
	}
	return c.prim("string"), nil
}

// dateExpr matches RFC 3339 full-date with real month lengths and leap
// years.
func dateExpr() *expr {
	d := func(lo, hi byte) *expr { return byteRange(lo, hi) }
	year := rep(d('0', '9'), 4, 4)
	day28 := alt(seq(lit("0"), d('1', '9')), seq(lit("1"), d('0', '9')), seq(lit("2"), d('0', '8')))
	day30 := alt(seq(lit("0"), d('1', '9')), seq(d('1', '2'), d('0', '9')), lit("30"))
	day31 := alt(seq(lit("0"), d('1', '9')), seq(d('1', '2'), d('0', '9')), seq(lit("3"), d('0', '1')))
	by4 := alt(seq(lit("0"), bytesOf("48")), seq(bytesOf("2468"), bytesOf("048")), seq(bytesOf("13579"), bytesOf("26")))
	leap := alt(seq(d('0', '9'), d('0', '9'), by4), seq(by4, lit("00")))
	return alt(
		seq(year, lit("-"), alt(seq(lit("0"), bytesOf("13578")), seq(lit("1"), bytesOf("02"))), lit("-"), day31),
		seq(year, lit("-"), alt(seq(lit("0"), bytesOf("469")), lit("11")), lit("-"), day30),
		seq(year, lit("-02-"), day28),
		seq(leap, lit("-02-29")),
	)
}

// timeExpr matches RFC 3339 full-time (no leap second).
func timeExpr() *expr {
	d := func(lo, hi byte) *expr { return byteRange(lo, hi) }
	hour := alt(seq(d('0', '1'), d('0', '9')), seq(lit("2"), d('0', '3')))
	min := seq(d('0', '5'), d('0', '9'))
	frac := opt(seq(lit("."), rep(d('0', '9'), 1, 9)))
	offset := alt(lit("Z"), seq(bytesOf("+-"), hour, lit(":"), min))
	return seq(hour, lit(":"), min, lit(":"), min, frac, offset)
}

func (c *compiler) arrayExpr(s *jv, path string) (*expr, error) {
	minItems, err := count(s, "minItems", path)
	if err != nil {
		return nil, err
	}
	maxItems, err := count(s, "maxItems", path)
	if err != nil {
		return nil, err
	}
	if u := s.get("uniqueItems"); u != nil && !(u.kind == jBool && !u.b) {
		return nil, unsupported(path, "keyword \"uniqueItems\" is not supported")
	}
	minItems = max(minItems, 0)
	if maxItems < 0 {
		maxItems = -1
	}
	// Items: a prefix of positional schemas, then one schema for the rest.
	var prefix []*jv
	prefixPath := path + "/prefixItems"
	var rest *jv
	restPath := path + "/items"
	items, prefixItems := s.get("items"), s.get("prefixItems")
	switch {
	case items != nil && items.kind == jArray: // draft 7 tuple
		prefix, prefixPath = items.arr, path+"/items"
		rest, restPath = s.get("additionalItems"), path+"/additionalItems"
	default:
		if prefixItems != nil {
			if prefixItems.kind != jArray {
				return nil, invalid(path, "prefixItems must be an array")
			}
			prefix = prefixItems.arr
		}
		rest = items
	}
	ws := c.prim("ws")
	var pre []*expr
	for i, p := range prefix {
		if p.kind == jBool && !p.b {
			if maxItems < 0 || maxItems > i {
				maxItems = i
			}
			break
		}
		e, err := c.visit(p, fmt.Sprintf("%s/%d", prefixPath, i))
		if err != nil {
			return nil, err
		}
		pre = append(pre, e)
	}
	var restExpr *expr
	switch {
	case rest == nil:
		restExpr = c.prim("value")
	case rest.kind == jBool && !rest.b:
		if maxItems < 0 || maxItems > len(pre) {
			maxItems = len(pre)
		}
	default:
		if restExpr, err = c.visit(rest, restPath); err != nil {
			return nil, err
		}
	}
	if maxItems >= 0 && minItems > maxItems {
		return nil, invalid(path, "minItems %d is more than the %d items allowed", minItems, maxItems)
	}
	item := func(i int) *expr {
		if i < len(pre) {
			return pre[i]
		}
		return restExpr
	}
	// from(i) is the items after the first i, each preceded by a comma.
	var from func(i int) *expr
	from = func(i int) *expr {
		if i == maxItems {
			return eps()
		}
		if i >= len(pre) {
			hi := -1
			if maxItems >= 0 {
				hi = maxItems - i
			}
			return rep(seq(lit(","), ws, restExpr, ws), max(minItems-i, 0), hi)
		}
		next := seq(lit(","), ws, item(i), ws, from(i+1))
		if i >= minItems {
			return opt(next)
		}
		return next
	}
	var body *expr
	if maxItems == 0 {
		body = eps()
	} else {
		body = seq(item(0), ws, from(1))
		if minItems == 0 {
			body = opt(body)
		}
	}
	return seq(lit("["), ws, body, lit("]")), nil
}

type property struct {
	name     string
	value    *expr
	required bool
}

func (c *compiler) objectExpr(s *jv, path string) (*expr, error) {
	props, required := s.get("properties"), s.get("required")
	if props != nil && props.kind != jObject {
		return nil, invalid(path, "properties must be an object")
	}
	var req []string
	isReq := map[string]bool{}
	if required != nil {
		if required.kind != jArray {
			return nil, invalid(path, "required must be an array of strings")
		}
		for _, r := range required.arr {
			if r.kind != jString {
				return nil, invalid(path, "required must be an array of strings")
			}
			if !isReq[r.s] {
				isReq[r.s] = true
				req = append(req, r.s)
			}
		}
	}
	// Extra properties: absent additionalProperties allows them only when
	// no properties are declared (llama.cpp does the same; fewer choices
	// still validate).
	var extra *expr
	addl := s.get("additionalProperties")
	switch {
	case addl == nil:
		if props == nil {
			extra = c.prim("value")
		}
	case addl.kind == jBool:
		if addl.b {
			extra = c.prim("value")
		}
	default:
		e, err := c.visit(addl, path+"/additionalProperties")
		if err != nil {
			return nil, err
		}
		extra = e
	}

	var list []property
	if props != nil {
		for _, m := range props.obj {
			required := isReq[m.key]
			if m.val.kind == jBool && !m.val.b {
				if required {
					return nil, invalid(path, "required property %q has schema false", m.key)
				}
				continue
			}
			e, err := c.visit(m.val, path+"/properties/"+escapePointer(m.key))
			if err != nil {
				return nil, err
			}
			list = append(list, property{m.key, e, required})
		}
	}
	for _, r := range req {
		if props.get(r) != nil {
			continue
		}
		v := extra
		if v == nil {
			if addl != nil {
				return nil, invalid(path, "required property %q is not in properties and additionalProperties is false", r)
			}
			v = c.prim("value")
		}
		list = append(list, property{r, v, true})
	}
	if n, err := count(s, "minProperties", path); err != nil {
		return nil, err
	} else if n > 0 && n > len(req) {
		return nil, unsupported(path, "minProperties %d beyond the %d required properties is not supported", n, len(req))
	}
	if n, err := count(s, "maxProperties", path); err != nil {
		return nil, err
	} else if n >= 0 && (extra != nil || n < len(list)) {
		return nil, unsupported(path, "keyword \"maxProperties\" is not supported unless all properties fit")
	}

	ws := c.prim("ws")
	kv := func(name string, v *expr) *expr {
		return seq(lit(string(appendJSONString(nil, name))), ws, lit(":"), ws, v, ws)
	}
	var extraKV *expr
	if extra != nil {
		key := c.prim("string")
		if len(list) > 0 {
			names := make([]string, len(list))
			for i, p := range list {
				names[i] = p.name
			}
			key = seq(lit(`"`), notNames(names), lit(`"`))
		}
		extraKV = seq(key, ws, lit(":"), ws, extra, ws)
	}
	// rules[i][first] emits the members from property i on; first says no
	// member has been emitted yet (so no comma is due).
	n := len(list)
	rules := make([][2]int, n+1)
	for i := range rules {
		rules[i] = [2]int{c.b.newRule(fmt.Sprintf("%s{%d,more}", path, i)), c.b.newRule(fmt.Sprintf("%s{%d,first}", path, i))}
	}
	comma := func(e *expr) *expr { return seq(lit(","), ws, e) }
	if extraKV != nil {
		c.b.define(rules[n][0], star(comma(extraKV)))
		c.b.define(rules[n][1], opt(seq(extraKV, star(comma(extraKV)))))
	} else {
		c.b.define(rules[n][0], eps())
		c.b.define(rules[n][1], eps())
	}
	for i := n - 1; i >= 0; i-- {
		p := list[i]
		m := kv(p.name, p.value)
		more, first := ref(rules[i+1][0]), ref(rules[i+1][1])
		if p.required {
			c.b.define(rules[i][0], seq(comma(m), more))
			c.b.define(rules[i][1], seq(m, more))
		} else {
			c.b.define(rules[i][0], seq(opt(comma(m)), more))
			c.b.define(rules[i][1], alt(seq(m, more), first))
		}
	}
	return seq(lit("{"), ws, ref(rules[0][1]), lit("}")), nil
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// notNames matches the contents of a JSON string key that is none of
// names. Its characters are written raw (no escapes), so the text of a key
// is its value and comparing bytes is enough.
func notNames(names []string) *expr {
	keyChars := jsonRaw
	type trie struct {
		next map[rune]*trie
		end  bool
	}
	root := &trie{}
	for _, n := range names {
		t := root
		for _, r := range n {
			if t.next == nil {
				t.next = map[rune]*trie{}
			}
			nt := t.next[r]
			if nt == nil {
				nt = &trie{}
				t.next[r] = nt
			}
			t = nt
		}
		t.end = true
	}
	anyChar := utf8Expr(keyChars)
	var visit func(t *trie) *expr
	visit = func(t *trie) *expr {
		var alts []*expr
		if !t.end {
			alts = append(alts, eps()) // the key ends here
		}
		var taken runeSet
		runes := make([]rune, 0, len(t.next))
		for r := range t.next {
			runes = append(runes, r)
		}
		slices.Sort(runes)
		for _, r := range runes {
			taken = append(taken, runeRange{r, r})
			if keyChars.intersect(newRuneSet(r, r)) != nil {
				alts = append(alts, seq(utf8Expr(newRuneSet(r, r)), visit(t.next[r])))
			}
		}
		if other := utf8Expr(keyChars.minus(taken.normalize())); other != nil {
			alts = append(alts, seq(other, star(anyChar)))
		}
		return &expr{kind: xAlt, subs: alts}
	}
	return visit(root)
}
