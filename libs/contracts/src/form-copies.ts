/** form-copies: working copies of an application form, one JSONB document each. */

import type { Actor } from './tenancy';

export interface CopyView {
  id: string;
  applicationFormId: string;
  title: string | null;
  ownerId: string;
  lockedAt: string | null;
  schemaVersion: number;
  version: number;
  lastTouchedByUserAt: string | null;
  createdAt: string;
  updatedAt: string;
  document?: Record<string, unknown>;
}

export interface ApplicationFormView {
  id: string;
  tenantId: string;
  ownerId: string;
  usesCopies: boolean;
  createdAt: string;
}

export interface LeaseView {
  copyId: string;
  holder: string;
  token: string;
  expiresAt: string;
}

export type PatchKind = 'json-patch' | 'merge-patch';

/** Who writes: the lease token they hold (if any) and whether they may see sensitive answers. */
export interface CopyCaller {
  leaseToken?: string;
  sensitive: boolean;
}

export interface Located<T> {
  /** The copy actually used when an application form id stood for it. */
  copyId: string;
  value: T;
}

export type FormCopiesRpc = {
  'form-copies.application-form.create.v1': {
    request: {
      actor: Actor;
      id?: string;
      /** Optional; when given it must be the key's tenant (the tenant comes from the key). */
      tenantId?: string;
      ownerId: string;
      title?: string;
      document?: Record<string, unknown>;
    };
    response: { applicationForm: ApplicationFormView; defaultCopy: CopyView | null };
  };
  'form-copies.copy.create.v1': {
    request: {
      actor: Actor;
      applicationFormId: string;
      title?: string;
      ownerId?: string;
      document?: Record<string, unknown>;
      caller: CopyCaller;
    };
    response: CopyView;
  };
  'form-copies.copy.list.v1': {
    request: {
      actor: Actor;
      applicationFormId: string;
    };
    response: CopyView[];
  };
  'form-copies.copy.get.v1': {
    request: {
      actor: Actor;
      id: string;
      caller: CopyCaller;
    };
    response: Located<CopyView>;
  };
  'form-copies.copy.patch.v1': {
    request: {
      actor: Actor;
      id: string;
      kind: PatchKind;
      patch: unknown;
      /** The If-Match versions (any matches), or `*` for any current version. */
      ifMatch?: number | number[] | '*';
      caller: CopyCaller;
    };
    response: Located<CopyView>;
  };
  'form-copies.copy.delete.v1': {
    request: {
      actor: Actor;
      id: string;
      /** The If-Match versions (any matches), or `*` for any current version. */
      ifMatch?: number | number[] | '*';
      caller: CopyCaller;
    };
    response: Located<{ deleted: true }>;
  };
  'form-copies.copy.duplicate.v1': {
    request: {
      actor: Actor;
      id: string;
      title?: string;
      caller: CopyCaller;
    };
    response: CopyView;
  };
  'form-copies.application-form.clone.v1': {
    request: {
      actor: Actor;
      id: string;
      /** Another tenant receives the clone: the gateway checks the key's grant for it. */
      targetTenantId?: string;
      copyId?: string;
      ownerId?: string;
    };
    response: { applicationForm: ApplicationFormView; copies: CopyView[] };
  };
  'form-copies.lease.acquire.v1': {
    request: {
      actor: Actor;
      id: string;
      holder: string;
      ttlSeconds: number;
    };
    response: Located<LeaseView>;
  };
  'form-copies.lease.renew.v1': {
    request: {
      actor: Actor;
      id: string;
      token: string;
      ttlSeconds: number;
    };
    response: Located<LeaseView>;
  };
  'form-copies.lease.release.v1': {
    request: {
      actor: Actor;
      id: string;
      token: string;
    };
    response: Located<{ released: true }>;
  };
  'form-copies.feature-flags.set.v1': {
    request: {
      actor: Actor;
      ownerId: string;
      copies: boolean;
    };
    response: { ownerId: string; copies: boolean };
  };
  'form-copies.feature-flags.get.v1': {
    request: {
      actor: Actor;
      ownerId: string;
    };
    response: { ownerId: string; copies: boolean };
  };
};

export interface FormCopiesEvents {
  'form-copies.copy.created.v1': { copy_id: string; application_form_id: string };
  'form-copies.copy.updated.v1': { copy_id: string; application_form_id: string; version: number };
  'form-copies.copy.deleted.v1': { copy_id: string; application_form_id: string };
  'form-copies.copy.cloned.v1': {
    copy_id: string;
    application_form_id: string;
    source_copy_id: string;
    source_application_form_id: string;
  };
}

/** A lease's fencing token as callers send it: a positive integer that fits a bigint. */
export function isFencingToken(v: unknown): v is string {
  return typeof v === 'string' && /^[1-9][0-9]{0,17}$/.test(v);
}
