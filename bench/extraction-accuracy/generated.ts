import { PDFDocument, type PDFFont, type PDFPage, StandardFonts } from 'pdf-lib';
import type { EInvoice } from '../../apps/extraction/src/extract/einvoice';

/**
 * Invoices made here, in four languages and three layouts, with their values known: a second
 * set for bench/extraction-accuracy, reported apart from the corpus (these are our own, so
 * they say how the rules read layouts we chose, not the world's).
 */
type Lang = 'de' | 'fr' | 'en' | 'nl';
type LayoutKind = 'label-colon' | 'header-block' | 'totals-table';

const WORDS: Record<Lang, Record<string, string>> = {
  de: {
    title: 'Rechnung',
    number: 'Rechnungsnummer',
    date: 'Rechnungsdatum',
    due: 'Fällig am',
    net: 'Nettobetrag',
    tax: 'MwSt. 19%',
    total: 'Gesamtbetrag',
    vat: 'USt-IdNr.',
    to: 'Rechnungsempfänger',
  },
  fr: {
    title: 'Facture',
    number: 'Numéro de facture',
    date: 'Date de facture',
    due: "Date d'échéance",
    net: 'Total HT',
    tax: 'TVA 20%',
    total: 'Total TTC',
    vat: 'N° TVA',
    to: 'Client',
  },
  en: {
    title: 'Invoice',
    number: 'Invoice No.',
    date: 'Invoice Date',
    due: 'Due Date',
    net: 'Subtotal',
    tax: 'VAT 20%',
    total: 'Total Due',
    vat: 'VAT Reg No',
    to: 'Bill To',
  },
  nl: {
    title: 'Factuur',
    number: 'Factuurnummer',
    date: 'Factuurdatum',
    due: 'Vervaldatum',
    net: 'Subtotaal',
    tax: 'BTW 21%',
    total: 'Totaal',
    vat: 'BTW-nummer',
    to: 'Klant',
  },
};
const SELLERS = [
  'Nordlicht Handel GmbH',
  'Atelier Lumière SARL',
  'Harbour Tools Ltd',
  'De Molen B.V.',
];
const BUYERS = ['Kunden AG', 'Boutique Marine SAS', 'Riverside Café LLC', 'Bakkerij Jansen'];
const VAT: Record<Lang, (n: number) => string> = {
  de: (n) => `DE${String(100000000 + n * 7919).slice(0, 9)}`,
  fr: (n) => `FR${String(10 + (n % 89))}${String(100000000 + n * 3571).slice(0, 9)}`,
  en: (n) => `GB${String(200000000 + n * 4241).slice(0, 9)}`,
  nl: (n) => `NL${String(300000000 + n * 1237).slice(0, 9)}B01`,
};
const RATE: Record<Lang, number> = { de: 0.19, fr: 0.2, en: 0.2, nl: 0.21 };
const pad = (n: number) => String(n).padStart(2, '0');

function money(lang: Lang, n: number): string {
  const [int, dec] = Math.abs(n).toFixed(2).split('.');
  const sign = n < 0 ? '-' : '';
  if (lang === 'en') return `${sign}£${int.replace(/\B(?=(\d{3})+$)/g, ',')}.${dec}`;
  const grouped = int.replace(/\B(?=(\d{3})+$)/g, lang === 'fr' ? ' ' : '.');
  return lang === 'nl' ? `€ ${sign}${grouped},${dec}` : `${sign}${grouped},${dec} €`;
}

function date(lang: Lang, iso: string, n: number): string {
  const [y, m, d] = iso.split('-');
  if (lang === 'de')
    return n % 2
      ? `${d}.${m}.${y}`
      : `${+d}. ${['Januar', 'Februar', 'März', 'April', 'Mai', 'Juni', 'Juli', 'August', 'September', 'Oktober', 'November', 'Dezember'][+m - 1]} ${y}`;
  if (lang === 'fr') return `${d}/${m}/${y}`;
  if (lang === 'nl') return `${d}-${m}-${y}`;
  return n % 2
    ? `${d}/${m}/${y}`
    : `${+d} ${['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'][+m - 1]} ${y}`;
}

export interface Generated {
  name: string;
  pdf: Buffer;
  truth: EInvoice;
}

/** The n-th generated invoice: language, layout and values vary with n. */
export async function generatedInvoice(n: number): Promise<Generated> {
  const lang = (['de', 'fr', 'en', 'nl'] as Lang[])[n % 4];
  const layout = (['label-colon', 'header-block', 'totals-table'] as LayoutKind[])[
    Math.floor(n / 4) % 3
  ];
  const w = WORDS[lang];
  const net = Math.round((120 + n * 73.17) * 100) / 100;
  const tax = Math.round(net * RATE[lang] * 100) / 100;
  const total = Math.round((net + tax) * 100) / 100;
  // Day 13 or later: a date read in the wrong order is impossible, not silently wrong.
  const issue = `2026-${pad(1 + (n % 12))}-${pad(13 + (n % 14))}`;
  const due = `2026-${pad(1 + ((n + 1) % 12))}-${pad(14 + (n % 14))}`;
  const truth: EInvoice = {
    syntax: 'CII',
    sellerName: SELLERS[n % 4],
    invoiceNumber: `${['RE', 'FA', 'INV', 'F'][n % 4]}-2026-${String(1000 + n * 37)}`,
    issueDate: issue,
    dueDate: due,
    currency: lang === 'en' ? 'GBP' : 'EUR',
    net,
    tax,
    total,
    sellerVatId: VAT[lang](n),
    buyerName: BUYERS[n % 4],
  };
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const page = doc.addPage([595, 842]);
  const text = (s: string, x: number, y: number, f: PDFFont = font, size = 10) =>
    page.drawText(s, { x, y, size, font: f });
  // Letterhead: the seller, large, with its address; the buyer in the window.
  text(truth.sellerName!, 50, 790, bold, 16);
  text(
    `Hauptstraße ${10 + n} · 1000${n % 10} Stadt · ${w.vat} ${truth.sellerVatId}`,
    50,
    772,
    font,
    8,
  );
  text(w.to, 50, 720, bold);
  text(truth.buyerName!, 50, 706);
  text(`${20 + n} Market Street`, 50, 692);
  const rows: Array<[string, string]> = [
    [w.number, truth.invoiceNumber!],
    [w.date, date(lang, issue, n)],
    [w.due, date(lang, due, n + 1)],
  ];
  if (layout === 'header-block') {
    // Labels over their values, in columns to the right.
    rows.forEach(([label, value], i) => {
      text(label, 300 + i * 95, 720, bold, 8);
      text(value, 300 + i * 95, 706, font, 9);
    });
  } else {
    rows.forEach(([label, value], i) => {
      text(`${label}${layout === 'label-colon' ? ':' : ''}`, 330, 720 - i * 16, bold);
      text(value, 450, 720 - i * 16);
    });
  }
  text(w.title, 50, 640, bold, 14);
  lines(page, font, n, lang);
  const sums: Array<[string, string]> = [
    [w.net, money(lang, net)],
    [w.tax, money(lang, tax)],
    [w.total, money(lang, total)],
  ];
  sums.forEach(([label, value], i) => {
    const y = 420 - i * 16;
    text(
      `${label}${layout === 'label-colon' ? ':' : ''}`,
      layout === 'totals-table' ? 330 : 50,
      y,
      i === 2 ? bold : font,
    );
    text(value, 470, y, i === 2 ? bold : font);
  });
  text(`IBAN DE89 3704 0044 0532 0130 00 · ${w.vat}: ${truth.sellerVatId}`, 50, 80, font, 8);
  return {
    name: `generated-${lang}-${layout}-${n}`,
    pdf: Buffer.from(await doc.save()),
    truth,
  };
}

/** A few line items, in a table with its own header (a column of amounts the totals are not). */
function lines(page: PDFPage, font: PDFFont, n: number, lang: Lang): void {
  const head = {
    de: ['Pos', 'Beschreibung', 'Menge', 'Betrag'],
    fr: ['Pos', 'Désignation', 'Qté', 'Montant'],
    en: ['Item', 'Description', 'Qty', 'Amount'],
    nl: ['Nr', 'Omschrijving', 'Aantal', 'Bedrag'],
  }[lang];
  [50, 90, 350, 470].forEach((x, i) => page.drawText(head[i], { x, y: 610, size: 9, font }));
  for (let i = 0; i < 3; i++) {
    const y = 592 - i * 14;
    page.drawText(String(i + 1), { x: 50, y, size: 9, font });
    page.drawText(`Service ${String.fromCharCode(65 + i)}-${n}`, { x: 90, y, size: 9, font });
    page.drawText(String(1 + ((n + i) % 5)), { x: 350, y, size: 9, font });
    page.drawText(money(lang, 10 + i * 3.5), { x: 470, y, size: 9, font });
  }
}
