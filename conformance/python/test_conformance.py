"""owl serve driven by the official `openai` Python package, unmodified.

run.sh starts the servers and sets:
  OWL_BASE_URL       base URL of a server without an API key (…/v1)
  OWL_AUTH_BASE_URL  base URL of a server started with --api-key
  OWL_AUTH_KEY       that key
  OWL_MODEL          the model most cases use
  OWL_MODELS         every served model, comma separated (smoke cases run on each)
  OWL_CTX            the context of a slot, in tokens
  OWL_MAX_BODY       the server's request body limit, in bytes
  OWL_EMBD           the embedding size of OWL_MODEL
A case the server answers with 400 "unsupported_parameter" is skipped,
with the server's message, rather than passed.
"""

import base64
import json
import math
import os
import struct
import unittest
import urllib.request

import openai

BASE = os.environ["OWL_BASE_URL"]
AUTH_BASE = os.environ["OWL_AUTH_BASE_URL"]
AUTH_KEY = os.environ["OWL_AUTH_KEY"]
MODEL = os.environ["OWL_MODEL"]
MODELS = os.environ["OWL_MODELS"].split(",")
CTX = int(os.environ["OWL_CTX"])
MAX_BODY = int(os.environ["OWL_MAX_BODY"])
EMBD = int(os.environ["OWL_EMBD"])

# Token 0 and 2 are the end-of-generation tokens of the test models (</s>,
# <|endoftext|>, <|im_end|>): banning them makes lengths exact.
NO_EOS = {"0": -100, "2": -100}
MSGS = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Name three colors."},
]

# Structured output and tool calls that even a random-weight model
# completes: enums and bounded integers.
SCHEMA = {
    "type": "object",
    "properties": {
        "color": {"type": "string", "enum": ["red", "green", "blue"]},
        "count": {"type": "integer", "minimum": 0, "maximum": 9},
    },
    "required": ["color", "count"],
    "additionalProperties": False,
}
TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "enum": ["Paris", "Rome"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "days"],
            "additionalProperties": False,
        },
    },
}]

client = openai.OpenAI(base_url=BASE, api_key="not-needed", max_retries=0, timeout=120)


def unsupported(test, err):
    """Skip when the server says the feature is not supported (yet)."""
    if isinstance(err, openai.BadRequestError) and err.code == "unsupported_parameter":
        test.skipTest("server: " + str(err.message))
    raise err


class Models(unittest.TestCase):
    def test_list(self):
        page = client.models.list()
        ids = [m.id for m in page]
        for m in MODELS:
            self.assertIn(m, ids)
        self.assertTrue(all(m.object == "model" and m.owned_by for m in page))

    def test_retrieve(self):
        m = client.models.retrieve(MODEL)
        self.assertEqual(m.id, MODEL)
        self.assertIsInstance(m.created, int)

    def test_retrieve_unknown(self):
        with self.assertRaises(openai.NotFoundError) as cm:
            client.models.retrieve("no-such-model")
        self.assertEqual(cm.exception.status_code, 404)


class Chat(unittest.TestCase):
    def greedy(self, model, n=6, **kw):
        return client.chat.completions.create(
            model=model, messages=MSGS, max_tokens=n, temperature=0, logit_bias=NO_EOS, **kw
        )

    def test_non_stream(self):
        for model in MODELS:
            with self.subTest(model=model):
                r = self.greedy(model)
                self.assertTrue(r.id.startswith("chatcmpl-"))
                self.assertEqual(r.object, "chat.completion")
                self.assertEqual(r.model, model)
                self.assertTrue(r.system_fingerprint.startswith("fp_"))
                self.assertIsInstance(r.created, int)
                c = r.choices[0]
                self.assertEqual(c.index, 0)
                self.assertEqual(c.message.role, "assistant")
                self.assertIsInstance(c.message.content, str)
                self.assertEqual(c.finish_reason, "length")
                self.assertEqual(r.usage.completion_tokens, 6)
                self.assertGreater(r.usage.prompt_tokens, 5)
                self.assertEqual(r.usage.total_tokens, r.usage.prompt_tokens + 6)

    def test_stream(self):
        for model in MODELS:
            with self.subTest(model=model):
                whole = self.greedy(model)
                stream = self.greedy(model, stream=True, stream_options={"include_usage": True})
                ids, text, roles, finish, usage = set(), "", [], None, None
                for chunk in stream:
                    ids.add(chunk.id)
                    self.assertEqual(chunk.object, "chat.completion.chunk")
                    if chunk.usage is not None:
                        usage = chunk.usage
                        self.assertEqual(chunk.choices, [])
                    for c in chunk.choices:
                        if c.delta.role:
                            self.assertEqual(text, "")
                            roles.append(c.delta.role)
                        text += c.delta.content or ""
                        finish = c.finish_reason or finish
                self.assertEqual(len(ids), 1)
                self.assertEqual(roles, ["assistant"])
                self.assertEqual(text, whole.choices[0].message.content)
                self.assertEqual(finish, "length")
                self.assertEqual(usage.completion_tokens, 6)
                self.assertEqual(usage.prompt_tokens, whole.usage.prompt_tokens)

    def test_max_completion_tokens_length(self):
        r = client.chat.completions.create(
            model=MODEL, messages=MSGS, max_completion_tokens=3, logit_bias=NO_EOS, seed=1
        )
        self.assertEqual(r.choices[0].finish_reason, "length")
        self.assertEqual(r.usage.completion_tokens, 3)

    def test_stop(self):
        text = self.greedy(MODEL, n=24).choices[0].message.content
        self.assertGreaterEqual(len(text), 8, text)
        stop = text[len(text) // 2 : len(text) // 2 + 2]
        r = self.greedy(MODEL, n=24, stop=[stop, "\x00never"])
        self.assertEqual(r.choices[0].message.content, text[: text.index(stop)])
        self.assertEqual(r.choices[0].finish_reason, "stop")

    def test_n2(self):
        r = client.chat.completions.create(
            model=MODEL, messages=MSGS, max_tokens=8, n=2, temperature=1.0, seed=3, logit_bias=NO_EOS
        )
        self.assertEqual([c.index for c in r.choices], [0, 1])
        self.assertEqual(r.usage.completion_tokens, 16)

    def test_seed(self):
        def once():
            return client.chat.completions.create(
                model=MODEL, messages=MSGS, max_tokens=12, temperature=1.2, seed=1234, logit_bias=NO_EOS
            ).choices[0].message.content

        self.assertEqual(once(), once())

    def test_logprobs(self):
        r = self.greedy(MODEL, logprobs=True, top_logprobs=2)
        lp = r.choices[0].logprobs.content
        self.assertEqual(len(lp), r.usage.completion_tokens)
        for t in lp:
            self.assertLessEqual(t.logprob, 0)
            self.assertEqual(len(t.top_logprobs), 2)
            self.assertEqual(t.top_logprobs[0].token, t.token)  # greedy
            self.assertIsInstance(t.bytes, list)

    def test_json_schema(self):
        # Enums and bounded numbers: even a random-weight model finishes.
        for model in MODELS:
            with self.subTest(model=model):
                try:
                    r = client.chat.completions.create(
                        model=model, messages=MSGS, max_tokens=200, seed=5,
                        response_format={"type": "json_schema", "json_schema": {"name": "pick", "schema": SCHEMA, "strict": True}},
                    )
                except openai.BadRequestError as e:
                    unsupported(self, e)
                self.assertEqual(r.choices[0].finish_reason, "stop")
                v = json.loads(r.choices[0].message.content)
                self.assertEqual(sorted(v), ["color", "count"])
                self.assertIn(v["color"], ["red", "green", "blue"])
                self.assertIsInstance(v["count"], int)
                self.assertTrue(0 <= v["count"] <= 9)

    def test_json_object(self):
        try:
            r = client.chat.completions.create(
                model=MODEL, messages=MSGS, max_tokens=300, seed=1, response_format={"type": "json_object"},
            )
        except openai.BadRequestError as e:
            unsupported(self, e)
        c = r.choices[0]
        if c.finish_reason == "stop":
            self.assertIsInstance(json.loads(c.message.content), dict)
        else:  # out of tokens inside the object: still a prefix of one
            self.assertTrue(c.message.content.lstrip().startswith("{"), c.message.content)

    def test_tools(self):
        for model in MODELS:
            with self.subTest(model=model):
                try:
                    r = client.chat.completions.create(
                        model=model, messages=[{"role": "user", "content": "Weather in Paris?"}],
                        tools=TOOLS, tool_choice="required", parallel_tool_calls=False, max_tokens=200, seed=2,
                    )
                except openai.BadRequestError as e:
                    unsupported(self, e)
                c = r.choices[0]
                self.assertEqual(c.finish_reason, "tool_calls")
                self.assertEqual(len(c.message.tool_calls), 1)
                call = c.message.tool_calls[0]
                self.assertTrue(call.id)
                self.assertEqual(call.type, "function")
                self.assertEqual(call.function.name, "get_weather")
                args = json.loads(call.function.arguments)
                self.assertIn(args["city"], ["Paris", "Rome"])
                self.assertTrue(1 <= args["days"] <= 7)

    def test_tools_stream(self):
        try:
            stream = client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "Weather in Paris?"}],
                tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_weather"}},
                parallel_tool_calls=False, max_tokens=200, seed=3, stream=True,
            )
            calls, finish = {}, None
            for chunk in stream:
                for ch in chunk.choices:
                    for d in ch.delta.tool_calls or []:
                        c = calls.setdefault(d.index, {"id": "", "name": "", "arguments": ""})
                        c["id"] += d.id or ""
                        c["name"] += (d.function.name or "") if d.function else ""
                        c["arguments"] += (d.function.arguments or "") if d.function else ""
                    finish = ch.finish_reason or finish
        except openai.BadRequestError as e:
            unsupported(self, e)
        self.assertEqual(finish, "tool_calls")
        self.assertEqual(list(calls), [0])
        self.assertEqual(calls[0]["name"], "get_weather")
        self.assertIn(json.loads(calls[0]["arguments"])["city"], ["Paris", "Rome"])


class Completions(unittest.TestCase):
    def test_basic(self):
        for model in MODELS:
            with self.subTest(model=model):
                r = client.completions.create(model=model, prompt="Once upon a time", max_tokens=5, temperature=0, logit_bias=NO_EOS)
                self.assertTrue(r.id.startswith("cmpl-"))
                self.assertEqual(r.object, "text_completion")
                self.assertEqual(r.choices[0].finish_reason, "length")
                self.assertEqual(r.usage.completion_tokens, 5)

    def test_stream(self):
        kw = dict(model=MODEL, prompt="Once upon a time", max_tokens=8, temperature=0, logit_bias=NO_EOS)
        whole = client.completions.create(**kw).choices[0].text
        text = "".join(c.choices[0].text for c in client.completions.create(stream=True, **kw) if c.choices)
        self.assertEqual(text, whole)

    def test_prompts_and_n(self):
        r = client.completions.create(model=MODEL, prompt=["a", "b c"], n=2, max_tokens=2, logit_bias=NO_EOS)
        self.assertEqual([c.index for c in r.choices], [0, 1, 2, 3])
        self.assertEqual(r.usage.completion_tokens, 8)

    def test_token_prompt_echo_logprobs(self):
        r = client.completions.create(model=MODEL, prompt="The sky is", max_tokens=3, temperature=0, echo=True, logprobs=2, logit_bias=NO_EOS)
        c = r.choices[0]
        self.assertTrue(c.text.startswith("The sky is"), c.text)
        self.assertEqual(len(c.logprobs.tokens), r.usage.prompt_tokens + 3)
        self.assertIsNone(c.logprobs.token_logprobs[0])
        self.assertTrue(all(x <= 0 for x in c.logprobs.token_logprobs[1:]))


class Embeddings(unittest.TestCase):
    def assert_unit(self, v, size):
        self.assertEqual(len(v), size)
        self.assertAlmostEqual(math.sqrt(math.fsum(x * x for x in v)), 1.0, places=5)

    def test_embeddings(self):
        texts = ["hello", "world", "hello"]
        r = client.embeddings.create(model=MODEL, input=texts)
        self.assertEqual(r.object, "list")
        self.assertEqual(r.model, MODEL)
        self.assertEqual([d.index for d in r.data], [0, 1, 2])
        for d in r.data:
            self.assertEqual(d.object, "embedding")
            self.assert_unit(d.embedding, EMBD)
        self.assertEqual(r.data[0].embedding, r.data[2].embedding)
        self.assertNotEqual(r.data[0].embedding, r.data[1].embedding)
        # Usage: the same tokens a completion's prompt counts.
        want = sum(client.completions.create(model=MODEL, prompt=t, max_tokens=1).usage.prompt_tokens for t in texts)
        self.assertEqual(r.usage.prompt_tokens, want)
        self.assertEqual(r.usage.total_tokens, want)

        # The client asks for base64 unless told otherwise and decodes it;
        # floats as JSON numbers and base64 left to us carry the same
        # float32 values.
        f = client.embeddings.create(model=MODEL, input=texts, encoding_format="float")
        b = client.embeddings.create(model=MODEL, input=texts, encoding_format="base64")
        for i in range(len(texts)):
            as32 = [struct.unpack("<f", struct.pack("<f", x))[0] for x in f.data[i].embedding]
            self.assertEqual(as32, r.data[i].embedding)
            raw = base64.b64decode(b.data[i].embedding)
            self.assertEqual(len(raw), 4 * EMBD)
            self.assertEqual(list(struct.unpack("<%df" % EMBD, raw)), r.data[i].embedding)
        # Token ids, and dimensions equal to the model's.
        ids = client.embeddings.create(model=MODEL, input=[[1, 15043], [1, 3186]], dimensions=EMBD)
        self.assertEqual(ids.usage.prompt_tokens, 4)
        for d in ids.data:
            self.assert_unit(d.embedding, EMBD)
        for m in MODELS:
            one = client.embeddings.create(model=m, input="The sky is blue.")
            self.assertGreater(one.usage.prompt_tokens, 0)
            self.assert_unit(one.data[0].embedding, len(one.data[0].embedding))

    def test_embedding_errors(self):
        with self.assertRaises(openai.BadRequestError) as cm:
            client.embeddings.create(model=MODEL, input="hello", dimensions=EMBD // 2)
        self.assertEqual(cm.exception.param, "dimensions")
        with self.assertRaises(openai.BadRequestError) as cm:
            client.embeddings.create(model=MODEL, input=[[1] * (CTX + 5)])
        self.assertEqual(cm.exception.code, "context_length_exceeded")
        self.assertIn("5 more", cm.exception.message)


class Errors(unittest.TestCase):
    def test_bad_value(self):
        with self.assertRaises(openai.BadRequestError) as cm:
            client.chat.completions.create(model=MODEL, messages=MSGS, temperature=5)
        self.assertEqual(cm.exception.param, "temperature")

    def test_bad_type(self):
        with self.assertRaises(openai.BadRequestError) as cm:
            client.chat.completions.create(model=MODEL, messages=MSGS, extra_body={"n": "two"})
        self.assertEqual(cm.exception.param, "n")

    def test_unknown_model(self):
        with self.assertRaises(openai.NotFoundError) as cm:
            client.chat.completions.create(model="no-such-model", messages=MSGS)
        self.assertEqual(cm.exception.code, "model_not_found")

    def test_context_overflow(self):
        with self.assertRaises(openai.BadRequestError) as cm:
            client.chat.completions.create(model=MODEL, messages=MSGS, max_tokens=CTX)
        self.assertEqual(cm.exception.code, "context_length_exceeded")
        self.assertIn("more than fit", cm.exception.message)

    def test_too_large(self):
        with self.assertRaises(openai.APIStatusError) as cm:
            client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x" * (MAX_BODY + 1)}])
        self.assertEqual(cm.exception.status_code, 413)


class Auth(unittest.TestCase):
    def test_missing_or_wrong_key(self):
        for key in ["wrong", ""]:
            c = openai.OpenAI(base_url=AUTH_BASE, api_key=key or "x", max_retries=0,
                              default_headers={"Authorization": ""} if not key else None)
            with self.assertRaises(openai.AuthenticationError):
                c.models.list()

    def test_key(self):
        c = openai.OpenAI(base_url=AUTH_BASE, api_key=AUTH_KEY, max_retries=0)
        r = c.chat.completions.create(model=c.models.list().data[0].id, messages=MSGS, max_tokens=2)
        self.assertEqual(r.object, "chat.completion")

    def test_health_open(self):
        with urllib.request.urlopen(AUTH_BASE.removesuffix("/v1") + "/health") as res:
            self.assertEqual(res.status, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
