package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
	"github.com/openweights/owl/tokenizer"
)

// Scheduler errors. Submit wraps them with detail; test with errors.Is.
var (
	// ErrClosed is returned by Submit after Close, and ends the streams of
	// requests still queued or running when Close is called.
	ErrClosed = errors.New("engine: scheduler closed")
	// ErrQueueFull is returned by Submit when every slot is busy and the
	// waiting queue is full (a server answers 503 and Retry-After).
	ErrQueueFull = errors.New("engine: request queue full")
)

// SchedulerConfig sizes a Scheduler. The zero value is usable.
type SchedulerConfig struct {
	// Slots is how many requests run at once, each in its own sequence of
	// the KV cache; ≤ 0 means 4. At most MaxBatch.
	Slots int
	// Ctx is the positions of each slot (prompt + generated tokens); ≤ 0
	// means the model's training context, at most 4096.
	Ctx int
	// QueueSize is how many requests may wait for a slot; 0 means 64 and
	// a negative value none (Submit fails whenever every slot is busy).
	QueueSize int
	// CacheType is the KV cache element type, F32 (the zero value) or F16.
	CacheType gguf.Type
	// BatchTokens bounds the tokens of one forward pass: one per decoding
	// slot plus chunks of new prompts. ≤ 0 or over MaxBatch means MaxBatch;
	// at least Slots.
	BatchTokens int
	// EmbedSeqs is how many inputs of embedding requests are evaluated
	// together, each in a sequence of Ctx positions of a KV cache of their
	// own, allocated at the first Embed; ≤ 0 means 4.
	EmbedSeqs int
}

// echoRowsPerStep bounds the prompt positions per step whose logits are
// kept for prompt logprobs: Vocab floats each.
const echoRowsPerStep = 128

// Constraint restricts which tokens may be generated (a grammar or a JSON
// schema). It is implemented outside the engine (package engine/grammar);
// one value serves one request and is used from the scheduler's goroutine
// only.
type Constraint interface {
	// Mask sets the logits of tokens that may not come next to -Inf.
	Mask(logits []float32)
	// Accept advances the constraint past token id; an error means the
	// token was not allowed.
	Accept(id int32) error
	// Done reports that the constrained text is complete. Generation then
	// stops at the first end-of-generation token, or at once when Mask
	// leaves nothing else allowed.
	Done() bool
}

// Request is one generation for the Scheduler.
type Request struct {
	Prompt []int32
	// Params: MaxTokens (-1: until the slot's context is full; 0: only
	// evaluate the prompt, for its logprobs), Stop,
	// Sampler (each request samples with its own seeded Sampler), and
	// Logprobs, the number of alternatives reported per token.
	// Params.PromptLogprobs is the same as EchoLogprobs.
	Params GenerateParams
	// Logprobs reports each generated token's log-probability (also on
	// when Params.Logprobs > 0): OpenAI's logprobs=true with top_logprobs
	// in Params.Logprobs.
	Logprobs bool
	// EchoLogprobs reports the log-probability of every prompt token (the
	// completions endpoint's echo with logprobs). Such a prompt is always
	// evaluated in full, without prefix reuse.
	EchoLogprobs bool
	// Constraint, when set, masks the logits at each step.
	Constraint Constraint
}

// LogprobEntry is a token with its log-probability and the most likely
// tokens of the distribution it was drawn from (before a constraint's
// mask and the sampler's adjustments), best first.
type LogprobEntry struct {
	ID      int32
	Logprob float32
	Top     []TokenLogprob
}

// Usage counts a request's tokens.
type Usage struct {
	PromptTokens     int // all of the prompt, reused or evaluated
	CompletionTokens int // generated, not counting an end-of-generation token
	CachedTokens     int // prompt tokens reused from the cache
}

// Event is what a Stream delivers. A request's events carry its output in
// order; the last one has Done set (and may carry tokens and text too).
type Event struct {
	// Text is new final output: whole UTF-8 characters, with text that may
	// begin a stop string held back and a stop string and what follows it
	// removed. It may be empty while tokens are held back.
	Text []byte
	// Tokens are the tokens generated since the previous event.
	Tokens []int32
	// Logprobs has one entry per token of Tokens when the request asked.
	Logprobs []LogprobEntry
	// PromptLogprobs, in the first event of an EchoLogprobs request, has
	// one entry per prompt token. The first token has no distribution to
	// come from (OpenAI sends null): its Logprob is 0 and Top nil.
	PromptLogprobs []LogprobEntry

	Done bool
	// FinishReason, when Done without Err: "stop" (end-of-generation
	// token, stop string, or a complete constraint) or "length"
	// (MaxTokens reached).
	FinishReason string
	Usage        Usage   // when Done
	Timings      Timings // when Done
	// Err ends the request early: the ctx's error when it was cancelled,
	// ErrClosed, or a failure of the model or the constraint.
	Err error
}

// Stream delivers a request's events to one reader. The scheduler queues
// them without waiting for it (a slow client never stalls the others), so
// what a stream holds is bounded by the request's MaxTokens.
type Stream struct {
	mu     sync.Mutex
	events []Event
	head   int
	ended  bool
	ready  chan struct{}
}

func newStream() *Stream { return &Stream{ready: make(chan struct{}, 1)} }

// Next waits for the next event; ok is false after the Done event has been
// returned. It always returns eventually: cancelling the request's ctx or
// closing the scheduler ends the stream.
func (st *Stream) Next() (ev Event, ok bool) {
	for {
		st.mu.Lock()
		if st.head < len(st.events) {
			ev = st.events[st.head]
			st.events[st.head] = Event{}
			st.head++
			if st.head == len(st.events) {
				st.events, st.head = st.events[:0], 0
			}
			st.mu.Unlock()
			return ev, true
		}
		ended := st.ended
		st.mu.Unlock()
		if ended {
			return Event{}, false
		}
		<-st.ready
	}
}

func (st *Stream) push(ev Event) {
	st.mu.Lock()
	st.events = append(st.events, ev)
	st.ended = st.ended || ev.Done
	st.mu.Unlock()
	select {
	case st.ready <- struct{}{}:
	default:
	}
}

// Completion is a whole request's output, gathered by Collect.
type Completion struct {
	Text           []byte
	Tokens         []int32
	Logprobs       []LogprobEntry
	PromptLogprobs []LogprobEntry
	FinishReason   string
	Usage          Usage
	Timings        Timings
}

// Collect reads the stream to its end and returns everything it carried,
// with the final event's error (the completion then holds what came
// before it).
func (st *Stream) Collect() (*Completion, error) {
	c := &Completion{}
	for {
		ev, ok := st.Next()
		if !ok {
			return c, errors.New("engine: stream ended without a final event")
		}
		c.Text = append(c.Text, ev.Text...)
		c.Tokens = append(c.Tokens, ev.Tokens...)
		c.Logprobs = append(c.Logprobs, ev.Logprobs...)
		if ev.PromptLogprobs != nil {
			c.PromptLogprobs = ev.PromptLogprobs
		}
		if ev.Done {
			c.FinishReason, c.Usage, c.Timings = ev.FinishReason, ev.Usage, ev.Timings
			return c, ev.Err
		}
	}
}

// SchedStats is a snapshot of a Scheduler, for metrics.
type SchedStats struct {
	Slots, BusySlots  int
	Queued, QueueSize int
	// KVCells is the cache's capacity in token positions (Slots × Ctx);
	// KVCellsUsed the positions holding keys and values, including the
	// prefixes idle slots keep for reuse.
	KVCells, KVCellsUsed int
	// Totals since the start: forward passes, prompt tokens evaluated and
	// reused from the cache, tokens generated.
	Steps                      int64
	PromptTokens, CachedTokens int64
	GeneratedTokens            int64
}

// Scheduler runs requests on one loaded model with continuous batching:
// each step is a single forward pass over every running request (one token
// for each that is decoding, chunks of the prompts of those just admitted),
// so the weights are read once per step however many requests share it.
// Requests arriving while others run join at the next step. Each slot keeps
// its cache after its request ends, and a new request goes to the free slot
// sharing the longest prefix with its prompt, evaluating only the rest.
//
// Embed runs embedding requests on the same goroutine, in passes and a
// cache of their own. The scheduler owns l.Model while it runs: nothing
// else may evaluate it. Its methods are safe for concurrent use.
type Scheduler struct {
	l           *Loaded
	sess        *Session
	ctxLen      int
	slotsN      int
	queueSize   int
	batchTokens int
	echoRows    int // echoRowsPerStep; tests lower it
	vocab       int // logits per row
	textVocab   int // tokens the tokenizer knows; logits past it are masked
	// The embedding cache's backend, element type and sequences.
	be        kernels.Backend
	cacheType gguf.Type
	embedSeqs int

	wake chan struct{} // a request arrived or a ctx was cancelled
	quit chan struct{}
	done chan struct{} // closed when the loop has exited

	mu      sync.Mutex
	closed  bool
	pending []*job // waiting for a slot, in arrival order
	busy    int    // slots running a request
	stats   SchedStats

	// Embedding requests: those waiting for the loop, and how many are
	// queued or running (bounded as the generation queue is).
	embedQueue []*embedJob
	embedOpen  int

	// Owned by the loop goroutine.
	slots   []slot
	running []*slot // in admission order: earlier prompts get the step's budget first
	clock   uint64
	parts   []SeqTokens
	owners  []partOwner
	lp      []float32
	probe   []float32
	totals  SchedStats
	emb     *embedder   // nil until the first embedding request
	embJobs []*embedJob // running, in arrival order
}

type slot struct {
	seq    int
	cached []int32 // the tokens whose keys and values the sequence holds
	job    *job
	used   uint64 // clock when its last request ended: the least recent is evicted first
}

type partOwner struct {
	sl     *slot
	decode bool
}

// job is a request in the scheduler.
type job struct {
	ctx      context.Context
	req      *Request
	prompt   []int32
	st       *Stream
	stopWake func() bool

	maxTokens int
	logprobs  bool
	topK      int
	echo      bool

	sampler  *Sampler
	history  []int32 // prompt and generated tokens, for the penalties
	gen      []int32
	next     int   // prompt tokens in the cache
	cached   int   // of which reused
	pending  int32 // sampled, not yet evaluated; -1 none
	one      [1]int32
	text     *tokenizer.Stream
	stop     stopFilter
	promptLP []LogprobEntry
	sentLP   bool

	admitted, promptDone time.Time
}

// NewScheduler allocates the KV cache for cfg.Slots sequences of cfg.Ctx
// positions on be and starts the scheduling goroutine; Close stops it.
func NewScheduler(l *Loaded, be kernels.Backend, cfg SchedulerConfig) (*Scheduler, error) {
	if l == nil || l.Model == nil || l.Tokenizer == nil {
		return nil, errors.New("engine: scheduler needs a loaded model and tokenizer")
	}
	hp := l.Model.HParams()
	if cfg.Slots <= 0 {
		cfg.Slots = 4
	}
	if cfg.Slots > MaxBatch {
		return nil, fmt.Errorf("engine: %d slots: at most %d", cfg.Slots, MaxBatch)
	}
	if cfg.Ctx <= 0 {
		cfg.Ctx = min(hp.CtxTrain, 4096)
		if cfg.Ctx <= 0 {
			cfg.Ctx = 4096
		}
	}
	switch {
	case cfg.QueueSize == 0:
		cfg.QueueSize = 64
	case cfg.QueueSize < 0:
		cfg.QueueSize = 0
	}
	if cfg.BatchTokens <= 0 || cfg.BatchTokens > MaxBatch {
		cfg.BatchTokens = MaxBatch
	}
	if cfg.BatchTokens < cfg.Slots {
		return nil, fmt.Errorf("engine: batches of %d tokens cannot decode %d slots at once", cfg.BatchTokens, cfg.Slots)
	}
	sess, err := NewSession(l.Model, be, cfg.CacheType, cfg.Ctx, cfg.Slots)
	if err != nil {
		return nil, err
	}
	if cfg.EmbedSeqs <= 0 {
		cfg.EmbedSeqs = 4
	}
	s := &Scheduler{
		be: be, cacheType: cfg.CacheType, embedSeqs: cfg.EmbedSeqs,
		l: l, sess: sess, ctxLen: cfg.Ctx, slotsN: cfg.Slots, queueSize: cfg.QueueSize,
		batchTokens: cfg.BatchTokens, echoRows: echoRowsPerStep, vocab: hp.Vocab, textVocab: min(hp.Vocab, l.Tokenizer.VocabSize()),
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		slots: make([]slot, cfg.Slots),
	}
	for i := range s.slots {
		s.slots[i].seq = i
	}
	s.stats = SchedStats{Slots: cfg.Slots, QueueSize: cfg.QueueSize, KVCells: cfg.Slots * cfg.Ctx}
	go s.run()
	return s, nil
}

// Ctx is the positions of each slot: prompt + MaxTokens must fit in it.
func (s *Scheduler) Ctx() int { return s.ctxLen }

// Close stops the scheduler: requests queued or running end with
// ErrClosed, and later Submits fail. It returns when the loop has stopped
// (after the forward pass in progress, if any).
func (s *Scheduler) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.quit)
	}
	s.mu.Unlock()
	<-s.done
}

// Stats returns a snapshot of the queue, the slots and the cache.
func (s *Scheduler) Stats() SchedStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Queued, st.BusySlots = len(s.pending), s.busy
	return st
}

// Submit queues r and returns the stream of its events. It fails at once,
// with an error wrapping ErrContextFull, when the prompt and MaxTokens do
// not fit in a slot's context (saying by how much); with ErrQueueFull when
// every slot is busy and the queue is full; with ErrClosed after Close.
// Cancelling ctx ends the request (its slot is free by the next step) and
// its stream with ctx's error. r must not be changed afterwards.
func (s *Scheduler) Submit(ctx context.Context, r *Request) (*Stream, error) {
	if r == nil {
		return nil, errors.New("engine: nil request")
	}
	n := len(r.Prompt)
	if n == 0 {
		return nil, errors.New("engine: empty prompt")
	}
	for _, t := range r.Prompt {
		if t < 0 || int(t) >= s.vocab {
			return nil, fmt.Errorf("engine: prompt token id %d outside the vocabulary of %d", t, s.vocab)
		}
	}
	if n > s.ctxLen {
		return nil, fmt.Errorf("engine: prompt of %d tokens exceeds the context of %d by %d: %w", n, s.ctxLen, n-s.ctxLen, ErrContextFull)
	}
	maxTokens := r.Params.MaxTokens
	if maxTokens < 0 {
		maxTokens = s.ctxLen - n
	}
	if n+maxTokens > s.ctxLen {
		return nil, fmt.Errorf("engine: prompt of %d tokens + %d to generate exceed the context of %d by %d: %w",
			n, maxTokens, s.ctxLen, n+maxTokens-s.ctxLen, ErrContextFull)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	j := &job{
		ctx: ctx, req: r, prompt: append([]int32(nil), r.Prompt...), st: newStream(),
		maxTokens: maxTokens, logprobs: r.Logprobs || r.Params.Logprobs > 0, topK: max(r.Params.Logprobs, 0),
		echo: r.EchoLogprobs || r.Params.PromptLogprobs, pending: -1,
	}
	j.stopWake = context.AfterFunc(ctx, s.signal)
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		j.stopWake()
		return nil, ErrClosed
	case len(s.pending)+s.busy >= s.slotsN+s.queueSize:
		q := len(s.pending)
		s.mu.Unlock()
		j.stopWake()
		return nil, fmt.Errorf("engine: %d slots busy and %d requests waiting: %w", s.slotsN, q, ErrQueueFull)
	}
	s.pending = append(s.pending, j)
	s.mu.Unlock()
	s.signal()
	return j.st, nil
}

// signal wakes the loop without blocking.
func (s *Scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) run() {
	defer close(s.done)
	for s.admit() {
		s.admitEmbeds()
		if len(s.running) == 0 && len(s.embJobs) == 0 {
			select {
			case <-s.wake:
			case <-s.quit:
			}
			continue
		}
		if len(s.running) > 0 {
			s.step()
		}
		if len(s.embJobs) > 0 {
			s.embedStep()
		}
	}
	for len(s.running) > 0 {
		s.finish(s.running[0], Event{}, "", ErrClosed)
	}
	for len(s.embJobs) > 0 {
		s.endEmbed(s.embJobs[0], ErrClosed)
	}
}

// admit drops cancelled requests from the queue and moves waiting ones to
// free slots. It reports false once the scheduler is closed, after ending
// the queued requests.
func (s *Scheduler) admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		for _, j := range s.pending {
			s.endQueued(j, ErrClosed)
		}
		s.pending = nil
		// Ended by the loop, after it has released s.mu.
		s.embJobs = append(s.embJobs, s.embedQueue...)
		s.embedQueue = nil
		return false
	}
	keep := s.pending[:0]
	for _, j := range s.pending {
		if err := j.ctx.Err(); err != nil {
			s.endQueued(j, err)
			continue
		}
		if s.busy == s.slotsN {
			keep = append(keep, j)
			continue
		}
		s.bind(j)
	}
	clear(s.pending[len(keep):])
	s.pending = keep
	return true
}

// endQueued ends a request that never got a slot.
func (s *Scheduler) endQueued(j *job, err error) {
	j.stopWake()
	j.st.push(Event{Done: true, Err: err, Usage: Usage{PromptTokens: len(j.prompt)}})
}

// minReuse: a free slot's cached prefix is reused when it covers at least
// this many tokens or half the prompt; a shorter one (a lone BOS) is not
// worth evicting the least recently used slot's cache for.
const minReuse = 32

// bind gives j the free slot sharing the longest prefix with its prompt,
// or else the least recently used one, and truncates that slot's cache to
// the shared prefix. Called with s.mu held; a slot is free.
func (s *Scheduler) bind(j *job) {
	var best, lru *slot
	bestN := 0
	for i := range s.slots {
		sl := &s.slots[i]
		if sl.job != nil {
			continue
		}
		if lru == nil || sl.used < lru.used {
			lru = sl
		}
		if j.echo {
			continue
		}
		if n := commonPrefix(sl.cached, j.prompt); n > bestN || (n == bestN && n > 0 && sl.used < best.used) {
			best, bestN = sl, n
		}
	}
	if best == nil || (bestN < minReuse && 2*bestN < len(j.prompt)) {
		best, bestN = lru, 0
	}
	// At least the last prompt token is evaluated: its logits start the
	// generation.
	keep := min(bestN, len(j.prompt)-1)
	best.cached = best.cached[:keep]
	s.sess.Truncate(best.seq, keep)
	best.job = j
	s.running = append(s.running, best)
	s.busy++

	j.next, j.cached = keep, keep
	j.sampler = NewSampler(j.req.Params.Sampler)
	j.history = append(make([]int32, 0, len(j.prompt)+min(j.maxTokens, 256)), j.prompt...)
	j.text = s.l.Tokenizer.NewStream()
	j.stop = stopFilter{stops: j.req.Params.Stop}
	j.admitted = time.Now()
	if j.echo {
		j.promptLP = append(make([]LogprobEntry, 0, len(j.prompt)), LogprobEntry{ID: j.prompt[0]})
	}
}

func commonPrefix(a, b []int32) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// step runs one forward pass over every running request and samples the
// next token of each whose logits it produced.
func (s *Scheduler) step() {
	// A request whose client has gone leaves before the pass.
	for i := 0; i < len(s.running); {
		if err := s.running[i].job.ctx.Err(); err != nil {
			s.finish(s.running[i], Event{}, "", err)
			continue
		}
		i++
	}
	if len(s.running) == 0 {
		return
	}
	s.parts, s.owners = s.parts[:0], s.owners[:0]
	budget, echoBudget := s.batchTokens, s.echoRows
	for _, sl := range s.running {
		if j := sl.job; j.pending >= 0 {
			j.one[0] = j.pending
			s.parts = append(s.parts, SeqTokens{Seq: sl.seq, Tokens: j.one[:], Logits: LogitsLast})
			s.owners = append(s.owners, partOwner{sl, true})
			budget--
		}
	}
	for _, sl := range s.running {
		j := sl.job
		if j.pending >= 0 || budget == 0 {
			continue
		}
		n := min(len(j.prompt)-j.next, budget)
		mode := LogitsNone
		if j.echo {
			n = min(n, echoBudget)
			echoBudget -= n
			mode = LogitsAll
		} else if j.next+n == len(j.prompt) {
			mode = LogitsLast
		}
		if n == 0 {
			continue
		}
		s.parts = append(s.parts, SeqTokens{Seq: sl.seq, Tokens: j.prompt[j.next : j.next+n], Logits: mode})
		s.owners = append(s.owners, partOwner{sl, false})
		budget -= n
	}

	logits, err := s.forward()
	if err != nil {
		// A failed pass may have written part of these sequences' cache.
		for _, o := range s.owners {
			o.sl.cached = o.sl.cached[:0]
			s.sess.Truncate(o.sl.seq, 0)
			s.finish(o.sl, Event{}, "", err)
		}
		s.publish(0)
		return
	}
	s.totals.Steps++
	v := s.vocab
	row := 0
	for k, p := range s.parts {
		o := s.owners[k]
		j := o.sl.job
		o.sl.cached = append(o.sl.cached, p.Tokens...)
		if o.decode {
			j.pending = -1
			s.sample(o.sl, logits[row*v:(row+1)*v])
			row++
			continue
		}
		n := len(p.Tokens)
		start := j.next
		j.next += n
		s.totals.PromptTokens += int64(n)
		last := row
		if p.Logits == LogitsAll {
			for i := range n {
				if pos := start + i + 1; pos < len(j.prompt) {
					s.lp = LogSoftmax(s.lp, logits[(row+i)*v:(row+i+1)*v])
					id := j.prompt[pos]
					j.promptLP = append(j.promptLP, LogprobEntry{ID: id, Logprob: s.lp[id], Top: TopLogprobs(nil, s.lp, j.topK)})
				}
			}
			last = row + n - 1
			row += n
		} else if p.Logits == LogitsLast {
			row++
		}
		if j.next == len(j.prompt) {
			j.promptDone = time.Now()
			s.totals.CachedTokens += int64(j.cached)
			s.sample(o.sl, logits[last*v:(last+1)*v])
		}
	}
	s.publish(0)
}

// forward evaluates the step's batch, turning a backend panic (a bug, or
// a device failure) into an error for the requests in it.
func (s *Scheduler) forward() (out []float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("engine: forward pass failed: %v", r)
		}
	}()
	return s.sess.EvalBatch(s.parts)
}

// sample picks sl's next token from logits (modified) and sends it out,
// ending the request at an end-of-generation token, a stop string,
// MaxTokens, or a complete constraint.
func (s *Scheduler) sample(sl *slot, logits []float32) {
	j := sl.job
	defer func() {
		if r := recover(); r != nil && sl.job == j {
			s.finish(sl, Event{}, "", fmt.Errorf("engine: sampling failed: %v", r))
		}
	}()
	if len(j.gen) >= j.maxTokens {
		s.finish(sl, Event{}, "length", nil)
		return
	}
	maskPadding(logits, s.textVocab)
	var entry LogprobEntry
	if j.logprobs {
		s.lp = LogSoftmax(s.lp, logits)
		if j.topK > 0 {
			entry.Top = TopLogprobs(nil, s.lp, j.topK)
		}
	}
	c := j.req.Constraint
	if c != nil {
		c.Mask(logits)
		if !anyAllowed(logits, nil) {
			if c.Done() {
				s.finish(sl, Event{}, "stop", nil)
			} else {
				s.finish(sl, Event{}, "", errors.New("engine: the constraint allows no next token"))
			}
			return
		}
	}
	id := j.sampler.Sample(logits, j.history)
	if s.l.Tokenizer.IsEOG(id) {
		s.finish(sl, Event{}, "stop", nil)
		return
	}
	if c != nil {
		if err := c.Accept(id); err != nil {
			s.finish(sl, Event{}, "", fmt.Errorf("engine: constraint rejected token %d: %w", id, err))
			return
		}
	}
	j.gen = append(j.gen, id)
	j.history = append(j.history, id)
	s.totals.GeneratedTokens++
	text, hit := j.stop.add(j.text.Add(id))
	ev := Event{Text: text, Tokens: []int32{id}}
	if j.logprobs {
		entry.ID, entry.Logprob = id, s.lp[id]
		ev.Logprobs = []LogprobEntry{entry}
	}
	switch {
	case hit:
		s.finish(sl, ev, "stop", nil)
	case len(j.gen) == j.maxTokens:
		s.finish(sl, ev, "length", nil)
	case c != nil && c.Done() && !s.moreAllowed(c):
		s.finish(sl, ev, "stop", nil)
	default:
		j.pending = id
		s.send(j, ev)
	}
}

// moreAllowed reports whether a complete constraint still allows a token
// other than end-of-generation ones (a number may go on after "12").
func (s *Scheduler) moreAllowed(c Constraint) bool {
	if cap(s.probe) < s.vocab {
		s.probe = make([]float32, s.vocab)
	}
	p := s.probe[:s.vocab]
	clear(p)
	maskPadding(p, s.textVocab)
	c.Mask(p)
	return anyAllowed(p, s.l.Tokenizer)
}

// anyAllowed reports whether some logit is not -Inf (NaN counts as
// banned), skipping end-of-generation tokens when t is set.
func anyAllowed(logits []float32, t *tokenizer.Tokenizer) bool {
	for i, l := range logits {
		if l > float32(math.Inf(-1)) && (t == nil || !t.IsEOG(int32(i))) {
			return true
		}
	}
	return false
}

// send delivers ev, with the prompt logprobs on a request's first event.
func (s *Scheduler) send(j *job, ev Event) {
	if j.echo && !j.sentLP && j.next == len(j.prompt) {
		ev.PromptLogprobs, j.sentLP = j.promptLP, true
	}
	j.st.push(ev)
}

// finish ends sl's request with a final event built on ev, and frees the
// slot, keeping its cache for a later request with the same prefix.
func (s *Scheduler) finish(sl *slot, ev Event, reason string, err error) {
	j := sl.job
	if err == nil && !j.stop.hit {
		out, _ := j.stop.add(j.text.Flush())
		ev.Text = append(append(ev.Text, out...), j.stop.flush()...)
	}
	now := time.Now()
	ev.Done, ev.FinishReason, ev.Err = true, reason, err
	ev.Usage = Usage{PromptTokens: len(j.prompt), CompletionTokens: len(j.gen), CachedTokens: j.cached}
	t := &ev.Timings
	t.PromptTokens, t.CachedTokens = j.next-j.cached, j.cached
	if j.promptDone.IsZero() {
		t.PromptMS = float64(now.Sub(j.admitted).Nanoseconds()) / 1e6
	} else {
		t.PromptMS = float64(j.promptDone.Sub(j.admitted).Nanoseconds()) / 1e6
		t.GenMS = float64(now.Sub(j.promptDone).Nanoseconds()) / 1e6
	}
	t.GenTokens = len(j.gen)
	t.PromptPerSecond = perSecond(t.PromptTokens, t.PromptMS)
	t.GenPerSecond = perSecond(t.GenTokens, t.GenMS)
	if err != nil {
		ev.FinishReason = ""
	}
	j.stopWake()

	// The slot is free before the client hears of it, so Stats never
	// shows a finished request as busy.
	sl.job = nil
	s.clock++
	sl.used = s.clock
	for i, r := range s.running {
		if r == sl {
			s.running = append(s.running[:i], s.running[i+1:]...)
			break
		}
	}
	s.publish(-1)
	s.send(j, ev)
}

// publish copies the loop's counters into the snapshot Stats returns, and
// changes the busy slot count by busy.
func (s *Scheduler) publish(busy int) {
	used := 0
	for i := range s.slots {
		used += len(s.slots[i].cached)
	}
	s.mu.Lock()
	s.busy += busy
	st := &s.stats
	st.KVCellsUsed = used
	st.Steps, st.PromptTokens, st.CachedTokens, st.GeneratedTokens =
		s.totals.Steps, s.totals.PromptTokens, s.totals.CachedTokens, s.totals.GeneratedTokens
	s.mu.Unlock()
}
