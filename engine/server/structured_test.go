package server

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// Schemas whose values are enums and bounded numbers, so that even the
// tiny random model completes them within the budget.
const (
	pickSchema  = `{"type":"object","properties":{"color":{"type":"string","enum":["red","green","blue"]},"count":{"type":"integer","minimum":0,"maximum":9}},"required":["color","count"],"additionalProperties":false}`
	weatherTool = `[{"type":"function","function":{"name":"get_weather","description":"Weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string","enum":["Paris","Rome"]},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"],"additionalProperties":false}}}]`
)

func TestResponseFormat(t *testing.T) {
	_, ts := tinyServer(t, Config{})
	url := ts.URL + "/v1/chat/completions"
	for seed := 1; seed <= 4; seed++ {
		r := post(t, url, chatBody(`"max_tokens":200,"n":2,"seed":`+string(rune('0'+seed))+`,"response_format":{"type":"json_schema","json_schema":{"name":"pick","strict":true,"schema":`+pickSchema+`}}`))
		var c chatCompletion
		if err := json.Unmarshal(r.body, &c); err != nil || r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		for _, ch := range c.Choices {
			var v map[string]any
			dec := json.NewDecoder(strings.NewReader(*ch.Message.Content))
			if err := dec.Decode(&v); err != nil || ch.FinishReason != "stop" {
				t.Fatalf("seed %d: %q (%s): %v", seed, *ch.Message.Content, ch.FinishReason, err)
			}
			count, ok := v["count"].(float64)
			if len(v) != 2 || !slices.Contains([]any{"red", "green", "blue"}, v["color"]) || !ok || count != float64(int(count)) || count < 0 || count > 9 {
				t.Fatalf("seed %d: %v does not validate", seed, v)
			}
		}
	}
	// json_object: a JSON object, or (out of tokens) the start of one.
	r := post(t, url, chatBody(`"max_tokens":300,"seed":1,"response_format":{"type":"json_object"}`))
	var c chatCompletion
	json.Unmarshal(r.body, &c)
	if r.status != 200 || !strings.HasPrefix(strings.TrimSpace(*c.Choices[0].Message.Content), "{") {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if c.Choices[0].FinishReason == "stop" {
		var v map[string]any
		if err := json.Unmarshal([]byte(*c.Choices[0].Message.Content), &v); err != nil {
			t.Fatalf("json_object output %q: %v", *c.Choices[0].Message.Content, err)
		}
	}
	// Bad schemas are 400s.
	for _, body := range []string{
		chatBody(`"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"type":"nonsense"}}}}}`),
		chatBody(`"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":[1]}}`),
	} {
		r := post(t, url, body)
		if e := errorOf(t, r); r.status != 400 || !strings.HasPrefix(e["param"].(string), "response_format") {
			t.Errorf("%d %s", r.status, r.body)
		}
	}
}

func TestTools(t *testing.T) {
	_, ts := tinyServer(t, Config{})
	url := ts.URL + "/v1/chat/completions"
	ask := func(extra string) string {
		return `{"model":"tiny","messages":[{"role":"user","content":"Weather in Paris?"}],"tools":` + weatherTool + `,"max_tokens":200,"parallel_tool_calls":false,` + extra + `}`
	}
	checkArgs := func(args string) {
		t.Helper()
		var a struct {
			City string `json:"city"`
			Days int    `json:"days"`
		}
		if err := json.Unmarshal([]byte(args), &a); err != nil || (a.City != "Paris" && a.City != "Rome") || a.Days < 1 || a.Days > 7 {
			t.Fatalf("arguments %q: %v", args, err)
		}
	}
	for _, choice := range []string{`"required"`, `{"type":"function","function":{"name":"get_weather"}}`} {
		r := post(t, url, ask(`"seed":4,"tool_choice":`+choice))
		var c chatCompletion
		if err := json.Unmarshal(r.body, &c); err != nil || r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		ch := c.Choices[0]
		if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 || ch.Message.Content != nil {
			t.Fatalf("%s", r.body)
		}
		call := ch.Message.ToolCalls[0]
		if !strings.HasPrefix(call.ID, "call_") || call.Type != "function" || call.Function.Name != "get_weather" || call.Index != nil {
			t.Fatalf("call %+v", call)
		}
		checkArgs(call.Function.Arguments)

		// Streamed: the same call in a tool_calls delta.
		var got []toolCall
		finish := ""
		for _, chunk := range streamChunks(t, url, ask(`"seed":4,"stream":true,"tool_choice":`+choice)) {
			b, _ := json.Marshal(chunk["choices"])
			var cs []chatChunkChoice
			json.Unmarshal(b, &cs)
			for _, c := range cs {
				got = append(got, c.Delta.ToolCalls...)
				if c.FinishReason != nil {
					finish = *c.FinishReason
				}
			}
		}
		if finish != "tool_calls" || len(got) != 1 || got[0].Index == nil || *got[0].Index != 0 || got[0].ID != call.ID || got[0].Function.Arguments != call.Function.Arguments {
			t.Fatalf("streamed %+v (%s), whole %+v", got, finish, call)
		}
	}
	// "none": no calls are read, the reply is text.
	r := post(t, url, ask(`"seed":1,"max_tokens":8,"tool_choice":"none"`))
	var c chatCompletion
	json.Unmarshal(r.body, &c)
	if r.status != 200 || len(c.Choices[0].Message.ToolCalls) != 0 || c.Choices[0].FinishReason == "tool_calls" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// "auto" runs (the tiny model's ChatML template gets the Generic
	// format: a call or a response).
	if r := post(t, url, ask(`"seed":1,"tool_choice":"auto"`)); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// A forced call and a response format conflict.
	r = post(t, url, ask(`"tool_choice":"required","response_format":{"type":"json_object"}`))
	if r.status != 400 || errorOf(t, r)["param"] != "response_format" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r = post(t, url, ask(`"chat_template_kwargs":[1]`))
	if r.status != 400 || errorOf(t, r)["param"] != "chat_template_kwargs" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// A tool call sent back renders (the template gets it through toolcall).
	back := `{"model":"tiny","max_tokens":4,"tools":` + weatherTool + `,"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\",\"days\":2}"}}]},{"role":"tool","tool_call_id":"call_1","content":"sunny"}]}`
	if r := post(t, url, back); r.status != 200 {
		t.Fatalf("conversation with a tool result: %d %s", r.status, r.body)
	}
}
