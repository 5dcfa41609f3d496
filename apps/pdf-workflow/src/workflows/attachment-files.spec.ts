import { attachmentName, matchesType } from './attachment-files';

describe('attachment names and bytes', () => {
  it('keeps every script’s letters, composed', () => {
    expect(attachmentName('Résumé Ñúñez 王.pdf')).toBe('Résumé Ñúñez 王.pdf');
    // A decomposed "é" (e + combining acute) becomes the composed one.
    expect(attachmentName('Jose\u0301.pdf')).toBe('José.pdf');
    expect(attachmentName('Ελένη Παπαδοπούλου.png')).toBe('Ελένη Παπαδοπούλου.png');
  });

  it('drops what misleads or breaks a file system', () => {
    // A right-to-left override makes "invoice\u202Efdp.exe" look like "invoiceexe.pdf".
    expect(attachmentName('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(attachmentName('zero\u200Bwidth.pdf')).toBe('zerowidth.pdf');
    expect(attachmentName('../../etc/passwd')).toBe('_.._etc_passwd');
    expect(attachmentName('a<b>:c"d|e?f*.pdf')).toBe('a_b_c_d_e_f_.pdf');
    expect(attachmentName('line\r\nbreak.pdf')).toBe('linebreak.pdf');
    expect(attachmentName(' .. ')).toBe('attachment');
    expect([...attachmentName('名'.repeat(300))]).toHaveLength(200);
  });

  it('checks the bytes against the declared type', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);
    expect(matchesType(png, 'image/png')).toBe(true);
    expect(matchesType(Buffer.from('MZ\x90\x00'), 'image/png')).toBe(false);
    expect(matchesType(Buffer.from('%PDF-1.7\n'), 'application/pdf')).toBe(true);
    expect(matchesType(Buffer.from('%PDF-1.7\n'), 'image/jpeg')).toBe(false);
    expect(matchesType(Buffer.from([0xff, 0xd8, 0xff, 0xe0]), 'IMAGE/JPEG')).toBe(true);
    expect(matchesType(Buffer.from('anything'), 'text/plain')).toBe(true);
  });
});
