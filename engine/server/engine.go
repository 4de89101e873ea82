package server

import (
	"context"

	"github.com/openweights/owl/engine"
)

// Engine runs the generations of one loaded model: the scheduler
// (NewSchedEngine), or a fake in tests. The server submits one request per
// choice and always reads its Stream to the Done event.
type Engine interface {
	// Submit queues r. It fails with an error wrapping
	// engine.ErrQueueFull when the queue is full, engine.ErrContextFull
	// when the prompt and MaxTokens do not fit, engine.ErrClosed after
	// Close. Cancelling ctx ends the generation: its stream then ends
	// with a Done event carrying ctx's error.
	Submit(ctx context.Context, r *engine.Request) (Stream, error)
	// Embed returns the unit-length embedding of each input (token ids).
	// It fails with an error wrapping engine.ErrCannotEmbed for a model
	// without embeddings, and otherwise as Submit does; with ctx's error
	// when ctx ends first.
	Embed(ctx context.Context, inputs [][]int32) ([][]float32, error)
	// Stats is read by /metrics.
	Stats() engine.SchedStats
	// Close ends all generations and frees the engine.
	Close()
}

// Stream is the output of one request: events in order, the last with
// Done set, then ok == false. *engine.Stream is one.
type Stream interface {
	Next() (ev engine.Event, ok bool)
}

// schedEngine is the continuous-batching scheduler as an Engine.
type schedEngine struct{ *engine.Scheduler }

// NewSchedEngine serves a model through its scheduler; Close closes it.
func NewSchedEngine(s *engine.Scheduler) Engine { return schedEngine{s} }

func (e schedEngine) Submit(ctx context.Context, r *engine.Request) (Stream, error) {
	st, err := e.Scheduler.Submit(ctx, r)
	if err != nil {
		return nil, err
	}
	return st, nil
}
