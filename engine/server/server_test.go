package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBadRequests(t *testing.T) {
	_, ts := tinyServer(t, Config{MaxBodyBytes: 1 << 16})
	chat := ts.URL + "/v1/chat/completions"
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name, url, body string
		status          int
		param, code     string // "" : not checked; "null": must be null
	}{
		{"not json", chat, `{"model":`, 400, "", ""},
		{"not an object", chat, `[1,2]`, 400, "", ""},
		{"empty body", chat, ``, 400, "", ""},
		{"unknown model", chat, `{"model":"nope",` + msgs + `}`, 404, "model", "model_not_found"},
		{"temperature type", chat, `{"model":"tiny",` + msgs + `,"temperature":"hot"}`, 400, "temperature", ""},
		{"temperature range", chat, `{"model":"tiny",` + msgs + `,"temperature":3}`, 400, "temperature", ""},
		{"top_p range", chat, `{"model":"tiny",` + msgs + `,"top_p":1.5}`, 400, "top_p", ""},
		{"n zero", chat, `{"model":"tiny",` + msgs + `,"n":0}`, 400, "n", ""},
		{"n fractional", chat, `{"model":"tiny",` + msgs + `,"n":1.5}`, 400, "n", ""},
		{"max_tokens zero", chat, `{"model":"tiny",` + msgs + `,"max_tokens":0}`, 400, "max_tokens", ""},
		{"max_completion_tokens negative", chat, `{"model":"tiny",` + msgs + `,"max_completion_tokens":-3}`, 400, "max_completion_tokens", ""},
		{"presence range", chat, `{"model":"tiny",` + msgs + `,"presence_penalty":-2.5}`, 400, "presence_penalty", ""},
		{"stop type", chat, `{"model":"tiny",` + msgs + `,"stop":7}`, 400, "stop", ""},
		{"too many stops", chat, `{"model":"tiny",` + msgs + `,"stop":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}`, 400, "stop", ""},
		{"logit_bias key", chat, `{"model":"tiny",` + msgs + `,"logit_bias":{"abc":1}}`, 400, "logit_bias", ""},
		{"logit_bias id", chat, `{"model":"tiny",` + msgs + `,"logit_bias":{"99999999":1}}`, 400, "logit_bias", ""},
		{"logit_bias value", chat, `{"model":"tiny",` + msgs + `,"logit_bias":{"5":101}}`, 400, "logit_bias", ""},
		{"top_logprobs without logprobs", chat, `{"model":"tiny",` + msgs + `,"top_logprobs":3}`, 400, "top_logprobs", ""},
		{"top_logprobs range", chat, `{"model":"tiny",` + msgs + `,"logprobs":true,"top_logprobs":21}`, 400, "top_logprobs", ""},
		{"stream_options without stream", chat, `{"model":"tiny",` + msgs + `,"stream_options":{"include_usage":true}}`, 400, "stream_options", ""},
		{"no messages", chat, `{"model":"tiny"}`, 400, "messages", ""},
		{"empty messages", chat, `{"model":"tiny","messages":[]}`, 400, "messages", ""},
		{"messages type", chat, `{"model":"tiny","messages":"hi"}`, 400, "messages", ""},
		{"message not object", chat, `{"model":"tiny","messages":["hi"]}`, 400, "messages.[0]", ""},
		{"no role", chat, `{"model":"tiny","messages":[{"content":"hi"}]}`, 400, "messages.[0].role", ""},
		{"bad role", chat, `{"model":"tiny","messages":[{"role":"wizard","content":"hi"}]}`, 400, "messages.[0].role", ""},
		{"no user content", chat, `{"model":"tiny","messages":[{"role":"user"}]}`, 400, "messages.[0].content", ""},
		{"content type", chat, `{"model":"tiny","messages":[{"role":"user","content":5}]}`, 400, "messages.[0].content", ""},
		{"image part", chat, `{"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "messages.[0].content.[0].type", ""},
		{"text part without text", chat, `{"model":"tiny","messages":[{"role":"user","content":[{"type":"text"}]}]}`, 400, "messages.[0].content.[0].text", ""},
		{"tool_choice without tools", chat, `{"model":"tiny",` + msgs + `,"tool_choice":"required"}`, 400, "tool_choice", ""},
		{"tools type", chat, `{"model":"tiny",` + msgs + `,"tools":{"a":1}}`, 400, "tools", ""},
		{"tool without name", chat, `{"model":"tiny",` + msgs + `,"tools":[{"type":"function","function":{}}]}`, 400, "tools.[0].function.name", ""},
		{"tool_choice unknown function", chat, `{"model":"tiny",` + msgs + `,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`, 400, "tool_choice", ""},
		{"response_format type", chat, `{"model":"tiny",` + msgs + `,"response_format":{"type":"yaml"}}`, 400, "response_format.type", ""},
		{"json_schema without schema object", chat, `{"model":"tiny",` + msgs + `,"response_format":{"type":"json_schema"}}`, 400, "response_format.json_schema", ""},
		{"context overflow", chat, `{"model":"tiny",` + msgs + `,"max_tokens":100000}`, 400, "messages", "context_length_exceeded"},
		{"completions prompt type", ts.URL + "/v1/completions", `{"model":"tiny","prompt":{"a":1}}`, 400, "prompt", ""},
		{"completions token id", ts.URL + "/v1/completions", `{"model":"tiny","prompt":[1,99999999]}`, 400, "prompt", ""},
		{"completions no prompt", ts.URL + "/v1/completions", `{"model":"tiny"}`, 400, "prompt", ""},
		{"completions logprobs range", ts.URL + "/v1/completions", `{"model":"tiny","prompt":"a","logprobs":50}`, 400, "logprobs", ""},
		{"completions overflow", ts.URL + "/v1/completions", `{"model":"tiny","prompt":"a","max_tokens":600}`, 400, "prompt", "context_length_exceeded"},
		{"too large", chat, `{"model":"tiny","messages":[{"role":"user","content":"` + strings.Repeat("x", 1<<16) + `"}]}`, 413, "null", "request_too_large"},
		{"unknown endpoint", ts.URL + "/v1/nothing", `{}`, 404, "null", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, tt.url, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			e := errorOf(t, r)
			switch tt.param {
			case "":
			case "null":
				if e["param"] != nil {
					t.Errorf("param %v, want null", e["param"])
				}
			default:
				if e["param"] != tt.param {
					t.Errorf("param %v, want %q (%v)", e["param"], tt.param, e["message"])
				}
			}
			if tt.code != "" && e["code"] != tt.code {
				t.Errorf("code %v, want %q", e["code"], tt.code)
			}
			if tt.status == 400 && e["type"] != "invalid_request_error" {
				t.Errorf("type %v", e["type"])
			}
		})
	}
}

func TestContextOverflowSaysByHowMuch(t *testing.T) {
	_, ts := tinyServer(t, Config{})
	var body struct {
		Tokens []int32 `json:"tokens"`
	}
	// The prompt's own length, from the server's tokenizer.
	r := post(t, ts.URL+"/v1/completions", `{"model":"tiny","prompt":"one two three","max_tokens":1,"logprobs":0,"echo":true}`)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var c struct {
		Usage Usage `json:"usage"`
	}
	json.Unmarshal(r.body, &c)
	n := c.Usage.PromptTokens
	_ = body
	r = post(t, ts.URL+"/v1/completions", fmt.Sprintf(`{"model":"tiny","prompt":"one two three","max_tokens":%d}`, 512-n+7))
	e := errorOf(t, r)
	if r.status != 400 || !strings.Contains(e["message"].(string), "7 more than fit") || !strings.Contains(e["message"].(string), "512") {
		t.Fatalf("%d %v", r.status, e["message"])
	}
	// Exactly full fits.
	r = post(t, ts.URL+"/v1/completions", fmt.Sprintf(`{"model":"tiny","prompt":"one two three","max_tokens":%d,"temperature":0,"logit_bias":{"2":-100}}`, 512-n))
	if r.status != 200 {
		t.Fatalf("a request that fills the context exactly: %d %s", r.status, r.body)
	}
}

func TestAuth(t *testing.T) {
	_, ts := tinyServer(t, Config{APIKey: "sekret"})
	for _, tt := range []struct {
		method, path, auth string
		status             int
	}{
		{"GET", "/v1/models", "", 401},
		{"GET", "/v1/models", "Bearer wrong", 401},
		{"GET", "/v1/models", "sekret", 401},
		{"GET", "/v1/models", "Bearer sekret", 200},
		{"GET", "/metrics", "", 401},
		{"GET", "/metrics", "Bearer sekret", 200},
		{"POST", "/v1/chat/completions", "", 401},
		{"POST", "/tokenize", "", 401},
		{"GET", "/health", "", 200},
	} {
		var h []string
		if tt.auth != "" {
			h = []string{"Authorization", tt.auth}
		}
		r := do(t, tt.method, ts.URL+tt.path, "", h...)
		if r.status != tt.status {
			t.Errorf("%s %s with %q: %d, want %d", tt.method, tt.path, tt.auth, r.status, tt.status)
		}
		if tt.status == 401 {
			if e := errorOf(t, r); e["code"] != "invalid_api_key" {
				t.Errorf("code %v", e["code"])
			}
		}
	}
}

func TestCORS(t *testing.T) {
	_, off := tinyServer(t, Config{})
	r := do(t, "GET", off.URL+"/v1/models", "", "Origin", "http://app.example")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS is off by default: %d %v", r.status, r.header)
	}
	_, on := tinyServer(t, Config{CORSOrigins: []string{"http://app.example"}, APIKey: "k"})
	r = do(t, "OPTIONS", on.URL+"/v1/chat/completions", "", "Origin", "http://app.example", "Access-Control-Request-Method", "POST")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "http://app.example" ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	r = do(t, "GET", on.URL+"/v1/models", "", "Origin", "http://app.example", "Authorization", "Bearer k")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "http://app.example" {
		t.Fatalf("allowed origin: %d %v", r.status, r.header)
	}
	r = do(t, "GET", on.URL+"/v1/models", "", "Origin", "http://evil.example", "Authorization", "Bearer k")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin allowed: %v", r.header)
	}
}

func TestHealthWhileLoading(t *testing.T) {
	s := New(Config{})
	r := httptestDo(s, "GET", "/health")
	if r.Code != 503 || r.Header().Get("Retry-After") == "" {
		t.Fatalf("loading: %d %v", r.Code, r.Header())
	}
	if r := httptestDo(s, "GET", "/v1/models"); r.Code != 503 {
		t.Fatalf("/v1/models while loading: %d", r.Code)
	}
	s.SetReady()
	if r := httptestDo(s, "GET", "/health"); r.Code != 200 || !strings.Contains(r.Body.String(), `"ok"`) {
		t.Fatalf("ready: %d %s", r.Code, r.Body)
	}
}

func TestModels(t *testing.T) {
	_, ts := testServer(t, Config{},
		loadModel(t, tinyModel, "tiny", engineCfg(2, 256)),
		loadModel(t, tinyModel, "org/tiny-2", engineCfg(2, 256)))
	r := do(t, "GET", ts.URL+"/v1/models", "")
	var list modelList
	if err := json.Unmarshal(r.body, &list); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if list.Object != "list" || len(list.Data) != 2 || list.Data[0].ID != "tiny" || list.Data[1].ID != "org/tiny-2" ||
		list.Data[0].Object != "model" || list.Data[0].OwnedBy == "" || list.Data[0].Created != 1700000000 {
		t.Fatalf("%+v", list)
	}
	r = do(t, "GET", ts.URL+"/v1/models/org/tiny-2", "")
	if r.status != 200 || r.json(t)["id"] != "org/tiny-2" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r = do(t, "GET", ts.URL+"/v1/models/none", "")
	if r.status != 404 || errorOf(t, r)["code"] != "model_not_found" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// Requests go to the model they name.
	r = post(t, ts.URL+"/v1/completions", `{"model":"org/tiny-2","prompt":"a","max_tokens":1}`)
	if r.status != 200 || r.json(t)["model"] != "org/tiny-2" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestTokenizeDetokenize(t *testing.T) {
	s, ts := tinyServer(t, Config{})
	tok := s.models[0].Loaded.Tokenizer
	text := "Hello world, héllo"
	r := post(t, ts.URL+"/tokenize", `{"content":"`+text+`"}`)
	var got struct {
		Tokens []int32 `json:"tokens"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	want := tok.Encode(text, false, true)
	if fmt.Sprint(got.Tokens) != fmt.Sprint(want) {
		t.Fatalf("tokens %v, want %v", got.Tokens, want)
	}
	r = post(t, ts.URL+"/tokenize", `{"content":"`+text+`","add_special":true,"with_pieces":true}`)
	var pieces struct {
		Tokens []struct {
			ID    int32 `json:"id"`
			Piece any   `json:"piece"`
		} `json:"tokens"`
	}
	json.Unmarshal(r.body, &pieces)
	if len(pieces.Tokens) != len(want)+1 || pieces.Tokens[0].ID != tok.BOS() {
		t.Fatalf("with BOS and pieces: %s", r.body)
	}
	ids, _ := json.Marshal(got.Tokens)
	r = post(t, ts.URL+"/detokenize", `{"tokens":`+string(ids)+`}`)
	if r.status != 200 || r.json(t)["content"] != text {
		t.Fatalf("detokenize: %d %s", r.status, r.body)
	}
	if r := post(t, ts.URL+"/detokenize", `{"tokens":[-1]}`); r.status != 400 {
		t.Fatalf("bad id: %d", r.status)
	}
}

func TestMetrics(t *testing.T) {
	_, ts := tinyServer(t, Config{})
	if r := post(t, ts.URL+"/v1/completions", `{"model":"tiny","prompt":"a b c","max_tokens":5,"temperature":0,"logit_bias":{"2":-100}}`); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	post(t, ts.URL+"/v1/completions", `{"model":"nope","prompt":"a"}`)
	r := do(t, "GET", ts.URL+"/metrics", "")
	if r.status != 200 {
		t.Fatal(r.status)
	}
	text := string(r.body)
	for _, want := range []string{
		`owl_http_requests_total{endpoint="/v1/completions",status="200"} 1`,
		`owl_http_requests_total{endpoint="/v1/completions",status="404"} 1`,
		`owl_generated_tokens_total{model="tiny"} 5`,
		`owl_slots{model="tiny"} 4`,
		`owl_slots_busy{model="tiny"} 0`,
		`owl_queue_depth{model="tiny"} 0`,
		`owl_kv_cache_cells{model="tiny"} 2048`,
		`owl_time_to_first_token_seconds_count{model="tiny"} 1`,
		`owl_time_per_output_token_seconds_count{model="tiny"} 1`,
		`# TYPE owl_http_request_duration_seconds histogram`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if !strings.Contains(text, `owl_prompt_tokens_total{model="tiny"}`) {
		t.Error("no prompt token counter")
	}
}

func engineCfg(slots, ctx int) engineConfig { return engineConfig{Slots: slots, Ctx: ctx} }

func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var _ = http.StatusOK
