import { Init1764028800000 } from './1764028800000-Init';
import { Copies1764400000000 } from './1764400000000-Copies';
import { RpcRequests1764900000000 } from '@app/database';
import { SensitiveStaysSealed1765000000000 } from './1765000000000-SensitiveStaysSealed';
import { TenantsAndStrictPatch1765100000000 } from './1765100000000-TenantsAndStrictPatch';

/** Committed migrations, in order. */
export const migrations = [
  Init1764028800000,
  Copies1764400000000,
  RpcRequests1764900000000,
  SensitiveStaysSealed1765000000000,
  TenantsAndStrictPatch1765100000000,
];
