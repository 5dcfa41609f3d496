/**
 * Serialized manifest bodies by entity tag, least recently used first out, bounded in
 * bytes. An entity tag names one version of one user's view, so a hit is exactly the body
 * the service would build again; nothing here can go stale.
 */
export class ManifestBodies {
  private readonly bodies = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(etag: string): Buffer | undefined {
    const b = this.bodies.get(etag);
    if (b) {
      this.bodies.delete(etag);
      this.bodies.set(etag, b);
    }
    return b;
  }

  set(etag: string, body: Buffer): void {
    if (body.length > this.maxBytes) return;
    const old = this.bodies.get(etag);
    if (old) {
      this.bytes -= old.length;
      this.bodies.delete(etag);
    }
    this.bodies.set(etag, body);
    this.bytes += body.length;
    for (const [k, v] of this.bodies) {
      if (this.bytes <= this.maxBytes) break;
      this.bodies.delete(k);
      this.bytes -= v.length;
    }
  }
}

/** RFC 9110 §13.1.2: If-None-Match is `*` or a list of tags, compared weakly. */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}
