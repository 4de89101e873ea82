package server

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/openweights/owl/engine"
)

// choiceEvent is an event of choice index.
type choiceEvent struct {
	index int
	ev    engine.Event
}

// run is a set of submitted generations (one per choice) whose events
// arrive merged on events, which is closed after every stream's Done
// event. stop must be called (it cancels what is left and waits).
type run struct {
	events <-chan choiceEvent
	cancel context.CancelFunc
}

func (r *run) stop() {
	r.cancel()
	for range r.events {
	}
}

// submit starts reqs on m's engine. When one cannot start, the ones
// already started are cancelled and the error is the answer to give:
// 503 when the queue is full, 400 when the context is too small.
func (s *Server) submit(ctx context.Context, m *Model, reqs []*engine.Request) (*run, error) {
	ctx, cancel := context.WithCancel(ctx)
	streams := make([]Stream, 0, len(reqs))
	var err error
	for _, r := range reqs {
		var st Stream
		if st, err = m.Engine.Submit(ctx, r); err != nil {
			break
		}
		streams = append(streams, st)
	}
	out := make(chan choiceEvent, 4*len(reqs))
	done := make(chan struct{}, len(streams))
	for i, st := range streams {
		go func() {
			for {
				ev, ok := st.Next()
				if !ok {
					break
				}
				out <- choiceEvent{i, ev}
			}
			done <- struct{}{}
		}()
	}
	go func() {
		for range streams {
			<-done
		}
		close(out)
	}()
	r := &run{events: out, cancel: cancel}
	if err != nil {
		r.stop()
		return nil, submitError(err)
	}
	return r, nil
}

// submitError maps an engine's refusal to the HTTP answer.
func submitError(err error) error {
	switch {
	case errors.Is(err, engine.ErrQueueFull):
		return &apiError{Status: 503, Type: typeServer, Code: "queue_full", RetryAfter: 1,
			Message: "The server is overloaded: every slot is busy and the queue is full. Retry shortly."}
	case errors.Is(err, engine.ErrContextFull):
		e := badRequest("messages", "%v", err)
		e.Code = "context_length_exceeded"
		return e
	case errors.Is(err, engine.ErrClosed):
		return &apiError{Status: 503, Type: typeUnavailable, RetryAfter: 1, Message: "The server is shutting down."}
	}
	return internalError(err)
}

// tracker measures a choice's latencies for /metrics.
type tracker struct {
	start time.Time
	first time.Time
}

func (t *tracker) saw(ev engine.Event) {
	if t.first.IsZero() && (len(ev.Tokens) > 0 || len(ev.Text) > 0) {
		t.first = time.Now()
	}
}

func (s *Server) observeChoice(m *Model, t *tracker, ev engine.Event) {
	u := ev.Usage
	s.metrics.tokens(m.ID, u.PromptTokens-u.CachedTokens, u.CachedTokens, u.CompletionTokens)
	if t.first.IsZero() || u.CompletionTokens == 0 {
		return
	}
	s.metrics.ttft.WithLabelValues(m.ID).Observe(t.first.Sub(t.start).Seconds())
	if u.CompletionTokens > 1 {
		per := time.Since(t.first).Seconds() / float64(u.CompletionTokens-1)
		s.metrics.tpot.WithLabelValues(m.ID).Observe(per)
	}
}

// endError is the error a finished stream reports that the client should
// hear about: not the cancellation the client itself caused.
func endError(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func finiteOr(x float32, def float64) float64 {
	if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
		return def
	}
	return float64(x)
}
