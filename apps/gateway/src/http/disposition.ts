/**
 * A Content-Disposition value for any file name (RFC 6266): an ASCII `filename` for old
 * clients, and the exact name as `filename*` (RFC 8187, UTF-8) for everyone else. A raw
 * non-ASCII name in a header is refused by Node (a 500), and a quote would end the value.
 */
export function contentDisposition(type: 'inline' | 'attachment', name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const exact = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${type}; filename="${fallback}"; filename*=UTF-8''${exact}`;
}
