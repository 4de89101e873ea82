package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openweights/owl/engine"
)

// noEOS keeps the tiny model from ending early (token 2 is its EOS).
const noEOS = `"logit_bias":{"2":-100}`

func chatBody(extra string) string {
	if extra == "" {
		return `{"model":"tiny","messages":[{"role":"user","content":"Say something."}]}`
	}
	return `{"model":"tiny","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say something."}],` + extra + `}`
}

func TestChatCompletion(t *testing.T) {
	s, ts := tinyServer(t, Config{})
	m := s.models[0]
	before := time.Now().Unix()
	r := post(t, ts.URL+"/v1/chat/completions", chatBody(`"max_tokens":7,"temperature":0,`+noEOS))
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var c chatCompletion
	if err := json.Unmarshal(r.body, &c); err != nil {
		t.Fatal(err)
	}
	raw := r.json(t)
	choice := raw["choices"].([]any)[0].(map[string]any)
	if _, ok := choice["logprobs"]; !ok || choice["logprobs"] != nil {
		t.Errorf("logprobs must be present and null: %s", r.body)
	}
	if !strings.HasPrefix(c.ID, "chatcmpl-") || len(c.ID) < 20 || c.Object != "chat.completion" || c.Model != "tiny" ||
		!strings.HasPrefix(c.SystemFingerprint, "fp_") || c.Created < before || c.Created > time.Now().Unix() {
		t.Errorf("envelope: %s", r.body)
	}
	// The exact prompt: the template's rendering, tokenized.
	msgs := `[{"role":"system","content":"Be brief."},{"role":"user","content":"Say something."}]`
	text, err := m.Loaded.ChatPrompt([]byte(msgs), nil)
	if err != nil {
		t.Fatal(err)
	}
	prompt := m.Loaded.PromptTokens(text, true)
	if c.Usage == nil || c.Usage.PromptTokens != len(prompt) || c.Usage.CompletionTokens != 7 || c.Usage.TotalTokens != len(prompt)+7 {
		t.Errorf("usage %+v, want prompt %d, completion 7", c.Usage, len(prompt))
	}
	if len(c.Choices) != 1 || c.Choices[0].FinishReason != "length" || c.Choices[0].Message.Role != "assistant" || c.Choices[0].Message.Content == nil {
		t.Fatalf("choice: %s", r.body)
	}
	// The same text as the scheduler generates for the same prompt.
	st, err := m.Engine.Submit(context.Background(), &engine.Request{Prompt: prompt,
		Params: engine.GenerateParams{MaxTokens: 7, Sampler: engine.SamplerParams{LogitBias: map[int32]float32{2: -100}, TopK: 40, MinP: 0.05, TopP: 1, RepeatPenalty: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	want, err := st.(*engine.Stream).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if *c.Choices[0].Message.Content != string(want.Text) {
		t.Errorf("content %q, engine says %q", *c.Choices[0].Message.Content, want.Text)
	}

	// Unknown fields are ignored, as OpenAI ignores them.
	r3 := post(t, ts.URL+"/v1/chat/completions", chatBody(`"max_tokens":7,"temperature":0,"store":true,"metadata":{"a":"b"},"service_tier":"auto","user":"u1","some_future_field":[1,{"x":null}],`+noEOS))
	var c3 chatCompletion
	json.Unmarshal(r3.body, &c3)
	if r3.status != 200 || *c3.Choices[0].Message.Content != *c.Choices[0].Message.Content {
		t.Errorf("unknown fields: %d %s", r3.status, r3.body)
	}

	// Content as text parts and the developer role render like strings.
	r2 := post(t, ts.URL+"/v1/chat/completions", `{"model":"tiny","messages":[{"role":"developer","content":[{"type":"text","text":"Be brief."}]},{"role":"user","content":[{"type":"text","text":"Say something."}]}],"max_tokens":7,"temperature":0,`+noEOS+`}`)
	var c2 chatCompletion
	json.Unmarshal(r2.body, &c2)
	if r2.status != 200 || c2.Usage.PromptTokens != c.Usage.PromptTokens || *c2.Choices[0].Message.Content != *c.Choices[0].Message.Content {
		t.Errorf("parts/developer: %d %s vs %s", r2.status, r2.body, r.body)
	}
}

// streamChunks posts a streaming request and checks the SSE framing: JSON
// chunks then a final [DONE].
func streamChunks(t *testing.T, url, body string) []map[string]any {
	t.Helper()
	r := post(t, url, body)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("%d %v %s", r.status, r.header, r.body)
	}
	events := sseEvents(t, r.body)
	if len(events) < 2 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("stream does not end in [DONE]: %q", events)
	}
	var out []map[string]any
	for _, e := range events[:len(events)-1] {
		var v map[string]any
		if err := json.Unmarshal([]byte(e), &v); err != nil {
			t.Fatalf("chunk %q: %v", e, err)
		}
		out = append(out, v)
	}
	return out
}

func TestChatStream(t *testing.T) {
	_, ts := tinyServer(t, Config{})
	url := ts.URL + "/v1/chat/completions"
	var whole chatCompletion
	r := post(t, url, chatBody(`"max_tokens":9,"temperature":0,"n":2,`+noEOS))
	json.Unmarshal(r.body, &whole)

	chunks := streamChunks(t, url, chatBody(`"max_tokens":9,"temperature":0,"n":2,"stream":true,"stream_options":{"include_usage":true},`+noEOS))
	id := chunks[0]["id"]
	text := map[int]string{}
	roles := map[int]int{}
	finish := map[int]string{}
	for i, c := range chunks {
		if c["id"] != id || c["object"] != "chat.completion.chunk" || c["model"] != "tiny" || c["created"] == nil || c["system_fingerprint"] == nil {
			t.Fatalf("chunk %d envelope: %v", i, c)
		}
		if _, ok := c["usage"]; !ok {
			t.Fatalf("with include_usage every chunk has usage (null): %v", c)
		}
		if i == len(chunks)-1 {
			break
		}
		if c["usage"] != nil {
			t.Fatalf("usage before the last chunk: %v", c)
		}
		for _, ch := range c["choices"].([]any) {
			ch := ch.(map[string]any)
			idx := int(ch["index"].(float64))
			d := ch["delta"].(map[string]any)
			if d["role"] != nil {
				roles[idx]++
				if len(text[idx]) > 0 {
					t.Errorf("role after content")
				}
			}
			if s, ok := d["content"].(string); ok {
				text[idx] += s
			}
			if f, ok := ch["finish_reason"].(string); ok {
				finish[idx] = f
			}
		}
	}
	last := chunks[len(chunks)-1]
	if len(last["choices"].([]any)) != 0 {
		t.Fatalf("usage chunk has choices: %v", last)
	}
	u := last["usage"].(map[string]any)
	if u["completion_tokens"].(float64) != 18 || u["prompt_tokens"].(float64) != float64(whole.Usage.PromptTokens) ||
		u["total_tokens"].(float64) != 18+float64(whole.Usage.PromptTokens) {
		t.Errorf("usage %v", u)
	}
	for i := 0; i < 2; i++ {
		if roles[i] != 1 || finish[i] != "length" {
			t.Errorf("choice %d: %d role deltas, finish %q", i, roles[i], finish[i])
		}
		if text[i] != *whole.Choices[i].Message.Content {
			t.Errorf("choice %d streamed %q, whole %q", i, text[i], *whole.Choices[i].Message.Content)
		}
	}

	// Without include_usage there is no usage field at all.
	for _, c := range streamChunks(t, url, chatBody(`"max_tokens":2,"stream":true`)) {
		if _, ok := c["usage"]; ok {
			t.Fatalf("usage without include_usage: %v", c)
		}
	}
}

func TestSeed(t *testing.T) {
	_, ts := tinyServer(t, Config{})
	url := ts.URL + "/v1/chat/completions"
	gen := func(extra string) []string {
		r := post(t, url, chatBody(`"max_tokens":12,"temperature":1.5,"top_k":0,"min_p":0,`+noEOS+extra))
		var c chatCompletion
		if err := json.Unmarshal(r.body, &c); err != nil || r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		var out []string
		for i, ch := range c.Choices {
			if ch.Index != i {
				t.Fatalf("choice %d has index %d", i, ch.Index)
			}
			out = append(out, *ch.Message.Content)
		}
		return out
	}
	a, b := gen(`,"seed":42,"n":2`), gen(`,"seed":42,"n":2`)
	if len(a) != 2 || a[0] != b[0] || a[1] != b[1] {
		t.Fatalf("same seed, different outputs: %q vs %q", a, b)
	}
	if a[0] == a[1] {
		t.Errorf("n=2 gave the same choice twice: %q", a)
	}
	if c := gen(`,"seed":43`); c[0] == a[0] {
		t.Errorf("another seed gave the same text %q", c[0])
	}
}

func TestStop(t *testing.T) {
	_, ts := tinyServer(t, Config{})
	url := ts.URL + "/v1/completions"
	r := post(t, url, `{"model":"tiny","prompt":"The","max_tokens":24,"temperature":0,`+noEOS+`}`)
	var full textCompletion
	json.Unmarshal(r.body, &full)
	text := full.Choices[0].Text
	if len([]rune(text)) < 8 {
		t.Fatalf("greedy text too short for the test: %q", text)
	}
	runes := []rune(text)
	stop := string(runes[len(runes)/2 : len(runes)/2+2])
	cut := text[:strings.Index(text, stop)]
	for _, stream := range []bool{false, true} {
		body := fmt.Sprintf(`{"model":"tiny","prompt":"The","max_tokens":24,"temperature":0,"stop":["zzzz",%q],"stream":%v,`+noEOS+`}`, stop, stream)
		var got, reason string
		if stream {
			for _, c := range streamChunks(t, url, body) {
				for _, ch := range c["choices"].([]any) {
					ch := ch.(map[string]any)
					got += ch["text"].(string)
					if f, ok := ch["finish_reason"].(string); ok {
						reason = f
					}
				}
			}
		} else {
			var c textCompletion
			json.Unmarshal(post(t, url, body).body, &c)
			got, reason = c.Choices[0].Text, *c.Choices[0].FinishReason
		}
		if got != cut || reason != "stop" {
			t.Errorf("stream=%v stop %q: got %q (%s), want %q", stream, stop, got, reason, cut)
		}
	}
}

func TestCompletions(t *testing.T) {
	s, ts := tinyServer(t, Config{})
	tok := s.models[0].Loaded.Tokenizer
	url := ts.URL + "/v1/completions"
	var c textCompletion
	r := post(t, url, `{"model":"tiny","prompt":["one","two three"],"n":2,"max_tokens":3,"temperature":0,`+noEOS+`}`)
	if err := json.Unmarshal(r.body, &c); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if !strings.HasPrefix(c.ID, "cmpl-") || c.Object != "text_completion" || len(c.Choices) != 4 {
		t.Fatalf("%s", r.body)
	}
	var u Usage
	json.Unmarshal(*c.Usage, &u)
	p1, p2 := len(s.models[0].Loaded.PromptTokens("one", true)), len(s.models[0].Loaded.PromptTokens("two three", true))
	if u.PromptTokens != p1+p2 || u.CompletionTokens != 12 || u.TotalTokens != p1+p2+12 {
		t.Errorf("usage %+v (prompts of %d and %d)", u, p1, p2)
	}
	for i, ch := range c.Choices {
		if ch.Index != i || *ch.FinishReason != "length" {
			t.Errorf("choice %d: %+v", i, ch)
		}
	}
	if c.Choices[0].Text != c.Choices[1].Text || c.Choices[0].Text == c.Choices[2].Text && c.Choices[0].Text == "" {
		t.Errorf("greedy choices of a prompt differ: %q", []string{c.Choices[0].Text, c.Choices[1].Text})
	}

	// Token ids, echo and logprobs.
	ids := tok.Encode("hello there", true, false)
	idsJSON, _ := json.Marshal(ids)
	r = post(t, url, `{"model":"tiny","prompt":`+string(idsJSON)+`,"max_tokens":4,"temperature":0,"echo":true,"logprobs":3,`+noEOS+`}`)
	var e textCompletion
	if err := json.Unmarshal(r.body, &e); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	ch := e.Choices[0]
	if !strings.HasPrefix(ch.Text, "hello there") {
		t.Errorf("echo: %q", ch.Text)
	}
	lp := ch.Logprobs
	if lp == nil || len(lp.Tokens) != len(ids)+4 || len(lp.TokenLogprobs) != len(lp.Tokens) || len(lp.TopLogprobs) != len(lp.Tokens) || len(lp.TextOffset) != len(lp.Tokens) {
		t.Fatalf("logprobs for %d prompt + 4 tokens: %s", len(ids), r.body)
	}
	if lp.TokenLogprobs[0] != nil || lp.TopLogprobs[0] != nil {
		t.Errorf("the first prompt token has no logprob: %v %v", lp.TokenLogprobs[0], lp.TopLogprobs[0])
	}
	for i := 1; i < len(lp.Tokens); i++ {
		if lp.TokenLogprobs[i] == nil || *lp.TokenLogprobs[i] > 0 || len(lp.TopLogprobs[i]) == 0 || len(lp.TopLogprobs[i]) > 3 {
			t.Fatalf("token %d: %v %v", i, lp.TokenLogprobs[i], lp.TopLogprobs[i])
		}
		if i > 0 && lp.TextOffset[i] < lp.TextOffset[i-1] {
			t.Errorf("offsets go back: %v", lp.TextOffset)
		}
	}
	// Greedy: each generated token is the best of its distribution.
	for i := len(ids); i < len(lp.Tokens); i++ {
		best := math.Inf(-1)
		for _, v := range lp.TopLogprobs[i] {
			best = max(best, v)
		}
		if math.Abs(best-*lp.TokenLogprobs[i]) > 1e-4 {
			t.Errorf("greedy token %d has logprob %g, best %g", i, *lp.TokenLogprobs[i], best)
		}
	}
	// echo with max_tokens 0: the prompt's logprobs only.
	r = post(t, url, `{"model":"tiny","prompt":"hello there","max_tokens":0,"echo":true,"logprobs":1}`)
	json.Unmarshal(r.body, &e)
	if r.status != 200 || e.Choices[0].Text != "hello there" || len(e.Choices[0].Logprobs.Tokens) != len(ids) {
		t.Errorf("echo only: %d %s", r.status, r.body)
	}
}

func TestChatLogprobs(t *testing.T) {
	_, ts := tinyServer(t, Config{})
	url := ts.URL + "/v1/chat/completions"
	r := post(t, url, chatBody(`"max_tokens":6,"temperature":0,"logprobs":true,"top_logprobs":3,`+noEOS))
	var c chatCompletion
	if err := json.Unmarshal(r.body, &c); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	lp := c.Choices[0].Logprobs
	if lp == nil || len(lp.Content) != 6 {
		t.Fatalf("logprobs: %s", r.body)
	}
	var joined []byte
	for _, tl := range lp.Content {
		if len(tl.TopLogprobs) != 3 || tl.Logprob > 0 || tl.TopLogprobs[0].Logprob != tl.Logprob || tl.TopLogprobs[0].Token != tl.Token {
			t.Errorf("greedy token %+v", tl)
		}
		for _, b := range tl.Bytes {
			joined = append(joined, byte(b))
		}
	}
	if !strings.Contains(string(joined), *c.Choices[0].Message.Content) {
		t.Errorf("token bytes %q do not make the content %q", joined, *c.Choices[0].Message.Content)
	}
	// Streamed: the same logprobs, spread over the chunks.
	var streamed []chatTokenLogprob
	for _, ch := range streamChunks(t, url, chatBody(`"max_tokens":6,"temperature":0,"logprobs":true,"top_logprobs":3,"stream":true,`+noEOS)) {
		for _, x := range ch["choices"].([]any) {
			if l, ok := x.(map[string]any)["logprobs"].(map[string]any); ok {
				b, _ := json.Marshal(l["content"])
				var part []chatTokenLogprob
				json.Unmarshal(b, &part)
				streamed = append(streamed, part...)
			}
		}
	}
	a, _ := json.Marshal(streamed)
	b, _ := json.Marshal(lp.Content)
	if string(a) != string(b) {
		t.Errorf("streamed logprobs %s\nwhole %s", a, b)
	}
}

func TestQueueFull(t *testing.T) {
	m := loadModel(t, tinyModel, "tiny", engineCfg(1, 512))
	m.Engine.Close()
	// One slot and no queue: a second request while one runs is refused.
	m = loadModel(t, tinyModel, "tiny", engine.SchedulerConfig{Slots: 1, Ctx: 512, QueueSize: -1})
	s, ts := testServer(t, Config{}, m)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/completions", strings.NewReader(`{"model":"tiny","prompt":"a","max_tokens":400,"stream":true,`+noEOS+`}`))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	buf := make([]byte, 64)
	if _, err := io.ReadAtLeast(res.Body, buf, 1); err != nil {
		t.Fatal(err)
	}
	r := post(t, ts.URL+"/v1/completions", `{"model":"tiny","prompt":"a","max_tokens":1}`)
	if r.status != 503 || r.header.Get("Retry-After") == "" || errorOf(t, r)["code"] != "queue_full" {
		t.Fatalf("%d %v %s", r.status, r.header, r.body)
	}
	cancel()
	waitFor(t, "the slot to be freed", 5*time.Second, func() bool { return m.Engine.Stats().BusySlots == 0 })
	if r := post(t, ts.URL+"/v1/completions", `{"model":"tiny","prompt":"a","max_tokens":1}`); r.status != 200 {
		t.Fatalf("after the disconnect: %d %s", r.status, r.body)
	}
	_ = s
}

// fakeEngine plays scripted events, for what a real model cannot be made
// to do on demand.
type fakeEngine struct {
	events    []engine.Event
	submitErr error
	embedErr  error
}

func (f *fakeEngine) Submit(ctx context.Context, r *engine.Request) (Stream, error) {
	if f.submitErr != nil {
		return nil, f.submitErr
	}
	ch := make(chan engine.Event, len(f.events))
	for _, ev := range f.events {
		ch <- ev
	}
	close(ch)
	return chanStream(ch), nil
}

func (f *fakeEngine) Embed(ctx context.Context, inputs [][]int32) ([][]float32, error) {
	if f.embedErr != nil {
		return nil, f.embedErr
	}
	return nil, errors.New("fakeEngine: no embeddings scripted")
}

func (f *fakeEngine) Stats() engine.SchedStats { return engine.SchedStats{} }
func (f *fakeEngine) Close()                   {}

type chanStream <-chan engine.Event

func (c chanStream) Next() (engine.Event, bool) {
	ev, ok := <-c
	return ev, ok
}

func TestEngineFailures(t *testing.T) {
	real := loadModel(t, tinyModel, "tiny", engineCfg(1, 256))
	defer real.Engine.Close()
	fake := func(f *fakeEngine) *Model {
		return &Model{ID: "tiny", Loaded: real.Loaded, Engine: f, Ctx: 256}
	}
	// A failure mid-stream reaches the client as an error event.
	_, ts := testServer(t, Config{}, fake(&fakeEngine{events: []engine.Event{
		{Text: []byte("Hel"), Tokens: []int32{5}},
		{Done: true, Err: errors.New("engine: forward pass failed: boom"), Usage: engine.Usage{PromptTokens: 3, CompletionTokens: 1}},
	}}))
	r := post(t, ts.URL+"/v1/chat/completions", chatBody(`"stream":true`))
	events := sseEvents(t, r.body)
	last := events[len(events)-1]
	if !strings.Contains(last, `"error"`) || !strings.Contains(last, "boom") {
		t.Fatalf("stream ends %q", events)
	}
	r = post(t, ts.URL+"/v1/chat/completions", chatBody(``))
	if r.status != 500 || !strings.Contains(errorOf(t, r)["message"].(string), "boom") {
		t.Fatalf("%d %s", r.status, r.body)
	}
	for _, tt := range []struct {
		err    error
		status int
	}{
		{fmt.Errorf("engine: 4 slots busy: %w", engine.ErrQueueFull), 503},
		{fmt.Errorf("engine: too long: %w", engine.ErrContextFull), 400},
		{engine.ErrClosed, 503},
	} {
		_, ts := testServer(t, Config{}, fake(&fakeEngine{submitErr: tt.err}))
		if r := post(t, ts.URL+"/v1/chat/completions", chatBody(``)); r.status != tt.status {
			t.Errorf("%v: %d, want %d", tt.err, r.status, tt.status)
		}
	}
}
