import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { SERVICES, type ServiceName } from '@app/contracts';
import { generateApiKey } from '../apps/gateway/src/auth/api-keys';
import { devSealKey } from '../apps/pdf-workflow/src/pdf/seal';
import { migrate } from './migrate';
import { provision } from './provision';
import { SCHEMA_OWNERS } from './services';

/**
 * `npm start`: provisions the database, runs migrations, starts every app against local
 * Postgres and RabbitMQ, and stops them all on Ctrl-C or SIGTERM.
 */
const DIST = join(__dirname, '..');
const env = process.env;
const databaseUrl = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/platform';
const rabbitUrl = env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const port = Number(env.PORT ?? 3000);
const healthBase = Number(env.HEALTH_PORT_BASE ?? 3101);
const devKey = env.DEV_API_KEY ?? generateApiKey();
const log = (msg: string) => process.stdout.write(`[start] ${msg}\n`);

interface App {
  name: string;
  entry: string;
  env: NodeJS.ProcessEnv;
  child?: ChildProcess;
  restarts: number[];
}

const apps: App[] = [];
let stopping = false;

async function waitFor(what: string, check: () => Promise<void>, seconds = 60): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (let i = 0; ; i++) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`${what} is not reachable: ${(err as Error).message}`);
      if (i === 0) log(`waiting for ${what}...`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function tcpCheck(url: string): () => Promise<void> {
  const u = new URL(url);
  return () =>
    new Promise((resolve, reject) => {
      const s = connect({ host: u.hostname, port: Number(u.port || 5672) }, () => {
        s.end();
        resolve();
      });
      s.setTimeout(2000, () => s.destroy(new Error('timed out')));
      s.on('error', reject);
    });
}

function launch(app: App): void {
  const child = spawn(process.execPath, ['--enable-source-maps', app.entry], {
    env: app.env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  app.child = child;
  child.on('exit', (code, signal) => {
    app.child = undefined;
    if (stopping) return;
    const now = Date.now();
    app.restarts = app.restarts.filter((t) => now - t < 60_000).concat(now);
    if (app.restarts.length > 5) {
      log(`${app.name} keeps exiting (code ${code}, signal ${signal}); stopping everything`);
      void stop(1);
      return;
    }
    log(`${app.name} exited (code ${code}, signal ${signal}); restarting`);
    setTimeout(() => !stopping && launch(app), 1000);
  });
}

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  log('stopping all apps...');
  const running = apps.filter((a) => a.child);
  await Promise.all(
    running.map(
      (a) =>
        new Promise<void>((resolve) => {
          const child = a.child!;
          const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  log('all apps stopped');
  process.exit(code);
}

/**
 * A local secret (the key for sensitive answers, the recipient link secret, the sealing key), made once and kept
 * under var/ so what one run wrote stays usable in the next. Production sets them from Secrets.
 */
async function devSecret(name: string, make: () => string | Promise<string>): Promise<string> {
  const file = join(process.cwd(), 'var', name);
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const value = await make();
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, value, { mode: 0o600 });
    log(`made a local secret in ${file}`);
    return value;
  }
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  await waitFor('PostgreSQL', async () => {
    const maint = new URL(databaseUrl);
    maint.pathname = '/postgres';
    const c = new Client({ connectionString: maint.toString(), connectionTimeoutMillis: 2000 });
    await c.connect();
    await c.end();
  });
  await waitFor('RabbitMQ', tcpCheck(rabbitUrl.split(',')[0]));

  const roles = env.DB_SERVICE_ROLES !== 'false';
  const urls = await provision({ adminUrl: databaseUrl, roles, log });
  log(`database ready${roles ? ' (one role per service, each limited to its own schema)' : ''}`);
  await migrate(SCHEMA_OWNERS, (s) => urls[s], log);

  const simPort = Number(env.SIM_PORT ?? 3200);
  const encryptionKeys =
    env.ENCRYPTION_KEYS ??
    (await devSecret('dev-encryption-key', () => `dev1:${randomBytes(32).toString('base64')}`));
  const linkSecret =
    env.LINK_SECRET ??
    (await devSecret('dev-link-secret', () => randomBytes(32).toString('base64url')));
  // pdf-workflow seals finished documents: a self-signed development key, kept like the rest.
  const sealPassphrase =
    env.SEAL_P12_PASSPHRASE ??
    (await devSecret('dev-seal-passphrase', () => randomBytes(16).toString('hex')));
  const sealP12 =
    env.SEAL_P12_FILE || env.SEAL_P12
      ? env.SEAL_P12
      : await devSecret('dev-seal.p12.base64', async () =>
          Buffer.from((await devSealKey('pdf-workflow local seal', sealPassphrase)).p12).toString(
            'base64',
          ),
        );
  const oauthStateSecret =
    env.OAUTH_STATE_SECRET ??
    (await devSecret('dev-oauth-state-secret', () => randomBytes(32).toString('base64url')));
  // The Lighthouse client's key pair: upload-status signs with the private key, the
  // simulator (as Okta) verifies with the public one.
  const lighthouseKey =
    env.LIGHTHOUSE_PRIVATE_KEY ??
    (await devSecret('dev-lighthouse-key.pem', () =>
      generateKeyPairSync('rsa', { modulusLength: 2048 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
    ));
  const lighthousePublicKey = createPublicKey(lighthouseKey.replace(/\\n/g, '\n'))
    .export({ type: 'spki', format: 'pem' })
    .toString();
  const simBase = `http://127.0.0.1:${simPort}`;
  const common: NodeJS.ProcessEnv = {
    ...env,
    NODE_ENV: env.NODE_ENV ?? 'development',
    RABBITMQ_URL: rabbitUrl,
    // Services and the gateway share one blob store (a volume or S3 in production).
    STORAGE_ROOT: env.STORAGE_ROOT ?? join(process.cwd(), 'var', 'storage'),
    CLAIM_EVIDENCE_URL: env.CLAIM_EVIDENCE_URL ?? `${simBase}/ce`,
    VBMS_URL: env.VBMS_URL ?? `${simBase}/vbms`,
    VVA_URL: env.VVA_URL ?? `${simBase}/vva`,
    BGS_URL: env.BGS_URL ?? `${simBase}/bgs`,
    LIGHTHOUSE_URL: env.LIGHTHOUSE_URL ?? `${simBase}/lighthouse`,
    LIGHTHOUSE_PRIVATE_KEY: lighthouseKey,
    ENCRYPTION_KEYS: encryptionKeys,
    LINK_SECRET: linkSecret,
    SEAL_P12: sealP12,
    SEAL_P12_PASSPHRASE: sealPassphrase,
    NOTIFY_URL: env.NOTIFY_URL ?? `${simBase}/notify`,
    OAUTH_STATE_SECRET: oauthStateSecret,
    GOOGLE_AUTH_URL: env.GOOGLE_AUTH_URL ?? `${simBase}/google/o/oauth2/v2/auth`,
    GOOGLE_OAUTH_URL: env.GOOGLE_OAUTH_URL ?? `${simBase}/google/oauth2`,
    GOOGLE_API_URL: env.GOOGLE_API_URL ?? `${simBase}/google`,
    MODEL_BASE_URL: env.MODEL_BASE_URL ?? `${simBase}/openai/v1`,
    PUBLIC_BASE_URL: env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${port}`,
  };
  if (env.UPSTREAM_SIM !== 'false') {
    apps.push({
      name: 'upstream-sim',
      entry: join(DIST, 'apps', 'upstream-sim', 'src', 'main.js'),
      env: {
        ...common,
        SIM_PORT: String(simPort),
        SIM_LIGHTHOUSE_CLIENT_ID: env.LIGHTHOUSE_CLIENT_ID ?? 'dev-client',
        SIM_LIGHTHOUSE_PUBLIC_KEY: lighthousePublicKey,
        // The simulated Gmail pushes to the gateway as Pub/Sub would.
        SIM_GMAIL_PUSH_URL: `http://127.0.0.1:${port}/api/v1/integrations/google/gmail/push`,
      },
      restarts: [],
    });
  }
  SERVICES.forEach((service: ServiceName, i) =>
    apps.push({
      name: service,
      entry: join(DIST, 'apps', service, 'src', 'main.js'),
      env: { ...common, DATABASE_URL: urls[service], HEALTH_PORT: String(healthBase + i) },
      restarts: [],
    }),
  );
  apps.push({
    name: 'gateway',
    entry: join(DIST, 'apps', 'gateway', 'src', 'main.js'),
    // Locally nothing balances load in front of it: no need to wait before closing.
    env: {
      ...common,
      PORT: String(port),
      DATABASE_URL: urls.gateway,
      DEV_API_KEY: devKey,
      DRAIN_DELAY_MS: env.DRAIN_DELAY_MS ?? '0',
      // Gmail pushes carry an identity token the simulated Google signs for this audience.
      PUBSUB_PUSH_AUDIENCE:
        env.PUBSUB_PUSH_AUDIENCE ??
        `http://127.0.0.1:${port}/api/v1/integrations/google/gmail/push`,
      PUBSUB_PUSH_SERVICE_ACCOUNT:
        env.PUBSUB_PUSH_SERVICE_ACCOUNT ?? 'gmail-push@document-platform.iam.gserviceaccount.com',
      GOOGLE_OIDC_CERTS_URL: env.GOOGLE_OIDC_CERTS_URL ?? `${simBase}/google/oauth2/v1/certs`,
    },
    restarts: [],
  });
  apps.forEach(launch);

  const base = `http://127.0.0.1:${port}`;
  await waitFor('the gateway', async () => {
    const res = await fetch(`${base}/health/ready`);
    if (!res.ok) throw new Error(`ready answered ${res.status}`);
  });
  log('');
  log(`gateway:  ${base}   (OpenAPI at ${base}/docs)`);
  log(
    `API key:  ${devKey}${env.DEV_API_KEY ? ' (from DEV_API_KEY)' : ' (generated for this run; set DEV_API_KEY to choose one)'}`,
  );
  log(`try:      curl -H "X-Api-Key: ${devKey}" ${base}/api/v1/status`);
  SERVICES.forEach((s, i) =>
    log(`${s.padEnd(15)} health http://127.0.0.1:${healthBase + i}/health/ready`),
  );
  log('Ctrl-C stops everything.');
}

main().catch((err: Error) => {
  log(`could not start: ${err.message}`);
  void stop(1);
});
