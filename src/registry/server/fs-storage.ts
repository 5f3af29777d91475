// The registry's storage on disk. Blob bytes live once, in the project's content store (verified
// while written, renamed into place read-only); repositories only hold small link files, each
// written atomically, that say which blobs and manifests belong to them:
//
//   <root>/content/blobs/sha256/<hex>                       every blob and manifest, shared
//   <root>/uploads/<uuid>, <uuid>.json                      an upload in progress and its owner
//   <root>/repositories/<name>/_layers/sha256/<hex>         "this repository has this blob"
//   <root>/repositories/<name>/_manifests/revisions/sha256/<hex>   {"mediaType"}
//   <root>/repositories/<name>/_manifests/tags/<tag>        the digest it points at
//   <root>/repositories/<name>/_referrers/sha256/<subject hex>/<hex>   the referrer's descriptor
//
// A repository name's components never start with `_` (names.ts), so these directories cannot
// collide with a nested repository (`a/b` lives in `a/b/`, beside `a/_layers`).
//
// Nothing is linked before its digest checks out. Two uploads finishing the same digest each
// write their own file (an ingest temp file, or the upload's spool file) and rename it onto the
// same, identical blob, so they are safe to race; link writes are idempotent.
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, open, readFile, readdir, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, pipeline as pipelineCb, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LocalContentStore } from '../../store/content/local.ts';
import { sha256 } from '../../store/content/digest.ts';
import { writeFileAtomic, fsyncDir } from '../../store/metadata/atomic.ts';
import { isEngineError } from '../../common/errors.ts';
import { RegistryError, regError } from './errors.ts';
import { parseManifest } from './manifest.ts';
import { isRepoName, type Reference } from './names.ts';
import { uploadRange } from './range.ts';
import type { BlobInfo, Descriptor, RegistryStorage, StoredManifest, UploadState } from './storage.ts';

export interface FsStorageOptions {
  /** Largest blob accepted, in bytes (413 SIZE_INVALID above it). */
  maxBlobSize?: number;
}

export const DEFAULT_MAX_BLOB_SIZE = 16 * 1024 ** 3;

const hexOf = (digest: string) => digest.slice('sha256:'.length);
const UPLOAD_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function exists(p: string): Promise<boolean> {
  try { await stat(p); return true; } catch { return false; }
}

async function readdirOr(dir: string): Promise<string[]> {
  try { return await readdir(dir); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
}

/** Fails the pipeline once more than `max` bytes (or, with `exact`, other than `exact`) flow through. */
class LimitStream extends Transform {
  count = 0;
  readonly #max: number;
  constructor(max: number) { super(); this.#max = max; }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: (e?: Error | null, d?: Buffer) => void): void {
    this.count += chunk.length;
    if (this.count > this.#max) cb(new RegistryError('SIZE_INVALID', { status: 413, message: 'blob too large', detail: { limit: this.#max } }));
    else cb(null, chunk);
  }
}

/** Hashes what flows through into `hash` (when there is one to keep up to date). */
class DigestStream extends Transform {
  readonly #hash: Hash | undefined;
  constructor(hash: Hash | undefined) { super(); this.#hash = hash; }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: (e?: Error | null, d?: Buffer) => void): void {
    this.#hash?.update(chunk);
    cb(null, chunk);
  }
}

/** Maps the content store's verification failures onto the registry's codes. */
function ingestError(e: unknown): unknown {
  if (isEngineError(e, 'InvalidParameter')) {
    if (/digest mismatch/.test(e.message)) return regError('DIGEST_INVALID', e.message);
    if (/size validation/.test(e.message)) return regError('SIZE_INVALID', e.message);
  }
  return e;
}

export class FsRegistryStorage implements RegistryStorage {
  readonly root: string;
  readonly content: LocalContentStore;
  readonly #repos: string;
  readonly #uploads: string;
  readonly #maxBlob: number;
  /** Serialises requests on one upload (a PATCH racing the PUT that finishes it). */
  readonly #locks = new Map<string, Promise<unknown>>();
  /** Each upload's digest so far, advanced as chunks are written (see #commitSpool). */
  readonly #hashes = new Map<string, { hash: Hash; size: number }>();

  constructor(root: string, opts: FsStorageOptions = {}) {
    this.root = root;
    this.content = new LocalContentStore(join(root, 'content'));
    this.#repos = join(root, 'repositories');
    this.#uploads = join(root, 'uploads');
    this.#maxBlob = opts.maxBlobSize ?? DEFAULT_MAX_BLOB_SIZE;
  }

  /** For the server only: the content store's init discards interrupted ingests. */
  async init(): Promise<void> {
    await this.content.init();
    await mkdir(this.#repos, { recursive: true });
    await mkdir(this.#uploads, { recursive: true });
  }

  // -------------------------------------------------------------------------------------------
  // paths and links

  #repo(name: string): string { return join(this.#repos, name); }
  #layerLink(name: string, digest: string): string { return join(this.#repo(name), '_layers', 'sha256', hexOf(digest)); }
  #revision(name: string, digest: string): string { return join(this.#repo(name), '_manifests', 'revisions', 'sha256', hexOf(digest)); }
  #tagFile(name: string, tag: string): string { return join(this.#repo(name), '_manifests', 'tags', tag); }
  #referrersDir(name: string, subject: string): string { return join(this.#repo(name), '_referrers', 'sha256', hexOf(subject)); }

  /** Writes a small file atomically unless it is already there with the same content. */
  async #link(path: string, data: string): Promise<void> {
    try {
      if ((await readFile(path, 'utf8')) === data) return;
    } catch { /* absent */ }
    await mkdir(join(path, '..'), { recursive: true });
    await writeFileAtomic(path, data, 0o644);
  }

  async #unlink(path: string): Promise<boolean> {
    if (!(await exists(path))) return false;
    await rm(path, { force: true });
    // Durability only: the link is gone whatever this returns; a power loss could bring it back.
    await fsyncDir(join(path, '..')).catch(() => {});
    return true;
  }

  async #repoExists(name: string): Promise<boolean> {
    for (const d of ['_manifests', '_layers']) if (await exists(join(this.#repo(name), d))) return true;
    return false;
  }

  // -------------------------------------------------------------------------------------------
  // repositories and tags

  async repositories(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      const entries = await readdirOr(join(this.#repos, rel));
      if (entries.includes('_manifests') || entries.includes('_layers')) out.push(rel);
      for (const e of entries) {
        if (e.startsWith('_') || e.startsWith('.')) continue;
        const child = rel ? `${rel}/${e}` : e;
        if (isRepoName(child)) await walk(child);
      }
    };
    await walk('');
    return out.sort();
  }

  async tags(name: string): Promise<string[] | undefined> {
    if (!(await this.#repoExists(name))) return undefined;
    return (await readdirOr(join(this.#repo(name), '_manifests', 'tags'))).filter((t) => !t.startsWith('.')).sort();
  }

  // -------------------------------------------------------------------------------------------
  // blobs

  async statBlob(name: string, digest: string): Promise<BlobInfo | undefined> {
    if (!(await exists(this.#layerLink(name, digest))) && !(await exists(this.#revision(name, digest)))) return undefined;
    try { return await this.content.info(digest); } catch { return undefined; } // a link whose blob is gone: unknown
  }

  openBlob(digest: string, range?: { start: number; end: number }): Readable {
    return this.content.readStream(digest, range);
  }

  async #commit(name: string, source: Readable, digest: string): Promise<BlobInfo> {
    // The callback form of pipeline destroys `limit` with an error when the client goes away
    // half-way (premature close), so the ingest fails instead of waiting for an end.
    const limited = pipelineCb(source, new LimitStream(this.#maxBlob), () => {});
    let info: BlobInfo;
    try {
      info = await this.content.ingest(limited, { digest });
    } catch (e) {
      throw ingestError(e);
    }
    await this.#link(this.#layerLink(name, digest), digest);
    return info;
  }

  putBlob(name: string, source: Readable, digest: string): Promise<BlobInfo> {
    return this.#commit(name, source, digest);
  }

  async mountBlob(name: string, from: string, digest: string): Promise<BlobInfo | undefined> {
    const info = await this.statBlob(from, digest);
    if (!info) return undefined;
    await this.#link(this.#layerLink(name, digest), digest);
    return info;
  }

  async deleteBlob(name: string, digest: string): Promise<void> {
    if (!(await this.#unlink(this.#layerLink(name, digest)))) throw regError('BLOB_UNKNOWN', { digest });
  }

  // -------------------------------------------------------------------------------------------
  // uploads

  async #locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    // The chain only orders the operations: each one's error reaches its own caller through run.
    const tail = run.catch(() => {});
    this.#locks.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(id) === tail) this.#locks.delete(id);
    }
  }

  async startUpload(name: string): Promise<UploadState> {
    const id = randomUUID();
    this.#hashes.set(id, { hash: createHash('sha256'), size: 0 });
    await writeFileAtomic(join(this.#uploads, `${id}.json`), JSON.stringify({ name, startedAt: new Date().toISOString() }));
    await writeFileAtomic(join(this.#uploads, id), '');
    return { id, name, size: 0 };
  }

  async getUpload(name: string, id: string): Promise<UploadState> {
    const unknown = regError('BLOB_UPLOAD_UNKNOWN', { uuid: id });
    if (!UPLOAD_ID_RE.test(id)) throw unknown;
    let owner: string;
    try {
      owner = (JSON.parse(await readFile(join(this.#uploads, `${id}.json`), 'utf8')) as { name: string }).name;
    } catch { throw unknown; }
    if (owner !== name) throw unknown;
    try {
      return { id, name, size: (await stat(join(this.#uploads, id))).size };
    } catch { throw unknown; }
  }

  /**
   * Appends under the upload's lock; a chunk that fails half-way is cut off again. The running
   * digest advances on a copy and is kept only when the whole chunk landed, so it always
   * describes exactly the bytes in the spool file.
   */
  async #append(up: UploadState, source: Readable, opts: { start?: number; length?: number }): Promise<UploadState> {
    if (opts.start !== undefined && opts.start !== up.size) {
      throw new RegistryError('RANGE_INVALID', { status: 416, detail: { expected: up.size, got: opts.start }, headers: { Range: uploadRange(up.size) } });
    }
    const path = join(this.#uploads, up.id);
    const limit = new LimitStream(this.#maxBlob - up.size);
    const running = this.#hashes.get(up.id);
    const hash = running && running.size === up.size ? running.hash.copy() : undefined;
    const ds = new DigestStream(hash);
    this.#hashes.delete(up.id);
    try {
      await pipeline(source, limit, ds, createWriteStream(path, { flags: 'a' }));
      if (opts.length !== undefined && limit.count !== opts.length) {
        throw new RegistryError('SIZE_INVALID', { status: 416, detail: { expected: opts.length, got: limit.count }, headers: { Range: uploadRange(up.size) } });
      }
    } catch (e) {
      // e is what the client gets. A failed cut leaves extra bytes in the spool: the upload's
      // size (from the file) shows them, and its running digest no longer matches, so the finish
      // re-hashes the file and refuses a wrong blob.
      await truncate(path, up.size).catch(() => {});
      if (running) this.#hashes.set(up.id, running);
      throw e;
    }
    const size = up.size + limit.count;
    if (hash) this.#hashes.set(up.id, { hash, size });
    return { ...up, size };
  }

  /**
   * The fast way to finish: the digest of the spool file is already known (hashed while it was
   * written, in this process), so a match is committed by fsync and rename into the content
   * store's blob path, read-only, as its own ingest does; no second copy of a large layer. After
   * a restart the running digest is gone and the file goes through the content store's ingest.
   */
  async #commitSpool(name: string, up: UploadState, digest: string): Promise<BlobInfo | undefined> {
    const running = this.#hashes.get(up.id);
    if (!running || running.size !== up.size) return undefined;
    const actual = 'sha256:' + running.hash.copy().digest('hex');
    if (actual !== digest) throw regError('DIGEST_INVALID', { expected: digest, got: actual }, `digest mismatch: expected ${digest}, got ${actual}`);
    const path = join(this.#uploads, up.id);
    const fh = await open(path, 'r');
    try { await fh.sync(); } finally { await fh.close(); }
    await chmod(path, 0o444);
    const dst = this.content.blobPath(digest);
    await rename(path, dst);
    await fsyncDir(dirname(dst));
    await this.#link(this.#layerLink(name, digest), digest);
    return { digest, size: up.size };
  }

  appendUpload(name: string, id: string, source: Readable, opts: { start?: number; length?: number } = {}): Promise<UploadState> {
    return this.#locked(id, async () => this.#append(await this.getUpload(name, id), source, opts));
  }

  finishUpload(name: string, id: string, digest: string, source?: Readable): Promise<BlobInfo> {
    return this.#locked(id, async () => {
      let up = await this.getUpload(name, id);
      if (source) up = await this.#append(up, source, {});
      try {
        return (await this.#commitSpool(name, up, digest)) ?? await this.#commit(name, createReadStream(join(this.#uploads, id)), digest);
      } finally {
        // Finished or failed verification, the upload is over either way (distribution cancels
        // an upload whose digest does not match; the client starts again).
        await this.#removeUpload(id);
      }
    });
  }

  async #removeUpload(id: string): Promise<void> {
    this.#hashes.delete(id);
    await rm(join(this.#uploads, id), { force: true });
    await rm(join(this.#uploads, `${id}.json`), { force: true });
  }

  cancelUpload(name: string, id: string): Promise<void> {
    return this.#locked(id, async () => {
      await this.getUpload(name, id);
      await this.#removeUpload(id);
    });
  }

  /** Uploads not touched for `maxAgeMs` (abandoned pushes), for gc. */
  async staleUploads(maxAgeMs: number, now = Date.now()): Promise<{ id: string; size: number }[]> {
    const out: { id: string; size: number }[] = [];
    for (const n of await readdirOr(this.#uploads)) {
      if (!UPLOAD_ID_RE.test(n)) continue;
      const s = await stat(join(this.#uploads, n)).catch(() => undefined); // finished or removed meanwhile
      if (s && now - s.mtimeMs > maxAgeMs) out.push({ id: n, size: s.size });
    }
    return out;
  }

  async removeUpload(id: string): Promise<void> {
    if (UPLOAD_ID_RE.test(id)) await this.#removeUpload(id);
  }

  // -------------------------------------------------------------------------------------------
  // manifests

  async #resolve(name: string, ref: Reference): Promise<string> {
    if (ref.digest !== undefined) return ref.digest;
    try {
      return (await readFile(this.#tagFile(name, ref.tag), 'utf8')).trim();
    } catch {
      throw regError('MANIFEST_UNKNOWN', { tag: ref.tag });
    }
  }

  async #revisionType(name: string, digest: string): Promise<string | undefined> {
    try {
      return (JSON.parse(await readFile(this.#revision(name, digest), 'utf8')) as { mediaType: string }).mediaType;
    } catch {
      return undefined;
    }
  }

  async getManifest(name: string, ref: Reference): Promise<StoredManifest> {
    const digest = await this.#resolve(name, ref);
    const mediaType = await this.#revisionType(name, digest);
    if (mediaType === undefined) throw regError('MANIFEST_UNKNOWN', ref.tag !== undefined ? { tag: ref.tag } : { digest });
    let body: Buffer;
    try { body = await this.content.read(digest); } catch { throw regError('MANIFEST_UNKNOWN', { digest }); }
    return { digest, mediaType, body };
  }

  async putManifest(name: string, ref: Reference, body: Buffer, contentType: string | undefined): Promise<{ digest: string; subject?: string }> {
    const m = parseManifest(body, contentType);
    const digest = sha256(body);
    if (ref.digest !== undefined && ref.digest !== digest) {
      throw regError('DIGEST_INVALID', { expected: ref.digest, got: digest }, `manifest digest did not match: expected ${ref.digest}, got ${digest}`);
    }
    // Everything it points at must already be here: pushing the manifest last is what makes a
    // pulled image complete. Foreign layers (with `urls`) are fetched from elsewhere by design.
    for (const b of m.blobs) {
      if (b.urls?.length) continue;
      if (!(await this.statBlob(name, b.digest))) throw regError('MANIFEST_BLOB_UNKNOWN', { digest: b.digest });
    }
    for (const c of m.manifests) {
      if ((await this.#revisionType(name, c.digest)) === undefined) throw regError('MANIFEST_BLOB_UNKNOWN', { digest: c.digest });
    }
    await this.content.ingest(body, { digest });
    await this.#link(this.#revision(name, digest), JSON.stringify({ mediaType: m.mediaType }));
    if (m.subject) {
      const d: Descriptor = { mediaType: m.mediaType, digest, size: body.length };
      if (m.artifactType) d.artifactType = m.artifactType;
      if (m.annotations) d.annotations = m.annotations;
      await this.#link(join(this.#referrersDir(name, m.subject.digest), hexOf(digest)), JSON.stringify(d));
    }
    if (ref.tag !== undefined) await this.#link(this.#tagFile(name, ref.tag), digest);
    return { digest, subject: m.subject?.digest };
  }

  async deleteManifest(name: string, ref: Reference): Promise<void> {
    if (ref.tag !== undefined) {
      if (!(await this.#unlink(this.#tagFile(name, ref.tag)))) throw regError('MANIFEST_UNKNOWN', { tag: ref.tag });
      return;
    }
    const digest = ref.digest;
    if ((await this.#revisionType(name, digest)) === undefined) throw regError('MANIFEST_UNKNOWN', { digest });
    // Tags first: a crash half-way leaves a revision without tags, never a tag without its revision.
    for (const t of (await this.tags(name)) ?? []) {
      const target = await readFile(this.#tagFile(name, t), 'utf8').catch(() => ''); // removed meanwhile: not this digest's
      if (target.trim() === digest) await this.#unlink(this.#tagFile(name, t));
    }
    try {
      const m = parseManifest(await this.content.read(digest), undefined);
      if (m.subject) await this.#unlink(join(this.#referrersDir(name, m.subject.digest), hexOf(digest)));
    } catch { /* an unreadable body has no referrer entry to drop */ }
    await this.#unlink(this.#revision(name, digest));
  }

  async referrers(name: string, digest: string): Promise<Descriptor[]> {
    const dir = this.#referrersDir(name, digest);
    const out: Descriptor[] = [];
    for (const n of (await readdirOr(dir)).sort()) {
      if (n.startsWith('.')) continue;
      try {
        const d = JSON.parse(await readFile(join(dir, n), 'utf8')) as Descriptor;
        if ((await this.#revisionType(name, d.digest)) !== undefined) out.push(d);
      } catch { /* a vanished entry */ }
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // for gc: what each repository holds

  async revisions(name: string): Promise<string[]> {
    return (await readdirOr(join(this.#repo(name), '_manifests', 'revisions', 'sha256'))).filter((h) => /^[a-f0-9]{64}$/.test(h)).map((h) => `sha256:${h}`);
  }

  async layerLinks(name: string): Promise<string[]> {
    return (await readdirOr(join(this.#repo(name), '_layers', 'sha256'))).filter((h) => /^[a-f0-9]{64}$/.test(h)).map((h) => `sha256:${h}`);
  }

  async unlinkLayer(name: string, digest: string): Promise<void> {
    await this.#unlink(this.#layerLink(name, digest));
  }
}
