package server

import (
	"encoding/json"
	"errors"

	"github.com/openweights/owl/engine"
	"github.com/openweights/owl/engine/grammar"
)

// responseFormat reads response_format: {"type": "text"} changes nothing;
// {"type": "json_object"} and {"type": "json_schema", "json_schema":
// {"name", "schema", "strict"}} constrain the output with a grammar, so
// that it always parses (and validates against the schema).
func (s *Server) responseFormat(m *Model, raw json.RawMessage, smp *sampling) error {
	if rawIsNull(raw) {
		return nil
	}
	var rf struct {
		Type       *string `json:"type"`
		JSONSchema *struct {
			Name   *string         `json:"name"`
			Schema json.RawMessage `json:"schema"`
			Strict *bool           `json:"strict"`
		} `json:"json_schema"`
	}
	if err := json.Unmarshal(raw, &rf); err != nil || rf.Type == nil {
		return badRequest("response_format", "Invalid 'response_format': expected an object with a string 'type'.")
	}
	var g *grammar.Grammar
	switch *rf.Type {
	case "text":
		return nil
	case "json_object":
		g = grammar.JSONObject()
	case "json_schema":
		js := rf.JSONSchema
		if js == nil {
			return badRequest("response_format.json_schema", "Missing required parameter: 'response_format.json_schema'.")
		}
		if js.Name == nil || *js.Name == "" {
			return badRequest("response_format.json_schema.name", "Missing required parameter: 'response_format.json_schema.name'.")
		}
		if rawIsNull(js.Schema) {
			g = grammar.JSONObject()
			break
		}
		if jsonType(js.Schema) != "object" && jsonType(js.Schema) != "boolean" {
			return badRequest("response_format.json_schema.schema", "Invalid type for 'response_format.json_schema.schema': expected an object.")
		}
		var err error
		if g, err = grammar.CompileJSONSchema(js.Schema); err != nil {
			if errors.Is(err, grammar.ErrUnsupported) || errors.Is(err, grammar.ErrTooLarge) {
				return notSupported("response_format.json_schema.schema", "The schema cannot be enforced: %v", err)
			}
			return badRequest("response_format.json_schema.schema", "Invalid schema: %v", err)
		}
	default:
		return badRequest("response_format.type", "Invalid value: '%s'. Supported values are: 'text', 'json_object', and 'json_schema'.", *rf.Type)
	}
	vocab := m.Loaded.Tokenizer
	if _, err := grammar.New(g, vocab); err != nil {
		return badRequest("response_format", "The output format cannot be enforced with this model's vocabulary: %v", err)
	}
	smp.constraint = func() engine.Constraint {
		c, err := grammar.New(g, vocab)
		if err != nil {
			return nil // checked above; the vocabulary does not change
		}
		return c
	}
	return nil
}
