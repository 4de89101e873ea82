// Package toolcall turns a chat model's generated text into OpenAI tool
// calls, and tells a server how to prompt and constrain the model so that
// its calls come out readable.
//
// Models write tool calls in the convention their chat template was made
// for. Detect finds the convention (a Format) from the template's source,
// the way llama.cpp's common/chat.cpp does, by the markers in it: Hermes 2
// Pro / Hermes 3 / Qwen 2.5 (<tool_call>{...}</tool_call>), Llama 3.x (a
// {"name", "parameters"} object, <|python_tag|> built-ins), Mistral Nemo
// ([TOOL_CALLS][...]), Functionary v3.1 (<function=name>{...}</function>)
// and v3.2 (>>>name\n{...}), FireFunction v2 ( functools[...]), DeepSeek R1
// (<｜tool▁calls▁begin｜>...), Command R7B (<|START_ACTION|>[...]), and a
// Generic JSON form for everything else.
//
// A server handles a chat request with tools in these steps (tmpl is the
// model's tokenizer/chat Template):
//
//	f := toolcall.Detect(tmpl.Source())             // once per model, with
//	limits := toolcall.ProbeTemplate(render)         // what the template cannot show
//	tools, err := toolcall.ParseTools(req.Tools)     // 400 on error
//	choice, err := toolcall.ParseChoice(req.ToolChoice, tools)
//	in, err := f.RenderInput(req.Messages, toolcall.RenderOptions{Tools: tools, Choice: choice, Parallel: parallel, Limits: limits})
//	prompt, err := tmpl.RenderJSON(in.Messages, in.Tools, chat.Options{Extra: in.Extra, AddGenerationPrompt: true, ...})
//	prompt, f = f.FinishPrompt(prompt, enableThinking)
//	plan, err := f.Plan(tools, choice, parallel)
//	prompt += plan.Prefix                            // and constrain with plan.Schema if set
//	st := plan.NewStream()                           // st.Add(piece) per generated piece, st.Flush() at the end
//
// Each Add and Flush returns a Delta: content, reasoning and whole calls
// (OpenAI's delta.tool_calls entries). finish_reason is "tool_calls" when
// the reply has calls. Without tools (or with tool_choice "none") the same
// steps apply; Plan then reads reasoning and content only. Format.Parse
// reads a whole reply at once.
//
// Reading is forgiving and never fails: a call marker followed by something
// that is not a well-formed call (bad or unfinished JSON, no name) stays in
// the content, verbatim, as does everything a format does not recognise. A
// missing closing marker at the very end of the reply (a model stopped by
// its end-of-turn token right after the JSON) does not undo a call. Each
// call stands alone: a malformed second call does not undo the first.
// Reasoning in a <think> block (Command R7B: <|START_THINKING|>) at the
// start of the reply is split out as reasoning content, trimmed, for the
// formats where llama.cpp does so (Hermes, Llama 3.x, DeepSeek R1, Command
// R7B, Generic, content-only).
//
// Streaming reads the same text the same way whatever the pieces it comes
// in: a Stream holds back text only while it may still be the start of a
// call, and sends each call whole once it has ended (so arguments are never
// retracted). Deviations from llama.cpp, all in the forgiving direction:
// calls are accepted after their closing marker is missing at the end;
// Llama 3.x accepts "arguments" for "parameters", several calls
// separated by ";", and <|python_tag|> before a JSON call in every
// template; DeepSeek R1's code fences are optional; call IDs are
// always generated (never the model's), "call_" plus 24 letters and digits,
// or 9 letters and digits for Mistral Nemo, whose template requires that
// when the call is sent back.
package toolcall
