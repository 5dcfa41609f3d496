import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';

/**
 * A simulator of an OpenAI-compatible chat-completions API (`POST /openai/v1/chat/completions`)
 * for the model engine's tests: it measures the plumbing, not a model. Shapes are OpenAI's
 * (openai/openai-openapi, openapi.yaml: CreateChatCompletionResponse with `usage`, and the
 * `{ error: { message, type, param, code } }` body of its errors; a 429 carries `retry-after`).
 *
 * It answers deterministically from the document text in the prompt: for each property of
 * the request's JSON schema, the field's name and its `hints:` are looked for as a label on a
 * line, and the text after it (to the next column break) is the value, quoted with its label.
 * Tests may make it answer a value the document does not hold (`lies`) and fail requests
 * (`faults`).
 */
export interface OpenAiSimConfig {
  /** Answers for these fields whatever the document says, with a quote it does not hold. */
  lies: Record<string, string>;
  faults: Array<{ status: number; times: number; retryAfterSeconds?: number }>;
}

interface ChatRequest {
  model?: string;
  messages?: Array<{
    role: string;
    content: string | Array<{ type: string; text?: string; image_url?: { url: string } }>;
  }>;
  response_format?: {
    type?: string;
    json_schema?: { name?: string; strict?: boolean; schema?: { properties?: object } };
  };
}

export class OpenAiState {
  config: OpenAiSimConfig = { lies: {}, faults: [] };
  requests: ChatRequest[] = [];

  reset(): void {
    this.config = { lies: {}, faults: [] };
    this.requests = [];
  }
}

const tokens = (s: string) => Math.max(1, Math.ceil(s.length / 4));
/** A message's text: the string, or its text parts (images aside). */
const textOf = (c: NonNullable<ChatRequest['messages']>[number]['content'] | undefined) =>
  typeof c === 'string' ? c : (c ?? []).map((p) => p.text ?? '').join('\n');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The field's labels: its name in words, then the hints its description lists. */
function labels(name: string, description: string): string[] {
  const hints = /hints?\s*:\s*(.+)$/im.exec(description)?.[1] ?? '';
  return [
    ...hints
      .split(/[,;|]/)
      .map((h) => h.trim())
      .filter(Boolean),
    name.replace(/[_\-.]+/g, ' ').trim(),
  ];
}

/** The label's value on the first line holding it: the text after it, to the next wide gap. */
function answer(document: string[], name: string, description: string) {
  for (const label of labels(name, description)) {
    const re = new RegExp(`(${escape(label).replace(/ /g, '\\s+')})\\s*[:#]?\\s*`, 'i');
    for (const line of document) {
      const m = re.exec(line);
      if (!m) continue;
      const value = line
        .slice(m.index + m[0].length)
        .split(/\s{3,}/)[0]
        .trim();
      if (!value) continue;
      return { value, quote: line.slice(m.index, m.index + m[0].length + value.length) };
    }
  }
  return { value: null, quote: null };
}

export function registerOpenAi(app: FastifyInstance): OpenAiState {
  const state = new OpenAiState();
  app.post<{ Body: ChatRequest }>('/openai/v1/chat/completions', async (req, reply) => {
    const body = req.body ?? {};
    state.requests.push(body);
    const fault = state.config.faults[0];
    if (fault) {
      if (--fault.times <= 0) state.config.faults.shift();
      if (fault.retryAfterSeconds !== undefined)
        void reply.header('retry-after', String(fault.retryAfterSeconds));
      return reply.status(fault.status).send({
        error: {
          message:
            fault.status === 429 ? 'Rate limit reached for requests' : 'The server had an error',
          type: fault.status === 429 ? 'requests' : 'server_error',
          param: null,
          code: fault.status === 429 ? 'rate_limit_exceeded' : null,
        },
      });
    }
    const schema = body.response_format?.json_schema?.schema;
    if (body.response_format?.type !== 'json_schema' || !schema?.properties)
      return reply.status(400).send({
        error: {
          message: 'this simulator answers only with response_format json_schema',
          type: 'invalid_request_error',
          param: 'response_format',
          code: null,
        },
      });
    const user = textOf(body.messages?.find((m) => m.role === 'user')?.content);
    const document = user
      .split(/\n/)
      .slice(user.split(/\n/).findIndex((l) => /^Document/.test(l)) + 1);
    const out: Record<string, { value: string | null; quote: string | null }> = {};
    for (const [name, prop] of Object.entries(schema.properties as Record<string, unknown>)) {
      const description =
        (prop as { properties?: { value?: { description?: string } } }).properties?.value
          ?.description ?? '';
      const lie = state.config.lies[name];
      out[name] =
        lie !== undefined
          ? { value: lie, quote: `${name.replace(/_/g, ' ')}: ${lie}` }
          : answer(document, name, description);
    }
    const content = JSON.stringify(out);
    // An image is counted as OpenAI's low-detail tile (85 tokens).
    const images = (body.messages ?? []).flatMap((m) =>
      Array.isArray(m.content) ? m.content.filter((p) => p.type === 'image_url') : [],
    );
    const prompt =
      tokens((body.messages ?? []).map((m) => textOf(m.content)).join('\n')) + 85 * images.length;
    const completion = tokens(content);
    return {
      id: `chatcmpl-${randomBytes(12).toString('hex')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model ?? 'sim-model',
      system_fingerprint: 'fp_sim',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
      },
    };
  });
  app.put<{ Body: Partial<OpenAiSimConfig> }>('/_sim/openai/config', async (req) => {
    state.config = { ...state.config, ...req.body };
    return state.config;
  });
  app.post('/_sim/openai/reset', async () => {
    state.reset();
    return { ok: true };
  });
  return state;
}
