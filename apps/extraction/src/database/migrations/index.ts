import { Init1764028800000 } from './1764028800000-Init';

/** Committed migrations, in order. */
export const migrations = [Init1764028800000];
