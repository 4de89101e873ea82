package toolcall

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var allFormats = []Format{
	Of(Generic), Of(ContentOnly), Of(Hermes), Of(Llama3), llamaBuiltin, Of(MistralNemo), Of(FunctionaryV31),
	Of(FunctionaryV32), Of(FirefunctionV2), Of(DeepSeekR1), Of(CommandR7B),
	Of(DeepSeekR1).WithThinking(true), Of(CommandR7B).WithThinking(true),
	Of(Hermes).WithoutCalls(), Of(FunctionaryV32).WithoutCalls(), Of(CommandR7B).WithoutCalls(),
}

// fragments are pieces of model output: every family's markers, JSON
// pieces and text, so that random sequences hit partial and broken calls.
var fragments = []string{
	"<tool_call>", "</tool_call>", "<function=", "<function name=\"", "</function>", "<tools>", "```json\n", "```", "\n",
	"<think>", "</think>", "<|python_tag|>", ".call(", "query=", "[TOOL_CALLS]", " functools[", "functools[", ">>>", "all\n",
	"python\n", "get_time\n", "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "function<｜tool▁sep｜>", "<｜tool▁call▁end｜>",
	"<｜tool▁calls▁end｜>", "<|START_ACTION|>", "<|END_ACTION|>", "<|START_RESPONSE|>", "<|END_RESPONSE|>",
	"<|START_THINKING|>", "<|END_THINKING|>", "{", "}", "[", "]", ",", ":", " ", `"name"`, `"arguments"`, `"parameters"`,
	`"tool_name"`, `"tool_call"`, `"tool_calls"`, `"response"`, `"get_time"`, `"x\"y"`, `"\u00e9\ud83d\ude00"`, `\`, "1", "-2.5e3",
	"true", "null", "get_time", ">", "=", ";", ")", "(", "Hello", "é", "🙂",
	`{"name": "get_time", "arguments": {"tz": "UTC"}}`, `{"name": "get_time", "parameters": {}}`,
	`[{"name": "get_time", "arguments": {}}]`, `[{"tool_name": "get_time", "parameters": {}}]`, `{"response": "hi`,
}

func randomOutput(rng *rand.Rand) string {
	var b strings.Builder
	for n := rng.IntN(14); n >= 0; n-- {
		b.WriteString(fragments[rng.IntN(len(fragments))])
	}
	return b.String()
}

// checkConsistent reads text whole, byte by byte and in random pieces, and
// fails unless all agree and every call is well-formed.
func checkConsistent(t *testing.T, f Format, text string, rng *rand.Rand) {
	t.Helper()
	want := f.Parse(text)
	for _, k := range want.Calls {
		if k.Name == "" || !json.Valid([]byte(k.Arguments)) || k.ID == "" {
			t.Fatalf("%v %q: bad call %+v", f, text, k)
		}
	}
	bytes := make([]string, len(text))
	for i := 0; i < len(text); i++ {
		bytes[i] = text[i : i+1]
	}
	splits := [][]string{bytes}
	for trial := 0; trial < 3; trial++ {
		var pieces []string
		for rest := text; rest != ""; {
			n := min(len(rest), 1+rng.IntN(6))
			pieces = append(pieces, rest[:n])
			rest = rest[n:]
		}
		splits = append(splits, pieces)
	}
	for _, pieces := range splits {
		if got := feed(t, f, pieces); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%v: %q in pieces %q:\n got %+v\nwant %+v", f, text, pieces, got, want)
		}
	}
}

func TestRandomOutputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; i < 3000 && time.Now().Before(deadline); i++ {
		text := randomOutput(rng)
		for _, f := range allFormats {
			checkConsistent(t, f.WithSeed(5), text, rng)
		}
	}
}

// TestLongOutput checks that a long reply streamed in small pieces is read
// in linear-ish time: text is sent as it comes, not rescanned.
func TestLongOutput(t *testing.T) {
	text := strings.Repeat("Some words and {braces} and <angles> and `ticks`. ", 4000) // 200 KB
	for _, f := range allFormats {
		start := time.Now()
		s := f.NewStream()
		var content strings.Builder
		for i := 0; i < len(text); i += 4 {
			content.WriteString(s.Add(text[i:min(len(text), i+4)]).Content)
		}
		content.WriteString(s.Flush().Content)
		if el := time.Since(start); el > time.Second {
			t.Errorf("%v: %v for %d bytes", f, el, len(text))
		}
		if f.family != FunctionaryV32 && !f.thinking && content.String() != text {
			t.Errorf("%v: content differs", f)
		}
	}
}

// TestLongCall streams a call with 68 KB of arguments in 4-byte pieces:
// the held-back JSON must be scanned once, not once per piece.
func TestLongCall(t *testing.T) {
	code := strings.Repeat("line of code here\\n", 3600)
	text := "<tool_call>{\"name\": \"write_file\", \"arguments\": {\"content\": \"" + code + "\"}}</tool_call>"
	start := time.Now()
	s := Of(Hermes).NewStream()
	for i := 0; i < len(text); i += 4 {
		if d := s.Add(text[i:min(len(text), i+4)]); !d.Empty() && i+4 < len(text) {
			t.Fatalf("sent %+v before the call ended", d)
		}
	}
	s.Flush()
	if el := time.Since(start); el > time.Second {
		t.Errorf("%v for %d bytes", el, len(text))
	}
	m := s.Message()
	if len(m.Calls) != 1 || len(m.Calls[0].Arguments) != len(code)+len(`{"content":""}`) {
		t.Errorf("calls: %d", len(m.Calls))
	}
	// Whole, with many would-be openers in the text.
	text = strings.Repeat("a {b} <c> ```d``` ", 20000)
	start = time.Now()
	if m := Of(Hermes).Parse(text); m.Content != text {
		t.Error("content differs")
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("%v for %d bytes", el, len(text))
	}
}

// TestHostileJSON feeds deeply nested and unterminated JSON where calls may
// start: no panic, no call, the text comes back.
func TestHostileJSON(t *testing.T) {
	inputs := []string{
		"<tool_call>" + strings.Repeat("[", 100000),
		"<tool_call>{\"name\": \"f\", \"arguments\": " + strings.Repeat("{\"a\":", 2000) + "1" + strings.Repeat("}", 2000) + "}</tool_call>",
		"[TOOL_CALLS]" + strings.Repeat("[", 600) + strings.Repeat("]", 600),
		"<function=" + strings.Repeat("a", 100000) + ">{}</function>",
		"{\"response\": \"" + strings.Repeat("\\u12", 1000),
	}
	for _, in := range inputs {
		for _, f := range allFormats {
			m := f.Parse(in)
			for _, k := range m.Calls {
				if !json.Valid([]byte(k.Arguments)) {
					t.Errorf("%v: invalid arguments", f)
				}
			}
		}
	}
	if m := Of(Hermes).Parse(inputs[0]); m.Content != inputs[0] || len(m.Calls) != 0 {
		t.Errorf("deep nesting: not returned as text")
	}
}

func FuzzStream(f *testing.F) {
	for _, c := range parseCases {
		f.Add(c.in, uint8(0), uint64(1))
	}
	f.Add("<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>", uint8(2), uint64(7))
	f.Fuzz(func(t *testing.T, text string, format uint8, seed uint64) {
		if len(text) > 4096 {
			return
		}
		fm := allFormats[int(format)%len(allFormats)].WithSeed(1)
		checkConsistent(t, fm, text, rand.New(rand.NewPCG(seed, seed)))
	})
}
