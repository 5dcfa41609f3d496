import type { DataSource, EntityManager } from 'typeorm';

/** Runs `fn` in one transaction; its manager must be used for every statement inside. */
export function withTransaction<T>(
  ds: DataSource,
  fn: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  return ds.transaction(fn);
}
