import { TENANT_ID_PATTERN } from '@app/contracts';

/** Every scope a route asks for, and what it lets a key do. */
export const SCOPES = {
  'status:read': 'the platform status of every service',
  'ops:read': 'outbox events by id',
  'metrics:read': "the gateway's Prometheus metrics",
  efolder: 'the eFolder Express v2 API (manifests, records, zips)',
  'uploads:read': 'uploads and submissions status',
  'uploads:write': 'record uploads',
  'copies:read': 'application forms and copies',
  'copies:write': 'create, patch, delete, duplicate and clone copies; leases',
  'copies:admin': "owners' feature flags",
  'copies:sensitive': 'read sensitive answers in plaintext',
  'workflows:read': 'workflows, their audit, stats and documents',
  'workflows:write': 'create, cancel, extend and resend workflows',
  'extraction:read': 'extraction jobs, runs, results, exports, accounts, automations',
  'extraction:write': 'change extraction jobs, files, runs, exports, accounts, automations',
  // Kept so keys that hold it stay valid; Gmail pushes now carry Google's OIDC token instead.
  'extraction:push':
    "Gmail's push notifications (unused: pushes authenticate with Google's OIDC token)",
  'platform:admin': 'read across tenants (audited) and manage API keys',
  '*': 'every scope but platform:admin (development keys)',
} as const;

/** A grant to clone copies into another tenant: `copies:clone-to:<tenant>`. */
const CLONE_GRANT = /^copies:clone-to:(.+)$/;

/** Why a scope cannot be given to a key, or null when it can. */
export function unknownScope(scope: string): string | null {
  if (scope in SCOPES) return null;
  const grant = CLONE_GRANT.exec(scope);
  if (grant && TENANT_ID_PATTERN.test(grant[1])) return null;
  return `unknown scope "${scope}"; known: ${Object.keys(SCOPES).join(', ')}, copies:clone-to:<tenant>`;
}
