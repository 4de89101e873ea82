package server

import (
	"encoding/json"
	"net/http"
)

// sseWriter writes server-sent events: "data: JSON\n\n" per chunk, flushed
// at once, and "data: [DONE]\n\n" at the end, as OpenAI streams.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error // the first write error (the client is gone)
}

func newSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no") // no buffering by a reverse proxy
	w.WriteHeader(http.StatusOK)
	return &sseWriter{w: w, rc: http.NewResponseController(w)}
}

func (s *sseWriter) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.write(append(append([]byte("data: "), b...), '\n', '\n'))
}

func (s *sseWriter) done() error { return s.write([]byte("data: [DONE]\n\n")) }

// fail reports an error after the stream has started: OpenAI's clients
// raise an event whose data is an error body.
func (s *sseWriter) fail(err error) error {
	e, ok := err.(*apiError)
	if !ok {
		e = internalError(err)
	}
	return s.send(e.body())
}

func (s *sseWriter) write(b []byte) error {
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = err
		return err
	}
	if err := s.rc.Flush(); err != nil {
		s.err = err
	}
	return s.err
}
