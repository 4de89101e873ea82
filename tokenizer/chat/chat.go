// Package chat renders a model's chat template: the Jinja program, shipped in
// a GGUF file's tokenizer.chat_template or a Hugging Face
// tokenizer_config.json, that turns a conversation into the prompt text the
// model was trained on.
//
// Rendering follows Hugging Face's apply_chat_template, and the output is
// meant to be byte-identical to Python Jinja2's: the template sees messages,
// add_generation_prompt, bos_token, eos_token, tools (only when the request
// has tools), any extra keyword arguments, and the functions
// raise_exception(msg) and strftime_now(fmt); whitespace follows
// trim_blocks and lstrip_blocks; tojson is json.dumps with ensure_ascii off.
// Request JSON is decoded with its key order kept, so dicts iterate and
// serialize in the order the client sent them, as they do in Python.
//
// Two adjustments, both from llama.cpp, adapt OpenAI-style requests to what
// a template can take; each depends on the template's capabilities, found
// once by rendering probe conversations (see Caps):
//
//   - Message content given as a list of parts ([{"type":"text","text":...}])
//     is joined into one string, parts separated by "\n", unless the template
//     renders list content itself. A template that only takes lists gets a
//     string content wrapped as one text part.
//   - Tool-call arguments: OpenAI sends function.arguments as a JSON string,
//     Hugging Face passes whatever it is given (its docs use a dict). When a
//     template renders arguments as JSON only if they are an object (Llama
//     3.x, Qwen 2.5, Mistral Nemo, ... apply tojson to them), a string is
//     decoded into an object; when it can only print a string (DeepSeek R1,
//     Functionary, Firefunction concatenate it), an object is serialized as
//     Python's json.dumps would. Otherwise arguments pass as given.
//
// Differences from Hugging Face: tools is left undefined rather than None when
// a request has none (as llama.cpp does; several tool-use templates iterate
// tools unguarded), documents is likewise only defined when passed in
// Options.Extra, and bos_token and eos_token are always defined (empty when
// the model has no such token).
//
// The engine, github.com/ardanlabs/jinja, differs from Jinja2 in a few
// operations that chat templates use, so Parse rewrites the template before
// compiling it (rewrite.go): + becomes Python's + (str + None is an error,
// and Markup from |safe or |escape HTML-escapes the plain string added to
// it, as in Functionary v3.1), an attribute or item of an undefined value is
// an error, Undefined is iterable, iterating None is an error, and tojson
// (or length, count, last) of map()'s and the other generator filters'
// results is an error. Source returns the template as written. The rewrite
// sees one expression at a time: a Markup value or a generator kept in a
// variable with {% set %} acts as a plain string or list later.
package chat

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/ardanlabs/jinja"
)

//go:embed chatml.jinja
var chatMLSource string

// Template is a compiled chat template. It is safe for concurrent use.
type Template struct {
	src       string
	prog      *jinja.Template
	caps      Caps
	isDefault bool
}

// Caps describes what a template can take, as found by rendering small probe
// conversations with the template (the way llama.cpp's minja did): a probe
// puts a marker in the place under test and checks whether the marker comes
// out in the intended form. Renders that fail count as "cannot".
type Caps struct {
	// StringContent: a message's content given as a string appears in the
	// output.
	StringContent bool
	// TypedContent: content given as a list of text parts appears in the
	// output as text (not as the list's printed form).
	TypedContent bool
	// StringArguments: tool-call arguments given as a JSON string appear in
	// the output as JSON (printed verbatim, not re-escaped).
	StringArguments bool
	// ObjectArguments: tool-call arguments given as an object appear in the
	// output as JSON (not as a Python dict's printed form).
	ObjectArguments bool
}

// Parse compiles a chat template and probes its capabilities.
func Parse(src string) (*Template, error) {
	// Compile the Jinja2-faithful rewrite (rewrite.go). Should the engine
	// reject it, the original decides: its error, or its own semantics.
	rw, _ := rewrite(src)
	prog, err := jinja.Compile(rw)
	if err != nil && rw != src {
		prog, err = jinja.Compile(src)
	}
	if err != nil {
		return nil, fmt.Errorf("chat: parse template: %w", err)
	}
	t := &Template{src: src, prog: prog}
	t.caps = probe(t)
	return t, nil
}

var defaultTemplate = func() *Template {
	t, err := Parse(chatMLSource)
	if err != nil {
		panic(err) // the embedded template is part of the package
	}
	t.isDefault = true
	return t
}()

// Default returns the template used for a model that ships none: ChatML
// (<|im_start|>role\ncontent<|im_end|>\n), llama.cpp's fallback too.
func Default() *Template { return defaultTemplate }

// FromGGUFValue returns the template for the value of a GGUF file's
// tokenizer.chat_template key: Default when the value is empty or only
// whitespace (the key is absent or blank), the parsed template otherwise.
func FromGGUFValue(src string) (*Template, error) {
	if strings.TrimSpace(src) == "" {
		return Default(), nil
	}
	return Parse(src)
}

// Source returns the template's Jinja source.
func (t *Template) Source() string { return t.src }

// IsDefault reports whether t is the built-in ChatML template that Default
// returns, so a caller such as `owl show` can say the model brought none.
func (t *Template) IsDefault() bool { return t.isDefault }

// Caps returns the template's probed capabilities.
func (t *Template) Caps() Caps { return t.caps }

// Message is a plain text message, for callers that build a conversation in
// Go: json.Marshal of a []Message is a Request's Messages.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}
