package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openweights/owl/engine"
	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels/cpu"
)

// TestRunGolden reproduces llama.cpp's golden outputs through the command:
// owl run --json --logprobs 10 --temp 0 -n 16.
func TestRunGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedDir, "golden", "*.json"))
	if len(files) == 0 {
		t.Skipf("no golden files under %s (the shared test data is not checked out beside the repository)", sharedDir)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var g struct {
				Model        string  `json:"model"`
				Prompt       string  `json:"prompt"`
				PromptTokens []int32 `json:"prompt_tokens"`
				PromptLogits []struct {
					LSE float64      `json:"lse"`
					Top [][2]float64 `json:"top"`
				} `json:"prompt_logits"`
				Greedy []int32 `json:"greedy"`
			}
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runOwl("run", "--json", "--logprobs", "10", "--temp", "0", "-n", "16", "-t", "2",
				"-m", filepath.Join(sharedDir, "models", g.Model), "-p", g.Prompt)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var r runOutput
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			if !slices.Equal(r.PromptTokens, g.PromptTokens) {
				t.Errorf("prompt tokens %v, llama.cpp %v", r.PromptTokens, g.PromptTokens)
			}
			if !slices.Equal(r.Tokens, g.Greedy) {
				t.Errorf("greedy %v, llama.cpp %v", r.Tokens, g.Greedy)
			}
			if len(r.PromptLogprobs) != len(r.PromptTokens) || len(r.Logprobs) != len(r.Tokens) {
				t.Fatalf("%d prompt logprob rows for %d tokens, %d for %d generated", len(r.PromptLogprobs), len(r.PromptTokens), len(r.Logprobs), len(r.Tokens))
			}
			for i, want := range g.PromptLogits {
				got := r.PromptLogprobs[i]
				if len(got) != 10 {
					t.Fatalf("position %d: %d logprobs, want 10", i, len(got))
				}
				for j, top := range want.Top {
					if want.Top[0][1]-want.Top[1][1] > 0.01 && j == 0 && int32(got[0][0]) != int32(top[0]) {
						t.Errorf("position %d: top-1 %v, llama.cpp %v", i, got[0][0], top[0])
					}
					ref := top[1] - want.LSE
					found := false
					for _, p := range got {
						if p[0] == top[0] {
							found = true
							if math.Abs(p[1]-ref) > 0.02 {
								t.Errorf("position %d token %v: logprob %.4f, llama.cpp %.4f", i, top[0], p[1], ref)
							}
						}
					}
					if !found && j < 3 {
						t.Errorf("position %d: llama.cpp's #%d token %v is not in owl's top 10", i, j+1, top[0])
					}
				}
			}
			if r.Timings.PromptTokens != len(r.PromptTokens) || r.Timings.GenTokens != len(r.Tokens) {
				t.Errorf("timings count %d/%d tokens", r.Timings.PromptTokens, r.Timings.GenTokens)
			}
		})
	}
}

// rewriteModel copies the shared synthetic model with edits to its
// metadata and tensors, for malformed-model tests.
func rewriteModel(t *testing.T, edit func(kv []gguf.KV, ts []gguf.TensorInfo) ([]gguf.KV, []gguf.TensorInfo)) string {
	t.Helper()
	src := filepath.Join(sharedDir, "models", "synth-llama-small-Q8_0.gguf")
	needFile(t, src)
	f, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kv, ts := edit(slices.Clone(f.KV), slices.Clone(f.Tensors))
	var buf bytes.Buffer
	w, err := gguf.NewWriter(&buf, kv, ts)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range ts {
		orig, _, err := f.Tensor(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteTensor(f.TensorData(orig)[:ti.Size()]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunBadModels(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(kv []gguf.KV, ts []gguf.TensorInfo) ([]gguf.KV, []gguf.TensorInfo)
		want string
	}{
		{"unknown architecture", func(kv []gguf.KV, ts []gguf.TensorInfo) ([]gguf.KV, []gguf.TensorInfo) {
			for i := range kv {
				if kv[i].Key == "general.architecture" {
					kv[i].Value = gguf.Value{Type: gguf.ValueString, Data: "mamba9"}
				}
			}
			return kv, ts
		}, `architecture "mamba9" is not supported`},
		{"missing tensor", func(kv []gguf.KV, ts []gguf.TensorInfo) ([]gguf.KV, []gguf.TensorInfo) {
			return kv, slices.DeleteFunc(ts, func(t gguf.TensorInfo) bool { return t.Name == "blk.2.ffn_up.weight" })
		}, `missing tensor "blk.2.ffn_up.weight"`},
		{"wrong shape", func(kv []gguf.KV, ts []gguf.TensorInfo) ([]gguf.KV, []gguf.TensorInfo) {
			for i := range ts {
				if ts[i].Name == "blk.1.attn_k.weight" {
					ts[i].Dims = []uint64{128, 256}
				}
			}
			return kv, ts
		}, `tensor "blk.1.attn_k.weight" has shape`},
		{"missing key", func(kv []gguf.KV, ts []gguf.TensorInfo) ([]gguf.KV, []gguf.TensorInfo) {
			return slices.DeleteFunc(kv, func(e gguf.KV) bool { return e.Key == "llama.block_count" }), ts
		}, `"llama.block_count"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := rewriteModel(t, tc.edit)
			code, _, errOut := runOwl("run", "-m", path, "-p", "hi", "-n", "1")
			if code != 1 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want one line saying %q", code, errOut, tc.want)
			}
		})
	}
}

func TestRunContextOverflow(t *testing.T) {
	model := filepath.Join(sharedDir, "models", "synth-llama-small-Q8_0.gguf")
	needFile(t, model)
	code, _, errOut := runOwl("run", "-m", model, "-c", "16", "-n", "10", "-p", "The quick brown fox jumps over the lazy dog.")
	if code != 1 || !strings.Contains(errOut, "exceed the context of 16 by") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	code, out, errOut := runOwl("run", "-m", model, "-c", "64", "-n", "4", "--temp", "0.7", "--seed", "5", "--json", "-p", "Hello")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	code2, out2, _ := runOwl("run", "-m", model, "-c", "64", "-n", "4", "--temp", "0.7", "--seed", "5", "--json", "-p", "Hello")
	var a, b runOutput
	json.Unmarshal([]byte(out), &a)
	json.Unmarshal([]byte(out2), &b)
	if code2 != 0 || len(a.Tokens) != 4 || !slices.Equal(a.Tokens, b.Tokens) {
		t.Errorf("same seed gave %v and %v", a.Tokens, b.Tokens)
	}
}

func TestInteractiveChat(t *testing.T) {
	model := filepath.Join(sharedDir, "models", "synth-llama-small-Q8_0.gguf")
	needFile(t, model)
	be := cpu.New(2)
	defer be.Close()
	l, err := engine.Load(model, be)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sess, err := engine.NewSession(l.Model, be, gguf.TypeF16, 512, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := runFlags{n: 5, temp: 0}
	var out, errOut bytes.Buffer
	code := interactiveChat(context.Background(), l, sess, &r, strings.NewReader("hello there\nand again\n\n"), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	// Three prompts: two turns answered, then the empty line ends the chat.
	if n := strings.Count(out.String(), ">>> "); n != 3 {
		t.Errorf("%d prompts in %q", n, out.String())
	}
	if len(strings.TrimSpace(strings.ReplaceAll(out.String(), ">>>", ""))) == 0 {
		t.Error("the model said nothing")
	}
}
