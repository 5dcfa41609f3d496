import { pdflibAddPlaceholder } from '@signpdf/placeholder-pdf-lib';
import { P12Signer } from '@signpdf/signer-p12';
import { SignPdf } from '@signpdf/signpdf';
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { selfSignedCertificate } from '@app/crypto';
import type { PDFDocument } from 'pdf-lib';

/** The platform's signing identity: a PKCS#12 file (a Secret in production) and its passphrase. */
export interface SealKey {
  p12: Uint8Array;
  passphrase: string;
}

/**
 * Seals a finished document: a PKCS#7 detached signature over the whole file (the signature
 * dictionary's ByteRange), so any later change is evident to a PDF reader and to pdfsig.
 */
export async function seal(doc: PDFDocument, key: SealKey, signedAt = new Date()): Promise<Buffer> {
  pdflibAddPlaceholder({
    pdfDoc: doc,
    reason: 'Completed by every recipient; sealed against change',
    contactInfo: '',
    name: 'pdf-workflow',
    location: '',
    signingTime: signedAt,
    signatureLength: 16_384,
  });
  // The placeholder is found by its ByteRange in a plain (uncompressed) object.
  const withPlaceholder = Buffer.from(await doc.save({ useObjectStreams: false }));
  const signer = new P12Signer(Buffer.from(key.p12), { passphrase: key.passphrase });
  return new SignPdf().sign(withPlaceholder, signer, signedAt);
}

/**
 * A self-signed sealing certificate for development and tests (never in production, where
 * the configuration demands a real one). The key is made by Node's crypto (fast, native);
 * node-forge writes the PKCS#12 file.
 */
export async function devSealKey(
  commonName = 'pdf-workflow development seal',
  passphrase = forge.util.bytesToHex(forge.random.getBytesSync(16)),
): Promise<SealKey> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const { certificate: cert, privateKey: forgeKey } = selfSignedCertificate({
    privateKeyPem: privateKey,
    publicKeyPem: publicKey,
    commonName,
    days: 365,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, nonRepudiation: true },
    ],
  });
  const asn1 = forge.pkcs12.toPkcs12Asn1(forgeKey, [cert], passphrase, { algorithm: '3des' });
  const der = forge.asn1.toDer(asn1).getBytes();
  return { p12: Buffer.from(der, 'binary'), passphrase };
}
