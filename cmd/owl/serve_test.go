package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

const tinyModel = "../../../shared/testdata/models/llama-2-tiny-random.gguf"

func TestServeFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "usage"},
		{[]string{"-m", "x.gguf", "extra"}, 2, "usage"},
		{[]string{"-m", "/nonexistent.gguf"}, 1, "nonexistent"},
		{[]string{"-m", "a.gguf", "--alias", "a", "--alias", "b"}, 1, "2 aliases for 1 models"},
		{[]string{"-m", "a.gguf", "--cache-type", "q4_0"}, 1, "cache-type"},
		{[]string{"-m", "a.gguf", "--parallel", "0"}, 1, "parallel"},
	} {
		var stderr strings.Builder
		code := owl(append([]string{"serve", "--addr", "127.0.0.1:0"}, tt.args...), io.Discard, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q", tt.args, code, tt.code, stderr.String())
		}
	}
}

// TestServe runs `owl serve` on a loopback port: it answers with the key
// from OWL_API_KEY, logs a line per request, and on the stop signal shuts
// down within its bound, ending a stream in flight, and exits 0.
func TestServe(t *testing.T) {
	needFile(t, tinyModel)
	t.Setenv("OWL_API_KEY", "k3y")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	old := serveSignals
	serveSignals = func() (context.Context, context.CancelFunc) { return context.WithCancel(ctx) }
	defer func() { serveSignals = old }()

	errR, errW := io.Pipe()
	var stdout strings.Builder
	exit := make(chan int, 1)
	go func() {
		exit <- owl([]string{"serve", "-m", tinyModel, "--alias", "tiny", "--addr", "127.0.0.1:0", "-c", "2048", "--parallel", "2", "--shutdown-timeout", "300ms"}, &stdout, errW)
		errW.Close()
	}()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(errR)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var url string
	timeout := time.After(20 * time.Second)
	for url == "" {
		select {
		case l := <-lines:
			if m := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(l); m != nil {
				url = m[1]
			}
		case <-timeout:
			t.Fatal("owl serve did not start")
		}
	}
	get := func(path, key string) int {
		req, _ := http.NewRequest("GET", url+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	deadline := time.Now().Add(20 * time.Second)
	for get("/health", "") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("never healthy")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c := get("/v1/models", ""); c != 401 {
		t.Errorf("without the key: %d", c)
	}
	if c := get("/v1/models/tiny", "k3y"); c != 200 {
		t.Errorf("with the key: %d", c)
	}
	// A long stream in flight when the signal comes.
	req, _ := http.NewRequest("POST", url+"/v1/completions", strings.NewReader(`{"model":"tiny","prompt":"a","max_tokens":2000,"stream":true,"logit_bias":{"2":-100}}`))
	req.Header.Set("Authorization", "Bearer k3y")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("stream: %v %v", err, res)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cancel()
	rest, _ := io.ReadAll(br) // ends when the server ends the stream
	if strings.Contains(string(rest), "[DONE]") {
		t.Log("the stream finished before the shutdown bound")
	} else {
		t.Log("the stream was cut at the shutdown bound")
	}
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("owl serve did not exit")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	var logged []string
	for l := range lines {
		logged = append(logged, l)
	}
	log := strings.Join(logged, "\n")
	for _, want := range []string{"path=/v1/models status=401", "path=/v1/models/tiny status=200", "path=/v1/completions status=200", "shutting down"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if !strings.Contains(stdout.String(), "/v1") {
		t.Errorf("stdout %q does not give the base URL", stdout.String())
	}
}
