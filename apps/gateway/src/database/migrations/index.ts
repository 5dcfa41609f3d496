import { ApiKeys1765100000000 } from './1765100000000-ApiKeys';

/** Committed migrations of the gateway's schema, in order. */
export const migrations = [ApiKeys1765100000000];
