import { CURRENCY_CODES, CURRENCY_SYMBOLS } from './data-types';
import type { TextCell } from './pdf-text';

/** Facts about a whole document the field rules lean on: its currency, language, letterhead. */

/** The currency a document is written in: the symbol or code it prints most often. */
export function documentCurrency(lines: string[]): string | null {
  const counts = new Map<string, number>();
  const codes = new RegExp(`\\b(${CURRENCY_CODES.join('|')})\\b|([$€£¥₹])`, 'g');
  for (const line of lines)
    for (const m of line.matchAll(codes)) {
      const c = m[1] ?? CURRENCY_SYMBOLS[m[2]];
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
  let best: string | null = null;
  for (const [c, n] of counts) if (!best || n > counts.get(best)!) best = c;
  return best;
}

export type Language = 'en' | 'de' | 'fr' | 'nl';

/** Words common on invoices (and in prose) of each language, whole words only. */
const MARKERS: Record<Language, string[]> = {
  en: ['invoice', 'the', 'and', 'total', 'amount', 'due', 'date', 'tax', 'payment', 'bill'],
  de: ['rechnung', 'und', 'der', 'die', 'das', 'betrag', 'summe', 'mwst', 'ust', 'bitte', 'datum'],
  fr: ['facture', 'le', 'la', 'les', 'et', 'des', 'montant', 'tva', 'ttc', 'date', 'paiement'],
  nl: ['factuur', 'het', 'een', 'en', 'van', 'bedrag', 'btw', 'totaal', 'datum', 'betaling'],
};

/**
 * The document's language by the marker words it uses most, and whether its dates put the
 * day first (every language here but English; English invoices from outside the US do too,
 * which the separator then decides).
 */
export function documentLocale(lines: string[]): { language: Language | null; dayFirst?: boolean } {
  const words = new Map<string, number>();
  for (const line of lines.slice(0, 400))
    for (const w of line.toLowerCase().match(/\p{L}+/gu) ?? [])
      words.set(w, (words.get(w) ?? 0) + 1);
  let best: Language | null = null;
  let bestScore = 0;
  for (const [lang, markers] of Object.entries(MARKERS) as Array<[Language, string[]]>) {
    const score = markers.reduce((n, m) => n + (words.get(m) ?? 0), 0);
    if (score > bestScore) [best, bestScore] = [lang, score];
  }
  if (!best || bestScore < 3) return { language: null };
  return best === 'en' ? { language: best } : { language: best, dayFirst: true };
}

/** EU (and UK, Swiss) VAT numbers: a country prefix and its digits, spaces allowed inside. */
const VAT_ID =
  /\b(AT ?U\d{8}|BE ?[01]\d{9}|BG ?\d{9,10}|CHE[- ]?\d{3}\.?\d{3}\.?\d{3}|CY ?\d{8}[A-Z]|CZ ?\d{8,10}|DE ?\d{3} ?\d{3} ?\d{3}|DK ?\d{8}|EE ?\d{9}|EL ?\d{9}|ES ?[A-Z0-9]\d{7}[A-Z0-9]|FI ?\d{8}|FR ?[A-Z0-9]{2} ?\d{9}|GB ?\d{9}(?:\d{3})?|HR ?\d{11}|HU ?\d{8}|IE ?\d[A-Z0-9+*]\d{5}[A-Z]{1,2}|IT ?\d{11}|LT ?\d{9,12}|LU ?\d{8}|LV ?\d{11}|MT ?\d{8}|NL ?\d{9}B\d{2}|PL ?\d{10}|PT ?\d{9}|RO ?\d{2,10}|SE ?\d{12}|SI ?\d{8}|SK ?\d{10})\b/;

/** The first VAT number in a piece of text, without its spaces. */
export function vatIdIn(s: string): { value: string; raw: string } | null {
  const m = VAT_ID.exec(s.toUpperCase());
  return m ? { value: m[1].replace(/[\s.-]/g, ''), raw: m[1] } : null;
}

/** Words that say a line is about the buyer, not the seller ("your" is the buyer's too). */
export const BUYER_WORDS =
  /(?<!\p{L})(client|customer|kunde|kunden|käufer|acheteur|klant|rechnungsempfänger|buyer|bill to|destinataire|ihre?|your|votre|uw)(?!\p{L})/iu;

/** Legal forms that end a company's name. */
const LEGAL_FORM =
  /(?<![\p{L}])(GmbH|AG|KG|OHG|UG|e\.\s?V\.|a\.\s?G\.|SARL|SAS|SASU|S\.A\.|SA|EURL|SNC|Ltd\.?|Limited|LLC|Inc\.?|Corp\.?|PLC|LLP|B\.V\.|BV|N\.V\.|NV|GbR|S\.r\.l\.|S\.p\.A\.)(?![\p{L}])/u;

export function hasLegalForm(s: string): boolean {
  return LEGAL_FORM.test(s);
}

/**
 * Whether a piece of text can be a party's name: it has a word of letters that is not only
 * a legal form, is not mostly digits, and is not itself a label (a header cell "Käufer").
 */
export function looksLikeName(s: string, isLabel: (t: string) => boolean): boolean {
  const t = s.trim();
  if (t.length < 2 || t.length > 120 || isLabel(t)) return false;
  const letters = (t.match(/\p{L}/gu) ?? []).length;
  const digits = (t.match(/\p{N}/gu) ?? []).length;
  if (letters < 2 || digits > letters) return false;
  const words = t.split(/\s+/).filter((w) => /\p{L}{2,}/u.test(w) && !LEGAL_FORM.test(w));
  return words.length > 0 && !/@|https?:|www\./i.test(t);
}

/**
 * The seller in the letterhead, where invoices put it without a label: among the first
 * lines, the first text with a company's legal form (joined with the line above when the
 * name runs over two lines), else the first line that can be a name. The part before a
 * separator (" - ", " ● ", " | ", ",") is the name; the rest is its address.
 */
export function letterhead(
  lines: string[],
  cells: TextCell[][] | undefined,
  isLabel: (t: string) => boolean,
): { value: string; quality: number } | null {
  const top = Math.min(lines.length, 12);
  const firstCell = (i: number) => (cells?.[i]?.[0]?.text ?? lines[i].split(/\s{3,}/)[0]).trim();
  const head = (s: string) => s.split(/\s+[-–●|•]\s+|,\s/)[0].trim();
  for (let i = 0; i < top; i++) {
    for (const cell of cells?.[i]?.map((c) => c.text) ?? [lines[i]]) {
      const name = head(cell);
      if (!hasLegalForm(name) || !looksLikeName(name, isLabel) || BUYER_WORDS.test(lines[i]))
        continue;
      const above = i > 0 ? firstCell(i - 1) : '';
      // "MVM Musterhafter" over "Versicherungsverein Musterstadt a.G.".
      const joined =
        i === 1 &&
        above &&
        !/\d/.test(above) &&
        looksLikeName(above, isLabel) &&
        !hasLegalForm(above)
          ? `${above} ${name}`
          : name;
      return { value: joined, quality: 0.8 };
    }
  }
  for (let i = 0; i < top; i++) {
    const name = head(firstCell(i));
    if (looksLikeName(name, isLabel) && !/\d/.test(name)) return { value: name, quality: 0.4 };
  }
  return null;
}
