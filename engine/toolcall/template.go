package toolcall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// RenderOptions are a request's tool settings, for RenderInput.
type RenderOptions struct {
	Tools    []Tool
	Choice   Choice
	Parallel bool
	// Extra is the request's own template arguments (chat_template_kwargs),
	// a JSON object or empty. They win over those the format adds.
	Extra json.RawMessage
	// Now is the date the Llama 3.x and FireFunction templates print; zero
	// means time.Now.
	Now time.Time
	// Limits is what the chat template cannot render (see ProbeTemplate);
	// RenderInput works around each. The zero value trusts the template.
	Limits Limits
}

// RenderInput is what to give the chat template (tokenizer/chat's
// RenderJSON: messages, tools, Options.Extra) for a request.
type RenderInput struct {
	Messages json.RawMessage
	Tools    json.RawMessage // nil: render without tools
	Extra    json.RawMessage // nil: no extra template arguments
}

// Limits is what a chat template cannot render, as ProbeTemplate finds.
type Limits struct {
	// NoTools: the template does not lay out the tools it is given, so
	// RenderInput describes them (with the family's call syntax) in the
	// system message.
	NoTools bool
	// NoCalls: the template cannot render an assistant's tool calls, so
	// RenderInput rewrites calls and tool results in the conversation as
	// text, as llama.cpp's minja does: calls as the JSON of the Generic form,
	// a result as a user message {"tool_response": {"tool",
	// "tool_call_id", "content"}}.
	NoCalls bool
	// NoSystem: the template rejects or drops system messages, so text
	// RenderInput adds goes at the start of the first user message.
	NoSystem bool
}

// llamaBuiltinTools are the tools Llama 3.1 calls through <|python_tag|>
// when its template lists them in builtin_tools.
var llamaBuiltinTools = map[string]bool{"wolfram_alpha": true, "web_search": true, "brave_search": true, "python": true, "code_interpreter": true}

// RenderInput prepares a request's messages (the JSON array as sent) for
// rendering, following llama.cpp's per-format setup:
//
//   - Llama 3.x templates get date_string, tools_in_user_message false (tools
//     go in the system message) and builtin_tools (the request's tools that
//     are Llama's built-ins, when the template knows them).
//   - FireFunction v2 takes its tools as the string "functions" (the
//     definitions as indented JSON) plus "datetime", not as tools.
//   - Generic, with tools and tool_choice other than "none", gets a system
//     message (appended to the first one if there is one) asking for the JSON
//     reply Plan constrains.
//
// Then o.Limits are worked around (see Limits). Everything else passes
// through: the tools as sent, the client's Extra.
func (f Format) RenderInput(messages json.RawMessage, o RenderOptions) (RenderInput, error) {
	in := RenderInput{Messages: messages, Tools: toolsJSON(o.Tools), Extra: o.Extra}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	var vars obj
	switch f.family {
	case Llama3:
		var builtin []string
		if f.builtin {
			for _, t := range o.Tools {
				if llamaBuiltinTools[t.Name] {
					builtin = append(builtin, t.Name)
				}
			}
		}
		vars = obj{{"date_string", now.Format("02 Jan 2006")}, {"tools_in_user_message", false}}
		if len(builtin) > 0 {
			vars = append(vars, kv{"builtin_tools", builtin})
		}
	case FirefunctionV2:
		functions := ""
		if len(in.Tools) > 0 {
			var b bytes.Buffer
			if err := json.Indent(&b, in.Tools, "", "  "); err != nil {
				return in, fmt.Errorf("toolcall: tools: %w", err)
			}
			functions = b.String()
		}
		in.Tools = nil
		vars = obj{{"datetime", now.UTC().Format("Jan 02 2006 15:04:05 GMT")}, {"functions", functions}}
	}
	if o.Limits.NoCalls {
		msgs, err := callsAsText(in.Messages)
		if err != nil {
			return in, err
		}
		in.Messages = msgs
	}
	if len(o.Tools) > 0 && o.Choice.Mode != ChoiceNone {
		var text string
		if o.Limits.NoTools && f.family != FirefunctionV2 {
			text = toolList(o.Tools)
			if ex, ok := callExamples[f.family]; ok {
				text += "To call a tool, write:\n" + ex
			}
		}
		if f.family == Generic {
			text += genericInstructions(o)
		}
		if text != "" {
			msgs, err := addSystem(in.Messages, strings.TrimSpace(text), o.Limits.NoSystem)
			if err != nil {
				return in, err
			}
			in.Messages = msgs
		}
	}
	if len(vars) > 0 {
		extra, err := mergeExtra(o.Extra, vars)
		if err != nil {
			return in, err
		}
		in.Extra = extra
	}
	return in, nil
}

// genericInstructions tells a model with no tool-call convention of its own
// how to reply.
func genericInstructions(o RenderOptions) string {
	var b strings.Builder
	call := `{"tool_call": {"name": "<tool name>", "arguments": {<arguments>}}}`
	if o.Parallel {
		call = `{"tool_calls": [{"name": "<tool name>", "arguments": {<arguments>}}, ...]}`
	}
	if o.Choice.Mode == ChoiceAuto {
		b.WriteString("Reply with a single JSON object: " + call + ` to call tools, or {"response": "<your reply>"} to answer the user directly.`)
	} else {
		b.WriteString("Reply with a single JSON object that calls tools: " + call + ".")
	}
	return b.String()
}

// callsAsText rewrites tool calls and tool results in a conversation as
// plain text messages, for templates that cannot render them.
func callsAsText(messages json.RawMessage) (json.RawMessage, error) {
	var msgs []json.RawMessage
	if err := json.Unmarshal(messages, &msgs); err != nil {
		return nil, fmt.Errorf("toolcall: messages is not an array: %w", err)
	}
	changed := false
	for i, raw := range msgs {
		var m struct {
			Role       string          `json:"role"`
			Content    json.RawMessage `json:"content"`
			Name       *string         `json:"name"`
			ToolCallID *string         `json:"tool_call_id"`
			ToolCalls  []struct {
				ID       string `json:"id"`
				Function struct {
					Name      string          `json:"name"`
					Arguments json.RawMessage `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("toolcall: messages[%d]: %w", i, err)
		}
		switch {
		case m.Role == "assistant" && len(m.ToolCalls) > 0:
			calls := make([]any, len(m.ToolCalls))
			for j, k := range m.ToolCalls {
				var args json.RawMessage
				if a, ok := normalizeArgs(k.Function.Arguments); ok {
					args = json.RawMessage(a)
				} else if args = k.Function.Arguments; len(args) == 0 {
					args = json.RawMessage("{}")
				}
				call := obj{{"name", k.Function.Name}, {"arguments", args}}
				if k.ID != "" {
					call = append(call, kv{"id", k.ID})
				}
				calls[j] = call
			}
			var reply obj
			if len(calls) == 1 {
				reply = obj{{"tool_call", calls[0]}}
			} else {
				reply = obj{{"tool_calls", calls}}
			}
			if text, ok := contentText(m.Content); ok && text != "" {
				reply = append(reply, kv{"content", text})
			}
			msgs[i] = encode(obj{{"role", "assistant"}, {"content", indentJSON(encode(reply))}})
			changed = true
		case m.Role == "tool":
			resp := obj{}
			if m.Name != nil {
				resp = append(resp, kv{"tool", *m.Name})
			}
			if m.ToolCallID != nil {
				resp = append(resp, kv{"tool_call_id", *m.ToolCallID})
			}
			content, ok := contentText(m.Content)
			if !ok {
				content = string(m.Content)
			}
			resp = append(resp, kv{"content", content})
			msgs[i] = encode(obj{{"role", "user"}, {"content", indentJSON(encode(obj{{"tool_response", resp}}))}})
			changed = true
		}
	}
	if !changed {
		return messages, nil
	}
	return encode(msgs), nil
}

func indentJSON(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}

// toolList describes tools for the system message.
func toolList(tools []Tool) string {
	var b bytes.Buffer
	b.WriteString("You have these tools (functions you can call):\n")
	if json.Indent(&b, toolsJSON(tools), "", "  ") != nil {
		b.Write(toolsJSON(tools))
	}
	b.WriteString("\n\n")
	return b.String()
}

// callExamples show each family's call syntax, for templates that do not.
var callExamples = map[Family]string{
	Hermes:         "<tool_call>\n{\"name\": \"tool_name\", \"arguments\": {\"argument\": \"value\"}}\n</tool_call>",
	Llama3:         `{"name": "tool_name", "parameters": {"argument": "value"}}`,
	MistralNemo:    `[TOOL_CALLS][{"name": "tool_name", "arguments": {"argument": "value"}}]`,
	FunctionaryV31: `<function=tool_name>{"argument": "value"}</function>`,
	FunctionaryV32: "tool_name\n{\"argument\": \"value\"}",
	DeepSeekR1:     "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>tool_name\n```json\n{\"argument\": \"value\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
	CommandR7B:     `<|START_ACTION|>[{"tool_call_id": "0", "tool_name": "tool_name", "parameters": {"argument": "value"}}]<|END_ACTION|>`,
}

// addSystem adds text to the conversation's system message, or puts a new
// one first; with noSystem, at the start of the first user message.
func addSystem(messages json.RawMessage, text string, noSystem bool) (json.RawMessage, error) {
	var msgs []json.RawMessage
	if err := json.Unmarshal(messages, &msgs); err != nil {
		return nil, fmt.Errorf("toolcall: messages is not an array: %w", err)
	}
	role := "system"
	if noSystem {
		role = "user"
	}
	for i, raw := range msgs {
		var m struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		}
		if json.Unmarshal(raw, &m) != nil || m.Role != role {
			if noSystem {
				continue
			}
			break
		}
		old, ok := contentText(m.Content)
		if !ok {
			break
		}
		if noSystem {
			msgs[i] = encode(obj{{"role", role}, {"content", text + "\n\n" + old}})
		} else {
			msgs[i] = encode(obj{{"role", role}, {"content", old + "\n\n" + text}})
		}
		return encode(msgs), nil
	}
	sys := encode(obj{{"role", role}, {"content", text}})
	return encode(append([]json.RawMessage{sys}, msgs...)), nil
}

// contentText returns a message content's text: a string, or text parts
// joined with newlines.
func contentText(c json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(c, &s) == nil {
		return s, true
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if json.Unmarshal(c, &parts) != nil {
		return "", false
	}
	var texts []string
	for _, p := range parts {
		if p.Type != "text" || p.Text == nil {
			return "", false
		}
		texts = append(texts, *p.Text)
	}
	return strings.Join(texts, "\n"), true
}

// mergeExtra adds vars to the client's template arguments, keeping the
// client's value where both set a key.
func mergeExtra(client json.RawMessage, vars obj) (json.RawMessage, error) {
	client = bytes.TrimSpace(client)
	if len(client) == 0 || string(client) == "null" {
		return encode(vars), nil
	}
	var have map[string]json.RawMessage
	if err := json.Unmarshal(client, &have); err != nil {
		return nil, fmt.Errorf("toolcall: template arguments are not a JSON object: %w", err)
	}
	var b bytes.Buffer
	b.Write(client[:len(client)-1]) // without its closing brace
	n := len(have)
	for _, e := range vars {
		if _, ok := have[e.k]; ok {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString(marshal(e.k))
		b.WriteByte(':')
		b.Write(encode(e.v))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// The probes' names, chosen so that they cannot appear in a template by
// chance.
const (
	probeName  = "owl_probe_tool_3f9c"
	probeValue = "owl_probe_value_8d1e"
	probeText  = "owl_probe_system_51ab"
	probeTools = `[{"type": "function", "function": {"name": "` + probeName + `", "description": "Probe.", "parameters": {"type": "object", "properties": {"owl_probe_arg": {"type": "string"}}, "required": ["owl_probe_arg"]}}}]`
	probeQuery = `{"role": "user", "content": "Call the probe tool."}`
)

// ProbeTemplate finds a chat template's Limits by rendering small
// conversations: render renders messages (a JSON array) with tools (a
// JSON array, or nil for none) and the generation prompt. A probe counts
// as passed when the render succeeds and its marker shows in the output:
// the tool's name for tools, the call's argument value for calls (tried
// with null and empty content, as templates differ), the system text for
// system messages.
func ProbeTemplate(render func(messages, tools json.RawMessage) (string, error)) Limits {
	shows := func(messages, tools, marker string) bool {
		var t json.RawMessage
		if tools != "" {
			t = json.RawMessage(tools)
		}
		out, err := render(json.RawMessage(messages), t)
		return err == nil && strings.Contains(out, marker)
	}
	var l Limits
	l.NoTools = !shows("["+probeQuery+"]", probeTools, probeName)
	l.NoCalls = true
	for _, content := range []string{"null", `""`} {
		call := `{"role": "assistant", "content": ` + content + `, "tool_calls": [{"id": "call00001", "type": "function", ` +
			`"function": {"name": "` + probeName + `", "arguments": "{\"owl_probe_arg\": \"` + probeValue + `\"}"}}]}`
		result := `{"role": "tool", "tool_call_id": "call00001", "name": "` + probeName + `", "content": "ok"}`
		if shows("["+probeQuery+", "+call+", "+result+"]", probeTools, probeValue) {
			l.NoCalls = false
			break
		}
	}
	l.NoSystem = !shows(`[{"role": "system", "content": "`+probeText+`"}, {"role": "user", "content": "Hi."}]`, "", probeText)
	return l
}
