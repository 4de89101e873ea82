#!/usr/bin/env python3
"""Render chat templates the way Hugging Face's apply_chat_template does.

Writes the expected outputs that tokenizer/chat's Go tests compare against,
byte for byte: tokenizer/chat/testdata/golden/<template>.json, one file per
template, holding for every conversation in
tokenizer/chat/testdata/conversations/ either the rendered prompt or the
error Python raised; and tokenizer/chat/testdata/snippets/expected.json, the
same for the small templates in snippets/cases.json.

Templates: every *.jinja under ../shared/testdata/templates (real models'),
every *.jinja under tokenizer/chat/testdata/templates (owl's test templates),
and owl's default template tokenizer/chat/chatml.jinja.

The Jinja environment is the one transformers builds in
utils/chat_template_utils.py (_compile_jinja_template):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the
loopcontrols extension and a no-op {% generation %} tag, tojson replaced by
json.dumps (ensure_ascii=False, indent, separators, sort_keys), and globals
raise_exception and strftime_now; strftime_now reads the fixed time NOW so
that outputs are reproducible (the Go test sets the same clock).

The render context follows render_jinja_template: messages,
add_generation_prompt, the tokenizer's special tokens (bos_token,
eos_token, from the table BOS_EOS below), and extra keyword arguments. Two
deliberate differences, which owl's package documents: tools is passed only
when the conversation has tools (Hugging Face passes tools=None, and
documents=None, always; llama.cpp leaves them undefined), and messages are
adapted to the template's capabilities as llama.cpp does (content parts
joined into a string, tool-call arguments decoded from or encoded to a JSON
string). The capability probes below must stay in step with
tokenizer/chat/probe.go.

Needs Python 3.11 and jinja2 3.1.6, nothing else. Run from anywhere:
    python3 testdata/gen/chat/render.py
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from datetime import datetime
from pathlib import Path

import jinja2
import jinja2.ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO = Path(__file__).resolve().parents[3]
PKG = REPO / "tokenizer" / "chat"
SHARED_TEMPLATES = REPO.parent / "shared" / "testdata" / "templates"
LOCAL_TEMPLATES = PKG / "testdata" / "templates"
CONVERSATIONS = PKG / "testdata" / "conversations"
GOLDEN = PKG / "testdata" / "golden"

# The fixed "now" for strftime_now (a naive local time, as datetime.now()).
NOW = datetime(2025, 1, 2, 15, 4, 5)

# Special tokens per model family, as the models' tokenizer configs give them
# (Qwen 2.5 has no BOS token; owl passes "" then).
BOS_EOS = {
    "CohereForAI-c4ai-command-r-plus-tool_use": ("<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    "CohereForAI-c4ai-command-r7b-12-2024-tool_use": ("<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use": ("<|begin_of_text|>", "<|im_end|>"),
    "NousResearch-Hermes-3-Llama-3.1-8B-tool_use": ("<|begin_of_text|>", "<|im_end|>"),
    "Qwen-Qwen2.5-7B-Instruct": ("", "<|im_end|>"),
    "deepseek-ai-DeepSeek-R1-Distill-Llama-8B": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "fireworks-ai-llama-3-firefunction-v2": ("<|begin_of_text|>", "<|eot_id|>"),
    "google-gemma-2-2b-it": ("<bos>", "<eos>"),
    "llama-cpp-deepseek-r1": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "meetkai-functionary-medium-v3.1": ("<|begin_of_text|>", "<|eot_id|>"),
    "meetkai-functionary-medium-v3.2": ("<|begin_of_text|>", "<|eot_id|>"),
    "meta-llama-Llama-3.1-8B-Instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "meta-llama-Llama-3.2-3B-Instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "meta-llama-Llama-3.3-70B-Instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "microsoft-Phi-3.5-mini-instruct": ("<s>", "<|endoftext|>"),
    "mistralai-Mistral-Nemo-Instruct-2407": ("<s>", "</s>"),
    "owl-content-parts": ("", "<|im_end|>"),
    "owl-parts-only": ("<s>", "</s>"),
    "chatml": ("", ""),
}


def template_extra(name: str, conv: dict) -> dict:
    """Keyword arguments a model's serving code passes besides the standard
    ones. Firefunction v2's template reads `functions` (the tool list as JSON
    text) and `datetime`, which llama.cpp supplies."""
    if name == "fireworks-ai-llama-3-firefunction-v2":
        tools = conv.get("tools") or []
        functions = json.dumps([t["function"] for t in tools], indent=4, ensure_ascii=False) if tools else ""
        return {"functions": functions, "datetime": NOW.strftime("%b %d %Y %H:%M:%S GMT")}
    return {}


# ---- the environment, as transformers builds it ----


class RaisedByTemplate(TemplateError):
    """raise_exception's error, told apart from Jinja's own errors."""


def raise_exception(message):
    raise RaisedByTemplate(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return NOW.strftime(format)


class GenerationTag(jinja2.ext.Extension):
    """transformers' AssistantTracker tag, without the mask bookkeeping."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.Scope(body).set_lineno(lineno)


def make_env(undefined=jinja2.Undefined) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[GenerationTag, jinja2.ext.loopcontrols],
        undefined=undefined,
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


# ---- capability probes (keep in step with tokenizer/chat/probe.go) ----

NEEDLE = "owl_probe_needle_7c1f"
ARGS_MARKER = '"argument_needle":'


class ProbeUndefined(jinja2.ChainableUndefined):
    """Probes ignore undefined variables, as owl's probe helpers
    (tokenizer/chat/pyops.go) do: a probe asks what form of a value a
    template can take, and must not depend on the serving code's extra
    arguments (Firefunction's `functions`)."""

    def __add__(self, other):
        return "" if isinstance(other, jinja2.Undefined) else str(other)

    def __radd__(self, other):
        return str(other)


def probe(src: str) -> dict:
    tmpl = make_env(ProbeUndefined).from_string(src)

    def attempt(messages) -> str:
        try:
            return tmpl.render(messages=messages, add_generation_prompt=False, bos_token="", eos_token="")
        except Exception:
            return ""

    caps = {}
    out = attempt([{"role": "user", "content": NEEDLE}])
    caps["string_content"] = NEEDLE in out
    out = attempt([{"role": "user", "content": [{"type": "text", "text": NEEDLE}]}])
    caps["typed_content"] = NEEDLE in out and "'type': 'text'" not in out and '"type": "text"' not in out
    caps["string_arguments"] = caps["object_arguments"] = False
    for content in (None, ""):

        def call(args):
            return [
                {"role": "user", "content": "Call the probe tool."},
                {"role": "assistant", "content": content, "tool_calls": [
                    {"id": "call00001", "type": "function", "function": {"name": "probe_tool", "arguments": args}}]},
            ]

        s = ARGS_MARKER in attempt(call('{"argument_needle": "probe"}'))
        o = ARGS_MARKER in attempt(call({"argument_needle": "probe"}))
        if s or o:
            caps["string_arguments"], caps["object_arguments"] = s, o
            break
    return caps


# ---- adapting messages to the template (llama.cpp's adjustments) ----


def adapt(messages: list, caps: dict) -> None:
    for m in messages:
        if "content" in m:
            m["content"] = adapt_content(m["content"], caps)
        calls = m.get("tool_calls")
        if not isinstance(calls, list):
            continue
        for call in calls:
            fn = call.get("function") if isinstance(call, dict) else None
            if not isinstance(fn, dict) or "arguments" not in fn:
                continue
            args = fn["arguments"]
            if caps["object_arguments"] and not caps["string_arguments"] and isinstance(args, str):
                fn["arguments"] = json.loads(args)
            elif caps["string_arguments"] and not caps["object_arguments"] and isinstance(args, (dict, list)):
                fn["arguments"] = json.dumps(args, ensure_ascii=False)


def adapt_content(content, caps: dict):
    if isinstance(content, list) and not caps["typed_content"]:
        text = ""
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                raise ValueError("content part is not text")
            if not isinstance(part.get("text"), str):
                raise ValueError("content part has no string text")
            if text:
                text += "\n"
            text += part["text"]
        return text
    if isinstance(content, str) and caps["typed_content"] and not caps["string_content"]:
        return [{"type": "text", "text": content}]
    return content


# ---- rendering ----


def render_case(env, src: str, caps: dict, conv: dict, bos: str, eos: str, extra: dict) -> dict:
    try:
        messages = copy.deepcopy(conv["messages"])
        adapt(messages, caps)
        ctx = {
            "messages": messages,
            "add_generation_prompt": conv.get("add_generation_prompt", False),
            "bos_token": bos,
            "eos_token": eos,
        }
        if conv.get("tools") is not None:
            ctx["tools"] = copy.deepcopy(conv["tools"])
        ctx.update(copy.deepcopy(extra))
        return {"output": env.from_string(src).render(**ctx)}
    except RaisedByTemplate as e:
        return {"error": {"type": "raise_exception", "message": e.message}}
    except Exception as e:  # Jinja errors, TypeError from str + None, ...
        return {"error": {"type": type(e).__name__, "message": str(e)}}


def templates():
    out = []
    if not SHARED_TEMPLATES.is_dir():
        sys.exit(f"render.py: {SHARED_TEMPLATES} not found")
    for p in sorted(SHARED_TEMPLATES.glob("*.jinja")):
        out.append((p.stem, "shared", p))
    for p in sorted(LOCAL_TEMPLATES.glob("*.jinja")):
        out.append((p.stem, "local", p))
    out.append(("chatml", "default", PKG / "chatml.jinja"))
    return out


SNIPPETS = PKG / "testdata" / "snippets"


def render_snippets(env) -> None:
    """Render the small templates in snippets/cases.json, each alone with the
    file's context and no messages: they pin down Jinja2's semantics where
    owl's engine needs help (Markup, Python's +, undefined values,
    generators) and are written to snippets/expected.json."""
    spec = json.loads((SNIPPETS / "cases.json").read_text(encoding="utf-8"))
    out = []
    for case in spec["cases"]:
        ctx = {"messages": [], "add_generation_prompt": False, "bos_token": "", "eos_token": ""}
        ctx.update(copy.deepcopy(spec["context"]))
        res = {"name": case["name"], "template": case["template"]}
        try:
            res["output"] = env.from_string(case["template"]).render(**ctx)
        except RaisedByTemplate as e:
            res["error"] = {"type": "raise_exception", "message": e.message}
        except Exception as e:
            res["error"] = {"type": type(e).__name__, "message": str(e)}
        out.append(res)
    with open(SNIPPETS / "expected.json", "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"snippets: {len(out)} cases, {sum('error' in c for c in out)} errors")


def main() -> int:
    env = make_env()
    convs = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(CONVERSATIONS.glob("*.json"))}
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, kind, path in templates():
        if name not in BOS_EOS:
            sys.exit(f"render.py: no BOS/EOS entry for template {name}")
        src = path.read_text(encoding="utf-8")
        bos, eos = BOS_EOS[name]
        caps = probe(src)
        cases = []
        for cname, conv in convs.items():
            extra = {**template_extra(name, conv), **conv.get("extra", {})}
            case = {"conversation": cname}
            if extra:
                case["extra"] = extra
            case.update(render_case(env, src, caps, conv, bos, eos, extra))
            cases.append(case)
        golden = {
            "template": path.name,
            "source": kind,
            "sha256": hashlib.sha256(src.encode("utf-8")).hexdigest(),
            "bos_token": bos,
            "eos_token": eos,
            "now": NOW.isoformat(),
            "caps": caps,
            "cases": cases,
        }
        with open(GOLDEN / f"{name}.json", "w", encoding="utf-8") as f:
            json.dump(golden, f, indent=1, ensure_ascii=False)
            f.write("\n")
        errs = sum("error" in c for c in cases)
        print(f"{name}: {len(cases)} cases, {errs} errors, caps {caps}")
    render_snippets(env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
