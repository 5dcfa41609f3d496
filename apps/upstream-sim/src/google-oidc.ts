import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import { selfSignedCertificate } from '@app/crypto';

/**
 * Google's OIDC identity tokens as Pub/Sub push sends them in `Authorization: Bearer`, and
 * the certificates that verify them. The claims are those of Google's documentation
 * ("Authentication for push subscriptions", cloud.google.com/pubsub/docs/authenticate-push-subscriptions):
 * RS256 with a `kid`, `iss` https://accounts.google.com, `aud` the subscription's audience,
 * `email`/`email_verified` of its service account, `azp` = `sub`, one hour to live. The
 * certificates are served as Google's `oauth2/v1/certs` serves them: `{ kid: PEM certificate }`
 * (the URL google-auth-library's OAuth2Client reads, googleapis/google-auth-library-nodejs,
 * src/auth/oauth2client.ts).
 */
export class GoogleOidc {
  private readonly kid = randomBytes(20).toString('hex');
  private readonly privateKeyPem: string;
  readonly certificatePem: string;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    this.privateKeyPem = privateKey;
    this.certificatePem = selfSignedCertificate({
      privateKeyPem: privateKey,
      publicKeyPem: publicKey,
      commonName: 'securetoken.system.gserviceaccount.com',
      days: 2,
    }).pem;
  }

  /** The certificates document: this signer's one key, by its id. */
  certs(): Record<string, string> {
    return { [this.kid]: this.certificatePem };
  }

  /** An identity token for `email` addressed to `audience` (as Pub/Sub mints per push). */
  async token(audience: string, email: string, over: Record<string, unknown> = {}) {
    const sub = BigInt(`0x${createHash('sha256').update(email).digest('hex').slice(0, 15)}`);
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      aud: audience,
      azp: String(sub),
      email,
      email_verified: true,
      sub: String(sub),
      iat: now,
      exp: now + 3600,
      iss: 'https://accounts.google.com',
      ...over,
    })
      .setProtectedHeader({ alg: 'RS256', kid: this.kid, typ: 'JWT' })
      .sign(await importPKCS8(this.privateKeyPem, 'RS256'));
  }
}
