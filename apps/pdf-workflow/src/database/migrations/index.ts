import { Init1764028800000 } from './1764028800000-Init';
import { Workflows1764500000000 } from './1764500000000-Workflows';
import { AccessCodeAttempts1764800000000 } from './1764800000000-AccessCodeAttempts';
import { RpcRequests1764900000000 } from '@app/database';
import { Tenants1765100000000 } from './1765100000000-Tenants';
import { Rendering1765300000000 } from './1765300000000-Rendering';

/** Committed migrations, in order. */
export const migrations = [
  Init1764028800000,
  Workflows1764500000000,
  AccessCodeAttempts1764800000000,
  RpcRequests1764900000000,
  Tenants1765100000000,
  Rendering1765300000000,
];
