package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
	"github.com/openweights/owl/kernels/cpu"
)

// The shared models the scheduler tests run on: the tiny one (F16, one
// layer of width 8: cheap enough for -race) for the request lifecycle, the
// synthetic one (Q8_0, grouped-query attention) where numerics matter.
const (
	schedTiny  = "llama-2-tiny-random.gguf"
	schedSynth = "synth-llama-small-Q8_0.gguf"
)

// numericsModel is the synthetic model, or the tiny one under -race (the
// scheduling is what the race detector checks; the plain run covers the
// numerics on both).
func numericsModel() string {
	if raceEnabled {
		return schedTiny
	}
	return schedSynth
}

// schedModel loads a shared model for one test.
func schedModel(t *testing.T, name string) (*Loaded, kernels.Backend) {
	t.Helper()
	be := cpu.New(2)
	t.Cleanup(func() { be.Close() })
	l, err := Load(filepath.Join(sharedDir, "models", name), be)
	if err != nil {
		t.Skipf("shared model absent: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l, be
}

func newSched(t *testing.T, l *Loaded, be kernels.Backend, cfg SchedulerConfig) *Scheduler {
	t.Helper()
	s, err := NewScheduler(l, be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// noEOG bans the end-of-generation tokens, so that a random-weight model
// generates exactly MaxTokens.
func noEOG(l *Loaded) map[int32]float32 {
	m := map[int32]float32{}
	for _, id := range l.Tokenizer.EOG() {
		m[id] = float32(math.Inf(-1))
	}
	return m
}

var schedPrompts = []string{
	"The quick brown fox jumps over the lazy dog.",
	"Once upon a time, in a small village by the sea,",
	"Hello",
	"In the beginning the universe was created. This has made a lot of people very angry and been widely regarded as a bad move.",
	"1, 2, 3, 4, 5, 6,",
	"Water boils at one hundred degrees",
}

func samplerFor(l *Loaded, i int) SamplerParams {
	p := SamplerParams{LogitBias: noEOG(l), Seed: uint64(1000 + i)}
	if i%2 == 1 {
		p.Temperature, p.TopK, p.TopP = 0.9, 40, 0.95
	}
	if i%3 == 2 {
		p.RepeatPenalty = 1.1
	}
	return p
}

func mustCollect(t *testing.T, st *Stream, err error) *Completion {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.Collect()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// reference generates with the single-sequence Generate, the engine's
// reference path.
func reference(t *testing.T, l *Loaded, be kernels.Backend, prompt []int32, p GenerateParams) *Result {
	t.Helper()
	sess, err := NewSession(l.Model, be, gguf.TypeF32, 256, 1)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Generate(context.Background(), sess, 0, l.Tokenizer, prompt, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func sameLogprobs(a []LogprobEntry, b [][]TokenLogprob) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d logprob entries, want %d", len(a), len(b))
	}
	for i := range a {
		if !slices.Equal(a[i].Top, b[i]) {
			return fmt.Errorf("token %d: top %v, want %v", i, a[i].Top, b[i])
		}
	}
	return nil
}

// TestSchedulerMatchesGenerate runs several prompts together through the
// scheduler and checks each against Generate alone: same tokens, text,
// finish reason and logprobs.
func TestSchedulerMatchesGenerate(t *testing.T) {
	names := []string{schedTiny}
	if !raceEnabled {
		names = append(names, schedSynth)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) { testMatchesGenerate(t, name) })
	}
}

func testMatchesGenerate(t *testing.T, name string) {
	l, be := schedModel(t, name)
	s := newSched(t, l, be, SchedulerConfig{Slots: 3, Ctx: 256})
	type out struct {
		c   *Completion
		err error
	}
	outs := make([]out, len(schedPrompts))
	var wg sync.WaitGroup
	for i, text := range schedPrompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &Request{Prompt: l.PromptTokens(text, false), Params: GenerateParams{MaxTokens: 6 + i, Sampler: samplerFor(l, i), Logprobs: 3}}
			st, err := s.Submit(context.Background(), r)
			if err == nil {
				outs[i].c, outs[i].err = st.Collect()
			} else {
				outs[i].err = err
			}
		}()
	}
	wg.Wait()
	for i, text := range schedPrompts {
		if outs[i].err != nil {
			t.Fatalf("prompt %d: %v", i, outs[i].err)
		}
		c := outs[i].c
		prompt := l.PromptTokens(text, false)
		want := reference(t, l, be, prompt, GenerateParams{MaxTokens: 6 + i, Sampler: samplerFor(l, i), Logprobs: 3})
		if !slices.Equal(c.Tokens, want.Tokens) {
			t.Errorf("prompt %d: tokens %v, Generate gives %v", i, c.Tokens, want.Tokens)
		}
		if string(c.Text) != string(want.Text) || c.FinishReason != want.FinishReason {
			t.Errorf("prompt %d: %q (%s), Generate gives %q (%s)", i, c.Text, c.FinishReason, want.Text, want.FinishReason)
		}
		if err := sameLogprobs(c.Logprobs, want.Logprobs); err != nil {
			t.Errorf("prompt %d: %v", i, err)
		}
		for k, e := range c.Logprobs {
			// The chosen token's own logprob agrees with its place in Top.
			ok := e.ID == c.Tokens[k] && e.Logprob <= 0 && e.Logprob <= e.Top[0].Logprob
			for _, alt := range e.Top {
				ok = ok && (alt.ID != e.ID || alt.Logprob == e.Logprob)
			}
			if !ok {
				t.Errorf("prompt %d token %d: entry %+v", i, k, e)
			}
		}
		if c.Usage.PromptTokens != len(prompt) || c.Usage.CompletionTokens != len(c.Tokens) || c.Timings.GenTokens != len(c.Tokens) ||
			c.Timings.PromptTokens+c.Usage.CachedTokens != len(prompt) || c.Timings.CachedTokens != c.Usage.CachedTokens {
			t.Errorf("prompt %d: usage %+v, timings %+v for %d tokens", i, c.Usage, c.Timings, len(c.Tokens))
		}
	}
}

// TestSchedulerBatchedEqualsAlone checks that a request's output does not
// depend on other traffic: alone, and joining while three others decode.
func TestSchedulerBatchedEqualsAlone(t *testing.T) {
	l, be := schedModel(t, numericsModel())
	req := func(i, n int) *Request {
		return &Request{Prompt: l.PromptTokens(schedPrompts[i], false), Logprobs: true,
			Params: GenerateParams{MaxTokens: n, Sampler: SamplerParams{Temperature: 0.8, Seed: 7, LogitBias: noEOG(l)}, Logprobs: 2}}
	}
	alone := newSched(t, l, be, SchedulerConfig{Slots: 4, Ctx: 128})
	st, err := alone.Submit(context.Background(), req(3, 12))
	want := mustCollect(t, st, err)

	s := newSched(t, l, be, SchedulerConfig{Slots: 4, Ctx: 128})
	var others []*Stream
	for i := range 3 {
		st, err := s.Submit(context.Background(), req(i, 20))
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, st)
	}
	// Join once the others are decoding.
	for _, o := range others {
		if ev, ok := o.Next(); !ok || ev.Err != nil || len(ev.Tokens) == 0 {
			t.Fatalf("first event %+v", ev)
		}
	}
	st, err = s.Submit(context.Background(), req(3, 12))
	got := mustCollect(t, st, err)
	if !slices.Equal(got.Tokens, want.Tokens) {
		t.Fatalf("batched %v, alone %v", got.Tokens, want.Tokens)
	}
	if !slices.EqualFunc(got.Logprobs, want.Logprobs, func(a, b LogprobEntry) bool {
		return a.ID == b.ID && a.Logprob == b.Logprob && slices.Equal(a.Top, b.Top)
	}) {
		t.Errorf("logprobs differ:\nbatched %v\nalone   %v", got.Logprobs, want.Logprobs)
	}
	for _, o := range others {
		if _, err := o.Collect(); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Steps >= int64(20+12) {
		t.Errorf("%d steps for requests of 20 and 12 tokens run together", st.Steps)
	}
}

// TestSchedulerConcurrent submits many requests from many goroutines (run
// with -race) through few slots and a queue, and checks every output
// against Generate.
func TestSchedulerConcurrent(t *testing.T) {
	l, be := schedModel(t, schedTiny)
	s := newSched(t, l, be, SchedulerConfig{Slots: 4, Ctx: 128, QueueSize: 16, CacheType: gguf.TypeF16})
	const n = 12
	var wg sync.WaitGroup
	outs := make([]*Completion, n)
	errs := make([]error, n)
	var maxBusy, maxQueued int
	var mu sync.Mutex
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &Request{Prompt: l.PromptTokens(schedPrompts[i%len(schedPrompts)], false),
				Params: GenerateParams{MaxTokens: 4 + i%5, Sampler: samplerFor(l, i)}}
			st, err := s.Submit(context.Background(), r)
			if err != nil {
				errs[i] = err
				return
			}
			// Read event by event, as a streaming server does.
			c := &Completion{}
			for {
				ev, ok := st.Next()
				if !ok {
					errs[i] = errors.New("stream ended without Done")
					return
				}
				c.Tokens = append(c.Tokens, ev.Tokens...)
				c.Text = append(c.Text, ev.Text...)
				stats := s.Stats()
				mu.Lock()
				maxBusy, maxQueued = max(maxBusy, stats.BusySlots), max(maxQueued, stats.Queued)
				mu.Unlock()
				if ev.Done {
					c.FinishReason, c.Usage, errs[i] = ev.FinishReason, ev.Usage, ev.Err
					break
				}
			}
			if _, ok := st.Next(); ok {
				errs[i] = errors.New("event after Done")
			}
			outs[i] = c
		}()
	}
	wg.Wait()
	sess, err := NewSession(l.Model, be, gguf.TypeF16, 128, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		prompt := l.PromptTokens(schedPrompts[i%len(schedPrompts)], false)
		want, err := Generate(context.Background(), sess, 0, l.Tokenizer, prompt, GenerateParams{MaxTokens: 4 + i%5, Sampler: samplerFor(l, i)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := outs[i]
		if !slices.Equal(c.Tokens, want.Tokens) || string(c.Text) != string(want.Text) || c.FinishReason != "length" {
			t.Errorf("request %d: %v %q %s, want %v %q length", i, c.Tokens, c.Text, c.FinishReason, want.Tokens, want.Text)
		}
		if c.Usage.PromptTokens != len(prompt) || c.Usage.CompletionTokens != len(c.Tokens) {
			t.Errorf("request %d: usage %+v", i, c.Usage)
		}
	}
	if maxBusy > 4 {
		t.Errorf("%d busy slots of 4", maxBusy)
	}
	st := s.Stats()
	if st.BusySlots != 0 || st.Queued != 0 || st.Slots != 4 || st.KVCells != 4*128 || st.KVCellsUsed == 0 || st.KVCellsUsed > st.KVCells {
		t.Errorf("stats after the run: %+v", st)
	}
	t.Logf("max busy %d, max queued %d, %d steps", maxBusy, maxQueued, st.Steps)
}

// TestSchedulerCancel checks that a cancelled request frees its slot within
// one step, and a queued one gets it.
func TestSchedulerCancel(t *testing.T) {
	l, be := schedModel(t, schedTiny)
	// Long enough that it cannot finish before the test cancels it.
	const maxTokens = 4000
	s := newSched(t, l, be, SchedulerConfig{Slots: 1, Ctx: 4096, QueueSize: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	long := &Request{Prompt: l.PromptTokens(schedPrompts[0], false), Params: GenerateParams{MaxTokens: maxTokens, Sampler: SamplerParams{LogitBias: noEOG(l)}}}
	st, err := s.Submit(ctx, long)
	if err != nil {
		t.Fatal(err)
	}
	next := &Request{Prompt: l.PromptTokens(schedPrompts[1], false), Params: GenerateParams{MaxTokens: 3, Sampler: SamplerParams{LogitBias: noEOG(l)}}}
	queued, err := s.Submit(context.Background(), next)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if ev, ok := st.Next(); !ok || ev.Done {
			t.Fatalf("event %+v", ev)
		}
	}
	if got := s.Stats(); got.BusySlots != 1 || got.Queued != 1 {
		t.Fatalf("stats %+v, want 1 busy and 1 queued", got)
	}
	before := s.Stats().Steps
	cancel()
	var last Event
	n := 3
	for ev, ok := st.Next(); ok; ev, ok = st.Next() {
		last = ev
		n += len(ev.Tokens)
	}
	if !last.Done || !errors.Is(last.Err, context.Canceled) || last.FinishReason != "" {
		t.Fatalf("final event %+v", last)
	}
	if n >= maxTokens || last.Usage.CompletionTokens != n {
		t.Errorf("%d tokens (usage %+v) of a cancelled request", n, last.Usage)
	}
	c := mustCollect(t, queued, nil)
	if len(c.Tokens) != 3 || c.FinishReason != "length" {
		t.Errorf("queued request after the cancel: %+v", c)
	}
	// The pass in flight when cancel was called may finish; the next is
	// already the queued request's: its prompt, then two more tokens.
	if after := s.Stats().Steps; after-before > 1+3 {
		t.Errorf("%d steps ran after the cancel, want at most 1 + the queued request's 3", after-before)
	}

	// A request cancelled while it waits in the queue leaves it.
	ctx2, cancel2 := context.WithCancel(context.Background())
	busy, err := s.Submit(context.Background(), &Request{Prompt: long.Prompt, Params: GenerateParams{MaxTokens: 30, Sampler: long.Params.Sampler}})
	if err != nil {
		t.Fatal(err)
	}
	waiting, err := s.Submit(ctx2, next)
	if err != nil {
		t.Fatal(err)
	}
	cancel2()
	if _, err := waiting.Collect(); !errors.Is(err, context.Canceled) {
		t.Errorf("queued request cancelled: %v", err)
	}
	if q := s.Stats().Queued; q != 0 {
		t.Errorf("%d queued after the cancel", q)
	}
	mustCollect(t, busy, nil)
}

// TestSchedulerQueueFull fills the slots and the queue.
func TestSchedulerQueueFull(t *testing.T) {
	l, be := schedModel(t, schedTiny)
	s := newSched(t, l, be, SchedulerConfig{Slots: 1, Ctx: 128, QueueSize: 1})
	ctx, cancel := context.WithCancel(context.Background())
	r := &Request{Prompt: l.PromptTokens(schedPrompts[2], false), Params: GenerateParams{MaxTokens: 100, Sampler: SamplerParams{LogitBias: noEOG(l)}}}
	a, err := s.Submit(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Submit(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(context.Background(), r); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third request: %v, want ErrQueueFull", err)
	}
	cancel()
	for _, st := range []*Stream{a, b} {
		if _, err := st.Collect(); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: %v", err)
		}
	}
	// The freed places take requests again.
	r.Params.MaxTokens = 2
	for range 2 {
		st, err := s.Submit(context.Background(), r)
		if c := mustCollect(t, st, err); len(c.Tokens) != 2 {
			t.Errorf("%d tokens", len(c.Tokens))
		}
	}

	// With no queue, a request is refused whenever the slots are busy.
	s0 := newSched(t, l, be, SchedulerConfig{Slots: 1, Ctx: 128, QueueSize: -1})
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	r.Params.MaxTokens = 100
	if _, err := s0.Submit(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s0.Submit(ctx, r); !errors.Is(err, ErrQueueFull) {
		t.Errorf("second request without a queue: %v", err)
	}
}

// TestSchedulerPrefixReuse checks that a slot's cached prefix is reused
// (counting the tokens evaluated), that the output is the same as without
// reuse, and that an unrelated prompt goes to another slot.
func TestSchedulerPrefixReuse(t *testing.T) {
	l, be := schedModel(t, numericsModel())
	system := "You are a helpful assistant. Answer briefly and precisely, and never make things up. "
	p1 := l.PromptTokens(system+"What is the capital of France?", false)
	p2 := l.PromptTokens(system+"How far away is the Moon?", false)
	other := l.PromptTokens("Completely unrelated text that shares nothing with the others at all.", false)
	shared := commonPrefix(p1, p2)
	if shared < 16 || shared >= len(p2)-1 {
		t.Fatalf("prompts share %d of %d tokens", shared, len(p2))
	}
	params := GenerateParams{MaxTokens: 5, Sampler: SamplerParams{LogitBias: noEOG(l)}}
	s := newSched(t, l, be, SchedulerConfig{Slots: 2, Ctx: 128})
	run := func(p []int32) *Completion {
		t.Helper()
		before := s.Stats()
		st, err := s.Submit(context.Background(), &Request{Prompt: p, Params: params})
		c := mustCollect(t, st, err)
		after := s.Stats()
		if got := after.PromptTokens - before.PromptTokens; got != int64(len(p)-c.Usage.CachedTokens) {
			t.Errorf("%d prompt tokens evaluated, want %d - %d cached", got, len(p), c.Usage.CachedTokens)
		}
		if c.Timings.CachedTokens != c.Usage.CachedTokens || c.Timings.PromptTokens != len(p)-c.Usage.CachedTokens {
			t.Errorf("timings %+v, usage %+v", c.Timings, c.Usage)
		}
		return c
	}
	cases := []struct {
		name   string
		prompt []int32
		cached int
	}{
		{"first", p1, 0},
		{"shared system prompt", p2, shared},
		{"unrelated prompt takes the other slot", other, 0},
		{"same prompt again", p2, len(p2) - 1},
		{"back to the first", p1, shared},
	}
	for _, tc := range cases {
		c := run(tc.prompt)
		if c.Usage.CachedTokens != tc.cached {
			t.Errorf("%s: %d cached tokens, want %d", tc.name, c.Usage.CachedTokens, tc.cached)
		}
		want := reference(t, l, be, tc.prompt, params)
		if !slices.Equal(c.Tokens, want.Tokens) {
			t.Errorf("%s: %v, without reuse %v", tc.name, c.Tokens, want.Tokens)
		}
	}
	if st := s.Stats(); st.CachedTokens != int64(2*shared+len(p2)-1) {
		t.Errorf("%d cached tokens in all, want %d", st.CachedTokens, 2*shared+len(p2)-1)
	}
}

// TestSchedulerContextOverflow checks Submit's refusals.
func TestSchedulerContextOverflow(t *testing.T) {
	l, be := schedModel(t, schedTiny)
	s := newSched(t, l, be, SchedulerConfig{Slots: 1, Ctx: 32})
	prompt := l.PromptTokens(schedPrompts[0], false) // 10-odd tokens
	long := slices.Repeat(prompt, 4)
	cases := []struct {
		name   string
		r      *Request
		by     int
		isFull bool
	}{
		{"max tokens", &Request{Prompt: prompt, Params: GenerateParams{MaxTokens: 30}}, len(prompt) + 30 - 32, true},
		{"prompt alone", &Request{Prompt: long, Params: GenerateParams{MaxTokens: -1}}, len(long) - 32, true},
		{"prompt with max tokens", &Request{Prompt: long, Params: GenerateParams{MaxTokens: 1}}, len(long) - 32, true},
		{"empty prompt", &Request{Params: GenerateParams{MaxTokens: 1}}, 0, false},
		{"bad token", &Request{Prompt: []int32{1, -5}, Params: GenerateParams{MaxTokens: 1}}, 0, false},
		{"token past the vocabulary", &Request{Prompt: []int32{1, 1 << 30}, Params: GenerateParams{MaxTokens: 1}}, 0, false},
		{"nil", nil, 0, false},
	}
	for _, tc := range cases {
		_, err := s.Submit(context.Background(), tc.r)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if errors.Is(err, ErrContextFull) != tc.isFull {
			t.Errorf("%s: %v", tc.name, err)
		}
		if tc.isFull && !strings.Contains(err.Error(), fmt.Sprintf("by %d", tc.by)) {
			t.Errorf("%s: %v does not say by %d", tc.name, err, tc.by)
		}
	}
	// Exactly full fits, and MaxTokens -1 fills the context.
	st, err := s.Submit(context.Background(), &Request{Prompt: prompt, Params: GenerateParams{MaxTokens: -1, Sampler: SamplerParams{LogitBias: noEOG(l)}}})
	if c := mustCollect(t, st, err); len(c.Tokens) != 32-len(prompt) || c.FinishReason != "length" {
		t.Errorf("MaxTokens -1: %d tokens (%s), want %d", len(c.Tokens), c.FinishReason, 32-len(prompt))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Submit(ctx, &Request{Prompt: prompt, Params: GenerateParams{MaxTokens: 1}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v", err)
	}
}

// TestSchedulerStop checks stop strings: the output ends before the first
// one, which is not returned.
func TestSchedulerStop(t *testing.T) {
	l, be := schedModel(t, schedTiny)
	s := newSched(t, l, be, SchedulerConfig{Slots: 2, Ctx: 128})
	prompt := l.PromptTokens(schedPrompts[1], false)
	params := GenerateParams{MaxTokens: 24, Sampler: SamplerParams{LogitBias: noEOG(l)}}
	st, err := s.Submit(context.Background(), &Request{Prompt: prompt, Params: params})
	full := mustCollect(t, st, err)
	text := string(full.Text)
	if len(text) < 12 {
		t.Skipf("output %q too short to cut", text)
	}
	stop := text[len(text)/2 : len(text)/2+3]
	cut := strings.Index(text, stop)
	params.Stop = []string{"never appears in it \x00", stop}
	st, err = s.Submit(context.Background(), &Request{Prompt: prompt, Params: params})
	c := mustCollect(t, st, err)
	if string(c.Text) != text[:cut] || c.FinishReason != "stop" {
		t.Errorf("with stop %q: %q (%s), want %q", stop, c.Text, c.FinishReason, text[:cut])
	}
	if len(c.Tokens) >= len(full.Tokens) || !slices.Equal(c.Tokens, full.Tokens[:len(c.Tokens)]) || c.Usage.CompletionTokens != len(c.Tokens) {
		t.Errorf("tokens %v of %v", c.Tokens, full.Tokens)
	}
}

// forceConstraint allows exactly the tokens of want, in order; then only
// end-of-generation tokens when allowEOG, or nothing.
type forceConstraint struct {
	want     []int32
	i        int
	eog      []int32
	allowEOG bool
	rejectAt int // Accept fails at this index when > 0
	masks    int
}

func (c *forceConstraint) Mask(logits []float32) {
	c.masks++
	keep := map[int32]bool{}
	if c.i < len(c.want) {
		keep[c.want[c.i]] = true
	} else if c.allowEOG {
		for _, id := range c.eog {
			keep[id] = true
		}
	}
	for i := range logits {
		if !keep[int32(i)] {
			logits[i] = float32(math.Inf(-1))
		}
	}
}

func (c *forceConstraint) Accept(id int32) error {
	if c.rejectAt > 0 && c.i == c.rejectAt {
		return errors.New("not allowed here")
	}
	if c.i >= len(c.want) || id != c.want[c.i] {
		return fmt.Errorf("token %d not allowed", id)
	}
	c.i++
	return nil
}

func (c *forceConstraint) Done() bool { return c.i == len(c.want) }

// blockConstraint allows nothing.
type blockConstraint struct{}

func (blockConstraint) Mask(logits []float32) {
	for i := range logits {
		logits[i] = float32(math.Inf(-1))
	}
}
func (blockConstraint) Accept(int32) error { return errors.New("nothing allowed") }
func (blockConstraint) Done() bool         { return false }

func TestSchedulerConstraint(t *testing.T) {
	l, be := schedModel(t, schedTiny)
	s := newSched(t, l, be, SchedulerConfig{Slots: 2, Ctx: 128})
	prompt := l.PromptTokens(schedPrompts[0], false)
	want := l.Tokenizer.Encode(" forced words here", false, false)
	for _, allowEOG := range []bool{false, true} {
		c := &forceConstraint{want: want, eog: l.Tokenizer.EOG(), allowEOG: allowEOG}
		st, err := s.Submit(context.Background(), &Request{Prompt: prompt, Constraint: c,
			Params: GenerateParams{MaxTokens: 50, Sampler: SamplerParams{Temperature: 1, Seed: 3}}})
		got := mustCollect(t, st, err)
		if !slices.Equal(got.Tokens, want) || got.FinishReason != "stop" {
			t.Errorf("allowEOG %v: %v (%s), want %v (stop)", allowEOG, got.Tokens, got.FinishReason, want)
		}
		if string(got.Text) != string(l.Tokenizer.Decode(want)) {
			t.Errorf("text %q", got.Text)
		}
		// One mask per token, plus the probe once complete.
		if c.masks != len(want)+1 {
			t.Errorf("%d masks for %d tokens", c.masks, len(want))
		}
	}
	// Errors end the request, and the slot serves the next one.
	st, err := s.Submit(context.Background(), &Request{Prompt: prompt, Constraint: blockConstraint{}, Params: GenerateParams{MaxTokens: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Collect(); err == nil || !strings.Contains(err.Error(), "allows no next token") {
		t.Errorf("constraint allowing nothing: %v", err)
	}
	st, err = s.Submit(context.Background(), &Request{Prompt: prompt, Constraint: &forceConstraint{want: want, rejectAt: 2}, Params: GenerateParams{MaxTokens: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := st.Collect(); err == nil || !strings.Contains(err.Error(), "not allowed here") || len(c.Tokens) != 2 {
		t.Errorf("rejected token: %v after %d tokens", err, len(c.Tokens))
	}
	if st := s.Stats(); st.BusySlots != 0 {
		t.Errorf("busy slots after the errors: %d", st.BusySlots)
	}
}

// TestSchedulerEchoLogprobs compares prompt logprobs with the logits of
// the whole prompt evaluated at once.
func TestSchedulerEchoLogprobs(t *testing.T) {
	l, be := schedModel(t, schedTiny)
	prompt := l.PromptTokens(schedPrompts[3], false)
	const rowsPerStep = 8
	if len(prompt) <= 2*rowsPerStep {
		t.Fatalf("prompt of %d tokens does not span three steps", len(prompt))
	}
	sess, err := NewSession(l.Model, be, gguf.TypeF32, 512, 1)
	if err != nil {
		t.Fatal(err)
	}
	all, err := sess.Eval(0, prompt, true)
	if err != nil {
		t.Fatal(err)
	}
	vocab := l.Model.HParams().Vocab
	s := newSched(t, l, be, SchedulerConfig{Slots: 2, Ctx: 512})
	s.echoRows = rowsPerStep // before the first Submit, which hands it to the loop
	// A cached copy of the prompt must not be used: every position needs
	// its logits.
	st, err := s.Submit(context.Background(), &Request{Prompt: prompt, Params: GenerateParams{MaxTokens: 1}})
	mustCollect(t, st, err)
	for _, maxTokens := range []int{0, 2} {
		before := s.Stats().Steps
		st, err := s.Submit(context.Background(), &Request{Prompt: prompt, EchoLogprobs: true, Params: GenerateParams{MaxTokens: maxTokens, Logprobs: 2}})
		c := mustCollect(t, st, err)
		steps := (len(prompt) + rowsPerStep - 1) / rowsPerStep
		if maxTokens > 1 {
			steps += maxTokens - 1
		}
		if got := s.Stats().Steps - before; got != int64(steps) {
			t.Errorf("max %d: %d steps, want %d (prompt of %d in chunks of %d rows)", maxTokens, got, steps, len(prompt), rowsPerStep)
		}
		if len(c.Tokens) != maxTokens || c.FinishReason != "length" || c.Usage.CachedTokens != 0 {
			t.Errorf("max %d: %d tokens, %s, %d cached", maxTokens, len(c.Tokens), c.FinishReason, c.Usage.CachedTokens)
		}
		if len(c.PromptLogprobs) != len(prompt) {
			t.Fatalf("%d prompt logprobs for %d tokens", len(c.PromptLogprobs), len(prompt))
		}
		if e := c.PromptLogprobs[0]; e.ID != prompt[0] || e.Logprob != 0 || e.Top != nil {
			t.Errorf("first entry %+v", e)
		}
		var lp []float32
		for i := 1; i < len(prompt); i++ {
			lp = LogSoftmax(lp, all[(i-1)*vocab:i*vocab])
			e := c.PromptLogprobs[i]
			if e.ID != prompt[i] || math.Abs(float64(e.Logprob-lp[prompt[i]])) > 1e-5 || len(e.Top) != 2 || e.Top[0] != TopLogprobs(nil, lp, 1)[0] {
				t.Fatalf("position %d: %+v, want logprob %g", i, e, lp[prompt[i]])
			}
		}
	}
}

// TestSchedulerClose checks that Close ends running and queued requests
// and refuses new ones.
func TestSchedulerClose(t *testing.T) {
	l, be := schedModel(t, schedTiny)
	s, err := NewScheduler(l, be, SchedulerConfig{Slots: 1, Ctx: 128})
	if err != nil {
		t.Fatal(err)
	}
	r := &Request{Prompt: l.PromptTokens(schedPrompts[2], false), Params: GenerateParams{MaxTokens: 100, Sampler: SamplerParams{LogitBias: noEOG(l)}}}
	a, err := s.Submit(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Submit(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := a.Next(); !ok || ev.Err != nil {
		t.Fatalf("first event %+v", ev)
	}
	s.Close()
	s.Close()
	for _, st := range []*Stream{a, b} {
		if _, err := st.Collect(); !errors.Is(err, ErrClosed) {
			t.Errorf("after Close: %v", err)
		}
	}
	if _, err := s.Submit(context.Background(), r); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close: %v", err)
	}
}

// failingModel fails (or panics in) its forward pass on demand.
type failingModel struct {
	Model
	mu    sync.Mutex
	fail  error
	panic bool
}

func (m *failingModel) Forward(b *kernels.Batch, c *kernels.KVCache, logits []float32) error {
	m.mu.Lock()
	fail, p := m.fail, m.panic
	m.mu.Unlock()
	if p {
		panic("device lost")
	}
	if fail != nil {
		return fail
	}
	return m.Model.Forward(b, c, logits)
}

func (m *failingModel) set(err error, p bool) {
	m.mu.Lock()
	m.fail, m.panic = err, p
	m.mu.Unlock()
}

// TestSchedulerForwardError checks that a failing forward pass ends the
// requests in it with the error and the scheduler keeps serving.
func TestSchedulerForwardError(t *testing.T) {
	l, be := schedModel(t, schedTiny)
	fm := &failingModel{Model: l.Model}
	fl := *l
	fl.Model = fm
	s := newSched(t, &fl, be, SchedulerConfig{Slots: 2, Ctx: 128})
	r := &Request{Prompt: l.PromptTokens(schedPrompts[0], false), Params: GenerateParams{MaxTokens: 4, Sampler: SamplerParams{LogitBias: noEOG(l)}}}
	boom := errors.New("boom")
	for _, tc := range []struct {
		err   error
		panic bool
		want  string
	}{{boom, false, "boom"}, {nil, true, "device lost"}} {
		fm.set(tc.err, tc.panic)
		st, err := s.Submit(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Collect(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("failing pass: %v, want %q", err, tc.want)
		}
		fm.set(nil, false)
		st, err = s.Submit(context.Background(), r)
		if c := mustCollect(t, st, err); len(c.Tokens) != 4 {
			t.Errorf("after the failure: %d tokens", len(c.Tokens))
		}
	}
}

// TestSchedulerIdle checks that an idle scheduler runs no steps and that
// waiting on a stream returns once the request ends.
func TestSchedulerIdle(t *testing.T) {
	l, be := schedModel(t, schedTiny)
	s := newSched(t, l, be, SchedulerConfig{})
	if st := s.Stats(); st.Slots != 4 || st.QueueSize != 64 || s.Ctx() != min(l.Model.HParams().CtxTrain, 4096) {
		t.Errorf("defaults: %+v, ctx %d", st, s.Ctx())
	}
	time.Sleep(20 * time.Millisecond)
	if st := s.Stats(); st.Steps != 0 {
		t.Errorf("%d steps while idle", st.Steps)
	}
	st, err := s.Submit(context.Background(), &Request{Prompt: l.PromptTokens("Hi", false), Params: GenerateParams{MaxTokens: 0}})
	c := mustCollect(t, st, err)
	if len(c.Tokens) != 0 || c.FinishReason != "length" || s.Stats().Steps != 1 {
		t.Errorf("MaxTokens 0: %+v after %d steps", c, s.Stats().Steps)
	}
}

// TestEvalBatch checks the multi-sequence evaluation against one sequence
// at a time, and its refusals.
func TestEvalBatch(t *testing.T) {
	l, be := schedModel(t, numericsModel())
	vocab := l.Model.HParams().Vocab
	a := l.PromptTokens(schedPrompts[0], false)
	b := l.PromptTokens(schedPrompts[1], false)
	c := l.PromptTokens(schedPrompts[2], false)

	// One at a time: a's logits after each token, b's and c's after the last.
	one, err := NewSession(l.Model, be, gguf.TypeF32, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	eval := func(toks []int32, all bool) []float32 {
		one.Truncate(0, 0)
		out, err := one.Eval(0, toks, all)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Clone(out)
	}
	want := slices.Concat(eval(a, true), eval(c, false))
	wantB := eval(b, false)

	s, err := NewSession(l.Model, be, gguf.TypeF32, 64, 3)
	if err != nil {
		t.Fatal(err)
	}
	// b in two parts: its first half in a batch of its own, with no logits.
	if out, err := s.EvalBatch([]SeqTokens{{Seq: 1, Tokens: b[:len(b)/2]}}); err != nil || len(out) != 0 {
		t.Fatalf("no logits wanted: %d values, %v", len(out), err)
	}
	got, err := s.EvalBatch([]SeqTokens{
		{Seq: 2, Tokens: a, Logits: LogitsAll},
		{Seq: 1, Tokens: b[len(b)/2:], Logits: LogitsLast},
		{Seq: 0, Tokens: c, Logits: LogitsLast},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != (len(a)+2)*vocab {
		t.Fatalf("%d logits, want %d rows", len(got), len(a)+2)
	}
	gotB := got[len(a)*vocab : (len(a)+1)*vocab]
	gotRest := slices.Concat(got[:len(a)*vocab], got[(len(a)+1)*vocab:])
	if !slices.Equal(gotRest, want) || !slices.Equal(gotB, wantB) {
		t.Error("batched logits differ from one sequence at a time")
	}
	if s.Len(0) != len(c) || s.Len(1) != len(b) || s.Len(2) != len(a) {
		t.Errorf("lengths %d %d %d", s.Len(0), s.Len(1), s.Len(2))
	}

	bad := []struct {
		name  string
		parts []SeqTokens
	}{
		{"nothing", nil},
		{"empty part", []SeqTokens{{Seq: 0}}},
		{"sequence out of range", []SeqTokens{{Seq: 3, Tokens: a}}},
		{"negative sequence", []SeqTokens{{Seq: -1, Tokens: a}}},
		{"sequence twice", []SeqTokens{{Seq: 0, Tokens: a[:1]}, {Seq: 0, Tokens: a[:1]}}},
		{"past the context", []SeqTokens{{Seq: 0, Tokens: make([]int32, 64)}}},
		{"token out of range", []SeqTokens{{Seq: 0, Tokens: []int32{int32(vocab)}}}},
		{"bad mode", []SeqTokens{{Seq: 0, Tokens: a[:1], Logits: 9}}},
	}
	for _, tc := range bad {
		if _, err := s.EvalBatch(tc.parts); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	big, err := NewSession(l.Model, be, gguf.TypeF32, MaxBatch+1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := big.EvalBatch([]SeqTokens{{Seq: 0, Tokens: make([]int32, MaxBatch)}, {Seq: 1, Tokens: a[:1]}}); err == nil {
		t.Error("batch over MaxBatch: no error")
	}
	if s.Len(0) != len(c) || s.Len(1) != len(b) || s.Len(2) != len(a) {
		t.Errorf("refused batches changed the lengths: %d %d %d", s.Len(0), s.Len(1), s.Len(2))
	}
}
