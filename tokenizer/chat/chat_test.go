package chat

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustParse(t testing.TB, src string) *Template {
	t.Helper()
	tmpl, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return tmpl
}

func TestDefaultAndFromGGUFValue(t *testing.T) {
	d := Default()
	if !d.IsDefault() || d.Source() != chatMLSource {
		t.Fatalf("Default: IsDefault %v, source %q", d.IsDefault(), d.Source())
	}
	for _, blank := range []string{"", " \n\t"} {
		got, err := FromGGUFValue(blank)
		if err != nil || got != d {
			t.Errorf("FromGGUFValue(%q) = %p, %v; want Default()", blank, got, err)
		}
	}
	src := "{{ messages[0].content }}"
	got, err := FromGGUFValue(src)
	if err != nil {
		t.Fatal(err)
	}
	if got.IsDefault() || got.Source() != src {
		t.Errorf("FromGGUFValue(%q): IsDefault %v, Source %q", src, got.IsDefault(), got.Source())
	}
	if _, err := FromGGUFValue("{% if %}"); err == nil || !strings.HasPrefix(err.Error(), "chat: parse template") {
		t.Errorf("bad template: err = %v", err)
	}

	out, err := d.RenderJSON([]byte(`[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]`), nil,
		Options{AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
	if out != want {
		t.Errorf("ChatML render = %q, want %q", out, want)
	}
}

func TestMessage(t *testing.T) {
	msgs, err := json.Marshal([]Message{{Role: "user", Content: "Hi"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Default().Render(Request{Messages: msgs})
	if err != nil || out != "<|im_start|>user\nHi<|im_end|>\n" {
		t.Errorf("Render = %q, %v", out, err)
	}
}

// TestKeyOrder checks that request objects reach the template in the order
// the client wrote them, through iteration and tojson alike.
func TestKeyOrder(t *testing.T) {
	tmpl := mustParse(t, "{{ tools | tojson }}|{% for k, v in messages[0] | items %}{{ k }}={{ v }};{% endfor %}|{{ zeta }}")
	out, err := tmpl.RenderJSON(
		[]byte(`[{"role":"user","zz":1,"content":"x","aa":2.50}]`),
		[]byte(`[{"type":"function","function":{"name":"f","parameters":{"z":1,"a":2,"m":{"y":null,"b":true}}}}]`),
		Options{Extra: json.RawMessage(`{"zeta":"last","alpha":"first"}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"type": "function", "function": {"name": "f", "parameters": {"z": 1, "a": 2, "m": {"y": null, "b": true}}}}]` +
		`|role=user;zz=1;content=x;aa=2.5;|last`
	if out != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

func TestDecodeJSON(t *testing.T) {
	// Want: Python's json.dumps(json.loads(in), ensure_ascii=False).
	in := `{"b": 1, "a": {"z": [1, 2.0, "x", null, true, -0, 1E400, 12345678901234567], "y": 1e2, "é": "\u00e9\ud83c\udf89"}, "b": 3}`
	want := `{"b": 3, "a": {"z": [1, 2.0, "x", null, true, 0, Infinity, 12345678901234567], "y": 100.0, "é": "é🎉"}}`
	v, err := decodeJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	got, err := encodeJSON(v)
	if err != nil || got != want {
		t.Errorf("round trip = %s, %v\nwant          %s", got, err, want)
	}

	deep := strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1)
	for _, bad := range []string{``, `[1,]`, `{"a":1} {}`, `{"a"}`, `[1`, deep} {
		if _, err := decodeJSON([]byte(bad)); err == nil {
			t.Errorf("decodeJSON(%.20q): no error", bad)
		}
	}
	ok := strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth)
	if _, err := decodeJSON([]byte(ok)); err != nil {
		t.Errorf("depth %d: %v", maxJSONDepth, err)
	}
}

func TestRenderErrors(t *testing.T) {
	text := mustParse(t, "{% for m in messages %}{{ m.content }}{% endfor %}")
	objArgs := mustParse(t, "{% for m in messages %}{% for c in m.tool_calls %}{{ c.function.arguments | tojson }}{% endfor %}{% endfor %}")
	if c := objArgs.Caps(); !c.ObjectArguments || c.StringArguments {
		t.Fatalf("objArgs caps = %+v", c)
	}
	tests := []struct {
		name     string
		tmpl     *Template
		messages string
		tools    string
		extra    string
		want     string
	}{
		{"messages not JSON", text, `[{"role":"user"`, "", "", "chat: decode messages"},
		{"messages not array", text, `{"role":"user"}`, "", "", "messages is not a JSON array"},
		{"message not object", text, `["hi"]`, "", "", "message 0 is not a JSON object"},
		{"no role", text, `[{"content":"hi"}]`, "", "", "message 0 has no string role"},
		{"role not string", text, `[{"role":1}]`, "", "", "message 0 has no string role"},
		{"tools not array", text, `[]`, `{"type":"function"}`, "", "tools is not a JSON array"},
		{"tools not JSON", text, `[]`, `[`, "", "chat: decode tools"},
		{"extra not object", text, `[]`, "", `[1]`, "extra template arguments are not a JSON object"},
		{"extra reserved", text, `[]`, "", `{"messages":[]}`, `"messages" is set by the renderer`},
		{"image part", text, `[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]`, "", "", "message 0: content part 0 is not"},
		{"part without text", text, `[{"role":"user","content":[{"type":"text"}]}]`, "", "", "content part 0 has no string text"},
		{"arguments not JSON", objArgs, `[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{oops"}}]}]`, "", "", "message 0: tool call 0: arguments are not JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tools []byte
			if tc.tools != "" {
				tools = []byte(tc.tools)
			}
			_, err := tc.tmpl.RenderJSON([]byte(tc.messages), tools, Options{Extra: json.RawMessage(tc.extra)})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "chat: ") {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestTemplateError(t *testing.T) {
	tmpl := mustParse(t, "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% endfor %}ok")
	_, err := tmpl.RenderJSON([]byte(`[{"role":"system","content":"x"}]`), nil, Options{})
	var te *TemplateError
	if !errors.As(err, &te) || te.Message != "System role not supported" {
		t.Fatalf("err = %v, want TemplateError", err)
	}
	out, err := tmpl.RenderJSON([]byte(`[{"role":"user","content":"x"}]`), nil, Options{})
	if err != nil || out != "ok" {
		t.Fatalf("render = %q, %v", out, err)
	}
	// Other render failures are not TemplateErrors.
	bad := mustParse(t, "{{ messages | unknown_filter }}")
	if _, err := bad.RenderJSON([]byte(`[]`), nil, Options{}); err == nil || errors.As(err, &te) {
		t.Fatalf("unknown filter: err = %v", err)
	}
}

// TestGlobals checks the names a render defines besides messages.
func TestGlobals(t *testing.T) {
	tmpl := mustParse(t, "{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ tools is defined }}|{{ strftime_now('%d %b %Y %H:%M') }}|{{ date_string }}")
	now := time.Date(2024, time.July, 26, 9, 30, 0, 0, time.UTC)
	out, err := tmpl.RenderJSON([]byte(`[]`), nil, Options{
		AddGenerationPrompt: true, BOS: "<s>", EOS: "</s>",
		Extra: json.RawMessage(`{"date_string":"26 Jul 2024"}`),
		Now:   func() time.Time { return now },
	})
	want := "<s>|</s>|True|False|26 Jul 2024 09:30|26 Jul 2024"
	if err != nil || out != want {
		t.Errorf("got %q, %v; want %q", out, err, want)
	}
	// Extra may replace the special tokens, as apply_chat_template's kwargs may.
	out, err = tmpl.RenderJSON([]byte(`[]`), []byte(`null`), Options{BOS: "<s>", Extra: json.RawMessage(`{"bos_token":"B"}`), Now: func() time.Time { return now }})
	if err != nil || !strings.HasPrefix(out, "B|") || !strings.Contains(out, "|False|") {
		t.Errorf("got %q, %v", out, err)
	}
	out, err = tmpl.RenderJSON([]byte(`[]`), []byte(`[]`), Options{Now: func() time.Time { return now }})
	if err != nil || !strings.Contains(out, "|True|") {
		t.Errorf("empty tools array: got %q, %v; want tools defined", out, err)
	}
}

// TestAdapt checks the capability-driven adjustments on small templates
// whose capabilities are plain to see.
func TestAdapt(t *testing.T) {
	const (
		partsMsg = `[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":""},{"type":"text","text":"b"}]}]`
		strMsg   = `[{"role":"user","content":"a"}]`
	)
	callMsg := func(args string) string {
		return `[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":` + args + `}}]}]`
	}
	tests := []struct {
		name, src string
		caps      Caps
		messages  string
		want      string
	}{
		{"join parts", "{{ messages[0].content }}", Caps{StringContent: true},
			partsMsg, "a\n\nb"},
		{"keep parts", "{% for p in messages[0].content %}[{{ p.text }}]{% endfor %}", Caps{TypedContent: true},
			partsMsg, "[a][][b]"},
		{"wrap string", "{% for p in messages[0].content %}[{{ p.text }}]{% endfor %}", Caps{TypedContent: true},
			strMsg, "[a]"},
		{"both forms", "{% if messages[0].content is string %}{{ messages[0].content }}{% else %}{{ messages[0].content[0].text }}{% endif %}",
			Caps{StringContent: true, TypedContent: true}, partsMsg, "a"},
		{"decode arguments", "{{ messages[-1].tool_calls[0].function.arguments | tojson }}", Caps{StringContent: false, ObjectArguments: true},
			callMsg(`"{\"b\": 1, \"a\": [true]}"`), `{"b": 1, "a": [true]}`},
		{"encode arguments", "{{ '' + messages[-1].tool_calls[0].function.arguments }}", Caps{StringArguments: true},
			callMsg(`{"b": "é", "a": [1.50, null]}`), `{"b": "é", "a": [1.5, null]}`},
		{"arguments as given", "{% set a = messages[-1].tool_calls[0].function.arguments %}{{ a if a is string else a | tojson }}",
			Caps{StringArguments: true, ObjectArguments: true}, callMsg(`{"x":1}`), `{"x": 1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := mustParse(t, tc.src)
			got := tmpl.Caps()
			// Content caps of argument templates are incidental.
			if strings.Contains(tc.name, "arguments") {
				got.StringContent, got.TypedContent = tc.caps.StringContent, tc.caps.TypedContent
			}
			if got != tc.caps {
				t.Errorf("Caps() = %+v, want %+v", got, tc.caps)
			}
			out, err := tmpl.RenderJSON([]byte(tc.messages), nil, Options{})
			if err != nil || out != tc.want {
				t.Errorf("render = %q, %v; want %q", out, err, tc.want)
			}
		})
	}
}

func TestStrftime(t *testing.T) {
	// Want: Python 3.11's datetime.strftime on Linux, on naive datetimes.
	t1 := time.Date(2025, time.January, 2, 15, 4, 5, 0, time.UTC)
	t2 := time.Date(2024, time.December, 29, 0, 7, 9, 0, time.UTC)
	tests := []struct {
		format, want1, want2 string
	}{
		{"%d %b %Y", "02 Jan 2025", "29 Dec 2024"},
		{"%Y-%m-%d", "2025-01-02", "2024-12-29"},
		{"%A, %B %-d, %Y", "Thursday, January 2, 2025", "Sunday, December 29, 2024"},
		{"%H:%M:%S", "15:04:05", "00:07:09"},
		{"%I:%M %p", "03:04 PM", "12:07 AM"},
		{"%l|%k", " 3|15", "12| 0"},
		{"%j", "002", "364"},
		{"%e", " 2", "29"},
		{"%y %C", "25 20", "24 20"},
		{"%c", "Thu Jan  2 15:04:05 2025", "Sun Dec 29 00:07:09 2024"},
		{"%D", "01/02/25", "12/29/24"},
		{"%F %T", "2025-01-02 15:04:05", "2024-12-29 00:07:09"},
		{"%x %X", "01/02/25 15:04:05", "12/29/24 00:07:09"},
		{"%R", "15:04", "00:07"},
		{"100%%", "100%", "100%"},
		{"%a %u %w", "Thu 4 4", "Sun 7 0"},
		{"[%Z%z]", "[]", "[]"},
		{"%Q", "%Q", "%Q"},
		{"%h%n%t.", "Jan\n\t.", "Dec\n\t."},
		{"trailing %", "trailing %", "trailing %"},
		{"%-", "%-", "%-"},
	}
	for _, tc := range tests {
		if got := strftime(tc.format, t1); got != tc.want1 {
			t.Errorf("strftime(%q, t1) = %q, want %q", tc.format, got, tc.want1)
		}
		if got := strftime(tc.format, t2); got != tc.want2 {
			t.Errorf("strftime(%q, t2) = %q, want %q", tc.format, got, tc.want2)
		}
	}
}

// TestConcurrentRender renders one Template from several goroutines; run
// with -race to check that rendering shares no mutable state.
func TestConcurrentRender(t *testing.T) {
	tmpl := mustParse(t, "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{{ m.content }}{% endfor %}{{ ns.n }}")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			msgs := `[{"role":"user","content":"` + strings.Repeat("x", i) + `"}]`
			for range 50 {
				out, err := tmpl.RenderJSON([]byte(msgs), nil, Options{})
				if want := strings.Repeat("x", i) + "1"; err != nil || out != want {
					t.Errorf("got %q, %v; want %q", out, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestParseTokenizerConfig(t *testing.T) {
	tests := []struct {
		name, config  string
		want          map[string]string
		bos, eos, err string
	}{
		{"string template", `{"bos_token": "<s>", "eos_token": {"__type": "AddedToken", "content": "</s>", "lstrip": false}, "chat_template": "{{ x }}"}`,
			map[string]string{"default": "{{ x }}"}, "<s>", "</s>", ""},
		{"named templates", `{"bos_token": null, "eos_token": "<|im_end|>", "chat_template": [{"name": "default", "template": "A"}, {"name": "tool_use", "template": "B"}]}`,
			map[string]string{"default": "A", "tool_use": "B"}, "", "<|im_end|>", ""},
		{"no template", `{"model_max_length": 8192}`, map[string]string{}, "", "", ""},
		{"bad template", `{"chat_template": 5}`, nil, "", "", "neither a string nor a list"},
		{"bad token", `{"bos_token": [1]}`, nil, "", "", "bos_token"},
		{"not JSON", `{`, nil, "", "", "chat: tokenizer config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseTokenizerConfig([]byte(tc.config))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.BOS != tc.bos || cfg.EOS != tc.eos || len(cfg.Templates) != len(tc.want) {
				t.Fatalf("got %+v", cfg)
			}
			for k, v := range tc.want {
				if cfg.Templates[k] != v {
					t.Errorf("Templates[%q] = %q, want %q", k, cfg.Templates[k], v)
				}
			}
		})
	}
}
