package engine

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// embedInputs tokenizes the embedding test texts.
func embedInputs(l *Loaded) [][]int32 {
	var in [][]int32
	for _, text := range embedTexts {
		in = append(in, l.PromptTokens(text, false))
	}
	return in
}

// sameVectors reports whether got and want hold the same vectors.
func sameVectors(got, want [][]float32) bool {
	return slices.EqualFunc(got, want, func(a, b []float32) bool { return slices.Equal(a, b) })
}

// TestSchedulerEmbed checks the scheduler's embeddings against
// Session.Embed, while generation requests run beside them: the
// generations must come out as they do alone, and the slots' cached
// prefixes must survive.
func TestSchedulerEmbed(t *testing.T) {
	l, be := schedModel(t, numericsModel())
	inputs := embedInputs(l)
	sess, err := NewSession(l.Model, be, gguf.TypeF32, 128, 2)
	if err != nil {
		t.Fatal(err)
	}
	want, err := sess.Embed(inputs, PoolingMean)
	if err != nil {
		t.Fatal(err)
	}

	s := newSched(t, l, be, SchedulerConfig{Slots: 2, Ctx: 128, EmbedSeqs: 3})
	got, err := s.Embed(context.Background(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	if !sameVectors(got, want) {
		t.Fatal("the scheduler's embeddings differ from Session.Embed's")
	}

	// Generations and embeddings at once.
	params := func(i int) GenerateParams {
		return GenerateParams{MaxTokens: 8, Sampler: samplerFor(l, i)}
	}
	var wg sync.WaitGroup
	comps := make([]*Completion, 3)
	genErrs := make([]error, 3)
	for i := range comps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := s.Submit(context.Background(), &Request{Prompt: l.PromptTokens(schedPrompts[i], false), Params: params(i)})
			if err == nil {
				comps[i], err = st.Collect()
			}
			genErrs[i] = err
		}()
	}
	embeds := make([][][]float32, 4)
	embErrs := make([]error, 4)
	for i := range embeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each request a different selection: the passes mix them.
			embeds[i], embErrs[i] = s.Embed(context.Background(), inputs[i:])
		}()
	}
	wg.Wait()
	for i, c := range comps {
		if genErrs[i] != nil {
			t.Fatalf("generation %d: %v", i, genErrs[i])
		}
		ref := reference(t, l, be, l.PromptTokens(schedPrompts[i], false), params(i))
		if !slices.Equal(c.Tokens, ref.Tokens) {
			t.Errorf("generation %d beside embeddings: %v, alone %v", i, c.Tokens, ref.Tokens)
		}
	}
	for i := range embeds {
		if embErrs[i] != nil {
			t.Fatalf("embedding request %d: %v", i, embErrs[i])
		}
		if !sameVectors(embeds[i], want[i:]) {
			t.Errorf("embedding request %d beside generations differs", i)
		}
	}

	// The slots keep their prefixes: the same prompt again reuses one.
	p := l.PromptTokens(schedPrompts[5], false)
	st, err := s.Submit(context.Background(), &Request{Prompt: p, Params: params(0)})
	mustCollect(t, st, err)
	before := s.Stats()
	if _, err := s.Embed(context.Background(), inputs); err != nil {
		t.Fatal(err)
	}
	if after := s.Stats(); after.KVCellsUsed != before.KVCellsUsed || after.Steps != before.Steps {
		t.Errorf("an embedding changed the slots: %+v, before %+v", after, before)
	}
	st, err = s.Submit(context.Background(), &Request{Prompt: p, Params: params(0)})
	if c := mustCollect(t, st, err); c.Usage.CachedTokens != len(p)-1 {
		t.Errorf("after embeddings, %d of %d prompt tokens reused", c.Usage.CachedTokens, len(p))
	}
}

func TestSchedulerEmbedRefusals(t *testing.T) {
	l, be := schedModel(t, schedTiny)
	s := newSched(t, l, be, SchedulerConfig{Slots: 1, Ctx: 32})
	tooLong := make([]int32, 35)
	for _, tc := range []struct {
		name   string
		inputs [][]int32
		want   string
		is     error
	}{
		{"too long", [][]int32{{1, 2}, tooLong}, "input 1 of 35 tokens exceeds the context of 32 by 3", ErrContextFull},
		{"empty", [][]int32{{}}, "empty", nil},
		{"none", nil, "no inputs", nil},
		{"bad token", [][]int32{{-1}}, "outside the vocabulary", nil},
	} {
		if _, err := s.Embed(context.Background(), tc.inputs); err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Embed(ctx, [][]int32{{1}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v", err)
	}
	if st := s.Stats(); st.Steps != 0 {
		t.Errorf("refused embeddings ran %d steps", st.Steps)
	}

	hp := *l.Model.HParams()
	hp.Pooling = PoolingRank
	rl := *l
	rl.Model = hparamsModel{l.Model, &hp}
	rs := newSched(t, &rl, be, SchedulerConfig{Slots: 1, Ctx: 32})
	if _, err := rs.Embed(context.Background(), [][]int32{{1}}); !errors.Is(err, ErrCannotEmbed) {
		t.Errorf("reranker: %v", err)
	}

	s.Close()
	if _, err := s.Embed(context.Background(), [][]int32{{1}}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// hparamsModel is a model with other hyperparameters.
type hparamsModel struct {
	Model
	hp *HParams
}

func (m hparamsModel) HParams() *HParams { return m.hp }

// gatedModel holds each hidden-state pass until the test lets it go, and
// fails or panics in it on demand.
type gatedModel struct {
	Model
	entered chan struct{} // a pass has started
	gate    chan struct{} // a pass may go on
	mu      sync.Mutex
	fail    error
	panic   bool
}

func (m *gatedModel) Hidden(b *kernels.Batch, c *kernels.KVCache, hidden []float32) error {
	if m.gate != nil {
		m.entered <- struct{}{}
		<-m.gate
	}
	m.mu.Lock()
	fail, p := m.fail, m.panic
	m.mu.Unlock()
	if p {
		panic("device lost")
	}
	if fail != nil {
		return fail
	}
	return m.Model.Hidden(b, c, hidden)
}

// TestSchedulerEmbedQueueAndCancel holds an embedding pass to fill the
// queue, and cancels a request whose input is in the held pass: its Embed
// returns at once, and the scheduler serves the next ones.
func TestSchedulerEmbedQueueAndCancel(t *testing.T) {
	l, be := schedModel(t, schedTiny)
	gm := &gatedModel{Model: l.Model, entered: make(chan struct{}), gate: make(chan struct{})}
	gl := *l
	gl.Model = gm
	inputs := embedInputs(l)
	// Computed first: once the scheduler runs, it alone may use the model.
	sess, err := NewSession(l.Model, be, gguf.TypeF32, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	want, err := sess.Embed(inputs, PoolingMean)
	if err != nil {
		t.Fatal(err)
	}
	// One slot and no queue: one embedding request at a time.
	s := newSched(t, &gl, be, SchedulerConfig{Slots: 1, Ctx: 64, QueueSize: -1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := make(chan error, 1)
	go func() {
		_, err := s.Embed(ctx, inputs)
		res <- err
	}()
	<-gm.entered
	if _, err := s.Embed(context.Background(), inputs); !errors.Is(err, ErrQueueFull) {
		t.Errorf("second request with no queue: %v", err)
	}
	cancel()
	select {
	case err := <-res:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled request: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled Embed did not return while its pass was held")
	}
	gm.gate <- struct{}{}

	// The scheduler dropped the cancelled request and goes on.
	go func() {
		for range gm.entered {
			gm.gate <- struct{}{}
		}
	}()
	defer close(gm.entered)
	var got [][]float32
	for try := 0; ; try++ {
		// The cancelled request leaves the queue count at the loop's
		// next turn.
		if got, err = s.Embed(context.Background(), inputs); !errors.Is(err, ErrQueueFull) || try == 100 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil || !sameVectors(got, want) {
		t.Fatalf("after the cancellation: %v", err)
	}
}

// TestSchedulerEmbedFailure checks that a failing (or panicking) pass ends
// the embedding request in it with the error, and the next one succeeds.
func TestSchedulerEmbedFailure(t *testing.T) {
	l, be := schedModel(t, schedTiny)
	gm := &gatedModel{Model: l.Model}
	gl := *l
	gl.Model = gm
	s := newSched(t, &gl, be, SchedulerConfig{Slots: 1, Ctx: 64})
	inputs := embedInputs(l)
	for _, tc := range []struct {
		err   error
		panic bool
		want  string
	}{{errors.New("boom"), false, "boom"}, {nil, true, "device lost"}} {
		gm.mu.Lock()
		gm.fail, gm.panic = tc.err, tc.panic
		gm.mu.Unlock()
		if _, err := s.Embed(context.Background(), inputs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("failing pass: %v, want %q", err, tc.want)
		}
		gm.mu.Lock()
		gm.fail, gm.panic = nil, false
		gm.mu.Unlock()
		if v, err := s.Embed(context.Background(), inputs); err != nil || len(v) != len(inputs) {
			t.Errorf("after the failure: %d vectors, %v", len(v), err)
		}
	}
}

// TestSchedulerEmbedClose closes the scheduler while an embedding request
// is in a pass: the request ends with ErrClosed once the pass is over.
func TestSchedulerEmbedClose(t *testing.T) {
	l, be := schedModel(t, schedTiny)
	gm := &gatedModel{Model: l.Model, entered: make(chan struct{}), gate: make(chan struct{})}
	gl := *l
	gl.Model = gm
	s, err := NewScheduler(&gl, be, SchedulerConfig{Slots: 1, Ctx: 64, EmbedSeqs: 2})
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		_, err := s.Embed(context.Background(), embedInputs(l))
		res <- err
	}()
	<-gm.entered
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	// Closed before the pass ends, so the loop stops after it.
	waitClosed := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		c := s.closed
		s.mu.Unlock()
		if c || time.Now().After(waitClosed) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	gm.gate <- struct{}{}
	select {
	case err := <-res:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("in flight at Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Embed did not return after Close")
	}
	<-closed
}
