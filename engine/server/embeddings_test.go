package server

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/openweights/owl/engine"
)

type embeddingReply struct {
	Object string `json:"object"`
	Model  string `json:"model"`
	Data   []struct {
		Object    string          `json:"object"`
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Usage map[string]int `json:"usage"`
}

// embedPost posts an embeddings request that must succeed and returns
// its vectors, decoded from floats or base64 as the body says.
func embedPost(t *testing.T, url, body string) (embeddingReply, [][]float32) {
	t.Helper()
	r := post(t, url+"/v1/embeddings", body)
	if r.status != 200 {
		t.Fatalf("%s: %d %s", body, r.status, r.body)
	}
	var rep embeddingReply
	if err := json.Unmarshal(r.body, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Object != "list" || len(rep.Usage) != 2 || rep.Usage["total_tokens"] != rep.Usage["prompt_tokens"] {
		t.Errorf("reply %s", r.body)
	}
	var vecs [][]float32
	for i, d := range rep.Data {
		if d.Object != "embedding" || d.Index != i {
			t.Errorf("item %d: object %q, index %d", i, d.Object, d.Index)
		}
		var v []float32
		var b64 string
		if json.Unmarshal(d.Embedding, &b64) == nil {
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil || len(raw)%4 != 0 {
				t.Fatalf("item %d: base64 of %d bytes: %v", i, len(raw), err)
			}
			for k := 0; k < len(raw); k += 4 {
				v = append(v, math.Float32frombits(binary.LittleEndian.Uint32(raw[k:])))
			}
		} else if err := json.Unmarshal(d.Embedding, &v); err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		vecs = append(vecs, v)
	}
	return rep, vecs
}

func TestEmbeddings(t *testing.T) {
	s, ts := tinyServer(t, Config{})
	m := s.models[0]
	size := m.Loaded.Model.HParams().Embd
	texts := []string{"hello", "world", "hello", "The quick brown fox"}
	var ids [][]int32
	total := 0
	for _, text := range texts {
		ids = append(ids, m.Loaded.PromptTokens(text, true))
		total += len(ids[len(ids)-1])
	}
	// The engine's own vectors: the HTTP layer must carry them exactly.
	want, err := m.Engine.Embed(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	quoted, _ := json.Marshal(texts)
	idLists, _ := json.Marshal(ids)

	rep, got := embedPost(t, ts.URL, `{"model":"tiny","input":"hello"}`)
	if rep.Model != "tiny" || len(got) != 1 || rep.Usage["prompt_tokens"] != len(ids[0]) {
		t.Errorf("one string: model %q, %d vectors, usage %v", rep.Model, len(got), rep.Usage)
	}
	for _, tc := range []struct {
		name, body string
		want       [][]float32
		tokens     int
	}{
		{"string", `{"model":"tiny","input":"hello"}`, want[:1], len(ids[0])},
		{"strings", `{"model":"tiny","input":` + string(quoted) + `}`, want, total},
		{"token ids", fmt.Sprintf(`{"model":"tiny","input":%s}`, strings.ReplaceAll(fmt.Sprint(ids[3]), " ", ",")), want[3:], len(ids[3])},
		{"token id lists", `{"model":"tiny","input":` + string(idLists) + `}`, want, total},
		{"base64", `{"model":"tiny","input":` + string(quoted) + `,"encoding_format":"base64"}`, want, total},
		{"explicit float, dimensions and user", fmt.Sprintf(`{"model":"tiny","input":"hello","encoding_format":"float","dimensions":%d,"user":"u"}`, size), want[:1], len(ids[0])},
		{"model left out", `{"input":"hello"}`, want[:1], len(ids[0])},
	} {
		rep, got := embedPost(t, ts.URL, tc.body)
		if !slices.EqualFunc(got, tc.want, slices.Equal) {
			t.Errorf("%s: the vectors differ from the engine's", tc.name)
		}
		if rep.Usage["prompt_tokens"] != tc.tokens {
			t.Errorf("%s: usage %v, want %d prompt tokens", tc.name, rep.Usage, tc.tokens)
		}
		for i, v := range got {
			var ss float64
			for _, x := range v {
				ss += float64(x) * float64(x)
			}
			if len(v) != size || math.Abs(math.Sqrt(ss)-1) > 1e-5 {
				t.Errorf("%s: vector %d of %d values, norm %v", tc.name, i, len(v), math.Sqrt(ss))
			}
		}
	}
	if !slices.Equal(want[0], want[2]) || slices.Equal(want[0], want[1]) {
		t.Error("identical texts should embed alike and different ones not")
	}
}

func TestEmbeddingsErrors(t *testing.T) {
	s, ts := tinyServer(t, Config{})
	m := s.models[0]
	long := make([]string, m.Ctx+7)
	for i := range long {
		long[i] = "5"
	}
	many := make([]string, maxEmbedInputs+1)
	for i := range many {
		many[i] = `"a"`
	}
	for _, tc := range []struct {
		name, body  string
		status      int
		param, code string
		messageHas  string
	}{
		{"no input", `{"model":"tiny"}`, 400, "input", "", "Missing required parameter"},
		{"input of a wrong type", `{"model":"tiny","input":{"x":1}}`, 400, "input", "", "Invalid type"},
		{"empty array", `{"model":"tiny","input":[]}`, 400, "input", "", ""},
		{"empty token list", `{"model":"tiny","input":[[1],[]]}`, 400, "input", "", "input 1 is empty"},
		{"token out of range", `{"model":"tiny","input":[1,99999999]}`, 400, "input", "", "not a token id"},
		{"too long", `{"model":"tiny","input":[` + strings.Join(long, ",") + `]}`, 400, "input", "context_length_exceeded", "7 more than"},
		{"too many", `{"model":"tiny","input":[` + strings.Join(many, ",") + `]}`, 400, "input", "", "at most 2048"},
		{"bad encoding", `{"model":"tiny","input":"a","encoding_format":"int8"}`, 400, "encoding_format", "", "'int8'"},
		{"other dimensions", `{"model":"tiny","input":"a","dimensions":3}`, 400, "dimensions", "unsupported_parameter", "cannot shorten"},
		{"zero dimensions", `{"model":"tiny","input":"a","dimensions":0}`, 400, "dimensions", "", "≥ 1"},
		{"unknown model", `{"model":"nope","input":"a"}`, 404, "model", "model_not_found", ""},
		{"not JSON", `{"model":`, 400, "", "", ""},
	} {
		r := post(t, ts.URL+"/v1/embeddings", tc.body)
		if r.status != tc.status {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
			continue
		}
		e := errorOf(t, r)
		if p, _ := e["param"].(string); tc.param != "" && p != tc.param {
			t.Errorf("%s: param %v, want %q", tc.name, e["param"], tc.param)
		}
		if c, _ := e["code"].(string); tc.code != "" && c != tc.code {
			t.Errorf("%s: code %v, want %q", tc.name, e["code"], tc.code)
		}
		if !strings.Contains(e["message"].(string), tc.messageHas) {
			t.Errorf("%s: message %q lacks %q", tc.name, e["message"], tc.messageHas)
		}
	}

	// The engine's refusals.
	real := m
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("engine: llama.pooling_type is rank: %w", engine.ErrCannotEmbed), 400, "model_not_supported"},
		{fmt.Errorf("engine: 4 embedding requests: %w", engine.ErrQueueFull), 503, "queue_full"},
		{fmt.Errorf("engine: input 0 too long: %w", engine.ErrContextFull), 400, "context_length_exceeded"},
		{engine.ErrClosed, 503, ""},
		{fmt.Errorf("engine: forward pass failed: boom"), 500, ""},
	} {
		fake := &Model{ID: "fake", Loaded: real.Loaded, Engine: &fakeEngine{embedErr: tc.err}, Ctx: real.Ctx}
		_, ts := testServer(t, Config{}, fake)
		r := post(t, ts.URL+"/v1/embeddings", `{"model":"fake","input":"hello"}`)
		if r.status != tc.status {
			t.Errorf("%v: %d %s", tc.err, r.status, r.body)
			continue
		}
		if c, _ := errorOf(t, r)["code"].(string); c != tc.code {
			t.Errorf("%v: code %q, want %q", tc.err, c, tc.code)
		}
	}
}
