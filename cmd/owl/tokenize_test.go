package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const vocabTestDir = "../../../shared/testdata/vocab"

var tokenizeVocabs = []string{"llama-spm", "phi-3", "gpt-2", "deepseek-llm", "mpt", "starcoder", "falcon", "bert-bge"}

// vocabPath returns the path of a test vocabulary, skipping the test when
// the shared test data is not there.
func vocabPath(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(vocabTestDir, "ggml-vocab-"+name+".gguf")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("vocabulary %s not available (%v); it comes from shared/testdata/vocab", name, err)
	}
	return p
}

// runTokenizeWith runs `owl tokenize args...` with stdin.
func runTokenizeWith(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	old := tokenizeStdin
	tokenizeStdin = strings.NewReader(stdin)
	defer func() { tokenizeStdin = old }()
	var out, errb bytes.Buffer
	code = owl(append([]string{"tokenize"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// TestTokenizeVectors runs `owl tokenize --ids --no-bos --stdin` on each of
// llama.cpp's tokenizer test strings and compares with its ids.
func TestTokenizeVectors(t *testing.T) {
	for _, name := range tokenizeVocabs {
		t.Run(name, func(t *testing.T) {
			model := vocabPath(t, name)
			inp, err := os.ReadFile(model + ".inp")
			if err != nil {
				t.Fatal(err)
			}
			outp, err := os.ReadFile(model + ".out")
			if err != nil {
				t.Fatal(err)
			}
			// The .inp strings are separated by this line (llama.cpp's
			// test-tokenizer-0 splits the same way).
			texts := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
			if texts[len(texts)-1] == "" {
				texts = texts[:len(texts)-1]
			}
			wants := strings.Split(strings.TrimSuffix(string(outp), "\n"), "\n")
			if len(texts) != len(wants) {
				t.Fatalf("%d inputs, %d outputs", len(texts), len(wants))
			}
			pass := 0
			for i, text := range texts {
				code, stdout, stderr := runTokenizeWith(t, text, "-m", model, "--ids", "--no-bos", "--stdin")
				if code != 0 {
					t.Fatalf("case %d: exit %d: %s", i, code, stderr)
				}
				want := "[" + strings.Join(strings.Fields(wants[i]), ", ") + "]\n"
				if stdout != want {
					t.Errorf("case %d %q:\n got %s want %s", i, text, stdout, want)
					continue
				}
				pass++
			}
			t.Logf("%s: %d/%d", name, pass, len(texts))
		})
	}
}

func TestTokenizePieces(t *testing.T) {
	model := vocabPath(t, "llama-spm")
	code, stdout, stderr := runTokenizeWith(t, "", "-m", model, "Hello world")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// llama-tokenize prints "%6d -> '%s'" per token; BOS comes first.
	want := "     1 -> '<s>'\n 15043 -> ' Hello'\n  3186 -> ' world'\n"
	if stdout != want {
		t.Errorf("got\n%s\nwant\n%s", stdout, want)
	}
	code, stdout, _ = runTokenizeWith(t, "", "-m", model, "--ids", "Hello world")
	if code != 0 || stdout != "[1, 15043, 3186]\n" {
		t.Errorf("--ids: exit %d, %q", code, stdout)
	}
	// Control tokens are text unless --parse-special.
	_, stdout, _ = runTokenizeWith(t, "", "-m", model, "--ids", "--no-bos", "--parse-special", "<s>Hi")
	if !strings.HasPrefix(stdout, "[1, ") {
		t.Errorf("--parse-special: %q", stdout)
	}
	_, stdout, _ = runTokenizeWith(t, "", "-m", model, "--ids", "--no-bos", "<s>Hi")
	if strings.HasPrefix(stdout, "[1, ") {
		t.Errorf("without --parse-special: %q", stdout)
	}
	// --stdin keeps the input byte for byte, trailing newline included.
	_, a, _ := runTokenizeWith(t, "Hi\n", "-m", model, "--ids", "--stdin")
	_, b, _ := runTokenizeWith(t, "", "-m", model, "--ids", "Hi")
	if a == b {
		t.Errorf("--stdin dropped the newline: %q", a)
	}
}

func TestTokenizeDetokenize(t *testing.T) {
	model := vocabPath(t, "gpt-2")
	const text = "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～"
	code, ids, stderr := runTokenizeWith(t, text, "-m", model, "--ids", "--stdin")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	args := []string{"--detokenize", "-m", model}
	for _, f := range strings.Fields(strings.Trim(ids, "[]\n")) {
		args = append(args, strings.TrimSuffix(f, ","))
	}
	code, stdout, stderr := runTokenizeWith(t, "", args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != text+"\n" {
		t.Errorf("detokenize = %q, want %q", stdout, text+"\n")
	}
}

func TestTokenizeErrors(t *testing.T) {
	model := vocabPath(t, "gpt-2")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no model", []string{"hi"}, "-m"},
		{"missing file", []string{"-m", filepath.Join(t.TempDir(), "none.gguf"), "hi"}, "none.gguf"},
		{"no text", []string{"-m", model}, "text"},
		{"two texts", []string{"-m", model, "--stdin", "hi"}, "text"},
		{"bad id", []string{"--detokenize", "-m", model, "12", "x"}, `"x"`},
		{"id out of range", []string{"--detokenize", "-m", model, strconv.Itoa(1 << 20)}, "1048576"},
		{"no ids", []string{"--detokenize", "-m", model}, "ids"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runTokenizeWith(t, "", tc.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) || !strings.HasPrefix(stderr, "owl tokenize: ") {
				t.Errorf("stderr %q: want one line mentioning %s", stderr, tc.want)
			}
		})
	}
	// Not a vocabulary: the error names the missing key.
	dir := t.TempDir()
	notVocab := filepath.Join(dir, "empty.gguf")
	// A GGUF header with no metadata: magic, version 3, 0 tensors, 0 keys.
	hdr := append([]byte("GGUF"), 3, 0, 0, 0)
	hdr = append(hdr, make([]byte, 16)...)
	if err := os.WriteFile(notVocab, hdr, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runTokenizeWith(t, "", "-m", notVocab, "hi")
	if code != 1 || !strings.Contains(stderr, "tokenizer.ggml.model") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
