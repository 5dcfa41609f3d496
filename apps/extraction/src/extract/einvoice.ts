import { XMLParser } from 'fast-xml-parser';

/**
 * Structured e-invoices: the XML an invoice carries (Factur-X / ZUGFeRD 2 and XRechnung CII,
 * ZUGFeRD 1.0's CII, UBL 2.1 Invoice and CreditNote) holds its values exactly, so it is read
 * before any text. Paths follow the standards' element names (EN 16931's CII and UBL
 * syntax bindings; ZUGFeRD 1.0's "CrossIndustryDocument" for version 1).
 */
export interface EInvoice {
  syntax: 'CII' | 'CII-ZUGFeRD1' | 'UBL';
  invoiceNumber?: string;
  issueDate?: string;
  dueDate?: string;
  currency?: string;
  net?: number;
  tax?: number;
  total?: number;
  amountDue?: number;
  sellerName?: string;
  sellerVatId?: string;
  buyerName?: string;
  iban?: string;
}

export type Meaning = Exclude<keyof EInvoice, 'syntax'>;

type Node = Record<string, unknown>;

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  // Values stay text: invoice numbers and VAT ids keep their leading zeros.
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
  // An entity bomb in an untrusted file must not expand; DOCTYPEs are refused below anyway.
  htmlEntities: false,
});

export class NotAnEInvoiceError extends Error {}

/** The invoice an XML document holds, or null when it is not a CII or UBL invoice. */
export function readEInvoice(xml: string): EInvoice | null {
  // A DTD has no place in an e-invoice (and is how XML bombs and external entities arrive).
  if (/<!DOCTYPE/i.test(xml.slice(0, 4096))) return null;
  let doc: Node;
  try {
    doc = parser.parse(xml) as Node;
  } catch {
    return null;
  }
  if (isNode(doc.CrossIndustryInvoice)) return cii(doc.CrossIndustryInvoice);
  if (isNode(doc.CrossIndustryDocument)) return cii(doc.CrossIndustryDocument, 'CII-ZUGFeRD1');
  // An early ZUGFeRD draft (namespace CBFBUY:5) already had version 1's structure under "Invoice".
  if (isNode(doc.Invoice) && doc.Invoice.HeaderExchangedDocument !== undefined)
    return cii(doc.Invoice, 'CII-ZUGFeRD1');
  if (isNode(doc.Invoice)) return ubl(doc.Invoice, 'Invoice');
  if (isNode(doc.CreditNote)) return ubl(doc.CreditNote, 'CreditNote');
  return null;
}

/**
 * Whether a file is an e-invoice's XML, by its root element (read from the first kilobytes,
 * comments and the declaration skipped): cheap enough for the RPC loop, the full read is the
 * worker's.
 */
export function isEInvoiceXml(bytes: Buffer): boolean {
  if (!looksLikeXml(bytes)) return false;
  const head = bytes
    .subarray(0, 64 * 1024)
    .toString('utf8')
    .replace(/<\?[\s\S]*?\?>|<!--[\s\S]*?-->/g, '');
  return /^\s*<([A-Za-z_][\w.-]*:)?(CrossIndustryInvoice|CrossIndustryDocument|Invoice|CreditNote)[\s>/]/.test(
    head,
  );
}

/** Whether bytes look like an XML document (a bare e-invoice sent as a file). */
export function looksLikeXml(bytes: Buffer): boolean {
  const head = bytes
    .subarray(0, 512)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  return (
    head.startsWith('<?xml') ||
    /^<([A-Za-z_][\w.-]*:)?(CrossIndustry|Invoice|CreditNote)/.test(head)
  );
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The element at a path of local names; arrays take their first entry (or the matching one). */
function at(n: unknown, ...path: string[]): unknown {
  let cur: unknown = n;
  for (const p of path) {
    if (Array.isArray(cur)) cur = cur[0];
    if (!isNode(cur)) return undefined;
    cur = cur[p];
  }
  return Array.isArray(cur) ? cur[0] : cur;
}

function all(n: unknown, ...path: string[]): unknown[] {
  const parent = at(n, ...path.slice(0, -1));
  if (!isNode(parent)) return [];
  const v = parent[path[path.length - 1]];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function text(v: unknown): string | undefined {
  const s = isNode(v) ? v['#text'] : v;
  if (typeof s !== 'string' && typeof s !== 'number') return undefined;
  const t = String(s).replace(/\s+/g, ' ').trim();
  return t || undefined;
}

function amount(v: unknown): number | undefined {
  const t = text(v);
  if (t === undefined || !/^-?\d+(\.\d+)?$/.test(t)) return undefined;
  return Number(t);
}

/** CII dates: format 102 is YYYYMMDD (the only one EN 16931 allows); 610 is YYYYMM. */
function ciiDate(v: unknown): string | undefined {
  // The element wraps a DateTimeString; the early draft put the digits in it directly.
  const t = text(isNode(v) && v.DateTimeString !== undefined ? at(v, 'DateTimeString') : v);
  if (!t) return undefined;
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(t);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

/** UBL dates are xs:date, which may carry a zone ("2016-04-04+01:00"): the day is kept. */
function ublDate(v: unknown): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?$/.exec(text(v) ?? '');
  return m?.[1];
}

/** The VAT registration among a party's tax registrations (scheme VA), else the first. */
function ciiVatId(party: unknown): string | undefined {
  const regs = all(party, 'SpecifiedTaxRegistration').map((r) => at(r, 'ID'));
  const va = regs.find((id) => isNode(id) && id['@schemeID'] === 'VA');
  return text(va ?? regs[0]);
}

/** TaxTotalAmount may appear once per currency; the invoice currency's is the one. */
function inCurrency(values: unknown[], currency: string | undefined): number | undefined {
  const match = values.find((v) => isNode(v) && v['@currencyID'] === currency);
  return amount(match ?? values[0]);
}

/** Where the currency code is left empty, the totals' own currencyID says it. */
function currencyOf(sum: unknown): string | undefined {
  for (const k of ['GrandTotalAmount', 'TaxBasisTotalAmount', 'DuePayableAmount']) {
    const v = at(sum, k);
    if (isNode(v) && typeof v['@currencyID'] === 'string' && v['@currencyID'])
      return v['@currencyID'];
  }
  return undefined;
}

/** IBANs are compared and kept without the spaces they are printed with. */
function iban(v: unknown): string | undefined {
  return text(v)?.replace(/\s+/g, '').toUpperCase();
}

function compact(inv: EInvoice): EInvoice {
  return Object.fromEntries(Object.entries(inv).filter(([, v]) => v !== undefined)) as EInvoice;
}

/** Where the CII header parts are: D16B names (Factur-X, ZUGFeRD 2) or ZUGFeRD 1.0's. */
const CII_PARTS = {
  CII: {
    doc: 'ExchangedDocument',
    tx: 'SupplyChainTradeTransaction',
    agreement: 'ApplicableHeaderTradeAgreement',
    settlement: 'ApplicableHeaderTradeSettlement',
    sum: 'SpecifiedTradeSettlementHeaderMonetarySummation',
  },
  'CII-ZUGFeRD1': {
    doc: 'HeaderExchangedDocument',
    tx: 'SpecifiedSupplyChainTradeTransaction',
    agreement: 'ApplicableSupplyChainTradeAgreement',
    settlement: 'ApplicableSupplyChainTradeSettlement',
    sum: 'SpecifiedTradeSettlementMonetarySummation',
  },
} as const;

function cii(root: Node, syntax: keyof typeof CII_PARTS = 'CII'): EInvoice {
  const parts = CII_PARTS[syntax];
  const doc = at(root, parts.doc);
  const tx = at(root, parts.tx);
  const agreement = at(tx, parts.agreement);
  const settlement = at(tx, parts.settlement);
  const sum = at(settlement, parts.sum);
  const currency = text(at(settlement, 'InvoiceCurrencyCode')) ?? currencyOf(sum);
  return compact({
    syntax,
    invoiceNumber: text(at(doc, 'ID')),
    issueDate: ciiDate(at(doc, 'IssueDateTime')),
    dueDate: ciiDate(at(settlement, 'SpecifiedTradePaymentTerms', 'DueDateDateTime')),
    currency,
    net: amount(at(sum, 'TaxBasisTotalAmount')),
    tax: inCurrency(all(sum, 'TaxTotalAmount'), currency),
    total: amount(at(sum, 'GrandTotalAmount')),
    amountDue: amount(at(sum, 'DuePayableAmount')),
    sellerName: text(at(agreement, 'SellerTradeParty', 'Name')),
    sellerVatId: ciiVatId(at(agreement, 'SellerTradeParty')),
    buyerName: text(at(agreement, 'BuyerTradeParty', 'Name')),
    iban: iban(
      at(
        settlement,
        'SpecifiedTradeSettlementPaymentMeans',
        'PayeePartyCreditorFinancialAccount',
        'IBANID',
      ),
    ),
  });
}

function ubl(root: Node, kind: 'Invoice' | 'CreditNote'): EInvoice {
  const seller = at(root, 'AccountingSupplierParty', 'Party');
  const buyer = at(root, 'AccountingCustomerParty', 'Party');
  const totals = at(root, 'LegalMonetaryTotal');
  const currency = text(at(root, 'DocumentCurrencyCode'));
  const taxTotals = all(root, 'TaxTotal').map((t) => at(t, 'TaxAmount'));
  const vat = all(seller, 'PartyTaxScheme').find(
    (s) => text(at(s, 'TaxScheme', 'ID'))?.toUpperCase() === 'VAT',
  );
  return compact({
    syntax: 'UBL',
    invoiceNumber: text(at(root, 'ID')),
    issueDate: ublDate(at(root, 'IssueDate')),
    dueDate: ublDate(
      kind === 'Invoice' ? at(root, 'DueDate') : at(root, 'PaymentMeans', 'PaymentDueDate'),
    ),
    currency,
    net: amount(at(totals, 'TaxExclusiveAmount')),
    tax: inCurrency(taxTotals, currency),
    total: amount(at(totals, 'TaxInclusiveAmount')),
    amountDue: amount(at(totals, 'PayableAmount')),
    sellerName:
      text(at(seller, 'PartyLegalEntity', 'RegistrationName')) ??
      text(at(seller, 'PartyName', 'Name')),
    sellerVatId: text(at(vat ?? at(seller, 'PartyTaxScheme'), 'CompanyID')),
    buyerName:
      text(at(buyer, 'PartyLegalEntity', 'RegistrationName')) ??
      text(at(buyer, 'PartyName', 'Name')),
    iban: iban(at(root, 'PaymentMeans', 'PayeeFinancialAccount', 'ID')),
  });
}
