/**
 * Values no service can store or process safely: Postgres refuses NUL in text and JSON,
 * a lone UTF-16 surrogate cannot be encoded as UTF-8, and deep nesting overflows every
 * recursive walker (validators, class-transformer, JSON.stringify on the way back), and a
 * number beyond a double (`1e400`) would silently become null.
 * The gateway refuses them at the edge; every service checks each RPC message again.
 */

/** Default maximum nesting of a JSON value (objects and arrays). */
export const MAX_JSON_DEPTH = 64;

export interface UnsafeValue {
  /** JSON Pointer (RFC 6901) to the offending value or key; '' for the root. */
  path: string;
  reason: string;
}

/** Why a string cannot be accepted, or null when it can. */
export function unsafeStringReason(s: string): string | null {
  if (s.includes('\u0000')) return 'contains a NUL character (U+0000)';
  if (!s.isWellFormed()) return 'contains a lone UTF-16 surrogate (not valid Unicode)';
  return null;
}

const pointer = (parent: string, key: string | number) =>
  `${parent}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;

/**
 * The first unsafe string, key or nesting level in a parsed JSON value, or null.
 * Iterative (an explicit stack), so a hostile depth cannot overflow this check itself.
 */
export function findUnsafeValue(value: unknown, maxDepth = MAX_JSON_DEPTH): UnsafeValue | null {
  const stack: Array<{ v: unknown; path: string; depth: number }> = [
    { v: value, path: '', depth: 0 },
  ];
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const why = unsafeStringReason(v);
      if (why) return { path, reason: why };
      continue;
    }
    // JSON.parse reads `1e400` as Infinity, which JSON.stringify would pass on as null.
    if (typeof v === 'number' && !Number.isFinite(v))
      return { path, reason: 'is a number too large to represent (beyond IEEE 754 double)' };
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= maxDepth) return { path, reason: `is nested more than ${maxDepth} levels deep` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--)
        stack.push({ v: v[i], path: pointer(path, i), depth: depth + 1 });
      continue;
    }
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      const why = unsafeStringReason(k);
      if (why) return { path: pointer(path, k), reason: `has a key that ${why}` };
      stack.push({ v: child, path: pointer(path, k), depth: depth + 1 });
    }
  }
  return null;
}

/**
 * The nesting depth a JSON text reaches, counted without parsing it (brackets outside
 * strings), stopping as soon as it passes `limit`: a 10 MB body of `[[[[…` costs one scan
 * and no allocation, where parsing first would build the whole structure.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return false;
}
