package toolcall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

var testToolsJSON = `[
 {"type": "function", "function": {"name": "get_weather", "description": "Current weather.",
  "parameters": {"type": "object", "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["location", "unit"]}}},
 {"type": "function", "function": {"name": "get_time", "description": "Local time.",
  "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}, "precise": {"type": "boolean"}, "offset": {"type": "integer"}}, "required": ["timezone"]}}}
]`

func testTools(t *testing.T) []Tool {
	t.Helper()
	tools, err := ParseTools(json.RawMessage(testToolsJSON))
	if err != nil {
		t.Fatal(err)
	}
	return tools
}

// node is a JSON value that keeps object key order.
type node struct {
	keys   []string
	vals   []*node
	items  []*node
	scalar json.RawMessage // for strings, numbers, literals
	isObj  bool
	isArr  bool
}

func parseNode(t *testing.T, data []byte) *node {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var read func() *node
	read = func() *node {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("schema %s: %v", data, err)
		}
		switch tok {
		case json.Delim('{'):
			n := &node{isObj: true}
			for dec.More() {
				k, _ := dec.Token()
				n.keys = append(n.keys, k.(string))
				n.vals = append(n.vals, read())
			}
			dec.Token()
			return n
		case json.Delim('['):
			n := &node{isArr: true}
			for dec.More() {
				n.items = append(n.items, read())
			}
			dec.Token()
			return n
		}
		b, _ := json.Marshal(tok)
		return &node{scalar: b}
	}
	return read()
}

func (n *node) get(k string) *node {
	for i, key := range n.keys {
		if key == k {
			return n.vals[i]
		}
	}
	return nil
}

func (n *node) str() string {
	var s string
	json.Unmarshal(n.scalar, &s)
	return s
}

// sample writes a JSON instance of schema, as a constrained decoder could:
// every property in schema order, anyOf alternative pick, arrays of items
// elements (1 when maxItems says so). spaced puts ", " and ": " between
// tokens.
func sample(n *node, pick, items int, spaced bool) string {
	sep, colon := ",", ":"
	if spaced {
		sep, colon = ", ", ": "
	}
	if c := n.get("const"); c != nil {
		return string(c.scalar)
	}
	if a := n.get("anyOf"); a != nil {
		return sample(a.items[pick], pick, items, spaced)
	}
	if e := n.get("enum"); e != nil {
		return string(e.items[0].scalar)
	}
	typ := ""
	if ty := n.get("type"); ty != nil {
		typ = ty.str()
	}
	switch typ {
	case "object":
		var b strings.Builder
		b.WriteByte('{')
		if props := n.get("properties"); props != nil {
			for i, k := range props.keys {
				if i > 0 {
					b.WriteString(sep)
				}
				b.WriteString(marshal(k) + colon + sample(props.vals[i], pick, items, spaced))
			}
		}
		b.WriteByte('}')
		return b.String()
	case "array":
		k := items
		if m := n.get("maxItems"); m != nil && string(m.scalar) == "1" {
			k = 1
		}
		parts := make([]string, k)
		for i := range parts {
			parts[i] = sample(n.get("items"), pick, items, spaced)
		}
		return "[" + strings.Join(parts, sep) + "]"
	case "string":
		return `"Paris <b> & \"x\""`
	case "integer":
		return "3"
	case "number":
		return "1.5"
	case "boolean":
		return "true"
	}
	return "null"
}

func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("compact %q: %v", s, err)
	}
	return b.String()
}

// TestPlanForced forces calls in every family and reads the forced replies
// back: prefix + a JSON instance of the schema + suffix must parse into
// exactly the calls the instance describes, whole and split at every byte.
func TestPlanForced(t *testing.T) {
	tools := testTools(t)
	families := []Format{Of(Generic), Of(Hermes), Of(Llama3), llamaBuiltin, Of(MistralNemo), Of(FunctionaryV31),
		Of(FunctionaryV32), Of(FirefunctionV2), Of(DeepSeekR1), Of(CommandR7B),
		Of(DeepSeekR1).WithThinking(true), Of(Hermes).WithThinking(true), Of(CommandR7B).WithThinking(true)}
	choices := []Choice{{Mode: ChoiceRequired}, {Mode: ChoiceFunction, Name: "get_time"}, {Mode: ChoiceFunction, Name: "get_weather"}}
	for _, f := range families {
		for _, choice := range choices {
			for _, parallel := range []bool{false, true} {
				name := fmt.Sprintf("%v thinking=%v/%v %s/parallel=%v", f, f.Thinking(), choice.Mode, choice.Name, parallel)
				t.Run(name, func(t *testing.T) {
					p, err := f.WithSeed(1).Plan(tools, choice, parallel)
					if err != nil {
						t.Fatal(err)
					}
					if p.Schema == nil || !json.Valid(p.Schema) {
						t.Fatalf("schema %s", p.Schema)
					}
					if f.Thinking() && !strings.HasPrefix(p.Prefix, f.reasoning().close) {
						t.Errorf("prefix %q does not close the reasoning block", p.Prefix)
					}
					schema := parseNode(t, p.Schema)
					chosen := tools
					if choice.Mode == ChoiceFunction {
						chosen = []Tool{*findTool(tools, choice.Name)}
					}
					for pick := range chosen {
						for _, spaced := range []bool{false, true} {
							text := sample(schema, pick, 2, spaced)
							args := compact(t, sample(parseNode(t, chosen[pick].Parameters), 0, 2, spaced))
							m := p.Parse(text)
							if m.Content != "" || m.Reasoning != "" {
								t.Fatalf("%q: content %q, reasoning %q", text, m.Content, m.Reasoning)
							}
							if len(m.Calls) == 0 {
								t.Fatalf("%q%q%q: no calls", p.Prefix, text, p.Suffix)
							}
							if len(m.Calls) > 1 && !parallel {
								t.Fatalf("%q: %d calls without parallel", text, len(m.Calls))
							}
							for _, k := range m.Calls {
								if k.Name != chosen[pick].Name || k.Arguments != args {
									t.Fatalf("%q: call %s(%s), want %s(%s)", text, k.Name, k.Arguments, chosen[pick].Name, args)
								}
							}
							for i := 0; i <= len(text); i++ {
								s := p.NewStream()
								var got Message
								for _, d := range []Delta{s.Add(text[:i]), s.Add(text[i:]), s.Flush()} {
									got.Content += d.Content
									for _, k := range d.Calls {
										got.Calls = append(got.Calls, Call{k.ID, k.Name, k.Arguments})
									}
								}
								if fmt.Sprint(got) != fmt.Sprint(m) {
									t.Fatalf("split at %d: %+v, want %+v", i, got, m)
								}
							}
						}
					}
				})
			}
		}
	}
}

func TestPlanAuto(t *testing.T) {
	tools := testTools(t)
	// Families with their own syntax generate freely.
	for _, fam := range []Family{Hermes, Llama3, MistralNemo, FunctionaryV31, FunctionaryV32, FirefunctionV2, DeepSeekR1, CommandR7B} {
		p, err := Of(fam).Plan(tools, Choice{Mode: ChoiceAuto}, true)
		if err != nil || p.Schema != nil || p.Prefix != "" || p.Format() != Of(fam) {
			t.Errorf("%v auto: %+v, %v", fam, p, err)
		}
	}
	// Generic is always a JSON object: a call or a response.
	p, err := Of(Generic).Plan(tools, Choice{Mode: ChoiceAuto}, false)
	if err != nil {
		t.Fatal(err)
	}
	schema := parseNode(t, p.Schema)
	if m := p.Parse(sample(schema, 0, 1, true)); len(m.Calls) != 1 || m.Calls[0].Name != "get_weather" {
		t.Errorf("generic auto call: %+v", m)
	}
	if m := p.Parse(sample(schema, 1, 1, true)); len(m.Calls) != 0 || m.Content != "Paris <b> & \"x\"" {
		t.Errorf("generic auto response: %+v", m)
	}
	// none: no constraint, calls read as text.
	p, err = Of(Hermes).Plan(tools, Choice{Mode: ChoiceNone}, true)
	if err != nil || p.Schema != nil {
		t.Fatalf("none: %+v, %v", p, err)
	}
	in := "<tool_call>{\"name\": \"get_time\", \"arguments\": {}}</tool_call>"
	if m := p.Parse(in); m.Content != in || len(m.Calls) != 0 {
		t.Errorf("none: %+v", m)
	}
	if _, err := Of(Hermes).Plan(tools, Choice{Mode: ChoiceFunction, Name: "nope"}, true); err == nil {
		t.Error("unknown function: no error")
	}
	bad := []Tool{{Name: "f", Parameters: json.RawMessage(`{"type": `)}}
	if _, err := Of(Hermes).Plan(bad, Choice{Mode: ChoiceRequired}, true); err == nil {
		t.Error("invalid parameters: no error")
	}
	if p, err := Of(Hermes).Plan([]Tool{{Name: "f"}}, Choice{Mode: ChoiceRequired}, true); err != nil || !strings.Contains(string(p.Schema), `"properties":{}`) {
		t.Errorf("tool without parameters: %s, %v", p.Schema, err)
	}
}

// TestPlanSchemas pins the shape of a few forced schemas.
func TestPlanSchemas(t *testing.T) {
	tools := testTools(t)
	one := Choice{Mode: ChoiceFunction, Name: "get_time"}
	timeParams := compact(t, string(findTool(tools, "get_time").Parameters))
	cases := []struct {
		f              Format
		choice         Choice
		parallel       bool
		prefix, suffix string
		schema         string
	}{
		{Of(Hermes), one, true, "<tool_call>\n", "\n</tool_call>",
			`{"type":"object","properties":{"name":{"type":"string","const":"get_time"},"arguments":` + timeParams + `},"required":["name","arguments"],"additionalProperties":false}`},
		{Of(MistralNemo), one, false, "[TOOL_CALLS]", "",
			`{"type":"array","items":{"type":"object","properties":{"name":{"type":"string","const":"get_time"},"arguments":` + timeParams + `},"required":["name","arguments"],"additionalProperties":false},"minItems":1,"maxItems":1}`},
		{Of(FunctionaryV32), one, true, "get_time\n", "", timeParams},
		{Of(DeepSeekR1).WithThinking(true), one, true,
			"</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n",
			"\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>", timeParams},
		{Of(Generic), one, false, "", "",
			`{"type":"object","properties":{"tool_call":{"type":"object","properties":{"name":{"type":"string","const":"get_time"},"arguments":` + timeParams + `},"required":["name","arguments"],"additionalProperties":false}},"required":["tool_call"],"additionalProperties":false}`},
	}
	for _, c := range cases {
		p, err := c.f.Plan(tools, c.choice, c.parallel)
		if err != nil {
			t.Fatal(err)
		}
		if p.Prefix != c.prefix || p.Suffix != c.suffix || compact(t, string(p.Schema)) != c.schema {
			t.Errorf("%v: prefix %q suffix %q schema %s\nwant prefix %q suffix %q schema %s", c.f, p.Prefix, p.Suffix, p.Schema, c.prefix, c.suffix, c.schema)
		}
	}
	// Several functions in a format that names them outside the JSON: the
	// Generic form, keeping DeepSeek's reasoning state.
	p, err := Of(DeepSeekR1).WithThinking(true).Plan(tools, Choice{Mode: ChoiceRequired}, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.Format().Family() != Generic || p.Prefix != "</think>\n\n" || !strings.Contains(string(p.Schema), `"anyOf"`) {
		t.Errorf("DeepSeek R1 required: %v %q %s", p.Format(), p.Prefix, p.Schema)
	}
}

func TestParseTools(t *testing.T) {
	tools := testTools(t)
	if len(tools) != 2 || tools[0].Name != "get_weather" || tools[0].Description != "Current weather." || tools[1].Name != "get_time" {
		t.Fatalf("tools: %+v", tools)
	}
	if !strings.HasPrefix(string(tools[0].Raw), `{"type": "function"`) || !strings.Contains(string(tools[0].Parameters), `"enum"`) {
		t.Errorf("raw %s / parameters %s", tools[0].Raw, tools[0].Parameters)
	}
	for _, in := range []string{"", "null", " [] "} {
		if got, err := ParseTools(json.RawMessage(in)); err != nil || len(got) != 0 {
			t.Errorf("ParseTools(%q) = %v, %v", in, got, err)
		}
	}
	got, err := ParseTools(json.RawMessage(`[{"type": "function", "function": {"name": "noargs"}}]`))
	if err != nil || string(got[0].Parameters) != string(emptyParameters) {
		t.Errorf("no parameters: %+v, %v", got, err)
	}
	bad := map[string]string{
		`{"type": "function"}`:          "not an array",
		`[1]`:                           "tools[0]",
		`[{"function": {"name": "f"}}]`: "type",
		`[{"type": "retrieval", "function": {"name": "f"}}]`:                                                 "type",
		`[{"type": "function"}]`:                                                                             "function is missing",
		`[{"type": "function", "function": {"description": "x"}}]`:                                           "name is missing",
		`[{"type": "function", "function": {"name": "a b"}}]`:                                                "name",
		`[{"type": "function", "function": {"name": "` + strings.Repeat("x", 65) + `"}}]`:                    "name",
		`[{"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {"name": "f"}}]`: "repeated",
		`[{"type": "function", "function": {"name": "f", "parameters": "x"}}]`:                               "parameters",
	}
	for in, want := range bad {
		if _, err := ParseTools(json.RawMessage(in)); err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "toolcall: ") {
			t.Errorf("ParseTools(%s): error %v, want one mentioning %q", in, err, want)
		}
	}
}

func TestParseChoice(t *testing.T) {
	tools := testTools(t)
	good := []struct {
		in    string
		tools []Tool
		want  Choice
	}{
		{"", tools, Choice{Mode: ChoiceAuto}},
		{"null", nil, Choice{Mode: ChoiceNone}},
		{`"auto"`, tools, Choice{Mode: ChoiceAuto}},
		{`"none"`, tools, Choice{Mode: ChoiceNone}},
		{`"none"`, nil, Choice{Mode: ChoiceNone}},
		{`"required"`, tools, Choice{Mode: ChoiceRequired}},
		{`{"type": "function", "function": {"name": "get_time"}}`, tools, Choice{Mode: ChoiceFunction, Name: "get_time"}},
	}
	for _, c := range good {
		if got, err := ParseChoice(json.RawMessage(c.in), c.tools); err != nil || got != c.want {
			t.Errorf("ParseChoice(%s) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	bad := []struct {
		in    string
		tools []Tool
	}{
		{`"sometimes"`, tools},
		{`"required"`, nil},
		{`"auto"`, nil},
		{`{"type": "function", "function": {"name": "get_stock"}}`, tools},
		{`{"type": "function", "function": {}}`, tools},
		{`{"type": "tool", "function": {"name": "get_time"}}`, tools},
		{`42`, tools},
	}
	for _, c := range bad {
		if _, err := ParseChoice(json.RawMessage(c.in), c.tools); err == nil || !strings.HasPrefix(err.Error(), "toolcall: ") {
			t.Errorf("ParseChoice(%s): error %v", c.in, err)
		}
	}
}
