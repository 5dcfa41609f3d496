import Fastify from 'fastify';
import { Pool } from 'pg';

/**
 * The baseline: the same primary-key lookup as the gateway path, answered by a minimal
 * Fastify handler over a pg pool of the same size, with nothing in between.
 */
async function main(): Promise<void> {
  const pool = new Pool({
    connectionString: process.env.DATABASE_URL,
    max: Number(process.env.DB_POOL_MAX ?? 10),
    options: '-c search_path=manifest_cache',
  });
  const app = Fastify({ logger: false });
  app.get<{ Params: { id: string } }>('/outbox-events/:id', async (req, reply) => {
    const { rows } = await pool.query(
      'SELECT id, event_name, created_at, published_at, attempts, last_error FROM outbox WHERE id = $1',
      [req.params.id],
    );
    if (!rows[0]) return reply.status(404).send({ status: 404 });
    return rows[0] as object;
  });
  await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
  process.send?.({ port: (app.server.address() as { port: number }).port });
  process.on(
    'SIGTERM',
    () =>
      void app
        .close()
        .then(() => pool.end())
        .then(() => process.exit(0)),
  );
}

void main();
