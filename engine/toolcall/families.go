package toolcall

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Each family's markers, as its models write them (from llama.cpp's
// common/chat.cpp and chat-parser.cpp).
const (
	pythonTag = "<|python_tag|>"

	nemoCalls = "[TOOL_CALLS]"
	functools = " functools"

	dsCallsEnd  = "<｜tool▁calls▁end｜>"
	dsCallBegin = "<｜tool▁call▁begin｜>"
	dsCallEnd   = "<｜tool▁call▁end｜>"
	dsSep       = "<｜tool▁sep｜>"

	crStartAction   = "<|START_ACTION|>"
	crEndAction     = "<|END_ACTION|>"
	crStartResponse = "<|START_RESPONSE|>"
	crEndResponse   = "<|END_RESPONSE|>"
)

// dsCallsBegin are the openers of DeepSeek R1's calls block: the official
// one and the variants the distilled models write.
var dsCallsBegin = []string{
	"<｜tool▁calls▁begin｜>",
	"<｜tool_calls_begin｜>",
	"<｜tool calls begin｜>",
	`<｜tool\_calls\_begin｜>`,
	"<｜tool▁calls｜>",
}

// hermesTags are the tags Hermes-style models wrap a call's JSON in:
// <tool_call> as trained, the rest seen from small models.
var hermesTags = []string{"<tool_call>", "<function_call>", "<tool>", "<tools>", "<response>", "<json>", "<xml>", "<JSON>"}

// bodyStart handles the start of the reply's body (after any reasoning),
// where some families write their calls with no marker.
func (s *Stream) bodyStart(c *cursor) bool {
	f := s.f
	if f.noCalls {
		if f.family == FunctionaryV32 {
			switch c.lit("all\n") {
			case matchYes:
				s.eat(c.i)
			case matchPartial:
				return false
			}
		}
		s.mode = mContent
		return true
	}
	switch f.family {
	case Generic:
		return s.genericStart(c)

	case Llama3:
		// A JSON call counts only at the start of the reply.
		c.ws()
		if c.atEnd() && !c.final {
			return false
		}
		if c.peek() == '{' {
			switch s.jsonCall(c, false) {
			case blockDone:
				s.mode = mLlamaNext
				return true
			case blockNeed:
				return false
			}
		}
		s.mode = mContent
		return true

	case FirefunctionV2:
		// " functools[" may also open the reply without its space.
		c.ws()
		switch c.lit("functools[") {
		case matchPartial:
			return false
		case matchYes:
			c.i--
			switch s.callArray(c, "name", "arguments", "") {
			case blockDone:
				s.mode = mContent
				return true
			case blockNeed:
				return false
			}
		}
		s.mode = mContent
		return true

	case FunctionaryV32:
		// The generation prompt ends with ">>>": the reply starts with a
		// recipient, "all" for text to the user, or a function name.
		if r := c.lit("all\n"); r != matchNo {
			if r == matchYes {
				s.eat(c.i)
				s.mode = mContent
				return true
			}
			return false
		}
		switch s.recipientCall(c) {
		case blockDone:
			if s.mode == mBodyStart {
				s.mode = mContent
			}
			return true
		case blockNeed:
			return false
		}
		// Anything else is text, and then so is everything after it.
		s.mode = mRaw
		return true
	}
	s.mode = mContent
	return true
}

// openerBytes returns the bytes a marker of the family can start with.
func (s *Stream) openerBytes() string {
	f := s.f
	if f.noCalls {
		switch f.family {
		case FunctionaryV32:
			return ">"
		case CommandR7B:
			return "<"
		}
		return ""
	}
	switch f.family {
	case Hermes:
		return "<`{"
	case Llama3:
		return "<"
	case MistralNemo:
		return "["
	case FirefunctionV2:
		return " "
	case FunctionaryV31, DeepSeekR1, CommandR7B:
		return "<"
	case FunctionaryV32:
		return ">"
	}
	return ""
}

// opener matches a marker at the cursor (which it may move).
func (s *Stream) opener(c *cursor) matchResult {
	f := s.f
	switch f.family {
	case Hermes:
		_, r := hermesHead(c)
		return r
	case Llama3:
		return c.lit(pythonTag)
	case MistralNemo:
		return c.lit(nemoCalls)
	case FirefunctionV2:
		return c.lit(functools + "[")
	case FunctionaryV31:
		if r := c.lit(pythonTag); r != matchNo {
			return r
		}
		if r := c.lit("<function="); r != matchYes {
			return r
		}
		if _, r := c.name('>'); r != matchYes {
			return r
		}
		return matchYes
	case FunctionaryV32:
		if r := c.lit(">>>"); r != matchYes {
			return r
		}
		if f.noCalls {
			return c.lit("all\n")
		}
		if _, r := c.anyLit("all\n", "python\n"); r != matchNo {
			return r
		}
		if _, r := c.name('\n'); r != matchYes {
			return r
		}
		c.i++
		return c.lit("{")
	case DeepSeekR1:
		_, r := c.anyLit(dsCallsBegin...)
		return r
	case CommandR7B:
		if f.noCalls {
			_, r := c.anyLit(crStartResponse, crEndResponse)
			return r
		}
		_, r := c.anyLit(crStartAction, crStartResponse, crEndResponse)
		return r
	}
	return matchNo
}

// block reads the call (or marker) that starts the buffer; findOpener has
// matched it there.
func (s *Stream) block(final bool) blockResult {
	c := s.cursor(0, final)
	f := s.f
	switch f.family {
	case Hermes:
		return s.hermesCall(&c)

	case Llama3:
		c.lit(pythonTag)
		c.ws()
		if c.atEnd() {
			return need(&c)
		}
		if c.peek() == '{' {
			return s.jsonCall(&c, true)
		}
		if !f.builtin {
			return blockBad
		}
		return s.builtinCall(&c)

	case MistralNemo:
		c.lit(nemoCalls)
		c.ws()
		return s.callArray(&c, "name", "arguments", "")

	case FirefunctionV2:
		c.lit(functools)
		return s.callArray(&c, "name", "arguments", "")

	case FunctionaryV31:
		if c.lit(pythonTag) == matchYes {
			s.eat(c.i)
			s.mode = mPython
			return blockDone
		}
		c.lit("<function=")
		name, _ := c.name('>')
		c.i++
		return s.argsCall(&c, name, "</function>")

	case FunctionaryV32:
		c.lit(">>>")
		if r := c.lit("all\n"); r == matchYes {
			s.eat(c.i)
			return blockDone
		}
		return s.recipientCall(&c)

	case DeepSeekR1:
		open, _ := c.anyLit(dsCallsBegin...)
		s.eat(c.i)
		s.pending = open
		s.mode = mDSBlock
		return blockDone

	case CommandR7B:
		m, _ := c.anyLit(crStartAction, crStartResponse, crEndResponse)
		if m != crStartAction {
			s.eat(c.i)
			return blockDone
		}
		c.ws()
		r := s.callArray(&c, "tool_name", "parameters", crEndAction)
		return r
	}
	return blockBad
}

// need is the result for text that ended too soon: wait for more, or, at
// the end of the reply, not a call.
func need(c *cursor) blockResult {
	if c.final {
		return blockBad
	}
	return blockNeed
}

// scanResult maps a JSON scan status to a block result.
func scanResult(st scanStatus) blockResult {
	if st == scanMore {
		return blockNeed
	}
	return blockBad
}

// matchBlock maps a failed marker match to a block result.
func matchBlock(r matchResult) blockResult {
	if r == matchPartial {
		return blockNeed
	}
	return blockBad
}

// hermesHeader is what precedes a Hermes-style call's JSON.
type hermesHeader struct {
	close string // tag expected after the JSON, "" for none
	fence bool   // in a ``` code fence
	name  string // from <function=name>: the JSON is the arguments
	bare  bool   // no tag or fence: a bare {"name": ...} object
}

// hermesHead matches the head of a Hermes-style call: an optional code
// fence, then a tag or nothing, then a JSON object whose first key is
// "name" (only looked at, not consumed); or <function=name> or
// <function name="name">.
func hermesHead(c *cursor) (hermesHeader, matchResult) {
	var h hermesHeader
	if r := c.lit("```"); r != matchNo {
		if r == matchPartial {
			return h, r
		}
		h.fence = true
		if _, r := c.anyLit("json", "xml"); r == matchPartial {
			return h, r
		}
		if r := c.lit("\n"); r != matchYes {
			return h, r
		}
		c.ws()
	}
	if !h.fence {
		save := c.i
		switch c.lit("<function") {
		case matchPartial:
			return h, matchPartial
		case matchYes:
			switch c.lit("=") {
			case matchPartial:
				return h, matchPartial
			case matchYes:
				name, r := c.until('>', "<\n")
				if r != matchYes {
					return h, r
				}
				c.i++
				h.name, h.close = name, "</function>"
				return h, matchYes
			}
			switch c.lit(` name="`) {
			case matchPartial:
				return h, matchPartial
			case matchYes:
				name, r := c.until('"', "<>\n")
				if r != matchYes {
					return h, r
				}
				c.i++
				if r := c.lit(">"); r != matchYes {
					return h, r
				}
				h.name, h.close = name, "</function>"
				return h, matchYes
			}
			c.i = save // maybe <function_call>
		}
	}
	tag, r := c.anyLit(hermesTags...)
	switch r {
	case matchPartial:
		return h, r
	case matchYes:
		h.close = "</" + tag[1:]
		c.ws()
	default:
		h.bare = !h.fence
	}
	la := *c
	if r := la.lit("{"); r != matchYes {
		return h, r
	}
	la.ws()
	return h, la.lit(`"name"`)
}

// hermesCall reads a Hermes-style call.
func (s *Stream) hermesCall(c *cursor) blockResult {
	h, r := hermesHead(c)
	if r != matchYes {
		return matchBlock(r)
	}
	var name, args string
	if h.name != "" {
		c.ws()
		v, st := c.json()
		if st != scanDone {
			return scanResult(st)
		}
		a, ok := normalizeArgs(json.RawMessage(v))
		if !ok {
			return blockBad
		}
		name, args = h.name, a
	} else {
		v, st := c.json()
		if st != scanDone {
			return scanResult(st)
		}
		var ok, hasArgs bool
		name, args, hasArgs, ok = decodeCall(v, "name", "arguments", "parameters")
		if !ok || (h.bare && !hasArgs) {
			return blockBad
		}
	}
	// The closing tag and fence may be missing (the reply may end right
	// after the JSON): then the call stands and what follows is text.
	c.ws()
	if h.close != "" && c.lit(h.close) == matchPartial {
		return blockNeed
	}
	if h.fence {
		c.ws()
		if c.lit("```") == matchPartial {
			return blockNeed
		}
	}
	s.call(name, args)
	s.eat(c.i)
	s.skipWS = true
	return blockDone
}

// jsonCall reads a Llama 3.x call, {"name": ..., "parameters": {...}}
// ("arguments" is taken too), at the cursor. After <|python_tag|> (tagged)
// it is a call whatever its keys; without a tag it must have arguments,
// since a reply may well be some other JSON object.
func (s *Stream) jsonCall(c *cursor, tagged bool) blockResult {
	v, st := c.json()
	if st != scanDone {
		return scanResult(st)
	}
	name, args, hasArgs, ok := decodeCall(v, "name", "parameters", "arguments")
	if !ok || (!tagged && !hasArgs) {
		return blockBad
	}
	s.call(name, args)
	s.eat(c.i)
	s.skipWS = true
	return blockDone
}

// builtinCall reads a Llama 3.x built-in tool call after <|python_tag|>:
// name.call(key=JSON, ...).
func (s *Stream) builtinCall(c *cursor) blockResult {
	name, r := c.name('.')
	if r != matchYes {
		return matchBlock(r)
	}
	if r := c.lit(".call("); r != matchYes {
		return matchBlock(r)
	}
	var args bytes.Buffer
	args.WriteByte('{')
	for n := 0; ; n++ {
		c.ws()
		if r := c.lit(")"); r == matchYes {
			break
		} else if r == matchPartial {
			return blockNeed
		}
		if n > 0 {
			if r := c.lit(","); r != matchYes {
				return matchBlock(r)
			}
			c.ws()
		}
		start := c.i
		for c.i < len(c.s) && isNameByte(c.s[c.i]) && c.i-start <= maxNameLen {
			c.i++
		}
		key := c.s[start:c.i]
		c.ws()
		if key == "" && !c.atEnd() {
			return blockBad
		}
		if r := c.lit("="); r != matchYes {
			return matchBlock(r)
		}
		if key == "" {
			return blockBad
		}
		c.ws()
		v, st := c.json()
		if st != scanDone {
			return scanResult(st)
		}
		if n > 0 {
			args.WriteByte(',')
		}
		args.WriteString(marshal(key))
		args.WriteByte(':')
		if json.Compact(&args, []byte(v)) != nil {
			return blockBad
		}
	}
	args.WriteByte('}')
	s.call(name, args.String())
	s.eat(c.i)
	s.skipWS = true
	return blockDone
}

// callArray reads a JSON array of call objects at the cursor (after the
// family's marker), each with nameKey and argsKey, then the closing marker
// end if the family has one (it may be missing).
func (s *Stream) callArray(c *cursor, nameKey, argsKey, end string) blockResult {
	if c.atEnd() {
		return need(c)
	}
	if c.peek() != '[' {
		return blockBad
	}
	v, st := c.json()
	if st != scanDone {
		return scanResult(st)
	}
	var items []json.RawMessage
	if json.Unmarshal([]byte(v), &items) != nil || len(items) == 0 {
		return blockBad
	}
	type nameArgs struct{ name, args string }
	calls := make([]nameArgs, 0, len(items))
	for _, it := range items {
		name, args, _, ok := decodeCall(string(it), nameKey, argsKey)
		if !ok {
			return blockBad
		}
		calls = append(calls, nameArgs{name, args})
	}
	if end != "" {
		c.ws()
		if c.lit(end) == matchPartial {
			return blockNeed
		}
	}
	for _, k := range calls {
		s.call(k.name, k.args)
	}
	s.eat(c.i)
	s.skipWS = true
	return blockDone
}

// argsCall reads a call whose name came before its JSON arguments, then
// the closing marker end if any (it may be missing).
func (s *Stream) argsCall(c *cursor, name, end string) blockResult {
	c.ws()
	if c.atEnd() {
		return need(c)
	}
	if c.peek() != '{' {
		return blockBad
	}
	v, st := c.json()
	if st != scanDone {
		return scanResult(st)
	}
	args, ok := normalizeArgs(json.RawMessage(v))
	if !ok {
		return blockBad
	}
	c.ws()
	if end != "" && c.lit(end) == matchPartial {
		return blockNeed
	}
	s.call(name, args)
	s.eat(c.i)
	s.skipWS = true
	return blockDone
}

// recipientCall reads a Functionary v3.2 segment addressed to a function:
// "python\n" followed by raw code or JSON, or "name\n{...}".
func (s *Stream) recipientCall(c *cursor) blockResult {
	switch c.lit("python\n") {
	case matchPartial:
		return blockNeed
	case matchYes:
		after := c.i
		if c.atEnd() && !c.final {
			return blockNeed
		}
		if c.peek() == '{' {
			if r := s.argsCall(c, "python", ""); r != blockBad {
				return r
			}
		}
		s.eat(after)
		s.mode = mPython
		return blockDone
	}
	name, r := c.name('\n')
	if r != matchYes {
		return matchBlock(r)
	}
	c.i++
	if r := c.lit("{"); r != matchYes {
		return matchBlock(r)
	}
	c.i--
	return s.argsCall(c, name, "")
}

// deepseekCall reads the next call in DeepSeek R1's calls block, or the
// block's end.
func (s *Stream) deepseekCall(c *cursor) bool {
	c.ws()
	switch c.lit(dsCallsEnd) {
	case matchYes:
		s.eat(c.i)
		s.mode, s.skipWS, s.pending = mContent, true, ""
		return true
	case matchPartial:
		return false
	}
	if c.atEnd() { // the reply ended inside the block
		s.eat(c.i)
		s.text(s.pending)
		s.mode, s.pending = mContent, ""
		return true
	}
	r := s.deepseekOne(c)
	switch r {
	case blockDone:
		s.pending = ""
		return true
	case blockNeed:
		return false
	}
	// Not a call: the block opener (if no call came) and the rest are text.
	s.text(s.pending)
	s.mode, s.pending = mContent, ""
	return true
}

func (s *Stream) deepseekOne(c *cursor) blockResult {
	if c.lit(dsCallBegin) == matchPartial {
		return blockNeed
	}
	if r := c.lit("function"); r != matchYes {
		return matchBlock(r)
	}
	if r := c.lit(dsSep); r != matchYes {
		return matchBlock(r)
	}
	name, r := c.until('\n', "<`{")
	if r != matchYes {
		return matchBlock(r)
	}
	c.i++
	if _, r := c.anyLit("```json", "```"); r == matchPartial {
		return blockNeed
	}
	c.ws()
	if c.atEnd() {
		return need(c)
	}
	if c.peek() != '{' {
		return blockBad
	}
	v, st := c.json()
	if st != scanDone {
		return scanResult(st)
	}
	c.ws()
	if c.lit("```") == matchPartial {
		return blockNeed
	}
	args, ok := normalizeArgs(json.RawMessage(v))
	if !ok {
		return blockBad
	}
	c.ws()
	if c.lit(dsCallEnd) == matchPartial {
		return blockNeed
	}
	s.call(strings.TrimSpace(name), args)
	s.eat(c.i)
	return blockDone
}

// genericStart reads the start of a Generic reply: a JSON object with
// "tool_call", "tool_calls" or "response", or else plain text. A
// {"response": "...  string is sent as content while it is generated.
func (s *Stream) genericStart(c *cursor) bool {
	c.ws()
	if c.atEnd() {
		if c.final {
			s.mode = mRaw
			return true
		}
		return false
	}
	if c.peek() != '{' {
		s.mode = mRaw
		return true
	}
	la := *c
	steps := []string{"{", "", `"response"`, "", ":", "", `"`}
	matched := true
	for _, lit := range steps {
		if lit == "" {
			la.ws()
			continue
		}
		r := la.lit(lit)
		if r == matchPartial {
			return false
		}
		if r == matchNo {
			matched = false
			break
		}
	}
	if matched {
		s.eat(la.i)
		s.mode = mGenResp
		return true
	}
	v, st := c.json()
	if st == scanMore {
		return false
	}
	if st == scanDone {
		if content, calls, ok := decodeGeneric(v); ok {
			s.text(content)
			for _, k := range calls {
				s.call(k[0], k[1])
			}
			s.eat(c.i)
			s.mode, s.skipWS = mRaw, true
			return true
		}
	}
	s.mode = mRaw
	return true
}

// genericString sends the decoded text of Generic's response string.
func (s *Stream) genericString(final bool) bool {
	b := s.buf
	var out strings.Builder
	i := 0
loop:
	for i < len(b) {
		switch b[i] {
		case '"':
			s.text(out.String())
			s.eat(i + 1)
			s.mode = mGenAfter
			return true
		case '\\':
			if i+1 >= len(b) {
				break loop
			}
			if e := b[i+1]; e != 'u' {
				out.WriteString(unescape(e))
				i += 2
				continue
			}
			if i+6 > len(b) {
				break loop
			}
			r1, ok := hex4(b[i+2 : i+6])
			if !ok {
				out.WriteString(b[i : i+2])
				i += 2
				continue
			}
			if utf16.IsSurrogate(r1) {
				if i+12 > len(b) && !final && strings.HasPrefix(`\u`, b[i+6:min(len(b), i+8)]) {
					break loop // the low half may follow
				}
				if i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
					if r2, ok := hex4(b[i+8 : i+12]); ok {
						if r := utf16.DecodeRune(r1, r2); r != utf8.RuneError {
							out.WriteRune(r)
							i += 12
							continue
						}
					}
				}
				out.WriteRune(utf8.RuneError)
				i += 6
				continue
			}
			out.WriteRune(r1)
			i += 6
		default:
			j := i
			for j < len(b) && b[j] != '"' && b[j] != '\\' {
				j++
			}
			out.WriteString(b[i:j])
			i = j
		}
	}
	if final {
		out.WriteString(b[i:])
		i = len(b)
	}
	s.text(out.String())
	s.eat(i)
	return false
}

func unescape(e byte) string {
	switch e {
	case 'n':
		return "\n"
	case 't':
		return "\t"
	case 'r':
		return "\r"
	case 'b':
		return "\b"
	case 'f':
		return "\f"
	}
	return string(e) // '"', '\\', '/', and anything invalid as itself
}

func hex4(h string) (rune, bool) {
	n, err := strconv.ParseUint(h, 16, 32)
	return rune(n), err == nil
}

// decodeCall reads a call object: its name (a non-empty string under
// nameKey) and its arguments (under the first of argKeys present: an
// object, a string holding the JSON, or null).
func decodeCall(obj, nameKey string, argKeys ...string) (name, args string, hasArgs, ok bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(obj), &m) != nil {
		return "", "", false, false
	}
	if json.Unmarshal(m[nameKey], &name) != nil || name == "" {
		return "", "", false, false
	}
	for _, k := range argKeys {
		raw, present := m[k]
		if !present {
			continue
		}
		args, ok := normalizeArgs(raw)
		return name, args, true, ok
	}
	return name, "{}", false, true
}

// decodeGeneric reads a Generic reply object. It returns the calls as
// name/arguments pairs.
func decodeGeneric(obj string) (content string, calls [][2]string, ok bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(obj), &m) != nil {
		return "", nil, false
	}
	if raw, present := m["tool_calls"]; present {
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil || len(items) == 0 {
			return "", nil, false
		}
		for _, it := range items {
			name, args, _, ok := decodeCall(string(it), "name", "arguments")
			if !ok {
				return "", nil, false
			}
			calls = append(calls, [2]string{name, args})
		}
		return "", calls, true
	}
	if raw, present := m["tool_call"]; present {
		name, args, _, ok := decodeCall(string(raw), "name", "arguments")
		if !ok {
			return "", nil, false
		}
		return "", [][2]string{{name, args}}, true
	}
	if raw, present := m["response"]; present {
		var str string
		if json.Unmarshal(raw, &str) == nil {
			return str, nil, true
		}
		var b bytes.Buffer
		if json.Indent(&b, raw, "", "  ") != nil {
			return "", nil, false
		}
		return b.String(), nil, true
	}
	return "", nil, false
}
