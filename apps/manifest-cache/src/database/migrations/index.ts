import { Init1764028800000 } from './1764028800000-Init';
import { Manifests1764200000000 } from './1764200000000-Manifests';
import { RpcRequests1764900000000 } from '@app/database';
import { Tenants1765100000000 } from './1765100000000-Tenants';
import { FetchedFilesAt1765200000000 } from './1765200000000-FetchedFilesAt';
import { ManifestVersion1765300000000 } from './1765300000000-ManifestVersion';
import { ContentRef1765400000000 } from './1765400000000-ContentRef';

/** Committed migrations, in order. */
export const migrations = [
  Init1764028800000,
  Manifests1764200000000,
  RpcRequests1764900000000,
  Tenants1765100000000,
  FetchedFilesAt1765200000000,
  ManifestVersion1765300000000,
  ContentRef1765400000000,
];
