import { generateKeyPairSync } from 'node:crypto';

let pair: { privateKeyPem: string; publicKeyPem: string } | undefined;

/**
 * An RSA key pair for a Lighthouse client in tests: upload-status signs its assertions with
 * the private key; the simulator, like Okta, knows the public key. One pair per process.
 */
export function lighthouseClientKeys(): { privateKeyPem: string; publicKeyPem: string } {
  pair ??= (() => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return {
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
  })();
  return pair;
}
