// Package conformance drives owl serve with github.com/openai/openai-go,
// unmodified. It is a module of its own so that owl does not depend on the
// client. ../run.sh starts the servers and sets the OWL_* variables (see
// ../python/test_conformance.py); without them the tests skip.
package conformance

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

var (
	model   string
	models  []string
	ctxLen  int
	maxBody int
	client  openai.Client
	// The test models' end-of-generation tokens, banned to make lengths exact.
	noEOS = map[string]int64{"0": -100, "2": -100}
	msgs  = []openai.ChatCompletionMessageParamUnion{
		openai.SystemMessage("You are terse."),
		openai.UserMessage("Name three colors."),
	}
)

func setup(t *testing.T) context.Context {
	t.Helper()
	base := os.Getenv("OWL_BASE_URL")
	if base == "" {
		t.Skip("OWL_BASE_URL is not set: run conformance/run.sh")
	}
	model, models = os.Getenv("OWL_MODEL"), strings.Split(os.Getenv("OWL_MODELS"), ",")
	ctxLen, _ = strconv.Atoi(os.Getenv("OWL_CTX"))
	maxBody, _ = strconv.Atoi(os.Getenv("OWL_MAX_BODY"))
	client = openai.NewClient(option.WithBaseURL(base), option.WithAPIKey("not-needed"), option.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func apiError(t *testing.T, err error, status int) *openai.Error {
	t.Helper()
	var e *openai.Error
	if !errors.As(err, &e) {
		t.Fatalf("want an API error %d, got %v", status, err)
	}
	if e.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", e.StatusCode, status, e.RawJSON())
	}
	return e
}

// skipUnsupported skips when the server says a feature is not supported.
func skipUnsupported(t *testing.T, err error) {
	var e *openai.Error
	if errors.As(err, &e) && e.StatusCode == 400 && e.Code == "unsupported_parameter" {
		t.Skip("server: " + e.Message)
	}
}

func greedy(n int64, m string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model: m, Messages: msgs, MaxTokens: openai.Int(n), Temperature: openai.Float(0), LogitBias: noEOS,
	}
}

func TestModels(t *testing.T) {
	ctx := setup(t)
	page, err := client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	for _, m := range models {
		if !slices.Contains(ids, m) {
			t.Errorf("%s not in %v", m, ids)
		}
	}
	m, err := client.Models.Get(ctx, model)
	if err != nil || m.ID != model {
		t.Fatalf("%v %v", m, err)
	}
	_, err = client.Models.Get(ctx, "no-such-model")
	apiError(t, err, 404)
}

func TestChat(t *testing.T) {
	ctx := setup(t)
	for _, m := range models {
		r, err := client.Chat.Completions.New(ctx, greedy(6, m))
		if err != nil {
			t.Fatal(m, err)
		}
		c := r.Choices[0]
		if !strings.HasPrefix(r.ID, "chatcmpl-") || r.Object != "chat.completion" || r.Model != m || !strings.HasPrefix(r.SystemFingerprint, "fp_") || r.Created == 0 {
			t.Errorf("%s envelope: %s", m, r.RawJSON())
		}
		if c.Message.Role != "assistant" || c.FinishReason != "length" || r.Usage.CompletionTokens != 6 || r.Usage.TotalTokens != r.Usage.PromptTokens+6 {
			t.Errorf("%s: %s", m, r.RawJSON())
		}

		// Streaming, through the client's accumulator.
		p := greedy(6, m)
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		stream := client.Chat.Completions.NewStreaming(ctx, p)
		acc := openai.ChatCompletionAccumulator{}
		ids := map[string]bool{}
		var usage *openai.CompletionUsage
		for stream.Next() {
			chunk := stream.Current()
			ids[chunk.ID] = true
			acc.AddChunk(chunk)
			if chunk.JSON.Usage.Valid() && chunk.Usage.TotalTokens > 0 {
				u := chunk.Usage
				usage = &u
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(m, err)
		}
		if len(ids) != 1 || len(acc.Choices) != 1 || acc.Choices[0].Message.Content != c.Message.Content || acc.Choices[0].FinishReason != "length" {
			t.Errorf("%s stream: ids %v, accumulated %+v, want %q", m, ids, acc.Choices, c.Message.Content)
		}
		if usage == nil || usage.CompletionTokens != 6 || usage.PromptTokens != r.Usage.PromptTokens {
			t.Errorf("%s stream usage %+v", m, usage)
		}
	}
}

func TestStopAndLength(t *testing.T) {
	ctx := setup(t)
	r, err := client.Chat.Completions.New(ctx, greedy(24, model))
	if err != nil {
		t.Fatal(err)
	}
	text := r.Choices[0].Message.Content
	runes := []rune(text)
	if len(runes) < 8 {
		t.Fatalf("too short: %q", text)
	}
	stop := string(runes[len(runes)/2 : len(runes)/2+2])
	p := greedy(24, model)
	p.Stop = openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{stop, "\x00never"}}
	s, err := client.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if want := text[:strings.Index(text, stop)]; s.Choices[0].Message.Content != want || s.Choices[0].FinishReason != "stop" {
		t.Errorf("stop %q: %q (%s), want %q", stop, s.Choices[0].Message.Content, s.Choices[0].FinishReason, want)
	}
	l, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model, Messages: msgs, MaxCompletionTokens: openai.Int(3), LogitBias: noEOS, Seed: openai.Int(1)})
	if err != nil || l.Choices[0].FinishReason != "length" || l.Usage.CompletionTokens != 3 {
		t.Errorf("max_completion_tokens: %v %v", err, l)
	}
}

func TestNAndSeed(t *testing.T) {
	ctx := setup(t)
	p := openai.ChatCompletionNewParams{Model: model, Messages: msgs, MaxTokens: openai.Int(8), N: openai.Int(2),
		Temperature: openai.Float(1.2), Seed: openai.Int(7), LogitBias: noEOS}
	a, err := client.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Choices) != 2 || a.Choices[1].Index != 1 || a.Usage.CompletionTokens != 16 {
		t.Fatalf("n=2: %s", a.RawJSON())
	}
	for i := range a.Choices {
		if a.Choices[i].Message.Content != b.Choices[i].Message.Content {
			t.Errorf("seed 7 choice %d: %q then %q", i, a.Choices[i].Message.Content, b.Choices[i].Message.Content)
		}
	}
}

func TestLogprobs(t *testing.T) {
	ctx := setup(t)
	p := greedy(6, model)
	p.Logprobs, p.TopLogprobs = openai.Bool(true), openai.Int(2)
	r, err := client.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	lp := r.Choices[0].Logprobs.Content
	if int64(len(lp)) != r.Usage.CompletionTokens {
		t.Fatalf("%d logprobs for %d tokens", len(lp), r.Usage.CompletionTokens)
	}
	for _, x := range lp {
		if x.Logprob > 0 || len(x.TopLogprobs) != 2 || x.TopLogprobs[0].Token != x.Token {
			t.Errorf("%+v", x)
		}
	}
}

// Structured output and tool calls that even a random-weight model
// completes: enums and bounded integers.
var (
	pickSchema = map[string]any{
		"type": "object",
		"properties": map[string]any{
			"color": map[string]any{"type": "string", "enum": []string{"red", "green", "blue"}},
			"count": map[string]any{"type": "integer", "minimum": 0, "maximum": 9},
		},
		"required":             []string{"color", "count"},
		"additionalProperties": false,
	}
	weatherTool = openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name: "get_weather", Description: openai.String("Weather of a city"),
		Parameters: shared.FunctionParameters{
			"type": "object",
			"properties": map[string]any{
				"city": map[string]any{"type": "string", "enum": []string{"Paris", "Rome"}},
				"days": map[string]any{"type": "integer", "minimum": 1, "maximum": 7},
			},
			"required":             []string{"city", "days"},
			"additionalProperties": false,
		},
	})
)

func TestJSONSchema(t *testing.T) {
	ctx := setup(t)
	for _, m := range models {
		r, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: m, Messages: msgs, MaxTokens: openai.Int(200), Seed: openai.Int(5),
			ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
				JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "pick", Schema: pickSchema, Strict: openai.Bool(true)},
			}},
		})
		skipUnsupported(t, err)
		if err != nil {
			t.Fatal(m, err)
		}
		var v struct {
			Color *string `json:"color"`
			Count *int64  `json:"count"`
		}
		dec := json.NewDecoder(strings.NewReader(r.Choices[0].Message.Content))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil || v.Color == nil || v.Count == nil ||
			!slices.Contains([]string{"red", "green", "blue"}, *v.Color) || *v.Count < 0 || *v.Count > 9 || r.Choices[0].FinishReason != "stop" {
			t.Fatalf("%s: %q (%s) does not validate: %v", m, r.Choices[0].Message.Content, r.Choices[0].FinishReason, err)
		}
	}
}

func TestTools(t *testing.T) {
	ctx := setup(t)
	for _, m := range models {
		r, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: m, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
			MaxTokens: openai.Int(200), Seed: openai.Int(2), ParallelToolCalls: openai.Bool(false),
			Tools:      []openai.ChatCompletionToolUnionParam{weatherTool},
			ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")},
		})
		skipUnsupported(t, err)
		if err != nil {
			t.Fatal(m, err)
		}
		c := r.Choices[0]
		if c.FinishReason != "tool_calls" || len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Name != "get_weather" {
			t.Fatalf("%s: %s", m, r.RawJSON())
		}
		var args struct {
			City string `json:"city"`
			Days int    `json:"days"`
		}
		if err := json.Unmarshal([]byte(c.Message.ToolCalls[0].Function.Arguments), &args); err != nil || (args.City != "Paris" && args.City != "Rome") || args.Days < 1 || args.Days > 7 {
			t.Fatalf("%s: arguments %q: %v", m, c.Message.ToolCalls[0].Function.Arguments, err)
		}
	}
	// Streamed, through the client's accumulator.
	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
		MaxTokens: openai.Int(200), Seed: openai.Int(3), ParallelToolCalls: openai.Bool(false),
		Tools:      []openai.ChatCompletionToolUnionParam{weatherTool},
		ToolChoice: openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "get_weather"}),
	})
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].FinishReason != "tool_calls" || len(acc.Choices[0].Message.ToolCalls) != 1 ||
		acc.Choices[0].Message.ToolCalls[0].Function.Name != "get_weather" || !json.Valid([]byte(acc.Choices[0].Message.ToolCalls[0].Function.Arguments)) {
		t.Fatalf("streamed tool call: %+v", acc.Choices)
	}
}

func TestCompletions(t *testing.T) {
	ctx := setup(t)
	for _, m := range models {
		r, err := client.Completions.New(ctx, openai.CompletionNewParams{Model: openai.CompletionNewParamsModel(m),
			Prompt:    openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
			MaxTokens: openai.Int(5), Temperature: openai.Float(0), LogitBias: noEOS})
		if err != nil {
			t.Fatal(m, err)
		}
		if !strings.HasPrefix(r.ID, "cmpl-") || r.Object != "text_completion" || r.Choices[0].FinishReason != "length" || r.Usage.CompletionTokens != 5 {
			t.Errorf("%s: %s", m, r.RawJSON())
		}
	}
	p := openai.CompletionNewParams{Model: openai.CompletionNewParamsModel(model),
		Prompt:    openai.CompletionNewParamsPromptUnion{OfString: openai.String("The sky is")},
		MaxTokens: openai.Int(3), Temperature: openai.Float(0), LogitBias: noEOS, Echo: openai.Bool(true), Logprobs: openai.Int(2)}
	r, err := client.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	lp := r.Choices[0].Logprobs
	if !strings.HasPrefix(r.Choices[0].Text, "The sky is") || int64(len(lp.Tokens)) != r.Usage.PromptTokens+3 || lp.JSON.TokenLogprobs.Raw() == "" {
		t.Errorf("echo+logprobs: %s", r.RawJSON())
	}
	var raw struct {
		Choices []struct {
			Logprobs struct {
				TokenLogprobs []*float64 `json:"token_logprobs"`
			} `json:"logprobs"`
		} `json:"choices"`
	}
	json.Unmarshal([]byte(r.RawJSON()), &raw)
	if tl := raw.Choices[0].Logprobs.TokenLogprobs; len(tl) == 0 || tl[0] != nil {
		t.Errorf("the first echoed token's logprob is null: %v", tl)
	}
	// Streaming equals whole.
	p = openai.CompletionNewParams{Model: openai.CompletionNewParamsModel(model),
		Prompt:    openai.CompletionNewParamsPromptUnion{OfArrayOfStrings: []string{"Once upon a time"}},
		MaxTokens: openai.Int(8), Temperature: openai.Float(0), LogitBias: noEOS}
	whole, err := client.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	stream := client.Completions.NewStreaming(ctx, p)
	var text string
	for stream.Next() {
		if c := stream.Current(); len(c.Choices) > 0 {
			text += c.Choices[0].Text
		}
	}
	if stream.Err() != nil || text != whole.Choices[0].Text {
		t.Errorf("streamed %q (%v), whole %q", text, stream.Err(), whole.Choices[0].Text)
	}
}

func TestEmbeddings(t *testing.T) {
	ctx := setup(t)
	embd, err := strconv.Atoi(os.Getenv("OWL_EMBD"))
	if err != nil {
		t.Fatalf("OWL_EMBD: %v", err)
	}
	unit := func(what string, v []float64, size int) {
		t.Helper()
		var ss float64
		for _, x := range v {
			ss += x * x
		}
		if len(v) != size || math.Abs(math.Sqrt(ss)-1) > 1e-5 {
			t.Errorf("%s: %d values (want %d), norm %v", what, len(v), size, math.Sqrt(ss))
		}
	}
	texts := []string{"hello", "world", "hello"}
	params := openai.EmbeddingNewParams{Model: openai.EmbeddingModel(model),
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts}}
	r, err := client.Embeddings.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if r.Object != "list" || r.Model != model || len(r.Data) != len(texts) {
		t.Fatalf("%s", r.RawJSON())
	}
	for i, d := range r.Data {
		if d.Index != int64(i) || d.Object != "embedding" {
			t.Errorf("item %d: index %d, object %q", i, d.Index, d.Object)
		}
		unit(texts[i], d.Embedding, embd)
	}
	if !slices.Equal(r.Data[0].Embedding, r.Data[2].Embedding) || slices.Equal(r.Data[0].Embedding, r.Data[1].Embedding) {
		t.Error("identical texts should embed alike and different ones not")
	}
	var want int64
	for _, text := range texts {
		c, err := client.Completions.New(ctx, openai.CompletionNewParams{Model: openai.CompletionNewParamsModel(model),
			Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String(text)}, MaxTokens: openai.Int(1)})
		if err != nil {
			t.Fatal(err)
		}
		want += c.Usage.PromptTokens
	}
	if r.Usage.PromptTokens != want || r.Usage.TotalTokens != want {
		t.Errorf("usage %s, want %d prompt tokens", r.Usage.RawJSON(), want)
	}

	// base64: little-endian float32, the same values as the numbers.
	params.EncodingFormat = openai.EmbeddingNewParamsEncodingFormatBase64
	b, err := client.Embeddings.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range b.Data {
		var s string
		if err := json.Unmarshal([]byte(d.JSON.Embedding.Raw()), &s); err != nil {
			t.Fatalf("item %d: %v in %s", i, err, d.JSON.Embedding.Raw())
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) != 4*embd {
			t.Fatalf("item %d: %d bytes, %v", i, len(raw), err)
		}
		for k, x := range r.Data[i].Embedding {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:])); got != float32(x) {
				t.Fatalf("item %d value %d: base64 %v, number %v", i, k, got, x)
			}
		}
	}

	ids, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: openai.EmbeddingModel(model),
		Input:      openai.EmbeddingNewParamsInputUnion{OfArrayOfTokenArrays: [][]int64{{1, 15043}, {1, 3186}}},
		Dimensions: openai.Int(int64(embd))})
	if err != nil {
		t.Fatal(err)
	}
	if ids.Usage.PromptTokens != 4 || len(ids.Data) != 2 {
		t.Errorf("token ids: %s", ids.RawJSON())
	}
	for _, d := range ids.Data {
		unit("token ids", d.Embedding, embd)
	}
	for _, m := range models {
		one, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: openai.EmbeddingModel(m),
			Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("The sky is blue.")}})
		if err != nil {
			t.Fatal(m, err)
		}
		if one.Usage.PromptTokens == 0 {
			t.Errorf("%s: %s", m, one.Usage.RawJSON())
		}
		unit(m, one.Data[0].Embedding, len(one.Data[0].Embedding))
	}

	_, err = client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: openai.EmbeddingModel(model),
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello")}, Dimensions: openai.Int(int64(embd / 2))})
	if e := apiError(t, err, 400); e.Param != "dimensions" {
		t.Errorf("dimensions: %s", e.RawJSON())
	}
	_, err = client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: openai.EmbeddingModel(model),
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokens: make([]int64, ctxLen+5)}})
	if e := apiError(t, err, 400); e.Code != "context_length_exceeded" || !strings.Contains(e.Message, "5 more") {
		t.Errorf("too long: %s", e.RawJSON())
	}
}

func TestBadRequests(t *testing.T) {
	ctx := setup(t)
	p := greedy(4, model)
	p.Temperature = openai.Float(5)
	_, err := client.Chat.Completions.New(ctx, p)
	if e := apiError(t, err, 400); e.Param != "temperature" {
		t.Errorf("param %q", e.Param)
	}
	p = greedy(4, model)
	p.SetExtraFields(map[string]any{"n": "two"})
	_, err = client.Chat.Completions.New(ctx, p)
	if e := apiError(t, err, 400); e.Param != "n" {
		t.Errorf("param %q", e.Param)
	}
	_, err = client.Chat.Completions.New(ctx, greedy(4, "no-such-model"))
	if e := apiError(t, err, 404); e.Code != "model_not_found" {
		t.Errorf("code %q", e.Code)
	}
	_, err = client.Chat.Completions.New(ctx, greedy(int64(ctxLen), model))
	if e := apiError(t, err, 400); e.Code != "context_length_exceeded" || !strings.Contains(e.Message, "more than fit") {
		t.Errorf("%s", e.RawJSON())
	}
	_, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(strings.Repeat("x", maxBody+1))}})
	apiError(t, err, 413)
}

func TestAuth(t *testing.T) {
	ctx := setup(t)
	base := os.Getenv("OWL_AUTH_BASE_URL")
	wrong := openai.NewClient(option.WithBaseURL(base), option.WithAPIKey("wrong"), option.WithMaxRetries(0))
	_, err := wrong.Models.List(ctx)
	apiError(t, err, 401)
	right := openai.NewClient(option.WithBaseURL(base), option.WithAPIKey(os.Getenv("OWL_AUTH_KEY")), option.WithMaxRetries(0))
	r, err := right.Chat.Completions.New(ctx, greedy(2, "tiny"))
	if err != nil || r.Object != "chat.completion" {
		t.Fatalf("%v %v", r, err)
	}
	res, err := http.Get(strings.TrimSuffix(base, "/v1") + "/health")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("health without a key: %v %v", res, err)
	}
	res.Body.Close()
}
