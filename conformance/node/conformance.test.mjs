// owl serve driven by the official `openai` npm package, unmodified.
// run.sh starts the servers and sets the OWL_* variables (see
// ../python/test_conformance.py for their meaning). A case the server
// answers with 400 "unsupported_parameter" is skipped with its message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const env = process.env;
const MODEL = env.OWL_MODEL;
const MODELS = env.OWL_MODELS.split(',');
const CTX = Number(env.OWL_CTX);
const MAX_BODY = Number(env.OWL_MAX_BODY);
const NO_EOS = { 0: -100, 2: -100 }; // the test models' end-of-generation tokens
const MSGS = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Name three colors.' },
];
const client = new OpenAI({ baseURL: env.OWL_BASE_URL, apiKey: 'not-needed', maxRetries: 0, timeout: 120000 });

const greedy = (model, n = 6, extra = {}) =>
  client.chat.completions.create({ model, messages: MSGS, max_tokens: n, temperature: 0, logit_bias: NO_EOS, ...extra });

async function orSkip(t, fn) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof OpenAI.BadRequestError && e.code === 'unsupported_parameter') {
      t.skip(`server: ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

test('models list and retrieve', async () => {
  const ids = [];
  for await (const m of client.models.list()) {
    assert.equal(m.object, 'model');
    ids.push(m.id);
  }
  for (const m of MODELS) assert.ok(ids.includes(m), `${m} in ${ids}`);
  const m = await client.models.retrieve(MODEL);
  assert.equal(m.id, MODEL);
  await assert.rejects(client.models.retrieve('no-such-model'), OpenAI.NotFoundError);
});

test('chat, non-streaming', async () => {
  for (const model of MODELS) {
    const r = await greedy(model);
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, model);
    assert.match(r.system_fingerprint, /^fp_/);
    assert.equal(typeof r.created, 'number');
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(typeof r.choices[0].message.content, 'string');
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage.completion_tokens, 6);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 6);
  }
});

test('chat, streaming', async () => {
  for (const model of MODELS) {
    const whole = await greedy(model);
    const stream = await greedy(model, 6, { stream: true, stream_options: { include_usage: true } });
    const ids = new Set();
    let text = '', roles = [], finish = null, usage = null;
    for await (const chunk of stream) {
      ids.add(chunk.id);
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (chunk.usage) {
        usage = chunk.usage;
        assert.deepEqual(chunk.choices, []);
      }
      for (const c of chunk.choices) {
        if (c.delta.role) {
          assert.equal(text, '');
          roles.push(c.delta.role);
        }
        text += c.delta.content ?? '';
        finish = c.finish_reason ?? finish;
      }
    }
    assert.equal(ids.size, 1);
    assert.deepEqual(roles, ['assistant']);
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(finish, 'length');
    assert.equal(usage.completion_tokens, 6);
    assert.equal(usage.prompt_tokens, whole.usage.prompt_tokens);
  }
});

test('chat stream helper (runner) collects the final message', async () => {
  const runner = client.chat.completions.stream({ model: MODEL, messages: MSGS, max_tokens: 5, temperature: 0, logit_bias: NO_EOS });
  const final = await runner.finalChatCompletion();
  const whole = await greedy(MODEL, 5);
  assert.equal(final.choices[0].message.content, whole.choices[0].message.content);
});

test('stop and max_tokens', async () => {
  const text = (await greedy(MODEL, 24)).choices[0].message.content;
  assert.ok(text.length >= 8, text);
  const stop = text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 2);
  const r = await greedy(MODEL, 24, { stop: [stop, '\u0000never'] });
  assert.equal(r.choices[0].message.content, text.slice(0, text.indexOf(stop)));
  assert.equal(r.choices[0].finish_reason, 'stop');
  const l = await client.chat.completions.create({ model: MODEL, messages: MSGS, max_completion_tokens: 3, logit_bias: NO_EOS, seed: 1 });
  assert.equal(l.choices[0].finish_reason, 'length');
  assert.equal(l.usage.completion_tokens, 3);
});

test('n=2 and seed reproducibility', async () => {
  const ask = () => client.chat.completions.create({ model: MODEL, messages: MSGS, max_tokens: 8, n: 2, temperature: 1.2, seed: 99, logit_bias: NO_EOS });
  const a = await ask(), b = await ask();
  assert.deepEqual(a.choices.map((c) => c.index), [0, 1]);
  assert.equal(a.usage.completion_tokens, 16);
  assert.deepEqual(a.choices.map((c) => c.message.content), b.choices.map((c) => c.message.content));
});

test('chat logprobs', async () => {
  const r = await greedy(MODEL, 6, { logprobs: true, top_logprobs: 2 });
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, r.usage.completion_tokens);
  for (const t of lp) {
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 2);
    assert.equal(t.top_logprobs[0].token, t.token);
  }
});

// Structured output and tool calls that even a random-weight model
// completes: enums and bounded integers.
const SCHEMA = {
  type: 'object',
  properties: { color: { type: 'string', enum: ['red', 'green', 'blue'] }, count: { type: 'integer', minimum: 0, maximum: 9 } },
  required: ['color', 'count'],
  additionalProperties: false,
};
const TOOLS = [{
  type: 'function',
  function: {
    name: 'get_weather', description: 'Weather of a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', enum: ['Paris', 'Rome'] }, days: { type: 'integer', minimum: 1, maximum: 7 } },
      required: ['city', 'days'], additionalProperties: false,
    },
  },
}];

test('json_schema output validates', async (t) => {
  for (const model of MODELS) {
    const r = await orSkip(t, () => client.chat.completions.create({
      model, messages: MSGS, max_tokens: 200, seed: 5,
      response_format: { type: 'json_schema', json_schema: { name: 'pick', schema: SCHEMA, strict: true } },
    }));
    if (!r) return;
    assert.equal(r.choices[0].finish_reason, 'stop');
    const v = JSON.parse(r.choices[0].message.content);
    assert.deepEqual(Object.keys(v).sort(), ['color', 'count']);
    assert.ok(['red', 'green', 'blue'].includes(v.color));
    assert.ok(Number.isInteger(v.count) && v.count >= 0 && v.count <= 9);
  }
});

test('tools: a tool call comes back parsed, whole and streamed', async (t) => {
  for (const model of MODELS) {
    const r = await orSkip(t, () => client.chat.completions.create({
      model, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: TOOLS, tool_choice: 'required',
      parallel_tool_calls: false, max_tokens: 200, seed: 2,
    }));
    if (!r) return;
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    assert.equal(r.choices[0].message.tool_calls.length, 1);
    const call = r.choices[0].message.tool_calls[0];
    assert.equal(call.function.name, 'get_weather');
    assert.ok(['Paris', 'Rome'].includes(JSON.parse(call.function.arguments).city));
  }
  // The SDK's stream runner assembles tool-call deltas.
  const runner = client.chat.completions.stream({
    model: MODEL, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: TOOLS,
    tool_choice: { type: 'function', function: { name: 'get_weather' } }, parallel_tool_calls: false, max_tokens: 200, seed: 3,
  });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  const call = final.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  assert.ok(['Paris', 'Rome'].includes(JSON.parse(call.function.arguments).city));
});

test('completions', async () => {
  for (const model of MODELS) {
    const r = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 5, temperature: 0, logit_bias: NO_EOS });
    assert.match(r.id, /^cmpl-/);
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage.completion_tokens, 5);
  }
  const kw = { model: MODEL, prompt: 'Once upon a time', max_tokens: 8, temperature: 0, logit_bias: NO_EOS };
  const whole = (await client.completions.create(kw)).choices[0].text;
  let text = '';
  for await (const c of await client.completions.create({ ...kw, stream: true })) text += c.choices[0]?.text ?? '';
  assert.equal(text, whole);
  const e = await client.completions.create({ model: MODEL, prompt: 'The sky is', max_tokens: 3, temperature: 0, echo: true, logprobs: 2, logit_bias: NO_EOS });
  assert.ok(e.choices[0].text.startsWith('The sky is'));
  assert.equal(e.choices[0].logprobs.tokens.length, e.usage.prompt_tokens + 3);
  assert.equal(e.choices[0].logprobs.token_logprobs[0], null);
  const many = await client.completions.create({ model: MODEL, prompt: ['a', 'b c'], n: 2, max_tokens: 2, logit_bias: NO_EOS });
  assert.deepEqual(many.choices.map((c) => c.index), [0, 1, 2, 3]);
});

test('embeddings', async () => {
  const EMBD = Number(env.OWL_EMBD);
  const unit = (v, size) => {
    assert.equal(v.length, size);
    assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5, `norm ${Math.hypot(...v)}`);
  };
  const texts = ['hello', 'world', 'hello'];
  // The client asks for base64 unless told otherwise, and decodes it.
  const r = await client.embeddings.create({ model: MODEL, input: texts });
  assert.equal(r.object, 'list');
  assert.equal(r.model, MODEL);
  assert.deepEqual(r.data.map((d) => d.index), [0, 1, 2]);
  for (const d of r.data) {
    assert.equal(d.object, 'embedding');
    unit(d.embedding, EMBD);
  }
  assert.deepEqual(r.data[0].embedding, r.data[2].embedding);
  assert.notDeepEqual(r.data[0].embedding, r.data[1].embedding);
  let want = 0;
  for (const text of texts) want += (await client.completions.create({ model: MODEL, prompt: text, max_tokens: 1 })).usage.prompt_tokens;
  assert.equal(r.usage.prompt_tokens, want);
  assert.equal(r.usage.total_tokens, want);
  // JSON numbers and raw base64 carry the same float32 values.
  const f = await client.embeddings.create({ model: MODEL, input: texts, encoding_format: 'float' });
  const b = await client.embeddings.create({ model: MODEL, input: texts, encoding_format: 'base64' });
  for (let i = 0; i < texts.length; i++) {
    assert.deepEqual(Array.from(Float32Array.from(f.data[i].embedding)), Array.from(r.data[i].embedding));
    const raw = Buffer.from(b.data[i].embedding, 'base64');
    assert.equal(raw.length, 4 * EMBD);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.length);
    const vals = Array.from({ length: EMBD }, (_, k) => dv.getFloat32(4 * k, true));
    assert.deepEqual(vals, Array.from(r.data[i].embedding));
  }
  const ids = await client.embeddings.create({ model: MODEL, input: [[1, 15043], [1, 3186]], dimensions: EMBD });
  assert.equal(ids.usage.prompt_tokens, 4);
  for (const d of ids.data) unit(d.embedding, EMBD);
  for (const m of MODELS) {
    const one = await client.embeddings.create({ model: m, input: 'The sky is blue.' });
    assert.ok(one.usage.prompt_tokens > 0);
    unit(one.data[0].embedding, one.data[0].embedding.length);
  }
  await assert.rejects(client.embeddings.create({ model: MODEL, input: 'hello', dimensions: EMBD / 2 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'dimensions');
  await assert.rejects(client.embeddings.create({ model: MODEL, input: [new Array(CTX + 5).fill(1)] }),
    (e) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded' && e.message.includes('5 more'));
});

test('bad requests: 400, 404, 413, context overflow', async () => {
  await assert.rejects(client.chat.completions.create({ model: MODEL, messages: MSGS, temperature: 5 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'temperature');
  await assert.rejects(client.chat.completions.create({ model: MODEL, messages: MSGS, n: 'two' }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'n');
  await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages: MSGS }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
  await assert.rejects(client.chat.completions.create({ model: MODEL, messages: MSGS, max_tokens: CTX }),
    (e) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded');
  await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(MAX_BODY + 1) }] }),
    (e) => e instanceof OpenAI.APIError && e.status === 413);
});

test('auth on and off', async () => {
  const wrong = new OpenAI({ baseURL: env.OWL_AUTH_BASE_URL, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(wrong.models.list(), OpenAI.AuthenticationError);
  const right = new OpenAI({ baseURL: env.OWL_AUTH_BASE_URL, apiKey: env.OWL_AUTH_KEY, maxRetries: 0 });
  const r = await right.chat.completions.create({ model: 'tiny', messages: MSGS, max_tokens: 2 });
  assert.equal(r.object, 'chat.completion');
  const health = await fetch(env.OWL_AUTH_BASE_URL.replace(/\/v1$/, '') + '/health');
  assert.equal(health.status, 200);
});
