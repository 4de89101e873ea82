package server

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// member is one key and raw value of a JSON object, in the order sent.
type member struct {
	key string
	val json.RawMessage
}

// objectMembers splits a JSON object into its members, keeping their
// order (chat templates see dicts in the order the client wrote them).
func objectMembers(raw json.RawMessage) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, member{key, v})
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, false
	}
	return out, true
}

func encodeMembers(ms []member) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.val)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func jsonType(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "absent"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

var roles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true}

// checkMessages validates a chat request's messages the way OpenAI does
// and returns them ready for the chat template: the same JSON, with the
// "developer" role (OpenAI's new name for system) renamed "system", which
// is what templates know.
func checkMessages(raw json.RawMessage) (json.RawMessage, error) {
	if rawIsNull(raw) {
		return nil, badRequest("messages", "Missing required parameter: 'messages'.")
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return nil, badRequest("messages", "Invalid type for 'messages': expected an array of objects, but got %s instead.", jsonType(raw))
	}
	if len(msgs) == 0 {
		return nil, badRequest("messages", "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	}
	changed := false
	for i, m := range msgs {
		param := fmt.Sprintf("messages.[%d]", i)
		fields, ok := objectMembers(m)
		if !ok {
			return nil, badRequest(param, "Invalid type for '%s': expected an object, but got %s instead.", param, jsonType(m))
		}
		var role string
		var content, toolCalls json.RawMessage
		roleAt := -1
		for j, f := range fields {
			switch f.key {
			case "role":
				if err := json.Unmarshal(f.val, &role); err != nil {
					return nil, badRequest(param+".role", "Invalid type for '%s.role': expected a string, but got %s instead.", param, jsonType(f.val))
				}
				roleAt = j
			case "content":
				content = f.val
			case "tool_calls":
				toolCalls = f.val
			}
		}
		if roleAt < 0 {
			return nil, badRequest(param+".role", "Missing required parameter: '%s.role'.", param)
		}
		if !roles[role] {
			return nil, badRequest(param+".role", "Invalid value: '%s'. Supported values are: 'system', 'developer', 'user', 'assistant', and 'tool'.", role)
		}
		if err := checkContent(param+".content", role, content, !rawIsNull(toolCalls)); err != nil {
			return nil, err
		}
		if !rawIsNull(toolCalls) && jsonType(toolCalls) != "array" {
			return nil, badRequest(param+".tool_calls", "Invalid type for '%s.tool_calls': expected an array, but got %s instead.", param, jsonType(toolCalls))
		}
		if role == "developer" {
			fields[roleAt].val = json.RawMessage(`"system"`)
			msgs[i] = encodeMembers(fields)
			changed = true
		}
	}
	if !changed {
		return raw, nil
	}
	out, err := json.Marshal(msgs)
	if err != nil {
		return nil, internalError(err)
	}
	return out, nil
}

// checkContent validates a message's content: a string, an array of text
// parts, or (for an assistant message with tool calls) null.
func checkContent(param, role string, raw json.RawMessage, hasToolCalls bool) error {
	switch jsonType(raw) {
	case "string":
		return nil
	case "absent", "null":
		if role == "assistant" {
			return nil // a message of tool calls, or an empty reply
		}
		return badRequest(param, "Missing required parameter: '%s'.", param)
	case "array":
		var parts []json.RawMessage
		if err := json.Unmarshal(raw, &parts); err != nil {
			return badRequest(param, "Invalid '%s': %v.", param, err)
		}
		for k, p := range parts {
			pp := fmt.Sprintf("%s.[%d]", param, k)
			var part struct {
				Type *string `json:"type"`
				Text *string `json:"text"`
			}
			if jsonType(p) != "object" || json.Unmarshal(p, &part) != nil || part.Type == nil {
				return badRequest(pp, "Invalid '%s': expected an object with a string 'type'.", pp)
			}
			switch *part.Type {
			case "text":
				if part.Text == nil {
					return badRequest(pp+".text", "Missing required parameter: '%s.text'.", pp)
				}
			case "refusal":
			case "image_url", "input_audio", "file":
				return notSupported(pp+".type", "Content parts of type '%s' are not supported: owl's models take text only.", *part.Type)
			default:
				return badRequest(pp+".type", "Invalid value: '%s'. Supported values are: 'text'.", *part.Type)
			}
		}
		return nil
	}
	return badRequest(param, "Invalid type for '%s': expected a string or an array of content parts, but got %s instead.", param, jsonType(raw))
}
