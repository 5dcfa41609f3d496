import type { ExtractedValue, JobFieldInput } from '@app/contracts';
import { PARSERS, type Parsed, SELF_EVIDENT } from './data-types';

/** Labels a field's value may follow: its name in words, and any `hints:` in its description. */
export function labelsOf(field: JobFieldInput): string[] {
  const words = field.name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_\-.]+/g, ' ')
    .trim()
    .toLowerCase();
  const hints = /hints?\s*:\s*(.+)$/im.exec(field.description ?? '')?.[1] ?? '';
  const out = [
    words,
    ...hints
      .split(/[,;|]/)
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  ];
  // Longest first, so "invoice date" wins over "date".
  return [...new Set(out)].sort((a, b) => b.length - a.length);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The text after a label on a line: up to the next wide gap (a column break). */
function afterLabel(line: string, label: string): { rest: string; colon: boolean } | null {
  const re = new RegExp(
    `(?:^|[^a-z0-9])${escape(label).replace(/ /g, '\\s+')}\\s*(#|no\\.?)?\\s*([:=\\-–]?)`,
    'i',
  );
  const m = re.exec(line);
  if (!m) return null;
  const rest = line.slice(m.index + m[0].length).replace(/^\s+/, '');
  return { rest: rest.split(/\s{3,}/)[0] ?? '', colon: m[2] !== '' };
}

/**
 * Rule-based extraction of typed fields from a document's text lines: a value is looked for
 * after one of the field's labels (same line, else the next), then parsed by its data type;
 * a few types distinctive enough (emails, dates, ...) are also taken when the document holds
 * exactly one of them. Confidence says which of those paths found the value and how cleanly
 * it parsed; a field not found is `null` with confidence 0.
 */
export function extractFields(
  lines: string[],
  fields: JobFieldInput[],
): Record<string, ExtractedValue> {
  const out: Record<string, ExtractedValue> = {};
  for (const field of fields) {
    out[field.name] = extractOne(lines, field);
  }
  return out;
}

function extractOne(lines: string[], field: JobFieldInput): ExtractedValue {
  const parse = PARSERS[field.dataType];
  if (!parse) return { value: null, confidence: 0, raw: null };
  for (const label of labelsOf(field)) {
    for (let i = 0; i < lines.length; i++) {
      const hit = afterLabel(lines[i], label);
      if (!hit) continue;
      let found: Parsed | null = hit.rest ? parse(hit.rest) : null;
      let base = hit.colon ? 0.95 : 0.85;
      if (!found && i + 1 < lines.length) {
        found = parse(lines[i + 1].split(/\s{3,}/)[0]);
        base = 0.75;
      }
      if (found) {
        let value = found.value;
        // An address often runs onto a second line: "City, ST 12345".
        if (
          field.dataType === 'address' &&
          i + 1 < lines.length &&
          !/\b\d{5}\b/.test(String(value))
        ) {
          const next = lines[i + 1].trim();
          if (/\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b/.test(next)) value = `${String(value)}, ${next}`;
        }
        return { value, confidence: round(base * found.quality), raw: found.raw };
      }
    }
  }
  if (SELF_EVIDENT.has(field.dataType)) {
    const seen = new Map<string, Parsed>();
    for (const line of lines) {
      for (const chunk of line.split(/\s{3,}/)) {
        const p = parse(chunk);
        if (p) seen.set(JSON.stringify(p.value), p);
      }
    }
    if (seen.size >= 1) {
      const p = [...seen.values()][0];
      return {
        value: p.value,
        confidence: round((seen.size === 1 ? 0.6 : 0.3) * p.quality),
        raw: p.raw,
      };
    }
  }
  return { value: null, confidence: 0, raw: null };
}

const round = (n: number) => Math.round(n * 100) / 100;
