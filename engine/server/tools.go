package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/openweights/owl/engine"
	"github.com/openweights/owl/engine/grammar"
	"github.com/openweights/owl/engine/toolcall"
	"github.com/openweights/owl/tokenizer/chat"
)

// toolPlan is how a chat request with tools runs: the prompt rendered for
// the model's tool-call format (toolcall), an optional constraint that
// forces a call (tool_choice "required" or a named function), and per
// choice a reader that turns the model's text into tool_calls.
type toolPlan struct {
	plans   []toolcall.Plan  // one per choice (their call IDs differ)
	grammar *grammar.Grammar // forces the call; nil when generation is free
	vocab   grammar.Vocab
}

// toolFormat is a model's tool-call convention and what its template
// cannot render, found once.
type toolFormat struct {
	once   sync.Once
	format toolcall.Format
	limits toolcall.Limits
}

func (m *Model) tools() (toolcall.Format, toolcall.Limits) {
	m.toolFmt.once.Do(func() {
		m.toolFmt.format = toolcall.Detect(m.Loaded.Template.Source())
		m.toolFmt.limits = toolcall.ProbeTemplate(func(messages, tools json.RawMessage) (string, error) {
			return render(m, messages, tools, nil)
		})
	})
	return m.toolFmt.format, m.toolFmt.limits
}

// render renders a conversation with the model's chat template, ready for
// the assistant's reply; extra are further template arguments (a JSON
// object, or nil).
func render(m *Model, messages, tools, extra json.RawMessage) (string, error) {
	t := m.Loaded.Tokenizer
	opts := chat.Options{AddGenerationPrompt: true, Extra: extra}
	if id := t.BOS(); id >= 0 {
		opts.BOS = t.Token(id)
	}
	if id := t.EOS(); id >= 0 {
		opts.EOS = t.Token(id)
	}
	return m.Loaded.Template.RenderJSON(messages, tools, opts)
}

// templateError turns a rendering failure into the 400 to answer.
func templateError(err error) error {
	var te *chat.TemplateError
	if errors.As(err, &te) {
		return badRequest("messages", "The model's chat template rejected the conversation: %s", te.Message)
	}
	return badRequest("messages", "Could not render the conversation with the model's chat template: %v", err)
}

// chatPrompt renders a chat request's prompt: plainly, or with its tools
// through the model's tool-call format, which also gives the plan to read
// the reply with. tp is nil for a request without tools.
func (s *Server) chatPrompt(m *Model, req *chatRequest, messages json.RawMessage, smp *sampling) (prompt string, tp *toolPlan, err error) {
	extra := req.ChatTemplateKwargs
	if !rawIsNull(extra) && jsonType(extra) != "object" {
		return "", nil, badRequest("chat_template_kwargs", "Invalid type for 'chat_template_kwargs': expected an object.")
	}
	if rawIsNull(extra) {
		extra = nil
	}
	if err := checkTools(req.Tools, req.ToolChoice); err != nil {
		return "", nil, err
	}
	tools, err := toolcall.ParseTools(req.Tools)
	if err != nil {
		return "", nil, badRequest("tools", "Invalid 'tools': %v", err)
	}
	if len(tools) == 0 {
		prompt, err := render(m, messages, nil, extra)
		if err != nil {
			return "", nil, templateError(err)
		}
		return prompt, nil, nil
	}
	choice, err := toolcall.ParseChoice(req.ToolChoice, tools)
	if err != nil {
		return "", nil, badRequest("tool_choice", "Invalid 'tool_choice': %v", err)
	}
	parallel := req.ParallelToolCalls == nil || *req.ParallelToolCalls
	f, limits := m.tools()
	in, err := f.RenderInput(messages, toolcall.RenderOptions{Tools: tools, Choice: choice, Parallel: parallel, Extra: extra, Limits: limits})
	if err != nil {
		return "", nil, badRequest("messages", "Could not prepare the conversation for the model's tool calls: %v", err)
	}
	if prompt, err = render(m, in.Messages, in.Tools, in.Extra); err != nil {
		return "", nil, templateError(err)
	}
	prompt, f = f.FinishPrompt(prompt, thinking(extra))
	tp = &toolPlan{vocab: m.Loaded.Tokenizer}
	for i := 0; i < smp.n; i++ {
		fi := f
		if smp.seedSet {
			// Reproducible call IDs for a seeded request.
			fi = f.WithSeed(choiceSeed(smp.params.Sampler.Seed, i))
		}
		p, err := fi.Plan(tools, choice, parallel)
		if err != nil {
			return "", nil, badRequest("tools", "Invalid 'tools': %v", err)
		}
		tp.plans = append(tp.plans, p)
	}
	p := tp.plans[0]
	prompt += p.Prefix
	if p.Schema != nil {
		if tp.grammar, err = grammar.CompileJSONSchema(p.Schema); err != nil {
			if errors.Is(err, grammar.ErrUnsupported) || errors.Is(err, grammar.ErrTooLarge) {
				return "", nil, notSupported("tools", "The tools' parameter schemas cannot be enforced: %v", err)
			}
			return "", nil, badRequest("tools", "Invalid parameter schema in 'tools': %v", err)
		}
	}
	return prompt, tp, nil
}

// thinking reads chat_template_kwargs.enable_thinking (default true, as
// llama.cpp has it).
func thinking(extra json.RawMessage) bool {
	var kw struct {
		EnableThinking *bool `json:"enable_thinking"`
	}
	if json.Unmarshal(extra, &kw) == nil && kw.EnableThinking != nil {
		return *kw.EnableThinking
	}
	return true
}

// constraint returns a fresh constraint forcing a call, or nil.
func (tp *toolPlan) constraint() (engine.Constraint, error) {
	if tp == nil || tp.grammar == nil {
		return nil, nil
	}
	c, err := grammar.New(tp.grammar, tp.vocab)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// toolStream reads one choice's output for tool calls.
type toolStream struct {
	plan toolcall.Plan
	st   *toolcall.Stream
	n    int // calls sent
}

func (tp *toolPlan) newStream(i int) *toolStream {
	p := tp.plans[min(i, len(tp.plans)-1)]
	return &toolStream{plan: p, st: p.NewStream()}
}

// add reads new text (and, when done, the end of the reply) and returns
// what it completes.
func (t *toolStream) add(text []byte, done bool) toolcall.Delta {
	d := t.st.Add(string(text))
	if done {
		f := t.st.Flush()
		d.Content += f.Content
		d.Reasoning += f.Reasoning
		d.Calls = append(d.Calls, f.Calls...)
	}
	t.n += len(d.Calls)
	return d
}

func (t *toolStream) called() bool { return t.n > 0 }

// parseFinal reads a whole reply.
func (t *toolStream) parseFinal(text []byte) toolcall.Message { return t.plan.Parse(string(text)) }

func callsOf(calls []toolcall.Call) []toolCall {
	out := make([]toolCall, len(calls))
	for i, c := range calls {
		out[i] = toolCall{ID: c.ID, Type: "function", Function: toolFunction{Name: c.Name, Arguments: c.Arguments}}
	}
	return out
}

func callDeltas(calls []toolcall.CallDelta) []toolCall {
	out := make([]toolCall, len(calls))
	for i, c := range calls {
		idx := c.Index
		out[i] = toolCall{Index: &idx, ID: c.ID, Type: "function", Function: toolFunction{Name: c.Name, Arguments: c.Arguments}}
	}
	return out
}

// checkTools validates tools and tool_choice with OpenAI's parameter
// paths in the errors; toolcall checks the rest.
func checkTools(tools, choice json.RawMessage) error {
	if rawIsNull(tools) {
		if !rawIsNull(choice) {
			var c string
			if json.Unmarshal(choice, &c) == nil && (c == "none" || c == "auto") {
				return nil
			}
			return badRequest("tool_choice", "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.")
		}
		return nil
	}
	var defs []struct {
		Type     *string `json:"type"`
		Function *struct {
			Name       *string         `json:"name"`
			Parameters json.RawMessage `json:"parameters"`
		} `json:"function"`
	}
	if err := json.Unmarshal(tools, &defs); err != nil {
		return badRequest("tools", "Invalid type for 'tools': expected an array of tool objects.")
	}
	if len(defs) == 0 {
		return badRequest("tools", "Invalid 'tools': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	}
	for i, d := range defs {
		p := fmt.Sprintf("tools.[%d]", i)
		if d.Type == nil || *d.Type != "function" {
			return badRequest(p+".type", "Invalid value for '%s.type': supported values are: 'function'.", p)
		}
		if d.Function == nil || d.Function.Name == nil || *d.Function.Name == "" {
			return badRequest(p+".function.name", "Missing required parameter: '%s.function.name'.", p)
		}
		if !rawIsNull(d.Function.Parameters) && jsonType(d.Function.Parameters) != "object" {
			return badRequest(p+".function.parameters", "Invalid type for '%s.function.parameters': expected an object.", p)
		}
	}
	return nil
}
