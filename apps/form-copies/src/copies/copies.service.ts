import { isFencingToken, isUuid, type RpcRequest } from '@app/contracts';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { QueryFailedError, type EntityManager } from 'typeorm';
import type {
  ApplicationFormView,
  CopyCaller,
  CopyView,
  LeaseView,
  Located,
  PatchKind,
} from '@app/contracts';
import { type Keyring, keyringFromConfig } from '@app/crypto';
import { Outbox, OutboxRelay, rpcError } from '@app/messaging';
import { SERVICE_CONFIG } from '@app/service-kit';
import type { FormCopiesConfig } from '../config';
import { CopiesRepository, type CopyRow, copyView, formView } from './copies.repository';
import {
  CURRENT_SCHEMA_VERSION,
  type Doc,
  emptyDocument,
  openAnswers,
  sealAnswers,
  sealValue,
  SensitiveRefused,
  upgrade,
} from './documents';

type Json = Parameters<typeof sealAnswers>[0];
interface PatchOp {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

const MAX_OPS = 1000;

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw rpcError('validation_failed', `invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}
const toPointer = (segs: string[]) =>
  segs.map((s) => `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

/** Where a path reaches into an answer's value: the answer's path and what follows `value`. */
function answerValuePath(segs: string[]): { answer: string[]; rest: string[] } | null {
  for (let i = segs.length - 1; i >= 2; i--) {
    if (segs[i] === 'value' && segs[i - 2] === 'answers')
      return { answer: segs.slice(0, i), rest: segs.slice(i + 1) };
  }
  return null;
}

@Injectable()
export class CopiesService implements OnModuleInit {
  private readonly keyring: Keyring | null;
  private readonly sensitive: ReadonlySet<string>;

  constructor(
    private readonly repo: CopiesRepository,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    @Inject(SERVICE_CONFIG) private readonly config: FormCopiesConfig,
  ) {
    // Fails closed: without keys, sensitive answers are refused rather than stored in clear.
    this.keyring = keyringFromConfig(config);
    this.sensitive = new Set(config.SENSITIVE_QUESTION_IDS);
  }

  /** The database refuses plaintext answers to these questions from now on (its trigger). */
  async onModuleInit(): Promise<void> {
    await this.repo.syncSensitiveQuestions([...this.sensitive]);
  }

  async createForm(r: {
    id?: string;
    tenantId: string;
    ownerId: string;
    title?: string;
    document?: Record<string, unknown>;
  }) {
    if (!r?.tenantId || !r.ownerId)
      throw rpcError('validation_failed', 'tenantId and ownerId are required');
    if (r.id !== undefined && !isUuid(r.id))
      throw rpcError('validation_failed', 'id must be a UUID', { field: 'id' });
    const id = r.id ?? randomUUID();
    const result = await this.tx(async (m) => {
      const usesCopies = await this.repo.flag(r.ownerId, m);
      if (await this.repo.form(id, m)) throw rpcError('conflict', `application form ${id} exists`);
      const form = await this.repo.insertForm(m, {
        id,
        tenantId: r.tenantId,
        ownerId: r.ownerId,
        usesCopies,
      });
      // The default copy shares the form's id, so callers that only know the form keep working.
      const copy = usesCopies
        ? await this.newCopy(m, id, id, r.ownerId, r.title ?? null, r.document)
        : null;
      return { applicationForm: formView(form), defaultCopy: copy ? copyView(copy) : null };
    });
    return result;
  }

  async createCopy(r: Omit<RpcRequest<'form-copies.copy.create.v1'>, 'caller'>): Promise<CopyView> {
    if (!isUuid(r.applicationFormId))
      throw rpcError('not_found', `no application form ${r.applicationFormId}`);
    return this.tx(async (m) => {
      const form = await this.repo.form(r.applicationFormId, m);
      if (!form) throw rpcError('not_found', `no application form ${r.applicationFormId}`);
      if (!form.uses_copies)
        throw rpcError(
          'conflict',
          'this application form does not use copies (its owner has them off)',
        );
      return copyView(
        await this.newCopy(
          m,
          randomUUID(),
          form.id,
          r.ownerId ?? form.owner_id,
          r.title ?? null,
          r.document,
        ),
      );
    });
  }

  async list(applicationFormId: string): Promise<CopyView[]> {
    if (!isUuid(applicationFormId) || !(await this.repo.form(applicationFormId))) {
      throw rpcError('not_found', `no application form ${applicationFormId}`);
    }
    return (await this.repo.list(applicationFormId)).map((r) => copyView(r));
  }

  async get(ref: string, caller: CopyCaller): Promise<Located<CopyView>> {
    const c = await this.find(ref);
    let doc = await this.repo.document(c.id);
    let row = c;
    if (c.schema_version < CURRENT_SCHEMA_VERSION) {
      doc = upgrade(doc as Doc, c.schema_version);
      await this.repo.storeUpgrade(c.id, c.version, doc, CURRENT_SCHEMA_VERSION);
      row = (await this.repo.meta(c.id))!;
    }
    return {
      copyId: c.id,
      value: copyView(
        row,
        openAnswers(doc as Doc, this.keyring, caller.sensitive) as Record<string, unknown>,
      ),
    };
  }

  /** JSON Patch or merge patch, applied in Postgres under the copy's row lock and version. */
  async patch(
    ref: string,
    kind: PatchKind,
    patch: unknown,
    ifMatch: number | undefined,
    caller: CopyCaller,
  ): Promise<Located<CopyView>> {
    if (ifMatch === undefined)
      throw rpcError('precondition_required', 'If-Match with the copy version is required');
    const id = await this.tx(async (m) => {
      const c = await this.writable(m, ref, ifMatch, caller);
      const sealed =
        kind === 'json-patch'
          ? await this.sealJsonPatch(m, c.id, patch)
          : await this.sealMergePatch(m, c.id, patch);
      const upgraded =
        c.schema_version < CURRENT_SCHEMA_VERSION
          ? {
              document: upgrade((await this.repo.document(c.id, m)) as Doc, c.schema_version),
              schemaVersion: CURRENT_SCHEMA_VERSION,
            }
          : undefined;
      const version = await this.pg(() => this.repo.applyPatch(m, c.id, kind, sealed, upgraded));
      await this.outbox.add(m, 'form-copies.copy.updated.v1', {
        copy_id: c.id,
        application_form_id: c.application_form_id,
        version,
      });
      return c.id;
    });
    this.relay.kick();
    return { copyId: id, value: copyView((await this.repo.meta(id))!) };
  }

  async remove(
    ref: string,
    ifMatch: number | undefined,
    caller: CopyCaller,
  ): Promise<Located<{ deleted: true }>> {
    if (ifMatch === undefined)
      throw rpcError('precondition_required', 'If-Match with the copy version is required');
    const id = await this.tx(async (m) => {
      const c = await this.writable(m, ref, ifMatch, caller);
      await this.repo.softDelete(m, c.id);
      await this.outbox.add(m, 'form-copies.copy.deleted.v1', {
        copy_id: c.id,
        application_form_id: c.application_form_id,
      });
      return c.id;
    });
    this.relay.kick();
    return { copyId: id, value: { deleted: true } };
  }

  async duplicate(ref: string, title?: string): Promise<CopyView> {
    const copy = await this.tx(async (m) => {
      const c = await this.find(ref, m, true);
      await this.refuseLeased(c);
      const id = randomUUID();
      await this.repo.copyInto(
        m,
        [{ from: c.id, to: id }],
        c.application_form_id,
        null,
        title ?? (c.title ? `${c.title} (copy)` : undefined),
      );
      await this.outbox.add(m, 'form-copies.copy.created.v1', {
        copy_id: id,
        application_form_id: c.application_form_id,
      });
      return (await this.repo.meta(id, m))!;
    });
    this.relay.kick();
    return copyView(copy);
  }

  /**
   * Within the tenant every live copy is cloned; to another tenant only the requested copy,
   * or the last touched one. A leased copy is not cloned while its lease lasts.
   */
  async clone(r: {
    id: string;
    targetTenantId?: string;
    copyId?: string;
    ownerId?: string;
  }): Promise<{ applicationForm: ApplicationFormView; copies: CopyView[] }> {
    if (!isUuid(r.id)) throw rpcError('not_found', `no application form ${r.id}`);
    const result = await this.tx(async (m) => {
      const form = await this.repo.form(r.id, m);
      if (!form) throw rpcError('not_found', `no application form ${r.id}`);
      const crossTenant = r.targetTenantId !== undefined && r.targetTenantId !== form.tenant_id;
      let sources: CopyRow[];
      if (crossTenant) {
        const one = r.copyId
          ? await this.find(r.copyId, m)
          : await this.repo.latestTouched(form.id, m);
        if (!one) throw rpcError('not_found', `application form ${form.id} has no live copy`);
        if (one.application_form_id !== form.id)
          throw rpcError('not_found', `copy ${one.id} is not on application form ${form.id}`);
        sources = [one];
      } else {
        sources = await this.repo.list(form.id, m);
      }
      for (const s of sources) await this.refuseLeased(s);
      const newId = randomUUID();
      const target = await this.repo.insertForm(m, {
        id: newId,
        tenantId: r.targetTenantId ?? form.tenant_id,
        ownerId: r.ownerId ?? form.owner_id,
        usesCopies: true,
      });
      // The clone of the default copy (or the one copy sent across) becomes the new default.
      const mapping = sources.map((s) => ({
        from: s.id,
        to: crossTenant || s.id === form.id ? newId : randomUUID(),
      }));
      await this.repo.copyInto(m, mapping, newId, r.ownerId ?? null);
      await this.outbox.addMany(
        m,
        mapping.map((mp) => ({
          name: 'form-copies.copy.cloned.v1' as const,
          payload: {
            copy_id: mp.to,
            application_form_id: newId,
            source_copy_id: mp.from,
            source_application_form_id: form.id,
          },
        })),
      );
      return {
        applicationForm: formView(target),
        copies: (await this.repo.list(newId, m)).map((c) => copyView(c)),
      };
    });
    this.relay.kick();
    return result;
  }

  async acquireLease(ref: string, holder: string, ttlSeconds: number): Promise<Located<LeaseView>> {
    this.assertLease(holder, ttlSeconds);
    return this.tx(async (m) => {
      const c = await this.find(ref, m, true);
      const lease = await this.repo.acquireLease(m, c.id, holder, ttlSeconds);
      if (!lease) {
        const held = await this.repo.currentLease(c.id);
        throw rpcError(
          'locked',
          `copy ${c.id} is leased by ${held?.holder ?? 'another holder'} until ${held?.expires_at.toISOString() ?? 'soon'}`,
        );
      }
      return { copyId: c.id, value: lease };
    });
  }

  async renewLease(ref: string, token: string, ttlSeconds: number): Promise<Located<LeaseView>> {
    this.assertLease('renewal', ttlSeconds);
    assertFencingToken(token);
    const c = await this.find(ref);
    const lease = await this.repo.renewLease(c.id, token, ttlSeconds);
    if (!lease)
      throw rpcError('locked', 'this lease has expired or was never held; take a new one');
    return { copyId: c.id, value: lease };
  }

  async releaseLease(ref: string, token: string): Promise<Located<{ released: true }>> {
    assertFencingToken(token);
    const c = await this.find(ref);
    if (!(await this.repo.releaseLease(c.id, token)))
      throw rpcError('not_found', 'no such lease on this copy');
    return { copyId: c.id, value: { released: true } };
  }

  async setFlag(ownerId: string, copies: boolean) {
    if (!ownerId || typeof copies !== 'boolean')
      throw rpcError('validation_failed', 'copies must be true or false', { field: 'copies' });
    await this.repo.setFlag(ownerId, copies);
    return { ownerId, copies };
  }

  async getFlag(ownerId: string) {
    return { ownerId, copies: await this.repo.flag(ownerId) };
  }

  // --- helpers ---

  private async newCopy(
    m: EntityManager,
    id: string,
    formId: string,
    ownerId: string,
    title: string | null,
    document?: Record<string, unknown>,
  ) {
    const doc = this.seal({ ...emptyDocument(), ...(document ?? {}) } as Json);
    const row = await this.repo.insertCopy(m, {
      id,
      applicationFormId: formId,
      title,
      ownerId,
      schemaVersion: CURRENT_SCHEMA_VERSION,
      document: doc,
    });
    await this.outbox.add(m, 'form-copies.copy.created.v1', {
      copy_id: id,
      application_form_id: formId,
    });
    return row;
  }

  private async find(ref: string, m?: EntityManager, lock = false): Promise<CopyRow> {
    const c = isUuid(ref) ? await this.repo.resolve(ref, m, lock) : null;
    if (!c) throw rpcError('not_found', `no copy ${ref}`);
    return c;
  }

  /** The copy, locked for this short transaction, if this caller may write it now. */
  private async writable(
    m: EntityManager,
    ref: string,
    ifMatch: number,
    caller: CopyCaller,
  ): Promise<CopyRow> {
    const c = await this.find(ref, m, true);
    if (c.locked_at) throw rpcError('locked', 'this copy is locked and read-only');
    if (caller.leaseToken !== undefined && caller.leaseToken !== c.lease_token) {
      throw rpcError(
        'locked',
        'this lease token is not the live lease on this copy (expired or replaced)',
      );
    }
    if (c.lease_token && caller.leaseToken !== c.lease_token)
      throw rpcError('locked', 'this copy is leased; send the lease token to write');
    if (c.version !== ifMatch) {
      throw rpcError('precondition_failed', `the copy is at version ${c.version}, not ${ifMatch}`, {
        currentVersion: c.version,
      });
    }
    return c;
  }

  private async refuseLeased(c: CopyRow): Promise<void> {
    if (c.lease_token)
      throw rpcError(
        'locked',
        `copy ${c.id} is leased; it cannot be duplicated or cloned until the lease ends`,
      );
  }

  private assertLease(holder: string, ttl: number): void {
    if (typeof holder !== 'string' || !holder.trim() || holder.length > 200)
      throw rpcError('validation_failed', 'holder is required', { field: 'holder' });
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > this.config.LEASE_MAX_SECONDS) {
      throw rpcError(
        'validation_failed',
        `ttlSeconds must be 1 to ${this.config.LEASE_MAX_SECONDS}`,
        { field: 'ttlSeconds' },
      );
    }
  }

  private seal(v: Json): Json {
    try {
      return sealAnswers(v, this.keyring, this.sensitive);
    } catch (err) {
      if (err instanceof SensitiveRefused) throw rpcError('unavailable', err.message);
      throw err;
    }
  }

  private sealed(v: Json, answerId: string): string {
    try {
      return sealValue(v, answerId, this.keyring);
    } catch (err) {
      if (err instanceof SensitiveRefused) throw rpcError('unavailable', err.message);
      throw err;
    }
  }

  /** Values written into sensitive answers are sealed before the patch reaches Postgres. */
  private async sealJsonPatch(m: EntityManager, id: string, patch: unknown): Promise<PatchOp[]> {
    if (!Array.isArray(patch) || patch.length === 0 || patch.length > MAX_OPS) {
      throw rpcError('validation_failed', `a JSON Patch is an array of 1 to ${MAX_OPS} operations`);
    }
    const ops = patch.map((o: unknown, i) => {
      const op = o as PatchOp;
      if (typeof op?.op !== 'string' || typeof op.path !== 'string')
        throw rpcError('validation_failed', `operation ${i} needs op and path`);
      return { ...op, ...('value' in op ? { value: this.seal(op.value as Json) } : {}) };
    });
    const targets = ops.map((op) => ({
      at: answerValuePath(pointer(op.path)),
      from: op.from !== undefined ? answerValuePath(pointer(op.from)) : null,
    }));
    const paths = targets.flatMap((t) =>
      [t.at?.answer, t.from?.answer].filter((p): p is string[] => !!p),
    );
    const qids = await this.repo.questionIdsAt(id, paths, m);
    const isSensitive = new Map(
      paths.map((p, i) => [toPointer(p), qids[i] !== null && this.sensitive.has(qids[i])]),
    );
    return ops.map((op, i) => {
      const { at, from } = targets[i];
      if (from && isSensitive.get(toPointer(from.answer)))
        throw rpcError('unprocessable', 'a sensitive answer cannot be moved or copied by value');
      if (!at || !isSensitive.get(toPointer(at.answer))) return op;
      if (at.rest.length > 0 || op.op === 'test' || op.op === 'move' || op.op === 'copy') {
        throw rpcError(
          'unprocessable',
          `operation ${i} cannot ${op.op} inside a sensitive answer's value`,
        );
      }
      const encrypted = toPointer([...at.answer, 'encrypted_value']);
      if (op.op === 'remove') return { op: 'remove', path: encrypted };
      return {
        op: 'add',
        path: encrypted,
        value: this.sealed(op.value as Json, at.answer[at.answer.length - 1]),
      };
    });
  }

  private async sealMergePatch(m: EntityManager, id: string, patch: unknown): Promise<Json> {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
      throw rpcError('validation_failed', 'a merge patch is a JSON object');
    const found: Array<{ path: string[]; node: Record<string, Json> }> = [];
    const walk = (node: Json, path: string[]) => {
      if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
      if (
        path.length >= 2 &&
        path[path.length - 2] === 'answers' &&
        'value' in node &&
        !('question_id' in node)
      )
        found.push({ path, node });
      for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
    };
    const sealed = this.seal(patch as Json);
    walk(sealed, []);
    const qids = await this.repo.questionIdsAt(
      id,
      found.map((f) => f.path),
      m,
    );
    found.forEach((f, i) => {
      if (qids[i] === null || !this.sensitive.has(qids[i])) return;
      f.node.encrypted_value =
        f.node.value === null ? null : this.sealed(f.node.value, f.path[f.path.length - 1]);
      delete f.node.value;
    });
    return sealed;
  }

  /** Postgres' patch errors, as the caller's mistakes they are. */
  private async pg<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const code = (err as QueryFailedError & { driverError?: { code?: string } }).driverError
        ?.code;
      const message = (err as Error).message;
      if (code === 'PT001') throw rpcError('unprocessable', message);
      if (code === 'PT002') throw rpcError('conflict', message);
      if (code === 'PT003') throw rpcError('validation_failed', message);
      // The database's own guard: the patch would leave a sensitive answer in plaintext.
      if (code === 'PT004') throw rpcError('unprocessable', message);
      if (code === '23514') throw rpcError('unprocessable', 'the document must stay a JSON object');
      throw err;
    }
  }

  private tx<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.repo.ds.transaction(fn);
  }
}

/** A fencing token is a positive bigint; anything else would fail in Postgres, so it is a 400. */
function assertFencingToken(token: unknown): asserts token is string {
  if (!isFencingToken(token))
    throw rpcError('validation_failed', 'Lease-Token must be the positive integer a lease gave', {
      field: 'Lease-Token',
    });
}
