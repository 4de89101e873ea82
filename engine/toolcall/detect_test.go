package toolcall

import (
	"os"
	"path/filepath"
	"testing"
)

// templatesDir holds the shared reference chat templates.
const templatesDir = "../../../shared/testdata/templates"

func readTemplate(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(templatesDir, name))
	if os.IsNotExist(err) {
		t.Skipf("shared template %s is absent: %v", name, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDetect(t *testing.T) {
	cases := []struct {
		file    string
		family  Family
		builtin bool
	}{
		{"CohereForAI-c4ai-command-r-plus-tool_use.jinja", Generic, false},
		{"CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja", CommandR7B, false},
		{"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", Hermes, false},
		{"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", Hermes, false},
		{"Qwen-Qwen2.5-7B-Instruct.jinja", Hermes, false},
		{"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", DeepSeekR1, false},
		{"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", DeepSeekR1, false},
		{"llama-cpp-deepseek-r1.jinja", DeepSeekR1, false},
		{"fireworks-ai-llama-3-firefunction-v2.jinja", FirefunctionV2, false},
		{"google-gemma-2-2b-it.jinja", Generic, false},
		{"meetkai-functionary-medium-v3.1.jinja", FunctionaryV31, false},
		{"meetkai-functionary-medium-v3.2.jinja", FunctionaryV32, false},
		{"meta-llama-Llama-3.1-8B-Instruct.jinja", Llama3, true},
		{"meta-llama-Llama-3.2-3B-Instruct.jinja", Llama3, false},
		{"meta-llama-Llama-3.3-70B-Instruct.jinja", Llama3, true},
		{"microsoft-Phi-3.5-mini-instruct.jinja", Generic, false},
		{"mistralai-Mistral-Nemo-Instruct-2407.jinja", MistralNemo, false},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			f := Detect(readTemplate(t, c.file))
			if f.Family() != c.family || f.builtin != c.builtin {
				t.Errorf("Detect = %v (builtin %v), want %v (builtin %v)", f, f.builtin, c.family, c.builtin)
			}
		})
	}
	if f := Detect(""); f.Family() != Generic {
		t.Errorf("Detect(\"\") = %v, want Generic", f)
	}
}
