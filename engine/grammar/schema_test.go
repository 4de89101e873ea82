package grammar

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestSchemaMatch checks compiled schemas against texts they must accept
// and texts they must reject.
func TestSchemaMatch(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		good   []string
		bad    []string
	}{
		{"string", `{"type":"string"}`,
			[]string{`""`, `"abc"`, `"a\"b"`, `"\\"`, `"\u00e9\n\t\/"`, `"héllo 世界 🎉"`, `"\u0041"`},
			[]string{`abc`, `"abc`, `"a"b"`, "\"a\nb\"", `"\x"`, `"\u12"`, `"\ud83d\ude00"`, "\"\xff\"", "\"\xc3\"", `"a" `, ` "a"`}},
		{"number", `{"type":"number"}`,
			[]string{`0`, `-0`, `12`, `-3.25`, `1e10`, `1.5E-3`, `2e+7`, `1234567890123456`},
			[]string{`01`, `+1`, `.5`, `1.`, `1e`, `--1`, `12345678901234567`, `1.12345678901234567`, `NaN`}},
		{"integer", `{"type":"integer"}`,
			[]string{`0`, `-7`, `42`},
			[]string{`1.0`, `1e3`, `007`, `-`}},
		{"integer range", `{"type":"integer","minimum":-15,"maximum":120}`,
			[]string{`-15`, `-9`, `-1`, `0`, `7`, `99`, `100`, `119`, `120`},
			[]string{`-16`, `-0`, `121`, `200`, `1000`, `-100`, `05`}},
		{"integer exclusive", `{"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":10.5}`,
			[]string{`1`, `9`, `10`},
			[]string{`0`, `11`, `-1`}},
		{"integer min only", `{"type":"integer","minimum":1990}`,
			[]string{`1990`, `1999`, `2000`, `123456`, `9999999999999999`},
			[]string{`1989`, `0`, `-5`, `999`, `10000000000000000`}},
		{"integer max only", `{"type":"integer","maximum":-3}`,
			[]string{`-3`, `-4`, `-1000`},
			[]string{`-2`, `0`, `3`}},
		{"boolean null", `{"type":["boolean","null"]}`,
			[]string{`true`, `false`, `null`},
			[]string{`True`, `0`, `"null"`}},
		{"enum", `{"enum":["red","gr\"een",3,null,{"a":[1]}]}`,
			[]string{`"red"`, `"gr\"een"`, `3`, `null`, `{"a":[1]}`},
			[]string{`"blue"`, `4`, `"red" `}},
		{"enum filtered by type", `{"type":"string","enum":["a",1]}`,
			[]string{`"a"`}, []string{`1`}},
		{"const", `{"const":"x"}`, []string{`"x"`}, []string{`"y"`}},
		{"object strict", `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}`,
			[]string{`{"name":"a","age":3}`, `{ "name" : "a" , "age" : 3 }`, "{\n  \"name\": \"a\",\n  \"age\": 3\n}"},
			[]string{`{"age":3,"name":"a"}`, `{"name":"a"}`, `{}`, `{"name":"a","age":3,"x":1}`, `{"name":"a","age":3,}`, "{\"name\":\"a\",  \"age\":3}"}},
		{"object optional", `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"},"c":{"type":"integer"}},"required":["b"]}`,
			[]string{`{"b":1}`, `{"a":1,"b":2}`, `{"b":2,"c":3}`, `{"a":1,"b":2,"c":3}`},
			[]string{`{}`, `{"a":1}`, `{"b":1,"a":2}`, `{"c":1,"b":2}`, `{"b":1,"d":2}`}},
		{"object all optional", `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}}}`,
			[]string{`{}`, `{"a":1}`, `{"b":1}`, `{"a":1,"b":2}`},
			[]string{`{,"b":1}`, `{"a":1,}`, `{"b":1,"a":2}`}},
		{"additional properties schema", `{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"],"additionalProperties":{"type":"boolean"}}`,
			[]string{`{"id":1}`, `{"id":1,"x":true}`, `{"id":1,"x":true,"ida":false}`},
			[]string{`{"id":1,"x":1}`, `{"id":1,"id":true}`, `{"x":true,"id":1}`}},
		{"map", `{"type":"object","additionalProperties":{"type":"integer"}}`,
			[]string{`{}`, `{"a":1,"b":2}`},
			[]string{`{"a":"x"}`}},
		{"generic object", `{"type":"object"}`,
			[]string{`{}`, `{"a":[1,{"b":null}],"c":"d"}`},
			[]string{`[]`, `{"a"}`}},
		{"array bounds", `{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3}`,
			[]string{`[1,2]`, `[1,2,3]`, `[ 1 , 2 ]`},
			[]string{`[]`, `[1]`, `[1,2,3,4]`, `[1,"a"]`, `[1,2,]`}},
		{"array unbounded", `{"type":"array","items":{"type":"string"}}`,
			[]string{`[]`, `["a"]`, `["a","b","c","d","e"]`},
			[]string{`[1]`, `["a",]`}},
		{"tuple", `{"type":"array","prefixItems":[{"type":"integer"},{"type":"string"}],"items":false}`,
			[]string{`[]`, `[1]`, `[1,"a"]`},
			[]string{`["a"]`, `[1,"a",2]`}},
		{"tuple min", `{"type":"array","prefixItems":[{"type":"integer"},{"type":"string"}],"items":{"type":"null"},"minItems":3}`,
			[]string{`[1,"a",null]`, `[1,"a",null,null]`},
			[]string{`[1,"a"]`, `[1,"a",1]`}},
		{"anyOf", `{"anyOf":[{"type":"integer"},{"type":"object","properties":{"k":{"const":1}},"required":["k"]}]}`,
			[]string{`5`, `{"k":1}`}, []string{`"x"`, `{"k":2}`}},
		{"ref recursion", `{"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v","kids"],"additionalProperties":false}},"$ref":"#/$defs/node"}`,
			[]string{`{"v":1,"kids":[]}`, `{"v":1,"kids":[{"v":2,"kids":[{"v":3,"kids":[]}]}]}`},
			[]string{`{"v":1}`, `{"v":1,"kids":[{"v":2}]}`}},
		{"root ref", `{"type":"object","properties":{"next":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},"required":["next"],"additionalProperties":false}`,
			[]string{`{"next":null}`, `{"next":{"next":null}}`}, []string{`{}`, `{"next":{}}`}},
		{"string length", `{"type":"string","minLength":2,"maxLength":3}`,
			[]string{`"ab"`, `"abc"`, `"é\n"`, `"\u0041\u0042"`, `"世界"`},
			[]string{`""`, `"a"`, `"abcd"`, `"\n"`}},
		{"pattern", `{"type":"string","pattern":"^[a-z]+-[0-9]{2,3}$"}`,
			[]string{`"ab-12"`, `"x-123"`},
			[]string{`"ab-1"`, `"AB-12"`, `"ab-1234"`, `"-12"`}},
		{"pattern unanchored", `{"type":"string","pattern":"ab"}`,
			[]string{`"ab"`, `"xxabyy"`},
			[]string{`"a"`, `"ba"`}},
		{"pattern escapes", `{"type":"string","pattern":"^\"[\\\\/]\\n.$"}`,
			[]string{`"\"\\\nx"`, `"\"/\n\""`},
			[]string{`"\"\\\n\n"`, `"\"\\n"`}},
		{"pattern fold", `{"type":"string","pattern":"^(?i)ok$"}`,
			[]string{`"ok"`, `"OK"`, `"oK"`}, []string{`"no"`}},
		{"date", `{"type":"string","format":"date"}`,
			[]string{`"2024-02-29"`, `"2000-02-29"`, `"2023-12-31"`, `"2023-04-30"`},
			[]string{`"2023-02-29"`, `"1900-02-29"`, `"2023-04-31"`, `"2023-13-01"`, `"2023-00-10"`, `"2023-1-1"`}},
		{"date-time", `{"type":"string","format":"date-time"}`,
			[]string{`"2024-05-06T07:08:09Z"`, `"2024-05-06T23:59:59.123+05:30"`},
			[]string{`"2024-05-06 07:08:09Z"`, `"2024-05-06T24:00:00Z"`, `"2024-05-06T07:08:09"`}},
		{"uuid", `{"type":"string","format":"uuid"}`,
			[]string{`"123e4567-e89b-12d3-a456-426614174000"`},
			[]string{`"123e4567e89b12d3a456426614174000"`, `"123e4567-e89b-12d3-a456-42661417400g"`}},
		{"ipv4", `{"format":"ipv4"}`,
			[]string{`"192.168.0.1"`, `"255.255.255.255"`, `"0.0.0.0"`},
			[]string{`"256.1.1.1"`, `"01.1.1.1"`, `"1.1.1"`}},
		{"any", `{}`,
			[]string{`1`, `"s"`, `[{"a":null}]`, `true`}, []string{`{`, `tru`}},
		{"true", `true`, []string{`[]`}, []string{``}},
		{"nullable via type list", `{"type":["string","null"],"maxLength":1}`,
			[]string{`"a"`, `null`}, []string{`"ab"`}},
		{"oneOf types", `{"oneOf":[{"type":"string"},{"type":["integer","null"]},{"enum":[true]}]}`,
			[]string{`"a"`, `3`, `null`, `true`}, []string{`false`, `1.5`}},
		{"oneOf tagged", `{"$defs":{"cat":{"type":"object","properties":{"kind":{"const":"cat"},"lives":{"type":"integer"}},"required":["kind","lives"],"additionalProperties":false},"dog":{"type":"object","properties":{"kind":{"enum":["dog","puppy"]}},"required":["kind"],"additionalProperties":false}},"oneOf":[{"$ref":"#/$defs/cat"},{"$ref":"#/$defs/dog"}]}`,
			[]string{`{"kind":"cat","lives":9}`, `{"kind":"puppy"}`}, []string{`{"kind":"cat"}`, `{"kind":"dog","lives":1}`}},
		{"allOf single", `{"allOf":[{"type":"integer"}],"description":"x"}`,
			[]string{`1`}, []string{`"1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := CompileJSONSchema([]byte(tt.schema))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.good {
				if !g.Match([]byte(s)) {
					t.Errorf("rejected %q", s)
				}
			}
			for _, s := range tt.bad {
				if g.Match([]byte(s)) {
					t.Errorf("accepted %q", s)
				}
			}
		})
	}
}

func TestJSONObjectGrammar(t *testing.T) {
	g := JSONObject()
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":{"b":[1,2.5,"x",true,false,null,{}]}}`, "{\n  \"k\": [ ]\n}"} {
		if !g.Match([]byte(s)) {
			t.Errorf("rejected %q", s)
		}
	}
	for _, s := range []string{`[]`, `1`, `"x"`, `{"a":}`, `{'a':1}`, `{"a":1}}`, ` {}`} {
		if g.Match([]byte(s)) {
			t.Errorf("accepted %q", s)
		}
	}
	for s, want := range map[string]bool{``: true, `{"a":[1,`: true, `{"a":[1,{"b":"\u00`: true, `{"a":]`: false, `{"a":1}x`: false} {
		if got := g.MatchPrefix([]byte(s)); got != want {
			t.Errorf("MatchPrefix(%q) = %v", s, got)
		}
	}
}

// TestSchemaErrors checks that bad and unsupported schemas fail with
// errors naming the problem and where it is.
func TestSchemaErrors(t *testing.T) {
	tests := []struct {
		schema      string
		unsupported bool
		want        []string // substrings of the message
	}{
		{`{"type":"string","not":{"const":"a"}}`, true, []string{`"not"`, "#"}},
		{`{"properties":{"a":{"if":{},"then":{}}}}`, true, []string{`"if"`, "#/properties/a"}},
		{`{"type":"object","patternProperties":{"^x":{}}}`, true, []string{"patternProperties"}},
		{`{"type":"array","uniqueItems":true}`, true, []string{"uniqueItems"}},
		{`{"type":"number","multipleOf":0.5}`, true, []string{"multipleOf"}},
		{`{"type":"number","minimum":1e20}`, true, []string{"10^16"}},
		{`{"type":"number","minimum":2,"exclusiveMaximum":2}`, false, []string{"no number"}},
		{`{"type":"number","minimum":true}`, false, []string{"minimum"}},
		{`{"type":"integer","multipleOf":3}`, true, []string{"multipleOf"}},
		{`{"type":"string","format":"email"}`, true, []string{`"email"`}},
		{`{"$ref":"https://example.com/s.json"}`, true, []string{"$ref", "example.com"}},
		{`{"$ref":"#foo"}`, true, []string{"anchors"}},
		{`{"allOf":[{"type":"object"},{"required":["a"]}]}`, true, []string{"allOf"}},
		{`{"$ref":"#/$defs/a","type":"object","$defs":{"a":{}}}`, true, []string{"next to $ref", "type"}},
		{`{"type":"string","pattern":"(?=a)b"}`, true, []string{"pattern"}},
		{`{"type":"string","pattern":"a\\bb"}`, true, []string{"word boundary"}},
		{`{"type":"array","maxItems":100000}`, true, []string{"maxItems", "100000"}},
		{`{"type":"string","minLength":5,"format":"date"}`, true, []string{"format"}},
		{`{"type":"string","enum":["a"],"maxLength":3}`, true, []string{"enum", "maxLength"}},
		{`{"oneOf":[{"type":"number"},{"type":"integer"}]}`, true, []string{"oneOf alternatives 0 and 1"}},
		{`{"oneOf":[{"type":"string"},{"minLength":2}]}`, true, []string{"oneOf"}},
		{`{"oneOf":[{"type":"object","properties":{"k":{"const":1}},"required":["k"]},{"type":"object","properties":{"k":{"enum":[2,1.0]}},"required":["k"]}]}`, true, []string{"oneOf"}},
		{`{"$ref":"#/$defs/missing"}`, false, []string{"does not resolve"}},
		{`{"type":"strin"}`, false, []string{`"strin"`}},
		{`{"type":"array","minItems":3,"maxItems":2}`, false, []string{"minItems"}},
		{`{"type":"string","minLength":-1}`, false, []string{"minLength"}},
		{`false`, false, []string{"false"}},
		{`{"enum":[]}`, false, []string{"enum"}},
		{`{"anyOf":[]}`, false, []string{"anyOf"}},
		{`{"type":"integer","minimum":5,"maximum":4}`, false, []string{"minimum"}},
		{`{"type":"object","properties":{"a":false},"required":["a"]}`, false, []string{`"a"`}},
		{`[1]`, false, []string{"array"}},
		{`{"type":`, false, []string{"not valid JSON"}},
		{`{"a":1,"a":2}`, false, []string{"duplicate"}},
		{strings.Repeat("[", 1000) + strings.Repeat("]", 1000), false, []string{"nested"}},
		{`{"$ref":"#"}`, false, []string{"no finite value"}},
		{`{"anyOf":[{"$ref":"#"},{"type":"null"}]}`, false, []string{"left-recursive"}},
		{`{"type":"object","properties":{"a":{"$ref":"#"}},"required":["a"]}`, false, []string{"no finite value"}},
	}
	for _, tt := range tests {
		_, err := CompileJSONSchema([]byte(tt.schema))
		if err == nil {
			t.Errorf("%s: compiled, want an error", tt.schema)
			continue
		}
		if got := errors.Is(err, ErrUnsupported); got != tt.unsupported {
			t.Errorf("%s: errors.Is(err, ErrUnsupported) = %v, want %v (%v)", tt.schema, got, tt.unsupported, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tt.schema, err, w)
			}
		}
		if !strings.HasPrefix(err.Error(), "grammar: ") {
			t.Errorf("%s: error %q lacks the package prefix", tt.schema, err)
		}
	}
}

// TestIntRange checks the integer range grammar against every value
// around its bounds.
func TestIntRange(t *testing.T) {
	ranges := [][2]int64{{0, 0}, {0, 9}, {3, 7}, {7, 123}, {-123, -7}, {-50, 50}, {10, 99}, {100, 1000}, {95, 105}, {1, 19999}, {-1, 0}, {-9, 9}, {42, 42}}
	for _, r := range ranges {
		var b builder
		g, err := b.build(b.rule("root", intRange(r[0], r[1])))
		if err != nil {
			t.Fatal(err)
		}
		for v := r[0] - 200; v <= r[1]+200; v++ {
			s := []byte(formatInt(v))
			if got, want := g.Match(s), v >= r[0] && v <= r[1]; got != want {
				t.Errorf("range %v: Match(%s) = %v", r, s, got)
			}
		}
		for _, s := range []string{"-0", "00", "01", "+1", ""} {
			if g.Match([]byte(s)) {
				t.Errorf("range %v: accepted %q", r, s)
			}
		}
	}
}

func formatInt(v int64) string {
	var b []byte
	neg := v < 0
	if neg {
		v = -v
	}
	for {
		b = append([]byte{byte('0' + v%10)}, b...)
		v /= 10
		if v == 0 {
			break
		}
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

// TestUTF8Expr checks the UTF-8 range compiler against every code point
// of several ranges: exactly the encodings of members match.
func TestUTF8Expr(t *testing.T) {
	sets := []runeSet{
		newRuneSet(0, 0x10FFFF),
		newRuneSet('a', 'z', 0xE9, 0xE9),
		newRuneSet(0x7F, 0x801),
		newRuneSet(0xD7F0, 0xE010),
		newRuneSet(0xFFF0, 0x10010),
		newRuneSet(0x3A0, 0x3A0, 0x1F600, 0x1F64F),
	}
	for _, s := range sets {
		var b builder
		g, err := b.build(b.rule("root", utf8Expr(s)))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range s {
			for c := max(r.lo-300, 0); c <= min(r.hi+300, 0x10FFFF); c += max(1, (r.hi-r.lo)/5000) {
				in := c >= 0xD800 && c <= 0xDFFF
				in = !in && s.intersect(newRuneSet(c, c)) != nil
				if c >= 0xD800 && c <= 0xDFFF {
					continue // not encodable
				}
				if got := g.Match([]byte(string(c))); got != in {
					t.Errorf("set %v: Match(U+%04X) = %v", s, c, got)
				}
			}
		}
		// Invalid UTF-8 never matches.
		for _, bad := range []string{"\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "\xe0\x80\x80"} {
			if g.Match([]byte(bad)) {
				t.Errorf("set %v: matched invalid %q", s, bad)
			}
		}
	}
}

// TestNumberRange compares the bounded-number grammar with exact
// arithmetic on many decimals near and between the bounds.
func TestNumberRange(t *testing.T) {
	tests := []string{
		`{"type":"number","minimum":0,"maximum":1}`,
		`{"type":"number","minimum":-2.5,"maximum":3.75}`,
		`{"type":"number","exclusiveMinimum":0.1,"exclusiveMaximum":0.35}`,
		`{"type":"number","minimum":-10}`,
		`{"type":"number","exclusiveMaximum":-0.001}`,
		`{"type":"number","minimum":12.34,"maximum":12.5}`,
		`{"type":"number","minimum":0.5,"maximum":0.5}`,
		`{"type":"number","minimum":1e-3,"maximum":2E1}`,
		`{"type":"number","exclusiveMinimum":-1,"maximum":0}`,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, schema := range tests {
		g, err := CompileJSONSchema([]byte(schema))
		if err != nil {
			t.Fatalf("%s: %v", schema, err)
		}
		s, _ := parseJSON([]byte(schema))
		candidates := []string{"0", "-0", "0.0", "1", "1.0", "-1", "0.5", "0.50", "12.34", "12.5", "12.50001", "12.3399", "-2.5", "-2.50", "-2.51", "3.75", "3.7500000000000001", "3.76", "0.1", "0.1000000000000001", "0.35", "0.3499999999999999", "-10", "-10.0000000000000001", "-9.9", "-0.001", "-0.0010", "-0.0011", "0.001", "20", "20.0", "20.01", "1e3", "00", "1.", ".5"}
		for range 3000 {
			// Random decimals with few digits, near small values.
			ip := rng.IntN(25) - 12
			d := formatInt(int64(ip))
			if rng.IntN(6) == 0 {
				d = "-0"
			}
			if rng.IntN(4) != 0 {
				d += "." + formatInt(int64(rng.IntN(10000)))
			}
			candidates = append(candidates, d)
		}
		for _, c := range candidates {
			v, err := parseJSON([]byte(c))
			want := err == nil && validate(s, s, v, "#") == nil && !strings.ContainsAny(c, "eE")
			if c == "-0" || strings.HasPrefix(c, "-0") && strings.Trim(c, "-0.") == "" {
				continue // "-0" forms are fine either way
			}
			if got := g.Match([]byte(c)); got != want {
				t.Errorf("%s: Match(%s) = %v, want %v", schema, c, got, want)
			}
		}
	}
}

// TestSchemaLimits checks that hostile schemas fail or compile quickly
// instead of blowing up: nesting that would copy grammars exponentially,
// and sizes past the element limit.
func TestSchemaLimits(t *testing.T) {
	nested := `{"type":"integer"}`
	for range 60 {
		// Optional properties appear in two rules of their object each.
		nested = `{"type":"object","properties":{"a":` + nested + `,"b":{"type":"null"}}}`
	}
	if _, err := CompileJSONSchema([]byte(nested)); err != nil {
		t.Errorf("nested optional objects: %v", err)
	}
	deep := strings.Repeat(`{"type":"array","items":`, 200) + `{}` + strings.Repeat(`}`, 200)
	if _, err := CompileJSONSchema([]byte(deep)); err != nil {
		t.Errorf("deep arrays: %v", err)
	}
	huge := `{"type":"array","prefixItems":[` + strings.Repeat(`{"type":"string","maxLength":1000},`, 2000) + `{}]}`
	if _, err := CompileJSONSchema([]byte(huge)); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "too large") {
		t.Errorf("huge grammar: %v, want ErrTooLarge", err)
	}
}

func TestWrap(t *testing.T) {
	g, err := CompileJSONSchema([]byte(`{"type":"object","properties":{"name":{"const":"get_weather"},"arguments":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}},"required":["name","arguments"],"additionalProperties":false}`))
	if err != nil {
		t.Fatal(err)
	}
	w := Wrap("<tool_call>\n", g, "\n</tool_call>")
	good := "<tool_call>\n{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}\n</tool_call>"
	if !w.Match([]byte(good)) {
		t.Errorf("rejected %q", good)
	}
	for _, bad := range []string{good[len("<tool_call>\n") : len(good)-len("\n</tool_call>")], good + " ", "<tool_call>{}</tool_call>"} {
		if w.Match([]byte(bad)) {
			t.Errorf("accepted %q", bad)
		}
	}
	if !g.Match([]byte(`{"name":"get_weather","arguments":{"city":""}}`)) {
		t.Error("Wrap changed the wrapped grammar")
	}
	if w.minLen[w.root] != int32(len("<tool_call>\n\n</tool_call>"))+g.minLen[g.root] {
		t.Errorf("wrapped minimum length %d", w.minLen[w.root])
	}
}

func TestZeroGrammar(t *testing.T) {
	var g Grammar
	if g.Match(nil) || g.MatchPrefix(nil) {
		t.Error("zero Grammar matches")
	}
	if _, err := New(&g, &fakeVocab{pieces: []string{"a"}}); err == nil {
		t.Error("New accepted the zero Grammar")
	}
	if _, err := New(nil, &fakeVocab{pieces: []string{"a"}}); err == nil {
		t.Error("New accepted a nil Grammar")
	}
	if _, err := NewJSONObject(nil); err == nil {
		t.Error("NewJSONObject accepted a nil vocabulary")
	}
	if _, err := NewJSONObject(&fakeVocab{}); err == nil {
		t.Error("NewJSONObject accepted an empty vocabulary")
	}
}
