// Package server is owl's OpenAI-compatible HTTP API: /v1/chat/completions,
// /v1/completions, /v1/models, /v1/embeddings, plus /health, /metrics and
// llama.cpp's /tokenize and /detokenize, over an Engine per model (the
// engine's continuous-batching scheduler).
//
// Request and response bodies follow OpenAI's API reference so that the
// official clients work unmodified: errors carry OpenAI's error body,
// streams are server-sent events ending in "data: [DONE]", usage counts
// are exact. Unknown request fields are ignored; wrongly typed or out of
// range ones are a 400 naming the parameter.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openweights/owl/engine"
)

// DefaultMaxBody is the largest request body accepted unless
// Config.MaxBodyBytes says otherwise.
const DefaultMaxBody = 16 << 20

// Config configures a Server. The zero value serves without
// authentication or CORS and logs nothing.
type Config struct {
	// APIKey, when set, is required as "Authorization: Bearer KEY" on
	// every endpoint but /health.
	APIKey string
	// CORSOrigins are the browser origins allowed to call the API ("*"
	// for any). Empty: no CORS headers, so browsers refuse cross-origin
	// calls.
	CORSOrigins []string
	// MaxBodyBytes bounds request bodies (413 above it); 0 means
	// DefaultMaxBody.
	MaxBodyBytes int64
	// Logger gets one line per request; nil logs nothing.
	Logger *slog.Logger
}

// Model is one model the server serves.
type Model struct {
	ID      string // the name clients pass as "model"
	Loaded  *engine.Loaded
	Engine  Engine
	Ctx     int   // context length of one sequence, in tokens
	Created int64 // Unix seconds, shown by /v1/models

	fingerprint string
	toolFmt     toolFormat
}

// Server is the HTTP API. It is an http.Handler.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	metrics *metrics
	ready   atomic.Bool

	mu     sync.RWMutex
	models []*Model
	byID   map[string]*Model
}

// New returns a Server with no models that answers 503 until SetReady.
func New(cfg Config) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{cfg: cfg, byID: map[string]*Model{}}
	s.metrics = newMetrics(s)
	s.mux = http.NewServeMux()
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /health", s.handleHealth)
	s.mux.Handle("GET /metrics", s.metrics.handler())
	s.mux.HandleFunc("POST /v1/chat/completions", s.whenReady(s.handleChat))
	s.mux.HandleFunc("POST /v1/completions", s.whenReady(s.handleCompletions))
	s.mux.HandleFunc("POST /v1/embeddings", s.whenReady(s.handleEmbeddings))
	s.mux.HandleFunc("GET /v1/models", s.whenReady(s.handleModels))
	s.mux.HandleFunc("GET /v1/models/{id...}", s.whenReady(s.handleModel))
	s.mux.HandleFunc("POST /tokenize", s.whenReady(s.handleTokenize))
	s.mux.HandleFunc("POST /detokenize", s.whenReady(s.handleDetokenize))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Type: typeInvalidRequest,
			Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path)})
	})
}

// AddModel adds a model to serve; IDs must be unique.
func (s *Server) AddModel(m *Model) error {
	if m.ID == "" || m.Loaded == nil || m.Engine == nil || m.Ctx <= 0 {
		return fmt.Errorf("server: model %q is incomplete", m.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.byID[m.ID]; dup {
		return fmt.Errorf("server: two models are named %q (use --alias)", m.ID)
	}
	m.fingerprint = fingerprint(m)
	s.models = append(s.models, m)
	s.byID[m.ID] = m
	return nil
}

// SetReady makes the server answer requests (and /health 200).
func (s *Server) SetReady() { s.ready.Store(true) }

// Close closes every model's engine; in-flight generations end.
func (s *Server) Close() {
	s.mu.RLock()
	models := slices.Clone(s.models)
	s.mu.RUnlock()
	for _, m := range models {
		m.Engine.Close()
	}
}

// lookup finds the model a request names. An empty name means the first
// model (llama.cpp's server ignores the field; OpenAI's clients always
// send it).
func (s *Server) lookup(id string) (*Model, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if id == "" && len(s.models) > 0 {
		return s.models[0], nil
	}
	if m, ok := s.byID[id]; ok {
		return m, nil
	}
	return nil, modelNotFound(id)
}

func (s *Server) modelList() []*Model {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.models)
}

// fingerprint identifies the model and its settings: OpenAI's
// system_fingerprint, which changes when outputs for the same seed may.
func fingerprint(m *Model) string {
	h := sha256.New()
	fmt.Fprintf(h, "owl\x00%s\x00%d\x00%d", filepath.Base(m.Loaded.Path), len(m.Loaded.File.Tensors), m.Ctx)
	for _, t := range m.Loaded.File.Tensors {
		fmt.Fprintf(h, "\x00%s:%d:%d", t.Name, t.Type, t.Offset)
	}
	return "fp_" + hex.EncodeToString(h.Sum(nil))[:10]
}

// ServeHTTP runs the middleware (logging, metrics, CORS, auth, the body
// limit) around the endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &recorder{ResponseWriter: w}
	info := &requestInfo{}
	r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
	defer func() {
		endpoint := strings.TrimPrefix(r.Pattern, r.Method+" ")
		if r.Pattern == "" || r.Pattern == "/" {
			endpoint = "other"
		}
		if i := strings.Index(endpoint, "{"); i >= 0 {
			endpoint = endpoint[:i] + "{id}"
		}
		status := rw.status
		if status == 0 {
			status = http.StatusOK
		}
		s.metrics.observeRequest(endpoint, status, time.Since(start))
		attrs := []any{
			"remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "status", status,
			"bytes", rw.bytes, "duration", time.Since(start).Round(time.Microsecond),
		}
		if info.model != "" {
			attrs = append(attrs, "model", info.model, "prompt_tokens", info.promptTokens, "completion_tokens", info.completionTokens)
		}
		if info.err != "" {
			attrs = append(attrs, "error", info.err)
		}
		s.cfg.Logger.Info("request", attrs...)
	}()

	if s.cors(rw, r) {
		return
	}
	if r.URL.Path != "/health" && !s.authorized(r) {
		info.err = "unauthorized"
		writeError(rw, &apiError{Status: http.StatusUnauthorized, Type: typeInvalidRequest, Code: "invalid_api_key",
			Message: "Incorrect API key provided. Pass it as 'Authorization: Bearer KEY'."})
		return
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		writeError(rw, tooLarge(s.cfg.MaxBodyBytes))
		return
	}
	r.Body = http.MaxBytesReader(rw, r.Body, s.cfg.MaxBodyBytes)
	s.mux.ServeHTTP(rw, r)
}

func tooLarge(limit int64) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Code: "request_too_large",
		Message: fmt.Sprintf("The request body is larger than the limit of %d bytes.", limit)}
}

func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.APIKey == "" {
		return true
	}
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(key)), []byte(s.cfg.APIKey)) == 1
}

// cors sets the CORS headers for an allowed origin and answers preflight
// requests; it reports whether the request has been answered.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || len(s.cfg.CORSOrigins) == 0 {
		return false
	}
	allowed := slices.Contains(s.cfg.CORSOrigins, origin) || slices.Contains(s.cfg.CORSOrigins, "*")
	if !allowed {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// whenReady answers 503 until the models are loaded.
func (s *Server) whenReady(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, RetryAfter: 1,
				Message: "The server is loading its models."})
			return
		}
		h(w, r)
	}
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "loading"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// requestInfo collects what the request log line reports.
type requestInfo struct {
	model                          string
	promptTokens, completionTokens int
	err                            string
}

type infoKey struct{}

func infoOf(r *http.Request) *requestInfo {
	if i, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
		return i
	}
	return &requestInfo{}
}

// recorder remembers the status and size of a response; it passes
// Flush through for streaming.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
