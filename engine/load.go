package engine

import (
	"errors"
	"fmt"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
	"github.com/openweights/owl/tokenizer"
	"github.com/openweights/owl/tokenizer/chat"
)

// Loaded is a model file made ready to run: its weights on a backend, its
// tokenizer and its chat template (ChatML when the file has none).
type Loaded struct {
	Path      string
	File      *gguf.File
	Model     Model
	Tokenizer *tokenizer.Tokenizer
	Template  *chat.Template
}

// Load opens a GGUF file and builds its model, tokenizer and template.
func Load(path string, be kernels.Backend) (*Loaded, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	l := &Loaded{Path: path, File: f}
	if err := l.build(be); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

func (l *Loaded) build(be kernels.Backend) error {
	var err error
	if l.Tokenizer, err = tokenizer.FromGGUF(l.File); err != nil {
		return err
	}
	if l.Model, err = LoadModel(l.File, be); err != nil {
		return err
	}
	if v := l.Model.HParams().Vocab; v != l.Tokenizer.VocabSize() {
		// Some converters pad the embedding past the vocabulary; fewer
		// rows than tokens would let the tokenizer produce ids the model
		// cannot embed.
		if v < l.Tokenizer.VocabSize() {
			return fmt.Errorf("engine: the token embedding has %d rows for %d tokens", v, l.Tokenizer.VocabSize())
		}
	}
	src, err := l.File.String("tokenizer.chat_template")
	switch {
	case errors.Is(err, gguf.ErrKeyNotFound):
		l.Template = chat.Default()
	case err != nil:
		return err
	default:
		if l.Template, err = chat.FromGGUFValue(src); err != nil {
			return fmt.Errorf("engine: tokenizer.chat_template: %w", err)
		}
	}
	return nil
}

// Close releases the file mapping.
func (l *Loaded) Close() error { return l.File.Close() }

// ChatPrompt renders an OpenAI-style messages array (and tools, may be nil)
// with the model's template, ready for the assistant's reply.
func (l *Loaded) ChatPrompt(messages, tools []byte) (string, error) {
	opts := chat.Options{AddGenerationPrompt: true}
	if id := l.Tokenizer.BOS(); id >= 0 {
		opts.BOS = l.Tokenizer.Token(id)
	}
	if id := l.Tokenizer.EOS(); id >= 0 {
		opts.EOS = l.Tokenizer.Token(id)
	}
	return l.Template.RenderJSON(messages, tools, opts)
}

// PromptTokens tokenizes a prompt, parsing special-token text when
// special is set (chat prompts carry control tokens as text). The BOS token
// is added when the model asks for it, and a BOS already written by a chat
// template is not doubled.
func (l *Loaded) PromptTokens(text string, special bool) []int32 {
	t := l.Tokenizer
	if t.AddBOS() && t.BOS() >= 0 && special {
		if bos := t.Token(t.BOS()); bos != "" && len(text) >= len(bos) && text[:len(bos)] == bos {
			text = text[len(bos):]
		}
	}
	return t.Encode(text, true, special)
}
