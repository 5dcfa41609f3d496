import { Init1764028800000 } from './1764028800000-Init';
import { Uploads1764300000000 } from './1764300000000-Uploads';
import { RpcRequests1764900000000 } from '@app/database';
import { Tenants1765100000000 } from './1765100000000-Tenants';
import { LighthousePace1765200000000 } from './1765200000000-LighthousePace';
import { LighthouseTimes1765300000000 } from './1765300000000-LighthouseTimes';

/** Committed migrations, in order. */
export const migrations = [
  Init1764028800000,
  Uploads1764300000000,
  RpcRequests1764900000000,
  Tenants1765100000000,
  LighthousePace1765200000000,
  LighthouseTimes1765300000000,
];
