package chat

import (
	"strings"
	"time"

	"github.com/ardanlabs/jinja"
)

// The probes. testdata/gen/chat/render.py repeats them in Python; keep the
// two in step.
const (
	probeNeedle = "owl_probe_needle_7c1f"
	// argsMarker is how a probe's argument key reads when the arguments come
	// out as JSON. An escaped JSON string ("{\"argument_needle\": ...") or
	// a Python dict's repr ({'argument_needle': ...) does not contain it.
	argsMarker = `"argument_needle":`
)

var probeTime = time.Date(2025, time.January, 2, 15, 4, 5, 0, time.UTC)

// probe finds a template's Caps. Each probe renders without tools, with
// empty bos_token and eos_token and add_generation_prompt false, and with
// probeHelpers, which let undefined values through as render.py's
// ProbeUndefined does; a render that fails counts as not showing the marker.
func probe(t *Template) Caps {
	try := func(messages string) string {
		msgs, err := decodeJSON([]byte(messages))
		if err != nil {
			panic("chat: bad probe JSON: " + err.Error())
		}
		out, err := t.render(msgs, jinja.Undefined(), Options{Now: func() time.Time { return probeTime }}, nil, probeHelpers)
		if err != nil {
			return ""
		}
		return out
	}
	var c Caps
	out := try(`[{"role": "user", "content": "` + probeNeedle + `"}]`)
	c.StringContent = strings.Contains(out, probeNeedle)
	out = try(`[{"role": "user", "content": [{"type": "text", "text": "` + probeNeedle + `"}]}]`)
	c.TypedContent = strings.Contains(out, probeNeedle) &&
		!strings.Contains(out, `'type': 'text'`) && !strings.Contains(out, `"type": "text"`)

	// Some templates render tool calls only when content is null (DeepSeek
	// R1), so null is tried first, then the empty string.
	for _, content := range []string{"null", `""`} {
		call := func(args string) string {
			return `[{"role": "user", "content": "Call the probe tool."}, ` +
				`{"role": "assistant", "content": ` + content + `, "tool_calls": [{"id": "call00001", "type": "function", ` +
				`"function": {"name": "probe_tool", "arguments": ` + args + `}}]}]`
		}
		str := strings.Contains(try(call(`"{\"argument_needle\": \"probe\"}"`)), argsMarker)
		obj := strings.Contains(try(call(`{"argument_needle": "probe"}`)), argsMarker)
		if str || obj {
			c.StringArguments, c.ObjectArguments = str, obj
			break
		}
	}
	return c
}
