import type { Keyring } from '@app/crypto';

/**
 * The copy document. Version 2 (current) keys answers, pools and question sets by id, so the
 * path to an answer never moves; version 1 (the seed's first shape) kept them in arrays.
 */
export const CURRENT_SCHEMA_VERSION = 2;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Doc = { [k: string]: Json };

export function emptyDocument(): Doc {
  return {
    afqs: {},
    answers: {},
    answer_pools: {},
    forced_excluded_carrier_product_ids: [],
    agent_bypassed_carrier_product_ids: [],
  };
}

function byId(
  list: Json | undefined,
  map: (item: { [k: string]: Json }) => Json = (x) => x,
): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    if (item && typeof item === 'object' && !Array.isArray(item) && typeof item.id === 'string')
      out[item.id] = map(item);
  }
  return out;
}

function poolV1ToV2(pool: { [k: string]: Json }): Json {
  return {
    ...pool,
    answers: byId(pool.answers),
    answer_pools: byId(pool.answer_pools, poolV1ToV2),
  };
}

/** Each step upgrades a document by one schema version; every step has its own test. */
export const UPGRADES: Record<number, (d: Doc) => Doc> = {
  1: (d) => {
    const { afqs_list, answers, answer_pools, ...rest } = d;
    return {
      ...emptyDocument(),
      ...rest,
      afqs: byId(afqs_list),
      answers: byId(answers),
      answer_pools: byId(answer_pools, poolV1ToV2),
    };
  },
};

export function upgrade(doc: Doc, from: number): Doc {
  let d = doc;
  for (let v = from; v < CURRENT_SCHEMA_VERSION; v++) {
    const step = UPGRADES[v];
    if (!step) throw new Error(`no upgrade from schema version ${v}`);
    d = step(d);
  }
  return d;
}

const isObject = (v: unknown): v is { [k: string]: Json } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Seals the value of every answer to a sensitive question found in `node` (a document, a
 * pool, an answer, or any patch value): `value` becomes `encrypted_value`, bound to the
 * answer's id. Returns a new value; the input is not changed.
 */
export function sealAnswers(
  node: Json,
  keyring: Keyring | null,
  sensitive: ReadonlySet<string>,
): Json {
  if (Array.isArray(node)) return node.map((n) => sealAnswers(n, keyring, sensitive));
  if (!isObject(node)) return node;
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(node)) out[k] = sealAnswers(v, keyring, sensitive);
  if (typeof out.question_id === 'string' && sensitive.has(out.question_id) && 'value' in out) {
    out.encrypted_value = sealValue(out.value, typeof out.id === 'string' ? out.id : '', keyring);
    delete out.value;
  }
  return out;
}

export function sealValue(
  value: Json | undefined,
  answerId: string,
  keyring: Keyring | null,
): string {
  if (!keyring)
    throw new SensitiveRefused(
      'no encryption key is configured: sensitive answers cannot be stored',
    );
  return keyring.encrypt(JSON.stringify(value ?? null), answerId);
}

/**
 * The reverse for readers: plaintext for callers with the scope, a redaction for the rest.
 * Without the scope every answer to a sensitive question is redacted, sealed or not (a
 * plain one can only predate the database's guard, or the question's listing as sensitive).
 */
export function openAnswers(
  node: Json,
  keyring: Keyring | null,
  canSee: boolean,
  sensitive: ReadonlySet<string> = new Set(),
): Json {
  if (Array.isArray(node)) return node.map((n) => openAnswers(n, keyring, canSee, sensitive));
  if (!isObject(node)) return node;
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(node)) out[k] = openAnswers(v, keyring, canSee, sensitive);
  if (
    !canSee &&
    'value' in out &&
    typeof out.question_id === 'string' &&
    sensitive.has(out.question_id)
  ) {
    delete out.value;
    out.redacted = true;
  }
  if (typeof out.encrypted_value === 'string') {
    const sealed = out.encrypted_value;
    delete out.encrypted_value;
    if (canSee && keyring)
      out.value = JSON.parse(
        keyring.decryptString(sealed, typeof out.id === 'string' ? out.id : ''),
      ) as Json;
    else out.redacted = true;
  }
  return out;
}

export class SensitiveRefused extends Error {}
