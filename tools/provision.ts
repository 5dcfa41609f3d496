import { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import { SCHEMA_OWNERS, type SchemaOwner, schemaOfOwner } from './services';

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

export interface ProvisionOptions {
  /** An administrative URL; its database is created if missing. */
  adminUrl: string;
  /** Create one login role per service that can use only its own schema. */
  roles: boolean;
  /** Prefix of role names (roles are cluster-wide; test runs use their own). */
  rolePrefix?: string;
  log?: (msg: string) => void;
}

/**
 * Creates the database, each service's schema and (optionally) each service's role, if
 * missing. Safe to run again. Returns the URL each service should connect with.
 */
export async function provision(o: ProvisionOptions): Promise<Record<SchemaOwner, string>> {
  const log = o.log ?? (() => undefined);
  const target = new URL(o.adminUrl);
  const dbName = decodeURIComponent(target.pathname.slice(1)) || 'postgres';
  if (!IDENT.test(dbName)) throw new Error(`database name "${dbName}" is not a plain identifier`);

  const maint = new URL(o.adminUrl);
  maint.pathname = '/postgres';
  const admin = new Client({ connectionString: maint.toString(), connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (exists.rowCount === 0) {
      await admin.query(`CREATE DATABASE "${dbName}"`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created meanwhile by another run
      });
      log(`created database ${dbName}`);
    }
  } finally {
    await admin.end();
  }

  const db = new Client({ connectionString: o.adminUrl, connectionTimeoutMillis: 5000 });
  await db.connect();
  const urls = {} as Record<SchemaOwner, string>;
  try {
    // Serialise concurrent provisioning of the same database.
    await db.query('SELECT pg_advisory_lock(hashtext($1))', ['platform:provision']);
    for (const service of SCHEMA_OWNERS) {
      const schema = schemaOfOwner(service);
      if (!o.roles) {
        await db.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        urls[service] = o.adminUrl;
        continue;
      }
      const role = `${o.rolePrefix ?? ''}${schema}_svc`;
      if (!IDENT.test(role)) throw new Error(`role name "${role}" is not a plain identifier`);
      // A fresh password each run: nothing to leak from a default, and the caller passes it on.
      const password = randomBytes(18).toString('base64url');
      const found = await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      const pw = db.escapeLiteral(password);
      if (found.rowCount === 0) {
        await db.query(
          `CREATE ROLE "${role}" LOGIN PASSWORD ${pw} NOSUPERUSER NOCREATEDB NOCREATEROLE`,
        );
        log(`created role ${role}`);
      } else {
        await db.query(`ALTER ROLE "${role}" LOGIN PASSWORD ${pw}`);
      }
      await db.query(`CREATE SCHEMA IF NOT EXISTS "${schema}" AUTHORIZATION "${role}"`);
      await db.query(`ALTER SCHEMA "${schema}" OWNER TO "${role}"`);
      await db.query(`GRANT CONNECT ON DATABASE "${dbName}" TO "${role}"`);
      // The role owns its schema and nothing else; it gets no rights on other schemas.
      await db.query(`REVOKE CREATE ON SCHEMA public FROM "${role}"`);
      await db.query(`ALTER ROLE "${role}" SET search_path = "${schema}"`);
      const url = new URL(o.adminUrl);
      url.username = role;
      url.password = password;
      urls[service] = url.toString();
    }
    await db.query('SELECT pg_advisory_unlock(hashtext($1))', ['platform:provision']);
  } finally {
    await db.end();
  }
  return urls;
}

if (require.main === module) {
  const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/platform';
  provision({
    adminUrl,
    roles: process.env.DB_SERVICE_ROLES === 'true',
    log: (m) => console.log(m),
  })
    .then(() => console.log('provisioned'))
    .catch((err: Error) => {
      console.error(`provision failed: ${err.message}`);
      process.exit(1);
    });
}
