import type { DataTypeId } from '@app/contracts';

/** A value read from text, with how well it fits its type (0..1). */
export interface Parsed {
  value: unknown;
  raw: string;
  quality: number;
}

/** How a document writes what is ambiguous: 05/11/2017 is 5 November in most of Europe. */
export interface ParseOptions {
  dayFirst?: boolean;
}

/**
 * Month names and their usual abbreviations in English, German, French and Dutch, by their
 * first letters (longest first, so "juil" is July before "jui" could be anything).
 */
const MONTH_PREFIXES: Array<[string, number]> = (
  [
    ['janv', 1],
    ['jan', 1],
    ['fév', 2],
    ['fev', 2],
    ['feb', 2],
    ['mär', 3],
    ['maa', 3],
    ['mars', 3],
    ['mar', 3],
    ['avr', 4],
    ['apr', 4],
    ['mai', 5],
    ['may', 5],
    ['mei', 5],
    ['juin', 6],
    ['jun', 6],
    ['juil', 7],
    ['jul', 7],
    ['aoû', 8],
    ['aou', 8],
    ['aug', 8],
    ['sep', 9],
    ['okt', 10],
    ['oct', 10],
    ['nov', 11],
    ['déc', 12],
    ['dec', 12],
    ['dez', 12],
  ] as Array<[string, number]>
).sort((a, b) => b[0].length - a[0].length);
const MONTH_WORD = '\\p{L}{3,10}';
export const CURRENCY_SYMBOLS: Record<string, string> = {
  $: 'USD',
  '€': 'EUR',
  '£': 'GBP',
  '¥': 'JPY',
  '₹': 'INR',
};
export const CURRENCY_CODES = [
  'USD',
  'EUR',
  'GBP',
  'CAD',
  'AUD',
  'JPY',
  'CHF',
  'MXN',
  'INR',
  'SEK',
  'NOK',
  'DKK',
  'PLN',
  'CZK',
  'HUF',
  'CNY',
  'BRL',
  'ZAR',
  'NZD',
  'SGD',
  'HKD',
];

const pad = (n: number) => String(n).padStart(2, '0');

function isoDate(y: number, m: number, d: number): string | null {
  if (y < 100) y += y < 70 ? 2000 : 1900;
  const t = new Date(Date.UTC(y, m - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d) return null;
  return `${y}-${pad(m)}-${pad(d)}`;
}

function monthOf(word: string): number {
  const w = word.toLowerCase();
  // "march", "märz", "maart", "mars" all start "mar"/"mär"/"maa"; "mai"/"may"/"mei" too short to clash.
  return MONTH_PREFIXES.find(([p]) => w.startsWith(p))?.[1] ?? 0;
}

function toNumber(s: string): number | null {
  const neg = /^\(.*\)$/.test(s.trim()) || s.trim().startsWith('-');
  let t = s.replace(/[^\d.,]/g, '');
  // A decimal comma ("1.234,50", "99,5") reads as European; commas otherwise group thousands.
  const lastComma = t.lastIndexOf(',');
  if (lastComma > t.lastIndexOf('.') && !/,\d{3}$/.test(t))
    t = t.replace(/\./g, '').replace(',', '.');
  const digits = t.replace(/,/g, '');
  if (!/\d/.test(digits) || (digits.match(/\./g) ?? []).length > 1) return null;
  const n = Number(digits);
  return Number.isFinite(n) ? (neg ? -n : n) : null;
}

/**
 * Finds the first value of a type in a piece of text. Each parser normalises what it finds
 * (ISO dates, E.164-like phones, numbers without separators) and says how unambiguous it was.
 */
export const PARSERS: Record<DataTypeId, (s: string, opts?: ParseOptions) => Parsed | null> = {
  text(s) {
    const v = s.trim();
    return v ? { value: v, raw: v, quality: 1 } : null;
  },
  identifier(s) {
    // The token with a digit in it that starts the text (invoice numbers, references), not
    // the rest of the line: "562044387 du 02 Juillet 2015" is 562044387. One word may come
    // first ("Nr. 4711"); an identifier further on belongs to something else.
    let words = 0;
    for (const m of s.matchAll(/[\p{L}\p{N}][\p{L}\p{N}./_-]*[\p{L}\p{N}]|\p{N}/gu)) {
      if (!/\p{N}/u.test(m[0])) {
        if (++words > 1) return null;
        continue;
      }
      // A date or an amount is not an identifier.
      if (/^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$|^\d{4}-\d{2}-\d{2}$|^\d+,\d{2}$/.test(m[0])) continue;
      return { value: m[0], raw: m[0], quality: /\p{L}/u.test(m[0]) || m[0].length >= 4 ? 1 : 0.7 };
    }
    return null;
  },
  name(s) {
    const m = /[A-Za-z][A-Za-z.'-]*(?:[ ,]+[A-Za-z][A-Za-z.'-]*){0,5}/.exec(s);
    if (!m) return null;
    const v = m[0].replace(/\s+/g, ' ').trim();
    return { value: v, raw: m[0], quality: v.includes(' ') ? 1 : 0.8 };
  },
  address(s) {
    const v = s.replace(/\s+/g, ' ').trim();
    if (!v || !/\d/.test(v) || !/[A-Za-z]/.test(v)) return null;
    return { value: v, raw: s.trim(), quality: /\b\d{5}(?:-\d{4})?\b/.test(v) ? 1 : 0.8 };
  },
  email(s) {
    const m = /[A-Z0-9._%+-]+@[A-Z0-9-]+(?:\.[A-Z0-9-]+)*\.[A-Z]{2,}/i.exec(s);
    return m ? { value: m[0].toLowerCase(), raw: m[0], quality: 1 } : null;
  },
  phone(s) {
    const m = /(\+?\d[\d\s().-]{5,}\d)/.exec(s);
    if (!m) return null;
    // Dates look like phone numbers to a digit counter.
    if (/^\d{4}-\d{1,2}-\d{1,2}$|^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$/.test(m[1].trim())) return null;
    const digits = m[1].replace(/\D/g, '');
    if (digits.length < 7 || digits.length > 15) return null;
    return { value: m[1].trim().startsWith('+') ? `+${digits}` : digits, raw: m[1], quality: 1 };
  },
  url(s) {
    const m = /\b(?:https?:\/\/[^\s<>"]+|www\.[^\s<>"]+)/i.exec(s);
    if (!m) return null;
    try {
      const u = new URL(m[0].startsWith('http') ? m[0] : `https://${m[0]}`);
      return { value: u.toString(), raw: m[0], quality: 1 };
    } catch {
      return null;
    }
  },
  number(s) {
    const m = /\(?[-+]?\d[\d,]*(?:\.\d+)?\)?/.exec(s);
    if (!m) return null;
    const n = toNumber(m[0]);
    return n === null ? null : { value: n, raw: m[0], quality: 1 };
  },
  integer(s) {
    const m = /[-+]?\d[\d,]*(?:\.\d+)?/.exec(s);
    if (!m) return null;
    const n = toNumber(m[0]);
    if (n === null || !Number.isInteger(n)) return null;
    return { value: n, raw: m[0], quality: 1 };
  },
  currency(s) {
    const codes = CURRENCY_CODES.join('|');
    // A symbol or code before the amount ("€ 12,50", "EUR 12.50") or after it ("12,50 €").
    // Thousands may be grouped by spaces ("1 285,45 €", French). The number is not part of a
    // word or identifier ("FR11999999998" holds no amount), nor
    // a percentage.
    const re = new RegExp(
      `(?:\\b(${codes})\\s*)?([$€£¥₹])?\\s*(?<![\\p{L}\\d.,])([-−]?\\(?[-−]?\\d(?:[\\d,.]|[ \\u00a0\\u202f](?=\\d{3}(?!\\d)))*\\d\\)?|\\(?[-−]?\\d\\)?)(?![\\p{L}\\d]|\\s*%)(?:\\s*(?:(${codes})\\b|([$€£¥₹])))?`,
      'iu',
    );
    for (const m of s.matchAll(new RegExp(re.source, 'giu'))) {
      const amount = toNumber(m[3].replace('−', '-'));
      if (amount === null) continue;
      const symbol = m[2] ?? m[5];
      const code = (m[1] ?? m[4])?.toUpperCase() ?? (symbol ? CURRENCY_SYMBOLS[symbol] : undefined);
      return {
        // No symbol or code with it: the document's currency, else unknown (never a guess).
        value: { amount, currency: code ?? null },
        raw: m[0].trim(),
        // A bare number is probably money when the label says so, but says less.
        quality: code ? 1 : 0.7,
      };
    }
    return null;
  },
  percentage(s) {
    const m = /(-?\d+(?:\.\d+)?)\s*(%|percent\b)/i.exec(s);
    if (m) return { value: Number(m[1]), raw: m[0], quality: 1 };
    const n = /-?\d+(?:\.\d+)?/.exec(s);
    return n ? { value: Number(n[0]), raw: n[0], quality: 0.6 } : null;
  },
  date(s, opts) {
    let m = /\b(\d{4})-(\d{1,2})-(\d{1,2})\b/.exec(s);
    if (m) {
      const v = isoDate(+m[1], +m[2], +m[3]);
      if (v) return { value: v, raw: m[0], quality: 1 };
    }
    m = /\b(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})\b/.exec(s);
    if (m) {
      const [a, sep, b, y] = [+m[1], m[2], +m[3], +m[4]];
      // Day first when it must be, month first when it must be; otherwise by separator
      // convention (US slashes, European dots) and less sure of it.
      let v: string | null = null;
      let quality = 1;
      if (a > 12) v = isoDate(y, b, a);
      else if (b > 12) v = isoDate(y, a, b);
      else {
        // The document's locale decides when it is known; else the separator's convention.
        const dayFirst = opts?.dayFirst ?? sep === '.';
        v = dayFirst ? isoDate(y, b, a) : isoDate(y, a, b);
        quality = a === b ? 1 : opts?.dayFirst !== undefined ? 0.9 : 0.75;
      }
      if (v) return { value: v, raw: m[0], quality };
    }
    m = new RegExp(
      `(?<!\\p{L})(${MONTH_WORD})\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?\\s*,?\\s+(\\d{4})\\b`,
      'u',
    ).exec(s);
    if (m && monthOf(m[1])) {
      const v = isoDate(+m[3], monthOf(m[1]), +m[2]);
      if (v) return { value: v, raw: m[0], quality: 1 };
    }
    m = new RegExp(
      `\\b(\\d{1,2})(?:st|nd|rd|th|er)?\\.?[\\s-]+(${MONTH_WORD})\\.?[\\s-]+(\\d{4})\\b`,
      'u',
    ).exec(s);
    if (m && monthOf(m[2])) {
      const v = isoDate(+m[3], monthOf(m[2]), +m[1]);
      if (v) return { value: v, raw: m[0], quality: 1 };
    }
    return null;
  },
  time(s) {
    const m = /\b(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap])?\.?\s?m?\.?(?![a-z])/i.exec(s);
    if (!m) return null;
    let h = +m[1];
    const ampm = m[4]?.toLowerCase();
    if (ampm === 'p' && h < 12) h += 12;
    if (ampm === 'a' && h === 12) h = 0;
    if (h > 23 || +m[2] > 59 || +(m[3] ?? 0) > 59) return null;
    return { value: `${pad(h)}:${m[2]}:${m[3] ?? '00'}`, raw: m[0].trim(), quality: 1 };
  },
  boolean(s) {
    const m = /\b(yes|no|true|false|y|n|checked|unchecked|on|off)\b|([☑☒✓✔☐])/i.exec(s);
    if (!m) return null;
    const w = (m[1] ?? m[2]).toLowerCase();
    return {
      value: ['yes', 'true', 'y', 'checked', 'on', '☑', '☒', '✓', '✔'].includes(w),
      raw: m[0],
      quality: w.length === 1 && /[yn]/.test(w) ? 0.8 : 1,
    };
  },
};

/** Types distinctive enough to be found without a label (the only one in the text). */
export const SELF_EVIDENT: ReadonlySet<DataTypeId> = new Set([
  'email',
  'phone',
  'url',
  'date',
  'time',
  'percentage',
]);
