package engine

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels/cpu"
)

// BenchmarkSchedulerThroughput measures aggregate generation speed with 1,
// 4 and 16 clients at once, each generating schedBenchTokens tokens from
// its own short prompt (end-of-generation banned, so every request runs
// to its length). One op is one round of all clients; tokens/s counts
// generated tokens over the wall time, prompts included.
func BenchmarkSchedulerThroughput(b *testing.B) {
	const schedBenchTokens = 32
	for _, m := range benchModels {
		b.Run(m.name, func(b *testing.B) {
			if _, err := os.Stat(m.path); err != nil {
				b.Skipf("model absent (run make models): %v", err)
			}
			be := cpu.New(0)
			defer be.Close()
			l, err := Load(m.path, be)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			s, err := NewScheduler(l, be, SchedulerConfig{Slots: 16, Ctx: 256, CacheType: gguf.TypeF16})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for _, clients := range []int{1, 4, 16} {
				b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
					reqs := make([]*Request, clients)
					for i := range reqs {
						reqs[i] = &Request{
							Prompt: l.PromptTokens(fmt.Sprintf("Client %d asks: once upon a time, in a small village by the sea,", i), false),
							Params: GenerateParams{MaxTokens: schedBenchTokens, Sampler: SamplerParams{
								Temperature: 0.8, TopK: 40, Seed: uint64(i), LogitBias: noEOG(l)}},
						}
					}
					generated := 0
					for b.Loop() {
						var wg sync.WaitGroup
						errs := make([]error, clients)
						counts := make([]int, clients)
						for i, r := range reqs {
							wg.Add(1)
							go func() {
								defer wg.Done()
								st, err := s.Submit(context.Background(), r)
								if err != nil {
									errs[i] = err
									return
								}
								for ev, ok := st.Next(); ok; ev, ok = st.Next() {
									counts[i] += len(ev.Tokens)
									if ev.Err != nil {
										errs[i] = ev.Err
									}
								}
							}()
						}
						wg.Wait()
						for i, err := range errs {
							if err != nil {
								b.Fatal(err)
							}
							generated += counts[i]
						}
					}
					b.ReportMetric(float64(generated)/b.Elapsed().Seconds(), "tokens/s")
				})
			}
		})
	}
}
