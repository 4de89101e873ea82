package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/openweights/owl/engine"
)

// defaultCompletionTokens is the legacy completions endpoint's default
// max_tokens.
const defaultCompletionTokens = 16

// maxPrompts bounds the prompts of one completions request.
const maxPrompts = 128

// prompt is one prompt of a completions request.
type prompt struct {
	text   string // as given, or the token ids' text
	tokens []int32
}

// parsePrompts reads a prompt field: a string, an array of strings, an
// array of token ids, or an array of arrays of token ids. Text is
// tokenized like llama.cpp's server does: with the model's BOS and with
// control tokens written as text parsed.
// At most limit prompts are accepted.
func parsePrompts(m *Model, raw json.RawMessage, param string, limit int) ([]prompt, error) {
	if rawIsNull(raw) {
		return nil, badRequest(param, "Missing required parameter: '%s'.", param)
	}
	t := m.Loaded.Tokenizer
	fromText := func(s string) prompt { return prompt{text: s, tokens: m.Loaded.PromptTokens(s, true)} }
	fromIDs := func(ids []int64) (prompt, error) {
		out := make([]int32, len(ids))
		for i, id := range ids {
			if id < 0 || id >= int64(t.VocabSize()) {
				return prompt{}, badRequest(param, "Invalid '%s': %d is not a token id of this model (0 to %d).", param, id, t.VocabSize()-1)
			}
			out[i] = int32(id)
		}
		return prompt{text: string(t.Decode(out)), tokens: out}, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []prompt{fromText(one)}, nil
	}
	var strs []string
	if json.Unmarshal(raw, &strs) == nil && len(strs) > 0 {
		if len(strs) > limit {
			return nil, badRequest(param, "Invalid '%s': %d prompts; at most %d are allowed.", param, len(strs), limit)
		}
		out := make([]prompt, len(strs))
		for i, s := range strs {
			out[i] = fromText(s)
		}
		return out, nil
	}
	var ids []int64
	if json.Unmarshal(raw, &ids) == nil && len(ids) > 0 {
		p, err := fromIDs(ids)
		if err != nil {
			return nil, err
		}
		return []prompt{p}, nil
	}
	var lists [][]int64
	if json.Unmarshal(raw, &lists) == nil && len(lists) > 0 {
		if len(lists) > limit {
			return nil, badRequest(param, "Invalid '%s': %d prompts; at most %d are allowed.", param, len(lists), limit)
		}
		out := make([]prompt, len(lists))
		for i, l := range lists {
			p, err := fromIDs(l)
			if err != nil {
				return nil, err
			}
			out[i] = p
		}
		return out, nil
	}
	return nil, badRequest(param, "Invalid type for '%s': expected a string, an array of strings, an array of token ids, or an array of arrays of token ids.", param)
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	fail := func(err error) {
		infoOf(r).err = err.Error()
		writeError(w, err)
	}
	m, err := s.lookup(deref(req.Model))
	if err != nil {
		fail(err)
		return
	}
	info := infoOf(r)
	info.model = m.ID
	echo := deref(req.Echo)
	maxTokens := req.MaxTokens
	if maxTokens == nil {
		n := defaultCompletionTokens
		maxTokens = &n
	}
	// max_tokens 0 with echo asks for the prompt's logprobs only, as
	// OpenAI allows; parse wants at least 1.
	promptOnly := *maxTokens == 0 && echo
	if promptOnly {
		one := 1
		maxTokens = &one
	}
	smp, err := req.parse(m, maxTokens, "max_tokens")
	if err != nil {
		fail(err)
		return
	}
	if promptOnly {
		smp.params.MaxTokens = 0
	}
	if req.Suffix != nil && *req.Suffix != "" {
		fail(notSupported("suffix", "The 'suffix' parameter (insertion) is not supported by this server."))
		return
	}
	if req.BestOf != nil && *req.BestOf != smp.n {
		fail(notSupported("best_of", "'best_of' other than 'n' is not supported by this server."))
		return
	}
	logprobs := -1
	if req.Logprobs != nil {
		if *req.Logprobs < 0 || *req.Logprobs > maxTopLogprobs {
			fail(badRequest("logprobs", "Invalid 'logprobs': %d is not in [0, %d].", *req.Logprobs, maxTopLogprobs))
			return
		}
		logprobs = *req.Logprobs
	}
	prompts, err := parsePrompts(m, req.Prompt, "prompt", maxPrompts)
	if err != nil {
		fail(err)
		return
	}
	var reqs []*engine.Request
	usage := Usage{}
	for _, p := range prompts {
		params := smp.params
		if err := fitContext(m, len(p.tokens), &params, "prompt"); err != nil {
			fail(err)
			return
		}
		usage.PromptTokens += len(p.tokens)
		for i := 0; i < smp.n; i++ {
			rp := params
			rp.Sampler.Seed = choiceSeed(rp.Sampler.Seed, i)
			er := &engine.Request{Prompt: p.tokens, Params: rp}
			if logprobs >= 0 {
				er.Logprobs = true
				er.Params.Logprobs = logprobs
				er.EchoLogprobs = echo
			}
			reqs = append(reqs, er)
		}
	}
	run, err := s.submit(r.Context(), m, reqs)
	if err != nil {
		fail(err)
		return
	}
	defer run.stop()
	c := &completionState{
		s: s, m: m, id: "cmpl-" + newID(), created: time.Now().Unix(), usage: usage,
		choices: make([]completionChoiceState, len(reqs)), logprobs: logprobs >= 0,
	}
	for i := range c.choices {
		ch := &c.choices[i]
		ch.track.start = time.Now()
		if echo {
			ch.prompt = &prompts[i/smp.n]
		}
	}
	if smp.stream {
		c.stream(w, r, run, smp.includeUsage)
		return
	}
	for ce := range run.events {
		c.add(ce)
	}
	info.promptTokens, info.completionTokens = c.usage.PromptTokens, c.usage.CompletionTokens
	if err := endError(r.Context(), c.err); err != nil {
		fail(err)
		return
	}
	c.usage.TotalTokens = c.usage.PromptTokens + c.usage.CompletionTokens
	u, _ := json.Marshal(c.usage)
	raw := json.RawMessage(u)
	out := textCompletion{
		ID: c.id, Object: "text_completion", Created: c.created, Model: m.ID,
		SystemFingerprint: m.fingerprint, Usage: &raw,
	}
	for i := range c.choices {
		ch := &c.choices[i]
		finish := ch.finish
		choice := completionChoice{Text: string(ch.text), Index: i, FinishReason: &finish}
		if c.logprobs {
			choice.Logprobs = &ch.lp
		}
		out.Choices = append(out.Choices, choice)
	}
	writeJSON(w, http.StatusOK, out)
}

// completionState accumulates the choices of a completions request.
type completionState struct {
	s        *Server
	m        *Model
	id       string
	created  int64
	usage    Usage
	choices  []completionChoiceState
	logprobs bool
	err      error
}

type completionChoiceState struct {
	prompt  *prompt // the prompt to echo; nil without echo
	echoed  bool
	text    []byte
	lp      completionLogprobs
	textLen int // bytes of text the logprobs' offsets have covered
	finish  string
	track   tracker
}

// add takes an event of a choice and returns the text and logprobs it
// adds to the choice (the echoed prompt first).
func (c *completionState) add(ce choiceEvent) (text []byte, lp *completionLogprobs) {
	ch := &c.choices[ce.index]
	ev := ce.ev
	ch.track.saw(ev)
	start := len(ch.text)
	lpStart := len(ch.lp.Tokens)
	if ch.prompt != nil && !ch.echoed {
		ch.echoed = true
		ch.text = append(ch.text, ch.prompt.text...)
		if c.logprobs {
			if ev.PromptLogprobs != nil {
				c.appendLogprobs(ch, ev.PromptLogprobs, true)
			}
			ch.textLen = len(ch.text)
		}
	}
	ch.text = append(ch.text, ev.Text...)
	if c.logprobs {
		c.appendLogprobs(ch, ev.Logprobs, false)
	}
	if ev.Done {
		ch.finish = ev.FinishReason
		c.usage.CompletionTokens += ev.Usage.CompletionTokens
		if ev.Err != nil && c.err == nil {
			c.err = ev.Err
		}
		c.s.observeChoice(c.m, &ch.track, ev)
	}
	text = ch.text[start:]
	if c.logprobs {
		lp = &completionLogprobs{
			Tokens: ch.lp.Tokens[lpStart:], TokenLogprobs: ch.lp.TokenLogprobs[lpStart:],
			TopLogprobs: ch.lp.TopLogprobs[lpStart:], TextOffset: ch.lp.TextOffset[lpStart:],
		}
	}
	return text, lp
}

// appendLogprobs adds entries in the legacy format; the first prompt
// token has a null logprob and null alternatives.
func (c *completionState) appendLogprobs(ch *completionChoiceState, entries []engine.LogprobEntry, prompt bool) {
	t := c.m.Loaded.Tokenizer
	l := &ch.lp
	if l.Tokens == nil {
		l.Tokens, l.TokenLogprobs, l.TopLogprobs, l.TextOffset = []string{}, []*float64{}, []map[string]float64{}, []int{}
	}
	for k, e := range entries {
		piece := t.Piece(e.ID)
		l.Tokens = append(l.Tokens, tokenString(piece))
		l.TextOffset = append(l.TextOffset, ch.textLen)
		ch.textLen += len(piece)
		if prompt && k == 0 {
			l.TokenLogprobs = append(l.TokenLogprobs, nil)
			l.TopLogprobs = append(l.TopLogprobs, nil)
			continue
		}
		v := finiteOr(e.Logprob, -9999)
		l.TokenLogprobs = append(l.TokenLogprobs, &v)
		top := make(map[string]float64, len(e.Top))
		for _, alt := range e.Top {
			top[tokenString(t.Piece(alt.ID))] = finiteOr(alt.Logprob, -9999)
		}
		l.TopLogprobs = append(l.TopLogprobs, top)
	}
}

// stream sends text_completion chunks, a last chunk per choice with its
// finish_reason, the usage chunk when asked for, then [DONE].
func (c *completionState) stream(w http.ResponseWriter, r *http.Request, run *run, includeUsage bool) {
	sse := newSSE(w)
	var usageNull *json.RawMessage
	if includeUsage {
		null := json.RawMessage("null")
		usageNull = &null
	}
	chunk := func(choices ...completionChoice) textCompletion {
		return textCompletion{ID: c.id, Object: "text_completion", Created: c.created, Model: c.m.ID,
			SystemFingerprint: c.m.fingerprint, Choices: choices, Usage: usageNull}
	}
	for ce := range run.events {
		text, lp := c.add(ce)
		if len(text) > 0 || (lp != nil && len(lp.Tokens) > 0) {
			if sse.send(chunk(completionChoice{Text: string(text), Index: ce.index, Logprobs: lp})) != nil {
				return
			}
		}
		if ce.ev.Done {
			if err := endError(r.Context(), ce.ev.Err); err != nil {
				infoOf(r).err = err.Error()
				sse.fail(err)
				return
			}
			finish := c.choices[ce.index].finish
			if sse.send(chunk(completionChoice{Index: ce.index, FinishReason: &finish})) != nil {
				return
			}
		}
	}
	info := infoOf(r)
	info.promptTokens, info.completionTokens = c.usage.PromptTokens, c.usage.CompletionTokens
	if r.Context().Err() != nil {
		return
	}
	if includeUsage {
		c.usage.TotalTokens = c.usage.PromptTokens + c.usage.CompletionTokens
		u, _ := json.Marshal(c.usage)
		raw := json.RawMessage(u)
		last := chunk()
		last.Choices = []completionChoice{}
		last.Usage = &raw
		if sse.send(last) != nil {
			return
		}
	}
	sse.done()
}
