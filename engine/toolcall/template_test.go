package toolcall

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/openweights/owl/tokenizer/chat"
)

var testNow = time.Date(2024, time.July, 26, 14, 30, 0, 0, time.UTC)

const weatherQuestion = `[{"role": "user", "content": "What is the weather in Paris?"}]`

func loadTemplate(t *testing.T, name string) *chat.Template {
	t.Helper()
	tm, err := chat.Parse(readTemplate(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return tm
}

// probe finds a template's limits the way a server would.
func probe(tm *chat.Template) Limits {
	return ProbeTemplate(func(messages, tools json.RawMessage) (string, error) {
		return tm.RenderJSON(messages, tools, chat.Options{AddGenerationPrompt: true})
	})
}

// render renders a request the way a server would: RenderInput, the chat
// template, FinishPrompt.
func render(t *testing.T, tm *chat.Template, messages string, o RenderOptions, thinking bool) (string, Format) {
	t.Helper()
	f := Detect(tm.Source())
	o.Limits = probe(tm)
	if o.Now.IsZero() {
		o.Now = testNow
	}
	in, err := f.RenderInput(json.RawMessage(messages), o)
	if err != nil {
		t.Fatal(err)
	}
	prompt, err := tm.RenderJSON(in.Messages, in.Tools, chat.Options{AddGenerationPrompt: true, BOS: "<s>", EOS: "</s>", Extra: in.Extra,
		Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return f.FinishPrompt(prompt, thinking)
}

func TestProbeTemplate(t *testing.T) {
	cases := map[string]Limits{
		"Qwen-Qwen2.5-7B-Instruct.jinja":                      {},
		"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja": {},
		"meta-llama-Llama-3.1-8B-Instruct.jinja":              {},
		"mistralai-Mistral-Nemo-Instruct-2407.jinja":          {},
		"CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja": {},
		"meetkai-functionary-medium-v3.2.jinja":               {},
		"microsoft-Phi-3.5-mini-instruct.jinja":               {NoTools: true, NoCalls: true},
		"google-gemma-2-2b-it.jinja":                          {NoTools: true, NoCalls: true, NoSystem: true},
		"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja":      {NoTools: true},
	}
	for name, want := range cases {
		if got := probe(loadTemplate(t, name)); got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
}

func TestRenderInputLlama(t *testing.T) {
	tools, err := ParseTools(json.RawMessage(`[
		{"type": "function", "function": {"name": "brave_search", "description": "Search.", "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}},
		{"type": "function", "function": {"name": "get_weather", "description": "Weather.", "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}]`))
	if err != nil {
		t.Fatal(err)
	}
	tm := loadTemplate(t, "meta-llama-Llama-3.1-8B-Instruct.jinja")
	prompt, f := render(t, tm, weatherQuestion, RenderOptions{Tools: tools, Choice: Choice{Mode: ChoiceAuto}}, true)
	for _, want := range []string{"Environment: ipython\nTools: brave_search\n", "Today Date: 26 Jul 2024", `"name": "get_weather"`} {
		if !strings.Contains(prompt, want) {
			t.Errorf("prompt lacks %q:\n%s", want, prompt)
		}
	}
	// tools_in_user_message false: the tools are in the system turn.
	if i, j := strings.Index(prompt, `"name": "get_weather"`), strings.Index(prompt, "<|start_header_id|>user"); i > j {
		t.Errorf("tools after the user turn starts:\n%s", prompt)
	}
	if f.Family() != Llama3 || f.Thinking() {
		t.Errorf("format %v thinking %v", f, f.Thinking())
	}
	// The client's own template arguments win.
	in, err := f.RenderInput(json.RawMessage(weatherQuestion), RenderOptions{Tools: tools, Choice: Choice{Mode: ChoiceAuto},
		Extra: json.RawMessage(`{"date_string": "01 Jan 2000", "custom": [1]}`), Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(in.Extra); got != `{"date_string": "01 Jan 2000", "custom": [1],"tools_in_user_message":false,"builtin_tools":["brave_search"]}` {
		t.Errorf("extra %s", got)
	}
	if _, err := f.RenderInput(json.RawMessage(weatherQuestion), RenderOptions{Extra: json.RawMessage(`[1]`)}); err == nil {
		t.Error("extra that is not an object: no error")
	}
}

func TestRenderInputFirefunction(t *testing.T) {
	tm := loadTemplate(t, "fireworks-ai-llama-3-firefunction-v2.jinja")
	prompt, _ := render(t, tm, weatherQuestion, RenderOptions{Tools: testTools(t), Choice: Choice{Mode: ChoiceAuto}}, true)
	for _, want := range []string{"functools[", "Today is Jul 26 2024 14:30:00 GMT.", "\n    \"function\": {\n      \"name\": \"get_weather\""} {
		if !strings.Contains(prompt, want) {
			t.Errorf("prompt lacks %q:\n%s", want, prompt)
		}
	}
}

func TestRenderInputGeneric(t *testing.T) {
	tools := testTools(t)
	tm := loadTemplate(t, "microsoft-Phi-3.5-mini-instruct.jinja")
	msgs := `[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}]`
	prompt, f := render(t, tm, msgs, RenderOptions{Tools: tools, Choice: Choice{Mode: ChoiceAuto}}, true)
	if f.Family() != Generic {
		t.Fatalf("format %v", f)
	}
	for _, want := range []string{"Be brief.\n\nYou have these tools", `"name": "get_weather"`, `{"tool_call": {"name": "<tool name>"`, `{"response": "<your reply>"}`} {
		if !strings.Contains(prompt, want) {
			t.Errorf("prompt lacks %q:\n%s", want, prompt)
		}
	}
	// Required, parallel, no system message yet: one is added.
	prompt, _ = render(t, tm, weatherQuestion, RenderOptions{Tools: tools, Choice: Choice{Mode: ChoiceRequired}, Parallel: true}, true)
	if !strings.Contains(prompt, `that calls tools: {"tool_calls": [`) || strings.Contains(prompt, `"response"`) {
		t.Errorf("required prompt:\n%s", prompt)
	}
	// Typed content parts in the system message are joined.
	in, err := f.RenderInput(json.RawMessage(`[{"role": "system", "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]}]`),
		RenderOptions{Tools: tools, Choice: Choice{Mode: ChoiceAuto}})
	if err != nil {
		t.Fatal(err)
	}
	var m []struct{ Role, Content string }
	if err := json.Unmarshal(in.Messages, &m); err != nil || len(m) != 1 || !strings.HasPrefix(m[0].Content, "A\nB\n\nReply with a single JSON object") {
		t.Errorf("messages %s (%v)", in.Messages, err)
	}
	// tool_choice none, or no tools: untouched.
	for _, o := range []RenderOptions{{Tools: tools, Choice: Choice{Mode: ChoiceNone}}, {}} {
		in, err := f.RenderInput(json.RawMessage(msgs), o)
		if err != nil || string(in.Messages) != msgs {
			t.Errorf("messages changed: %s (%v)", in.Messages, err)
		}
	}
	if _, err := f.RenderInput(json.RawMessage(`{}`), RenderOptions{Tools: tools, Choice: Choice{Mode: ChoiceAuto}}); err == nil {
		t.Error("messages not an array: no error")
	}
}

func TestFinishPromptDeepSeek(t *testing.T) {
	tools := testTools(t)
	tm := loadTemplate(t, "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja")
	prompt, f := render(t, tm, weatherQuestion, RenderOptions{Tools: tools, Choice: Choice{Mode: ChoiceAuto}}, true)
	if !strings.HasSuffix(prompt, "<｜Assistant｜><think>\n") || !f.Thinking() {
		t.Errorf("thinking: %v, prompt ends %q", f.Thinking(), prompt[max(0, len(prompt)-40):])
	}
	// The template does not show tools: they are described, with the syntax.
	if !strings.Contains(prompt, `"name": "get_weather"`) || !strings.Contains(prompt, "To call a tool, write:\n<｜tool▁calls▁begin｜>") {
		t.Errorf("tools not described:\n%s", prompt)
	}
	m := f.Parse("Paris weather needed.\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"location\": \"Paris\", \"unit\": \"celsius\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>")
	if m.Reasoning != "Paris weather needed." || len(m.Calls) != 1 || m.Content != "" {
		t.Errorf("reply: %+v", m)
	}
	if p, g := Detect(tm.Source()).FinishPrompt("<｜User｜>Hi<｜Assistant｜><think>\n", false); p != "<｜User｜>Hi<｜Assistant｜><think>\n</think>" || g.Thinking() {
		t.Errorf("thinking off: %q, %v", p, g.Thinking())
	}

	// After tool results the official template leaves the turn open; the
	// prompt is repaired as llama.cpp does.
	history := `[{"role": "user", "content": "Weather?"},
		{"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\": \"Paris\"}"}}]},
		{"role": "tool", "tool_call_id": "call_1", "content": "15C"}]`
	prompt, f = render(t, tm, history, RenderOptions{Tools: tools, Choice: Choice{Mode: ChoiceAuto}}, true)
	if !strings.HasSuffix(prompt, "<｜tool▁outputs▁end｜><｜end▁of▁sentence｜><｜Assistant｜>") ||
		!strings.Contains(prompt, "<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜><｜tool▁outputs▁begin｜>") {
		t.Errorf("repaired prompt:\n%q", prompt)
	}
	if f.Thinking() {
		t.Error("thinking after tool results")
	}
}

func TestFinishPromptCommandR7B(t *testing.T) {
	tm := loadTemplate(t, "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja")
	prompt, f := render(t, tm, weatherQuestion, RenderOptions{Tools: testTools(t), Choice: Choice{Mode: ChoiceAuto}}, true)
	if !strings.HasSuffix(prompt, "<|CHATBOT_TOKEN|>") || f.Thinking() {
		t.Errorf("thinking on: %v, prompt ends %q", f.Thinking(), prompt[max(0, len(prompt)-40):])
	}
	off, _ := Of(CommandR7B).FinishPrompt(prompt, false)
	if off != prompt+"<|START_THINKING|><|END_THINKING|>" {
		t.Errorf("thinking off: ends %q", off[max(0, len(off)-60):])
	}
	p, g := Of(CommandR7B).FinishPrompt("x<|CHATBOT_TOKEN|><|START_THINKING|>", true)
	if p != "x<|CHATBOT_TOKEN|><|START_THINKING|>" || !g.Thinking() {
		t.Errorf("open thinking: %q %v", p, g.Thinking())
	}
	if m := g.Parse("Look up weather.<|END_THINKING|><|START_RESPONSE|>Sunny.<|END_RESPONSE|>"); m.Reasoning != "Look up weather." || m.Content != "Sunny." {
		t.Errorf("reply: %+v", m)
	}
	// Without reasoning markers in the family nothing changes.
	if p, g := Of(MistralNemo).FinishPrompt("[INST]x[/INST]<think>\n", true); p != "[INST]x[/INST]<think>\n" || g.Thinking() {
		t.Errorf("Mistral Nemo: %q %v", p, g.Thinking())
	}
}

// TestRoundTrip runs requests through each template: render, force a call,
// read the forced reply, then send the call and its result back in the
// conversation, which the template must accept (Mistral Nemo, for one,
// checks the call ID).
func TestRoundTrip(t *testing.T) {
	tools := testTools(t)
	files := []string{
		"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja",
		"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
		"Qwen-Qwen2.5-7B-Instruct.jinja",
		"meta-llama-Llama-3.1-8B-Instruct.jinja",
		"meta-llama-Llama-3.2-3B-Instruct.jinja",
		"meta-llama-Llama-3.3-70B-Instruct.jinja",
		"mistralai-Mistral-Nemo-Instruct-2407.jinja",
		"meetkai-functionary-medium-v3.1.jinja",
		"meetkai-functionary-medium-v3.2.jinja",
		"fireworks-ai-llama-3-firefunction-v2.jinja",
		"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja",
		"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
		"CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja",
		"microsoft-Phi-3.5-mini-instruct.jinja",
		"google-gemma-2-2b-it.jinja",
	}
	for _, file := range files {
		for _, choice := range []Choice{{Mode: ChoiceRequired}, {Mode: ChoiceFunction, Name: "get_time"}} {
			t.Run(file, func(t *testing.T) {
				tm := loadTemplate(t, file)
				o := RenderOptions{Tools: tools, Choice: choice, Parallel: true, Limits: probe(tm), Now: testNow}
				prompt, f := render(t, tm, weatherQuestion, o, true)
				p, err := f.Plan(tools, choice, true)
				if err != nil {
					t.Fatal(err)
				}
				reply := sample(parseNode(t, p.Schema), 1, 1, true) // get_time
				m := p.Parse(reply)
				if len(m.Calls) != 1 || m.Calls[0].Name != "get_time" {
					t.Fatalf("%q + %q: %+v", prompt[max(0, len(prompt)-30):]+p.Prefix, reply, m)
				}
				k := m.Calls[0]
				history := `[{"role": "user", "content": "What time is it in Paris?"},
					{"role": "assistant", "content": null, "tool_calls": [{"id": ` + marshal(k.ID) + `, "type": "function", "function": {"name": ` + marshal(k.Name) + `, "arguments": ` + marshal(k.Arguments) + `}}]},
					{"role": "tool", "tool_call_id": ` + marshal(k.ID) + `, "name": "get_time", "content": "14:30"}]`
				in, err := f.RenderInput(json.RawMessage(history), o)
				if err != nil {
					t.Fatal(err)
				}
				next, err := tm.RenderJSON(in.Messages, in.Tools, chat.Options{AddGenerationPrompt: true, Extra: in.Extra})
				if err != nil {
					t.Fatalf("the call does not go back into the conversation: %v", err)
				}
				if !strings.Contains(next, "14:30") || !strings.Contains(next, "Paris") {
					t.Errorf("conversation lost the call or its result:\n%s", next)
				}
			})
		}
	}
}
