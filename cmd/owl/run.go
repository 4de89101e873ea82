package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"

	"github.com/openweights/owl/engine"
	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels/cpu"
)

const runUsage = "run -m FILE [-p PROMPT] [--chat] [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P] [--seed S] [-t N] [-c N] [--json [--logprobs K]]"

// runFlags are the sampling and context flags run shares with other
// commands that generate.
type runFlags struct {
	model, prompt            string
	chat, asJSON             bool
	n, threads, ctx, topK    int
	logprobs, repeatLastN    int
	temp, topP, minP, repeat float64
	presence, frequency      float64
	seed                     int64
	cacheType                string
}

func (r *runFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.model, "m", "", "model file (GGUF)")
	fs.StringVar(&r.model, "model", "", "model file (GGUF)")
	fs.StringVar(&r.prompt, "p", "", "prompt; without it on a terminal, an interactive chat")
	fs.StringVar(&r.prompt, "prompt", "", "prompt")
	fs.BoolVar(&r.chat, "chat", false, "wrap -p in the model's chat template as a user message")
	fs.BoolVar(&r.asJSON, "json", false, "print one JSON object: tokens, text, timings")
	fs.IntVar(&r.n, "n", -1, "tokens to generate (-1: until end of generation or a full context)")
	fs.IntVar(&r.threads, "t", 0, "threads (0: physical cores)")
	fs.IntVar(&r.ctx, "c", 0, "context size (0: the model's, at most 4096)")
	fs.IntVar(&r.topK, "top-k", 40, "top-k sampling (0: off)")
	fs.IntVar(&r.logprobs, "logprobs", 0, "with --json: the top K logprobs of every prompt and generated position")
	fs.IntVar(&r.repeatLastN, "repeat-last-n", 64, "tokens the penalties look back over (-1: all)")
	fs.Float64Var(&r.temp, "temp", 0.8, "temperature (0: greedy)")
	fs.Float64Var(&r.topP, "top-p", 0.95, "top-p sampling (1: off)")
	fs.Float64Var(&r.minP, "min-p", 0.05, "min-p sampling (0: off)")
	fs.Float64Var(&r.repeat, "repeat-penalty", 1, "repetition penalty (1: off)")
	fs.Float64Var(&r.presence, "presence-penalty", 0, "presence penalty")
	fs.Float64Var(&r.frequency, "frequency-penalty", 0, "frequency penalty")
	fs.Int64Var(&r.seed, "seed", -1, "random seed (-1: random)")
	fs.StringVar(&r.cacheType, "cache-type", "f16", "KV cache type: f16 or f32")
}

func (r *runFlags) sampler() engine.SamplerParams {
	seed := uint64(r.seed)
	if r.seed < 0 {
		seed = rand.Uint64()
	}
	return engine.SamplerParams{
		Temperature: float32(r.temp), TopK: r.topK, TopP: float32(r.topP), MinP: float32(r.minP),
		RepeatPenalty: float32(r.repeat), PresencePenalty: float32(r.presence),
		FrequencyPenalty: float32(r.frequency), RepeatLastN: r.repeatLastN, Seed: seed,
	}
}

// runOutput is what `owl run --json` prints.
type runOutput struct {
	PromptTokens   []int32        `json:"prompt_tokens"`
	Tokens         []int32        `json:"tokens"`
	Text           string         `json:"text"`
	FinishReason   string         `json:"finish_reason"`
	Timings        engine.Timings `json:"timings"`
	PromptLogprobs [][][2]float64 `json:"prompt_logprobs,omitempty"`
	Logprobs       [][][2]float64 `json:"logprobs,omitempty"`
}

func runRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var r runFlags
	r.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: owl %s\n", runUsage)
		fs.PrintDefaults()
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if r.model == "" || len(rest) > 0 {
		fs.Usage()
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "owl run: %v\n", err)
		return 1
	}
	cacheType, ok := gguf.ParseType(r.cacheType)
	if !ok || (cacheType != gguf.TypeF16 && cacheType != gguf.TypeF32) {
		return fail(fmt.Errorf("--cache-type %q: want f16 or f32", r.cacheType))
	}
	be := cpu.New(r.threads)
	defer be.Close()
	l, err := engine.Load(r.model, be)
	if err != nil {
		return fail(err)
	}
	defer l.Close()
	ctxLen := r.ctx
	if ctxLen <= 0 {
		ctxLen = min(l.Model.HParams().CtxTrain, 4096)
	}
	sess, err := engine.NewSession(l.Model, be, cacheType, ctxLen, 1)
	if err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if r.prompt == "" && isTerminal(os.Stdin) {
		return interactiveChat(ctx, l, sess, &r, os.Stdin, stdout, stderr)
	}
	prompt := r.prompt
	if prompt == "" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return fail(err)
		}
		prompt = string(b)
	}
	special := false
	if r.chat {
		msgs, _ := json.Marshal([]map[string]string{{"role": "user", "content": prompt}})
		if prompt, err = l.ChatPrompt(msgs, nil); err != nil {
			return fail(err)
		}
		special = true
	}
	tokens := l.PromptTokens(prompt, special)
	p := engine.GenerateParams{MaxTokens: r.n, Sampler: r.sampler(), Logprobs: r.logprobs, PromptLogprobs: r.asJSON && r.logprobs > 0}
	if !r.asJSON {
		p.Logprobs = 0
	}
	var emit func([]byte) error
	if !r.asJSON {
		emit = func(b []byte) error { _, err := stdout.Write(b); return err }
	}
	res, err := engine.Generate(ctx, sess, 0, l.Tokenizer, tokens, p, emit)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fail(err)
	}
	if !r.asJSON {
		fmt.Fprintln(stdout)
		return 0
	}
	out := runOutput{
		PromptTokens: res.PromptTokens, Tokens: res.Tokens, Text: string(res.Text),
		FinishReason: res.FinishReason, Timings: res.Timings,
		PromptLogprobs: pairs(res.PromptLogprobs), Logprobs: pairs(res.Logprobs),
	}
	if out.Tokens == nil {
		out.Tokens = []int32{}
	}
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(out); err != nil {
		return fail(err)
	}
	return 0
}

func pairs(lps [][]engine.TokenLogprob) [][][2]float64 {
	if lps == nil {
		return nil
	}
	out := make([][][2]float64, len(lps))
	for i, row := range lps {
		out[i] = make([][2]float64, len(row))
		for j, x := range row {
			out[i][j] = [2]float64{float64(x.ID), float64(x.Logprob)}
		}
	}
	return out
}

// interactiveChat is `owl run` without a prompt on a terminal: a chat that
// keeps the conversation, like `ollama run`.
func interactiveChat(ctx context.Context, l *engine.Loaded, sess *engine.Session, r *runFlags, in io.Reader, stdout, stderr io.Writer) int {
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	var history []message
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	fmt.Fprintln(stderr, "chatting with", l.Path, "(an empty line or Ctrl-D ends)")
	for {
		fmt.Fprint(stdout, ">>> ")
		if !sc.Scan() {
			fmt.Fprintln(stdout)
			return 0
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" || line == "/bye" {
			return 0
		}
		history = append(history, message{"user", line})
		msgs, _ := json.Marshal(history)
		prompt, err := l.ChatPrompt(msgs, nil)
		if err != nil {
			fmt.Fprintf(stderr, "owl run: %v\n", err)
			return 1
		}
		var reply strings.Builder
		emit := func(b []byte) error {
			reply.Write(b)
			_, err := stdout.Write(b)
			return err
		}
		p := engine.GenerateParams{MaxTokens: r.n, Sampler: r.sampler()}
		if p.MaxTokens < 0 {
			p.MaxTokens = -1
		}
		_, err = engine.Generate(ctx, sess, 0, l.Tokenizer, l.PromptTokens(prompt, true), p, emit)
		fmt.Fprintln(stdout)
		if err != nil {
			fmt.Fprintf(stderr, "owl run: %v\n", err)
			if errors.Is(err, engine.ErrContextFull) {
				history = nil
				continue
			}
			return 1
		}
		history = append(history, message{"assistant", reply.String()})
	}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
