package toolcall

import (
	"regexp"
	"strconv"
	"strings"
)

// Family is a tool-call output convention: how a model trained on a given
// chat template writes its calls.
type Family int

const (
	// Generic is the fallback for templates with no known convention: the
	// model answers with one JSON object, {"tool_call": {"name",
	// "arguments"}}, {"tool_calls": [...]} or {"response": ...}, which a
	// schema constraint and a system instruction make it write.
	Generic Family = iota
	// ContentOnly parses no calls: reasoning and content only.
	ContentOnly
	// Hermes covers Hermes 2 Pro, Hermes 3 and Qwen 2.5:
	// <tool_call>{"name": ..., "arguments": {...}}</tool_call>, repeated
	// for parallel calls, anywhere in the text; also the variants small
	// models write (other tags, code fences, <function=name>{...}</function>,
	// a bare {"name": ..., "arguments": ...}).
	Hermes
	// Llama3 covers Llama 3.1, 3.2 and 3.3: a JSON object {"name": ...,
	// "parameters": {...}} at the start of the reply or after
	// <|python_tag|>, and, for templates that know built-in tools,
	// <|python_tag|>name.call(arg=value, ...).
	Llama3
	// MistralNemo: [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...].
	MistralNemo
	// FunctionaryV31 (Llama 3.1 based): <function=name>{...}</function>,
	// and <|python_tag|> followed by raw code for the python tool.
	FunctionaryV31
	// FunctionaryV32: recipient-prefixed segments; "all\n" starts text for
	// the user, "name\n{...}" a call, later segments follow ">>>".
	FunctionaryV32
	// FirefunctionV2: " functools[{"name": ..., "arguments": {...}}, ...]".
	FirefunctionV2
	// DeepSeekR1: <think> reasoning, then <｜tool▁calls▁begin｜> and per
	// call <｜tool▁call▁begin｜>function<｜tool▁sep｜>name\n```json\n{...}\n```<｜tool▁call▁end｜>.
	DeepSeekR1
	// CommandR7B: <|START_THINKING|> plan <|END_THINKING|>, then
	// <|START_ACTION|>[{"tool_call_id", "tool_name", "parameters"}]<|END_ACTION|>
	// or <|START_RESPONSE|>text<|END_RESPONSE|>.
	CommandR7B
)

var familyNames = [...]string{
	Generic:        "Generic",
	ContentOnly:    "Content-only",
	Hermes:         "Hermes 2 Pro",
	Llama3:         "Llama 3.x",
	MistralNemo:    "Mistral Nemo",
	FunctionaryV31: "Functionary v3.1 Llama 3.1",
	FunctionaryV32: "Functionary v3.2",
	FirefunctionV2: "FireFunction v2",
	DeepSeekR1:     "DeepSeek R1",
	CommandR7B:     "Command R7B",
}

func (f Family) String() string {
	if f >= 0 && int(f) < len(familyNames) {
		return familyNames[f]
	}
	return "Family(" + strconv.Itoa(int(f)) + ")"
}

// Format is how to read one model's output: its Family plus per-request
// settings. The zero value is the Generic family. A Format is a small value;
// the With methods return modified copies.
type Format struct {
	family Family
	// builtin: a Llama 3.x template that knows <|python_tag|> built-in tool
	// calls (brave_search.call(query="...")).
	builtin bool
	// dsPromptFix: the official DeepSeek R1 template, whose prompts need
	// repair after tool results (see FinishPrompt).
	dsPromptFix bool
	// thinking: the prompt ended inside a reasoning block, so the output
	// starts with reasoning.
	thinking bool
	// noCalls: parse reasoning and content only (tool_choice "none").
	noCalls bool
	// seeded, seed: call IDs derive from seed instead of crypto/rand.
	seeded bool
	seed   uint64
}

// Detect returns the tool-call format of the model whose chat template has
// source src, by looking for each convention's markers in it, in
// llama.cpp's order (common/chat.cpp): DeepSeek R1, Command R7B, Hermes/Qwen
// (<tool_call>), Functionary v3.2, FireFunction v2, Functionary v3.1, Llama
// 3.x, Mistral Nemo, and Generic for anything else.
func Detect(src string) Format {
	has := func(s string) bool { return strings.Contains(src, s) }
	switch {
	case has("<｜tool▁calls▁begin｜>"):
		return Format{family: DeepSeekR1, dsPromptFix: has("{% if ns.is_tool %}{{'<｜tool▁outputs▁end｜>'}}")}
	case has("<|END_THINKING|><|START_ACTION|>"):
		return Format{family: CommandR7B}
	case has("<tool_call>"):
		return Format{family: Hermes}
	case has(">>>all"):
		return Format{family: FunctionaryV32}
	case has(" functools["):
		return Format{family: FirefunctionV2}
	case has("<|start_header_id|>") && has("<function="):
		return Format{family: FunctionaryV31}
	case has("<|start_header_id|>ipython<|end_header_id|>"):
		return Format{family: Llama3, builtin: has("<|python_tag|>")}
	case has("[TOOL_CALLS]"):
		return Format{family: MistralNemo}
	}
	return Format{family: Generic}
}

// Of returns a Format of family fam with default settings (for tests, and
// for callers that know the family without a template).
func Of(fam Family) Format { return Format{family: fam} }

// Family returns f's family.
func (f Format) Family() Family { return f.family }

// String names the format as llama.cpp does.
func (f Format) String() string {
	s := f.family.String()
	if f.family == Llama3 && f.builtin {
		s += " with builtin tools"
	}
	return s
}

// WithoutCalls returns f reading no tool calls, for requests without tools
// or with tool_choice "none": reasoning is still split out, and markers
// that are not calls (Functionary's "all\n", Command R7B's response tags)
// are still removed.
func (f Format) WithoutCalls() Format { f.noCalls = true; return f }

// WithSeed returns f giving deterministic call IDs derived from seed (for
// tests and reproducible runs); by default IDs are random.
func (f Format) WithSeed(seed uint64) Format { f.seeded, f.seed = true, seed; return f }

// Thinking reports whether f expects the output to start inside a
// reasoning block (see FinishPrompt).
func (f Format) Thinking() bool { return f.thinking }

// WithThinking returns f expecting (or not) the output to start inside a
// reasoning block; FinishPrompt sets this from the prompt.
func (f Format) WithThinking(open bool) Format { f.thinking = open && f.reasoning() != nil; return f }

// tags is a reasoning block's open and close markers.
type tags struct{ open, close string }

var (
	thinkTags    = &tags{"<think>", "</think>"}
	cohereThinks = &tags{"<|START_THINKING|>", "<|END_THINKING|>"}
)

// reasoning returns the markers of the family's reasoning block, nil when
// it has none. As in llama.cpp, a reasoning block counts only at the start
// of the output.
func (f Format) reasoning() *tags {
	switch f.family {
	case Generic, ContentOnly, Hermes, Llama3, DeepSeekR1:
		return thinkTags
	case CommandR7B:
		return cohereThinks
	}
	return nil
}

// dsToolCallEnd matches a DeepSeek R1 tool call's end followed by the next
// turn with no end of the call block between: the official template leaves
// it out.
var dsToolCallEnd = regexp.MustCompile(`(<｜tool▁call▁end｜>)[\s\r\n]*(<｜tool▁outputs▁begin｜>|<｜User｜>)`)

// FinishPrompt adjusts a rendered prompt (with the generation prompt added)
// for the format, as llama.cpp does, and returns it with the format to read
// the output with:
//
//   - A prompt that ends by opening a reasoning block ("<think>\n" for
//     DeepSeek R1 and Qwen-style templates, "<|START_THINKING|>" for Command
//     R7B) makes the output start inside it, so the returned format expects
//     that. With thinking false the block is closed in the prompt instead.
//   - With thinking false Command R7B gets an empty thinking block after
//     its turn opener.
//   - The official DeepSeek R1 template does not end a turn after tool
//     results and drops the end of the call block; both are repaired.
func (f Format) FinishPrompt(prompt string, thinking bool) (string, Format) {
	if f.family == DeepSeekR1 && f.dsPromptFix {
		if strings.HasSuffix(prompt, "<｜tool▁outputs▁end｜>") {
			prompt += "<｜end▁of▁sentence｜><｜Assistant｜>"
		}
		prompt = dsToolCallEnd.ReplaceAllString(prompt, "$1<｜tool▁calls▁end｜><｜end▁of▁sentence｜>$2")
	}
	t := f.reasoning()
	if t == nil {
		return prompt, f
	}
	trimmed := strings.TrimRight(prompt, "\n")
	if strings.HasSuffix(trimmed, t.open) && (f.family == CommandR7B || trimmed != prompt) {
		if thinking {
			f.thinking = true
		} else {
			prompt += t.close
		}
		return prompt, f
	}
	if f.family == CommandR7B && !thinking && strings.HasSuffix(prompt, "<|CHATBOT_TOKEN|>") {
		prompt += t.open + t.close
	}
	return prompt, f
}
