/**
 * What an attachment's name and bytes must be. The name keeps every script's letters
 * ("Résumé Ñúñez 王.pdf" stays itself), composed (NFC); what could mislead or break a file
 * system goes: control and invisible format characters (bidi overrides, zero-width), path
 * separators and the characters Windows forbids.
 */
export function attachmentName(raw: string): string {
  const name = raw
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .replace(/[/\\<>:"|?*]+/g, '_')
    .replace(/\s+/g, ' ')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  return [...name].slice(0, 200).join('') || 'attachment';
}

/** The first bytes each accepted type starts with (its file signature). */
const SIGNATURES: Record<string, number[][]> = {
  'application/pdf': [[0x25, 0x50, 0x44, 0x46, 0x2d]],
  'image/png': [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  'image/jpeg': [[0xff, 0xd8, 0xff]],
  'image/gif': [
    [0x47, 0x49, 0x46, 0x38, 0x37, 0x61],
    [0x47, 0x49, 0x46, 0x38, 0x39, 0x61],
  ],
  'image/tiff': [
    [0x49, 0x49, 0x2a, 0x00],
    [0x4d, 0x4d, 0x00, 0x2a],
  ],
};

/**
 * Whether the bytes are what the declared type says (an executable sent as `image/png` is
 * not). A type with no known signature is not checked.
 */
export function matchesType(head: Buffer, type: string): boolean {
  const signatures = SIGNATURES[type.toLowerCase()];
  if (!signatures) return true;
  return signatures.some((sig) => sig.every((b, i) => head[i] === b));
}
