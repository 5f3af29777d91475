// `POST /images/{name}/push`: an image's blobs and manifest to a registry, as dockerd does it
// (distribution/push_v2.go, xfer/upload.go), with the same JSON stream:
//
//   {"status":"The push refers to repository [localhost:5000/x]"}
//   {"status":"Preparing","progressDetail":{},"id":"<12 hex of the diff ID>"}   top layer first
//   {"status":"Waiting",…}  (behind the 5 parallel uploads)
//   {"status":"Pushing","progressDetail":{"current":…,"total":…},"progress":"[=>  ] …",…}
//   {"status":"Pushed",…} | {"status":"Layer already exists",…} | {"status":"Mounted from team/base",…}
//   {"status":"latest: digest: sha256:… size: 1234"}
//   {"progressDetail":{},"aux":{"Tag":"latest","Digest":"sha256:…","Size":1234}}
//
// The stored blobs are sent byte for byte (a layer berth built is an uncompressed tar; a pulled
// one stays as the registry gave it), and so is the stored manifest: nothing is recompressed and
// a pushed image pulls back with the same ID and digest. Which repositories of a registry hold a
// blob (from pulls and pushes) is remembered in <data-root>/distribution.json for cross-repository
// mounts.
import { join } from 'node:path';
import { EngineError } from '../common/errors.ts';
import { parseReference, trimNamed, withTag, type ImageRef } from '../common/reference.ts';
import { readJson, writeJsonAtomic } from '../store/metadata/atomic.ts';
import { sha256 } from '../store/content/digest.ts';
import type { ContentStore } from '../store/content/content.ts';
import type { AuthConfig } from '../registry/client/auth.ts';
import { MEDIA, RegistryClient, RegistryHttpError, RegistryTransportError, errcodeText } from '../registry/client/client.ts';
import { ProgressMeter, shortId, status, type Emit } from '../registry/client/progress.ts';
import type { EventBus } from './events.ts';
import type { ImageRecord, ImageService } from './images.ts';
import type { RegistrySettings } from './pull.ts';

export interface PushDeps {
  dataRoot: string;
  content: ContentStore;
  images: ImageService;
  events: EventBus;
  registry: RegistrySettings;
  hold: () => () => void;
}

export interface PushOptions { tag?: string; auth?: AuthConfig; signal?: AbortSignal; emit?: Emit }

const MAX_PARALLEL_UPLOADS = 5;

interface Desc { mediaType?: string; digest: string; size: number }

function translatePushError(e: unknown): unknown {
  if (e instanceof RegistryHttpError) {
    const first = e.errors[0];
    const text = first ? errcodeText(first) : e.message;
    if (first?.code === 'UNAUTHORIZED') return new EngineError('Unauthorized', text);
    return new EngineError('System', text);
  }
  if (e instanceof RegistryTransportError) return new EngineError('System', e.message);
  return e;
}

export class Pusher {
  readonly #d: PushDeps;
  /** blob digest → repositories (`host/path`) known to hold it. */
  #where = new Map<string, Set<string>>();
  #path: string;
  constructor(d: PushDeps) {
    this.#d = d;
    this.#path = join(d.dataRoot, 'distribution.json');
  }

  async init(): Promise<void> {
    const j = (await readJson<Record<string, string[]>>(this.#path)) ?? {};
    for (const [k, v] of Object.entries(j)) this.#where.set(k, new Set(v));
  }

  /** Remembers that `repo` (`host/path`) holds these blobs (after a pull or a push). */
  async remember(repo: string, digests: string[]): Promise<void> {
    let changed = false;
    for (const d of digests) {
      let s = this.#where.get(d);
      if (!s) { s = new Set(); this.#where.set(d, s); }
      if (!s.has(repo)) { s.add(repo); changed = true; }
    }
    if (!changed) return;
    const live = new Set(await this.#d.content.list());
    for (const k of [...this.#where.keys()]) if (!live.has(k)) this.#where.delete(k);
    await writeJsonAtomic(this.#path, Object.fromEntries([...this.#where].map(([k, v]) => [k, [...v].sort()])));
  }

  /** The references to push: the tag, or every tag of the repository (NotFound when none). */
  targets(name: string, tag: string | undefined): { repo: ImageRef; refs: { ref: ImageRef; id: string }[] } {
    let ref = parseReference(name);
    if (ref.digest) throw new EngineError('InvalidParameter', 'cannot push a digest reference');
    if (tag) ref = withTag(trimNamed(ref), tag);
    const repo = trimNamed(ref);
    const refs: { ref: ImageRef; id: string }[] = [];
    for (const img of this.#d.images.all()) {
      for (const r of this.#d.images.refsOf(img.id)) {
        let p: ImageRef;
        try { p = parseReference(r); } catch { continue; }
        if (p.name !== repo.name || p.tag === undefined) continue;
        if (ref.tag !== undefined && p.tag !== ref.tag) continue;
        refs.push({ ref: p, id: img.id });
      }
    }
    if (!refs.length) throw new EngineError('NotFound', `An image does not exist locally with the tag: ${ref.tag !== undefined && tag === undefined ? ref.familiar() : repo.familiarName()}`);
    refs.sort((a, b) => (a.ref.tag! < b.ref.tag! ? -1 : 1));
    return { repo, refs };
  }

  async push(name: string, o: PushOptions = {}): Promise<void> {
    // A malformed reference fails before any output (400); an image that is not here fails
    // after docker's first line, inside the stream, as dockerd does.
    const named = parseReference(name);
    if (named.digest) throw new EngineError('InvalidParameter', 'cannot push a digest reference');
    const emit = o.emit ?? (() => {});
    emit({ status: `The push refers to repository [${trimNamed(named).name}]` });
    const { repo, refs } = this.targets(name, o.tag);
    const release = this.#d.hold();
    try {
      let client: RegistryClient;
      try {
        client = await RegistryClient.connect({ host: repo.domain, repo: repo.path, actions: ['pull', 'push'], auth: o.auth, insecure: this.#d.registry.insecure, signal: o.signal });
      } catch (e) { throw translatePushError(e); }
      const remote = new Set<string>();
      for (const { ref, id } of refs) {
        try { await this.#pushTag(client, repo, ref, this.#d.images.resolve(id), emit, remote); } catch (e) { throw translatePushError(e); }
      }
    } finally { release(); }
  }

  async #pushTag(client: RegistryClient, repo: ImageRef, ref: ImageRef, rec: ImageRecord, emit: Emit, remote: Set<string>): Promise<void> {
    const d = this.#d;
    const { body: manifest, mediaType, layers, config } = await this.#manifestOf(rec);
    // Top layer first, as docker lists them; one upload per distinct blob.
    const order = layers.map((l, i) => ({ l, diffId: rec.layers[i]?.diffId ?? l.digest })).reverse();
    const uniq = new Map<string, { l: Desc; id: string }>();
    for (const x of order) if (!uniq.has(x.l.digest)) uniq.set(x.l.digest, { l: x.l, id: shortId(x.diffId) });
    for (const { id } of uniq.values()) status(emit, id, 'Preparing');
    let free = MAX_PARALLEL_UPLOADS;
    const queue: (() => void)[] = [];
    const take = () => new Promise<void>((r) => queue.push(r));
    const give = () => { const n = queue.shift(); if (n) n(); else free++; };
    let firstError: unknown;
    const jobs = [...uniq.values()].map(({ l, id }) => {
      const got = free > 0;
      if (got) free--; else status(emit, id, 'Waiting');
      return (async () => {
        if (!got) await take();
        try {
          if (firstError) return;
          await this.#pushBlob(client, repo, l, id, emit, remote);
        } catch (e) { firstError ??= e; } finally { give(); }
      })();
    });
    await Promise.all(jobs);
    if (firstError) throw firstError;
    // The config, then the manifest under the tag.
    if (!remote.has(config.digest) && (await client.headBlob(config.digest)) === undefined) {
      const up = await client.startUpload();
      if (up.mounted) throw new Error('unreachable');
      await client.finishUpload(up.location, config.digest, config.size, () => d.content.readStream(config.digest));
    }
    remote.add(config.digest);
    const digest = await client.putManifest(ref.tag!, manifest, mediaType);
    const ours = sha256(manifest);
    const dgst = digest && digest.startsWith('sha256:') ? digest : ours;
    emit({ status: `${ref.tag}: digest: ${dgst} size: ${manifest.length}` });
    emit({ progressDetail: {}, aux: { Tag: ref.tag, Digest: dgst, Size: manifest.length } });
    await d.images.addRepoDigest(rec.id, `${repo.name}@${dgst}`);
    // Only a hint for cross-repository mounts (held in memory too): a failed write costs a later push an upload.
    await this.remember(repo.name, [...uniq.keys()]).catch(() => {});
    await d.images.event('push', ref.familiar(), ref.familiarName());
  }

  async #pushBlob(client: RegistryClient, repo: ImageRef, l: Desc, id: string, emit: Emit, remote: Set<string>): Promise<void> {
    const d = this.#d;
    if (remote.has(l.digest) || (await client.headBlob(l.digest)) !== undefined) {
      remote.add(l.digest);
      status(emit, id, 'Layer already exists');
      return;
    }
    // A mount from another repository of the same registry that is known to hold the blob.
    const host = repo.domain;
    const from = [...(this.#where.get(l.digest) ?? [])].filter((r) => r.startsWith(`${host}/`) && r !== repo.name).map((r) => r.slice(host.length + 1));
    let location: URL | undefined;
    for (const src of from.slice(0, 3)) {
      try {
        const up = await client.startUpload({ digest: l.digest, from: src });
        if (up.mounted) {
          remote.add(l.digest);
          status(emit, id, `Mounted from ${src}`);
          return;
        }
        location = up.location;
        break;
      } catch { /* not allowed or not there: an ordinary upload */ }
    }
    if (!location) {
      const up = await client.startUpload();
      if (up.mounted) throw new Error('unreachable');
      location = up.location;
    }
    const size = (await d.content.info(l.digest)).size;
    await client.finishUpload(location, l.digest, size, () => {
      const meter = new ProgressMeter(emit, id, 'Pushing', size);
      const src = d.content.readStream(l.digest, {});
      src.on('error', (e) => meter.destroy(e));
      return src.pipe(meter);
    });
    remote.add(l.digest);
    status(emit, id, 'Pushed');
  }

  /**
   * The manifest to push: the stored one byte for byte when every blob it names is here (so the
   * digest is the one the image was pulled or pushed with), otherwise a new OCI manifest over
   * the blobs this daemon has for the image's layers.
   */
  async #manifestOf(rec: ImageRecord): Promise<{ body: Buffer; mediaType: string; layers: Desc[]; config: Desc }> {
    const c = this.#d.content;
    try {
      const body = await c.read(rec.manifest);
      const j = JSON.parse(body.toString('utf8')) as { mediaType?: string; config?: Desc; layers?: Desc[] };
      if (j.config?.digest === rec.id && Array.isArray(j.layers) && j.layers.length === rec.layers.length) {
        let all = true;
        for (const l of j.layers) if (!(await c.has(l.digest))) { all = false; break; }
        if (all) return { body, mediaType: j.mediaType ?? MEDIA.ociManifest, layers: j.layers, config: j.config };
      }
    } catch { /* rebuilt below */ }
    const cfg = await c.info(rec.id);
    const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: rec.id, size: cfg.size };
    const layers = rec.layers.map((l) => ({ mediaType: l.mediaType, digest: l.blob, size: l.size }));
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config, layers }));
    return { body, mediaType: MEDIA.ociManifest, layers, config };
  }
}
