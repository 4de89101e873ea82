package toolcall

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// nc is a call without its ID, for comparisons.
type nc struct{ name, args string }

type parseCase struct {
	name      string
	f         Format
	in        string
	content   string
	reasoning string
	calls     []nc
}

const (
	weatherArgs = `{"location":"Paris","unit":"celsius"}`
	timeArgs    = `{"timezone":"Europe/Paris"}`
)

var parseCases = []parseCase{
	// Hermes 2 Pro / Hermes 3 / Qwen 2.5.
	{name: "hermes single", f: Of(Hermes),
		in:    "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>",
		calls: []nc{{"get_weather", weatherArgs}}},
	{name: "hermes parallel", f: Of(Hermes),
		in: "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>\n" +
			"<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"timezone\": \"Europe/Paris\"}}\n</tool_call>",
		calls: []nc{{"get_weather", weatherArgs}, {"get_time", timeArgs}}},
	{name: "hermes content around", f: Of(Hermes),
		in:      "Let me check the weather for you.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>\nOne moment.",
		content: "Let me check the weather for you.\nOne moment.",
		calls:   []nc{{"get_weather", weatherArgs}}},
	{name: "hermes malformed json", f: Of(Hermes),
		in:      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}\n</tool_call>",
		content: "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}\n</tool_call>"},
	{name: "hermes truncated", f: Of(Hermes),
		in:      "Sure.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"loc",
		content: "Sure.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"loc"},
	{name: "hermes no name", f: Of(Hermes),
		in:      "<tool_call>{\"arguments\": {}}</tool_call>",
		content: "<tool_call>{\"arguments\": {}}</tool_call>"},
	{name: "hermes qwen thinking", f: Of(Hermes),
		in:        "<think>\nThe user wants the weather. I should call get_weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>",
		reasoning: "The user wants the weather. I should call get_weather.",
		calls:     []nc{{"get_weather", weatherArgs}}},
	{name: "hermes function tag", f: Of(Hermes),
		in:    "<function=get_weather>{\"location\": \"Paris\", \"unit\": \"celsius\"}</function>",
		calls: []nc{{"get_weather", weatherArgs}}},
	{name: "hermes function name attr", f: Of(Hermes),
		in:    "<function name=\"get_time\">\n{\"timezone\": \"Europe/Paris\"}\n</function>",
		calls: []nc{{"get_time", timeArgs}}},
	{name: "hermes fenced", f: Of(Hermes),
		in:    "```json\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", \"unit\": \"celsius\"}}\n```",
		calls: []nc{{"get_weather", weatherArgs}}},
	{name: "hermes fenced tag", f: Of(Hermes),
		in:    "```xml\n<function_call>\n{\"name\": \"get_time\", \"arguments\": {\"timezone\": \"Europe/Paris\"}}\n</function_call>\n```",
		calls: []nc{{"get_time", timeArgs}}},
	{name: "hermes bare object", f: Of(Hermes),
		in:    "{\"name\": \"get_time\", \"arguments\": {\"timezone\": \"Europe/Paris\"}}",
		calls: []nc{{"get_time", timeArgs}}},
	{name: "hermes bare object without arguments is text", f: Of(Hermes),
		in:      "The record is {\"name\": \"Bob\", \"age\": 3}.",
		content: "The record is {\"name\": \"Bob\", \"age\": 3}."},
	{name: "hermes braces in text", f: Of(Hermes),
		in:      "In Go, write map[string]int{\"a\": 1} or use `fmt` {x}.",
		content: "In Go, write map[string]int{\"a\": 1} or use `fmt` {x}."},
	{name: "hermes arguments as string", f: Of(Hermes),
		in:    "<tool_call>{\"name\": \"get_time\", \"arguments\": \"{\\\"timezone\\\": \\\"Europe/Paris\\\"}\"}</tool_call>",
		calls: []nc{{"get_time", timeArgs}}},
	{name: "hermes arguments not an object", f: Of(Hermes),
		in:      "<tool_call>{\"name\": \"get_time\", \"arguments\": \"Europe/Paris\"}</tool_call>",
		content: "<tool_call>{\"name\": \"get_time\", \"arguments\": \"Europe/Paris\"}</tool_call>"},
	{name: "hermes empty string arguments", f: Of(Hermes),
		in:    "<tool_call>{\"name\": \"get_time\", \"arguments\": \"\"}</tool_call>",
		calls: []nc{{"get_time", `{}`}}},
	{name: "hermes missing closing tag", f: Of(Hermes),
		in:    "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"timezone\": \"Europe/Paris\"}}",
		calls: []nc{{"get_time", timeArgs}}},
	{name: "hermes no arguments", f: Of(Hermes),
		in:    "<tool_call>\n{\"name\": \"list_files\"}\n</tool_call>",
		calls: []nc{{"list_files", `{}`}}},
	{name: "hermes unicode", f: Of(Hermes),
		in:      "Проверю погоду 🌦 <tool_call>{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Zürich\"}}</tool_call>",
		content: "Проверю погоду 🌦 ",
		calls:   []nc{{"get_weather", `{"location":"Zürich"}`}}},
	{name: "hermes plain", f: Of(Hermes),
		in:      "The capital of France is Paris.",
		content: "The capital of France is Paris."},
	{name: "hermes without calls", f: Of(Hermes).WithoutCalls(),
		in:      "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>",
		content: "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>"},

	// Llama 3.x.
	{name: "llama single", f: Of(Llama3),
		in:    "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\", \"unit\": \"celsius\"}}",
		calls: []nc{{"get_weather", weatherArgs}}},
	{name: "llama type function", f: Of(Llama3),
		in:    "\n\n{\"type\": \"function\", \"name\": \"get_time\", \"parameters\": {\"timezone\": \"Europe/Paris\"}}",
		calls: []nc{{"get_time", timeArgs}}},
	{name: "llama parallel", f: Of(Llama3),
		in: "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\", \"unit\": \"celsius\"}}; " +
			"{\"name\": \"get_time\", \"parameters\": {\"timezone\": \"Europe/Paris\"}}",
		calls: []nc{{"get_weather", weatherArgs}, {"get_time", timeArgs}}},
	{name: "llama call then text", f: Of(Llama3),
		in:      "{\"name\": \"get_time\", \"parameters\": {\"timezone\": \"Europe/Paris\"}}\nI called the tool.",
		content: "I called the tool.",
		calls:   []nc{{"get_time", timeArgs}}},
	{name: "llama json later is text", f: Of(Llama3),
		in:      "Sure! {\"name\": \"get_time\", \"parameters\": {}}",
		content: "Sure! {\"name\": \"get_time\", \"parameters\": {}}"},
	{name: "llama other json is text", f: Of(Llama3),
		in:      "{\"answer\": 42, \"name\": \"x\"}",
		content: "{\"answer\": 42, \"name\": \"x\"}"},
	{name: "llama truncated", f: Of(Llama3),
		in:      "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Par",
		content: "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Par"},
	{name: "llama builtin", f: llamaBuiltin,
		in:    "<|python_tag|>brave_search.call(query=\"weather in Paris today\")",
		calls: []nc{{"brave_search", `{"query":"weather in Paris today"}`}}},
	{name: "llama builtin two args", f: llamaBuiltin,
		in:    "<|python_tag|>wolfram_alpha.call(query=\"2+2\", limit=3)",
		calls: []nc{{"wolfram_alpha", `{"query":"2+2","limit":3}`}}},
	{name: "llama python tag json", f: llamaBuiltin,
		in:    "<|python_tag|>{\"name\": \"get_time\", \"parameters\": {\"timezone\": \"Europe/Paris\"}}",
		calls: []nc{{"get_time", timeArgs}}},
	{name: "llama python tag code is text", f: llamaBuiltin,
		in:      "<|python_tag|>import math\nprint(math.pi)",
		content: "<|python_tag|>import math\nprint(math.pi)"},
	{name: "llama 3.2 python tag is text", f: Of(Llama3),
		in:      "<|python_tag|>brave_search.call(query=\"x\")",
		content: "<|python_tag|>brave_search.call(query=\"x\")"},
	{name: "llama 3.2 python tag json", f: Of(Llama3),
		in:      "Calling it.<|python_tag|>{\"name\": \"get_time\", \"parameters\": {\"timezone\": \"Europe/Paris\"}}",
		content: "Calling it.",
		calls:   []nc{{"get_time", timeArgs}}},
	{name: "llama reasoning", f: Of(Llama3),
		in:        "<think>Need time.</think>{\"name\": \"get_time\", \"parameters\": {\"timezone\": \"Europe/Paris\"}}",
		reasoning: "Need time.",
		calls:     []nc{{"get_time", timeArgs}}},

	// Mistral Nemo.
	{name: "nemo single", f: Of(MistralNemo),
		in:    "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", \"unit\": \"celsius\"}, \"id\": \"a1B2c3D4e\"}]",
		calls: []nc{{"get_weather", weatherArgs}}},
	{name: "nemo parallel", f: Of(MistralNemo),
		in: "[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", \"unit\": \"celsius\"}, \"id\": \"a1B2c3D4e\"}, " +
			"{\"name\": \"get_time\", \"arguments\": {\"timezone\": \"Europe/Paris\"}, \"id\": \"f5G6h7I8j\"}]",
		calls: []nc{{"get_weather", weatherArgs}, {"get_time", timeArgs}}},
	{name: "nemo content before", f: Of(MistralNemo),
		in:      "Checking.[TOOL_CALLS][{\"name\": \"get_time\", \"arguments\": {\"timezone\": \"Europe/Paris\"}}]",
		content: "Checking.",
		calls:   []nc{{"get_time", timeArgs}}},
	{name: "nemo malformed", f: Of(MistralNemo),
		in:      "[TOOL_CALLS][{\"name\": \"get_time\", \"arguments\": {\"timezone\": \"Europe/Paris\"}",
		content: "[TOOL_CALLS][{\"name\": \"get_time\", \"arguments\": {\"timezone\": \"Europe/Paris\"}"},
	{name: "nemo not an array", f: Of(MistralNemo),
		in:      "[TOOL_CALLS]get_time",
		content: "[TOOL_CALLS]get_time"},

	// Functionary v3.1 (Llama 3.1).
	{name: "functionary31 single", f: Of(FunctionaryV31),
		in:    "<function=get_weather>{\"location\": \"Paris\", \"unit\": \"celsius\"}</function>",
		calls: []nc{{"get_weather", weatherArgs}}},
	{name: "functionary31 parallel with text", f: Of(FunctionaryV31),
		in: "I'll look both up.\n<function=get_weather>{\"location\": \"Paris\", \"unit\": \"celsius\"}</function>\n" +
			"<function=get_time>{\"timezone\": \"Europe/Paris\"}</function>",
		content: "I'll look both up.\n",
		calls:   []nc{{"get_weather", weatherArgs}, {"get_time", timeArgs}}},
	{name: "functionary31 python", f: Of(FunctionaryV31),
		in:    "<|python_tag|>import math\nprint(math.sqrt(2) < 2)",
		calls: []nc{{"python", `{"code":"import math\nprint(math.sqrt(2) < 2)"}`}}},
	{name: "functionary31 malformed", f: Of(FunctionaryV31),
		in:      "<function=get_time>{timezone: Paris}</function>",
		content: "<function=get_time>{timezone: Paris}</function>"},

	// Functionary v3.2.
	{name: "functionary32 single", f: Of(FunctionaryV32),
		in:    "get_weather\n{\"location\": \"Paris\", \"unit\": \"celsius\"}",
		calls: []nc{{"get_weather", weatherArgs}}},
	{name: "functionary32 text", f: Of(FunctionaryV32),
		in:      "all\nHello! How can I help?",
		content: "Hello! How can I help?"},
	{name: "functionary32 text then calls", f: Of(FunctionaryV32),
		in: "all\nLet me check.>>>get_weather\n{\"location\": \"Paris\", \"unit\": \"celsius\"}\n" +
			">>>get_time\n{\"timezone\": \"Europe/Paris\"}",
		content: "Let me check.",
		calls:   []nc{{"get_weather", weatherArgs}, {"get_time", timeArgs}}},
	{name: "functionary32 call then text", f: Of(FunctionaryV32),
		in:      "get_time\n{\"timezone\": \"Europe/Paris\"}>>>all\nDone.",
		content: "Done.",
		calls:   []nc{{"get_time", timeArgs}}},
	{name: "functionary32 python code", f: Of(FunctionaryV32),
		in:    "python\nprint(1 + 1)",
		calls: []nc{{"python", `{"code":"print(1 + 1)"}`}}},
	{name: "functionary32 python json", f: Of(FunctionaryV32),
		in:    "python\n{\"code\": \"print(2)\"}",
		calls: []nc{{"python", `{"code":"print(2)"}`}}},
	{name: "functionary32 no recipient", f: Of(FunctionaryV32),
		in:      "Hello there, >>>get_time\n{}",
		content: "Hello there, >>>get_time\n{}"},
	{name: "functionary32 malformed", f: Of(FunctionaryV32),
		in:      "all\nOK>>>get_time\n{\"timezone\": }",
		content: "OK>>>get_time\n{\"timezone\": }"},
	{name: "functionary32 without calls", f: Of(FunctionaryV32).WithoutCalls(),
		in:      "all\nHi.>>>all\n Bye.",
		content: "Hi. Bye."},

	// FireFunction v2.
	{name: "firefunction single", f: Of(FirefunctionV2),
		in:    " functools[{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", \"unit\": \"celsius\"}}]",
		calls: []nc{{"get_weather", weatherArgs}}},
	{name: "firefunction parallel no space", f: Of(FirefunctionV2),
		in: "functools[{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", \"unit\": \"celsius\"}}, " +
			"{\"name\": \"get_time\", \"arguments\": {\"timezone\": \"Europe/Paris\"}}]",
		calls: []nc{{"get_weather", weatherArgs}, {"get_time", timeArgs}}},
	{name: "firefunction text", f: Of(FirefunctionV2),
		in:      "Warsaw is the capital of Poland.",
		content: "Warsaw is the capital of Poland."},
	{name: "firefunction malformed", f: Of(FirefunctionV2),
		in:      "Calling functools[{\"name\": \"get_time\"",
		content: "Calling functools[{\"name\": \"get_time\""},

	// DeepSeek R1.
	{name: "deepseek thinking call", f: Of(DeepSeekR1).WithThinking(true),
		in: "The user asks about the weather, so I call the tool.\n</think>\n\n" +
			"<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"location\": \"Paris\", \"unit\": \"celsius\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
		reasoning: "The user asks about the weather, so I call the tool.",
		calls:     []nc{{"get_weather", weatherArgs}}},
	{name: "deepseek parallel", f: Of(DeepSeekR1),
		in: "<think>\nTwo tools.\n</think>\n\nI will call two tools.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"location\": \"Paris\", \"unit\": \"celsius\"}\n```<｜tool▁call▁end｜>\n" +
			"<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{\"timezone\": \"Europe/Paris\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
		reasoning: "Two tools.",
		content:   "I will call two tools.",
		calls:     []nc{{"get_weather", weatherArgs}, {"get_time", timeArgs}}},
	{name: "deepseek distill variant", f: Of(DeepSeekR1),
		in:    "<｜tool▁calls｜>function<｜tool▁sep｜>get_time\n```json\n{\"timezone\": \"Europe/Paris\"}\n```<｜tool▁call▁end｜>",
		calls: []nc{{"get_time", timeArgs}}},
	{name: "deepseek answer", f: Of(DeepSeekR1).WithThinking(true),
		in:        "2 + 2 = 4, simple.</think>The answer is 4.",
		reasoning: "2 + 2 = 4, simple.",
		content:   "The answer is 4."},
	{name: "deepseek unterminated thinking", f: Of(DeepSeekR1).WithThinking(true),
		in:        "Let me think about this carefully\n\n",
		reasoning: "Let me think about this carefully"},
	{name: "deepseek malformed", f: Of(DeepSeekR1),
		in:      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{\"timezone\": Paris}\n```",
		content: "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{\"timezone\": Paris}\n```"},

	// Command R7B.
	{name: "command r7b call", f: Of(CommandR7B),
		in: "<|START_THINKING|>I will look up the weather in Paris.<|END_THINKING|><|START_ACTION|>[\n" +
			"    {\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\", \"unit\": \"celsius\"}}\n]<|END_ACTION|>",
		reasoning: "I will look up the weather in Paris.",
		calls:     []nc{{"get_weather", weatherArgs}}},
	{name: "command r7b parallel", f: Of(CommandR7B),
		in: "<|START_ACTION|>[\n    {\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\", \"unit\": \"celsius\"}},\n" +
			"    {\"tool_call_id\": \"1\", \"tool_name\": \"get_time\", \"parameters\": {\"timezone\": \"Europe/Paris\"}}\n]<|END_ACTION|>",
		calls: []nc{{"get_weather", weatherArgs}, {"get_time", timeArgs}}},
	{name: "command r7b response", f: Of(CommandR7B),
		in:      "<|START_RESPONSE|>Hello! How can I help you today?<|END_RESPONSE|>",
		content: "Hello! How can I help you today?"},
	{name: "command r7b malformed", f: Of(CommandR7B),
		in:      "<|START_ACTION|>[{\"tool_name\": \"get_time\", \"parameters\": {]<|END_ACTION|>",
		content: "<|START_ACTION|>[{\"tool_name\": \"get_time\", \"parameters\": {]<|END_ACTION|>"},

	// Generic.
	{name: "generic call", f: Of(Generic),
		in:    "{\"tool_call\": {\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", \"unit\": \"celsius\"}}}",
		calls: []nc{{"get_weather", weatherArgs}}},
	{name: "generic parallel", f: Of(Generic),
		in: "{\n  \"tool_calls\": [\n    {\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\", \"unit\": \"celsius\"}, \"id\": \"call_1\"},\n" +
			"    {\"name\": \"get_time\", \"arguments\": {\"timezone\": \"Europe/Paris\"}, \"id\": \"call_2\"}\n  ]\n}",
		calls: []nc{{"get_weather", weatherArgs}, {"get_time", timeArgs}}},
	{name: "generic response", f: Of(Generic),
		in:      "{\"response\": \"Hello, \\\"world\\\"!\\nCafé \\u00e9t\\u00E9 \\ud83d\\ude00 \\\\o/\"}",
		content: "Hello, \"world\"!\nCafé été 😀 \\o/"},
	{name: "generic response object", f: Of(Generic),
		in:      "{\"response\": {\"a\": 1}}",
		content: "{\n  \"a\": 1\n}"},
	{name: "generic plain text", f: Of(Generic),
		in:      "Hi there.",
		content: "Hi there."},
	{name: "generic other json", f: Of(Generic),
		in:      "{\"answer\": 42}",
		content: "{\"answer\": 42}"},
	{name: "generic truncated response", f: Of(Generic),
		in:      "{\"response\": \"It is sunny in Par",
		content: "It is sunny in Par"},
	{name: "generic response trailing text", f: Of(Generic),
		in:      "{\"response\": \"ok\"}\n\nextra",
		content: "okextra"},
	{name: "generic lone surrogate", f: Of(Generic),
		in:      "{\"response\": \"a\\ud83db\"}",
		content: "a\uFFFDb"},

	// Content only.
	{name: "content only think", f: Of(ContentOnly),
		in:        "<think>\n  hmm  \n</think>\n\nAnswer: 4",
		reasoning: "hmm",
		content:   "Answer: 4"},
	{name: "content only think later is text", f: Of(ContentOnly),
		in:      "Answer <think>x</think>",
		content: "Answer <think>x</think>"},
	{name: "content only two think blocks", f: Of(ContentOnly),
		in:        "<think>a</think>\n<think> b </think>c",
		reasoning: "ab",
		content:   "c"},
	{name: "content only leading space kept", f: Of(ContentOnly),
		in:      "  Hello",
		content: "  Hello"},
}

// llamaBuiltin is what Detect gives for Llama 3.1 and 3.3 templates.
var llamaBuiltin = Format{family: Llama3, builtin: true}

func checkMessage(t *testing.T, label string, got Message, c parseCase) {
	t.Helper()
	if got.Content != c.content {
		t.Errorf("%s: content = %q, want %q", label, got.Content, c.content)
	}
	if got.Reasoning != c.reasoning {
		t.Errorf("%s: reasoning = %q, want %q", label, got.Reasoning, c.reasoning)
	}
	var calls []nc
	for _, k := range got.Calls {
		calls = append(calls, nc{k.Name, k.Arguments})
	}
	if fmt.Sprint(calls) != fmt.Sprint(c.calls) {
		t.Errorf("%s: calls = %q, want %q", label, calls, c.calls)
	}
	for _, k := range got.Calls {
		if !json.Valid([]byte(k.Arguments)) {
			t.Errorf("%s: arguments %q are not JSON", label, k.Arguments)
		}
	}
}

func TestParse(t *testing.T) {
	for _, c := range parseCases {
		t.Run(c.name, func(t *testing.T) {
			checkMessage(t, "Parse", c.f.Parse(c.in), c)
		})
	}
}

// feed runs a stream over pieces and checks that the deltas add up to the
// stream's message.
func feed(t *testing.T, f Format, pieces []string) Message {
	t.Helper()
	s := f.NewStream()
	var got Message
	add := func(d Delta) {
		got.Content += d.Content
		got.Reasoning += d.Reasoning
		for _, k := range d.Calls {
			if k.Index != len(got.Calls) {
				t.Fatalf("call delta index %d, want %d", k.Index, len(got.Calls))
			}
			got.Calls = append(got.Calls, Call{ID: k.ID, Name: k.Name, Arguments: k.Arguments})
		}
	}
	for _, p := range pieces {
		add(s.Add(p))
	}
	add(s.Flush())
	if !s.Add("more").Empty() || !s.Flush().Empty() {
		t.Fatal("stream sent more after Flush")
	}
	if m := s.Message(); fmt.Sprint(m) != fmt.Sprint(got) {
		t.Fatalf("deltas add up to %+v, Message() = %+v", got, m)
	}
	return got
}

// TestStreamSplits feeds every case split at every byte boundary, byte by
// byte, and in random pieces: each must read exactly as the whole text.
func TestStreamSplits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range parseCases {
		t.Run(c.name, func(t *testing.T) {
			f := c.f.WithSeed(7)
			want := f.Parse(c.in)
			for i := 0; i <= len(c.in); i++ {
				got := feed(t, f, []string{c.in[:i], c.in[i:]})
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("split at %d: %+v, want %+v", i, got, want)
				}
			}
			var bytes []string
			for i := 0; i < len(c.in); i++ {
				bytes = append(bytes, c.in[i:i+1])
			}
			if got := feed(t, f, bytes); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("byte by byte: %+v, want %+v", got, want)
			}
			for trial := 0; trial < 20; trial++ {
				var pieces []string
				for rest := c.in; rest != ""; {
					n := min(len(rest), 1+rng.IntN(8))
					pieces = append(pieces, rest[:n])
					rest = rest[n:]
				}
				if got := feed(t, f, pieces); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("pieces %q: %+v, want %+v", pieces, got, want)
				}
			}
		})
	}
}

// TestStreamHoldsBack checks that text is sent as soon as it cannot be part
// of a call, and that a call's text is never sent as content.
func TestStreamHoldsBack(t *testing.T) {
	s := Of(Hermes).NewStream()
	if d := s.Add("Let me check. "); d.Content != "Let me check. " {
		t.Fatalf("plain text held back: %+v", d)
	}
	if d := s.Add("<tool"); !d.Empty() {
		t.Fatalf("possible tag sent: %+v", d)
	}
	if d := s.Add("_call>\n{\"name\": \"get_time\", \"arguments\": {}}"); !d.Empty() {
		t.Fatalf("unfinished call sent: %+v", d)
	}
	d := s.Add("\n</tool_call>\nDone")
	if len(d.Calls) != 1 || d.Calls[0].Name != "get_time" || d.Content != "Done" {
		t.Fatalf("after the call: %+v", d)
	}
	if d := s.Add("!"); d.Content != "!" {
		t.Fatalf("text after call: %+v", d)
	}

	// Reasoning streams, without its trailing whitespace until more comes.
	s = Of(DeepSeekR1).WithThinking(true).NewStream()
	if d := s.Add("\nFirst, "); d.Reasoning != "First," {
		t.Fatalf("reasoning: %+v", d)
	}
	if d := s.Add("second.\n</th"); d.Reasoning != " second." {
		t.Fatalf("reasoning: %+v", d)
	}
	if d := s.Add("ink>\n\nAnswer"); d.Content != "Answer" || d.Reasoning != "" {
		t.Fatalf("after reasoning: %+v", d)
	}

	// Generic streams a response string as it comes.
	s = Of(Generic).NewStream()
	if d := s.Add(`{"response": "Hel`); d.Content != "Hel" {
		t.Fatalf("generic response: %+v", d)
	}
	if d := s.Add(`lo\`); d.Content != "lo" {
		t.Fatalf("generic response: %+v", d)
	}
	if d := s.Add(`n"}`); d.Content != "\n" {
		t.Fatalf("generic response: %+v", d)
	}
}

func TestCallIDs(t *testing.T) {
	in := "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call><tool_call>{\"name\": \"b\", \"arguments\": {}}</tool_call>"
	m := Of(Hermes).Parse(in)
	if len(m.Calls) != 2 {
		t.Fatalf("calls: %+v", m.Calls)
	}
	for _, k := range m.Calls {
		if !strings.HasPrefix(k.ID, "call_") || len(k.ID) != 29 {
			t.Errorf("ID %q: want call_ and 24 characters", k.ID)
		}
	}
	if m.Calls[0].ID == m.Calls[1].ID {
		t.Errorf("IDs repeat: %q", m.Calls[0].ID)
	}
	if m2 := Of(Hermes).Parse(in); m2.Calls[0].ID == m.Calls[0].ID {
		t.Errorf("random IDs repeat across replies: %q", m.Calls[0].ID)
	}
	a, b := Of(Hermes).WithSeed(42).Parse(in), Of(Hermes).WithSeed(42).Parse(in)
	if a.Calls[0].ID != b.Calls[0].ID || a.Calls[1].ID != b.Calls[1].ID || a.Calls[0].ID == a.Calls[1].ID {
		t.Errorf("seeded IDs: %q %q / %q %q", a.Calls[0].ID, a.Calls[1].ID, b.Calls[0].ID, b.Calls[1].ID)
	}
	if c := Of(Hermes).WithSeed(43).Parse(in); c.Calls[0].ID == a.Calls[0].ID {
		t.Errorf("different seeds give the same ID %q", a.Calls[0].ID)
	}
	n := Of(MistralNemo).Parse("[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {}}]")
	if id := n.Calls[0].ID; len(id) != 9 || !isAlnum(id) {
		t.Errorf("Mistral Nemo ID %q: want 9 letters and digits", id)
	}
}

func isAlnum(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return utf8.ValidString(s)
}
