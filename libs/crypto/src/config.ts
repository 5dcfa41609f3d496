import { z } from 'zod';
import { Keyring } from './cipher';

/** The settings of a service that seals secrets at rest. */
export const encryptionSchema = z.object({
  /** `id:base64key,...`; without them secrets are refused, never stored in clear. */
  ENCRYPTION_KEYS: z.string().optional(),
  /** The key new secrets are sealed with (default: the last listed). */
  ENCRYPTION_ACTIVE_KEY: z.string().optional(),
});
export type EncryptionConfig = z.infer<typeof encryptionSchema>;

/**
 * The keyring the settings describe, or null when no keys are set: callers then refuse to
 * handle secrets (fail closed). Malformed keys throw, so a bad setting stops the app at boot.
 */
export function keyringFromConfig(c: EncryptionConfig): Keyring | null {
  return c.ENCRYPTION_KEYS ? Keyring.fromEnv(c.ENCRYPTION_KEYS, c.ENCRYPTION_ACTIVE_KEY) : null;
}
