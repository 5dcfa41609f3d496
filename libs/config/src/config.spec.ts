import { ConfigError, loadConfig, serviceSchema } from './config';
import { z } from 'zod';

describe('loadConfig', () => {
  it('applies defaults that work on a fresh machine', () => {
    const cfg = loadConfig(serviceSchema, {});
    expect(cfg.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/platform');
    expect(cfg.RABBITMQ_URL).toBe('amqp://guest:guest@127.0.0.1:5672');
    expect(cfg.EVENT_RETRY_DELAYS_MS).toEqual([1000, 5000, 30000, 120000]);
  });

  it('names every bad variable in one error', () => {
    let caught: unknown;
    try {
      loadConfig(serviceSchema, { DATABASE_URL: 'mysql://x', DB_POOL_MAX: 'lots' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const msg = (caught as Error).message;
    expect(msg).toContain('DATABASE_URL');
    expect(msg).toContain('DB_POOL_MAX');
  });

  it('refuses the local defaults of the database and broker in production', () => {
    expect(() => loadConfig(serviceSchema, { NODE_ENV: 'production' })).toThrow(
      /DATABASE_URL: is required when NODE_ENV=production[\s\S]*RABBITMQ_URL: is required/,
    );
    const given = loadConfig(serviceSchema, {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://svc@db:5432/platform',
      RABBITMQ_URL: 'amqp://svc:pw@mq:5672',
    });
    expect(given.RABBITMQ_URL).toBe('amqp://svc:pw@mq:5672');
  });

  it('says a required variable is missing by name', () => {
    const schema = z.object({ SECRET_KEY: z.string() });
    expect(() => loadConfig(schema, {})).toThrow('SECRET_KEY: is required but not set');
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig(serviceSchema, { DB_POOL_MAX: '' }).DB_POOL_MAX).toBe(10);
  });

  it('rejects bad retry delays', () => {
    expect(() => loadConfig(serviceSchema, { EVENT_RETRY_DELAYS_MS: '10,-1' })).toThrow(
      'EVENT_RETRY_DELAYS_MS',
    );
  });
});
