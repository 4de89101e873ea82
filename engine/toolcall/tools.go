package toolcall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Tool is a function the model may call, from a request's "tools":
// {"type": "function", "function": {"name", "description", "parameters"}}.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON schema of the arguments, as sent;
	// {"type":"object","properties":{}} when the request gives none.
	Parameters json.RawMessage
	// Raw is the tool's whole JSON object as sent, for the chat template.
	Raw json.RawMessage
}

// emptyParameters is the schema of a function that takes no arguments.
var emptyParameters = json.RawMessage(`{"type":"object","properties":{}}`)

// ParseTools reads a request's "tools" array. Empty or null data gives no
// tools. Errors name the offending entry.
func ParseTools(data json.RawMessage) ([]Tool, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, fmt.Errorf("toolcall: tools is not an array of objects: %w", err)
	}
	tools := make([]Tool, 0, len(items))
	seen := make(map[string]bool, len(items))
	for i, raw := range items {
		var t struct {
			Type     *string `json:"type"`
			Function *struct {
				Name        *string         `json:"name"`
				Description *string         `json:"description"`
				Parameters  json.RawMessage `json:"parameters"`
			} `json:"function"`
		}
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, fmt.Errorf("toolcall: tools[%d]: %w", i, err)
		}
		if t.Type == nil || *t.Type != "function" {
			return nil, fmt.Errorf("toolcall: tools[%d].type: want \"function\"", i)
		}
		if t.Function == nil {
			return nil, fmt.Errorf("toolcall: tools[%d].function is missing", i)
		}
		if t.Function.Name == nil || *t.Function.Name == "" {
			return nil, fmt.Errorf("toolcall: tools[%d].function.name is missing", i)
		}
		name := *t.Function.Name
		if !validName(name) {
			return nil, fmt.Errorf("toolcall: tools[%d].function.name %q: want letters, digits, '_' and '-', at most 64", i, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("toolcall: tools[%d].function.name %q is repeated", i, name)
		}
		seen[name] = true
		tool := Tool{Name: name, Parameters: emptyParameters, Raw: raw}
		if t.Function.Description != nil {
			tool.Description = *t.Function.Description
		}
		if p := bytes.TrimSpace(t.Function.Parameters); len(p) > 0 && string(p) != "null" {
			if p[0] != '{' {
				return nil, fmt.Errorf("toolcall: tools[%d].function.parameters is not a JSON schema object", i)
			}
			tool.Parameters = p
		}
		tools = append(tools, tool)
	}
	return tools, nil
}

// validName follows OpenAI's rule for function names: a-z, A-Z, 0-9, '_'
// and '-', up to 64 characters.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b == '.' || !isNameByte(b) {
			return false
		}
	}
	return true
}

// ChoiceMode is the kind of a request's tool_choice.
type ChoiceMode int

const (
	ChoiceAuto     ChoiceMode = iota // the model decides
	ChoiceNone                       // no calls
	ChoiceRequired                   // at least one call
	ChoiceFunction                   // a call of the named function
)

// Choice is a request's tool_choice.
type Choice struct {
	Mode ChoiceMode
	Name string // the function, for ChoiceFunction
}

// ParseChoice reads a request's "tool_choice": "auto", "none", "required",
// or {"type": "function", "function": {"name": ...}} naming one of tools.
// Absent (empty or null) it is "auto" when there are tools and "none"
// otherwise, as in OpenAI's API.
func ParseChoice(data json.RawMessage, tools []Tool) (Choice, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		if len(tools) == 0 {
			return Choice{Mode: ChoiceNone}, nil
		}
		return Choice{Mode: ChoiceAuto}, nil
	}
	var c Choice
	if data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return c, fmt.Errorf("toolcall: tool_choice: %w", err)
		}
		switch s {
		case "auto":
			c.Mode = ChoiceAuto
		case "none":
			c.Mode = ChoiceNone
		case "required":
			c.Mode = ChoiceRequired
		default:
			return c, fmt.Errorf("toolcall: tool_choice %q: want \"auto\", \"none\", \"required\" or a function", s)
		}
		if c.Mode != ChoiceNone && len(tools) == 0 {
			return c, fmt.Errorf("toolcall: tool_choice %q needs tools", s)
		}
		return c, nil
	}
	var obj struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return c, fmt.Errorf("toolcall: tool_choice: %w", err)
	}
	if obj.Type != "function" {
		return c, errors.New(`toolcall: tool_choice.type: want "function"`)
	}
	if obj.Function.Name == "" {
		return c, errors.New("toolcall: tool_choice.function.name is missing")
	}
	if findTool(tools, obj.Function.Name) == nil {
		return c, fmt.Errorf("toolcall: tool_choice names function %q, which is not among the tools", obj.Function.Name)
	}
	return Choice{Mode: ChoiceFunction, Name: obj.Function.Name}, nil
}

func findTool(tools []Tool, name string) *Tool {
	for i := range tools {
		if tools[i].Name == name {
			return &tools[i]
		}
	}
	return nil
}

// toolsJSON returns the tools as a JSON array of their objects as sent.
func toolsJSON(tools []Tool) json.RawMessage {
	if len(tools) == 0 {
		return nil
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, t := range tools {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(t.Raw)
	}
	b.WriteByte(']')
	return b.Bytes()
}
