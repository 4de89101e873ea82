package pretok

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestNamesResolve(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) {
		t.Errorf("Names() not sorted")
	}
	usedTypes := map[string]bool{}
	for _, name := range names {
		s, err := Lookup(name)
		if err != nil {
			t.Errorf("Lookup(%q): %v", name, err)
			continue
		}
		if s.Name != name || s.Type == "" || s.Split == nil || len(s.Patterns) == 0 {
			t.Errorf("Lookup(%q) = incomplete Spec %+v", name, s)
		}
		usedTypes[s.Type] = true
	}
	for typ := range types {
		if !usedTypes[typ] {
			t.Errorf("type %q is used by no name", typ)
		}
	}
	// Some values the brief and llama.cpp name, spot-checked.
	for _, name := range []string{
		"default", "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
		"deepseek-llm", "deepseek-coder", "deepseek-v3", "falcon", "mpt", "starcoder", "gpt-2", "phi-2",
		"jina-es", "jina-de", "jina-v1-en", "jina-v2-es", "jina-v2-de", "jina-v2-code", "refact", "command-r",
		"qwen2", "deepseek-r1-qwen", "megrez", "qwen35", "stablelm2", "olmo", "dbrx", "smaug-bpe", "poro-chat",
		"chatglm-bpe", "glm4", "viking", "jais", "tekken", "smollm", "codeshell", "bloom", "gpt3-finnish",
		"exaone", "exaone4", "chameleon", "minerva-7b", "gpt-4o", "llama4", "superbpe", "trillion",
		"bailingmoe", "seed-coder", "hunyuan", "kimi-k2", "grok-2", "a.x-4.0",
	} {
		if _, err := Lookup(name); err != nil {
			t.Errorf("Lookup(%q): %v", name, err)
		}
	}
}

func TestLookupDefaultAndUnknown(t *testing.T) {
	s, err := Lookup("")
	if err != nil || s.Name != "default" || s.Type != "default" {
		t.Fatalf(`Lookup("") = %+v, %v; want the default`, s, err)
	}
	for _, bad := range []string{"no-such-pre", "LLAMA3", "llama3 ", "gpt2"} {
		_, err := Lookup(bad)
		if err == nil {
			t.Errorf("Lookup(%q): no error", bad)
		} else if !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("Lookup(%q): error %q does not name the value", bad, err)
		}
	}
}

func TestFlags(t *testing.T) {
	type flags struct {
		typ                                 string
		ignoreMerges, cleanSpaces, addBOS   bool
		addSep, noBOS, byteEncode, escapeWS bool
		dropWS, newlineWhole                bool
	}
	for _, tc := range []struct {
		name string
		want flags
	}{
		{"default", flags{typ: "default", cleanSpaces: true, byteEncode: true}},
		{"llama-bpe", flags{typ: "llama3", ignoreMerges: true, cleanSpaces: true, addBOS: true, byteEncode: true}},
		{"qwen2", flags{typ: "qwen2", byteEncode: true}},
		{"megrez", flags{typ: "qwen2", cleanSpaces: true, byteEncode: true}},
		{"gpt-2", flags{typ: "gpt2", cleanSpaces: true, byteEncode: true}},
		{"exaone4", flags{typ: "gpt2", cleanSpaces: true, byteEncode: true}},
		{"jina-v2-code", flags{typ: "gpt2", cleanSpaces: true, addSep: true, byteEncode: true}},
		{"deepseek-coder", flags{typ: "deepseek_coder", byteEncode: true}},
		{"tekken", flags{typ: "tekken", ignoreMerges: true, addBOS: true, byteEncode: true}},
		{"chameleon", flags{typ: "chameleon", addBOS: true, byteEncode: true}},
		{"chatglm-bpe", flags{typ: "chatglm4", cleanSpaces: true, noBOS: true, byteEncode: true}},
		{"youtu", flags{typ: "youtu", ignoreMerges: true, byteEncode: true}},
		{"minicpm5", flags{typ: "minicpm5", ignoreMerges: true, cleanSpaces: true, byteEncode: true}},
		{"granite-embed-multi-97m", flags{typ: "granite_emb_multi", ignoreMerges: true, byteEncode: true}},
		{"gemma4", flags{typ: "gemma4", cleanSpaces: true, escapeWS: true, newlineWhole: true}},
		{"sarvam-moe", flags{typ: "sarvam_moe", escapeWS: true}},
		{"whitespace", flags{typ: "whitespace", cleanSpaces: true, dropWS: true}},
	} {
		s, err := Lookup(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		got := flags{s.Type, s.IgnoreMerges, s.CleanSpaces, s.AddBOS, s.AddSep, s.NoBOS, s.ByteEncode,
			s.EscapeWhitespace, s.DropWhitespace, s.NewlineWhole}
		if got != tc.want {
			t.Errorf("Lookup(%q) flags = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestKnownChunks pins exact splits, worked out by hand from the patterns'
// Python regex semantics; both the fast and the regexp2 splitters must
// give them.
func TestKnownChunks(t *testing.T) {
	for _, tc := range []struct {
		pre, text string
		want      []string
	}{
		{"gpt-2", "Hello world  123 's", []string{"Hello", " world", " ", " 123", " '", "s"}},
		{"gpt-2", "I'm you're 'RE", []string{"I", "'m", " you", "'re", " '", "RE"}},
		{"gpt-2", "a\t\tb  ", []string{"a", "\t", "\t", "b", "  "}},
		{"gpt-2", "x \n y", []string{"x", " \n", " y"}},
		{"llama3", "Hello world  123 's", []string{"Hello", " world", " ", " ", "123", " '", "s"}},
		{"llama3", "I'VE 1234567", []string{"I", "'VE", " ", "123", "456", "7"}},
		{"llama3", ".abc \n\n x", []string{".abc", " \n\n", " x"}},
		{"llama3", "a;\n\nb", []string{"a", ";\n\n", "b"}},
		{"llama3", "e\u0301x", []string{"e", "\u0301x"}},
		{"qwen2", "x 1234", []string{"x", " ", "1", "2", "3", "4"}},
		{"qwen35", "e\u0301x y", []string{"e\u0301x", " y"}},
		{"gpt-4o", "HelloWorld XMLHttpRequest I'VE", []string{"Hello", "World", " XMLHttp", "Request", " I'VE"}},
		{"gpt-4o", "a/\n/b", []string{"a", "/\n/", "b"}},
		{"tekken", "I'm 12", []string{"I", "'m", " ", "1", "2"}},
		{"kimi-k2", "中文abc 漢字", []string{"中文", "abc", " ", "漢字"}},
		{"deepseek-llm", "a\n\nb", []string{"a", "\n", "\n", "b"}},
		{"deepseek-v3", "x=1234 中文abc", []string{"x", "=", "123", "4", " ", "中文", "abc"}},
		{"default", " 12345,", []string{" ", "123", "45", ","}},
		{"falcon", "1234567", []string{"123", "456", "7"}},
		{"starcoder", "x 12", []string{"x", " ", "1", "2"}},
		{"poro-chat", "Hello, world (x)", []string{"Hello", ",", " world", " (", "x", ")"}},
		{"superbpe", "a1234567", []string{"a", "1", "234", "567"}},
		{"tiny_aya", "1234567 1234567x", []string{"1", "234", "567", " ", "123", "456", "7", "x"}},
		{"afmoe", "x1234567", []string{"x", "1", "234", "567"}},
		// Later patterns re-split the sentinel chunk; special tokens are
		// matched before pre-tokenization anyway.
		{"chameleon", "<sentinel:12>ab  x", []string{"<", "sentinel", ":", "1", "2", ">", "ab", "  ", "x"}},
		{"whitespace", "a b\tc", []string{"a", " ", "b", "\t", "c"}},
		{"gemma4", "a b\n\nc", []string{"a b", "\n\n", "c"}},
		{"laguna", "a b\n\nc", []string{"a", " b", "\n\n", "c"}},
	} {
		s, err := Lookup(tc.pre)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := compile(s.Patterns, false)
		if err != nil {
			t.Fatal(err)
		}
		for engine, sp := range map[string]Splitter{"fast": s.Split, "regexp2": ref} {
			if got := sp.Split(nil, tc.text); !slices.Equal(got, tc.want) {
				t.Errorf("%s %s %q:\n got %q\nwant %q", tc.pre, engine, tc.text, got, tc.want)
			}
		}
	}
}

// TestCover checks that every spec's chunks are non-empty and cover the
// input, for all test inputs, and that Split appends to dst.
func TestCover(t *testing.T) {
	inputs := slices.Concat(trickyInputs, invalidInputs, vocabTestInputs(t), []string{""})
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		inputs = append(inputs, randomInput(rng, 16, true), randomRunes(rng, 24))
	}
	for _, name := range Names() {
		s, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range inputs {
			checkCover(t, name, in, s.Split.Split(nil, in))
			got := s.Split.Split([]string{"keep"}, in)
			if len(got) == 0 || got[0] != "keep" {
				t.Fatalf("%s: Split dropped dst", name)
			}
		}
	}
}

// TestConcurrent splits from many goroutines at once (run with -race).
func TestConcurrent(t *testing.T) {
	inputs := slices.Concat(trickyInputs, invalidInputs)
	names := []string{"gpt-2", "llama3", "deepseek-llm", "chameleon", "exaone-moe", "superbpe"}
	want := map[string][][]string{}
	for _, name := range names {
		s, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range inputs {
			want[name] = append(want[name], s.Split.Split(nil, in))
		}
	}
	errs := make(chan string, 8)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for k := range 20 {
				name := names[(g+k)%len(names)]
				s, _ := Lookup(name)
				for i, in := range inputs {
					if got := s.Split.Split(nil, in); !slices.Equal(got, want[name][i]) {
						errs <- name + " on " + in
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error("concurrent split differs:", e)
	}
}
