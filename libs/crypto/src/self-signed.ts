import { randomBytes } from 'node:crypto';
import forge from 'node-forge';

/**
 * A self-signed X.509 certificate for a key Node's crypto made (PEM), written by node-forge:
 * development seals, a simulator's signing certificates. Never a production identity.
 */
export function selfSignedCertificate(o: {
  privateKeyPem: string;
  publicKeyPem: string;
  commonName: string;
  days: number;
  extensions?: object[];
}): { certificate: forge.pki.Certificate; privateKey: forge.pki.rsa.PrivateKey; pem: string } {
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(o.publicKeyPem);
  // A positive serial: the first hex digit below 8.
  certificate.serialNumber = randomBytes(16)
    .toString('hex')
    .replace(/^[89a-f]/, '1');
  certificate.validity.notBefore = new Date(Date.now() - 60_000);
  certificate.validity.notAfter = new Date(Date.now() + o.days * 24 * 3600_000);
  const subject = [{ name: 'commonName', value: o.commonName }];
  certificate.setSubject(subject);
  certificate.setIssuer(subject);
  if (o.extensions) certificate.setExtensions(o.extensions);
  const privateKey = forge.pki.privateKeyFromPem(o.privateKeyPem);
  certificate.sign(privateKey, forge.md.sha256.create());
  return { certificate, privateKey, pem: forge.pki.certificateToPem(certificate) };
}
