import type { JobFieldInput } from '@app/contracts';
import { answerSchema, checkAnswers, userPrompt } from './model-prompt';

const FIELDS: JobFieldInput[] = [
  { name: 'invoice_number', dataType: 'text' },
  { name: 'total', dataType: 'currency', description: 'hints: Gesamtbetrag' },
  { name: 'invoice_date', dataType: 'date' },
];
const DOC = [
  'Muster GmbH   Rechnung',
  'Rechnungsnummer: RE-2026-0042   Datum: 05.11.2026',
  'Gesamtbetrag   1.469,13 EUR',
].join('\n');

describe('the model engine without the network', () => {
  it('asks for every field as {value, quote} in a strict schema', () => {
    const s = answerSchema(FIELDS) as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<
        string,
        { required: string[]; properties: { value: { description: string } } }
      >;
    };
    expect(s.required).toEqual(['invoice_number', 'total', 'invoice_date']);
    expect(s.additionalProperties).toBe(false);
    expect(s.properties.total.required).toEqual(['value', 'quote']);
    expect(s.properties.total.properties.value.description).toBe('currency: hints: Gesamtbetrag');
  });

  it('believes answers the document quotes, normalised by type; demotes one it does not', () => {
    const got = checkAnswers(
      FIELDS,
      {
        invoice_number: { value: 'RE-2026-0042', quote: 'Rechnungsnummer: RE-2026-0042' },
        total: { value: '1.469,13 EUR', quote: 'Gesamtbetrag   1.469,13 EUR' },
        // Plausible, and nowhere in the document.
        invoice_date: { value: '2026-11-06', quote: 'Datum: 06.11.2026' },
      },
      DOC,
    );
    expect(got.invoice_number).toMatchObject({ value: 'RE-2026-0042', source: 'model' });
    expect(got.invoice_number.confidence).toBeGreaterThanOrEqual(0.9);
    expect(got.invoice_number.unsupported).toBeUndefined();
    expect(got.total.value).toEqual({ amount: 1469.13, currency: 'EUR' });
    expect(got.invoice_date).toMatchObject({
      value: '2026-11-06',
      unsupported: true,
      confidence: 0.1,
    });
  });

  it('demotes a quote that is in the document but does not hold the value', () => {
    const got = checkAnswers(
      [FIELDS[1]],
      { total: { value: '2.000,00 EUR', quote: 'Gesamtbetrag' } },
      DOC,
    );
    expect(got.total).toMatchObject({ unsupported: true, confidence: 0.1 });
  });

  it('gives no value for a null answer or one that is not its type', () => {
    const got = checkAnswers(
      FIELDS,
      {
        invoice_number: { value: null, quote: null },
        invoice_date: { value: 'soon', quote: 'soon' },
      },
      DOC,
    );
    expect(got.invoice_number).toMatchObject({ value: null, confidence: 0 });
    expect(got.invoice_date).toMatchObject({ value: null, confidence: 0 });
    expect(got.total).toMatchObject({ value: null, confidence: 0 });
  });

  it('cuts the document to the token budget, whole lines only', () => {
    const lines = Array.from(
      { length: 1000 },
      (_, i) => `line ${i} of a long terms and conditions page`,
    );
    const { text, linesSent } = userPrompt(FIELDS, lines, 500);
    expect(linesSent).toBeGreaterThan(10);
    expect(linesSent).toBeLessThan(1000);
    expect(text).toContain(`line ${linesSent - 1} of`);
    expect(text).not.toContain(`line ${linesSent} of`);
  });
});
