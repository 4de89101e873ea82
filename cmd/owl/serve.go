package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/openweights/owl/engine"
	"github.com/openweights/owl/engine/server"
	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels/cpu"
)

const serveUsage = "serve -m FILE [-m FILE2 ...] [--addr 127.0.0.1:8080] [--parallel N] [-c N] [--api-key KEY] [--alias NAME ...] [--cors ORIGIN ...] [-t N]"

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type serveFlags struct {
	models, aliases, cors listFlag
	addr, apiKey          string
	cacheType             string
	parallel, ctx         int
	queue, threads        int
	maxBody               int64
	shutdown              time.Duration
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.models, "m", "model file (GGUF); repeat to serve several")
	fs.Var(&f.models, "model", "model file (GGUF)")
	fs.Var(&f.aliases, "alias", "the name clients use for the model (repeat: one per -m, in order; default: the file name without .gguf)")
	fs.Var(&f.cors, "cors", "allow browser calls from ORIGIN (repeat, or \"*\" for any); off by default")
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&f.apiKey, "api-key", "", "require 'Authorization: Bearer KEY' (default $OWL_API_KEY)")
	fs.StringVar(&f.cacheType, "cache-type", "f16", "KV cache type: f16 or f32")
	fs.IntVar(&f.parallel, "parallel", 4, "requests decoded at once per model (slots)")
	fs.IntVar(&f.ctx, "c", 0, "context size of each slot (0: the model's, at most 4096)")
	fs.IntVar(&f.queue, "queue", 64, "requests that may wait for a slot before the server answers 503")
	fs.IntVar(&f.threads, "t", 0, "threads (0: physical cores)")
	fs.Int64Var(&f.maxBody, "max-body", server.DefaultMaxBody, "largest request body in bytes (413 above)")
	fs.DurationVar(&f.shutdown, "shutdown-timeout", 10*time.Second, "on SIGINT/SIGTERM, how long in-flight requests may finish before they are cancelled")
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: owl %s\n", serveUsage)
		fs.PrintDefaults()
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(f.models) == 0 || len(rest) > 0 {
		fs.Usage()
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "owl serve: %v\n", err)
		return 1
	}
	if len(f.aliases) > len(f.models) {
		return fail(fmt.Errorf("%d aliases for %d models", len(f.aliases), len(f.models)))
	}
	if f.parallel < 1 || f.queue < 0 || f.ctx < 0 {
		return fail(errors.New("--parallel must be ≥ 1, --queue and -c ≥ 0"))
	}
	cacheType, ok := gguf.ParseType(f.cacheType)
	if !ok || (cacheType != gguf.TypeF16 && cacheType != gguf.TypeF32) {
		return fail(fmt.Errorf("--cache-type %q: want f16 or f32", f.cacheType))
	}
	if f.apiKey == "" {
		f.apiKey = os.Getenv("OWL_API_KEY")
	}

	ctx, stop := serveSignals()
	defer stop()
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	srv := server.New(server.Config{APIKey: f.apiKey, CORSOrigins: f.cors, MaxBodyBytes: f.maxBody, Logger: logger})
	defer srv.Close()

	// Listen first: /health answers 503 while the models load.
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fail(err)
	}
	base, cancelAll := context.WithCancel(context.Background())
	defer cancelAll()
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stderr, "owl serve: listening on %s, loading %d model(s)\n", url, len(f.models))

	for i, path := range f.models {
		if ctx.Err() != nil {
			break
		}
		id := strings.TrimSuffix(filepath.Base(path), ".gguf")
		if i < len(f.aliases) {
			id = f.aliases[i]
		}
		m, err := loadServed(path, id, &f, cacheType)
		if err != nil {
			hs.Close()
			return fail(err)
		}
		if err := srv.AddModel(m); err != nil {
			m.Engine.Close()
			hs.Close()
			return fail(err)
		}
		fmt.Fprintf(stderr, "owl serve: model %q from %s: %d slots × %d tokens\n", id, path, f.parallel, m.Ctx)
	}
	if ctx.Err() == nil {
		srv.SetReady()
		fmt.Fprintf(stdout, "owl serve: ready; OpenAI base URL %s/v1\n", url)
	}

	select {
	case err := <-served:
		return fail(err)
	case <-ctx.Done():
	}
	stop() // a second signal kills the process the default way
	fmt.Fprintf(stderr, "owl serve: shutting down (in-flight requests get %v)\n", f.shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdown)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		// Time is up: cancel what is still running, so that streams end
		// and their handlers return.
		cancelAll()
		cctx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel2()
		if hs.Shutdown(cctx) != nil {
			hs.Close()
		}
	}
	return 0
}

// serveSignals is the context that ends serving: SIGINT or SIGTERM (a
// variable so that tests can stop the server).
var serveSignals = func() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// loadServed loads a model and starts its scheduler.
func loadServed(path, id string, f *serveFlags, cacheType gguf.Type) (*server.Model, error) {
	be := cpu.New(f.threads)
	l, err := engine.Load(path, be)
	if err != nil {
		be.Close()
		return nil, err
	}
	queue := f.queue
	if queue == 0 {
		queue = -1 // the scheduler's "no queue"
	}
	sched, err := engine.NewScheduler(l, be, engine.SchedulerConfig{Slots: f.parallel, Ctx: f.ctx, QueueSize: queue, CacheType: cacheType})
	if err != nil {
		l.Close()
		be.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	created := time.Now().Unix()
	if st, err := os.Stat(path); err == nil {
		created = st.ModTime().Unix()
	}
	return &server.Model{
		ID: id, Loaded: l, Ctx: sched.Ctx(), Created: created,
		Engine: closing{server.NewSchedEngine(sched), func() { l.Close(); be.Close() }},
	}, nil
}

// closing is an Engine that releases the model and backend after the
// engine closes.
type closing struct {
	server.Engine
	after func()
}

func (c closing) Close() {
	c.Engine.Close()
	c.after()
}
