package pretok

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// benchParts are the kinds of text the benchmark mixes: mostly English
// prose, then code, then other scripts and emoji.
var benchParts = []struct {
	weight int
	text   string
}{
	{10, "The quick brown fox jumps over the lazy dog. It wasn't the first time, and they'd seen it before: " +
		"the fox's habit of leaping at 6:45 every morning had become a local legend. \"Why,\" asked the farmer, " +
		"\"would anyone bother?\" Nobody knew. In 1987 the county recorded 12,345 such jumps; by 2023 the number " +
		"had grown to 1,234,567, or so the newspapers claimed.\n\n"},
	{6, "Large language models split text into tokens before they read it. A tokenizer's pre-tokenizer first " +
		"cuts the text into words, numbers and punctuation, and only then does byte-pair encoding merge the " +
		"bytes of each piece. We'll see that the details matter: spaces, newlines and contractions like I'm " +
		"or you've all change the result.\n"},
	{4, "func (s *Server) handle(w http.ResponseWriter, r *http.Request) {\n\tif r.Method != http.MethodPost {\n" +
		"\t\thttp.Error(w, \"method not allowed\", 405)\n\t\treturn\n\t}\n\tvar req struct{ Prompt string `json:\"prompt\"` }\n" +
		"\tif err := json.NewDecoder(r.Body).Decode(&req); err != nil {\n\t\treturn // TODO: log it\n\t}\n" +
		"\tfor i := 0; i < len(req.Prompt); i++ { s.count[req.Prompt[i]]++ }\n}\n\n"},
	{2, "def fib(n: int) -> int:\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    a, b = 0, 1\n" +
		"    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n"},
	{2, "人工智能是计算机科学的一个分支，它企图了解智能的实质。東京は日本の首都です。ひらがなとカタカナ。" +
		"한국어 문장도 있습니다.\n"},
	{1, "Привет, мир! Ελληνικά γράμματα. مرحبا بالعالم. नमस्ते दुनिया।\n"},
	{1, "Great job 👍🏽 🎉🎉 — see you soon! ❤️ 🦙 👨\u200d👩\u200d👧 (c) 2024 ™ ±3.5%\n"},
}

var benchText = sync.OnceValue(func() string {
	total := 0
	for _, p := range benchParts {
		total += p.weight
	}
	rng := rand.New(rand.NewPCG(9, 9))
	var b strings.Builder
	for b.Len() < 1<<20 {
		k := rng.IntN(total)
		for _, p := range benchParts {
			if k -= p.weight; k < 0 {
				b.WriteString(p.text)
				break
			}
		}
	}
	return b.String()
})

// BenchmarkSplit measures pre-tokenizers on ~1 MB of mixed text.
func BenchmarkSplit(b *testing.B) {
	text := benchText()
	for _, name := range []string{"gpt-2", "llama3", "qwen2", "gpt-4o", "deepseek-v3", "deepseek-llm", "default", "jais-2"} {
		s, err := Lookup(name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			dst := s.Split.Split(nil, text)
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				dst = s.Split.Split(dst[:0], text)
			}
			b.ReportMetric(float64(len(dst)), "chunks")
		})
	}
	// The same patterns on regexp2 alone, for comparison.
	for _, name := range []string{"gpt-2", "llama3"} {
		s, _ := Lookup(name)
		ref, err := compile(s.Patterns, false)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/regexp2", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			var dst []string
			for b.Loop() {
				dst = ref.Split(dst[:0], text)
			}
		})
	}
}
