// Digest helpers of the content store's contract: blobs are addressed as "sha256:<hex>" (OCI
// image-spec descriptors). Pure, so the engine, registry and snapshots take them from here rather
// than from the local store's implementation.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { invalid } from '../../common/errors.ts';

const DIGEST_RE = /^sha256:([a-f0-9]{64})$/;

export function parseDigest(d: string): string {
  const m = DIGEST_RE.exec(d);
  if (!m) throw invalid(`invalid digest "${d}"`);
  return m[1];
}

export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** A pass-through stream that computes a sha256 digest and byte count of what flows through. */
export class DigestStream extends Transform {
  #hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null, d?: Buffer) => void): void {
    this.#hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
  digest(): string { return 'sha256:' + this.#hash.digest('hex'); }
}
