package engine

import (
	"context"
	"fmt"
	"slices"
)

// Embedding requests run on the scheduler's goroutine, which owns the
// model, but in forward passes and a KV cache of their own: a generation
// slot's cache (and the prefix it keeps for reuse) is never touched, and
// the generation passes stay as they are. While both kinds of work are
// waiting, each turn of the loop runs one generation step and one
// embedding pass, so neither starves the other.

// embedJob is one Embed call in the scheduler.
type embedJob struct {
	ctx      context.Context
	items    []*embedding
	left     int // items not yet pooled
	err      error
	ended    bool
	done     chan struct{} // closed when it has ended
	stopWake func() bool
}

// Embed returns the embedding of each input: the unit-length vector of
// the model's embedding size that Session.Embed computes, with the
// model's pooling (HParams.EmbedPooling). The inputs of all requests are
// evaluated together, EmbedSeqs at a time, between generation steps.
//
// Embed fails at once with ErrCannotEmbed for a reranker, with an error
// wrapping ErrContextFull when an input is longer than Ctx (saying by how
// much), with ErrQueueFull when Slots + QueueSize embedding requests are
// already waiting or running, and with ErrClosed after Close; it returns
// ctx's error as soon as ctx ends, and the request's inputs leave the
// passes by the next one.
func (s *Scheduler) Embed(ctx context.Context, inputs [][]int32) ([][]float32, error) {
	if _, err := s.l.Model.HParams().EmbedPooling(); err != nil {
		return nil, err
	}
	if err := checkEmbedInputs(inputs, s.ctxLen, s.vocab); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	j := &embedJob{ctx: ctx, left: len(inputs), done: make(chan struct{})}
	j.items = make([]*embedding, len(inputs))
	for i, in := range inputs {
		j.items[i] = &embedding{tokens: slices.Clone(in), job: j}
	}
	j.stopWake = context.AfterFunc(ctx, s.signal)
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		j.stopWake()
		return nil, ErrClosed
	case s.embedOpen >= s.slotsN+s.queueSize:
		n := s.embedOpen
		s.mu.Unlock()
		j.stopWake()
		return nil, fmt.Errorf("engine: %d embedding requests waiting or running: %w", n, ErrQueueFull)
	}
	s.embedQueue = append(s.embedQueue, j)
	s.embedOpen++
	s.mu.Unlock()
	s.signal()

	select {
	case <-j.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if j.err != nil {
		return nil, j.err
	}
	out := make([][]float32, len(j.items))
	for i, x := range j.items {
		out[i] = x.out
	}
	return out, nil
}

// admitEmbeds hands the embedding requests that arrived to the embedder,
// allocating its cache on first use.
func (s *Scheduler) admitEmbeds() {
	s.mu.Lock()
	queue := s.embedQueue
	s.embedQueue = nil
	s.mu.Unlock()
	for _, j := range queue {
		s.embJobs = append(s.embJobs, j)
		if err := j.ctx.Err(); err != nil {
			s.endEmbed(j, err)
			continue
		}
		if s.emb == nil {
			pool, err := s.l.Model.HParams().EmbedPooling()
			var sess *Session
			if err == nil {
				sess, err = NewSession(s.l.Model, s.be, s.cacheType, s.ctxLen, s.embedSeqs)
			}
			if err != nil {
				s.endEmbed(j, err)
				continue
			}
			s.emb = newEmbedder(sess, pool)
		}
		for _, x := range j.items {
			s.emb.add(x)
		}
	}
}

// embedStep drops the embedding requests whose client has gone and runs
// one embedding pass, ending the requests it completes or that fail in it.
func (s *Scheduler) embedStep() {
	for i := 0; i < len(s.embJobs); {
		if j := s.embJobs[i]; j.ctx.Err() != nil {
			s.endEmbed(j, j.ctx.Err())
			continue
		}
		i++
	}
	if s.emb == nil || !s.emb.busy() {
		return
	}
	done, err := s.emb.step(s.batchTokens)
	for _, x := range done {
		j := x.job
		if j.ended {
			continue
		}
		if err != nil {
			s.endEmbed(j, err)
			continue
		}
		if j.left--; j.left == 0 {
			s.endEmbed(j, nil)
		}
	}
}

// endEmbed ends j with err (nil: its vectors are ready), dropping its
// inputs from the embedder and the loop's list.
func (s *Scheduler) endEmbed(j *embedJob, err error) {
	if j.ended {
		return
	}
	j.ended, j.err = true, err
	if s.emb != nil && err != nil {
		s.emb.drop(func(x *embedding) bool { return x.job == j })
	}
	if i := slices.Index(s.embJobs, j); i >= 0 {
		s.embJobs = slices.Delete(s.embJobs, i, i+1)
	}
	j.stopWake()
	s.mu.Lock()
	s.embedOpen--
	s.mu.Unlock()
	close(j.done)
}
