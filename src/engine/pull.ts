// `POST /images/create?fromImage=`: pulling an image from a registry, as dockerd does it
// (distribution/pull_v2.go, xfer/download.go), with the same JSON progress stream:
//
//   {"status":"Pulling from library/x","id":"latest"}
//   {"status":"Pulling fs layer","progressDetail":{},"id":"<12 hex of the blob digest>"}  per layer
//   {"status":"Waiting",…}   (a layer queued behind the 3 parallel downloads)
//   {"status":"Downloading","progressDetail":{"current":…,"total":…},"progress":"[==>  ] 1MB/2MB",…}
//   {"status":"Verifying Checksum",…} {"status":"Download complete",…}
//   {"status":"Extracting",…progress…} {"status":"Pull complete",…}   in layer order
//   {"status":"Already exists",…}   (a layer this daemon has)
//   {"status":"Digest: sha256:…"}  {"status":"Status: Downloaded newer image for x:tag"}
//
// Blobs are downloaded into a staging directory beside the content store, hashed while they are
// written; a blob whose digest or size is wrong fails the pull. Layers are unpacked in order as
// their blobs arrive (the snapshotter checks each diff ID against the config). Only when every
// layer is in do the staged blobs move into the content store and the image appear; a failed
// pull removes the layers it unpacked and its staged files, so it leaves nothing behind.
import { decompressedLayer, firstBytes, isGzip, isZstd } from '../common/streams.ts';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, open, rename, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { EngineError } from '../common/errors.ts';
import { trace } from '../common/trace.ts';
import { writeAllSync } from '../common/write-all.ts';
import { parseDigest as checkDigest, parseReference, trimNamed, withDigest, withTag, type ImageRef } from '../common/reference.ts';
import { sha256 } from '../store/content/digest.ts';
import type { ContentStore } from '../store/content/content.ts';
import type { Snapshotter } from '../store/snapshots/snapshotter.ts';
import { chainIdOf } from '../store/snapshots/snapshotter.ts';
import { fsyncDir } from '../store/metadata/atomic.ts';
import { DOCKER_HUB, type AuthConfig } from '../registry/client/auth.ts';
import { MEDIA, RegistryClient, RegistryHttpError, RegistryTransportError, errcodeText, type ManifestResult } from '../registry/client/client.ts';
import { ProgressMeter, shortId, status, type Emit } from '../registry/client/progress.ts';
import type { EventBus } from './events.ts';
import type { ImageService, LayerRef } from './images.ts';
import type { ImageConfigFile } from '../api/types/image.ts';

/** daemon.json `registry-mirrors` and `insecure-registries`. */
export interface RegistrySettings { mirrors: string[]; insecure: string[] }

export interface PullDeps {
  dataRoot: string;
  content: ContentStore;
  snap: Snapshotter;
  images: ImageService;
  events: EventBus;
  registry: RegistrySettings;
  /** Keeps GC away while the pull runs; returns the release. */
  hold: () => () => void;
  /** Told which blobs a repository (`host/path`) holds, for later cross-repository mounts. */
  pulled?: (repo: string, blobs: string[]) => Promise<void>;
}

export interface PullOptions {
  tag?: string;
  /** `os/arch[/variant]` (default linux/amd64). */
  platform?: string;
  auth?: AuthConfig;
  signal?: AbortSignal;
  emit?: Emit;
}

const MAX_PARALLEL_DOWNLOADS = 3;
const MAX_CONFIG = 8 << 20;

interface Platform { os: string; architecture: string; variant?: string }

export function parsePlatform(p: string | undefined): Platform {
  if (!p) return { os: 'linux', architecture: 'amd64' };
  const parts = p.toLowerCase().split('/');
  const norm = (a: string) => ({ x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm' }[a] ?? a);
  if (parts.length === 1) {
    if (parts[0] === 'linux') return { os: 'linux', architecture: 'amd64' };
    return { os: 'linux', architecture: norm(parts[0]) };
  }
  if (parts.length > 3 || parts.some((x) => !/^[a-z0-9_-]+$/.test(x))) throw new EngineError('InvalidParameter', `"${p}": unknown operating system or architecture: invalid argument`);
  const architecture = norm(parts[1]);
  let variant: string | undefined = parts[2];
  if (architecture === 'arm64' && variant === 'v8') variant = undefined;
  return { os: parts[0], architecture, variant };
}

const fmtPlatform = (p: Platform) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;

/** The reference a create request names: docker's tag-or-digest rule for the `tag` parameter. */
export function pullReference(fromImage: string, tag: string | undefined): ImageRef {
  let ref = parseReference(fromImage);
  if (tag) {
    if (/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:/.test(tag) && !/^[\w][\w.-]{0,127}$/.test(tag)) {
      checkDigest(tag);
      ref = withDigest(trimNamed(ref), tag);
    } else ref = withTag(trimNamed(ref), tag);
  }
  return ref;
}

/** A registry answer → the error dockerd would give for this pull. */
export function translatePullError(e: unknown, ref: ImageRef): unknown {
  if (e instanceof RegistryHttpError) {
    const first = e.errors[0];
    const code = first?.code;
    const text = first ? errcodeText(first) : e.message;
    if (code === 'DENIED') return new EngineError('NotFound', `pull access denied for ${ref.familiarName()}, repository does not exist or may require 'docker login': ${text}`);
    if (code === 'MANIFEST_UNKNOWN') return new EngineError('NotFound', `manifest for ${ref.familiar()} not found: ${text}`);
    if (code === 'NAME_UNKNOWN') return new EngineError('NotFound', `repository ${ref.familiarName()} not found: ${text}`);
    if (code === 'UNAUTHORIZED') return new EngineError('Unauthorized', text);
    return new EngineError('System', e.message);
  }
  if (e instanceof RegistryTransportError) return new EngineError('System', e.message);
  return e;
}

interface Descriptor { mediaType?: string; digest: string; size: number; platform?: Platform & { 'os.version'?: string } }
interface ImageManifest { schemaVersion?: number; mediaType?: string; config: Descriptor; layers: Descriptor[]; manifests?: undefined }
interface IndexManifest { schemaVersion?: number; mediaType?: string; manifests: Descriptor[] }

/**
 * A registry's manifest answer, checked to have the shape the pull then relies on: an index's
 * entries and an image's config and layers are descriptors (an object with a digest string, a
 * size that is a whole number, a media type and a platform of the right types). What the
 * registry sends is untrusted: a `null` entry used to be a TypeError deep in the pull.
 */
export function parseManifest(m: ManifestResult): ImageManifest | IndexManifest {
  if (m.mediaType === MEDIA.dockerSchema1 || m.mediaType === MEDIA.dockerSchema1Signed) {
    throw new EngineError('InvalidParameter', '[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of the image to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2.');
  }
  let j: Record<string, unknown>;
  try { j = JSON.parse(m.body.toString('utf8')) as Record<string, unknown>; } catch { throw new EngineError('System', 'unsupported manifest format'); }
  if (!isObject(j)) throw new EngineError('System', 'unsupported manifest format');
  if (j.schemaVersion === 1) return parseManifest({ ...m, mediaType: MEDIA.dockerSchema1 });
  if (Array.isArray(j.manifests)) return { ...j, manifests: j.manifests.map((d, i) => descriptor(d, `manifests[${i}]`)) } as unknown as IndexManifest;
  if (j.config && Array.isArray(j.layers)) {
    // (`manifests` is dropped: the pull tells an index by it.)
    return { ...j, config: descriptor(j.config, 'config'), layers: j.layers.map((d, i) => descriptor(d, `layers[${i}]`)), manifests: undefined } as unknown as ImageManifest;
  }
  throw new EngineError('System', `unsupported manifest media type and no default available: ${m.mediaType}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function descriptor(v: unknown, where: string): Descriptor {
  const bad = (what: string) => new EngineError('System', `invalid manifest: ${where} ${what}`);
  if (!isObject(v)) throw bad('is not a descriptor');
  if (typeof v.digest !== 'string') throw bad('has no digest');
  if (v.size !== undefined && !(typeof v.size === 'number' && Number.isSafeInteger(v.size) && v.size >= 0)) throw bad('has an invalid size');
  if (v.mediaType !== undefined && typeof v.mediaType !== 'string') throw bad('has an invalid media type');
  if (v.platform !== undefined && !isObject(v.platform)) throw bad('has an invalid platform');
  return v as unknown as Descriptor;
}

export function pickPlatform(idx: IndexManifest, want: Platform): Descriptor | undefined {
  const ok = idx.manifests.filter((d) => d.platform && d.platform.os === want.os && d.platform.architecture === want.architecture);
  if (!want.variant) return ok.find((d) => !d.platform!.variant) ?? ok[0];
  return ok.find((d) => d.platform!.variant === want.variant) ?? (want.architecture === 'arm' ? undefined : ok[0]);
}

/** A bounded pool: at most `n` tasks at once, in submission order. */
class Slots {
  #free: number;
  #queue: (() => void)[] = [];
  constructor(n: number) { this.#free = n; }
  /** Resolves immediately (true) or after a wait (false, the caller said "Waiting"). */
  tryTake(): boolean { if (this.#free > 0) { this.#free--; return true; } return false; }
  take(): Promise<void> { return new Promise((r) => this.#queue.push(r)); }
  release(): void { const n = this.#queue.shift(); if (n) n(); else this.#free++; }
}

/**
 * The registry to pull from. Docker Hub images try each `registry-mirrors` entry first: a mirror
 * that cannot be reached or does not have the manifest is skipped, as dockerd falls back to the
 * next endpoint; the Hub itself comes last.
 */
async function connect(d: PullDeps, ref: ImageRef, o: PullOptions): Promise<RegistryClient> {
  const base = { host: ref.domain, repo: ref.path, actions: ['pull'], auth: o.auth, insecure: d.registry.insecure, signal: o.signal };
  if (ref.domain === DOCKER_HUB) {
    const probe = ref.digest ?? ref.tag;
    for (const m of d.registry.mirrors) {
      try {
        const c = await RegistryClient.connect({ ...base, endpoint: m });
        if (probe === undefined || (await c.headManifest(probe)) !== undefined) return c;
      } catch { /* next mirror, then the Hub */ }
    }
  }
  return RegistryClient.connect(base);
}

export class Puller {
  readonly #d: PullDeps;
  constructor(d: PullDeps) { this.#d = d; }

  /** Staging directories of pulls a crash interrupted. */
  async init(): Promise<void> {
    const dir = join(this.#d.dataRoot, 'pull-staging');
    await rm(dir, { recursive: true, force: true });
  }

  /** Pulls `fromImage` (+ `tag`); no tag and no digest pulls every tag of the repository. */
  async pull(fromImage: string, o: PullOptions = {}): Promise<void> {
    const ref = pullReference(fromImage, o.tag);
    const emit = o.emit ?? (() => {});
    const release = this.#d.hold();
    try {
      let client: RegistryClient;
      try { client = await connect(this.#d, ref, o); } catch (e) { throw translatePullError(e, ref); }
      let downloaded = false;
      if (ref.tag === undefined && ref.digest === undefined) {
        let tags: string[];
        try { tags = await client.tags(); } catch (e) { throw translatePullError(e, ref); }
        for (const t of tags) downloaded = (await this.#pullOne(client, withTag(ref, t), o, emit)) || downloaded;
      } else {
        downloaded = await this.#pullOne(client, ref, o, emit);
      }
      status0(emit, `Status: ${downloaded ? 'Downloaded newer image' : 'Image is up to date'} for ${ref.familiar()}`);
    } finally {
      release();
    }
  }

  /** `GET /distribution/{name}/json`: the manifest descriptor and the platforms it offers. */
  async inspectRemote(name: string, auth?: AuthConfig, signal?: AbortSignal): Promise<Record<string, unknown>> {
    let ref = parseReference(name);
    if (ref.tag === undefined && ref.digest === undefined) ref = withTag(ref, 'latest');
    try {
      const client = await connect(this.#d, ref, { auth, signal });
      const m = await client.getManifest(ref.digest ?? ref.tag!);
      const parsed = parseManifest(m);
      const descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.body.length };
      let platforms: Record<string, unknown>[];
      if (parsed.manifests) {
        platforms = parsed.manifests.filter((x) => x.platform && x.platform.os !== 'unknown').map((x) => {
          const p = x.platform!;
          return { architecture: p.architecture, os: p.os, ...(p['os.version'] ? { 'os.version': p['os.version'] } : {}), ...(p.variant ? { variant: p.variant } : {}) };
        });
      } else {
        const res = await client.getBlob(parsed.config.digest, signal);
        const c = JSON.parse((await readLimited(res, MAX_CONFIG)).toString('utf8')) as { os?: string; architecture?: string; variant?: string };
        platforms = [{ architecture: c.architecture ?? '', os: c.os ?? '', ...(c.variant ? { variant: c.variant } : {}) }];
      }
      return { Descriptor: descriptor, Platforms: platforms };
    } catch (e) { throw translatePullError(e, ref); }
  }

  /** One tag or digest; true when something changed (layers downloaded or the tag moved). */
  async #pullOne(client: RegistryClient, ref: ImageRef, o: PullOptions, emit: Emit): Promise<boolean> {
    const d = this.#d;
    const want = parsePlatform(o.platform);
    const tagOrDigest = ref.digest ?? ref.tag!;
    let top: ManifestResult;
    let man: ManifestResult;
    let manifest: ImageManifest;
    try {
      top = await client.getManifest(tagOrDigest);
      if (ref.digest && top.digest !== ref.digest) throw new EngineError('System', `manifest verification failed for digest ${ref.digest}`);
      let parsed = parseManifest(top);
      man = top;
      if (parsed.manifests) {
        const pick = pickPlatform(parsed, want);
        if (!pick) throw new EngineError('NotFound', `no matching manifest for ${fmtPlatform(want)} in the manifest list entries`);
        man = await client.getManifest(pick.digest, [MEDIA.ociManifest, MEDIA.dockerManifest]);
        if (man.digest !== pick.digest) throw new EngineError('System', `manifest verification failed for digest ${pick.digest}`);
        parsed = parseManifest(man);
        if (parsed.manifests) throw new EngineError('System', 'unsupported manifest format: a manifest list inside a manifest list');
      }
      manifest = parsed as ImageManifest;
    } catch (e) { throw translatePullError(e, ref); }

    status0(emit, `Pulling from ${ref.path}`, tagOrDigest);
    const configDigest = manifest.config.digest;
    checkDigest(configDigest);
    const name = trimNamed(ref);
    const digestRef = `${name.name}@${top.digest}`;
    const prevId = ref.tag !== undefined ? d.images.tryResolve(ref.full())?.id : (d.images.all().find((r) => r.repoDigests?.includes(digestRef))?.id);

    let id = configDigest;
    let downloadedLayers = false;
    if (!d.images.has(configDigest)) {
      try {
        downloadedLayers = await this.#fetchImage(client, ref, man, manifest, want, !!o.platform, emit, o.signal);
      } catch (e) { throw translatePullError(e, ref); }
      id = configDigest;
    }
    status0(emit, `Digest: ${top.digest}`);
    await d.images.addRepoDigest(id, digestRef);
    if (ref.tag !== undefined) await d.images.tag(id, ref);
    // Only a hint for cross-repository mounts (held in memory too): a failed write costs a later push an upload.
    await d.pulled?.(name.name, [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]).catch(() => {});
    await d.images.event('pull', ref.familiar(), ref.familiarName());
    return downloadedLayers || prevId !== id;
  }

  /** Config and layers of one image manifest; the image is recorded at the end. */
  async #fetchImage(client: RegistryClient, ref: ImageRef, man: ManifestResult, manifest: ImageManifest, want: Platform, platformGiven: boolean, emit: Emit, signal?: AbortSignal): Promise<boolean> {
    const d = this.#d;
    const stage = join(d.dataRoot, 'pull-staging', randomBytes(8).toString('hex'));
    await mkdir(stage, { recursive: true, mode: 0o700 }); // root's alone, as every data-root dir (daemon/state-dirs.ts)
    const created: string[] = [];
    const staged = new Map<string, string>();
    // Each staged blob's fsync, started when its download is verified and awaited only before the
    // blobs move into the store: the disk writes back while the layers unpack, and the download
    // slot is free for the next layer (measured: ~100 ms per 50 MB blob on this machine's disk).
    const syncs: Promise<void>[] = [];
    const T = trace('pull');
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    signal?.addEventListener('abort', onAbort);
    try {
      // The config first (small; it names the diff IDs the layers must have).
      const cres = await client.getBlob(manifest.config.digest, abort.signal);
      const cbuf = await readLimited(cres, MAX_CONFIG);
      if (sha256(cbuf) !== manifest.config.digest) throw new EngineError('System', `image config verification failed for digest ${manifest.config.digest}`);
      let config: ImageConfigFile;
      try { config = JSON.parse(cbuf.toString('utf8')) as ImageConfigFile; } catch { throw new EngineError('System', 'invalid image config'); }
      if (platformGiven && !(config.os === want.os && config.architecture === want.architecture)) {
        throw new EngineError('NotFound', `image with reference ${ref.familiar()} was found but does not match the specified platform: wanted ${fmtPlatform(want)}, actual: ${config.os}/${config.architecture}`);
      }
      T('config');
      const diffIds = config.rootfs?.diff_ids ?? [];
      if (diffIds.length !== manifest.layers.length) throw new EngineError('System', 'layers from manifest don\'t match image configuration');

      // Which layers are needed; the others are here already.
      const chains: string[] = [];
      let parent: string | undefined;
      for (const id of diffIds) { parent = chainIdOf(parent, id); chains.push(parent); }
      const refs: (LayerRef | undefined)[] = [];
      const need: boolean[] = [];
      const byChain = new Map<string, LayerRef>();
      for (const img of d.images.all()) for (const l of img.layers) byChain.set(l.chainId, l);
      for (let i = 0; i < manifest.layers.length; i++) {
        const desc = manifest.layers[i];
        checkDigest(desc.digest);
        const have = await d.snap.hasLayer(chains[i]);
        let lr: LayerRef | undefined;
        if (have) {
          if (await d.content.has(desc.digest)) lr = { diffId: diffIds[i], chainId: chains[i], blob: desc.digest, mediaType: desc.mediaType ?? MEDIA_LAYER, size: desc.size };
          else {
            const other = byChain.get(chains[i]);
            if (other && (await d.content.has(other.blob))) lr = { ...other };
          }
        }
        refs.push(lr);
        need.push(!lr);
      }
      for (let i = 0; i < manifest.layers.length; i++) {
        status(emit, shortId(manifest.layers[i].digest), need[i] ? 'Pulling fs layer' : 'Already exists');
      }

      // Downloads: 3 at a time; the rest wait. Each resolves to the staged (or stored) file.
      const slots = new Slots(MAX_PARALLEL_DOWNLOADS);
      let firstError: unknown;
      const downloads = new Map<number, Promise<string>>();
      const seen = new Map<string, Promise<string>>();
      for (let i = 0; i < manifest.layers.length; i++) {
        if (!need[i]) continue;
        const desc = manifest.layers[i];
        const id = shortId(desc.digest);
        const again = seen.get(desc.digest);
        if (again) { downloads.set(i, again); continue; }
        let p: Promise<string>;
        if (await d.content.has(desc.digest)) {
          p = Promise.resolve(d.content.blobPath(desc.digest));
          void p.then(() => status(emit, id, 'Download complete'));
        } else {
          const got = slots.tryTake();
          if (!got) status(emit, id, 'Waiting');
          p = (async () => {
            if (!got) await slots.take();
            try {
              const path = join(stage, desc.digest.slice(7));
              await withRetries(() => downloadBlob(client, desc, path, id, emit, abort.signal), id, emit, abort.signal);
              staged.set(desc.digest, path);
              T(`downloaded ${i}`);
              const synced = fsyncFile(path);
              synced.catch(() => {}); // (awaited below, with every other)
              syncs.push(synced);
              return path;
            } finally { slots.release(); }
          })();
        }
        p.catch((e: unknown) => { firstError ??= e; abort.abort(); });
        seen.set(desc.digest, p);
        downloads.set(i, p);
      }

      // Unpacking, in layer order, each as soon as its blob is in.
      let chain: string | undefined;
      let failure: unknown;
      try {
        for (let i = 0; i < manifest.layers.length; i++) {
          const desc = manifest.layers[i];
          const id = shortId(desc.digest);
          if (!need[i]) { chain = chains[i]; continue; }
          const path = await downloads.get(i)!;
          const existed = await d.snap.hasLayer(chains[i]);
          const head = await firstBytes(path);
          const meter = new ProgressMeter(emit, id, 'Extracting', desc.size);
          const raw = createReadStream(path, { highWaterMark: 1 << 20 });
          raw.on('error', (e) => meter.destroy(e));
          meter.on('close', () => raw.destroy()); // (a pipe does not close its source)
          const tar = decompressedLayer(raw.pipe(meter), head);
          // An uncompressed blob whose digest is the diff ID was hashed as it downloaded (or is
          // the store's own, named by its digest): its bytes are the tar, so no second hash.
          const verified = desc.digest === diffIds[i] && !isGzip(head) && !isZstd(head);
          const info = await d.snap.createLayer(chain, tar, diffIds[i], { verified });
          if (!existed) created.push(info.chainId);
          T(`unpacked ${i}`);
          status(emit, id, 'Pull complete');
          refs[i] = { diffId: diffIds[i], chainId: info.chainId, blob: desc.digest, mediaType: desc.mediaType ?? MEDIA_LAYER, size: desc.size };
          chain = info.chainId;
        }
      } catch (e) {
        failure = firstError ?? e;
        abort.abort();
      }
      // Every download has settled before anything is kept or cleaned.
      await Promise.allSettled([...downloads.values()]);
      if (failure) throw failure;

      // All verified and unpacked: the blobs, once on disk, move into the content store, then the
      // image appears.
      await Promise.all(syncs);
      T('blobs synced');
      for (const [digest, path] of staged) {
        if (await d.content.has(digest)) continue;
        await chmod(path, 0o444);
        const dst = d.content.blobPath(digest);
        try { await rename(path, dst); } catch {
          // A rename that fails (another filesystem): a checked copy into the store instead.
          await d.content.ingest(createReadStream(path), { digest });
        }
      }
      // Durability only: the blobs are in place whatever this returns; a failed sync risks them
      // only across a power loss.
      if (staged.size) await fsyncDir(dirname(d.content.blobPath(manifest.config.digest))).catch(() => {});
      T('blobs stored');
      await d.images.createImage(config, refs as LayerRef[], undefined, { config: cbuf, manifest: man.body });
      T('image created');
      return need.some(Boolean);
    } catch (e) {
      abort.abort();
      // Nothing of a failed pull stays: the layers it unpacked (unless an image uses them meanwhile).
      const used = new Set(d.images.all().flatMap((img) => img.layers.map((l) => l.chainId)));
      // Rollback: the pull's error is what the caller gets; a layer that fails to go is
      // unreferenced, and the engine's GC sweeps it (at the next start, or after an image removal).
      for (const c of created.reverse()) if (!used.has(c)) await d.snap.removeLayer(c).catch(() => {});
      throw abort.signal.aborted && signal?.aborted ? new EngineError('System', 'context canceled') : e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await Promise.allSettled(syncs);
      await rm(stage, { recursive: true, force: true });
      // The shared pull-staging dir goes when empty; another pull in progress keeps it (ENOTEMPTY).
      await rmdir(join(d.dataRoot, 'pull-staging')).catch(() => {});
    }
  }
}

const MEDIA_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

function status0(emit: Emit, s: string, id?: string): void {
  emit(id === undefined ? { status: s } : { status: s, id });
}

async function readLimited(res: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > limit) { res.destroy(); throw new EngineError('System', `blob larger than ${limit} bytes`); }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Marks an error no retry can mend (a digest mismatch, a 4xx answer). */
class Permanent extends EngineError {}

/**
 * dockerd's download retries: up to 5 attempts, waiting 5, 10, 15, 20 seconds and counting down
 * ("Retrying in N seconds"); transport failures and 5xx answers only.
 */
async function withRetries(fn: () => Promise<void>, id: string, emit: Emit, signal: AbortSignal): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try { await fn(); return; } catch (e) {
      const transient = !(e instanceof Permanent) && !signal.aborted
        && (e instanceof RegistryTransportError || (e instanceof RegistryHttpError && e.status >= 500) || (e instanceof EngineError && e.code === 'download'));
      if (!transient || attempt >= RETRY_ATTEMPTS) throw e instanceof EngineError && e.code === 'download' ? new EngineError('System', e.message) : e;
      for (let left = attempt * RETRY_STEP_S; left > 0; left--) {
        status(emit, id, `Retrying in ${left} second${left === 1 ? '' : 's'}`);
        await new Promise<void>((r) => { const t = setTimeout(r, 1000); signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true }); });
        if (signal.aborted) throw new EngineError('System', 'context canceled');
      }
    }
  }
}

const RETRY_ATTEMPTS = 5;
const RETRY_STEP_S = 5;

/**
 * GET a blob into `path`, hashing as it is written; a wrong digest or size is an error. The body
 * is taken piece by piece as it arrives (over plain HTTP, out of one reused read buffer), hashed
 * and written at once: no buffer per read, no stream hops. Three 50 MB blobs at once from a
 * loopback registry: 270-400 ms (CPU 310-430 ms) through a stream into a file write stream,
 * 210-230 ms (CPU 170-200 ms) this way.
 */
async function downloadBlob(client: RegistryClient, desc: Descriptor, path: string, id: string, emit: Emit, signal: AbortSignal): Promise<void> {
  let file: FileHandle;
  try {
    file = await open(path, 'w', 0o600);
  } catch (e) {
    throw new EngineError('System', `failed to download layer ${desc.digest}: ${(e as Error).message}`, { code: 'download' });
  }
  const hash = createHash('sha256');
  let size = 0;
  let meter: ProgressMeter | undefined;
  try {
    const res = await client.getBlob(desc.digest, signal, (piece) => {
      hash.update(piece);
      size += piece.length;
      writeAllSync(file.fd, piece);
      meter?.count(piece.length);
    });
    // The first pieces may have come before this line (with the response's head): counted now.
    const total = Number(res.headers['content-length'] ?? desc.size) || desc.size;
    meter = new ProgressMeter(emit, id, 'Downloading', total);
    if (size) meter.count(size);
    await finished(res, { signal });
    meter.flushReport();
  } catch (e) {
    if (signal.aborted) throw new EngineError('System', 'context canceled');
    if (e instanceof RegistryHttpError || e instanceof RegistryTransportError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new EngineError('System', `failed to download layer ${desc.digest}: ${err.message}`, { code: 'download' });
  } finally {
    await file.close();
  }
  status(emit, id, 'Verifying Checksum');
  if (`sha256:${hash.digest('hex')}` !== desc.digest || (desc.size > 0 && size !== desc.size)) {
    throw new Permanent('System', `filesystem layer verification failed for digest ${desc.digest}`);
  }
  status(emit, id, 'Download complete');
}

/** fsync(2) of a file's data. */
async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try { await fh.sync(); } finally { await fh.close(); }
}
