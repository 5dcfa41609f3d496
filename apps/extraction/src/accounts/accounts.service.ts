import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import type { IntegrationAccountView, Provider } from '@app/contracts';
import { rpcError } from '@app/messaging';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import { assertId, ensureUser, iso, notFound, type Owner } from '../common';
import type { ExtractionConfig } from '../config';
import { GoogleApiError, GoogleClient } from '../google/google.client';
import { ExtractionMetrics } from '../jobs/extraction-metrics';
import { signState, verifyState } from './oauth-state';
import { TokenVault } from './token-vault';
import { type AccountRow, AccountsRepository } from './accounts.repository';

function view(r: Omit<AccountRow, 'access_token' | 'refresh_token'>): IntegrationAccountView {
  return {
    id: r.id,
    provider: r.provider,
    email: r.email,
    scopes: r.scopes,
    expiresAt: iso(r.expires_at),
    connected: !r.disconnected_at,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** Refresh a little before expiry, so a token is not used in its last seconds. */
const EXPIRY_MARGIN_MS = 60_000;

/**
 * Integration accounts: the OAuth code flow, tokens sealed at rest, refresh once however many
 * callers need it (one promise per account in a replica, a row lock across replicas), and
 * disconnect (revoked at the provider, erased here).
 */
@Injectable()
export class AccountsService {
  private readonly refreshing = new Map<string, Promise<string>>();

  constructor(
    private readonly repo: AccountsRepository,
    private readonly google: GoogleClient,
    private readonly vault: TokenVault,
    private readonly metrics: ExtractionMetrics,
    @Inject(SERVICE_CONFIG) private readonly config: ExtractionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  authorize(owner: Owner, provider: Provider, redirectUri: string) {
    this.supported(provider);
    this.vault.assertReady();
    let u: URL;
    try {
      u = new URL(redirectUri);
    } catch {
      throw rpcError('validation_failed', 'redirectUri must be an absolute URL', {
        field: 'redirectUri',
      });
    }
    const state = signState(this.config.OAUTH_STATE_SECRET, {
      u: owner.userId,
      p: provider,
      r: u.toString(),
    });
    return { url: this.google.authorizeUrl(u.toString(), state), state };
  }

  async callback(owner: Owner, provider: Provider, code: string, state: string) {
    this.supported(provider);
    // Fail closed before the code is spent: no key, no token.
    this.vault.assertReady();
    const s = verifyState(this.config.OAUTH_STATE_SECRET, state);
    if (!s || s.u !== owner.userId || s.p !== provider)
      throw rpcError('validation_failed', 'state is invalid, expired or not this caller’s', {
        field: 'state',
      });
    let grant;
    try {
      grant = await this.google.exchangeCode(code, s.r);
    } catch (err) {
      throw this.upstream(err, 'code exchange');
    }
    let email: string;
    try {
      email = (await this.google.userinfo(grant.accessToken)).email;
    } catch (err) {
      throw this.upstream(err, 'userinfo');
    }
    const expiresAt = new Date(Date.now() + grant.expiresIn * 1000);
    return this.repo.transaction(async (m) => {
      await ensureUser(m, owner.userId);
      const id =
        (await this.repo.lockConnected(m, owner.tenantId, provider, email)) ?? randomUUID();
      const access = this.vault.seal(id, 'access', grant.accessToken);
      const refresh = grant.refreshToken
        ? this.vault.seal(id, 'refresh', grant.refreshToken)
        : null;
      const row = await this.repo.upsert(m, owner, {
        id,
        provider,
        email,
        scopes: grant.scopes,
        access,
        refresh,
        expiresAt,
      });
      this.logger.info({ accountId: id, provider }, 'integration account connected');
      return view(row);
    });
  }

  async list(owner: Owner): Promise<IntegrationAccountView[]> {
    return (await this.repo.list(owner.scope)).map(view);
  }

  /** The caller's connected account, or 404. */
  async owned(owner: Owner, id: unknown): Promise<IntegrationAccountView> {
    assertId(id, 'integration account');
    const row = await this.repo.one(id, owner.scope);
    if (!row) throw notFound('integration account');
    if (row.disconnected_at)
      throw rpcError('conflict', 'integration account is disconnected; connect it again', {
        accountId: id,
      });
    return view(row);
  }

  async disconnect(owner: Owner, id: string): Promise<IntegrationAccountView> {
    assertId(id, 'integration account');
    return this.repo.transaction(async (m) => {
      const row = await this.repo.lock(m, id, owner.tenantId);
      if (!row) throw notFound('integration account');
      const sealed = row.refresh_token ?? row.access_token;
      if (sealed && !row.disconnected_at) {
        try {
          const token = this.vault.open(id, row.refresh_token ? 'refresh' : 'access', sealed);
          await this.google.revoke(token);
        } catch (err) {
          // The tokens are erased here whatever the provider says; it only expires them sooner.
          this.logger.warn(
            { accountId: id, err: (err as Error).message },
            'revoking at the provider failed',
          );
        }
      }
      const out = await this.repo.disconnect(m, id);
      this.logger.info({ accountId: id }, 'integration account disconnected');
      return view(out);
    });
  }

  /** Runs `fn` with a live access token; on a 401 refreshes once and tries again. */
  async withToken<T>(accountId: string, fn: (token: string) => Promise<T>): Promise<T> {
    const token = await this.accessToken(accountId);
    try {
      return await fn(token);
    } catch (err) {
      if (!(err instanceof GoogleApiError && err.status === 401)) throw err;
      return fn(await this.refresh(accountId, token));
    }
  }

  async accessToken(accountId: string): Promise<string> {
    const row = await this.repo.token(accountId);
    if (!row || row.disconnected_at) throw new AccountUnusableError(accountId, 'disconnected');
    return this.liveToken(row) ?? this.refresh(accountId);
  }

  /**
   * A fresh access token, fetched once: concurrent callers in this replica share one promise,
   * and the row lock makes other replicas wait and then read the token it stored.
   * `stale` is a token the provider refused: anything else stored is taken as fresh.
   */
  refresh(accountId: string, stale?: string): Promise<string> {
    let p = this.refreshing.get(accountId);
    if (!p) {
      p = this.refreshLocked(accountId, stale).finally(() => this.refreshing.delete(accountId));
      this.refreshing.set(accountId, p);
    }
    return p;
  }

  private async refreshLocked(accountId: string, stale?: string): Promise<string> {
    return this.repo.transaction(async (m) => {
      const row = await this.repo.lock(m, accountId);
      if (!row || row.disconnected_at) throw new AccountUnusableError(accountId, 'disconnected');
      const current = this.liveToken(row);
      if (current !== null && current !== stale) return current;
      if (!row.refresh_token)
        throw new AccountUnusableError(accountId, 'no refresh token; connect again');
      let grant;
      try {
        grant = await this.google.refresh(this.vault.open(accountId, 'refresh', row.refresh_token));
      } catch (err) {
        this.metrics.tokenRefreshes.inc({ outcome: 'failed' });
        if (err instanceof GoogleApiError && err.reason === 'invalid_grant')
          throw new AccountUnusableError(accountId, 'the provider revoked access; connect again');
        throw err;
      }
      await this.repo.storeTokens(m, accountId, {
        access: this.vault.seal(accountId, 'access', grant.accessToken),
        expiresAt: new Date(Date.now() + grant.expiresIn * 1000),
        refresh: grant.refreshToken
          ? this.vault.seal(accountId, 'refresh', grant.refreshToken)
          : null,
      });
      this.metrics.tokenRefreshes.inc({ outcome: 'ok' });
      this.logger.info({ accountId }, 'access token refreshed');
      return grant.accessToken;
    });
  }

  /** The stored access token while it stays good past the margin, else null. */
  private liveToken(row: Pick<AccountRow, 'id' | 'access_token' | 'expires_at'>): string | null {
    if (!row.access_token || !row.expires_at) return null;
    if (row.expires_at.getTime() - EXPIRY_MARGIN_MS <= Date.now()) return null;
    return this.vault.open(row.id, 'access', row.access_token);
  }

  private supported(provider: Provider): void {
    if (provider !== 'google')
      throw rpcError('validation_failed', `provider "${String(provider)}" is not supported yet`, {
        field: 'provider',
      });
  }

  private upstream(err: unknown, what: string) {
    if (err instanceof GoogleApiError && !err.retryable)
      return rpcError('validation_failed', `the provider refused the ${what}: ${err.reason}`, {
        reason: err.reason,
      });
    return rpcError('bad_gateway', `the provider is unavailable (${what})`);
  }
}

/** An account that cannot give a token until the user connects it again. */
export class AccountUnusableError extends Error {
  constructor(
    readonly accountId: string,
    reason: string,
  ) {
    super(`integration account ${accountId}: ${reason}`);
    this.name = 'AccountUnusableError';
  }
}
