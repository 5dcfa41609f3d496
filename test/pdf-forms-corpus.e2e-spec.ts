import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corpusFile, describeWithCorpus, testServiceConfig } from '@app/testing';
import { pdfWorkflowSchema } from '../apps/pdf-workflow/src/config';
import { PdfWorkflowService } from '../apps/pdf-workflow/src/pdf-workflow.module';
import type { FormField } from '../apps/pdf-workflow/src/pdf/pdf-forms';
import { PdfPool } from '../apps/pdf-workflow/src/pdf/pdf-pool';
import { startGateway, startService, startSim } from './harness';
import { checkboxMarks, inspectFinal } from './pdf-tools';

const KEY = 'forms-corpus-test-key-0123456789';
const PREFIX = 'pwc.';

/** Names as people type them, one per script the platform must draw. */
const NAMES = [
  'Łukasz Wiśniewski',
  'Ελένη Παπαδοπούλου',
  'Иван Петров',
  '王小明',
  'محمد علي',
  'דוד כהן',
];

/** Real forms (see the corpus README); the encrypted-with-a-password one is refused apart. */
const FORMS = [
  'pdflib_dod_character.pdf',
  'pdflib_fancy_fields.pdf',
  'pdflib_form_to_flatten.pdf',
  'pdflib_sample_form.pdf',
  'pdflib_with_combed_fields.pdf',
  'pdflib_with_xfa_fields.pdf',
  'irs_fw9_conmecto.pdf',
  'irs_f1040_siegric.pdf',
  'uscis_i-765.pdf',
  'uscis_i-765_unlocked.pdf',
  'uscis_i-485_unlocked.pdf',
];

/**
 * A value for every field: a name where it fits the box, else something shorter that does
 * (asked of the service's own worker pool, as a save would: the fonts and layout stay off
 * this process's event loop, which also runs the gateway and the service).
 */
async function answers(pool: PdfPool, fields: FormField[]): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  const texts = fields.filter((f) => f.type === 'text');
  const candidates = (f: FormField, i: number) =>
    [NAMES[i % NAMES.length], 'Ab 12', 'X1', '7'].filter(
      (v) => [...v].length <= (f.maxLength ?? Infinity),
    );
  const tries = texts.flatMap((f, i) => candidates(f, i).map((value) => ({ field: f, value })));
  const problems = await pool.check(tries);
  tries.forEach((t, i) => {
    if (problems[i] === null && !out.has(t.field.name)) out.set(t.field.name, t.value);
  });
  fields.forEach((f, i) => {
    if (f.type === 'checkbox')
      out.set(f.name, i % 3 !== 2); // both states seen drawn
    else if (f.type === 'radio' || f.type === 'dropdown')
      out.set(f.name, f.options![f.options!.length - 1]);
    else if (f.type === 'listbox')
      out.set(f.name, f.multiSelect ? f.options!.slice(0, 2) : [f.options![0]]);
    else if (f.type === 'signature') out.set(f.name, 'Eleanor Rigby');
  });
  return out;
}

describeWithCorpus('pdf-workflow on real forms', ['forms', 'uscis_i-485_unlocked.pdf'], () => {
  let sim: FastifyInstance;
  let services: NestFastifyApplication[];
  let gateway: NestFastifyApplication;
  let storageRoot: string;

  const call = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object, key = true) =>
    gateway.inject({
      method,
      url,
      headers: key ? { 'x-api-key': KEY } : {},
      ...(payload ? { payload } : {}),
    });

  beforeAll(async () => {
    const sm = await startSim();
    sim = sm.app;
    storageRoot = await mkdtemp(join(tmpdir(), 'pwc-storage-'));
    const config = testServiceConfig(
      {
        MESSAGING_PREFIX: PREFIX,
        STORAGE_ROOT: storageRoot,
        NOTIFY_URL: `${sm.url}/notify`,
        LINK_SECRET: 'a-test-link-secret-of-at-least-32-characters',
        JOBS_ENABLED: 'false',
        RENDER_TICK_SECONDS: '1',
      },
      pdfWorkflowSchema,
    );
    services = await startService(PdfWorkflowService, config);
    gateway = await startGateway({
      MESSAGING_PREFIX: PREFIX,
      DEV_API_KEY: KEY,
      STORAGE_ROOT: storageRoot,
    });
  });

  afterAll(async () => {
    await gateway?.close();
    for (const s of services ?? []) await s.close();
    await sim?.close();
    await rm(storageRoot, { recursive: true, force: true });
  });

  it.each(FORMS)(
    '%s: every field filled by several recipients, nothing left fillable, sound and sealed',
    async (file) => {
      const original = readFileSync(corpusFile('forms', file)!);
      const pool = services[0].get(PdfPool);
      const fields = await pool.fields(original);
      expect(fields.length).toBeGreaterThan(0);
      const values = await answers(pool, fields);
      // At least two recipients, at most 200 fields each (the gateway's cap).
      const n = Math.max(2, Math.ceil(fields.length / 200));
      const share = fields.map((f) => f.name).filter((name) => values.get(name) !== undefined);
      const parts = Array.from({ length: n }, (_, i) => share.filter((_, j) => j % n === i));
      const created = await call('POST', '/api/v1/workflows', {
        pdfBase64: original.toString('base64'),
        recipients: parts.map((p, i) => ({
          type: 'CUSTOM',
          name: `Recipient ${i + 1}`,
          email: `r${i}@example.org`,
          fields: p,
        })),
      });
      expect(created.statusCode).toBe(201);
      const { workflow, links } = created.json<{
        workflow: { id: string; originalSha256: string };
        links: Array<{ url: string }>;
      }>();
      // The original is kept as uploaded, byte for byte (an encrypted one too).
      expect(workflow.originalSha256).toBe(createHash('sha256').update(original).digest('hex'));
      for (const [i, l] of links.entries()) {
        const url = new URL(l.url).pathname;
        const formData = Object.fromEntries(parts[i].map((name) => [name, values.get(name)]));
        const saved = await call('PATCH', `${url}/form-data`, { formData }, false);
        expect(saved.json()).toMatchObject({ workflowId: workflow.id });
        expect(saved.statusCode).toBe(200);
        expect((await call('POST', `${url}/complete`, undefined, false)).statusCode).toBe(200);
      }
      let doc = await call('GET', `/api/v1/workflows/${workflow.id}/document`);
      for (let i = 0; doc.statusCode === 409 && i < 600; i++) {
        await new Promise((r) => setTimeout(r, 100));
        doc = await call('GET', `/api/v1/workflows/${workflow.id}/document`);
      }
      expect(doc.statusCode).toBe(200);
      const final = await inspectFinal(doc.rawPayload);
      expect(final.liveFields).toEqual([]);
      expect(final.qpdfOk).toBe(true);
      expect(final.popplerErrors).not.toMatch(/XRef/i);
      expect(final.qpdfCheck).toContain('No syntax or stream encoding errors found');
      expect(final.signature).toContain('Signature Validation: Signature is Valid.');
      // Every script's name that went into some field is on the page as text.
      const used = new Set([...values.values()].filter((v) => typeof v === 'string'));
      for (const name of NAMES.filter((x) => used.has(x)))
        expect(final.text.replace(/\s+/g, ' ')).toContain(name.split(' ')[0]);
      // Every checkbox is drawn in the state it was given (the forms' defaults differ).
      const boxes = fields.filter((f) => f.type === 'checkbox').map((f) => f.name);
      if (boxes.length) {
        const empty = await pool.fill(
          original,
          Object.fromEntries(boxes.map((b) => [b, false])),
          false,
        );
        const marks = await checkboxMarks(original, empty, doc.rawPayload, boxes);
        expect(marks.filter((m) => m.drawn !== values.get(m.name)).map((m) => m.name)).toEqual([]);
        expect(marks.filter((m) => m.drawn).length).toBeGreaterThan(0);
      }
    },
    120_000,
  );

  it('refuses a PDF that needs a password to open, in its own words', async () => {
    const locked = readFileSync(corpusFile('forms', 'pdflib_encrypted_new.pdf')!);
    const res = await call('POST', '/api/v1/workflows', {
      pdfBase64: locked.toString('base64'),
      recipients: [{ type: 'CUSTOM', name: 'A', email: 'a@example.org', fields: [] }],
    });
    expect(res.json()).toMatchObject({
      status: 422,
      detail:
        'the PDF is protected by a password needed to open it; upload a copy that opens without one',
    });
  });
});
