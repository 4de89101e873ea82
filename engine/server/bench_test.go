package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/openweights/owl/engine"
)

// BenchmarkServe measures aggregate generated tokens per second through the
// HTTP API (streaming chat, loopback) at 1, 4 and 16 concurrent clients,
// with as many slots, on the shared synthetic model and SmolLM2 when
// testdata/models has it.
func BenchmarkServe(b *testing.B) {
	models := []struct{ name, path string }{
		{"synth", synthModel},
		{"smollm2", "../../testdata/models/SmolLM2-135M-Instruct.Q4_1.gguf"},
	}
	const tokens = 32
	for _, mod := range models {
		if _, err := os.Stat(mod.path); err != nil {
			b.Logf("%s absent: skipped", mod.path)
			continue
		}
		for _, clients := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("%s/clients=%d", mod.name, clients), func(b *testing.B) {
				m := loadModel(b, mod.path, mod.name, engine.SchedulerConfig{Slots: clients, Ctx: 256})
				_, ts := testServer(b, Config{}, m)
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
				body := func(i int) string {
					return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"Tell me a story, %d."}],"max_tokens":%d,"seed":%d,"logit_bias":{"0":-100,"2":-100},"stream":true,"stream_options":{"include_usage":true}}`, mod.name, i, tokens, i)
				}
				var generated int64
				b.ResetTimer()
				start := time.Now()
				for range b.N {
					var wg sync.WaitGroup
					var mu sync.Mutex
					for i := range clients {
						wg.Add(1)
						go func() {
							defer wg.Done()
							r := streamClient(context.Background(), client, ts.URL+"/v1/chat/completions", body(i), false)
							if r.err != nil || r.usage == nil {
								b.Errorf("client %d: %+v", i, r)
								return
							}
							mu.Lock()
							generated += int64(r.usage.CompletionTokens)
							mu.Unlock()
						}()
					}
					wg.Wait()
				}
				b.ReportMetric(float64(generated)/time.Since(start).Seconds(), "tokens/s")
			})
		}
	}
}
