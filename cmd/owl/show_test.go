package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sharedDir = "../../../shared/testdata"

func sharedGGUFs(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"models", "vocab"} {
		m, _ := filepath.Glob(filepath.Join(sharedDir, sub, "*.gguf"))
		out = append(out, m...)
	}
	if len(out) == 0 {
		t.Skipf("no .gguf files under %s (the shared test data is not checked out beside the repository)", sharedDir)
	}
	return out
}

// needFile skips the test when path, shared reference data beside the
// repository, is absent; any other failure to stat it fails the test.
func needFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s is absent (the shared test data is not checked out beside the repository)", path)
	} else if err != nil {
		t.Fatal(err)
	}
}

func runOwl(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = owl(args, &o, &e)
	return code, o.String(), e.String()
}

func TestShowShared(t *testing.T) {
	for _, path := range sharedGGUFs(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			code, out, errOut := runOwl("show", path)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, want := range []string{"architecture:", "parameters:", "tokenizer:", "chat template:", "context length:"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			code, out, errOut = runOwl("show", "--json", "--tensors", path)
			if code != 0 {
				t.Fatalf("--json: exit %d: %s", code, errOut)
			}
			var r showReport
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("--json output does not parse: %v", err)
			}
			if r.Architecture == "" || r.Tokenizer.VocabSize == 0 || len(r.TensorList) != r.Tensors {
				t.Errorf("summary incomplete: %+v", r.Summary)
			}
			var params int64
			for _, tt := range r.TensorList {
				n := int64(1)
				for _, d := range tt.Dims {
					n *= int64(d)
				}
				params += n
			}
			if params != r.Parameters {
				t.Errorf("parameters %d, tensors add up to %d", r.Parameters, params)
			}
		})
	}
}

func TestShowSynthFacts(t *testing.T) {
	path := filepath.Join(sharedDir, "models", "synth-llama-small-Q8_0.gguf")
	needFile(t, path)
	code, out, _ := runOwl("show", path, "--json")
	if code != 0 {
		t.Fatal("exit", code)
	}
	var r showReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	hyper := map[string]any{}
	for _, h := range r.Hyper {
		hyper[h.Name] = h.Value
	}
	// The shared README describes this model: n_embd 256, 4 layers, 8 heads,
	// 4 KV heads, n_ff 768, Q8_0.
	for name, want := range map[string]float64{"embedding size": 256, "layers": 4, "heads": 8, "kv heads": 4, "feed-forward size": 768} {
		if hyper[name] != want {
			t.Errorf("%s = %v, want %v", name, hyper[name], want)
		}
	}
	if r.FileType != "Q8_0" || r.Architecture != "llama" || r.Tokenizer.Model != "llama" || r.Tokenizer.VocabSize != 32000 {
		t.Errorf("summary: %+v", r.Summary)
	}
}

func TestShowMalformed(t *testing.T) {
	dir := t.TempDir()
	huge := binary.LittleEndian.AppendUint32([]byte("GGUF"), 3)
	huge = binary.LittleEndian.AppendUint64(huge, 0)
	huge = binary.LittleEndian.AppendUint64(huge, 1)
	huge = binary.LittleEndian.AppendUint64(huge, 1)
	huge = append(huge, 'k')
	huge = binary.LittleEndian.AppendUint32(huge, 9) // array
	huge = binary.LittleEndian.AppendUint32(huge, 8) // of strings
	huge = binary.LittleEndian.AppendUint64(huge, 1<<50)
	files := map[string][]byte{
		"empty.gguf":     nil,
		"text.gguf":      []byte("hello\nworld\n"),
		"truncated.gguf": []byte("GGUF\x03\x00\x00\x00\x01"),
		"huge.gguf":      huge,
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			code, out, errOut := runOwl("show", p)
			if code == 0 || out != "" {
				t.Errorf("exit %d, stdout %q", code, out)
			}
			if strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "owl show: ") {
				t.Errorf("stderr is not one error line: %q", errOut)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	if code, _, _ := runOwl("show", filepath.Join(dir, "missing.gguf")); code != 1 {
		t.Errorf("missing file: exit %d", code)
	}
	if code, _, _ := runOwl("show"); code != 2 {
		t.Errorf("no file: exit %d", code)
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := runOwl("--help")
	if code != 0 || !strings.Contains(out, "show") {
		t.Errorf("--help: exit %d, %q", code, out)
	}
	code, out, _ = runOwl("help", "show")
	if code != 0 || !strings.Contains(out, "owl show") {
		t.Errorf("help show: exit %d, %q", code, out)
	}
	if code, _, _ = runOwl("help", "nope"); code != 2 {
		t.Errorf("help nope: exit %d", code)
	}
	if code, _, errOut := runOwl("nope"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: exit %d %q", code, errOut)
	}
	if code, _, _ = runOwl(); code != 2 {
		t.Errorf("no args: exit %d", code)
	}
}
