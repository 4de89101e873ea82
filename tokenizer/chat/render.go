package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ardanlabs/jinja"
)

// Options are the rendering inputs other than the conversation itself.
type Options struct {
	// AddGenerationPrompt appends the header that opens the assistant's
	// turn, for a prompt the model should continue.
	AddGenerationPrompt bool
	// BOS and EOS are the model's beginning- and end-of-sequence token texts,
	// given to the template as bos_token and eos_token.
	BOS, EOS string
	// Extra holds further template keyword arguments as a JSON object, in
	// the manner of apply_chat_template's **kwargs (an OpenAI server's
	// chat_template_kwargs): date_string, tools_in_user_message,
	// builtin_tools, documents, enable_thinking, ... Key order is kept. It may
	// override bos_token and eos_token but not the names Render sets itself.
	Extra json.RawMessage
	// Now is the clock strftime_now reads; nil means time.Now.
	Now func() time.Time
}

// Request is a conversation to render, in the JSON of an OpenAI
// chat-completions request (which Hugging Face's message dicts also are).
type Request struct {
	// Messages is the JSON array of messages: objects with "role" (system,
	// user, assistant, tool, or whatever the template takes), "content" (a
	// string, a list of parts such as {"type":"text","text":"..."}, or
	// null), and for assistants "tool_calls" ([{"id","type":"function",
	// "function":{"name","arguments"}}]), for tools "tool_call_id" and
	// "name". Every field is passed to the template as sent.
	Messages json.RawMessage
	// Tools is the JSON array of tool definitions
	// ([{"type":"function","function":{"name","description","parameters"}}]);
	// empty or null when the request has none.
	Tools json.RawMessage
	Options
}

// TemplateError is an error the template raised itself through
// raise_exception: the model's template rejects the conversation (a role it
// does not support, roles out of order, too many tool calls, ...).
type TemplateError struct {
	Message string // the template's text
}

func (e *TemplateError) Error() string {
	return "chat: template rejected the conversation: " + e.Message
}

// reservedNames are the template globals Render defines; Extra may not
// replace them.
var reservedNames = map[string]bool{
	"messages":              true,
	"tools":                 true,
	"add_generation_prompt": true,
	"raise_exception":       true,
	"strftime_now":          true,
}

// Render renders req; see RenderJSON.
func (t *Template) Render(req Request) (string, error) {
	return t.RenderJSON(req.Messages, req.Tools, req.Options)
}

// RenderJSON renders the conversation in messages (a JSON array) with the
// tools in tools (a JSON array; empty or null for none), which are the
// "messages" and "tools" members of an OpenAI request, verbatim. An error
// the template raises is a *TemplateError.
func (t *Template) RenderJSON(messages, tools []byte, opts Options) (string, error) {
	msgs, err := decodeMessages(messages)
	if err != nil {
		return "", err
	}
	if err := t.adapt(msgs.AsList()); err != nil {
		return "", err
	}
	toolsVal := jinja.Undefined()
	if len(tools) > 0 {
		v, err := decodeJSON(tools)
		if err != nil {
			return "", fmt.Errorf("chat: decode tools: %w", err)
		}
		switch {
		case v.IsNone():
		case v.IsList():
			toolsVal = v
		default:
			return "", errors.New("chat: tools is not a JSON array")
		}
	}
	var extra *jinja.Dict
	if len(opts.Extra) > 0 {
		v, err := decodeJSON(opts.Extra)
		if err != nil {
			return "", fmt.Errorf("chat: decode extra template arguments: %w", err)
		}
		switch {
		case v.IsNone():
		case v.IsDict():
			extra = v.AsDict()
			for _, k := range extra.Keys {
				if reservedNames[k] || strings.HasPrefix(k, helperPrefix) {
					return "", fmt.Errorf("chat: extra template argument %q is set by the renderer", k)
				}
			}
		default:
			return "", errors.New("chat: extra template arguments are not a JSON object")
		}
	}
	return t.render(msgs, toolsVal, opts, extra, strictHelpers)
}

func decodeMessages(data []byte) (jinja.Value, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return v, fmt.Errorf("chat: decode messages: %w", err)
	}
	if !v.IsList() {
		return v, errors.New("chat: messages is not a JSON array")
	}
	for i, m := range v.AsList().Items {
		if !m.IsDict() {
			return v, fmt.Errorf("chat: message %d is not a JSON object", i)
		}
		if role, ok := m.AsDict().Get("role"); !ok || !role.IsString() {
			return v, fmt.Errorf("chat: message %d has no string role", i)
		}
	}
	return v, nil
}

// render runs the template. messages must be adapted already. helpers are
// the functions that the rewritten template calls (pyops.go).
func (t *Template) render(messages, tools jinja.Value, opts Options, extra *jinja.Dict, helpers map[string]jinja.Value) (string, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	data := map[string]jinja.Value{
		"messages":              messages,
		"add_generation_prompt": jinja.NewBool(opts.AddGenerationPrompt),
		"bos_token":             jinja.NewString(opts.BOS),
		"eos_token":             jinja.NewString(opts.EOS),
		"raise_exception":       raiseException,
		"strftime_now": jinja.NewCallable("strftime_now", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 1 || !args[0].IsString() {
				return jinja.Undefined(), errors.New("strftime_now takes one format string")
			}
			return jinja.NewString(strftime(args[0].AsString(), now())), nil
		}),
	}
	for k, v := range helpers {
		data[k] = v
	}
	if !tools.IsUndefined() {
		data["tools"] = tools
	}
	if extra != nil {
		for _, k := range extra.Keys {
			data[k] = extra.Data[k]
		}
	}
	out, err := t.prog.RenderValues(data)
	if err != nil {
		var te *TemplateError
		if errors.As(err, &te) {
			return "", te
		}
		return "", fmt.Errorf("chat: render template: %w", err)
	}
	return out, nil
}

var raiseException = jinja.NewCallable("raise_exception", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	msg := ""
	if len(args) > 0 {
		if args[0].IsString() {
			msg = args[0].AsString()
		} else {
			msg = args[0].String()
		}
	}
	return jinja.Undefined(), &TemplateError{Message: msg}
})

// adapt applies the two capability-driven adjustments described in the
// package documentation to each message, in place.
func (t *Template) adapt(msgs *jinja.List) error {
	for i, m := range msgs.Items {
		d := m.AsDict()
		if c, ok := d.Get("content"); ok {
			nc, err := t.adaptContent(c)
			if err != nil {
				return fmt.Errorf("chat: message %d: %w", i, err)
			}
			d.Set("content", nc)
		}
		calls, ok := d.Get("tool_calls")
		if !ok || !calls.IsList() {
			continue
		}
		for j, call := range calls.AsList().Items {
			if !call.IsDict() {
				continue
			}
			fn, ok := call.AsDict().Get("function")
			if !ok || !fn.IsDict() {
				continue
			}
			args, ok := fn.AsDict().Get("arguments")
			if !ok {
				continue
			}
			switch {
			case t.caps.ObjectArguments && !t.caps.StringArguments && args.IsString():
				v, err := decodeJSON([]byte(args.AsString()))
				if err != nil {
					return fmt.Errorf("chat: message %d: tool call %d: arguments are not JSON: %w", i, j, err)
				}
				fn.AsDict().Set("arguments", v)
			case t.caps.StringArguments && !t.caps.ObjectArguments && (args.IsDict() || args.IsList()):
				s, err := encodeJSON(args)
				if err != nil {
					return fmt.Errorf("chat: message %d: tool call %d: encode arguments: %w", i, j, err)
				}
				fn.AsDict().Set("arguments", jinja.NewString(s))
			}
		}
	}
	return nil
}

func (t *Template) adaptContent(c jinja.Value) (jinja.Value, error) {
	switch {
	case c.IsList() && !t.caps.TypedContent:
		// Join as llama.cpp does: a newline before each part that follows
		// some text.
		var text []byte
		for k, part := range c.AsList().Items {
			var typ, s jinja.Value
			if part.IsDict() {
				typ, _ = part.AsDict().Get("type")
				s, _ = part.AsDict().Get("text")
			}
			if !typ.IsString() || typ.AsString() != "text" {
				return c, fmt.Errorf("content part %d is not {\"type\": \"text\", ...}, and the template takes text only", k)
			}
			if !s.IsString() {
				return c, fmt.Errorf("content part %d has no string text", k)
			}
			if len(text) > 0 {
				text = append(text, '\n')
			}
			text = append(text, s.AsString()...)
		}
		return jinja.NewString(string(text)), nil
	case c.IsString() && t.caps.TypedContent && !t.caps.StringContent:
		part := jinja.NewDict()
		part.AsDict().Set("type", jinja.NewString("text"))
		part.AsDict().Set("text", c)
		return jinja.NewList([]jinja.Value{part}), nil
	}
	return c, nil
}
