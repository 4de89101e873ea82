package engine

import (
	"fmt"
	"os"
	"testing"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels/cpu"
)

// BenchmarkEmbed measures embedding throughput: 16 sentences of about 16
// tokens each per op, evaluated seqs inputs per pass (the scheduler's
// EmbedSeqs), and one 256-token document.
func BenchmarkEmbed(b *testing.B) {
	for _, m := range benchModels {
		if _, err := os.Stat(m.path); err != nil {
			continue
		}
		be := cpu.New(2)
		l, err := Load(m.path, be)
		if err != nil {
			b.Fatal(err)
		}
		sentence := l.PromptTokens("The quick brown fox jumps over the lazy dog near the river bank.", false)
		short := make([][]int32, 16)
		for i := range short {
			short[i] = sentence
		}
		var doc []int32
		for len(doc) < 256 {
			doc = append(doc, sentence...)
		}
		doc = doc[:256]
		cases := []struct {
			name   string
			inputs [][]int32
			seqs   int
		}{
			{fmt.Sprintf("16x%d/seqs=1", len(sentence)), short, 1},
			{fmt.Sprintf("16x%d/seqs=4", len(sentence)), short, 4},
			{"1x256", [][]int32{doc}, 1},
		}
		for _, c := range cases {
			b.Run(m.name+"/"+c.name, func(b *testing.B) {
				s, err := NewSession(l.Model, be, gguf.TypeF16, 512, c.seqs)
				if err != nil {
					b.Fatal(err)
				}
				tokens := 0
				for _, in := range c.inputs {
					tokens += len(in)
				}
				for b.Loop() {
					if _, err := s.Embed(c.inputs, PoolingMean); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*tokens)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
		l.Close()
		be.Close()
	}
}
