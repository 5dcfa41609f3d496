import { type Actor, isFencingToken, isUuid, readScope, type RpcRequest } from '@app/contracts';
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
import { assertActor, Outbox, OutboxRelay, rpcError } from '@app/messaging';
import { SERVICE_CONFIG } from '@app/service-kit';
import type { FormCopiesConfig } from '../config';
import { CopiesRepository, type CopyRow, copyView, formView } from './copies.repository';
import {
  CURRENT_SCHEMA_VERSION,
  type Doc,
  emptyDocument,
  openAnswers,
  sealAnswers,
  SensitiveRefused,
  upgrade,
} from './documents';
import {
  jsonPatchOps,
  type PatchOp,
  sealsFor,
  translateSealedMerge,
  translateSealedOps,
} from './patching';

type Json = Parameters<typeof sealAnswers>[0];

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

  async createForm(r: RpcRequest<'form-copies.application-form.create.v1'>) {
    assertActor(r?.actor);
    const tenantId = r.actor.tenantId;
    // The tenant comes from the key; a body naming another one is refused, not obeyed.
    if (r.tenantId !== undefined && r.tenantId !== tenantId)
      throw rpcError('forbidden', `tenantId must be this API key's tenant (${tenantId})`, {
        field: 'tenantId',
      });
    if (!r.ownerId) throw rpcError('validation_failed', 'ownerId is required');
    if (r.id !== undefined && !isUuid(r.id))
      throw rpcError('validation_failed', 'id must be a UUID', { field: 'id' });
    const id = r.id ?? randomUUID();
    const result = await this.tx(async (m) => {
      const usesCopies = await this.repo.flag(tenantId, r.ownerId, m);
      if (await this.repo.form(id, null, m))
        throw rpcError('conflict', `application form ${id} exists`);
      const form = await this.repo.insertForm(m, {
        id,
        tenantId,
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
    assertActor(r?.actor);
    if (!isUuid(r.applicationFormId))
      throw rpcError('not_found', `no application form ${r.applicationFormId}`);
    return this.tx(async (m) => {
      const form = await this.repo.form(r.applicationFormId, r.actor.tenantId, m);
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

  async list(actor: Actor, applicationFormId: string): Promise<CopyView[]> {
    assertActor(actor);
    const tenant = readScope(actor);
    if (!isUuid(applicationFormId) || !(await this.repo.form(applicationFormId, tenant))) {
      throw rpcError('not_found', `no application form ${applicationFormId}`);
    }
    return (await this.repo.list(applicationFormId, tenant)).map((r) => copyView(r));
  }

  async get(actor: Actor, ref: string, caller: CopyCaller): Promise<Located<CopyView>> {
    assertActor(actor);
    const c = await this.find(ref, readScope(actor));
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
        openAnswers(doc as Doc, this.keyring, caller.sensitive, this.sensitive) as Record<
          string,
          unknown
        >,
      ),
    };
  }

  /**
   * JSON Patch or merge patch, applied in Postgres under the copy's row lock and version.
   * What to seal is decided on the document as the patch leaves it, in the same transaction;
   * a patch that changes nothing (only passing tests, say) makes no new version.
   */
  async patch(
    actor: Actor,
    ref: string,
    kind: PatchKind,
    patch: unknown,
    ifMatch: IfMatch | undefined,
    caller: CopyCaller,
  ): Promise<Located<CopyView>> {
    assertActor(actor);
    if (ifMatch === undefined)
      throw rpcError('precondition_required', 'If-Match with the copy version is required');
    const ops = kind === 'json-patch' ? jsonPatchOps(patch) : null;
    const { id, changed } = await this.tx(async (m) => {
      const c = await this.writable(m, actor, ref, ifMatch, caller);
      const translated = ops
        ? await translateSealedOps(this.repo, m, c.id, ops, this.sensitive)
        : await translateSealedMerge(this.repo, m, c.id, patch, this.sensitive);
      const upgraded =
        c.schema_version < CURRENT_SCHEMA_VERSION
          ? {
              document: upgrade((await this.repo.document(c.id, m)) as Doc, c.schema_version),
              schemaVersion: CURRENT_SCHEMA_VERSION,
            }
          : undefined;
      const version = await this.pg(() => this.store(m, c.id, kind, translated, upgraded));
      if (version === null) return { id: c.id, changed: false };
      await this.outbox.add(m, 'form-copies.copy.updated.v1', {
        copy_id: c.id,
        application_form_id: c.application_form_id,
        version,
      });
      return { id: c.id, changed: true };
    });
    if (changed) this.relay.kick();
    return { copyId: id, value: copyView((await this.repo.meta(id))!) };
  }

  async remove(
    actor: Actor,
    ref: string,
    ifMatch: IfMatch | undefined,
    caller: CopyCaller,
  ): Promise<Located<{ deleted: true }>> {
    assertActor(actor);
    if (ifMatch === undefined)
      throw rpcError('precondition_required', 'If-Match with the copy version is required');
    const id = await this.tx(async (m) => {
      const c = await this.writable(m, actor, ref, ifMatch, caller);
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

  async duplicate(actor: Actor, ref: string, title?: string): Promise<CopyView> {
    assertActor(actor);
    const copy = await this.tx(async (m) => {
      const c = await this.find(ref, actor.tenantId, m, true);
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
   * or the last touched one. A leased copy is not cloned while its lease lasts. The source
   * is always the caller's own tenant's; the gateway has checked the key's grant to clone
   * into the target tenant.
   */
  async clone(
    r: RpcRequest<'form-copies.application-form.clone.v1'>,
  ): Promise<{ applicationForm: ApplicationFormView; copies: CopyView[] }> {
    assertActor(r?.actor);
    if (!isUuid(r.id)) throw rpcError('not_found', `no application form ${r.id}`);
    const tenant = r.actor.tenantId;
    const result = await this.tx(async (m) => {
      const form = await this.repo.form(r.id, tenant, m);
      if (!form) throw rpcError('not_found', `no application form ${r.id}`);
      const crossTenant = r.targetTenantId !== undefined && r.targetTenantId !== form.tenant_id;
      let sources: CopyRow[];
      if (crossTenant) {
        const one = r.copyId
          ? await this.find(r.copyId, tenant, m)
          : await this.repo.latestTouched(form.id, m);
        if (!one) throw rpcError('not_found', `application form ${form.id} has no live copy`);
        if (one.application_form_id !== form.id)
          throw rpcError('not_found', `copy ${one.id} is not on application form ${form.id}`);
        sources = [one];
      } else {
        sources = await this.repo.list(form.id, tenant, m);
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
        copies: (await this.repo.list(newId, null, m)).map((c) => copyView(c)),
      };
    });
    this.relay.kick();
    return result;
  }

  async acquireLease(
    actor: Actor,
    ref: string,
    holder: string,
    ttlSeconds: number,
  ): Promise<Located<LeaseView>> {
    assertActor(actor);
    this.assertLease(holder, ttlSeconds);
    return this.tx(async (m) => {
      const c = await this.find(ref, actor.tenantId, m, true);
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

  async renewLease(
    actor: Actor,
    ref: string,
    token: string,
    ttlSeconds: number,
  ): Promise<Located<LeaseView>> {
    assertActor(actor);
    this.assertLease('renewal', ttlSeconds);
    assertFencingToken(token);
    const c = await this.find(ref, actor.tenantId);
    const lease = await this.repo.renewLease(c.id, token, ttlSeconds);
    if (!lease)
      throw rpcError('locked', 'this lease has expired or was never held; take a new one');
    return { copyId: c.id, value: lease };
  }

  async releaseLease(
    actor: Actor,
    ref: string,
    token: string,
  ): Promise<Located<{ released: true }>> {
    assertActor(actor);
    assertFencingToken(token);
    const c = await this.find(ref, actor.tenantId);
    if (!(await this.repo.releaseLease(c.id, token)))
      throw rpcError('not_found', 'no such lease on this copy');
    return { copyId: c.id, value: { released: true } };
  }

  async setFlag(actor: Actor, ownerId: string, copies: boolean) {
    assertActor(actor);
    if (!ownerId || typeof copies !== 'boolean')
      throw rpcError('validation_failed', 'copies must be true or false', { field: 'copies' });
    await this.repo.setFlag(actor.tenantId, ownerId, copies);
    return { ownerId, copies };
  }

  async getFlag(actor: Actor, ownerId: string) {
    assertActor(actor);
    return { ownerId, copies: await this.repo.flag(actor.tenantId, ownerId) };
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

  /** The copy (or a form's latest) if the tenant has it (null: any, for operators' reads). */
  private async find(
    ref: string,
    tenant: string | null,
    m?: EntityManager,
    lock = false,
  ): Promise<CopyRow> {
    const c = isUuid(ref) ? await this.repo.resolve(ref, tenant, m, lock) : null;
    if (!c) throw rpcError('not_found', `no copy ${ref}`);
    return c;
  }

  /** The copy, locked for this short transaction, if this caller may write it now. */
  private async writable(
    m: EntityManager,
    actor: Actor,
    ref: string,
    ifMatch: IfMatch,
    caller: CopyCaller,
  ): Promise<CopyRow> {
    const c = await this.find(ref, actor.tenantId, m, true);
    if (c.locked_at) throw rpcError('locked', 'this copy is locked and read-only');
    if (caller.leaseToken !== undefined && caller.leaseToken !== c.lease_token) {
      throw rpcError(
        'locked',
        'this lease token is not the live lease on this copy (expired or replaced)',
      );
    }
    if (c.lease_token && caller.leaseToken !== c.lease_token)
      throw rpcError('locked', 'this copy is leased; send the lease token to write');
    // RFC 9110 §13.1.1: `*` matches any current version; otherwise one of the listed ones.
    const listed = ifMatch === '*' ? null : [ifMatch].flat();
    if (listed && !listed.includes(c.version)) {
      throw rpcError(
        'precondition_failed',
        `the copy is at version ${c.version}, not ${listed.join(' or ')}`,
        { currentVersion: c.version },
      );
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

  /**
   * Stores the patched document; null when it cannot change (an empty patch, or one made
   * only of tests, which are still evaluated: a failing one is a 409). Most patches touch nothing
   * sensitive and are stored in one statement. When the database's guard finds a plaintext
   * sensitive answer in the result (PT004, raised before any row is written), the patch is
   * tried again on the locked row to find those answers, and stored with them sealed.
   */
  private async store(
    m: EntityManager,
    id: string,
    kind: PatchKind,
    patch: unknown,
    upgraded?: { document: unknown; schemaVersion: number },
  ): Promise<number | null> {
    if (!upgraded && Array.isArray(patch) && patch.every((op: PatchOp) => op.op === 'test')) {
      if (patch.length > 0) await this.repo.evaluate(m, id, kind, patch);
      return null;
    }
    await m.query('SAVEPOINT patch');
    try {
      const version = await this.repo.applyPatch(m, id, kind, patch, [], upgraded);
      await m.query('RELEASE SAVEPOINT patch');
      return version;
    } catch (err) {
      if (pgCode(err) !== 'PT004') throw err;
      await m.query('ROLLBACK TO SAVEPOINT patch');
    }
    const tried = await this.repo.tryPatch(m, id, kind, patch, upgraded?.document);
    return this.repo.applyPatch(
      m,
      id,
      kind,
      patch,
      sealsFor(tried.unsealed, this.keyring),
      upgraded,
    );
  }

  /** Postgres' patch errors, as the caller's mistakes they are. */
  private async pg<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const code = pgCode(err);
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

function pgCode(err: unknown): string | undefined {
  return (err as QueryFailedError & { driverError?: { code?: string } }).driverError?.code;
}

type IfMatch = RpcRequest<'form-copies.copy.patch.v1'>['ifMatch'] & {};

/** A fencing token is a positive bigint; anything else would fail in Postgres, so it is a 400. */
function assertFencingToken(token: unknown): asserts token is string {
  if (!isFencingToken(token))
    throw rpcError('validation_failed', 'Lease-Token must be the positive integer a lease gave', {
      field: 'Lease-Token',
    });
}
