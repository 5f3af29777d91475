// ImageService: images as (manifest, config, layers) in the content store, unpacked layers in the
// snapshotter, and a references index (repository:tag → image ID) written atomically.
// Image ID = the digest of the image config (Docker's rule).
import { createGunzip } from 'node:zlib';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { isGzip, peek, tee } from '../common/streams.ts';
import { conflict, invalid, notFound } from '../common/errors.ts';
import { normalizeTagged, type ImageRef } from '../common/reference.ts';
import { JsonDocStore, readJson, writeJsonAtomic } from '../store/metadata/atomic.ts';
import type { ContentStore } from '../store/content/content.ts';
import type { Snapshotter } from '../store/snapshots/snapshotter.ts';
import { chainIdOf } from '../store/snapshots/snapshotter.ts';
import { applyChanges } from './changes.ts';
import { PrefixIndex } from '../common/prefix-index.ts';
import type { EventBus } from './events.ts';
import type { ContainerConfig } from '../api/types/container.ts';
import type { ImageConfigFile } from '../api/types/image.ts';
// The records sit in store/metadata, below the builder, which makes them too.
import type { ImageRecord, LayerRef } from '../store/metadata/image-record.ts';
export type { ImageRecord, LayerRef };

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export interface Image extends ImageRecord { config: ImageConfigFile }

export interface ImportOptions { repo?: string; tag?: string; changes?: string[]; message?: string; source?: string; platform?: string }

export interface DeleteReport { Untagged?: string; Deleted?: string }

export class ImageService {
  #content: ContentStore;
  #snap: Snapshotter;
  #events: EventBus;
  #docs: JsonDocStore<ImageRecord>;
  #refsPath: string;
  #images = new Map<string, ImageRecord>();
  /** Image IDs as hex (no `sha256:`), sorted, for short-ID prefixes (kept in step with #images). */
  #ids = new PrefixIndex();
  #configs = new Map<string, ImageConfigFile>();
  /** full reference ("docker.io/library/busybox:latest") → image ID */
  #refs = new Map<string, string>();
  /** Set by the engine: which containers use an image (for rmi's conflict rules). */
  usedBy: (imageId: string) => { id: string; running: boolean }[] = () => [];

  constructor(root: string, content: ContentStore, snap: Snapshotter, events: EventBus) {
    this.#content = content;
    this.#snap = snap;
    this.#events = events;
    this.#docs = new JsonDocStore(join(root, 'images'));
    this.#refsPath = join(root, 'refs.json');
  }

  async init(): Promise<void> {
    await this.#docs.init();
    for (const [, rec] of await this.#docs.loadAll()) {
      // An image whose config blob is gone is not usable; skip it (GC will collect the rest).
      if (!(await this.#content.has(rec.id))) continue;
      this.#images.set(rec.id, rec);
      this.#ids.add(rec.id.slice(7));
    }
    const refs = (await readJson<Record<string, string>>(this.#refsPath)) ?? {};
    for (const [r, id] of Object.entries(refs)) if (this.#images.has(id)) this.#refs.set(r, id);
  }

  async #saveRefs(): Promise<void> {
    await writeJsonAtomic(this.#refsPath, Object.fromEntries([...this.#refs].sort()));
  }

  async config(id: string): Promise<ImageConfigFile> {
    let c = this.#configs.get(id);
    if (!c) {
      c = JSON.parse((await this.#content.read(id)).toString()) as ImageConfigFile;
      this.#configs.set(id, c);
    }
    return c;
  }

  /**
   * An image event as dockerd's LogImageEvent makes it: the image's labels as attributes, plus
   * `name` (a tag's familiar reference; the image ID for import, untag and create; the familiar
   * name for pull and push, whose actor is the reference). Labels are there while the image is.
   */
  async event(action: string, actor: string, name: string): Promise<void> {
    const rec = this.tryResolve(actor);
    // An event never fails its operation: a config that cannot be read (the image just went) gives no labels.
    const labels = rec ? ((await this.config(rec.id).catch(() => undefined))?.config?.Labels ?? {}) : {};
    this.#events.emit('image', action, actor, { ...labels, name });
  }

  all(): ImageRecord[] { return [...this.#images.values()]; }
  refsOf(id: string): string[] { return [...this.#refs].filter(([, v]) => v === id).map(([k]) => k); }
  has(id: string): boolean { return this.#images.has(id); }

  /** Resolves a user string (name[:tag], name@digest, full or short ID) to an image. */
  resolve(nameOrId: string): ImageRecord {
    const rec = this.tryResolve(nameOrId);
    if (!rec) throw notFound(`No such image: ${nameOrId}`);
    return rec;
  }

  tryResolve(nameOrId: string): ImageRecord | undefined {
    const s = nameOrId.trim();
    const idLike = /^(sha256:)?[a-f0-9]{1,64}$/.exec(s);
    if (idLike && (s.startsWith('sha256:') || s.length === 64)) {
      const full = s.startsWith('sha256:') ? s : `sha256:${s}`;
      if (this.#images.has(full)) return this.#images.get(full);
    }
    let ref: ImageRef | undefined;
    try { ref = normalizeTagged(s); } catch { ref = undefined; }
    if (ref) {
      const id = this.#refs.get(ref.full());
      if (id) return this.#images.get(id);
      if (ref.digest) {
        const full = `${ref.name}@${ref.digest}`;
        const byRepoDigest = [...this.#images.values()].find((r) => r.repoDigests?.includes(full));
        if (byRepoDigest) return byRepoDigest;
        const byManifest = [...this.#images.values()].find((r) => r.manifest === ref!.digest);
        if (byManifest) return byManifest;
      }
    }
    if (idLike) {
      const hex = this.#ids.resolve(s.replace(/^sha256:/, ''));
      if (hex) return this.#images.get(`sha256:${hex}`);
    }
    return undefined;
  }

  async inspect(nameOrId: string): Promise<Image> {
    const rec = this.resolve(nameOrId);
    return { ...rec, config: await this.config(rec.id) };
  }

  /**
   * `POST /images/create?fromSrc=-`: the body is one layer (tar, or gzip'd tar). The blob is kept
   * byte for byte as sent; the layer is unpacked while it is stored, in one pass.
   */
  async importImage(body: Readable, opts: ImportOptions): Promise<ImageRecord> {
    let ref: ImageRef | undefined;
    if (opts.repo) {
      ref = normalizeTagged(opts.tag ? `${opts.repo}:${opts.tag}` : opts.repo);
      if (ref.digest) throw invalid('cannot import digest reference');
    }
    if (opts.platform && !/^linux(\/amd64)?$/.test(opts.platform)) {
      throw invalid(`image with reference was found but does not match the specified platform: wanted ${opts.platform}`);
    }
    const config0 = applyChanges({}, opts.changes ?? []);
    // Peek the first bytes to tell gzip from a plain tar.
    const { head, stream: rest } = await peek(body);
    if (head.length === 0) throw invalid('EOF: empty import source');
    const gz = isGzip(head);
    // A client that hangs up mid-upload destroys both branches; the failure reaches the caller
    // through the consumers' promises below.
    const [forBlob, forLayer] = tee(rest);
    const layerStream = gz ? forLayer.pipe(createGunzip()) : forLayer;
    if (gz) forLayer.on('error', (e) => layerStream.destroy(e));
    layerStream.on('error', () => {}); // a corrupt gzip stream: reported through createLayer
    const [blob, layer] = await Promise.all([
      this.#content.ingest(forBlob),
      this.#snap.createLayer(undefined, layerStream).catch((e: unknown) => { forBlob.resume(); throw e; }),
    ]);
    const now = new Date().toISOString();
    const config: ImageConfigFile = {
      architecture: 'amd64',
      os: 'linux',
      created: now,
      config: { ...config0, Env: config0.Env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created: now, created_by: '', comment: opts.message || `Imported from ${opts.source ?? '-'}` }],
    };
    if (opts.message) config.comment = opts.message;
    const rec = await this.createImage(config, [{ diffId: layer.diffId, chainId: layer.chainId, blob: blob.digest, mediaType: gz ? MT.ociLayerGzip : MT.ociLayer, size: blob.size }]);
    await this.event('import', rec.id, rec.id);
    if (ref) await this.tag(rec.id, ref);
    return rec;
  }

  /** Stores config + manifest for layers already in the stores and records the image. */
  async createImage(config: ImageConfigFile, layers: LayerRef[], parent?: string, raw?: { config: Buffer; manifest: Buffer }): Promise<ImageRecord> {
    // `raw`: a pulled image keeps its config and manifest byte for byte (ID and digest depend on them).
    const cfgBuf = raw?.config ?? Buffer.from(JSON.stringify(config));
    const cfg = await this.#content.ingest(cfgBuf);
    const manifest = {
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: { mediaType: MT.ociConfig, digest: cfg.digest, size: cfg.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.blob, size: l.size })),
    };
    const man = await this.#content.ingest(raw?.manifest ?? Buffer.from(JSON.stringify(manifest)));
    let size = 0;
    for (const l of layers) {
      l.unpackedSize = (await this.#snap.layer(l.chainId))?.size ?? 0;
      size += l.unpackedSize;
    }
    const rec: ImageRecord = { id: cfg.digest, manifest: man.digest, layers, size, parent };
    const prev = this.#images.get(rec.id);
    if (prev) return prev;
    await this.#docs.put(rec.id.slice(7), rec);
    this.#images.set(rec.id, rec);
    this.#ids.add(rec.id.slice(7));
    this.#configs.set(rec.id, config);
    return rec;
  }

  /** Records a RepoDigest (`domain/path@sha256:…`, full form) for an image (pull, push). */
  async addRepoDigest(id: string, digestRef: string): Promise<void> {
    const rec = this.#images.get(id);
    if (!rec) return;
    const repo = digestRef.slice(0, digestRef.indexOf('@'));
    // One digest per repository and image, as Docker keeps it: the newest wins.
    const kept = (rec.repoDigests ?? []).filter((r) => r.slice(0, r.indexOf('@')) !== repo || r === digestRef);
    if (kept.includes(digestRef) && kept.length === (rec.repoDigests ?? []).length) return;
    rec.repoDigests = [...kept.filter((r) => r !== digestRef), digestRef];
    await this.#docs.put(rec.id.slice(7), rec);
  }

  /** Chain ID of the top layer (the parent of a container's rw layer), undefined for scratch. */
  topChain(rec: ImageRecord): string | undefined {
    let chain: string | undefined;
    for (const l of rec.layers) chain = chainIdOf(chain, l.diffId);
    return chain;
  }

  /** `o.event: false`: no `tag` event (a load's tags: dockerd's loader sets them quietly). */
  async tag(source: string, target: string | ImageRef, o: { event?: boolean } = {}): Promise<void> {
    const rec = this.resolve(source);
    const ref = typeof target === 'string' ? normalizeTagged(target) : target;
    if (ref.digest) throw invalid('refusing to create a tag with a digest reference');
    const key = ref.full();
    const old = this.#refs.get(key);
    this.#refs.set(key, rec.id);
    // Re-tagging with the same image (a cached rebuild) changes nothing on disk.
    if (old !== rec.id) await this.#saveRefs();
    if (old !== rec.id) {
      rec.lastTagTime = new Date().toISOString();
      await this.#docs.put(rec.id.slice(7), rec);
    }
    if (o.event !== false) await this.event('tag', rec.id, ref.familiar());
  }

  /** Docker's rmi rules: untag a reference, delete an image when its last reference goes. */
  async remove(nameOrId: string, opts: { force?: boolean; noprune?: boolean } = {}): Promise<DeleteReport[]> {
    const rec = this.resolve(nameOrId);
    const report: DeleteReport[] = [];
    const refs = this.refsOf(rec.id);
    const users = this.usedBy(rec.id);
    const short = rec.id.slice(7, 19);
    let byRef: string | undefined;
    try {
      const r = normalizeTagged(nameOrId);
      if (this.#refs.get(r.full()) === rec.id) byRef = r.full();
    } catch { /* an ID */ }
    // A RepoDigest by name (`name@sha256:…`): that reference goes; the image only with its last one.
    const digests = rec.repoDigests ?? [];
    let byDigest: string | undefined;
    try {
      const r = normalizeTagged(nameOrId);
      if (r.digest && digests.includes(`${r.name}@${r.digest}`)) byDigest = `${r.name}@${r.digest}`;
    } catch { /* an ID */ }
    if (byDigest && (refs.length > 0 || digests.length > 1)) {
      rec.repoDigests = digests.filter((x) => x !== byDigest);
      await this.#docs.put(rec.id.slice(7), rec);
      report.push({ Untagged: familiar(byDigest) });
      await this.event('untag', rec.id, rec.id);
      return report;
    }
    if (byRef) {
      if (refs.length > 1 || (users.length > 0 && opts.force)) {
        // Only the named reference goes; the image stays while other refs or containers hold it.
        this.#refs.delete(byRef);
        await this.#saveRefs();
        report.push({ Untagged: familiar(byRef) });
        await this.event('untag', rec.id, rec.id);
        // Docker's rule: with the repository's last tag go its digest references.
        const repo = byRef.slice(0, byRef.lastIndexOf(':'));
        if (!this.refsOf(rec.id).some((r) => r.slice(0, r.lastIndexOf(':')) === repo) && digests.some((x) => x.startsWith(`${repo}@`))) {
          for (const x of digests.filter((y) => y.startsWith(`${repo}@`))) report.push({ Untagged: familiar(x) });
          rec.repoDigests = digests.filter((y) => !y.startsWith(`${repo}@`));
          await this.#docs.put(rec.id.slice(7), rec);
        }
        return report;
      }
      if (users.length > 0) {
        throw conflict(`conflict: unable to remove repository reference "${nameOrId}" (must force) - container ${users[0].id.slice(0, 12)} is using its referenced image ${short}`);
      }
    } else {
      const running = users.find((u) => u.running);
      if (running) throw conflict(`conflict: unable to delete ${short} (cannot be forced) - image is being used by running container ${running.id.slice(0, 12)}`);
      if (users.length > 0 && !opts.force) throw conflict(`conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${users[0].id.slice(0, 12)}`);
      if (refs.length > 1 && !opts.force) throw conflict(`conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`);
    }
    for (const r of refs) {
      this.#refs.delete(r);
      report.push({ Untagged: familiar(r) });
      await this.event('untag', rec.id, rec.id);
    }
    for (const x of digests) report.push({ Untagged: familiar(x) });
    if (digests.length && users.length > 0) { rec.repoDigests = []; await this.#docs.put(rec.id.slice(7), rec); }
    await this.#saveRefs();
    if (users.length > 0) return report; // forced: untagged, kept (dangling) for its containers
    this.#images.delete(rec.id);
    this.#ids.delete(rec.id.slice(7));
    this.#configs.delete(rec.id);
    await this.#docs.delete(rec.id.slice(7));
    report.push({ Deleted: rec.id });
    this.#events.emit('image', 'delete', rec.id, { name: rec.id });
    return report;
  }
}

function familiar(full: string): string {
  try { return normalizeTagged(full).familiar(); } catch { return full; }
}

export function imageSummaryConfig(c: ImageConfigFile): ContainerConfig { return c.config ?? {}; }
