// Overlayfs snapshotter. Layout under <root> (= <data-root>/overlay):
//   l/<short>/diff        an unpacked layer; <short> = the first 20 hex of its chain ID
//   l/<short>/layer.json  LayerInfo; written inside the temp dir before the dir is renamed into
//                         place, so a layer directory exists complete or not at all
//   rw/<key>/{upper,work,merged,parent}  an active snapshot
// Lower paths are given relative to <root> ("l/<short>/diff", 27 bytes each), so even a
// 128-layer image fits the single page of mount data the kernel takes.
import { chown, mkdir, rm, rename, readdir, readFile, writeFile, lstat } from 'node:fs/promises';
import type { IdMap } from '../../common/idmap.ts';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { readJson, writeJsonAtomic, fsyncDir } from '../metadata/atomic.ts';
import { invalid, notFound } from '../../common/errors.ts';
import { DigestStream } from '../content/digest.ts';
import { applyLayer } from './apply-layer.ts';
import { chainIdOf, type LayerInfo, type OverlayMount, type Snapshotter, type UnpackedLayer } from './snapshotter.ts';

const short = (chainId: string) => chainId.replace(/^sha256:/, '').slice(0, 20);

export class OverlaySnapshotter implements Snapshotter {
  readonly root: string;
  readonly #idMap: IdMap | undefined;
  /**
   * `idMap` (`--userns-remap`): layers are unpacked with their owners moved to the host IDs of the
   * map, and an active snapshot's upper directory (the container's `/`) belongs to its root.
   */
  constructor(root: string, o: { idMap?: IdMap } = {}) {
    this.root = root;
    this.#idMap = o.idMap;
  }

  async init(): Promise<void> {
    await mkdir(join(this.root, 'l'), { recursive: true });
    await mkdir(join(this.root, 'rw'), { recursive: true });
    // Temp dirs of layer unpacks interrupted by a crash.
    for (const n of await readdir(join(this.root, 'l'))) {
      if (n.startsWith('.tmp-')) await rm(join(this.root, 'l', n), { recursive: true, force: true });
    }
  }

  #layerDir(chainId: string): string { return join(this.root, 'l', short(chainId)); }

  async hasLayer(chainId: string): Promise<boolean> {
    return (await this.layer(chainId)) !== undefined;
  }
  async layer(chainId: string): Promise<LayerInfo | undefined> {
    const info = await readJson<LayerInfo>(join(this.#layerDir(chainId), 'layer.json'));
    return info && info.chainId === chainId ? info : undefined;
  }

  async createLayer(parent: string | undefined, tar: Readable, expectedDiffId?: string, o: { verified?: boolean } = {}): Promise<LayerInfo> {
    // The source may fail while we await below; its error is surfaced by the unpack, and an
    // unhandled 'error' event must never reach the daemon's top level.
    let early: Error | undefined;
    const onEarly = (e: Error) => { early ??= e; };
    tar.on('error', onEarly);
    if (expectedDiffId) {
      const known = await this.layer(chainIdOf(parent, expectedDiffId));
      if (known) { tar.resume(); return known; }
    }
    if (parent && !(await this.hasLayer(parent))) {
      tar.destroy();
      throw notFound(`parent layer ${parent} not found`);
    }
    if (early) { tar.destroy(); throw early; }
    const verified = o.verified === true && expectedDiffId !== undefined;
    const u = await this.unpackLayer(tar, { digest: !verified });
    const diffId = verified ? expectedDiffId : u.diffId!;
    if (expectedDiffId && diffId !== expectedDiffId) {
      await u.discard();
      throw invalid(`layer digest mismatch: expected ${expectedDiffId}, got ${diffId}`);
    }
    return u.commit(parent, diffId);
  }

  async unpackLayer(tar: Readable, o: { digest?: boolean } = {}): Promise<UnpackedLayer> {
    let early: Error | undefined;
    const onEarly = (e: Error) => { early ??= e; };
    tar.on('error', onEarly);
    const tmp = join(this.root, 'l', `.tmp-${randomBytes(6).toString('hex')}`);
    let size: number;
    let diffId: string | undefined;
    try {
      await mkdir(join(tmp, 'diff'), { recursive: true });
      if (early) throw early;
      let input: Readable = tar;
      let ds: DigestStream | undefined;
      if (o.digest !== false) {
        ds = new DigestStream();
        tar.on('error', (e) => ds!.destroy(e));
        input = tar.pipe(ds);
      }
      ({ size } = await applyLayer(join(tmp, 'diff'), input, { mode: 'overlay', idMap: this.#idMap }));
      // The extractor may stop before the tar's end-of-archive padding: read (and hash) all of it.
      await new Promise<void>((res, rej) => { if (input.readableEnded) res(); else { input.on('end', res); input.on('error', rej); input.resume(); } });
      diffId = ds?.digest();
    } catch (e) {
      // Nothing reads the layer stream after a failure: destroyed, it closes its source (a
      // blob's file, a decompressor), which would otherwise stay open in the daemon.
      tar.destroy();
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    let done = false;
    const discard = async () => { done = true; await rm(tmp, { recursive: true, force: true }); };
    return {
      diffId, size, discard,
      commit: async (parent, id) => {
        if (done) throw new Error('unpacked layer already committed or discarded');
        done = true;
        try { return await this.#place(tmp, parent, id, size); } catch (e) { await rm(tmp, { recursive: true, force: true }); throw e; }
      },
    };
  }

  /** Gives the unpacked layer in `tmp` its name: layer.json inside, then one rename. */
  async #place(tmp: string, parent: string | undefined, diffId: string, size: number): Promise<LayerInfo> {
    if (parent && !(await this.hasLayer(parent))) throw notFound(`parent layer ${parent} not found`);
    const chainId = chainIdOf(parent, diffId);
    const existing = await this.layer(chainId);
    if (existing) { await rm(tmp, { recursive: true, force: true }); return existing; }
    const info: LayerInfo = { chainId, diffId, parent, size, created: new Date().toISOString() };
    await writeJsonAtomic(join(tmp, 'layer.json'), info);
    try {
      await rename(tmp, this.#layerDir(chainId));
    } catch (e) {
      // Another unpack of the same chain won the race: keep theirs.
      const theirs = await this.layer(chainId);
      if (theirs) { await rm(tmp, { recursive: true, force: true }); return theirs; }
      throw e;
    }
    await fsyncDir(join(this.root, 'l'));
    return info;
  }

  async removeLayer(chainId: string): Promise<void> {
    const dir = this.#layerDir(chainId);
    // Rename first so a crash mid-delete leaves a temp dir (swept at init), not a half layer.
    const tmp = join(this.root, 'l', `.tmp-${randomBytes(6).toString('hex')}`);
    try { await rename(dir, tmp); } catch { return; }
    await rm(tmp, { recursive: true, force: true });
  }

  async listLayers(): Promise<LayerInfo[]> {
    const out: LayerInfo[] = [];
    for (const n of await readdir(join(this.root, 'l'))) {
      if (n.startsWith('.')) continue;
      const info = await readJson<LayerInfo>(join(this.root, 'l', n, 'layer.json'));
      if (info) out.push(info);
    }
    return out;
  }

  #rw(key: string): string { return join(this.root, 'rw', key); }
  rootfsPath(key: string): string { return join(this.#rw(key), 'merged'); }
  async listActive(): Promise<string[]> {
    try { return (await readdir(join(this.root, 'rw'))).filter((n) => !n.startsWith('.')); } catch { return []; }
  }
  upperPath(key: string): string { return join(this.#rw(key), 'upper'); }

  async prepare(key: string, parent: string | undefined): Promise<void> {
    const dir = this.#rw(key);
    await mkdir(join(dir, 'upper'), { recursive: true });
    if (this.#idMap) await chown(join(dir, 'upper'), this.#idMap.root.uid, this.#idMap.root.gid);
    await mkdir(join(dir, 'work'), { recursive: true });
    await mkdir(join(dir, 'merged'), { recursive: true });
    await writeFile(join(dir, 'parent'), parent ?? '');
  }

  async #chain(key: string): Promise<LayerInfo[]> {
    let parent: string;
    try { parent = (await readFile(join(this.#rw(key), 'parent'), 'utf8')).trim(); } catch { throw notFound(`snapshot ${key} not found`); }
    return this.#chainFrom(parent);
  }

  /** The layers of a chain, from `top` down to the base layer. */
  async #chainFrom(top: string | undefined): Promise<LayerInfo[]> {
    let parent = top ?? '';
    const chain: LayerInfo[] = [];
    while (parent) {
      const info = await this.layer(parent);
      if (!info) throw notFound(`layer ${parent} not found`);
      chain.push(info);
      parent = info.parent ?? '';
    }
    return chain; // top-most first, as overlay's lowerdir wants
  }

  async lowerPaths(key: string): Promise<string[]> {
    return (await this.#chain(key)).map((l) => join(this.#layerDir(l.chainId), 'diff'));
  }

  async layerPaths(chainId: string | undefined): Promise<string[]> {
    return (await this.#chainFrom(chainId)).map((l) => join(this.#layerDir(l.chainId), 'diff'));
  }

  async mounts(key: string): Promise<OverlayMount> {
    const chain = await this.#chain(key);
    const dir = this.#rw(key);
    let lower = chain.map((l) => join('l', short(l.chainId), 'diff'));
    if (lower.length === 0) {
      // A container of `scratch` has no lower layer; overlay needs one, so use an empty dir.
      await mkdir(join(dir, 'empty'), { recursive: true });
      lower = [join('rw', key, 'empty')];
    }
    return { type: 'overlay', cwd: this.root, lower, upper: join(dir, 'upper'), work: join(dir, 'work') };
  }

  async remove(key: string): Promise<void> {
    await rm(this.#rw(key), { recursive: true, force: true });
  }

  async usage(key: string): Promise<number> {
    return duSize(this.upperPath(key));
  }

  async graphDriverData(key: string): Promise<Record<string, string>> {
    const dir = this.#rw(key);
    return {
      LowerDir: (await this.lowerPaths(key).catch(() => [])).join(':'),
      MergedDir: join(dir, 'merged'),
      UpperDir: join(dir, 'upper'),
      WorkDir: join(dir, 'work'),
    };
  }
}

/** Bytes used by regular files under a directory (no symlink following). */
export async function duSize(dir: string): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let entries;
    try { entries = await readdir(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) total += (await lstat(p)).size;
    }
  };
  await walk(dir);
  return total;
}
