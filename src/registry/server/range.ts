// Byte ranges in both directions: a blob GET's `Range: bytes=…` (RFC 9110, one range only), and a
// chunked upload PATCH's `Content-Range: <start>-<end>` (distribution's form: inclusive, no unit).
//
//   parseRange('bytes=0-9', 100)   → { start: 0, end: 9 }
//   parseRange('bytes=-10', 100)   → { start: 90, end: 99 }
//   parseRange('bytes=200-', 100)  → 'unsatisfiable'   (416, Content-Range: bytes */100)
//   parseRange('bytes=0-1,5-6', 9) → undefined          (multipart is optional: send it all, 200)
//   parseContentRange('10-19')     → { start: 10, end: 19 }

export interface ByteRange { start: number; end: number }

const RANGE_RE = /^bytes=(\d*)-(\d*)$/;

export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = RANGE_RE.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    // A suffix: the last N bytes.
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (!Number.isSafeInteger(start) || start >= size) return 'unsatisfiable';
  let end = b === '' ? size - 1 : Number(b);
  if (!Number.isSafeInteger(end) || end < start) return b === '' ? 'unsatisfiable' : undefined;
  if (end >= size) end = size - 1;
  return { start, end };
}

const CONTENT_RANGE_RE = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/;

/** An upload chunk's position; undefined when the header is malformed (the caller answers 416). */
export function parseContentRange(header: string): ByteRange | undefined {
  const m = CONTENT_RANGE_RE.exec(header.trim());
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined;
  return { start, end };
}

/** distribution's upload progress header: `0-<last byte>`, and `0-0` for an empty upload too. */
export function uploadRange(size: number): string {
  return `0-${size > 0 ? size - 1 : 0}`;
}
