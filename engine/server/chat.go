package server

import (
	"encoding/json"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/openweights/owl/engine"
)

// chatPlan is a validated chat request, ready to run.
type chatPlan struct {
	m        *Model
	sampling *sampling
	prompt   []int32
	logprobs bool
	top      int
	tools    *toolPlan // nil without tools
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	fail := func(err error) {
		infoOf(r).err = err.Error()
		writeError(w, err)
	}
	plan, err := s.planChat(r, &req)
	if err != nil {
		fail(err)
		return
	}
	reqs := make([]*engine.Request, plan.sampling.n)
	for i := range reqs {
		p := plan.sampling.params
		p.Sampler.Seed = choiceSeed(p.Sampler.Seed, i)
		reqs[i] = &engine.Request{Prompt: plan.prompt, Params: p, Logprobs: plan.logprobs}
		if plan.logprobs {
			reqs[i].Params.Logprobs = plan.top
		}
		if c := plan.sampling.constraint; c != nil {
			reqs[i].Constraint = c()
		}
		if c, err := plan.tools.constraint(); err != nil {
			fail(internalError(err))
			return
		} else if c != nil {
			reqs[i].Constraint = c
		}
	}
	run, err := s.submit(r.Context(), plan.m, reqs)
	if err != nil {
		fail(err)
		return
	}
	defer run.stop()
	c := newChatCompletion(plan, "chatcmpl-"+newID())
	if plan.sampling.stream {
		s.streamChat(w, r, plan, c, run)
		return
	}
	for ce := range run.events {
		c.add(s, plan, ce)
	}
	info := infoOf(r)
	info.promptTokens, info.completionTokens = c.usage.PromptTokens, c.usage.CompletionTokens
	if err := endError(r.Context(), c.err); err != nil {
		fail(err)
		return
	}
	out := chatCompletion{
		ID: c.id, Object: "chat.completion", Created: c.created, Model: plan.m.ID,
		SystemFingerprint: plan.m.fingerprint, Usage: &c.usage,
	}
	for i := range c.choices {
		ch := c.choices[i].final(plan)
		ch.Index = i
		out.Choices = append(out.Choices, ch)
	}
	writeJSON(w, http.StatusOK, out)
}

// planChat validates a request and renders its prompt.
func (s *Server) planChat(r *http.Request, req *chatRequest) (*chatPlan, error) {
	m, err := s.lookup(deref(req.Model))
	if err != nil {
		return nil, err
	}
	infoOf(r).model = m.ID
	messages, err := checkMessages(req.Messages)
	if err != nil {
		return nil, err
	}
	maxTokens, param := req.MaxCompletionTokens, "max_completion_tokens"
	if maxTokens == nil {
		maxTokens, param = req.MaxTokens, "max_tokens"
	}
	smp, err := req.parse(m, maxTokens, param)
	if err != nil {
		return nil, err
	}
	plan := &chatPlan{m: m, sampling: smp}
	if req.Logprobs != nil && *req.Logprobs {
		plan.logprobs = true
	}
	if req.TopLogprobs != nil {
		if *req.TopLogprobs < 0 || *req.TopLogprobs > maxTopLogprobs {
			return nil, badRequest("top_logprobs", "Invalid 'top_logprobs': %d is not in [0, %d].", *req.TopLogprobs, maxTopLogprobs)
		}
		if !plan.logprobs && *req.TopLogprobs > 0 {
			return nil, badRequest("top_logprobs", "Invalid value for 'top_logprobs': 'logprobs' must be true when 'top_logprobs' is set.")
		}
		plan.top = *req.TopLogprobs
	}
	if err := s.responseFormat(m, req.ResponseFormat, smp); err != nil {
		return nil, err
	}
	text, tools, err := s.chatPrompt(m, req, messages, smp)
	if err != nil {
		return nil, err
	}
	if tools != nil && tools.grammar != nil && smp.constraint != nil {
		return nil, badRequest("response_format", "A 'response_format' cannot be combined with a forced tool call ('tool_choice' required or a function).")
	}
	plan.tools = tools
	plan.prompt = m.Loaded.PromptTokens(text, true)
	if err := fitContext(m, len(plan.prompt), &smp.params, "messages"); err != nil {
		return nil, err
	}
	return plan, nil
}

// chatState accumulates the choices of a chat completion from its events.
type chatState struct {
	id      string
	created int64
	choices []chatChoiceState
	usage   Usage
	err     error
}

type chatChoiceState struct {
	text     []byte
	logprobs []chatTokenLogprob
	finish   string
	track    tracker
	tools    *toolStream // nil without tools
}

func newChatCompletion(p *chatPlan, id string) *chatState {
	now := time.Now()
	c := &chatState{id: id, created: now.Unix(), choices: make([]chatChoiceState, p.sampling.n)}
	c.usage.PromptTokens = len(p.prompt)
	for i := range c.choices {
		c.choices[i].track.start = now
		if p.tools != nil {
			c.choices[i].tools = p.tools.newStream(i)
		}
	}
	return c
}

// add takes one event and returns the choice's logprobs in it, converted
// for the response.
func (c *chatState) add(s *Server, p *chatPlan, ce choiceEvent) []chatTokenLogprob {
	ch := &c.choices[ce.index]
	ev := ce.ev
	ch.track.saw(ev)
	ch.text = append(ch.text, ev.Text...)
	var lps []chatTokenLogprob
	if p.logprobs && len(ev.Logprobs) > 0 {
		lps = chatLogprobsOf(p.m, ev.Logprobs)
		ch.logprobs = append(ch.logprobs, lps...)
	}
	if ev.Done {
		ch.finish = ev.FinishReason
		c.usage.CompletionTokens += ev.Usage.CompletionTokens
		c.usage.TotalTokens = c.usage.PromptTokens + c.usage.CompletionTokens
		if ev.Err != nil && c.err == nil {
			c.err = ev.Err
		}
		s.observeChoice(p.m, &ch.track, ev)
	}
	return lps
}

// final is a finished choice of a non-streamed completion.
func (ch *chatChoiceState) final(p *chatPlan) chatChoice {
	text := string(ch.text)
	out := chatChoice{Message: chatMessage{Role: "assistant", Content: &text}, FinishReason: ch.finish}
	if ch.tools != nil {
		msg := ch.tools.parseFinal(ch.text)
		out.Message.Content = &msg.Content
		out.Message.ReasoningContent = msg.Reasoning
		if len(msg.Calls) > 0 {
			out.Message.ToolCalls = callsOf(msg.Calls)
			out.FinishReason = "tool_calls"
			if msg.Content == "" {
				out.Message.Content = nil
			}
		}
	}
	if p.logprobs {
		out.Logprobs = &chatLogprobs{Content: ch.logprobs}
		if out.Logprobs.Content == nil {
			out.Logprobs.Content = []chatTokenLogprob{}
		}
	}
	return out
}

// chatLogprobsOf converts engine logprobs to the chat format.
func chatLogprobsOf(m *Model, lps []engine.LogprobEntry) []chatTokenLogprob {
	out := make([]chatTokenLogprob, 0, len(lps))
	for _, lp := range lps {
		piece := m.Loaded.Tokenizer.Piece(lp.ID)
		t := chatTokenLogprob{Token: tokenString(piece), Logprob: finiteOr(lp.Logprob, -9999), Bytes: byteList(piece), TopLogprobs: []chatTopToken{}}
		for _, alt := range lp.Top {
			ap := m.Loaded.Tokenizer.Piece(alt.ID)
			t.TopLogprobs = append(t.TopLogprobs, chatTopToken{Token: tokenString(ap), Logprob: finiteOr(alt.Logprob, -9999), Bytes: byteList(ap)})
		}
		out = append(out, t)
	}
	return out
}

// tokenString is a token's text for logprobs; bytes that are not UTF-8
// (part of a character) are shown as U+FFFD, the exact bytes go in
// "bytes".
func tokenString(piece []byte) string {
	if utf8.Valid(piece) {
		return string(piece)
	}
	return string([]rune(string(piece)))
}

func byteList(b []byte) []int {
	out := make([]int, len(b))
	for i, c := range b {
		out[i] = int(c)
	}
	return out
}

// streamChat sends the completion as chat.completion.chunk events: a
// first chunk per choice with the role, content (and tool call) deltas, a
// last chunk per choice with its finish_reason, the usage chunk when asked
// for, then [DONE].
func (s *Server) streamChat(w http.ResponseWriter, r *http.Request, p *chatPlan, c *chatState, run *run) {
	sse := newSSE(w)
	var usageNull *json.RawMessage
	if p.sampling.includeUsage {
		null := json.RawMessage("null")
		usageNull = &null
	}
	chunk := func(choices ...chatChunkChoice) chatChunk {
		return chatChunk{ID: c.id, Object: "chat.completion.chunk", Created: c.created, Model: p.m.ID,
			SystemFingerprint: p.m.fingerprint, Choices: choices, Usage: usageNull}
	}
	empty := ""
	for i := range c.choices {
		first := chatChunkChoice{Index: i, Delta: chatDelta{Role: "assistant", Content: &empty}}
		if p.logprobs {
			first.Logprobs = &chatLogprobs{Content: []chatTokenLogprob{}}
		}
		if sse.send(chunk(first)) != nil {
			return
		}
	}
	for ce := range run.events {
		ch := &c.choices[ce.index]
		lps := c.add(s, p, ce)
		d := chatChunkChoice{Index: ce.index}
		text := string(ce.ev.Text)
		if ch.tools != nil {
			td := ch.tools.add(ce.ev.Text, ce.ev.Done && ce.ev.Err == nil)
			text = td.Content
			d.Delta.ReasoningContent = td.Reasoning
			d.Delta.ToolCalls = callDeltas(td.Calls)
		}
		if text != "" || len(lps) > 0 {
			d.Delta.Content = &text
		}
		if p.logprobs && len(lps) > 0 {
			d.Logprobs = &chatLogprobs{Content: lps}
		}
		if d.Delta.Content != nil || d.Delta.ReasoningContent != "" || len(d.Delta.ToolCalls) > 0 {
			if sse.send(chunk(d)) != nil {
				return
			}
		}
		if ce.ev.Done {
			if err := endError(r.Context(), ce.ev.Err); err != nil {
				infoOf(r).err = err.Error()
				sse.fail(err)
				return
			}
			finish := ch.finish
			if ch.tools != nil && ch.tools.called() {
				finish = "tool_calls"
			}
			if sse.send(chunk(chatChunkChoice{Index: ce.index, FinishReason: &finish})) != nil {
				return
			}
		}
	}
	info := infoOf(r)
	info.promptTokens, info.completionTokens = c.usage.PromptTokens, c.usage.CompletionTokens
	if r.Context().Err() != nil {
		return
	}
	if p.sampling.includeUsage {
		u, _ := json.Marshal(c.usage)
		raw := json.RawMessage(u)
		last := chunk()
		last.Choices = []chatChunkChoice{}
		last.Usage = &raw
		if sse.send(last) != nil {
			return
		}
	}
	sse.done()
}
