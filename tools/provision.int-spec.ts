import { Client } from 'pg';
import { testEnv } from '@app/testing';
import { migrate } from './migrate';
import { provision } from './provision';
import { SCHEMA_OWNERS } from './services';

describe('provision and migrate', () => {
  it('gives each service a role that can use only its own schema, and migrations run once', async () => {
    const env = testEnv();
    // A database of its own: provisioning changes schema owners, which other suites would feel.
    const adminUrl = new URL(env.databaseUrl);
    adminUrl.pathname = `${adminUrl.pathname}_provision`;
    const urls = await provision({
      adminUrl: adminUrl.toString(),
      roles: true,
      rolePrefix: `t${env.runId}_`,
    });
    // Twice, concurrently: the advisory lock serialises them and the second finds nothing to do.
    const logs: string[] = [];
    await Promise.all([
      migrate(
        SCHEMA_OWNERS,
        (s) => urls[s],
        (m) => logs.push(m),
      ),
      migrate(
        SCHEMA_OWNERS,
        (s) => urls[s],
        (m) => logs.push(m),
      ),
    ]);
    expect(logs.filter((l) => l.includes(': applied '))).toHaveLength(SCHEMA_OWNERS.length);
    expect(logs.filter((l) => l.includes('up to date'))).toHaveLength(SCHEMA_OWNERS.length);
    expect(logs).toContainEqual(expect.stringMatching(/^gateway: applied ApiKeys/));

    const asManifestCache = new Client({ connectionString: urls['manifest-cache'] });
    await asManifestCache.connect();
    try {
      const me = await asManifestCache.query<{ current_user: string }>('SELECT current_user');
      expect(me.rows[0].current_user).toBe(`t${env.runId}_manifest_cache_svc`);
      await asManifestCache.query(
        'INSERT INTO outbox (id, event_name, payload) VALUES (gen_random_uuid(), $1, $2)',
        ['x', '{}'],
      );
      await expect(asManifestCache.query('SELECT * FROM upload_status.outbox')).rejects.toThrow(
        /permission denied/,
      );
      await expect(
        asManifestCache.query('CREATE TABLE upload_status.intruder (id int)'),
      ).rejects.toThrow(/permission denied/);
    } finally {
      await asManifestCache.end();
    }

    // Again: nothing breaks and nothing is recreated.
    await expect(
      provision({ adminUrl: adminUrl.toString(), roles: true, rolePrefix: `t${env.runId}_` }),
    ).resolves.toBeDefined();
  });
});
