package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openweights/owl/engine"
)

// streamResult is what one streaming client saw.
type streamResult struct {
	chunks     int
	done       bool // got data: [DONE]
	usage      *Usage
	finish     string
	err        error
	disconnect bool
}

// streamClient runs one streaming chat request. With hangUp it cancels
// the request after the first content chunk, as a client that goes away.
func streamClient(ctx context.Context, client *http.Client, url, body string, hangUp bool) streamResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var res streamResult
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		res.err = err
		return res
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		res.err = fmt.Errorf("status %d", resp.StatusCode)
		return res
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			res.done = true
			continue
		}
		var c chatChunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			res.err = fmt.Errorf("chunk %q: %v", data, err)
			return res
		}
		res.chunks++
		if c.Usage != nil && string(*c.Usage) != "null" {
			var u Usage
			json.Unmarshal(*c.Usage, &u)
			res.usage = &u
		}
		for _, ch := range c.Choices {
			if ch.FinishReason != nil {
				res.finish = *ch.FinishReason
			}
			if hangUp && ch.Delta.Content != nil && *ch.Delta.Content != "" {
				res.disconnect = true
				cancel()
				return res
			}
		}
	}
	res.err = sc.Err()
	return res
}

// TestLoad drives 64 concurrent streaming clients through one model with
// 16 slots over loopback: all complete with [DONE] and exact usage; then 64
// again of which 16 hang up mid-stream, whose slots must be freed; and
// neither goroutines nor the heap may grow across the rounds.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	const clients, slots, hangUps, maxTokens = 64, 16, 16, 12
	m := loadModel(t, tinyModel, "tiny", engine.SchedulerConfig{Slots: slots, Ctx: 256, QueueSize: clients})
	s, ts := testServer(t, Config{}, m)
	url := ts.URL + "/v1/chat/completions"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()

	body := func(i, n int) string {
		return fmt.Sprintf(`{"model":"tiny","messages":[{"role":"user","content":"Client %d says hello."}],"max_tokens":%d,"temperature":0.7,"seed":%d,"logit_bias":{"2":-100},"stream":true,"stream_options":{"include_usage":true}}`, i, n, i)
	}
	promptLen := func(i int) int {
		text, err := m.Loaded.ChatPrompt([]byte(fmt.Sprintf(`[{"role":"user","content":"Client %d says hello."}]`, i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(m.Loaded.PromptTokens(text, true))
	}
	round := func(hang int) []streamResult {
		out := make([]streamResult, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := maxTokens
				if i < hang {
					n = 200 // would run long: it hangs up instead
				}
				out[i] = streamClient(ctx, client, url, body(i, n), i < hang)
			}()
		}
		wg.Wait()
		return out
	}
	settle := func() (goroutines int, heap uint64) {
		client.CloseIdleConnections()
		http.DefaultClient.CloseIdleConnections()
		waitFor(t, "idle slots", 5*time.Second, func() bool {
			st := m.Engine.Stats()
			return st.BusySlots == 0 && st.Queued == 0
		})
		time.Sleep(50 * time.Millisecond)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return runtime.NumGoroutine(), ms.HeapAlloc
	}

	// A warm-up round fills the pools and caches that are meant to stay.
	round(0)
	g0, h0 := settle()

	start := time.Now()
	for i, r := range round(0) {
		if r.err != nil || !r.done || r.usage == nil || r.finish != "length" {
			t.Fatalf("client %d: %+v", i, r)
		}
		if r.usage.CompletionTokens != maxTokens || r.usage.PromptTokens != promptLen(i) || r.usage.TotalTokens != maxTokens+promptLen(i) {
			t.Fatalf("client %d usage %+v, want %d + %d", i, *r.usage, promptLen(i), maxTokens)
		}
	}
	t.Logf("%d streaming clients × %d tokens on %d slots: %v", clients, maxTokens, slots, time.Since(start))

	gen0 := m.Engine.Stats().GeneratedTokens
	results := round(hangUps)
	for i, r := range results {
		switch {
		case i < hangUps && (!r.disconnect || r.err != nil):
			t.Fatalf("client %d should have hung up: %+v", i, r)
		case i >= hangUps && (r.err != nil || !r.done || r.usage == nil || r.usage.CompletionTokens != maxTokens):
			t.Fatalf("client %d: %+v", i, r)
		}
	}
	g1, h1 := settle() // fails unless every slot has been freed
	generated := m.Engine.Stats().GeneratedTokens - gen0
	// The hung-up requests stop within a step or so of the disconnect,
	// far short of their 200 tokens.
	if limit := int64((clients-hangUps)*maxTokens + hangUps*100); generated > limit {
		t.Errorf("%d tokens generated in the round with hang-ups; more than %d means abandoned requests ran on", generated, limit)
	}
	if r := post(t, ts.URL+"/v1/completions", `{"model":"tiny","prompt":"after","max_tokens":2}`); r.status != 200 {
		t.Fatalf("after the load: %d %s", r.status, r.body)
	}
	g2, h2 := settle()
	t.Logf("goroutines %d → %d → %d, heap %d → %d → %d KiB", g0, g1, g2, h0>>10, h1>>10, h2>>10)
	if g1 > g0+4 || g2 > g0+4 {
		t.Errorf("goroutines grew from %d to %d and %d", g0, g1, g2)
	}
	if h1 > h0+16<<20 || h2 > h0+16<<20 {
		t.Errorf("heap grew from %d to %d and %d KiB", h0>>10, h1>>10, h2>>10)
	}
	_ = s
}
