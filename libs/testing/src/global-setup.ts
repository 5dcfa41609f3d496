import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { rabbitmqctl, type TestEnv } from './run-env';

/**
 * Each run gets its own database and its own RabbitMQ vhost, so two runs on one machine
 * (or a run beside `npm start`) never see each other's rows or messages.
 */
export default async function globalSetup(): Promise<void> {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const amqpBase = process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const dbName = `platform_test_${runId}`;
  const vhost = `platform_test_${runId}`;

  const admin = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  await admin.end();

  rabbitmqctl('add_vhost', vhost);
  const user = decodeURIComponent(new URL(amqpBase).username || 'guest');
  rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');

  const db = new URL(adminUrl);
  db.pathname = `/${dbName}`;
  const amqp = new URL(amqpBase);
  amqp.pathname = `/${encodeURIComponent(vhost)}`;
  const env: TestEnv = { runId, databaseUrl: db.toString(), rabbitUrl: amqp.toString(), vhost };
  process.env.PLATFORM_TEST_ENV = JSON.stringify(env);
}
