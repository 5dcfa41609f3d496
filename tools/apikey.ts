import { DEFAULT_TENANT, TENANT_ID_PATTERN } from '@app/contracts';
import { generateApiKey, hashApiKey } from '../apps/gateway/src/auth/api-keys';
import {
  apiKeyView,
  ApiKeysRepository,
  KeyLimitError,
  KeyNotFoundError,
} from '../apps/gateway/src/auth/api-keys.repository';
import { unknownScope } from '../apps/gateway/src/auth/scopes';
import { gatewayDataSource } from '../apps/gateway/src/database/data-source';
import { databaseUrlEnvOf } from './services';

const USAGE = `usage:
  npm run apikey -- create --tenant <tenant> --caller <caller> --scopes <scope,scope> [--expires-in-days N]
  npm run apikey -- list [--tenant <tenant>] [--caller <caller>]
  npm run apikey -- rotate <key id> [--overlap-seconds N] [--expires-in-days N]
  npm run apikey -- revoke <key id>
  npm run apikey -- config <id> <scope>... [--tenant <tenant>]   (an API_KEYS entry, for bootstrap)
Managed keys live in the gateway's schema (GATEWAY_DATABASE_URL or DATABASE_URL); a change
reaches every gateway replica within API_KEY_CACHE_TTL_MS.`;

class UsageError extends Error {}

function options(args: string[]): { rest: string[]; opts: Record<string, string> } {
  const rest: string[] = [];
  const opts: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) {
      rest.push(a);
      continue;
    }
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
    opts[a.slice(2)] = v;
    i++;
  }
  return { rest, opts };
}

function scopesOf(list: string[]): string[] {
  if (list.length === 0) throw new UsageError('at least one scope is required');
  const bad = list.map(unknownScope).filter((p): p is string => p !== null);
  if (bad.length) throw new UsageError(bad.join('\n'));
  return [...new Set(list)];
}

function tenantOf(t: string | undefined, required: boolean): string {
  if (t === undefined && !required) return DEFAULT_TENANT;
  if (t === undefined || !TENANT_ID_PATTERN.test(t))
    throw new UsageError('--tenant must be 1 to 64 letters, digits, "_", "." or "-"');
  return t;
}

const days = (v: string | undefined) => {
  if (v === undefined) return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 3650)
    throw new UsageError('--expires-in-days must be 1 to 3650');
  return new Date(Date.now() + n * 86_400_000);
};

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  const { rest, opts } = options(args);
  if (
    command === 'config' ||
    (command && !['create', 'list', 'rotate', 'revoke'].includes(command))
  ) {
    // A key from configuration: printed once, with the entry for API_KEYS.
    const [id, ...scopes] = command === 'config' ? rest : [command, ...rest];
    if (!id || !/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw new UsageError('an id is required');
    const key = generateApiKey();
    const entry = {
      id,
      sha256: hashApiKey(key),
      scopes: scopesOf(scopes),
      tenant: tenantOf(opts.tenant, false),
    };
    console.log(`key (give it to the caller; it is not stored anywhere): ${key}`);
    console.log(`API_KEYS entry: ${JSON.stringify(entry)}`);
    return;
  }
  if (!command) throw new UsageError('a command is required');
  // Everything the command needs is checked before the database is opened.
  const run = plan(command, rest, opts);
  const url =
    process.env[databaseUrlEnvOf('gateway')] ??
    process.env.DATABASE_URL ??
    'postgres://postgres@127.0.0.1:5432/platform';
  const ds = gatewayDataSource(
    { DATABASE_URL: url, DB_POOL_MAX: 1, DB_CONNECT_TIMEOUT_MS: 5000 },
    'apikey',
  );
  await ds.initialize();
  try {
    await run(new ApiKeysRepository(ds));
  } finally {
    await ds.destroy();
  }
}

function plan(
  command: string,
  rest: string[],
  opts: Record<string, string>,
): (repo: ApiKeysRepository) => Promise<void> {
  if (command === 'create') {
    if (!opts.caller || !/^[A-Za-z0-9_.-]{1,64}$/.test(opts.caller))
      throw new UsageError('--caller is required (1 to 64 letters, digits, "_", "." or "-")');
    const key = {
      tenantId: tenantOf(opts.tenant, true),
      callerId: opts.caller,
      scopes: scopesOf((opts.scopes ?? '').split(',').filter(Boolean)),
      expiresAt: days(opts['expires-in-days']),
      createdBy: 'cli',
    };
    return async (repo) => {
      const { key: made, row } = await repo.create(key);
      console.log(`key (shown once; give it to the caller): ${made}`);
      console.log(JSON.stringify(apiKeyView(row), null, 2));
    };
  }
  if (command === 'list') {
    return async (repo) => {
      const rows = await repo.list({ tenantId: opts.tenant, callerId: opts.caller });
      for (const r of rows.map((x) => apiKeyView(x)))
        console.log(
          `${r.id}  ${r.prefix}…  ${r.tenantId}/${r.callerId}  ${r.live ? 'live' : r.revokedAt ? 'revoked' : 'expired'}  ${r.scopes.join(',')}  expires ${r.expiresAt ?? 'never'}  last used ${r.lastUsedAt ?? 'never'}`,
        );
    };
  }
  const id = rest[0];
  if (!id || !/^[0-9a-f-]{36}$/i.test(id))
    throw new UsageError(`the key id to ${command} is required`);
  if (command === 'rotate') {
    const overlap = Number(opts['overlap-seconds'] ?? 86_400);
    if (!Number.isInteger(overlap) || overlap < 0 || overlap > 30 * 86_400)
      throw new UsageError('--overlap-seconds must be 0 to 2592000');
    const expiresAt = days(opts['expires-in-days']);
    return async (repo) => {
      const r = await repo.rotate(id, overlap, expiresAt, 'cli');
      console.log(`new key (shown once): ${r.key}`);
      console.log(
        `the old key ${r.replaced.id} works until ${r.replaced.expires_at?.toISOString()}`,
      );
    };
  }
  return async (repo) => {
    const row = await repo.revoke(id);
    if (!row) throw new KeyNotFoundError(`no API key ${id}`);
    console.log(`revoked ${row.id} at ${row.revoked_at?.toISOString()}`);
  };
}

main(process.argv.slice(2)).catch((err: Error) => {
  if (err instanceof UsageError) console.error(`${err.message}\n\n${USAGE}`);
  else if (err instanceof KeyLimitError || err instanceof KeyNotFoundError)
    console.error(err.message);
  else console.error(`apikey failed: ${err.message}`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
