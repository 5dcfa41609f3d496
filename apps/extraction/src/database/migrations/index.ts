import { Init1764028800000 } from './1764028800000-Init';
import { Jobs1764600000000 } from './1764600000000-Jobs';
import { Integrations1764700000000 } from './1764700000000-Integrations';
import { RpcRequests1764900000000 } from '@app/database';
import { Tenants1765100000000 } from './1765100000000-Tenants';
import { Engines1765400000000 } from './1765400000000-Engines';

/** Committed migrations, in order. */
export const migrations = [
  Init1764028800000,
  Jobs1764600000000,
  Integrations1764700000000,
  RpcRequests1764900000000,
  Tenants1765100000000,
  Engines1765400000000,
];
