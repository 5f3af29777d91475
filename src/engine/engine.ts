// The engine: composes the services and is the one object the API routers talk to (through
// their narrow backend interfaces).
import os from 'node:os';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { unavailable } from '../common/errors.ts';
import { parseReference } from '../common/reference.ts';
import type { ContentStore } from '../store/content/content.ts';
import type { Snapshotter } from '../store/snapshots/snapshotter.ts';
import type { OciRuntime } from '../runtime/runtime.ts';
import { ContainerService } from './containers.ts';
import { EventBus } from './events.ts';
import { ImageService, type ImageRecord, type ImportOptions } from './images.ts';

export interface EngineOptions {
  id: string;
  dataRoot: string;
  execRoot: string;
  cgroupParent: string;
  runtimes: Map<string, OciRuntime>;
  defaultRuntime: string;
  initPath: string;
  version: string;
  debug: boolean;
}

export class Engine {
  readonly events = new EventBus();
  readonly images: ImageService;
  readonly containers: ContainerService;
  #o: EngineOptions;
  #content: ContentStore;
  #snap: Snapshotter;
  #busy = 0;

  constructor(o: EngineOptions, content: ContentStore, snap: Snapshotter) {
    this.#o = o;
    this.#content = content;
    this.#snap = snap;
    this.images = new ImageService(o.dataRoot, content, snap, this.events);
    this.containers = new ContainerService({
      root: o.dataRoot, execRoot: o.execRoot, cgroupParent: o.cgroupParent,
      runtimes: o.runtimes, defaultRuntime: o.defaultRuntime, initPath: o.initPath,
    }, snap, this.images, this.events);
  }

  async init(): Promise<void> {
    await this.images.init();
    await this.containers.init();
    await this.gc();
  }

  async close(): Promise<void> { await this.containers.close(); }

  // ------------------------------------------------------------ images (ImagesBackend)

  async importImage(body: Readable, o: ImportOptions): Promise<ImageRecord> {
    this.#busy++;
    try { return await this.images.importImage(body, o); } finally { this.#busy--; }
  }

  pull(ref: string, tag: string | undefined): Promise<void> {
    const r = parseReference(tag && !ref.includes('@') ? `${ref}:${tag}` : ref);
    // The registry client comes with the registry issue; until then say so at once.
    return Promise.reject(unavailable(`Error response from registry: pulling ${r.familiar()} is not supported yet: berth has no registry client (no registry is reachable from this machine; use \`berth import\` or \`berth load\`)`));
  }

  async removeImage(nameOrId: string, o: { force?: boolean; noprune?: boolean }) {
    const r = await this.images.remove(nameOrId, o);
    if (r.some((x) => x.Deleted)) await this.gc();
    return r;
  }

  containersUsing(imageId: string): number {
    return this.containers.list().filter((c) => c.Image === imageId).length;
  }

  async imageGraphDriver(id: string): Promise<Record<string, string>> {
    const [upper = '', ...lower] = await this.#snap.layerPaths(this.images.topChain(this.images.resolve(id)));
    return lower.length ? { LowerDir: lower.join(':'), MergedDir: '', UpperDir: upper, WorkDir: '' } : { MergedDir: '', UpperDir: upper, WorkDir: '' };
  }


  /**
   * Mark and sweep (DESIGN.md): everything reachable from an image record or a container is
   * kept; other blobs and unpacked layers go. Nothing relies on stored reference counts, so a
   * crash at any point leaves at worst garbage for the next sweep. Skipped while an import is
   * in flight (its blobs are not yet reachable).
   */
  async gc(): Promise<{ blobs: number; layers: number }> {
    if (this.#busy > 0) return { blobs: 0, layers: 0 };
    const blobs = new Set<string>();
    const chains = new Set<string>();
    const markChain = async (chain: string | undefined) => {
      while (chain && !chains.has(chain)) {
        chains.add(chain);
        chain = (await this.#snap.layer(chain))?.parent;
      }
    };
    for (const img of this.images.all()) {
      blobs.add(img.id);
      blobs.add(img.manifest);
      for (const l of img.layers) blobs.add(l.blob);
      await markChain(this.images.topChain(img));
    }
    if (this.#busy > 0) return { blobs: 0, layers: 0 };
    let nb = 0;
    let nl = 0;
    for (const d of await this.#content.list()) if (!blobs.has(d)) { await this.#content.delete(d); nb++; }
    for (const l of await this.#snap.listLayers()) if (!chains.has(l.chainId)) { await this.#snap.removeLayer(l.chainId); nl++; }
    return { blobs: nb, layers: nl };
  }

  // ------------------------------------------------------------ system

  async info() {
    const list = this.containers.list();
    const running = list.filter((c) => c.State.Running && !c.State.Paused).length;
    const paused = list.filter((c) => c.State.Paused).length;
    let osName = 'Linux';
    try {
      const rel = await readFile('/etc/os-release', 'utf8');
      osName = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(rel)?.[1] ?? osName;
    } catch { /* keep default */ }
    return {
      id: this.#o.id,
      name: os.hostname(),
      containers: { total: list.length, running, paused, stopped: list.length - running - paused },
      images: this.images.all().length,
      dataRoot: this.#o.dataRoot,
      execRoot: this.#o.execRoot,
      runtimes: Object.fromEntries([...this.#o.runtimes].map(([n, r]) => [n, { path: r.path }])),
      defaultRuntime: this.#o.defaultRuntime,
      cgroupVersion: (existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1') as '1' | '2',
      kernelVersion: os.release(),
      operatingSystem: osName,
      ncpu: os.cpus().length,
      memTotal: os.totalmem(),
      version: this.#o.version,
      initBinary: 'tini',
      debug: this.#o.debug,
    };
  }
}
