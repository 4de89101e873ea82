package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openweights/owl/engine"
	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels/cpu"
)

const (
	tinyModel  = "../../../shared/testdata/models/llama-2-tiny-random.gguf"
	synthModel = "../../../shared/testdata/models/synth-llama-small-Q8_0.gguf"
)

// loadModel loads path with its own CPU backend and scheduler, or skips
// the test when the shared test models are absent.
func loadModel(t testing.TB, path, id string, cfg engine.SchedulerConfig) *Model {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("shared test model %s is absent: %v", path, err)
	}
	be := cpu.New(2)
	l, err := engine.Load(path, be)
	if err != nil {
		be.Close()
		t.Fatal(err)
	}
	if cfg.CacheType == 0 {
		cfg.CacheType = gguf.TypeF16
	}
	s, err := engine.NewScheduler(l, be, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := &Model{ID: id, Loaded: l, Ctx: s.Ctx(), Created: 1700000000,
		Engine: closingEngine{NewSchedEngine(s), func() { l.Close(); be.Close() }}}
	return m
}

type closingEngine struct {
	Engine
	after func()
}

func (c closingEngine) Close() { c.Engine.Close(); c.after() }

// testServer serves models on a loopback listener; everything is closed at
// the end of the test.
func testServer(t testing.TB, cfg Config, models ...*Model) (*Server, *httptest.Server) {
	t.Helper()
	s := New(cfg)
	for _, m := range models {
		if err := s.AddModel(m); err != nil {
			t.Fatal(err)
		}
	}
	s.SetReady()
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, ts
}

// tinyServer serves the tiny random Llama as "tiny" with 4 slots of 512.
func tinyServer(t testing.TB, cfg Config) (*Server, *httptest.Server) {
	return testServer(t, cfg, loadModel(t, tinyModel, "tiny", engine.SchedulerConfig{Slots: 4, Ctx: 512}))
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("response %d is not a JSON object: %v\n%s", r.status, err, r.body)
	}
	return v
}

func do(t testing.TB, method, url, body string, header ...string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

func post(t testing.TB, url, body string) response { return do(t, "POST", url, body) }

// sseEvents splits a server-sent event stream into its data payloads.
func sseEvents(t testing.TB, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("stream line %q is not a data line", line)
		}
		out = append(out, data)
	}
	return out
}

// errorOf checks that r is an OpenAI error body and returns its error.
func errorOf(t testing.TB, r response) map[string]any {
	t.Helper()
	v := r.json(t)
	e, ok := v["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", r.body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := e[k]; !ok {
			t.Errorf("error body lacks %q: %s", k, r.body)
		}
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Errorf("error without a message: %s", r.body)
	}
	return e
}

type engineConfig = engine.SchedulerConfig

func httptestDo(h http.Handler, method, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}
