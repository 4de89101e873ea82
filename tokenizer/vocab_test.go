package tokenizer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/openweights/owl/gguf"
)

// vocabDir holds llama.cpp's vocabulary-only GGUF files and their test
// vectors (see shared/README.md).
const vocabDir = "../../shared/testdata/vocab"

var vocabNames = []string{"llama-spm", "phi-3", "gpt-2", "deepseek-llm", "mpt", "starcoder", "falcon", "bert-bge"}

// vocabCase is one test string and the ids llama.cpp gives it.
type vocabCase struct {
	text string
	want []int32
}

// splitVocabInput splits a .inp file as llama.cpp's test-tokenizer-0 does:
// at each "\n__ggml_vocab_test__\n"; a last piece after the final
// separator is a test only if it is not empty.
func splitVocabInput(raw string) []string {
	const sep = "\n__ggml_vocab_test__\n"
	var out []string
	for pos := 0; pos < len(raw); {
		i := strings.Index(raw[pos:], sep)
		if i < 0 {
			out = append(out, raw[pos:])
			break
		}
		out = append(out, raw[pos:pos+i])
		pos += i + len(sep)
	}
	return out
}

func readVocabCases(tb testing.TB, name string) []vocabCase {
	tb.Helper()
	base := filepath.Join(vocabDir, "ggml-vocab-"+name+".gguf")
	inp, err := os.ReadFile(base + ".inp")
	if err != nil {
		tb.Fatal(err)
	}
	outp, err := os.ReadFile(base + ".out")
	if err != nil {
		tb.Fatal(err)
	}
	texts := splitVocabInput(string(inp))
	lines := strings.Split(strings.TrimSuffix(string(outp), "\n"), "\n")
	if len(texts) != len(lines) {
		tb.Fatalf("%s: %d inputs but %d outputs", name, len(texts), len(lines))
	}
	cases := make([]vocabCase, len(texts))
	for i, line := range lines {
		cases[i].text = texts[i]
		for _, f := range strings.Fields(line) {
			id, err := strconv.ParseInt(f, 10, 32)
			if err != nil {
				tb.Fatalf("%s.out line %d: %v", name, i+1, err)
			}
			cases[i].want = append(cases[i].want, int32(id))
		}
	}
	return cases
}

func loadVocab(tb testing.TB, name string) *Tokenizer {
	tb.Helper()
	path := filepath.Join(vocabDir, "ggml-vocab-"+name+".gguf")
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("vocabulary %s not available (%v); it comes from shared/testdata/vocab", name, err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	tok, err := FromGGUF(f)
	if err != nil {
		tb.Fatalf("FromGGUF(%s): %v", name, err)
	}
	return tok
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestVocabVectors checks every llama.cpp tokenizer test vector:
// add_special = false, parse_special = false.
func TestVocabVectors(t *testing.T) {
	for _, name := range vocabNames {
		t.Run(name, func(t *testing.T) {
			tok := loadVocab(t, name)
			cases := readVocabCases(t, name)
			pass := 0
			for i, c := range cases {
				got := tok.Encode(c.text, false, false)
				if equalIDs(got, c.want) {
					pass++
					continue
				}
				t.Errorf("case %d %q:\n got %v\nwant %v", i, c.text, got, c.want)
			}
			t.Logf("%s: %d/%d test strings match llama.cpp", name, pass, len(cases))
		})
	}
}
