package tokenizer

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// benchText returns about n bytes of mixed text, the same every time:
// English-like prose with punctuation and numbers, source code, and
// passages in Cyrillic, CJK, accented Latin and emoji.
func benchText(n int) string {
	words := strings.Fields(`the of and to in is was that for it with as his on be at by had are but from or have an they which one you were all her she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three`)
	code := []string{
		"func (t *Tokenizer) Encode(text string) []int32 {\n\treturn t.encode(text, nil)\n}\n",
		"for i := 0; i < len(xs); i++ {\n\tif xs[i] != ys[i] { return false }\n}\n",
		"def main():\n    print(f\"{x:>10} items, {y!r}\")\n    return {'a': 1, 'b': [2, 3]}\n",
		"    if (ptr == NULL) { fprintf(stderr, \"error: %s\\n\", msg); exit(1); }\n",
	}
	foreign := []string{
		"нещо на Български език и още думи", "我想在apple工作1314151天～", "Cửa Việt là một cửa biển",
		"Führer Straße Übergröße", "🚀 (normal) 😶‍🌫️ ✅ 🦙🦙", "कान्तिपुर नेपाल", "こんにちは世界、元気ですか",
	}
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for b.Len() < n {
		switch k := r.IntN(20); {
		case k < 14: // a sentence
			m := 4 + r.IntN(14)
			for i := 0; i < m; i++ {
				w := words[r.IntN(len(words))]
				if i == 0 {
					w = strings.ToUpper(w[:1]) + w[1:]
				}
				b.WriteString(w)
				switch r.IntN(12) {
				case 0:
					b.WriteString(",")
				case 1:
					b.WriteString(" " + []string{"1", "42", "2024", "3.14", "100,000"}[r.IntN(5)])
				}
				if i < m-1 {
					b.WriteByte(' ')
				}
			}
			b.WriteString([]string{". ", "? ", "! ", ".\n", ".\n\n"}[r.IntN(5)])
		case k < 17:
			b.WriteString(code[r.IntN(len(code))])
		default:
			b.WriteString(foreign[r.IntN(len(foreign))])
			b.WriteString(" ")
		}
	}
	return b.String()
}

// BenchmarkEncode tokenizes 1 MB of mixed text. "bpe" is GPT-2 with its
// word cache warm (as in a long-running process); "bpe-cold" empties the
// cache before every pass.
func BenchmarkEncode(b *testing.B) {
	text := benchText(1 << 20)
	for _, bc := range []struct {
		name, vocab string
		cold        bool
	}{
		{"spm", "llama-spm", false},
		{"bpe", "gpt-2", false},
		{"bpe-cold", "gpt-2", true},
		{"wpm", "bert-bge", false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tok := loadVocab(b, bc.vocab)
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			var n int
			for b.Loop() {
				if bc.cold && tok.bpe != nil {
					b.StopTimer()
					tok.bpe.cacheMu.Lock()
					clear(tok.bpe.cache)
					tok.bpe.cacheMu.Unlock()
					b.StartTimer()
				}
				n = len(tok.Encode(text, false, false))
			}
			b.ReportMetric(float64(len(text))/float64(n), "bytes/token")
		})
	}
}
