const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a value is a UUID: every id the services hand out is one. */
export function isUuid(v: unknown): boolean {
  return typeof v === 'string' && UUID.test(v);
}
