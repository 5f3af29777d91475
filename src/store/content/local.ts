// Local content store: content/blobs/sha256/<hex>. Ingest writes under content/ingest/, hashing
// while writing, fsyncs, checks the digest and size, then renames into place read-only.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, readFile, readdir, chmod, open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalid, notFound } from '../../common/errors.ts';
import { fsyncDir } from '../metadata/atomic.ts';
import type { BlobInfo, ContentStore } from './content.ts';
import { DigestStream, parseDigest, sha256 } from './digest.ts';

export class LocalContentStore implements ContentStore {
  readonly root: string;
  #blobs: string;
  #ingest: string;
  constructor(root: string) {
    this.root = root;
    this.#blobs = join(root, 'blobs', 'sha256');
    this.#ingest = join(root, 'ingest');
  }
  async init(): Promise<void> {
    await mkdir(this.#blobs, { recursive: true });
    // An ingest interrupted by a crash never became visible; its temp file is just garbage.
    await rm(this.#ingest, { recursive: true, force: true });
    await mkdir(this.#ingest, { recursive: true });
  }
  blobPath(digest: string): string { return join(this.#blobs, parseDigest(digest)); }
  async has(digest: string): Promise<boolean> {
    try { await stat(this.blobPath(digest)); return true; } catch { return false; }
  }
  async info(digest: string): Promise<BlobInfo> {
    try {
      const s = await stat(this.blobPath(digest));
      return { digest, size: s.size };
    } catch { throw notFound(`content ${digest}: not found`); }
  }
  async read(digest: string): Promise<Buffer> {
    try { return await readFile(this.blobPath(digest)); } catch { throw notFound(`content ${digest}: not found`); }
  }
  readStream(digest: string, opts: { start?: number; end?: number } = {}): Readable {
    return createReadStream(this.blobPath(digest), opts);
  }
  async ingest(source: Readable | Buffer, expected: Partial<BlobInfo> = {}): Promise<BlobInfo> {
    if (expected.digest) parseDigest(expected.digest);
    if (Buffer.isBuffer(source) && expected.digest === undefined) {
      const digest = sha256(source);
      if (await this.has(digest)) return { digest, size: source.length };
    }
    const tmp = join(this.#ingest, randomBytes(8).toString('hex'));
    const ds = new DigestStream();
    const src = Buffer.isBuffer(source) ? Readable.from([source]) : source;
    try {
      await pipeline(src, ds, createWriteStream(tmp, { mode: 0o600 }));
      const fh = await open(tmp, 'r');
      try { await fh.sync(); } finally { await fh.close(); }
      const digest = ds.digest();
      if (expected.size !== undefined && expected.size !== ds.size) {
        throw invalid(`failed size validation: ${ds.size} != ${expected.size}`);
      }
      if (expected.digest !== undefined && expected.digest !== digest) {
        throw invalid(`digest mismatch: expected ${expected.digest}, got ${digest}`);
      }
      const dst = this.blobPath(digest);
      await chmod(tmp, 0o444);
      await rename(tmp, dst);
      await fsyncDir(this.#blobs);
      return { digest, size: ds.size };
    } finally {
      await rm(tmp, { force: true });
    }
  }
  async list(): Promise<string[]> {
    return (await readdir(this.#blobs)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => 'sha256:' + n);
  }
  async delete(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }
}
