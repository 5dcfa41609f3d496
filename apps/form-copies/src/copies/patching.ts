import type { EntityManager } from 'typeorm';
import type { Keyring } from '@app/crypto';
import { rpcError } from '@app/messaging';
import type { CopiesRepository, UnsealedAnswer } from './copies.repository';
import { sealValue, SensitiveRefused } from './documents';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export interface PatchOp {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

export const MAX_OPS = 1000;

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw rpcError('validation_failed', `invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}
export const toPointer = (segs: string[]) =>
  segs.map((s) => `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

/** Where a path reaches into an answer's value: the answer's path and what follows `value`. */
function answerValuePath(segs: string[]): { answer: string[]; rest: string[] } | null {
  for (let i = segs.length - 1; i >= 2; i--) {
    if (segs[i] === 'value' && segs[i - 2] === 'answers')
      return { answer: segs.slice(0, i), rest: segs.slice(i + 1) };
  }
  return null;
}

/** A JSON Patch's shape (RFC 6902 §4): an array, each operation an object with op and path. */
export function jsonPatchOps(patch: unknown): PatchOp[] {
  if (!Array.isArray(patch) || patch.length > MAX_OPS)
    throw rpcError('validation_failed', `a JSON Patch is an array of 0 to ${MAX_OPS} operations`);
  return patch.map((o: unknown, i) => {
    const op = o as PatchOp;
    if (typeof op !== 'object' || op === null || Array.isArray(op))
      throw rpcError('validation_failed', `operation ${i} is not a JSON object`);
    if (typeof op.op !== 'string' || typeof op.path !== 'string')
      throw rpcError('validation_failed', `operation ${i} needs op and path as strings`);
    if ((op.op === 'move' || op.op === 'copy') && typeof op.from !== 'string')
      throw rpcError('validation_failed', `operation ${i} (${op.op}) needs from as a string`);
    return op;
  });
}

/**
 * Sealing is decided on the document as the patch leaves it (`sealsFor`); this step only
 * translates operations that address a value already sealed in the stored document, which
 * lives under `encrypted_value`: a replacement writes `value` again (sealed after), a
 * removal removes the seal. Reading into, testing, moving or copying a sealed value is
 * refused: its ciphertext is bound to its answer, and testing it would reveal it.
 */
export async function translateSealedOps(
  repo: CopiesRepository,
  m: EntityManager,
  copyId: string,
  ops: PatchOp[],
  sensitive: ReadonlySet<string>,
): Promise<PatchOp[]> {
  const targets = ops.map((op) => ({
    at: answerValuePath(pointer(op.path)),
    from: op.from !== undefined ? answerValuePath(pointer(op.from)) : null,
  }));
  const paths = targets.flatMap((t) =>
    [t.at?.answer, t.from?.answer].filter((p): p is string[] => !!p),
  );
  const qids = await repo.questionIdsAt(copyId, paths, m);
  const isSensitive = new Map(
    paths.map((p, i) => [toPointer(p), qids[i] !== null && sensitive.has(qids[i])]),
  );
  return ops.map((op, i) => {
    const { at, from } = targets[i];
    if (from && isSensitive.get(toPointer(from.answer)))
      throw rpcError('unprocessable', 'a sensitive answer cannot be moved or copied by value');
    if (!at || !isSensitive.get(toPointer(at.answer))) return op;
    if (at.rest.length > 0 || op.op === 'test') {
      throw rpcError('unprocessable', `operation ${i} cannot ${op.op} inside a sensitive answer`);
    }
    if (op.op === 'remove')
      return { op: 'remove', path: toPointer([...at.answer, 'encrypted_value']) };
    if (op.op === 'replace') return { ...op, op: 'add' };
    return op;
  });
}

/**
 * A merge patch that sets a sealed answer's `value` to null clears its seal too (the
 * stored answer has `encrypted_value`, not `value`). Any value it writes is sealed after.
 */
export async function translateSealedMerge(
  repo: CopiesRepository,
  m: EntityManager,
  copyId: string,
  patch: unknown,
  sensitive: ReadonlySet<string>,
): Promise<Json> {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
    throw rpcError('validation_failed', 'a merge patch is a JSON object');
  const cleared: Array<{ path: string[]; node: Record<string, Json> }> = [];
  const walk = (node: Json, path: string[]) => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
    if (path.length >= 2 && path[path.length - 2] === 'answers' && node.value === null)
      cleared.push({ path, node });
    for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
  };
  const copy = structuredClone(patch) as Json;
  walk(copy, []);
  const qids = await repo.questionIdsAt(
    copyId,
    cleared.map((f) => f.path),
    m,
  );
  cleared.forEach((f, i) => {
    if (qids[i] !== null && sensitive.has(qids[i])) f.node.encrypted_value = null;
  });
  return copy;
}

/** The JSON Patch that seals what a patch would leave in plaintext: value → encrypted_value. */
export function sealsFor(unsealed: UnsealedAnswer[], keyring: Keyring | null): PatchOp[] {
  return unsealed.flatMap((u) => {
    let sealed: string;
    try {
      sealed = sealValue(u.value as Json, u.id, keyring);
    } catch (err) {
      if (err instanceof SensitiveRefused) throw rpcError('unavailable', err.message);
      throw err;
    }
    return [
      { op: 'add', path: toPointer([...u.path, 'encrypted_value']), value: sealed },
      { op: 'remove', path: toPointer([...u.path, 'value']) },
    ];
  });
}
