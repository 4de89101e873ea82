package toolcall

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Plan is how to generate and read one reply for a request's tool_choice.
//
// When Schema is set, the reply must be forced: the caller appends Prefix
// to the rendered prompt, constrains generation with Schema (a JSON schema,
// for engine/grammar's NewJSONSchema) and stops when the constraint is
// complete; the reply is then read with the Plan's Parse or NewStream,
// which account for Prefix and Suffix themselves. Prefix and Suffix are the
// format's literal markers around the constrained JSON (for Hermes,
// "<tool_call>\n" and "\n</tool_call>"), so the constraint only ever deals
// in JSON and the model sees its own call syntax.
//
// For tool_choice "required" or a named function the schema describes one
// call in the family's own format when that format carries the function
// name inside the JSON (Hermes, Llama 3.x, Mistral Nemo, FireFunction v2,
// Command R7B) or when there is one function to call (the name is then
// part of Prefix: Functionary, DeepSeek R1). Forcing a choice among several
// functions in a format that writes the name outside the JSON would need a
// grammar over text, so those requests fall back to the Generic JSON form
// ({"tool_call": {"name", "arguments"}}), constrained the same way. Several
// calls ("parallel_tool_calls") can be forced only in formats whose calls
// form one JSON array (Mistral Nemo, FireFunction v2, Command R7B, Generic);
// elsewhere a forced reply holds exactly one call.
//
// For "auto", only the Generic family is constrained: as in llama.cpp, its
// reply is always a JSON object, a call or {"response": "..."} (whose text
// is streamed as content as it comes). Other families generate freely and
// their calls are found in the text. For "none" nothing is constrained and
// no calls are read.
type Plan struct {
	Prefix string          // text to append to the prompt; the reply continues it
	Schema json.RawMessage // JSON schema for the generated text; nil: unconstrained
	Suffix string          // text that ends the forced call; not generated
	format Format
}

// Format returns the format the reply is read in, which for a Generic
// fallback differs from the model's.
func (p Plan) Format() Format { return p.format }

// NewStream returns a Stream reading the generated text of a reply made
// with p: Prefix is read first and Suffix at Flush.
func (p Plan) NewStream() *Stream {
	s := p.format.NewStream()
	if p.Prefix != "" {
		s.receive(p.Prefix)
		s.run(false) // anything it completes goes out with the first Add
	}
	s.suffix = p.Suffix
	return s
}

// Parse reads the whole generated text of a reply made with p.
func (p Plan) Parse(generated string) Message {
	s := p.NewStream()
	s.Add(generated)
	s.Flush()
	return s.Message()
}

// Plan returns the plan for a request with tools and the given
// tool_choice; parallel is the request's parallel_tool_calls (OpenAI's
// default is true). f should come from FinishPrompt, so that a prompt that
// opened a reasoning block gets it closed before a forced call.
func (f Format) Plan(tools []Tool, choice Choice, parallel bool) (Plan, error) {
	if len(tools) == 0 || choice.Mode == ChoiceNone {
		return Plan{format: f.WithoutCalls()}, nil
	}
	tools = append([]Tool(nil), tools...)
	for i := range tools {
		if len(bytes.TrimSpace(tools[i].Parameters)) == 0 {
			tools[i].Parameters = emptyParameters
		} else if !json.Valid(tools[i].Parameters) {
			return Plan{}, fmt.Errorf("toolcall: tool %q: parameters are not valid JSON", tools[i].Name)
		}
	}
	if choice.Mode == ChoiceAuto {
		if f.family != Generic {
			return Plan{format: f}, nil
		}
		reply := genericSchema(tools, parallel)
		resp := obj{{"type", "object"}, {"properties", obj{{"response", obj{{"type", "string"}}}}},
			{"required", []string{"response"}}, {"additionalProperties", false}}
		return Plan{Schema: encode(obj{{"anyOf", []any{reply, resp}}}), format: f}, nil
	}
	if choice.Mode == ChoiceFunction {
		t := findTool(tools, choice.Name)
		if t == nil {
			return Plan{}, fmt.Errorf("toolcall: tool_choice names function %q, which is not among the tools", choice.Name)
		}
		tools = []Tool{*t}
	}

	// A reasoning block the prompt opened is closed first.
	var think string
	if t := f.reasoning(); f.thinking && t != nil {
		think = t.close
		if f.family != CommandR7B {
			think += "\n\n"
		}
	}
	p := Plan{format: f}
	switch f.family {
	case Hermes:
		p.Prefix, p.Suffix = "<tool_call>\n", "\n</tool_call>"
		p.Schema = encode(callSchemas(tools, "name", "arguments"))
	case Llama3:
		p.Schema = encode(callSchemas(tools, "name", "parameters"))
	case MistralNemo:
		p.Prefix = nemoCalls
		p.Schema = encode(arraySchema(callSchemas(tools, "name", "arguments"), parallel))
	case FirefunctionV2:
		p.Prefix = functools
		p.Schema = encode(arraySchema(callSchemas(tools, "name", "arguments"), parallel))
	case CommandR7B:
		p.Prefix, p.Suffix = crStartAction, crEndAction
		p.Schema = encode(arraySchema(callSchemas(tools, "tool_name", "parameters"), parallel))
	case FunctionaryV31, FunctionaryV32, DeepSeekR1:
		if len(tools) > 1 {
			return genericFallback(f, think, tools, parallel), nil
		}
		name := tools[0].Name
		p.Schema = tools[0].Parameters
		switch f.family {
		case FunctionaryV31:
			p.Prefix, p.Suffix = "<function="+name+">", "</function>"
		case FunctionaryV32:
			p.Prefix = name + "\n"
		case DeepSeekR1:
			p.Prefix = dsCallsBegin[0] + dsCallBegin + "function" + dsSep + name + "\n```json\n"
			p.Suffix = "\n```" + dsCallEnd + dsCallsEnd
		}
	default: // Generic, ContentOnly
		return genericFallback(f, think, tools, parallel), nil
	}
	p.Prefix = think + p.Prefix
	return p, nil
}

// genericFallback forces a call in the Generic JSON form, keeping f's
// reasoning state (the prompt may have opened a block).
func genericFallback(f Format, think string, tools []Tool, parallel bool) Plan {
	g := f
	g.family = Generic
	g.thinking = f.thinking && f.reasoning() == thinkTags
	if !g.thinking {
		think = ""
	}
	return Plan{Prefix: think, Schema: encode(genericSchema(tools, parallel)), format: g}
}

// genericSchema is the Generic form of a call (or, with parallel, of one
// or more calls).
func genericSchema(tools []Tool, parallel bool) obj {
	call := callSchemas(tools, "name", "arguments")
	if parallel {
		return obj{{"type", "object"},
			{"properties", obj{{"tool_calls", obj{{"type", "array"}, {"items", call}, {"minItems", 1}}}}},
			{"required", []string{"tool_calls"}}, {"additionalProperties", false}}
	}
	return obj{{"type", "object"}, {"properties", obj{{"tool_call", call}}},
		{"required", []string{"tool_call"}}, {"additionalProperties", false}}
}

// callSchemas is the schema of one call object of any of tools: the name
// under nameKey, fixed per tool, then the arguments under argsKey.
func callSchemas(tools []Tool, nameKey, argsKey string) any {
	alts := make([]any, len(tools))
	for i, t := range tools {
		alts[i] = obj{{"type", "object"},
			{"properties", obj{{nameKey, obj{{"type", "string"}, {"const", t.Name}}}, {argsKey, t.Parameters}}},
			{"required", []string{nameKey, argsKey}}, {"additionalProperties", false}}
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return obj{{"anyOf", alts}}
}

// arraySchema is the schema of a JSON array of calls: at least one, and
// only one unless parallel.
func arraySchema(call any, parallel bool) obj {
	s := obj{{"type", "array"}, {"items", call}, {"minItems", 1}}
	if !parallel {
		s = append(s, kv{"maxItems", 1})
	}
	return s
}

// obj is a JSON object that keeps its key order (a schema's property order
// is the order a constrained reply writes them in).
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(marshal(e.k))
		b.WriteByte(':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// encode marshals a schema built here. Its parts are strings, numbers,
// and tool parameters that Plan has checked are valid JSON, so it cannot
// fail.
func encode(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("toolcall: encode schema: " + err.Error())
	}
	return b
}
