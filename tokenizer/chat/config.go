package chat

import (
	"encoding/json"
	"fmt"
)

// TokenizerConfig is what a Hugging Face tokenizer_config.json says about
// chat rendering.
type TokenizerConfig struct {
	// Templates maps template names to sources. A config with a single
	// chat_template string gives it the name "default"; a config with a
	// list of {"name", "template"} objects keeps their names ("default",
	// "tool_use", "rag", ...). Empty when the config has no chat_template
	// (newer models may ship chat_template.jinja beside it instead).
	Templates map[string]string
	// BOS and EOS are the bos_token and eos_token texts, "" when unset.
	BOS, EOS string
}

// ParseTokenizerConfig reads the chat fields of a tokenizer_config.json.
// Pass Templates["default"] to FromGGUFValue to get the model's template
// (or Default when it has none).
func ParseTokenizerConfig(data []byte) (TokenizerConfig, error) {
	var raw struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
		BOS          json.RawMessage `json:"bos_token"`
		EOS          json.RawMessage `json:"eos_token"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return TokenizerConfig{}, fmt.Errorf("chat: tokenizer config: %w", err)
	}
	cfg := TokenizerConfig{Templates: make(map[string]string)}
	var err error
	if cfg.BOS, err = tokenText(raw.BOS); err != nil {
		return TokenizerConfig{}, fmt.Errorf("chat: tokenizer config: bos_token: %w", err)
	}
	if cfg.EOS, err = tokenText(raw.EOS); err != nil {
		return TokenizerConfig{}, fmt.Errorf("chat: tokenizer config: eos_token: %w", err)
	}
	if len(raw.ChatTemplate) == 0 || string(raw.ChatTemplate) == "null" {
		return cfg, nil
	}
	var single string
	if err := json.Unmarshal(raw.ChatTemplate, &single); err == nil {
		cfg.Templates["default"] = single
		return cfg, nil
	}
	var named []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw.ChatTemplate, &named); err != nil {
		return TokenizerConfig{}, fmt.Errorf("chat: tokenizer config: chat_template is neither a string nor a list of named templates: %w", err)
	}
	for _, t := range named {
		cfg.Templates[t.Name] = t.Template
	}
	return cfg, nil
}

// tokenText reads a special token given as a string, as an AddedToken object
// ({"content": "<s>", ...}) or as null.
func tokenText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var tok struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(raw, &tok); err != nil {
		return "", err
	}
	return tok.Content, nil
}
