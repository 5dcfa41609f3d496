import { Keyring } from '@app/crypto';
import {
  CURRENT_SCHEMA_VERSION,
  type Doc,
  openAnswers,
  sealAnswers,
  SensitiveRefused,
  upgrade,
  UPGRADES,
} from './documents';

describe('copy documents', () => {
  it('upgrades version 1 (arrays) to version 2 (keyed by id), nested pools included', () => {
    const v1: Doc = {
      afqs_list: [{ id: 'q1', question_set_id: 'qs' }],
      answers: [{ id: 'a1', question_id: 'mqs_first_name', value: 'John' }],
      answer_pools: [
        {
          id: 'p1',
          question_pool_id: 'locations',
          answers: [{ id: 'a2', question_id: 'mqs_loc_state', choice_id: 'CA' }],
          answer_pools: [
            { id: 'p2', question_pool_id: 'buildings', answers: [], answer_pools: [] },
          ],
        },
      ],
      forced_excluded_carrier_product_ids: ['c1'],
    };
    const v2 = UPGRADES[1](v1);
    expect(v2).toEqual({
      afqs: { q1: { id: 'q1', question_set_id: 'qs' } },
      answers: { a1: { id: 'a1', question_id: 'mqs_first_name', value: 'John' } },
      answer_pools: {
        p1: {
          id: 'p1',
          question_pool_id: 'locations',
          answers: { a2: { id: 'a2', question_id: 'mqs_loc_state', choice_id: 'CA' } },
          answer_pools: {
            p2: { id: 'p2', question_pool_id: 'buildings', answers: {}, answer_pools: {} },
          },
        },
      },
      forced_excluded_carrier_product_ids: ['c1'],
      agent_bypassed_carrier_product_ids: [],
    });
    expect(upgrade(v1, 1)).toEqual(v2);
    expect(upgrade(v2, CURRENT_SCHEMA_VERSION)).toBe(v2);
  });

  it('seals sensitive answers wherever they are and opens them only for the scope', () => {
    const keyring = Keyring.fromEnv(`k1:${Keyring.generateKey()}`, 'k1');
    const sensitive = new Set(['mqs_fein']);
    const doc: Doc = {
      answers: {
        a1: { id: 'a1', question_id: 'mqs_fein', value: '12-3456789' },
        a2: { id: 'a2', question_id: 'mqs_name', value: 'Acme' },
      },
      answer_pools: {
        p1: {
          id: 'p1',
          answers: { a3: { id: 'a3', question_id: 'mqs_fein', value: '98-7654321' } },
          answer_pools: {},
        },
      },
    };
    const sealed = sealAnswers(doc, keyring, sensitive) as Doc;
    const text = JSON.stringify(sealed);
    expect(text).not.toContain('12-3456789');
    expect(text).not.toContain('98-7654321');
    expect(text).toContain('"value":"Acme"');
    expect(
      (sealed.answers as Record<string, Record<string, string>>).a1.encrypted_value.startsWith(
        'v1.k1.',
      ),
    ).toBe(true);
    expect(openAnswers(sealed, keyring, true)).toEqual(doc);
    const redacted = openAnswers(sealed, keyring, false) as Doc;
    expect((redacted.answers as Record<string, unknown>).a1).toEqual({
      id: 'a1',
      question_id: 'mqs_fein',
      redacted: true,
    });
    expect(() => sealAnswers(doc, null, sensitive)).toThrow(SensitiveRefused);
  });
});

describe('openAnswers without the scope', () => {
  it('redacts every answer to a sensitive question, sealed or not', () => {
    const doc = {
      answers: {
        a: { id: 'a', question_id: 'mqs_ssn', value: '123-45-6789' },
        b: { id: 'b', question_id: 'plain', value: 'shown' },
      },
    };
    const read = openAnswers(doc, null, false, new Set(['mqs_ssn'])) as typeof doc;
    expect(read.answers.a).toEqual({ id: 'a', question_id: 'mqs_ssn', redacted: true });
    expect(read.answers.b.value).toBe('shown');
  });
});
