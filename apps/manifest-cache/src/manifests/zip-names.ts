const EXT: Record<string, string> = {
  'application/pdf': 'pdf',
  'image/tiff': 'tiff',
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'text/plain': 'txt',
};

function clean(s: string): string {
  return s
    .replace(/[^A-Za-z0-9 ._-]+/g, '_')
    .replace(/\s+/g, ' ')
    .replace(/_+/g, '_')
    .trim();
}

/**
 * A zip entry's name: position, type, date and document id, sanitised to characters every
 * unzip tool accepts and cut to 100 characters by shortening the type, never the id.
 */
export function zipEntryName(
  index: number,
  r: {
    type_description: string | null;
    received_at: Date | string | null;
    external_document_id: string;
    mime_type: string | null;
  },
): string {
  const seq = String(index + 1).padStart(4, '0');
  const date = r.received_at
    ? new Date(r.received_at).toISOString().slice(0, 10).replace(/-/g, '')
    : 'undated';
  const id = clean(r.external_document_id.replace(/[{}]/g, ''));
  const ext = EXT[r.mime_type ?? ''] ?? 'bin';
  const fixed = `${seq}-`.length + `-${date}-${id}.${ext}`.length;
  const type =
    clean(r.type_description ?? 'Document')
      .slice(0, Math.max(0, 100 - fixed))
      .trim() || 'Document';
  return `${seq}-${type}-${date}-${id}.${ext}`.slice(0, 100);
}

/** eFolder's download name: `Last, First - 1234.zip`. */
export function zipFileName(m: {
  veteran_first_name: string | null;
  veteran_last_name: string | null;
  veteran_last_four_ssn: string | null;
  file_number: string;
}): string {
  const last = clean(m.veteran_last_name ?? '') || 'Unknown';
  const first = clean(m.veteran_first_name ?? '') || 'Unknown';
  const four = (m.veteran_last_four_ssn || m.file_number).slice(-4);
  return `${last}, ${first} - ${four}.zip`;
}
