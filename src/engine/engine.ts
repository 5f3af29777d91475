// The engine: composes the services and is the one object the API routers talk to (through
// their narrow backend interfaces).
import os from 'node:os';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ContentStore } from '../store/content/content.ts';
import type { Snapshotter } from '../store/snapshots/snapshotter.ts';
import type { OciRuntime } from '../runtime/runtime.ts';
import type { EndpointConfig } from '../api/types/network.ts';
import { findNetwork, predefinedNetworkId, type NetworkCreateRequest, type NetworkService } from '../network/service.ts';
import { EngineError } from '../common/errors.ts';
import { parseFilters } from '../common/filters.ts';
import { ContainerService } from './container/service.ts';
import { EventBus } from './events.ts';
import { ImageService, type ImageRecord, type ImportOptions } from './images.ts';
import { join } from 'node:path';
import { isMountPoint, unmount } from '../sys/index.ts';
import type { DownloadLimits } from '../build/download.ts';
import { Builder } from '../build/builder.ts';
import { hostFacts } from '../runtime/oci-spec.ts';
import { validateRunConfig } from './container/host-config.ts';
import { VolumeService } from '../volume/local.ts';
import { BuildCache } from '../build/cache.ts';
import type { BuildOptions, BuildOutput, BuildReport, CacheRecord } from '../build/build.ts';
import { parseTimestamp } from '../common/units.ts';
import { Puller, type PullOptions, type RegistrySettings } from './pull.ts';
import { Pusher } from './push.ts';
import { registryConfigInfo } from '../registry/client/info.ts';
import type { IdMap } from '../common/idmap.ts';

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
  /** Bridge networks (src/network); none = every container gets a namespace with `lo` only. */
  networking?: NetworkService;
  /** daemon.json `registry-mirrors` and `insecure-registries`. */
  registry?: RegistrySettings;
  /** daemon.json `builder-add-url-max-size` and `builder-add-url-idle-timeout` (ADD <url>). */
  downloadLimits?: DownloadLimits;
  /** `--userns-remap` (daemon/userns.ts): the store's owners are this map's host IDs. */
  idMap?: IdMap;
  /** The daemon's warning log, for cleanups that failed while the daemon went on. */
  warn?: (msg: string) => void;
}

/** A network as `/networks` shows it (Docker's network resource, before wire naming). */
export interface NetworkInfo {
  name: string; id: string; driver: string; created: string;
  /** 'swarm' for a cluster network this node has a part in; local otherwise. */
  scope?: 'swarm';
  ingress?: boolean;
  predefined: boolean; internal: boolean; attachable: boolean; enableIPv6: boolean;
  labels: Record<string, string>; options: Record<string, string>;
  ipamOptions: Record<string, string> | null;
  ipamConfig: { Subnet?: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> }[];
  containers: { id: string; name: string; endpointId: string; mac: string; ipv4: string; ipv6: string }[];
}

export class Engine {
  readonly events = new EventBus();
  readonly images: ImageService;
  readonly containers: ContainerService;
  readonly builder: Builder;
  readonly volumes: VolumeService;
  readonly puller: Puller;
  readonly pusher: Pusher;
  #o: EngineOptions;
  #content: ContentStore;
  #snap: Snapshotter;
  #busy = 0;
  #started = new Date().toISOString();

  constructor(o: EngineOptions, content: ContentStore, snap: Snapshotter) {
    this.#o = o;
    this.#content = content;
    this.#snap = snap;
    this.images = new ImageService(o.dataRoot, content, snap, this.events);
    this.volumes = new VolumeService(o.dataRoot, { owner: o.idMap?.root, event: (action, name, attrs) => this.events.emit('volume', action, name, attrs) });
    const hold = () => { this.#busy++; return () => { this.#busy--; }; };
    const registry = o.registry ?? { mirrors: [], insecure: [] };
    this.pusher = new Pusher({ dataRoot: o.dataRoot, content, images: this.images, events: this.events, registry, hold });
    this.puller = new Puller({ dataRoot: o.dataRoot, content, snap, images: this.images, events: this.events, registry, hold, pulled: (repo, blobs) => this.pusher.remember(repo, blobs) });
    this.containers = new ContainerService({
      root: o.dataRoot, execRoot: o.execRoot, cgroupParent: o.cgroupParent,
      runtimes: o.runtimes, defaultRuntime: o.defaultRuntime, initPath: o.initPath,
      volumes: this.volumes,
      networking: o.networking,
      predefinedNetworkId: (name) => predefinedNetworkId(o.id, name),
      idMap: o.idMap,
      warn: o.warn,
    }, snap, this.images, this.events);
    this.builder = new Builder({
      tmpRoot: join(o.dataRoot, 'build-tmp'),
      cgroupParent: o.cgroupParent,
      content,
      snapshotter: snap,
      runtime: () => o.runtimes.get(o.defaultRuntime)!,
      findImage: async (ref) => {
        const record = this.images.tryResolve(ref);
        return record ? { record, config: await this.images.config(record.id) } : undefined;
      },
      pull: (ref, signal, o) => this.pull(ref, undefined, o?.emit, signal, { auth: o?.auth }),
      // API 1.46: a built image has its `create` event, tagged or not.
      createImage: async (config, layers) => {
        const rec = await this.images.createImage(config, layers);
        await this.images.event('create', rec.id, rec.id);
        return rec;
      },
      tag: (id, ref) => this.images.tag(id, ref),
      hold: () => { this.#busy++; return () => { this.#busy--; }; },
      networking: o.networking,
      downloadLimits: o.downloadLimits,
      idMap: o.idMap,
      checkRun: async (config, hostConfig) => validateRunConfig(config, hostConfig, await hostFacts()),
    }, new BuildCache(o.dataRoot));
  }

  /** Holds garbage collection off while something not yet reachable is being stored (load, commit). */
  hold(): () => void { this.#busy++; return () => { this.#busy--; }; }

  async init(): Promise<void> {
    await this.volumes.init();
    await this.images.init();
    await this.puller.init();
    await this.pusher.init();
    await this.#o.networking?.init?.();
    await this.containers.init();
    await this.#o.networking?.reconcile?.((id) => this.containers.exists(id) && this.containers.inspect(id).State.Running);
    await this.builder.cache.init();
    await this.#cleanupBuilds();
    await this.gc();
  }

  /** A build killed with berthd leaves its step container, mounts and scratch files: remove them. */
  async #cleanupBuilds(): Promise<void> {
    for (const rt of this.#o.runtimes.values()) {
      for (const c of await rt.list().catch(() => [])) {
        if (!c.id.startsWith('build-')) continue;
        // Best effort, at start: the step container may be gone already; what is left is swept again next start.
        await rt.kill(c.id, 9, true).catch(() => {});
        await rt.delete(c.id, true).catch(() => {});
      }
    }
    for (const key of await this.#snap.listActive()) {
      if (!key.startsWith('build-')) continue;
      const root = this.#snap.rootfsPath(key);
      // Best effort, as above: a mount or snapshot that will not go now is retried at the next start.
      if (await isMountPoint(root).catch(() => false)) await unmount(root, { lazy: true }).catch(() => {});
      await this.#snap.remove(key).catch(() => {});
    }
    await this.builder.cleanup();
  }

  // ------------------------------------------------------------ builds (BuildBackend)

  async build(body: Readable, o: BuildOptions, out: BuildOutput): Promise<BuildReport> {
    const r = await this.builder.build(body, o, out);
    return r;
  }

  /** `POST /build/prune`: cache records go, then a sweep frees what only they held. */
  async pruneBuildCache(o: { all?: boolean; until?: string; keepStorage?: number }): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }> {
    let recs = this.builder.cache.all();
    // `all` or not, every record is unused once its build is over (no record is held by a
    // running build): images keep their own layers, so pruning never breaks an image.
    if (o.until) {
      const t = parseTimestamp(o.until, Date.now()) * 1000;
      recs = recs.filter((r) => Date.parse(r.lastUsed) < t);
    }
    recs.sort((a, b) => Date.parse(a.lastUsed) - Date.parse(b.lastUsed));
    if (o.keepStorage) {
      let total = this.builder.cache.all().reduce((n, r) => n + r.size, 0);
      const keep: CacheRecord[] = [];
      const go: CacheRecord[] = [];
      for (const r of recs) { if (total > o.keepStorage) { go.push(r); total -= r.size; } else keep.push(r); }
      recs = go;
    }
    await this.builder.cache.remove(recs.map((r) => r.key));
    const freed = await this.gc();
    this.events.emit('builder', 'prune', '', { reclaimed: String(freed.bytes) });
    return { CachesDeleted: recs.map((r) => r.key.slice(7, 32)), SpaceReclaimed: freed.bytes };
  }

  /** The networks this daemon has: its bridge networks, then `host` and `none`. */
  networks(): NetworkInfo[] {
    const net = this.#o.networking;
    const out: NetworkInfo[] = (net?.list() ?? []).map((n) => ({
      name: n.name, id: n.id, driver: n.driver ?? 'bridge', ...(n.driver === 'overlay' ? { scope: 'swarm' as const, ingress: !!n.ingress } : {}), created: n.created, predefined: n.predefined, internal: n.internal, attachable: n.attachable,
      enableIPv6: !!n.enableIPv6, labels: n.labels, options: n.options, ipamOptions: n.ipamOptions, ipamConfig: n.ipamConfig,
      containers: net!.endpointsOf(n.id).map((e) => ({
        id: e.container, name: e.containerName, endpointId: e.endpointId, mac: e.mac, ipv4: `${e.ip}/${e.prefixLen}`, ipv6: e.ip6 ? `${e.ip6}/${e.prefixLen6}` : '',
      })),
    }));
    const pseudo = (name: string, driver: string, pred: (mode: string) => boolean): NetworkInfo => ({
      name, id: predefinedNetworkId(this.#o.id, name), driver, created: this.#started,
      predefined: true, internal: false, attachable: false, enableIPv6: false, labels: {}, options: {}, ipamOptions: null, ipamConfig: [],
      containers: this.containers.list().filter((c) => c.State.Running && pred(c.HostConfig.NetworkMode || 'default'))
        .map((c) => ({ id: c.ID, name: c.Name.slice(1), endpointId: '', mac: '', ipv4: '', ipv6: '' })),
    });
    out.push(pseudo('host', 'host', (m) => m === 'host'));
    out.push(pseudo('none', 'null', (m) => m === 'none' || (!net?.defaultBridge && (m === 'default' || m === 'bridge'))));
    return out;
  }

  /** One network by name, ID or unique ID prefix (Docker's order); 404 otherwise. */
  network(ref: string): NetworkInfo { return findNetwork(this.networks(), ref); }

  #netService(): NetworkService {
    if (!this.#o.networking) throw new EngineError('InvalidParameter', 'bridge networking is off on this daemon (berthd -b none)');
    return this.#o.networking;
  }

  async createNetwork(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    if (req.Name === 'host' || req.Name === 'none') throw new EngineError('Forbidden', `operation is not permitted on predefined ${req.Name} network `);
    const r = await this.#netService().create(req);
    this.events.emit('network', 'create', r.Id, { name: req.Name ?? '', type: req.Driver || 'bridge' });
    return r;
  }

  async removeNetwork(ref: string): Promise<void> {
    const n = this.network(ref);
    if (n.predefined) throw new EngineError('Forbidden', `${n.name} is a pre-defined network and cannot be removed`);
    await this.#netService().remove(n.id);
    this.events.emit('network', 'destroy', n.id, { name: n.name, type: n.driver });
  }

  /** `POST /networks/prune`: user networks without a running container (filters until, label). */
  async pruneNetworks(filters?: string): Promise<string[]> {
    const f = parseFilters(filters);
    f.validate(['until', 'label', 'label!']);
    const until = f.has('until') ? Math.min(...f.get('until').map((v) => parseTimestamp(v, Date.now()) * 1000)) : undefined;
    const deleted: string[] = [];
    for (const n of this.networks()) {
      if (n.predefined || n.containers.length) continue;
      if (until !== undefined && Date.parse(n.created) >= until) continue;
      if (!f.matchLabels(n.labels)) continue;
      try { await this.removeNetwork(n.id); deleted.push(n.name); } catch { /* in use meanwhile */ }
    }
    this.events.emit('network', 'prune', '', { reclaimed: '0' });
    return deleted;
  }

  async connectNetwork(ref: string, container: string, cfg: EndpointConfig): Promise<void> {
    const n = this.network(ref);
    await this.containers.connectNetwork(container, n.name === 'bridge' ? 'bridge' : n.id, cfg ?? {});
  }

  async disconnectNetwork(ref: string, container: string, force: boolean): Promise<void> {
    const n = this.network(ref);
    await this.containers.disconnectNetwork(container, n.name === 'bridge' ? 'bridge' : n.id, force);
  }

  /** Unique layer bytes, and per image the bytes of layers it shares with other images. */
  async diskUsage(): Promise<{ layersSize: number; sharedSize: Map<string, number> }> {
    const users = new Map<string, number>();
    const sizes = new Map<string, number>();
    for (const img of this.images.all()) {
      for (const l of img.layers) {
        users.set(l.chainId, (users.get(l.chainId) ?? 0) + 1);
        sizes.set(l.chainId, l.unpackedSize ?? l.size);
      }
    }
    const sharedSize = new Map<string, number>();
    for (const img of this.images.all()) {
      sharedSize.set(img.id, img.layers.reduce((n, l) => n + ((users.get(l.chainId) ?? 0) > 1 ? (l.unpackedSize ?? l.size) : 0), 0));
    }
    return { layersSize: [...sizes.values()].reduce((a, b) => a + b, 0), sharedSize };
  }

  /** Build cache entries as `system df` shows them; InUse when a stored image shares its top layer. */
  buildCacheUsage(): { ID: string; Parent: string; Type: string; Description: string; InUse: boolean; Shared: boolean; Size: number; CreatedAt: string; LastUsedAt: string; UsageCount: number }[] {
    const imageTops = new Set(this.images.all().map((i) => this.images.topChain(i)));
    return this.builder.cache.all().map((r) => ({
      ID: r.key.slice(7, 32),
      Parent: r.parent?.slice(7, 32) ?? '',
      Type: 'regular',
      Description: r.createdBy.replace(/^\/bin\/sh -c #\(nop\)\s+/, ''),
      InUse: false,
      Shared: r.layers.length > 0 && imageTops.has(r.layers[r.layers.length - 1].chainId),
      Size: r.size,
      CreatedAt: r.created,
      LastUsedAt: r.lastUsed,
      UsageCount: r.usageCount,
    }));
  }

  async close(): Promise<void> { await this.builder.cache.flush(); await this.containers.close(); await this.#o.networking?.close(); }

  // ------------------------------------------------------------ images (ImagesBackend)

  async importImage(body: Readable, o: ImportOptions): Promise<ImageRecord> {
    this.#busy++;
    try { return await this.images.importImage(body, o); } finally { this.#busy--; }
  }

  /** Pulls from a registry (engine/pull.ts); the builder's FROM of a missing image comes here too. */
  pull(ref: string, tag: string | undefined, onProgress?: (m: Record<string, unknown>) => void, signal?: AbortSignal, o: Pick<PullOptions, 'platform' | 'auth'> = {}): Promise<void> {
    return this.puller.pull(ref, { ...o, tag, emit: onProgress, signal: signal instanceof AbortSignal ? signal : undefined });
  }

  async removeImage(nameOrId: string, o: { force?: boolean; noprune?: boolean }) {
    const r = await this.images.remove(nameOrId, o);
    if (r.some((x) => x.Deleted)) await this.gc();
    return r;
  }

  /** `POST /containers/prune`: stopped containers (created, exited, dead) go; filters until, label. */
  async pruneContainers(filters?: string): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    const f = parseFilters(filters);
    f.validate(['until', 'label', 'label!']);
    const until = f.has('until') ? Math.min(...f.get('until').map((v) => parseTimestamp(v, Date.now()) * 1000)) : undefined;
    const deleted: string[] = [];
    let space = 0;
    for (const c of this.containers.list()) {
      if (!['created', 'exited', 'dead'].includes(c.State.Status)) continue;
      if (until !== undefined && Date.parse(c.Created) >= until) continue;
      if (!f.matchLabels(c.Config.Labels ?? {})) continue;
      const size = await this.containers.sizeRw(c.ID).catch(() => 0);
      try {
        await this.containers.remove(c.ID, {});
        deleted.push(c.ID);
        space += size;
      } catch { /* started or removed meanwhile */ }
    }
    this.events.emit('container', 'prune', '', { reclaimed: String(space) });
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: space };
  }

  /**
   * `POST /images/prune`: dangling images (`dangling=false`: every image no container uses) go,
   * each of its tags untagged first; filters until, label. The space is what the sweep frees.
   */
  async pruneImages(filters?: string): Promise<{ ImagesDeleted: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed: number }> {
    const f = parseFilters(filters);
    f.validate(['dangling', 'until', 'label', 'label!']);
    for (const v of f.get('dangling')) if (!/^(true|false|1|0)$/i.test(v)) throw new EngineError('InvalidParameter', `invalid filter 'dangling=${v}'`);
    const danglingOnly = !f.has('dangling') || /^(true|1)$/i.test(f.get('dangling')[0]);
    const until = f.has('until') ? Math.min(...f.get('until').map((v) => parseTimestamp(v, Date.now()) * 1000)) : undefined;
    const report: { Untagged?: string; Deleted?: string }[] = [];
    for (const img of this.images.all()) {
      if (!this.images.has(img.id)) continue; // went with an earlier one
      const refs = this.images.refsOf(img.id);
      if (danglingOnly && refs.length) continue;
      if (this.containersUsing(img.id)) continue;
      if (until !== undefined || f.has('label') || f.has('label!')) {
        const cfg = await this.images.config(img.id);
        if (until !== undefined && Date.parse(cfg.created ?? '') >= until) continue;
        if (!f.matchLabels(cfg.config?.Labels ?? {})) continue;
      }
      try {
        for (const r of refs) report.push(...(await this.images.remove(r, {})));
        if (this.images.has(img.id)) report.push(...(await this.images.remove(img.id, {})));
      } catch { /* in use meanwhile */ }
    }
    const freed = report.some((x) => x.Deleted) ? await this.gc() : { bytes: 0 };
    this.events.emit('image', 'prune', '', { reclaimed: String(freed.bytes) });
    return { ImagesDeleted: report.length ? report : null, SpaceReclaimed: freed.bytes };
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
  async gc(): Promise<{ blobs: number; layers: number; bytes: number }> {
    if (this.#busy > 0) return { blobs: 0, layers: 0, bytes: 0 };
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
    // Build cache records hold their layers (and blobs) until pruned.
    for (const r of this.builder.cache.all()) {
      for (const l of r.layers) blobs.add(l.blob);
      await markChain(r.layers.length ? r.layers[r.layers.length - 1].chainId : undefined);
    }
    if (this.#busy > 0) return { blobs: 0, layers: 0, bytes: 0 };
    let nb = 0;
    let nl = 0;
    let bytes = 0;
    for (const d of await this.#content.list()) if (!blobs.has(d)) { await this.#content.delete(d); nb++; }
    for (const l of await this.#snap.listLayers()) if (!chains.has(l.chainId)) { await this.#snap.removeLayer(l.chainId); nl++; bytes += l.size; }
    return { blobs: nb, layers: nl, bytes };
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
      registryConfig: registryConfigInfo(this.#o.registry ?? { mirrors: [], insecure: [] }),
      userns: !!this.#o.idMap,
    };
  }
}
