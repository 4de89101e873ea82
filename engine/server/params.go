package server

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openweights/owl/engine"
)

// Defaults for parameters a request leaves out: OpenAI's for its own
// parameters, llama.cpp's server defaults for the extensions.
const (
	defaultTemperature = 1.0
	defaultTopP        = 1.0
	defaultTopK        = 40
	defaultMinP        = 0.05
	maxN               = 128
	maxStops           = 16
	maxTopLogprobs     = 20
	bodyTimeout        = time.Minute
)

// decodeBody reads a JSON request body into v, mapping each failure to
// OpenAI's answer: 413 for a body over the limit, 400 naming the
// parameter for a wrongly typed field.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	// A body that trickles in must not hold a connection for ever; the
	// deadline is lifted afterwards, as streamed answers take their time
	// (a server-wide ReadTimeout would cancel them).
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(bodyTimeout))
	data, err := io.ReadAll(r.Body)
	rc.SetReadDeadline(time.Time{})
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return tooLarge(tooBig.Limit)
		}
		return badRequest("", "Could not read the request body: %v", err)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return badRequest("", "The request has no body: send a JSON object.")
	}
	return decodeJSON(data, v)
}

func decodeJSON(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		param := typeErr.Field
		if param == "" {
			return badRequest("", "The request body must be a JSON object, not a JSON %s.", typeErr.Value)
		}
		return badRequest(param, "Invalid type for '%s': expected %s, but got %s instead.", param, typeName(typeErr.Type.String()), jsonKind(typeErr.Value))
	}
	return badRequest("", "We could not parse the JSON body of your request: %v", err)
}

// typeName describes a Go type the way OpenAI's errors describe JSON
// types.
func typeName(goType string) string {
	goType = strings.TrimPrefix(goType, "*")
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a boolean"
	case strings.HasPrefix(goType, "map"), strings.HasPrefix(goType, "server."), strings.HasPrefix(goType, "struct"):
		return "an object"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return goType
}

func jsonKind(v string) string {
	switch v {
	case "number", "string", "bool", "array", "object":
		if v == "bool" {
			return "a boolean"
		}
		if v == "array" || v == "object" {
			return "an " + v
		}
		return "a " + v
	}
	if strings.HasPrefix(v, "number") {
		return "a number (" + strings.TrimPrefix(v, "number ") + ")"
	}
	return v
}

// rawIsNull reports whether raw JSON is absent or null.
func rawIsNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// rangeCheck gives a 400 when a set parameter is outside [lo, hi].
func rangeCheck(param string, v *float64, lo, hi float64) error {
	if v == nil {
		return nil
	}
	if math.IsNaN(*v) || *v < lo || *v > hi {
		return badRequest(param, "Invalid '%s': %g is not in [%g, %g].", param, *v, lo, hi)
	}
	return nil
}

// sampling turns the shared request fields into engine parameters for
// model m. maxTokens is nil when absent (generate until the context is
// full); seed is random when absent.
type sampling struct {
	params       engine.GenerateParams
	n            int
	stream       bool
	includeUsage bool
	seedSet      bool
	// constraint makes a fresh constraint per choice (response_format).
	constraint func() engine.Constraint
}

func (f *samplingFields) parse(m *Model, maxTokens *int, maxTokensParam string) (*sampling, error) {
	var s sampling
	p := &s.params
	p.MaxTokens = -1
	if maxTokens != nil {
		if *maxTokens < 1 {
			return nil, badRequest(maxTokensParam, "Invalid '%s': %d is less than the minimum of 1.", maxTokensParam, *maxTokens)
		}
		p.MaxTokens = *maxTokens
	}
	for _, c := range []struct {
		name   string
		v      *float64
		lo, hi float64
	}{
		{"temperature", f.Temperature, 0, 2},
		{"top_p", f.TopP, 0, 1},
		{"presence_penalty", f.PresencePenalty, -2, 2},
		{"frequency_penalty", f.FrequencyPenalty, -2, 2},
		{"min_p", f.MinP, 0, 1},
		{"repeat_penalty", f.RepeatPenalty, 0, 10},
	} {
		if err := rangeCheck(c.name, c.v, c.lo, c.hi); err != nil {
			return nil, err
		}
	}
	sp := engine.SamplerParams{
		Temperature: defaultTemperature, TopP: defaultTopP, TopK: defaultTopK, MinP: defaultMinP,
		RepeatPenalty: 1,
	}
	if f.Temperature != nil {
		sp.Temperature = float32(*f.Temperature)
	}
	if f.TopP != nil {
		sp.TopP = float32(*f.TopP)
	}
	if f.TopK != nil {
		if *f.TopK < 0 {
			return nil, badRequest("top_k", "Invalid 'top_k': %d is negative.", *f.TopK)
		}
		sp.TopK = *f.TopK
	}
	if f.MinP != nil {
		sp.MinP = float32(*f.MinP)
	}
	if f.RepeatPenalty != nil {
		sp.RepeatPenalty = float32(*f.RepeatPenalty)
	}
	if f.RepeatLastN != nil {
		if *f.RepeatLastN < -1 {
			return nil, badRequest("repeat_last_n", "Invalid 'repeat_last_n': %d (want -1 for all, 0 for the default, or a count).", *f.RepeatLastN)
		}
		sp.RepeatLastN = *f.RepeatLastN
	}
	if f.PresencePenalty != nil {
		sp.PresencePenalty = float32(*f.PresencePenalty)
	}
	if f.FrequencyPenalty != nil {
		sp.FrequencyPenalty = float32(*f.FrequencyPenalty)
	}
	if f.Seed != nil {
		sp.Seed = uint64(*f.Seed)
		s.seedSet = true
	} else {
		sp.Seed = rand.Uint64()
	}
	if len(f.LogitBias) > 0 {
		vocab := m.Loaded.Tokenizer.VocabSize()
		sp.LogitBias = make(map[int32]float32, len(f.LogitBias))
		for k, v := range f.LogitBias {
			id, err := strconv.ParseInt(k, 10, 32)
			if err != nil || id < 0 || int(id) >= vocab {
				return nil, badRequest("logit_bias", "Invalid 'logit_bias': key %q is not a token id of this model (0 to %d).", k, vocab-1)
			}
			if math.IsNaN(v) || v < -100 || v > 100 {
				return nil, badRequest("logit_bias", "Invalid 'logit_bias': the bias %g of token %s is not in [-100, 100].", v, k)
			}
			sp.LogitBias[int32(id)] = float32(v)
		}
	}
	p.Sampler = sp

	stops, err := parseStop(f.Stop)
	if err != nil {
		return nil, err
	}
	p.Stop = stops

	s.n = 1
	if f.N != nil {
		if *f.N < 1 || *f.N > maxN {
			return nil, badRequest("n", "Invalid 'n': %d is not in [1, %d].", *f.N, maxN)
		}
		s.n = *f.N
	}
	s.stream = f.Stream != nil && *f.Stream
	if f.StreamOptions != nil {
		if !s.stream {
			return nil, badRequest("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
		}
		s.includeUsage = f.StreamOptions.IncludeUsage != nil && *f.StreamOptions.IncludeUsage
	}
	return &s, nil
}

// parseStop reads "stop": a string, an array of strings, or null.
func parseStop(raw json.RawMessage) ([]string, error) {
	if rawIsNull(raw) {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, badRequest("stop", "Invalid type for 'stop': expected a string or an array of strings.")
	}
	if len(many) > maxStops {
		return nil, badRequest("stop", "Invalid 'stop': %d stop sequences; at most %d are allowed.", len(many), maxStops)
	}
	var out []string
	for _, s := range many {
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// fitContext sets MaxTokens for a prompt of n tokens: when absent, the
// room left in the context; when set, it must fit, or a 400 says by how
// much it does not (never silent truncation).
func fitContext(m *Model, n int, p *engine.GenerateParams, param string) error {
	if n == 0 {
		return badRequest(param, "The prompt is empty.")
	}
	want := p.MaxTokens
	if want < 0 {
		if n < m.Ctx {
			p.MaxTokens = m.Ctx - n
			return nil
		}
		want = 1
	}
	if n+want <= m.Ctx {
		return nil
	}
	e := badRequest(param, "This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the prompt, %d for the completion), %d more than fit. Please reduce the length of the prompt or of the completion.",
		m.Ctx, n+want, n, want, n+want-m.Ctx)
	e.Code = "context_length_exceeded"
	return e
}

// choiceSeed varies the seed per choice, so that n > 1 gives different
// choices while a fixed seed still reproduces all of them.
func choiceSeed(seed uint64, i int) uint64 {
	return seed + uint64(i)*0x9e3779b97f4a7c15
}
