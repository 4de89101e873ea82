package toolcall

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"strings"
)

// Call is one tool call, as OpenAI's API returns it in
// choices[].message.tool_calls[] (type "function").
type Call struct {
	ID        string // "call_" + 24 random letters and digits; 9 for Mistral Nemo
	Name      string // the function's name
	Arguments string // the arguments, JSON text (an object, compact)
}

// Message is a parsed assistant reply.
type Message struct {
	Content   string // text for the user, markers removed
	Reasoning string // the reasoning block's text (reasoning_content), trimmed
	Calls     []Call
}

// CallDelta is a streamed tool call, as OpenAI's API sends it in
// choices[].delta.tool_calls[]. The first delta for an Index carries ID and
// Name; Arguments fragments concatenate to the call's arguments. This
// package sends each call whole, in one delta, once it is complete: a call
// is only known to be a call (and not text that looked like one) when it
// has ended.
type CallDelta struct {
	Index     int // position among the reply's calls, from 0
	ID        string
	Name      string
	Arguments string
}

// Delta is what one Stream.Add or Stream.Flush adds to the reply.
type Delta struct {
	Content   string
	Reasoning string
	Calls     []CallDelta
}

// Empty reports whether d adds nothing.
func (d Delta) Empty() bool { return d.Content == "" && d.Reasoning == "" && len(d.Calls) == 0 }

// normalizeArgs turns a call's arguments as the model wrote them into
// OpenAI's form, JSON text: an object is compacted (key order kept); a
// string is taken as holding the JSON (some models stringify it), and must
// hold an object; absent, null or "" arguments become "{}". ok is false
// for anything else.
func normalizeArgs(raw json.RawMessage) (args string, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "{}", true
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		if strings.TrimSpace(s) == "" {
			return "{}", true
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if raw[0] != '{' {
		return "", false
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return "", false
	}
	return b.String(), true
}

// callID returns the ID of the reply's index-th call.
func (f Format) callID(index int) string {
	n := 24
	prefix := "call_"
	if f.family == MistralNemo {
		// The Mistral Nemo template rejects IDs that are not 9 characters
		// long when the call comes back in the conversation.
		n, prefix = 9, ""
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b [24]byte
	if f.seeded {
		x := f.seed ^ (uint64(index)+1)*0x9e3779b97f4a7c15
		for i := 0; i < n; i++ {
			x = splitmix64(x)
			b[i] = alphabet[x%uint64(len(alphabet))]
		}
	} else {
		rand.Read(b[:n]) // never fails (crypto/rand panics rather)
		for i := 0; i < n; i++ {
			b[i] = alphabet[int(b[i])%len(alphabet)]
		}
	}
	return prefix + string(b[:n])
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// marshal encodes v as JSON without escaping <, > and & (tool arguments
// holding code must read as written).
func marshal(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(b.String(), "\n")
}
