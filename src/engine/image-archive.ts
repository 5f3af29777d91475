// `docker save` / `docker load`: image archives.
//
// save writes what Docker 25+ writes: the OCI image layout (`oci-layout`, `index.json`,
// `blobs/sha256/<hex>`) plus Docker's `manifest.json` (Config, RepoTags, Layers pointing into the
// same blobs) and `repositories`. Blobs are the content store's bytes as they are (a pulled layer
// stays gzip'd: every loader decompresses what it finds), each written once however many images
// share it, streamed from disk (the archive is never held whole).
//
// load takes a docker-archive (manifest.json; Docker 25+ or the older `<id>/layer.tar` form) or a
// plain OCI layout, gzip'd or not. Stream, verify, then commit. While the archive arrives, every
// file is hashed as it streams into a staging directory; a blob the content store holds already
// (`blobs/sha256/<hex>` named by its digest) is only hashed, not written again; a file that looks
// like a layer (a tar, gzip or zstd) is also unpacked as it streams, into a snapshot of its own
// that has no name yet (an overlay layer does not depend on its parent: see
// Snapshotter.unpackLayer). When the archive has ended, every `blobs/sha256/<hex>` must hash to
// its name and every OCI descriptor must match; then each layer's diff ID (the config's
// rootfs.diff_ids) is checked against what was unpacked, and the unpacked layer gets its chain ID
// by a rename. Only when all images of the archive are verified do image records and tags appear;
// a failure removes the layers and blobs the load added (and the unnamed snapshots), so nothing
// is half loaded.
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join, posix } from 'node:path';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { conflict, invalid } from '../common/errors.ts';
import { decompressedLayer, isGzip, isZstd, peek, peekBytes } from '../common/streams.ts';
import { normalizeTagged, parseReference } from '../common/reference.ts';
import { DigestStream, sha256 } from '../store/content/digest.ts';
import { fsyncDir } from '../store/metadata/atomic.ts';
import type { ContentStore } from '../store/content/content.ts';
import type { Snapshotter, UnpackedLayer } from '../store/snapshots/snapshotter.ts';
import { chainIdOf } from '../store/snapshots/snapshotter.ts';
import { ProgressMeter, progressMsg, type Emit } from '../registry/client/progress.ts';
import { MT, type ImageRecord, type ImageService, type LayerRef } from './images.ts';
import type { EventBus } from './events.ts';
import type { ImageConfigFile } from '../api/types/image.ts';

export interface ArchiveDeps {
  dataRoot: string;
  content: ContentStore;
  snap: Snapshotter;
  images: ImageService;
  events: EventBus;
  /** Holds garbage collection off while blobs and layers are not yet reachable from an image. */
  hold: () => () => void;
}

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/** One image to save and the references (full form) it is saved under. */
export interface SaveItem { rec: ImageRecord; refs: string[] }

interface Descriptor { mediaType?: string; digest: string; size: number; annotations?: Record<string, string>; platform?: { os?: string; architecture?: string } }

/**
 * Which images `save NAME...` writes and under which tags (Docker's rules): an ID saves the image
 * untagged; `repo:tag` that tag; a bare repository name every tag of that repository.
 */
export function planSave(images: Pick<ImageService, 'resolve' | 'refsOf' | 'all'>, names: string[]): SaveItem[] {
  const out = new Map<string, SaveItem>();
  const add = (rec: ImageRecord, ref?: string) => {
    let it = out.get(rec.id);
    if (!it) { it = { rec, refs: [] }; out.set(rec.id, it); }
    if (ref && !it.refs.includes(ref)) it.refs.push(ref);
  };
  for (const name of names) {
    const rec = images.resolve(name);
    const refs = images.refsOf(rec.id);
    let parsed;
    try { parsed = parseReference(name); } catch { parsed = undefined; }
    const isId = rec.id === name || rec.id.slice(7).startsWith(name.replace(/^sha256:/, '')) && /^(sha256:)?[a-f0-9]+$/.test(name);
    if (!parsed || isId || parsed.digest) { add(rec); continue; }
    if (parsed.tag) { add(rec, normalizeTagged(name).full()); continue; }
    // A bare repository name: all its tags (of whatever images carry them).
    const repo = `${parsed.name}:`;
    let any = false;
    for (const img of images.all()) {
      for (const r of images.refsOf(img.id)) if (r.startsWith(repo) && !r.slice(repo.length).includes('/')) { add(img, r); any = true; }
    }
    if (!any) add(rec, refs.find((r) => r.startsWith(repo)));
  }
  return [...out.values()];
}

function familiar(full: string): string {
  try { return normalizeTagged(full).familiar(); } catch { return full; }
}

/** The archive of `items`, written as it is read. */
export function saveStream(d: Pick<ArchiveDeps, 'content'>, items: SaveItem[]): Readable {
  const pack = tar.pack();
  const mtime = new Date(0);
  const put = (name: string, data: Buffer) => new Promise<void>((res, rej) => {
    pack.entry({ name, size: data.length, mode: 0o644, mtime }, data, (e) => (e ? rej(e) : res()));
  });
  const putBlob = async (digest: string) => {
    const { size } = await d.content.info(digest);
    await new Promise<void>((res, rej) => {
      const entry = pack.entry({ name: `blobs/sha256/${digest.slice(7)}`, size, mode: 0o644, mtime }, (e) => (e ? rej(e) : res()));
      const src = d.content.readStream(digest, { highWaterMark: 1 << 20 } as never);
      src.on('error', (e) => { entry.destroy(e); rej(e); });
      // The archive torn down (its reader went away) destroys the entry too, and a pipe throws
      // a destination's error that nobody listens to: that took the daemon down.
      entry.on('error', (e: Error) => { src.destroy(); rej(e); });
      src.pipe(entry);
    });
  };
  void (async () => {
    pack.entry({ name: 'blobs/', type: 'directory', mode: 0o755, mtime });
    pack.entry({ name: 'blobs/sha256/', type: 'directory', mode: 0o755, mtime });
    const written = new Set<string>();
    const blob = async (digest: string) => { if (!written.has(digest)) { written.add(digest); await putBlob(digest); } };
    const index: Descriptor[] = [];
    const manifestJson: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const { rec, refs } of items) {
      for (const l of rec.layers) await blob(l.blob);
      await blob(rec.id);
      await blob(rec.manifest);
      const man = JSON.parse((await d.content.read(rec.manifest)).toString()) as { mediaType?: string };
      const desc: Descriptor = { mediaType: man.mediaType ?? MT.ociManifest, digest: rec.manifest, size: (await d.content.info(rec.manifest)).size };
      if (refs.length === 0) index.push(desc);
      for (const r of refs) {
        const ref = normalizeTagged(r);
        index.push({ ...desc, annotations: { 'io.containerd.image.name': ref.full(), 'org.opencontainers.image.ref.name': ref.tag ?? 'latest' } });
        const top = rec.layers.at(-1);
        if (top) (repositories[ref.familiarName()] ??= {})[ref.tag ?? 'latest'] = top.diffId.slice(7);
      }
      manifestJson.push({
        Config: `blobs/sha256/${rec.id.slice(7)}`,
        RepoTags: refs.length ? refs.map(familiar) : null,
        Layers: rec.layers.map((l) => `blobs/sha256/${l.blob.slice(7)}`),
      });
    }
    await put('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: index })));
    await put('manifest.json', Buffer.from(JSON.stringify(manifestJson)));
    await put('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    if (Object.keys(repositories).length) await put('repositories', Buffer.from(JSON.stringify(repositories)));
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e as Error));
  return pack as unknown as Readable;
}

// ------------------------------------------------------------------ load

/** A file of the archive, hashed as it arrived. */
interface Staged {
  /** Its bytes: a staging file, or the content store's own blob when `stored`. */
  path: string;
  digest: string;
  size: number;
  /** Its first bytes (up to 512: a compression magic, a tar header). */
  head: Buffer;
  /** The content store had this blob already (named by its digest): it was only hashed. */
  stored: boolean;
  /** The layer unpacked while the file arrived (a file that looked like one); unnamed yet. */
  unpacked?: Promise<UnpackedLayer>;
  /** The unpacked layer has been used (committed or discarded) by one of the archive's images. */
  taken?: boolean;
}

/** An entry name inside the archive, normalised; `..` or an absolute path is refused. */
export function archivePath(name: string): string {
  if (name.startsWith('/')) throw invalid(`invalid archive: entry ${JSON.stringify(name)} has an absolute path`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw invalid(`invalid archive: entry ${JSON.stringify(name)} points outside the archive`);
  return parts.join('/');
}

/** One image as found in the archive, verified up to its layers. */
interface Found {
  config: Buffer;
  configDigest: string;
  layers: { file: Staged; mediaType?: string; diffId: string }[];
  manifest?: Buffer;
  refs: string[];
}

export interface LoadResult { loaded: string[] }

/**
 * A streamed, verified archive; `commit` makes its images appear, `cleanup` removes the staging
 * and the unpacked layers no image took, and ends the hold on garbage collection.
 */
export class PreparedLoad {
  readonly #d: ArchiveDeps;
  readonly #dir: string;
  readonly #found: Found[];
  readonly #files: Staged[];
  #release: (() => void) | undefined;
  constructor(d: ArchiveDeps, dir: string, found: Found[], files: Staged[], release: () => void) {
    this.#d = d; this.#dir = dir; this.#found = found; this.#files = files; this.#release = release;
  }

  async commit(quiet: boolean, emit: Emit): Promise<void> {
    const d = this.#d;
    const createdLayers: string[] = [];
    const createdBlobs: string[] = [];
    const ingestFile = async (f: Staged) => {
      if (await d.content.has(f.digest)) return;
      // Only hashed as it streamed, as the store had it: GC is held, but a concurrent load's
      // rollback may have removed a blob that load had added (and no image used yet).
      if (f.stored) throw conflict(`blob ${f.digest} was removed while the archive was loading: load it again`);
      createdBlobs.push(f.digest);
      await chmod(f.path, 0o444);
      // A rename that fails (another filesystem) falls back to a checked copy into the store.
      try { await rename(f.path, d.content.blobPath(f.digest)); } catch { await d.content.ingest(createReadStream(f.path), { digest: f.digest, size: f.size }); }
      // Another image of the archive may use the file again (a shared layer): it reads the
      // store's copy from now on.
      f.path = d.content.blobPath(f.digest);
      f.stored = true;
    };
    try {
      const ready: { config: ImageConfigFile; layers: LayerRef[]; raw: { config: Buffer; manifest: Buffer }; refs: string[] }[] = [];
      for (const img of this.#found) {
        const config = JSON.parse(img.config.toString()) as ImageConfigFile;
        let chain: string | undefined;
        const refs: LayerRef[] = [];
        for (const l of img.layers) {
          const want = chainIdOf(chain, l.diffId);
          const existed = await d.snap.hasLayer(want);
          const f = l.file;
          const head = f.head;
          const compressed = isGzip(head) || isZstd(head);
          let info: { chainId: string } | undefined;
          if (f.unpacked && !f.taken) {
            // Unpacked while it streamed: its diff ID is known, and it only needs its name.
            f.taken = true;
            const u = await f.unpacked.catch((e: unknown) => { if (existed) return undefined; throw e; });
            if (u) {
              const diffId = u.diffId ?? f.digest; // (not hashed twice: an uncompressed layer is its blob)
              if (diffId !== l.diffId) { await u.discard(); throw invalid(`layer digest mismatch: expected ${l.diffId}, got ${diffId}`); }
              if (existed) { await u.discard(); info = { chainId: want }; } else {
                info = await u.commit(chain, diffId);
                createdLayers.push(info.chainId);
                if (!quiet) progressMsg(emit, l.diffId.slice(7, 19), 'Loading layer', f.size, f.size);
              }
            }
          }
          if (!info && existed && !compressed) {
            // A plain tar's diff ID is its blob's digest, computed as it streamed.
            if (f.digest !== l.diffId) throw invalid(`layer digest mismatch: expected ${l.diffId}, got ${f.digest}`);
            info = { chainId: want };
          }
          if (!info) {
            const raw = createReadStream(f.path, { highWaterMark: 1 << 20 });
            let src: Readable = raw;
            if (!quiet && !existed) {
              const meter = new ProgressMeter(emit, l.diffId.slice(7, 19), 'Loading layer', f.size);
              raw.on('error', (e) => meter.destroy(e));
              meter.on('close', () => raw.destroy()); // (a pipe does not close its source)
              src = raw.pipe(meter);
            }
            const tarStream = decompressedLayer(src, head);
            // A layer berth already has is not unpacked again, but the archive's blob is still
            // checked against its diff ID: a tampered blob must not be recorded for the image.
            info = existed ? await checkDiffId(tarStream, l.diffId, want) : await d.snap.createLayer(chain, tarStream, l.diffId);
            if (!existed) createdLayers.push(info.chainId);
          }
          await ingestFile(f);
          const mediaType = l.mediaType ?? (isGzip(head) ? MT.ociLayerGzip : isZstd(head) ? MT.ociLayerZstd : MT.ociLayer);
          refs.push({ diffId: l.diffId, chainId: info.chainId, blob: f.digest, mediaType, size: f.size });
          chain = info.chainId;
        }
        const manifest = img.manifest ?? Buffer.from(JSON.stringify({
          schemaVersion: 2,
          mediaType: MT.ociManifest,
          config: { mediaType: MT.ociConfig, digest: img.configDigest, size: img.config.length },
          layers: refs.map((l) => ({ mediaType: l.mediaType, digest: l.blob, size: l.size })),
        }));
        for (const b of [img.config, manifest]) {
          const dg = sha256(b);
          if (!(await d.content.has(dg))) { createdBlobs.push(dg); await d.content.ingest(b, { digest: dg }); }
        }
        ready.push({ config, layers: refs, raw: { config: img.config, manifest }, refs: img.refs });
      }
      // Durability only: the blobs are in place whatever this returns; a failed sync risks them
      // only across a power loss.
      await fsyncDir(dirname(d.content.blobPath(sha256('')))).catch(() => {});
      // Everything is verified and stored: the images and their tags appear.
      for (const r of ready) {
        const rec = await d.images.createImage(r.config, r.layers, undefined, r.raw);
        for (const ref of r.refs) {
          const old = d.images.tryResolve(ref);
          if (old && old.id !== rec.id && d.images.refsOf(old.id).includes(ref)) {
            emit({ stream: `The image ${familiar(ref)} already exists, renaming the old one with ID ${old.id} to empty string\n` });
          }
          await d.images.tag(rec.id, ref, { event: false });
          emit({ stream: `Loaded image: ${familiar(ref)}\n` });
        }
        if (r.refs.length === 0) emit({ stream: `Loaded image ID: ${rec.id}\n` });
        // One `load` event per image, named by its ID, its tags set without events (moby's loader).
        await d.images.event('load', rec.id, rec.id);
      }
    } catch (e) {
      const used = new Set(d.images.all().flatMap((img) => [img.id, img.manifest, ...img.layers.flatMap((l) => [l.chainId, l.blob])]));
      // Rollback: e is what the caller gets; a layer or blob that fails to go is unreferenced,
      // and the engine's GC sweeps it (at the next start, or after an image removal).
      for (const c of createdLayers.reverse()) if (!used.has(c)) await d.snap.removeLayer(c).catch(() => {});
      for (const b of createdBlobs) if (!used.has(b)) await d.content.delete(b).catch(() => {});
      throw e;
    }
  }

  async cleanup(): Promise<void> {
    try {
      await discardUnpacked(this.#files);
      await rm(this.#dir, { recursive: true, force: true });
      // The shared load-staging dir goes when empty; another load in progress keeps it (ENOTEMPTY).
      await rmdir(dirname(this.#dir)).catch(() => {});
    } finally {
      this.#release?.();
      this.#release = undefined;
    }
  }
}

/** Removes the layers unpacked while streaming that no image took (each waited for first). */
async function discardUnpacked(files: Staged[]): Promise<void> {
  await Promise.all(files.map(async (f) => {
    if (!f.unpacked || f.taken) return;
    f.taken = true;
    // A failed unpack has removed its own directory.
    const u = await f.unpacked.catch(() => undefined);
    await u?.discard();
  }));
}

async function checkDiffId(tarStream: Readable, diffId: string, chainId: string): Promise<{ chainId: string }> {
  const ds = new DigestStream();
  await pipeline(tarStream, ds, new Writable({ write: (_c, _e, cb) => cb() }));
  const got = ds.digest();
  if (got !== diffId) throw invalid(`layer digest mismatch: expected ${diffId}, got ${got}`);
  return { chainId };
}

/**
 * Streams the archive body into a staging directory (hashing every file, unpacking what looks
 * like a layer as it arrives), then verifies it. Garbage collection is held off from here until
 * `cleanup`: the unpacked layers and the blobs the archive names exist unreferenced till commit.
 */
export async function prepareLoad(d: ArchiveDeps, body: Readable): Promise<PreparedLoad> {
  const dir = join(d.dataRoot, 'load-staging', randomBytes(8).toString('hex'));
  const release = d.hold();
  const files: Staged[] = [];
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 }); // root's alone, as every data-root dir (daemon/state-dirs.ts)
    const { byName, links } = await stage(d, body, dir, files);
    const found = await verify(byName, links);
    return new PreparedLoad(d, dir, found, files, release);
  } catch (e) {
    try {
      await discardUnpacked(files);
      await rm(dir, { recursive: true, force: true });
      // As in cleanup(): kept while another load uses it; e is what the caller gets.
      await rmdir(dirname(dir)).catch(() => {});
    } finally {
      release();
    }
    throw e;
  }
}

/** Up to this many first bytes of each file are looked at before deciding how to take it. */
const HEAD = 512;

/** A tar (the ustar magic of its first header), or a gzip or zstd stream. */
const looksLikeLayer = (head: Buffer): boolean =>
  isGzip(head) || isZstd(head) || (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar');

/** Resolves when `s` can take more (or has closed or failed: the caller sees why elsewhere). */
function drained(s: NodeJS.EventEmitter): Promise<void> {
  return new Promise((res) => {
    const done = () => { s.off('drain', done); s.off('close', done); s.off('error', done); res(); };
    s.on('drain', done); s.on('close', done); s.on('error', done);
  });
}

/**
 * One regular file of the archive: hashed as it streams into `path` (unless the store has it:
 * then only hashed), and, when it looks like a layer, unpacked at the same pace.
 */
async function stageFile(d: ArchiveDeps, entry: AsyncIterable<Buffer>, name: string, path: string, files: Staged[]): Promise<Staged> {
  const { head: first, all } = await peekBytes(entry, HEAD);
  const head = first.subarray(0, HEAD);
  const named = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
  const stored = named !== null && await d.content.has(`sha256:${named[1]}`);
  const f: Staged = { path: stored ? d.content.blobPath(`sha256:${named![1]}`) : path, digest: '', size: 0, head, stored };
  files.push(f);
  const hash = createHash('sha256');
  const out = stored ? undefined : createWriteStream(path, { mode: 0o600, highWaterMark: 1 << 20 });
  let outError: Error | undefined;
  out?.on('error', (e) => { outError ??= e; });
  let branch: PassThrough | undefined;
  let settled = false;
  let whenSettled: Promise<unknown> = Promise.resolve();
  if (!stored && looksLikeLayer(head)) {
    branch = new PassThrough({ highWaterMark: 1 << 20 });
    branch.on('error', () => {}); // reaches the unpack's own promise
    const compressed = isGzip(head) || isZstd(head);
    f.unpacked = d.snap.unpackLayer(decompressedLayer(branch, head), { digest: compressed });
    whenSettled = f.unpacked.then(() => { settled = true; }, () => { settled = true; });
  }
  const feed = async (c: Buffer) => {
    hash.update(c);
    f.size += c.length;
    const waits: Promise<unknown>[] = [];
    if (out && !out.write(c)) waits.push(drained(out));
    // A failed unpack reads no more (its error waits for commit, if the file is a layer at all).
    if (branch && !settled && !branch.destroyed && !branch.write(c)) waits.push(Promise.race([drained(branch), whenSettled]));
    if (waits.length) await Promise.all(waits);
    if (outError) throw outError;
  };
  try {
    for await (const c of all) await feed(c);
    branch?.end();
    if (out) { out.end(); await finished(out); }
  } catch (e) {
    out?.destroy();
    branch?.destroy(e instanceof Error ? e : new Error(String(e)));
    throw e;
  }
  f.digest = `sha256:${hash.digest('hex')}`;
  return f;
}

async function stage(d: ArchiveDeps, body: Readable, dir: string, all: Staged[]): Promise<{ byName: Map<string, Staged>; links: Map<string, string> }> {
  const { head, stream } = await peek(body);
  if (head.length === 0) throw invalid('unexpected EOF: the archive is empty');
  let src: Readable = stream;
  if (isGzip(head)) {
    const gz = createGunzip();
    stream.on('error', (e) => gz.destroy(e));
    src = stream.pipe(gz);
  }
  const files = new Map<string, Staged>();
  const links = new Map<string, string>();
  const ex = tar.extract();
  let n = 0;
  const consume = (async () => {
    for await (const entry of ex) {
      const h = entry.header;
      const name = archivePath(h.name);
      if (h.type === 'file' || h.type === 'contiguous-file') {
        const f = await stageFile(d, entry as unknown as AsyncIterable<Buffer>, name, join(dir, String(n++)), all);
        if (f.size !== h.size) throw invalid('unexpected EOF: the archive is truncated');
        files.set(name, f);
        continue;
      }
      if (h.type === 'symlink' || h.type === 'link') {
        const target = h.type === 'symlink' ? posix.join(posix.dirname(name), h.linkname ?? '') : (h.linkname ?? '');
        links.set(name, archivePath(target));
      }
      entry.resume();
    }
  })();
  src.on('error', (e) => ex.destroy(e));
  src.pipe(ex);
  try {
    await consume;
  } catch (e) {
    src.unpipe(ex);
    src.resume();
    const msg = (e as Error).message;
    if (/unexpected end|premature|truncated|unexpected eof/i.test(msg)) throw invalid('unexpected EOF: the archive is truncated');
    if (/header|checksum/i.test(msg)) throw invalid(`invalid archive: ${msg}`);
    // zlib's own (Z_DATA_ERROR: "invalid stored block lengths", "incorrect data check"...).
    if (/^Z_/.test(String((e as NodeJS.ErrnoException).code ?? ''))) throw invalid(`invalid archive: gzip: ${msg}`);
    throw e;
  }
  return { byName: files, links };
}

async function verify(files: Map<string, Staged>, links: Map<string, string>): Promise<Found[]> {
  const get = (name: string): Staged | undefined => {
    let n = archivePath(name);
    for (let i = 0; i < 16 && !files.has(n) && links.has(n); i++) n = links.get(n)!;
    return files.get(n);
  };
  const need = (name: string): Staged => {
    const f = get(name);
    if (!f) throw invalid(`invalid archive: ${name} is missing`);
    return f;
  };
  // Every content-addressed file must hash to its name.
  for (const [name, f] of files) {
    const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
    if (m && f.digest !== `sha256:${m[1]}`) throw invalid(`invalid archive: digest mismatch for ${name}: got ${f.digest}`);
  }
  const json = async <T>(f: Staged): Promise<T> => {
    try { return JSON.parse((await readFile(f.path)).toString()) as T; } catch { throw invalid('invalid archive: malformed JSON'); }
  };
  const found: Found[] = [];
  const manifestFile = get('manifest.json');
  if (manifestFile) {
    const entries = await json<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>(manifestFile);
    if (!Array.isArray(entries)) throw invalid('invalid archive: manifest.json is not a list');
    for (const e of entries) {
      if (!isObject(e) || typeof e.Config !== 'string' || !isStrings(e.Layers) || !(e.RepoTags == null || isStrings(e.RepoTags))) {
        throw invalid('invalid archive: malformed manifest.json entry');
      }
      const cf = need(e.Config);
      const config = await readFile(cf.path);
      const cfg = parseConfig(config);
      const diffIds = cfg.rootfs.diff_ids;
      if (diffIds.length !== e.Layers.length) throw invalid(`invalid archive: ${e.Layers.length} layers for ${diffIds.length} diff IDs in ${e.Config}`);
      const refs = (e.RepoTags ?? []).map((t) => {
        try { return normalizeTagged(t).full(); } catch { throw invalid(`invalid archive: invalid tag ${JSON.stringify(t)}`); }
      });
      found.push({ config, configDigest: cf.digest, layers: e.Layers.map((l, i) => ({ file: need(l), diffId: diffIds[i] })), refs });
    }
    if (found.length === 0) throw invalid('invalid archive: no images in manifest.json');
    return found;
  }
  const indexFile = get('index.json');
  if (!indexFile) throw invalid('invalid archive: no manifest.json or index.json found');
  const blob = (desc: Descriptor): Staged => {
    if (typeof desc?.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(desc.digest)) throw invalid(`invalid archive: bad descriptor digest ${JSON.stringify(desc?.digest)}`);
    const f = need(`blobs/sha256/${desc.digest.slice(7)}`);
    if (typeof desc.size === 'number' && desc.size !== f.size) throw invalid(`invalid archive: size mismatch for ${desc.digest}: ${f.size} != ${desc.size}`);
    return f;
  };
  const visit = async (desc: Descriptor, names: string[], depth: number): Promise<void> => {
    const f = blob(desc);
    const doc = await json<{ mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] }>(f);
    if (!isObject(doc)) throw invalid(`invalid archive: ${desc.digest} is not an image manifest`);
    const mt = desc.mediaType ?? doc.mediaType;
    if (mt === OCI_INDEX || mt === DOCKER_LIST || (doc.manifests && !doc.config)) {
      if (depth > 4) throw invalid('invalid archive: nested indexes too deep');
      const ms = doc.manifests ?? [];
      if (!Array.isArray(ms) || !ms.every(isObject)) throw invalid(`invalid archive: malformed index ${desc.digest}`);
      const pick = ms.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? ms.find((m) => !m.platform) ?? ms[0];
      if (!pick) throw invalid('invalid archive: empty index');
      await visit(pick, names, depth + 1);
      return;
    }
    if (!doc.config || !Array.isArray(doc.layers)) throw invalid(`invalid archive: ${desc.digest} is not an image manifest`);
    const cf = blob(doc.config);
    const config = await readFile(cf.path);
    const cfg = parseConfig(config);
    if (cfg.rootfs.diff_ids.length !== doc.layers.length) throw invalid(`invalid archive: ${doc.layers.length} layers for ${cfg.rootfs.diff_ids.length} diff IDs`);
    const manifest = await readFile(f.path);
    const same = found.find((x) => x.configDigest === cf.digest);
    if (same) { for (const n of names) if (!same.refs.includes(n)) same.refs.push(n); return; }
    found.push({
      config, configDigest: cf.digest, manifest, refs: names,
      layers: doc.layers.map((l, i) => ({ file: blob(l), mediaType: l.mediaType, diffId: cfg.rootfs.diff_ids[i] })),
    });
  };
  const index = await json<{ manifests?: Descriptor[] }>(indexFile);
  if (!isObject(index) || !(index.manifests === undefined || (Array.isArray(index.manifests) && index.manifests.every(isObject)))) {
    throw invalid('invalid archive: malformed index.json');
  }
  for (const m of index.manifests ?? []) {
    const a: Record<string, unknown> = isObject(m.annotations) ? m.annotations : {};
    const names: string[] = [];
    // containerd's full name; else `ref.name` when it is a reference (a bare tag, as
    // `skopeo copy … oci-archive:x:tag` writes, names nothing: the image loads untagged).
    const str = (k: string) => (typeof a[k] === 'string' ? a[k] as string : undefined);
    const ref = str('io.containerd.image.name') ?? (/[:/]/.test(str('org.opencontainers.image.ref.name') ?? '') ? str('org.opencontainers.image.ref.name') : undefined);
    if (ref) {
      try { names.push(normalizeTagged(ref).full()); } catch { /* not a reference: loaded untagged */ }
    }
    await visit(m, names, 0);
  }
  if (found.length === 0) throw invalid('invalid archive: index.json lists no images');
  return found;
}

// What the archive's JSON documents hold is checked before it is used: they are untrusted.
const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function parseConfig(buf: Buffer): ImageConfigFile {
  let c: ImageConfigFile;
  try { c = JSON.parse(buf.toString()) as ImageConfigFile; } catch { throw invalid('invalid archive: malformed image config'); }
  if (!c || !c.rootfs || !Array.isArray(c.rootfs.diff_ids) || c.rootfs.diff_ids.some((x) => typeof x !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(x))) {
    throw invalid('invalid archive: image config without valid rootfs.diff_ids');
  }
  return c;
}

/**
 * At daemon start: staging left by a load that berthd did not live to finish. (Its unnamed
 * unpacked layers are temp dirs of the snapshotter, which sweeps them at its own start.)
 */
export async function cleanupLoadStaging(dataRoot: string): Promise<void> {
  await rm(join(dataRoot, 'load-staging'), { recursive: true, force: true });
}
