// `docker commit`: a container's rw layer becomes a new layer on top of its image.
//
// The layer is the overlay upper dir as a layer tar (diff-layer.ts createLayerTar: whiteouts and
// opaque dirs translated), stored as a blob and unpacked in one pass, as a build step does. The
// mount targets berth makes in the rw layer (/etc/hosts, /etc/resolv.conf, /proc, …: Docker keeps
// them in its init layer) are left out when the image does not have them. The container is
// paused during the commit (Docker's default) unless it already is or `pause=false`.
// Docker's rules (moby daemon/commit.go, image.NewChildImage): the new config is the request's
// config (or the container's) with the `--change` instructions applied, merged over the
// container's; the history entry's `created_by` is the container's Cmd joined by spaces; an
// unchanged rw layer adds no layer and is recorded as `empty_layer`.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { invalid } from '../common/errors.ts';
import { normalizeTagged, type ImageRef } from '../common/reference.ts';
import { tee } from '../common/streams.ts';
import type { IdMap } from '../common/idmap.ts';
import type { ContentStore } from '../store/content/content.ts';
import { createLayerTar } from '../store/snapshots/diff-layer.ts';
import type { Snapshotter } from '../store/snapshots/snapshotter.ts';
import { applyChanges } from './changes.ts';
import type { ContainerService } from './container/service.ts';
import type { EventBus } from './events.ts';
import { MT, type ImageService, type LayerRef } from './images.ts';
import type { ContainerConfig } from '../api/types/container.ts';
import type { ImageConfigFile } from '../api/types/image.ts';

/** sha256 of an empty tar (two zero blocks): moby's layer.DigestSHA256EmptyTar. */
export const EMPTY_TAR_DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

export interface CommitDeps {
  content: ContentStore;
  snap: Snapshotter;
  images: ImageService;
  events: EventBus;
  containers: ContainerService;
  hold: () => () => void;
  /** `--userns-remap`: the rw layer's owners are host IDs; the committed layer carries the container's. */
  idMap?: IdMap;
}

export interface CommitOptions {
  container: string;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  /** Default true. */
  pause?: boolean;
  changes?: string[];
  /** The request body (a container config), merged over the container's. */
  config?: ContainerConfig;
}

/** Docker's merge(userConf, imageConf): what the user's config leaves unset comes from the container's. */
export function mergeConfig(user: ContainerConfig, ctr: ContainerConfig): ContainerConfig {
  const out: ContainerConfig = { ...ctr, ...Object.fromEntries(Object.entries(user).filter(([, v]) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0))) };
  // Env: the container's variables not overridden by the user's are kept.
  if (user.Env?.length && ctr.Env?.length) {
    const keys = new Set(user.Env.map((e) => e.split('=')[0]));
    out.Env = [...user.Env, ...ctr.Env.filter((e) => !keys.has(e.split('=')[0]))];
  }
  if (user.ExposedPorts || ctr.ExposedPorts) out.ExposedPorts = { ...(ctr.ExposedPorts ?? {}), ...(user.ExposedPorts ?? {}) };
  if (user.Volumes || ctr.Volumes) out.Volumes = { ...(ctr.Volumes ?? {}), ...(user.Volumes ?? {}) };
  if (user.Labels || ctr.Labels) out.Labels = { ...(ctr.Labels ?? {}), ...(user.Labels ?? {}) };
  return out;
}

const INIT_FILES = ['etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'dev/console', '.dockerenv'];
const INIT_DIRS = ['dev/shm', 'dev/pts', 'dev/mqueue', 'proc', 'sys', 'dev'];

/** The mount targets in the rw layer that the image does not have (left out of the commit). */
export function initPathsToSkip(upper: string, lowers: string[]): Set<string> {
  const skip = new Set<string>();
  const inLower = (p: string) => lowers.some((l) => { try { lstatSync(join(l, p)); return true; } catch { return false; } });
  for (const p of INIT_FILES) {
    try { if (!lstatSync(join(upper, p)).isDirectory() && !inLower(p)) skip.add(p); } catch { /* absent */ }
  }
  for (const p of INIT_DIRS) {
    let names: string[];
    try { if (!lstatSync(join(upper, p)).isDirectory()) continue; names = readdirSync(join(upper, p)); } catch { continue; }
    if (inLower(p)) continue;
    if (names.every((n) => skip.has(`${p}/${n}`))) skip.add(p);
  }
  // A directory of the image copied up only to hold mount targets (/etc) is no change either.
  for (const p of ['etc', 'dev']) {
    if (skip.has(p)) continue;
    try {
      if (!lstatSync(join(upper, p)).isDirectory()) continue;
      const names = readdirSync(join(upper, p));
      if (names.length && names.every((n) => skip.has(`${p}/${n}`))) skip.add(p);
    } catch { /* absent */ }
  }
  return skip;
}

/** Commits the container; returns the new image ID. */
export async function commitContainer(d: CommitDeps, o: CommitOptions): Promise<string> {
  const rec = d.containers.inspect(o.container);
  let ref: ImageRef | undefined;
  if (o.repo) {
    ref = normalizeTagged(o.tag ? `${o.repo}:${o.tag}` : o.repo);
    if (ref.digest) throw invalid('cannot commit to digest reference');
  } else if (o.tag) {
    throw invalid('tag is specified without a repository');
  }
  const base = d.images.tryResolve(rec.Image);
  const baseConfig = base ? await d.images.config(base.id) : undefined;
  const newConfig = mergeConfig(applyChanges(o.config ?? rec.Config, o.changes ?? []), rec.Config);

  const release = d.hold();
  let paused = false;
  const id = rec.ID;
  let createdLayer: string | undefined;
  try {
    if (o.pause !== false && rec.State.Running && !rec.State.Paused) {
      // moby's commit ignores a failed pause: a container that exits meanwhile is still
      // committed (its rw layer is all there is to commit, and it stays until removal).
      paused = await d.containers.pause(id, { forDaemon: true }).then(() => true, () => false);
    }
    const upper = d.snap.upperPath(id);
    const lowers = await d.snap.lowerPaths(id);
    const parentChain = base ? d.images.topChain(base) : undefined;
    const [a, b] = tee(createLayerTar(upper, { skip: initPathsToSkip(upper, lowers), idMap: d.idMap }));
    const [blob, layer] = await Promise.all([
      d.content.ingest(a),
      d.snap.createLayer(parentChain, b).catch((e: unknown) => { a.resume(); throw e; }),
    ]);
    // As moby's deferred unpause, whose error is dropped: a container that exited meanwhile has
    // nothing to unpause, and the commit's result does not depend on it.
    if (paused) { paused = false; await d.containers.unpause(id, { forDaemon: true }).catch(() => {}); }
    const empty = layer.diffId === EMPTY_TAR_DIFF_ID;
    if (!empty) createdLayer = layer.chainId;
    const now = new Date().toISOString();
    const layers: LayerRef[] = (base?.layers ?? []).map((l) => ({ ...l }));
    if (!empty) layers.push({ diffId: layer.diffId, chainId: layer.chainId, blob: blob.digest, mediaType: MT.ociLayer, size: blob.size });
    const history: NonNullable<ImageConfigFile['history']> = [...(baseConfig?.history ?? [])];
    const h: NonNullable<ImageConfigFile['history']>[number] = { created: now, created_by: (rec.Config.Cmd ?? []).join(' ') };
    if (o.author) h.author = o.author;
    if (o.comment) h.comment = o.comment;
    if (empty) h.empty_layer = true;
    history.push(h);
    const config: ImageConfigFile = {
      architecture: baseConfig?.architecture ?? 'amd64',
      os: baseConfig?.os ?? 'linux',
      ...(o.author ? { author: o.author } : {}),
      ...(o.comment ? { comment: o.comment } : {}),
      config: newConfig,
      container: id,
      // Docker's commit records the container's own config too (image inspect's ContainerConfig
      // before API 1.45; docker-compose 1.29 reads its Volumes).
      container_config: rec.Config,
      created: now,
      history,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    };
    const img = await d.images.createImage(config, layers, base?.id);
    createdLayer = undefined;
    await d.images.event('create', img.id, img.id);
    if (ref) await d.images.tag(img.id, ref);
    d.events.emit('container', 'commit', id, { comment: o.comment ?? '', imageID: img.id, imageRef: ref?.familiar() ?? '', name: rec.Name.slice(1) });
    return img.id;
  } catch (e) {
    // A layer this commit unpacked goes again, unless an image uses it (the same diff committed before).
    // e is what the caller gets; a layer that fails to go is unreferenced, and the engine's GC sweeps it.
    if (createdLayer && !d.images.all().some((img) => img.layers.some((l) => l.chainId === createdLayer))) await d.snap.removeLayer(createdLayer).catch(() => {});
    throw e;
  } finally {
    // As above (moby drops the unpause error); this path only runs when the commit failed.
    if (paused) await d.containers.unpause(id, { forDaemon: true }).catch(() => {});
    release();
  }
}
