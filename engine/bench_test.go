package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels/cpu"
)

// benchModels are the models the speed benchmarks run: the shared synthetic
// model and, when `make models` fetched it, SmolLM2-135M.
var benchModels = []struct{ name, path string }{
	{"synth-Q8_0", filepath.Join(sharedDir, "models", "synth-llama-small-Q8_0.gguf")},
	{"smollm2-Q4_1", "../testdata/models/SmolLM2-135M-Instruct.Q4_1.gguf"},
}

func benchSession(b *testing.B, path string, threads int) (*Session, []int32, func()) {
	b.Helper()
	if _, err := os.Stat(path); err != nil {
		b.Skipf("model absent (run make models): %v", err)
	}
	be := cpu.New(threads)
	l, err := Load(path, be)
	if err != nil {
		be.Close()
		b.Fatal(err)
	}
	s, err := NewSession(l.Model, be, gguf.TypeF16, 1024, 1)
	if err != nil {
		b.Fatal(err)
	}
	prompt := l.Tokenizer.Encode("Once upon a time, in a small village by the sea, there lived an old fisherman who", true, false)
	return s, prompt, func() { l.Close(); be.Close() }
}

// BenchmarkPrefill measures prompt processing: one 128-token batch per op.
func BenchmarkPrefill(b *testing.B) {
	for _, m := range benchModels {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t=%d", m.name, threads), func(b *testing.B) {
				s, prompt, done := benchSession(b, m.path, threads)
				defer done()
				batch := make([]int32, 0, 128)
				for len(batch) < 128 {
					batch = append(batch, prompt...)
				}
				batch = batch[:128]
				b.ReportAllocs()
				for b.Loop() {
					s.Truncate(0, 0)
					if _, err := s.Eval(0, batch, false); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

// BenchmarkDecode measures generation: one token per op after a prompt, the
// cache refilled from the prompt when it nears its end.
func BenchmarkDecode(b *testing.B) {
	for _, m := range benchModels {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t=%d", m.name, threads), func(b *testing.B) {
				s, prompt, done := benchSession(b, m.path, threads)
				defer done()
				if _, err := s.Eval(0, prompt, false); err != nil {
					b.Fatal(err)
				}
				tok := []int32{prompt[len(prompt)-1]}
				// Warm the decode path once so its scratch exists.
				if _, err := s.Eval(0, tok, false); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if s.Len(0) >= 256 {
						s.Truncate(0, len(prompt))
					}
					if _, err := s.Eval(0, tok, false); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}
