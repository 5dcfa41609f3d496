import { Init1764028800000 } from './1764028800000-Init';
import { Uploads1764300000000 } from './1764300000000-Uploads';

/** Committed migrations, in order. */
export const migrations = [Init1764028800000, Uploads1764300000000];
