import { Inject, Injectable } from '@nestjs/common';
import OpenAI, { APIError } from 'openai';
import type { ExtractedValue, JobFieldInput, ModelUsage } from '@app/contracts';
import { SERVICE_CONFIG } from '@app/service-kit';
import type { ExtractionConfig } from '../../config';
import { documentCurrency } from '../extractor';
import {
  answerSchema,
  checkAnswers,
  type ModelAnswer,
  SYSTEM_PROMPT,
  userPrompt,
} from './model-prompt';

/** A model's refusal that asking again would not change (a bad request, a refused key). */
export class ModelRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelRefusedError';
  }
}

export interface ModelResult {
  values: Record<string, ExtractedValue>;
  usage: ModelUsage;
  warnings: string[];
}

/**
 * The `model` engine: one chat-completions request per file to any OpenAI-compatible API,
 * answered in the JSON schema of the job's fields (structured output), each answer then
 * normalised by the field's type parser and checked against the document's text. The SDK
 * retries 408/409/429/5xx and timeouts with exponential back-off and jitter (honouring
 * Retry-After) within MODEL_MAX_RETRIES; what still fails is thrown for the task's own retry.
 */
@Injectable()
export class ModelEngine {
  constructor(@Inject(SERVICE_CONFIG) private readonly config: ExtractionConfig) {}

  async extract(
    lines: string[],
    fields: JobFieldInput[],
    defaultCurrency: string | null,
    images: Uint8Array[] = [],
  ): Promise<ModelResult> {
    const c = this.config;
    let requests = 0;
    const client = new OpenAI({
      baseURL: c.MODEL_BASE_URL,
      // Some servers (Ollama, llama.cpp) take no key; the SDK insists on one.
      apiKey: c.MODEL_API_KEY ?? 'none',
      ...(c.MODEL_API_KEY_HEADER === 'api-key' && c.MODEL_API_KEY
        ? { defaultHeaders: { 'api-key': c.MODEL_API_KEY, authorization: null } }
        : {}),
      timeout: c.MODEL_TIMEOUT_MS,
      maxRetries: c.MODEL_MAX_RETRIES,
      // Counts requests, retries included, for the task's record.
      fetch: (url, init) => {
        requests++;
        return fetch(url, init);
      },
    });
    const warnings: string[] = [];
    const prompt = userPrompt(fields, lines, c.MODEL_MAX_INPUT_TOKENS);
    if (prompt.linesSent < lines.length)
      warnings.push(
        `the document's text was cut to ${prompt.linesSent} of ${lines.length} lines to fit MODEL_MAX_INPUT_TOKENS (${c.MODEL_MAX_INPUT_TOKENS})`,
      );
    let completion: OpenAI.Chat.Completions.ChatCompletion;
    try {
      completion = await client.chat.completions.create({
        model: c.MODEL_NAME,
        temperature: 0,
        max_tokens: c.MODEL_MAX_OUTPUT_TOKENS,
        messages: [
          { role: 'system', content: SYSTEM_PROMPT },
          {
            role: 'user',
            // The page images after the text, for a model that reads them (the text is what
            // answers are checked against).
            content: images.length
              ? [
                  { type: 'text', text: prompt.text },
                  ...images.map((png) => ({
                    type: 'image_url' as const,
                    image_url: {
                      url: `data:image/png;base64,${Buffer.from(png).toString('base64')}`,
                    },
                  })),
                ]
              : prompt.text,
          },
        ],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'extracted_fields', strict: true, schema: answerSchema(fields) },
        },
      });
    } catch (err) {
      const status = err instanceof APIError ? (err.status as number | undefined) : undefined;
      if (status !== undefined && isPermanent(status))
        throw new ModelRefusedError(
          `the model API refused the request (${status}): ${(err as Error).message.slice(0, 300)}`,
        );
      throw err;
    }
    const usage: ModelUsage = {
      model: completion.model || c.MODEL_NAME,
      promptTokens: completion.usage?.prompt_tokens ?? 0,
      completionTokens: completion.usage?.completion_tokens ?? 0,
      costUsd: 0,
      requests,
    };
    usage.costUsd =
      Math.round(
        ((usage.promptTokens * c.MODEL_INPUT_USD_PER_MTOK +
          usage.completionTokens * c.MODEL_OUTPUT_USD_PER_MTOK) /
          1e6) *
          1e6,
      ) / 1e6;
    const choice = completion.choices[0];
    let answers: Record<string, ModelAnswer | undefined> = {};
    if (choice?.finish_reason === 'length')
      warnings.push('the model ran out of MODEL_MAX_OUTPUT_TOKENS before it finished its answer');
    else if (choice?.message.refusal)
      warnings.push(`the model declined: ${choice.message.refusal.slice(0, 300)}`);
    else {
      try {
        answers = JSON.parse(choice?.message.content ?? '{}') as typeof answers;
      } catch {
        warnings.push('the model answered with text that is not the JSON asked for');
      }
    }
    const values = checkAnswers(fields, answers, lines.join('\n'));
    // Amounts printed without a currency are in the document's (or the job's) currency.
    const currency = documentCurrency(lines) ?? defaultCurrency;
    for (const f of fields) {
      const money = values[f.name]?.value as { amount?: number; currency?: string | null } | null;
      if (f.dataType === 'currency' && money && money.currency === null && currency)
        values[f.name].value = { ...money, currency };
    }
    return { values, usage, warnings };
  }
}

/** 4xx other than a timeout, a conflict and the rate limit would be refused again. */
function isPermanent(status: number): boolean {
  return status >= 400 && status < 500 && ![408, 409, 429].includes(status);
}
