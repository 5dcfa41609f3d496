import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { CopyView } from '@app/contracts';
import { Keyring } from '@app/crypto';
import { serviceDataSource } from '@app/service-kit';
import { eventually, sleep, testServiceConfig } from '@app/testing';
import { hashApiKey } from '../apps/gateway/src/auth/api-keys';
import { formCopiesSchema } from '../apps/form-copies/src/config';
import { FormCopiesService } from '../apps/form-copies/src/form-copies.module';
import { startGateway, startService } from './harness';
import { PATCH_CASES } from './fixtures/json-patch-cases';

const ADMIN = 'copies-admin-key-0123456789';
const WRITER = 'copies-writer-key-0123456789';
const TENANT_B = 'copies-tenant-b-key-0123456789';
const OPERATOR = 'copies-operator-key-0123456789';
const PREFIX = 'fc.';

describe('form-copies through the gateway', () => {
  let services: NestFastifyApplication[];
  let gateway: NestFastifyApplication;
  let ds: DataSource;

  const call = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT',
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
    key = ADMIN,
  ) =>
    gateway.inject({
      method,
      url,
      headers: { 'x-api-key': key, ...headers },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
  const jsonPatch = (
    id: string,
    ops: unknown[],
    version: number | string,
    extra: Record<string, string> = {},
    key = ADMIN,
  ) =>
    call(
      'PATCH',
      `/api/v1/copies/${id}`,
      ops,
      { 'content-type': 'application/json-patch+json', 'if-match': `"${version}"`, ...extra },
      key,
    );
  const owner = () => `owner-${randomUUID().slice(0, 8)}`;

  /** A form whose owner uses copies, with its default copy. */
  /** A form of tenant-a (the ADMIN and WRITER keys' tenant). */
  const newForm = async (document?: object) => {
    const ownerId = owner();
    expect(
      (await call('PUT', `/api/v1/owners/${ownerId}/feature-flags`, { copies: true })).statusCode,
    ).toBe(200);
    const res = await call('POST', '/api/v1/application-forms', {
      ownerId,
      title: 'Main',
      ...(document ? { document } : {}),
    });
    expect(res.statusCode).toBe(201);
    return res.json<{ applicationForm: { id: string; ownerId: string }; defaultCopy: CopyView }>();
  };

  beforeAll(async () => {
    const config = testServiceConfig(
      {
        MESSAGING_PREFIX: PREFIX,
        ENCRYPTION_KEYS: `k1:${Keyring.generateKey()}`,
        SENSITIVE_QUESTION_IDS: 'mqs_fein',
      },
      formCopiesSchema,
    );
    services = await startService(FormCopiesService, config);
    ds = serviceDataSource(FormCopiesService, config);
    await ds.initialize();
    gateway = await startGateway({
      MESSAGING_PREFIX: PREFIX,
      API_KEYS: JSON.stringify([
        {
          id: 'admin',
          sha256: hashApiKey(ADMIN),
          scopes: [
            'copies:read',
            'copies:write',
            'copies:admin',
            'copies:sensitive',
            'copies:clone-to:tenant-b',
            'copies:clone-to:tenant-c',
          ],
          tenant: 'tenant-a',
        },
        {
          id: 'writer',
          sha256: hashApiKey(WRITER),
          scopes: ['copies:read', 'copies:write'],
          tenant: 'tenant-a',
        },
        {
          id: 'tenant-b',
          sha256: hashApiKey(TENANT_B),
          scopes: ['copies:read', 'copies:write', 'copies:admin', 'copies:sensitive'],
          tenant: 'tenant-b',
        },
        {
          id: 'operator',
          sha256: hashApiKey(OPERATOR),
          scopes: ['copies:read', 'platform:admin'],
          tenant: 'ops',
        },
      ]),
    });
  });

  afterAll(async () => {
    await gateway?.close();
    for (const s of services ?? []) await s.close();
    await ds?.destroy();
  });

  it('creates the default copy with the form id only when the owner flag is on', async () => {
    const off = await call('POST', '/api/v1/application-forms', { ownerId: owner() });
    expect(off.json()).toMatchObject({ defaultCopy: null, applicationForm: { usesCopies: false } });
    const offId = off.json<{ applicationForm: { id: string } }>().applicationForm.id;
    expect((await call('POST', `/api/v1/application-forms/${offId}/copies`, {})).statusCode).toBe(
      409,
    );

    const { applicationForm, defaultCopy } = await newForm();
    expect(defaultCopy.id).toBe(applicationForm.id);
    expect(
      (await call('GET', `/api/v1/owners/${applicationForm.ownerId}/feature-flags`)).json(),
    ).toEqual({ ownerId: applicationForm.ownerId, copies: true });
    expect(
      (await call('PUT', `/api/v1/owners/x/feature-flags`, { copies: true }, {}, WRITER))
        .statusCode,
    ).toBe(403);
    expect(defaultCopy.version).toBe(1);
    const second = await call('POST', `/api/v1/application-forms/${applicationForm.id}/copies`, {
      title: 'Alt',
    });
    expect(second.statusCode).toBe(201);
    expect(second.headers.etag).toBe('"1"');
    const list = (await call('GET', `/api/v1/application-forms/${applicationForm.id}/copies`)).json<
      CopyView[]
    >();
    expect(list.map((c) => c.title).sort()).toEqual(['Alt', 'Main']);
  });

  it('patches in Postgres with JSON Patch and merge patch, honours test, and guards every write with If-Match', async () => {
    const { defaultCopy: c } = await newForm();
    const add = await jsonPatch(
      c.id,
      [
        {
          op: 'add',
          path: '/answers/a1',
          value: { id: 'a1', question_id: 'mqs_name', value: 'Acme' },
        },
      ],
      1,
    );
    expect(add.statusCode).toBe(200);
    expect(add.headers.etag).toBe('"2"');
    const merged = await call(
      'PATCH',
      `/api/v1/copies/${c.id}`,
      { answers: { a1: { value: 'Acme Inc' } }, forced_excluded_carrier_product_ids: ['cp1'] },
      { 'content-type': 'application/merge-patch+json', 'if-match': '"2"' },
    );
    expect(merged.statusCode).toBe(200);
    const doc = (await call('GET', `/api/v1/copies/${c.id}`)).json<CopyView>().document as {
      answers: Record<string, { value: string }>;
      forced_excluded_carrier_product_ids: string[];
    };
    expect(doc.answers.a1.value).toBe('Acme Inc');
    expect(doc.forced_excluded_carrier_product_ids).toEqual(['cp1']);

    const stale = await jsonPatch(
      c.id,
      [{ op: 'replace', path: '/answers/a1/value', value: 'x' }],
      2,
    );
    expect(stale.statusCode).toBe(412);
    expect(stale.headers.etag).toBe('"3"');
    const missing = await call(
      'PATCH',
      `/api/v1/copies/${c.id}`,
      [{ op: 'remove', path: '/answers/a1' }],
      { 'content-type': 'application/json-patch+json' },
    );
    expect(missing.statusCode).toBe(428);
    const failedTest = await jsonPatch(
      c.id,
      [
        { op: 'test', path: '/answers/a1/value', value: 'Acme' },
        { op: 'remove', path: '/answers/a1' },
      ],
      3,
    );
    expect(failedTest.statusCode).toBe(409);
    const badPath = await jsonPatch(c.id, [{ op: 'remove', path: '/answers/nope' }], 3);
    expect(badPath.statusCode).toBe(422);
    expect(badPath.headers['content-type']).toContain('application/problem+json');
    // Nothing half-applied: the document is as it was and the version did not move.
    const after = (await call('GET', `/api/v1/copies/${c.id}`)).json<CopyView>();
    expect(after.version).toBe(3);
    expect((after.document as { answers: Record<string, unknown> }).answers.a1).toBeDefined();
  });

  it('loses no accepted update when 50 writers patch one copy at once', async () => {
    const { defaultCopy: c } = await newForm();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        jsonPatch(
          c.id,
          [
            {
              op: 'add',
              path: `/answers/w${i}`,
              value: { id: `w${i}`, question_id: 'q', value: i },
            },
          ],
          1,
        ),
      ),
    );
    const ok = results.filter((r) => r.statusCode === 200);
    const rejected = results.filter((r) => r.statusCode !== 200);
    expect(ok).toHaveLength(1);
    expect(rejected.every((r) => r.statusCode === 412)).toBe(true);

    // Writers that re-read and retry all get in, each exactly once.
    let pending = Array.from({ length: 20 }, (_, i) => i);
    while (pending.length) {
      const v = (await call('GET', `/api/v1/copies/${c.id}`)).json<CopyView>().version;
      const round = await Promise.all(
        pending.map((i) =>
          jsonPatch(
            c.id,
            [
              {
                op: 'add',
                path: `/answers/r${i}`,
                value: { id: `r${i}`, question_id: 'q', value: i },
              },
            ],
            v,
          ),
        ),
      );
      expect(round.every((r) => r.statusCode === 200 || r.statusCode === 412)).toBe(true);
      pending = pending.filter((_, k) => round[k].statusCode !== 200);
    }
    const final = (await call('GET', `/api/v1/copies/${c.id}`)).json<CopyView>();
    const answers = Object.keys((final.document as { answers: object }).answers);
    expect(answers.filter((a) => a.startsWith('r'))).toHaveLength(20);
    expect(answers.filter((a) => a.startsWith('w'))).toHaveLength(1);
    expect(final.version).toBe(1 + 1 + 20);
  });

  it('stores sensitive answers encrypted and shows them only to callers with the scope', async () => {
    const { defaultCopy: c } = await newForm({
      answers: { s1: { id: 's1', question_id: 'mqs_fein', value: '12-3456789' } },
    });
    await jsonPatch(c.id, [{ op: 'replace', path: '/answers/s1/value', value: '98-7654321' }], 1);
    const [row] = await ds.query<Array<{ doc: string }>>(
      `SELECT document::text AS doc FROM form_copies.copies WHERE id = $1`,
      [c.id],
    );
    expect(row.doc).not.toContain('12-3456789');
    expect(row.doc).not.toContain('98-7654321');
    expect(row.doc).toMatch(/"encrypted_value": "v1\.k1\./);
    const admin = (await call('GET', `/api/v1/copies/${c.id}`)).json<CopyView>().document as {
      answers: Record<string, Record<string, unknown>>;
    };
    expect(admin.answers.s1.value).toBe('98-7654321');
    const writer = (
      await call('GET', `/api/v1/copies/${c.id}`, undefined, {}, WRITER)
    ).json<CopyView>().document as { answers: Record<string, Record<string, unknown>> };
    expect(writer.answers.s1).toEqual({ id: 's1', question_id: 'mqs_fein', redacted: true });
    const test = await jsonPatch(
      c.id,
      [{ op: 'test', path: '/answers/s1/value', value: '98-7654321' }],
      2,
    );
    expect(test.statusCode).toBe(422);
  });

  it('never stores a sensitive answer in plaintext, whatever the patch: it is sealed on the patched document', async () => {
    const { defaultCopy: c } = await newForm();
    // The two one-request patches that once left a sensitive value unsealed.
    const addThenValue = await jsonPatch(
      c.id,
      [
        { op: 'add', path: '/answers/s5', value: { id: 's5', question_id: 'mqs_fein' } },
        { op: 'add', path: '/answers/s5/value', value: 'SECRET5' },
      ],
      1,
    );
    expect(addThenValue.statusCode).toBe(200);
    const plainThenRename = await jsonPatch(
      c.id,
      [
        {
          op: 'add',
          path: '/answers/s10',
          value: { id: 's10', question_id: 'holdout_plain_question', value: 'SECRET10' },
        },
        { op: 'replace', path: '/answers/s10/question_id', value: 'mqs_fein' },
      ],
      2,
    );
    expect(plainThenRename.statusCode).toBe(200);
    // Every other way an answer can come to hold a sensitive value in one request.
    const ops: unknown[][] = [
      // copy a plain answer, then make the copy sensitive
      [
        {
          op: 'add',
          path: '/answers/p1',
          value: { id: 'p1', question_id: 'q', value: 'SECRET11' },
        },
        { op: 'copy', from: '/answers/p1', path: '/answers/s11' },
        { op: 'replace', path: '/answers/s11/id', value: 's11' },
        { op: 'replace', path: '/answers/s11/question_id', value: 'mqs_fein' },
        { op: 'remove', path: '/answers/p1' },
      ],
      // move a value into a sensitive answer
      [
        { op: 'add', path: '/scratch', value: 'SECRET12' },
        { op: 'add', path: '/answers/s12', value: { id: 's12', question_id: 'mqs_fein' } },
        { op: 'move', from: '/scratch', path: '/answers/s12/value' },
      ],
      // a sensitive answer inside a pool, added whole
      [
        {
          op: 'add',
          path: '/answer_pools/pool1',
          value: { answers: { s13: { id: 's13', question_id: 'mqs_fein', value: 'SECRET13' } } },
        },
      ],
    ];
    let version = 3;
    for (const patch of ops) {
      const r = await jsonPatch(c.id, patch, version);
      expect(r.statusCode).toBe(200);
      version = r.json<CopyView>().version;
    }
    const merged = await call(
      'PATCH',
      `/api/v1/copies/${c.id}`,
      { answers: { s14: { id: 's14', question_id: 'mqs_fein', value: 'SECRET14' } } },
      { 'content-type': 'application/merge-patch+json', 'if-match': `"${version}"` },
    );
    expect(merged.statusCode).toBe(200);
    const dup = await call('POST', `/api/v1/copies/${c.id}/duplicate`, {});
    expect(dup.statusCode).toBe(201);
    const made = await call('POST', `/api/v1/application-forms/${c.applicationFormId}/copies`, {
      document: { answers: { s15: { id: 's15', question_id: 'mqs_fein', value: 'SECRET15' } } },
    });
    expect(made.statusCode).toBe(201);

    const rows = await ds.query<Array<{ doc: string }>>(
      `SELECT document::text AS doc FROM form_copies.copies`,
    );
    for (const row of rows) expect(row.doc).not.toMatch(/SECRET1?\d/);
    const sealedIn = await ds.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM form_copies.copies c, form_copies.unsealed_sensitive(c.document)`,
    );
    expect(sealedIn[0].n).toBe(0);
    // The scope sees every value; a key without it sees none of them.
    const read = async (key: string) =>
      JSON.stringify(
        (await call('GET', `/api/v1/copies/${c.id}`, undefined, {}, key)).json<CopyView>().document,
      );
    const full = await read(ADMIN);
    for (const n of [5, 10, 11, 12, 13, 14]) expect(full).toContain(`SECRET${n}`);
    expect(await read(WRITER)).not.toMatch(/SECRET/);
    // Any other path to the table meets the same check.
    await expect(
      ds.query(
        `UPDATE form_copies.copies SET document = jsonb_set(document, '{answers,x}', '{"question_id":"mqs_fein","value":"plain"}') WHERE id = $1`,
        [c.id],
      ),
    ).rejects.toThrow('would be stored unsealed');
  });

  it('seals a sensitive value set by merge patch, and refuses to clone a leased copy', async () => {
    const { applicationForm, defaultCopy: c } = await newForm({
      answers: { s2: { id: 's2', question_id: 'mqs_fein', value: '11-1111111' } },
    });
    const merged = await call(
      'PATCH',
      `/api/v1/copies/${c.id}`,
      { answers: { s2: { value: '22-2222222' } } },
      { 'content-type': 'application/merge-patch+json', 'if-match': '"1"' },
    );
    expect(merged.statusCode).toBe(200);
    const [row] = await ds.query<Array<{ doc: string }>>(
      `SELECT document::text AS doc FROM form_copies.copies WHERE id = $1`,
      [c.id],
    );
    expect(row.doc).not.toContain('22-2222222');
    const read = (await call('GET', `/api/v1/copies/${c.id}`)).json<CopyView>().document as {
      answers: Record<string, { value: string }>;
    };
    expect(read.answers.s2.value).toBe('22-2222222');

    expect(
      (await call('POST', `/api/v1/copies/${c.id}/lease`, { holder: 'import', ttlSeconds: 30 }))
        .statusCode,
    ).toBe(201);
    expect(
      (await call('POST', `/api/v1/application-forms/${applicationForm.id}/clone`, {})).statusCode,
    ).toBe(423);
  });

  it('upgrades an old document when read', async () => {
    const { defaultCopy: c } = await newForm();
    await ds.query(
      `UPDATE form_copies.copies SET schema_version = 1, document = $2::jsonb WHERE id = $1`,
      [
        c.id,
        JSON.stringify({
          afqs_list: [],
          answers: [{ id: 'o1', question_id: 'q', value: 'old' }],
          answer_pools: [],
        }),
      ],
    );
    const read = (await call('GET', `/api/v1/copies/${c.id}`)).json<CopyView>();
    expect(read.schemaVersion).toBe(2);
    expect((read.document as { answers: Record<string, { value: string }> }).answers.o1.value).toBe(
      'old',
    );
    const patched = await jsonPatch(
      c.id,
      [{ op: 'replace', path: '/answers/o1/value', value: 'new' }],
      read.version,
    );
    expect(patched.statusCode).toBe(200);
  });

  it('upgrades an old document when written, before the patch applies', async () => {
    const { defaultCopy: c } = await newForm();
    await ds.query(
      `UPDATE form_copies.copies SET schema_version = 1, document = $2::jsonb WHERE id = $1`,
      [
        c.id,
        JSON.stringify({
          afqs_list: [{ id: 'qs1', question_set_id: 'general' }],
          answers: [{ id: 'o2', question_id: 'q', value: 'old' }],
          answer_pools: [],
        }),
      ],
    );
    const patched = await jsonPatch(
      c.id,
      [{ op: 'replace', path: '/answers/o2/value', value: 'new' }],
      1,
    );
    expect(patched.statusCode).toBe(200);
    const [row] = await ds.query<
      Array<{
        schema_version: number;
        document: { afqs: object; answers: Record<string, { value: string }> };
      }>
    >(`SELECT schema_version, document FROM form_copies.copies WHERE id = $1`, [c.id]);
    expect(row.schema_version).toBe(2);
    expect(row.document.answers.o2.value).toBe('new');
    expect(row.document.afqs).toEqual({ qs1: { id: 'qs1', question_set_id: 'general' } });
  });

  it('finds the latest touched copy by application form id, soft deletes, and duplicates', async () => {
    const { applicationForm, defaultCopy } = await newForm();
    const alt = (
      await call('POST', `/api/v1/application-forms/${applicationForm.id}/copies`, { title: 'Alt' })
    ).json<CopyView>();
    await sleep(5);
    await jsonPatch(
      alt.id,
      [{ op: 'add', path: '/answers/x', value: { id: 'x', question_id: 'q', value: 1 } }],
      1,
    );
    // The form id is also the default copy's id, so it resolves to that copy first.
    const byForm = await call('GET', `/api/v1/copies/${applicationForm.id}`);
    expect(byForm.headers['content-location']).toBe(`/api/v1/copies/${defaultCopy.id}`);

    // A deleted copy reads as 404 and leaves every list.
    const gone = (
      await call('POST', `/api/v1/application-forms/${applicationForm.id}/copies`, {
        title: 'Gone',
      })
    ).json<CopyView>();
    expect(
      (await call('DELETE', `/api/v1/copies/${gone.id}`, undefined, { 'if-match': '"1"' }))
        .statusCode,
    ).toBe(204);
    expect((await call('GET', `/api/v1/copies/${gone.id}`)).statusCode).toBe(404);
    expect(
      (await call('DELETE', `/api/v1/copies/${gone.id}`, undefined, { 'if-match': '"2"' }))
        .statusCode,
    ).toBe(404);
    // With the default copy deleted too, the form id means its latest touched live copy.
    expect(
      (await call('DELETE', `/api/v1/copies/${defaultCopy.id}`, undefined, { 'if-match': '"1"' }))
        .statusCode,
    ).toBe(204);
    const fuzzy = await call('GET', `/api/v1/copies/${applicationForm.id}`);
    expect(fuzzy.statusCode).toBe(200);
    expect(fuzzy.headers['content-location']).toBe(`/api/v1/copies/${alt.id}`);
    const list = (await call('GET', `/api/v1/application-forms/${applicationForm.id}/copies`)).json<
      CopyView[]
    >();
    expect(list.map((c) => c.id)).toEqual([alt.id]);

    const dup = await call('POST', `/api/v1/copies/${alt.id}/duplicate`, { title: 'Dup' });
    expect(dup.statusCode).toBe(201);
    const dupCopy = (
      await call('GET', `/api/v1/copies/${dup.json<CopyView>().id}`)
    ).json<CopyView>();
    expect((dupCopy.document as { answers: object }).answers).toEqual({
      x: { id: 'x', question_id: 'q', value: 1 },
    });
  });

  it('clones every live copy within the tenant, and only the chosen or last touched copy across tenants', async () => {
    const { applicationForm, defaultCopy } = await newForm();
    const alt = (
      await call('POST', `/api/v1/application-forms/${applicationForm.id}/copies`, { title: 'Alt' })
    ).json<CopyView>();
    await jsonPatch(
      alt.id,
      [{ op: 'add', path: '/answers/y', value: { id: 'y', question_id: 'q', value: 'alt' } }],
      1,
    );

    const within = (
      await call('POST', `/api/v1/application-forms/${applicationForm.id}/clone`, {})
    ).json<{ applicationForm: { id: string; tenantId: string }; copies: CopyView[] }>();
    expect(within.applicationForm.tenantId).toBe('tenant-a');
    expect(within.copies).toHaveLength(2);
    expect(within.copies.map((c) => c.id)).toContain(within.applicationForm.id);

    const across = (
      await call('POST', `/api/v1/application-forms/${applicationForm.id}/clone`, {
        targetTenantId: 'tenant-b',
      })
    ).json<{ applicationForm: { id: string; tenantId: string }; copies: CopyView[] }>();
    expect(across.applicationForm.tenantId).toBe('tenant-b');
    expect(across.copies).toHaveLength(1);
    // The clone is tenant-b's now: its keys read it, tenant-a's no longer can.
    expect((await call('GET', `/api/v1/copies/${across.copies[0].id}`)).statusCode).toBe(404);
    const cloned = (
      await call('GET', `/api/v1/copies/${across.copies[0].id}`, undefined, {}, TENANT_B)
    ).json<CopyView>();
    expect(
      (cloned.document as { answers: Record<string, { value: string }> }).answers.y.value,
    ).toBe('alt');

    const chosen = (
      await call('POST', `/api/v1/application-forms/${applicationForm.id}/clone`, {
        targetTenantId: 'tenant-c',
        copyId: defaultCopy.id,
      })
    ).json<{ copies: CopyView[] }>();
    expect(chosen.copies).toHaveLength(1);
    await eventually(async () => {
      const [{ n }] = await ds.query<Array<{ n: number }>>(
        `SELECT count(*)::int AS n FROM form_copies.outbox WHERE event_name = 'form-copies.copy.cloned.v1' AND payload->>'source_application_form_id' = $1 AND published_at IS NOT NULL`,
        [applicationForm.id],
      );
      expect(n).toBe(4);
    });
  });

  it('lets one lease holder write, refuses others with 423, and refuses a holder whose lease expired', async () => {
    const { defaultCopy: c } = await newForm();
    const addAnswer = (id: string, version: number, headers: Record<string, string> = {}) =>
      jsonPatch(
        c.id,
        [{ op: 'add', path: `/answers/${id}`, value: { id, question_id: 'q', value: 1 } }],
        version,
        headers,
      );
    const renew = (token: string) =>
      call('PUT', `/api/v1/copies/${c.id}/lease`, { ttlSeconds: 1 }, { 'lease-token': token });
    const lease = await call('POST', `/api/v1/copies/${c.id}/lease`, {
      holder: 'quote-import',
      ttlSeconds: 1,
    });
    expect(lease.statusCode).toBe(201);
    const token = lease.json<{ token: string }>().token;
    expect(
      (await call('POST', `/api/v1/copies/${c.id}/lease`, { holder: 'other', ttlSeconds: 5 }))
        .statusCode,
    ).toBe(423);
    expect((await addAnswer('l', 1)).statusCode).toBe(423);
    expect((await call('POST', `/api/v1/copies/${c.id}/duplicate`, {})).statusCode).toBe(423);
    const withToken = await addAnswer('l', 1, { 'lease-token': token });
    expect(withToken.statusCode).toBe(200);
    expect((await renew(token)).statusCode).toBe(200);

    await sleep(1200);
    const late = await addAnswer('m', 2, { 'lease-token': token });
    expect(late.statusCode).toBe(423);
    expect((await renew(token)).statusCode).toBe(423);
    // A new holder gets a larger fencing token.
    const next = await call('POST', `/api/v1/copies/${c.id}/lease`, {
      holder: 'other',
      ttlSeconds: 5,
    });
    expect(next.statusCode).toBe(201);
    expect(BigInt(next.json<{ token: string }>().token)).toBeGreaterThan(BigInt(token));
    expect(
      (
        await call('DELETE', `/api/v1/copies/${c.id}/lease`, undefined, {
          'lease-token': next.json<{ token: string }>().token,
        })
      ).statusCode,
    ).toBe(204);
    expect((await addAnswer('m', 2)).statusCode).toBe(200);
  });

  it('keeps a locked copy read-only', async () => {
    const { defaultCopy: c } = await newForm();
    await ds.query(`UPDATE form_copies.copies SET locked_at = now() WHERE id = $1`, [c.id]);
    expect((await jsonPatch(c.id, [{ op: 'add', path: '/title', value: 'x' }], 1)).statusCode).toBe(
      423,
    );
    expect((await call('GET', `/api/v1/copies/${c.id}`)).statusCode).toBe(200);
  });

  it('follows RFC 6902 and RFC 6901 to the letter (the JSON Patch cases, each under /t)', async () => {
    const { applicationForm } = await newForm();
    // A pointer that does not start with '/' stays as it is (it must stay invalid).
    const prefix = (p: unknown) =>
      typeof p === 'string' && (p === '' || p.startsWith('/')) ? `/t${p}` : p;
    const failures: string[] = [];
    for (const tc of PATCH_CASES) {
      const made = await call('POST', `/api/v1/application-forms/${applicationForm.id}/copies`, {
        document: { t: tc.doc },
      });
      expect(made.statusCode).toBe(201);
      const copy = made.json<CopyView>();
      const patch = tc.patch.map((op) =>
        typeof op === 'object' && op !== null
          ? {
              ...op,
              ...('path' in op ? { path: prefix(op.path) } : {}),
              ...('from' in op ? { from: prefix(op.from) } : {}),
            }
          : op,
      );
      const r = await jsonPatch(copy.id, patch, copy.version);
      const after = (await call('GET', `/api/v1/copies/${copy.id}`)).json<CopyView>();
      const t = (after.document as { t: unknown }).t;
      if (tc.error !== undefined) {
        const ok =
          r.statusCode >= 400 &&
          r.statusCode < 500 &&
          r.headers['content-type']?.toString().startsWith('application/problem+json') &&
          after.version === copy.version &&
          sortedJson(t) === sortedJson(tc.doc);
        if (!ok) failures.push(`${tc.comment}: ${r.statusCode} ${r.body}`);
      } else {
        const want = 'expected' in tc ? tc.expected : tc.doc;
        // jsonb keeps no member order; compare as sorted JSON.
        const ok = r.statusCode === 200 && sortedJson(t) === sortedJson(want);
        if (!ok) failures.push(`${tc.comment}: ${r.statusCode} ${r.body} -> ${JSON.stringify(t)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(PATCH_CASES.length).toBeGreaterThan(90);
  });

  it('makes no new version for a patch that changes nothing, and compares If-Match strongly', async () => {
    const { defaultCopy: c } = await newForm({
      answers: { a: { id: 'a', question_id: 'q', value: 1 } },
    });
    const empty = await jsonPatch(c.id, [], 1);
    expect(empty.statusCode).toBe(200);
    expect(empty.headers.etag).toBe('"1"');
    const tests = await jsonPatch(c.id, [{ op: 'test', path: '/answers/a/value', value: 1 }], 1);
    expect(tests.statusCode).toBe(200);
    expect(tests.json<CopyView>().version).toBe(1);
    const failing = await jsonPatch(c.id, [{ op: 'test', path: '/answers/a/value', value: 2 }], 1);
    expect(failing.statusCode).toBe(409);
    // `*` matches whatever the version is; a weak tag never matches; a list matches any.
    const star = await call(
      'PATCH',
      `/api/v1/copies/${c.id}`,
      [{ op: 'replace', path: '/answers/a/value', value: 2 }],
      { 'content-type': 'application/json-patch+json', 'if-match': '*' },
    );
    expect(star.statusCode).toBe(200);
    expect(star.headers.etag).toBe('"2"');
    const weak = await call(
      'PATCH',
      `/api/v1/copies/${c.id}`,
      [{ op: 'replace', path: '/answers/a/value', value: 3 }],
      { 'content-type': 'application/json-patch+json', 'if-match': 'W/"2"' },
    );
    expect(weak.statusCode).toBe(412);
    const list = await call(
      'PATCH',
      `/api/v1/copies/${c.id}`,
      [{ op: 'replace', path: '/answers/a/value', value: 3 }],
      { 'content-type': 'application/json-patch+json', 'if-match': 'W/"2", "1", "2"' },
    );
    expect(list.statusCode).toBe(200);
    expect(list.headers.etag).toBe('"3"');
    // A number beyond a double is refused, not stored as null.
    const huge = await gateway.inject({
      method: 'PATCH',
      url: `/api/v1/copies/${c.id}`,
      headers: {
        'x-api-key': ADMIN,
        'content-type': 'application/json-patch+json',
        'if-match': '"3"',
      },
      payload: '[{"op":"replace","path":"/answers/a/value","value":1e400}]',
    });
    expect(huge.statusCode).toBe(400);
    expect(huge.json<{ detail: string }>().detail).toContain('/0/value');
    const read = (await call('GET', `/api/v1/copies/${c.id}`)).json<CopyView>();
    expect(read.version).toBe(3);
    expect((read.document as { answers: { a: { value: unknown } } }).answers.a.value).toBe(3);
  });

  it("keeps each tenant's forms, copies, leases and flags from every other tenant's keys", async () => {
    const { applicationForm, defaultCopy: c } = await newForm({
      answers: { s: { id: 's', question_id: 'mqs_fein', value: '12-3456789' } },
    });
    const asB = (
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT',
      url: string,
      body?: unknown,
      h = {},
    ) => call(method, url, body, h, TENANT_B);
    const refused = [
      await asB('GET', `/api/v1/copies/${c.id}`),
      await asB('GET', `/api/v1/application-forms/${applicationForm.id}/copies`),
      await asB('POST', `/api/v1/application-forms/${applicationForm.id}/copies`, {}),
      await asB('POST', `/api/v1/application-forms/${applicationForm.id}/clone`, {}),
      await asB('POST', `/api/v1/copies/${c.id}/duplicate`, {}),
      await asB('POST', `/api/v1/copies/${c.id}/lease`, { holder: 'b', ttlSeconds: 30 }),
      await asB('PATCH', `/api/v1/copies/${c.id}`, [{ op: 'add', path: '/x', value: 1 }], {
        'content-type': 'application/json-patch+json',
        'if-match': '*',
      }),
      await asB('DELETE', `/api/v1/copies/${c.id}`, undefined, { 'if-match': '*' }),
    ];
    expect(refused.map((r) => r.statusCode)).toEqual(refused.map(() => 404));
    // Nothing changed for tenant-a.
    expect((await call('GET', `/api/v1/copies/${c.id}`)).json<CopyView>().version).toBe(1);
    // The tenant comes from the key: a body naming another is refused.
    const other = await call('POST', '/api/v1/application-forms', {
      tenantId: 'tenant-b',
      ownerId: owner(),
    });
    expect(other.statusCode).toBe(403);
    // Owner flags are per tenant: the same owner id in tenant-b is a different owner.
    expect(
      (await asB('GET', `/api/v1/owners/${applicationForm.ownerId}/feature-flags`)).json(),
    ).toEqual({ ownerId: applicationForm.ownerId, copies: false });
    // Cloning into another tenant needs the key's grant for that tenant.
    const noGrant = await call('POST', `/api/v1/application-forms/${applicationForm.id}/clone`, {
      targetTenantId: 'tenant-z',
    });
    expect(noGrant.statusCode).toBe(403);
    // An operator reads across tenants (redacted without copies:sensitive), writes nowhere.
    const op = await call('GET', `/api/v1/copies/${c.id}`, undefined, {}, OPERATOR);
    expect(op.statusCode).toBe(200);
    expect(JSON.stringify(op.json())).not.toContain('12-3456789');
    expect(
      (
        await call(
          'GET',
          `/api/v1/application-forms/${applicationForm.id}/copies`,
          undefined,
          {},
          OPERATOR,
        )
      ).statusCode,
    ).toBe(200);
  });
});

function sortedJson(v: unknown): string {
  const sort = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(sort)
      : typeof x === 'object' && x !== null
        ? Object.fromEntries(
            Object.entries(x)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([k, y]) => [k, sort(y)]),
          )
        : x;
  return JSON.stringify(sort(v));
}
