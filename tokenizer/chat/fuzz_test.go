package chat

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// fuzzTemplateNames are templates the fuzz target renders with, chosen for
// their variety: tojson of arguments, selectattr and namespace, macros with
// recursion, documents and tool-id bookkeeping, parts-only content.
var fuzzTemplateNames = []string{
	"meta-llama-Llama-3.1-8B-Instruct.jinja",
	"Qwen-Qwen2.5-7B-Instruct.jinja",
	"mistralai-Mistral-Nemo-Instruct-2407.jinja",
	"meetkai-functionary-medium-v3.2.jinja",
	"CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja",
	"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja",
}

func fuzzTemplates(t testing.TB) []*Template {
	tmpls := []*Template{Default()}
	for _, name := range fuzzTemplateNames {
		data, err := os.ReadFile(filepath.Join(sharedTemplates, name))
		if err != nil {
			continue // shared data absent: fuzz with the local templates only
		}
		tmpls = append(tmpls, mustParse(t, string(data)))
	}
	local, _ := filepath.Glob(filepath.Join("testdata", "templates", "*.jinja"))
	for _, f := range local {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tmpls = append(tmpls, mustParse(t, string(data)))
	}
	return tmpls
}

// FuzzRenderJSON renders arbitrary messages and tools JSON with several
// templates: any input must give an output or an error, never a panic.
func FuzzRenderJSON(f *testing.F) {
	convs := loadConversations(f)
	names := make([]string, 0, len(convs))
	for name := range convs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		f.Add([]byte(convs[name].Messages), []byte(convs[name].Tools))
	}
	for _, m := range []string{
		`[]`,
		`null`,
		`[{"role":"user","content":null}]`,
		`[{"role":"user","content":{"text":"x"}},{"role":"assistant","content":5}]`,
		`[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image"}]}]`,
		`[{"role":"assistant","tool_calls":[{"function":{"arguments":"[1,"}}]}]`,
		`[{"role":"assistant","tool_calls":[null,{"function":null},{"function":{"name":["x"],"arguments":{"a":{"b":[]}}}}]}]`,
		`[{"role":"tool","tool_call_id":123456789,"content":[]},{"role":"system"}]`,
	} {
		f.Add([]byte(m), []byte(nil))
	}
	f.Add([]byte(`[{"role":"user","content":"x"}]`), []byte(`[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":["string",null],"items":5}}}}}]`))
	f.Add([]byte(`[{"role":"user","content":"x"}]`), []byte(`[{"function":null},7,"s"]`))

	tmpls := fuzzTemplates(f)
	now := func() time.Time { return probeTime }
	f.Fuzz(func(t *testing.T, messages, tools []byte) {
		for _, tmpl := range tmpls {
			tmpl.RenderJSON(messages, tools, Options{AddGenerationPrompt: true, BOS: "<s>", EOS: "</s>", Now: now})
		}
	})
}

func benchTemplate(b *testing.B, name string) string {
	data, err := os.ReadFile(filepath.Join(sharedTemplates, name))
	if err != nil {
		b.Skipf("shared chat templates not available at %s: %v", sharedTemplates, err)
	}
	return string(data)
}

// BenchmarkRender renders Llama 3.1's template for a conversation with
// tools, a tool call and a tool reply: the work a server does per request.
func BenchmarkRender(b *testing.B) {
	tmpl := mustParse(b, benchTemplate(b, "meta-llama-Llama-3.1-8B-Instruct.jinja"))
	conv := loadConversations(b)["tool_calls_string_args"]
	opts := Options{AddGenerationPrompt: true, BOS: "<|begin_of_text|>", EOS: "<|eot_id|>"}
	b.SetBytes(int64(len(conv.Messages) + len(conv.Tools)))
	for b.Loop() {
		if _, err := tmpl.RenderJSON(conv.Messages, conv.Tools, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse compiles and probes Llama 3.1's template: the one-time
// cost of loading a model's template.
func BenchmarkParse(b *testing.B) {
	src := benchTemplate(b, "meta-llama-Llama-3.1-8B-Instruct.jinja")
	for b.Loop() {
		if _, err := Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}
