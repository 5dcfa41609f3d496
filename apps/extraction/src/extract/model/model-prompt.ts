import type { ExtractedValue, JobFieldInput } from '@app/contracts';
import { PARSERS } from '../data-types';

/**
 * The model engine's side that needs no network: the JSON schema the model must answer in
 * (one object per field: the value as written and the quoted text it was read from), the
 * prompt with the document's text cut to the token budget, and the check of each answer
 * against the document (a value whose quote the document does not contain is kept but not
 * believed).
 */

export const SYSTEM_PROMPT = [
  'You extract values from a document for the fields listed.',
  'Answer only from the document text; never guess or compute a value the document does not print.',
  'For each field give `value` as the document writes it and `quote`: the exact span of the document it is read from, copied character for character (a label and its value, or the value alone).',
  'When the document does not give a field, `value` and `quote` are null.',
].join(' ');

/** The structured-output schema: every field an object {value, quote}, all required (strict mode). */
export function answerSchema(fields: JobFieldInput[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const f of fields)
    properties[f.name] = {
      type: 'object',
      additionalProperties: false,
      required: ['value', 'quote'],
      properties: {
        value: {
          type: ['string', 'null'],
          description: `${f.dataType}${f.description ? `: ${f.description}` : ''}`,
        },
        quote: {
          type: ['string', 'null'],
          description: 'the exact text of the document the value is read from',
        },
      },
    };
  return {
    type: 'object',
    additionalProperties: false,
    required: fields.map((f) => f.name),
    properties,
  };
}

/** A rough token count (about four characters a token for Latin text; never below 1 per word). */
export function estimateTokens(text: string): number {
  return Math.max(Math.ceil(text.length / 4), text.split(/\s+/).filter(Boolean).length);
}

/**
 * The user message: the fields, then the document's lines in reading order (three spaces
 * part columns), as many lines as fit `budget` tokens with the rest of the prompt.
 */
export function userPrompt(
  fields: JobFieldInput[],
  lines: string[],
  budget: number,
): { text: string; linesSent: number } {
  const head = [
    'Fields:',
    ...fields.map((f) => `- ${f.name} (${f.dataType})${f.description ? `: ${f.description}` : ''}`),
    '',
    'Document (lines in reading order; three spaces separate columns):',
  ].join('\n');
  let left = budget - estimateTokens(SYSTEM_PROMPT) - estimateTokens(head) - 50;
  const kept: string[] = [];
  for (const line of lines) {
    const cost = estimateTokens(line) + 1;
    if (cost > left) break;
    kept.push(line);
    left -= cost;
  }
  return { text: `${head}\n${kept.join('\n')}`, linesSent: kept.length };
}

/** Text compared loosely: composed, case-folded, dashes and quotes unified, spaces collapsed. */
export function looseText(s: string): string {
  return s
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[‐-―−]/g, '-')
    .replace(/[‘’‚′]/g, "'")
    .replace(/[“”„″]/g, '"')
    .replace(/\s+/g, ' ')
    .trim();
}

export interface ModelAnswer {
  value: string | null;
  quote: string | null;
}

/** Confidence of a supported answer, and of one the document does not support. */
export const SUPPORTED_CONFIDENCE = 0.9;
export const UNSUPPORTED_CONFIDENCE = 0.1;

/**
 * Each answer normalised by the field's type parser, then checked: its quote must be in the
 * document, and the value must be read from the quote (the parsed quote gives the same value,
 * or the value's text is in it). An answer that fails is kept with `unsupported` and a low
 * confidence; one that does not parse as its type is no value.
 */
export function checkAnswers(
  fields: JobFieldInput[],
  answers: Record<string, ModelAnswer | undefined>,
  documentText: string,
): Record<string, ExtractedValue> {
  const doc = looseText(documentText);
  const out: Record<string, ExtractedValue> = {};
  for (const f of fields) {
    const a = answers[f.name];
    const parse = PARSERS[f.dataType];
    const value = typeof a?.value === 'string' ? a.value.trim() : '';
    const quote = typeof a?.quote === 'string' ? a.quote.trim() : '';
    const parsed = value ? (parse(value) ?? (quote ? parse(quote) : null)) : null;
    if (!parsed) {
      out[f.name] = { value: null, confidence: 0, raw: null, source: 'model' };
      continue;
    }
    const q = looseText(quote);
    const fromQuote = quote ? parse(quote) : null;
    const supported =
      q.length > 0 &&
      doc.includes(q) &&
      ((fromQuote !== null && JSON.stringify(fromQuote.value) === JSON.stringify(parsed.value)) ||
        q.includes(looseText(value)));
    out[f.name] = supported
      ? {
          value: parsed.value,
          confidence: Math.round(SUPPORTED_CONFIDENCE * parsed.quality * 100) / 100,
          raw: quote,
          source: 'model',
        }
      : {
          value: parsed.value,
          confidence: UNSUPPORTED_CONFIDENCE,
          raw: quote || value,
          source: 'model',
          unsupported: true,
        };
  }
  return out;
}
