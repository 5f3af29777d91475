// ContainerService: the container records, their state machine and lifecycle over the OCI
// runtime (conmon + runc), the snapshotter (rw layer) and the image service.
//
// States (Docker's `State.Status`): created → running ⇄ paused; running → exited (process ended)
// → running again (start/restart); any → removing → gone. Illegal transitions are Conflicts.
// Every change of state is written atomically to containers/<id>/config.json before it is
// reported, so a daemon killed at any moment restarts with a record that is true or one step
// behind, and `reconcile()` brings it up to date from the runtime's state and conmon's exit file.
import os from 'node:os';
import { chown, mkdir, rm, rmdir, readFile, writeFile, readdir, stat } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { hostname as hostHostname } from 'node:os';
import { conflict, invalid, notFound, notImplemented, notModified, system, EngineError, isEngineError } from '../common/errors.ts';
import { generateId, generateName, validateName } from '../common/names.ts';
import { parseLink } from '../common/links.ts';
import { parseSignal } from '../common/signals.ts';
import { trace } from '../common/trace.ts';
import { PrefixIndex, resolveIdentifier } from '../common/prefix-index.ts';
import { mountOverlay, mountTmpfs, unmount, isMountPoint, mountsUnder } from '../sys/index.ts';
import type { VolumeService } from '../volume/local.ts';
import type { MountPoint } from '../volume/volume.ts';
import { writeJsonAtomic, readJson, fsyncDir } from '../store/metadata/atomic.ts';
import type { Snapshotter } from '../store/snapshots/snapshotter.ts';
import { buildSpec, composeArgs, hostFacts, specDefaults, specToJson, type SpecDefaults } from '../runtime/oci-spec.ts';
import { hostConfigFacts, validateHostConfig, validateResources, validateRestartPolicy } from './container/host-config.ts';
import type { RuntimeResourceUpdate } from '../runtime/runtime.ts';
import { detectCgroups, type CgroupFeatures } from '../runtime/cgroups.ts';
import type { OciRuntime } from '../runtime/runtime.ts';
import { AttachConnection, type StreamKind } from './attach.ts';
import type { EventBus } from './events.ts';
import type { ImageService } from './images.ts';
import { parsePlatform } from './pull.ts';
import { readLogs, type LogEntry, type ReadLogsOptions } from './logs.ts';
import { LogRotator, logFiles, parseLogConfig, type LogSettings } from './log-rotation.ts';
import type { ContainerConfig, HostConfig } from '../api/types/container.ts';
import { top } from './top.ts';
import type { ArchiveAccess } from './container-archive.ts';
import type { IdMap } from '../common/idmap.ts';
import { makeNetNamespaceIn, makeUserNamespace, releaseNamespaceFile } from '../sys/namespaces.ts';
import type { HealthState, HealthTarget } from './health.ts';
import { createTreeTar, diffChanges, type Change } from '../store/snapshots/diff-layer.ts';
import { NoNetworking, type ContainerNetworking, type EndpointConfig, type EndpointState } from './networking.ts';

/** The HostConfig values a container gets when it leaves them unset (see hostConfigDefaults). */
export type { SpecDefaults as HostConfigDefaults } from '../runtime/oci-spec.ts';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  /** Present once a healthcheck has run its monitor (src/engine/health.ts). */
  Health?: HealthState;
}

/** The persisted record (Docker keeps the same fields in config.v2.json + hostconfig.json). */
export interface ContainerRecord {
  ID: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  Config: ContainerConfig;
  HostConfig: HostConfig;
  LogPath: string;
  HostnamePath: string;
  HostsPath: string;
  ResolvConfPath: string;
  /** Volumes, binds and tmpfs mounts (inspect's `Mounts`; resolved at create). */
  Mounts?: MountPoint[];
  /** berth's own bookkeeping (not part of Docker's inspect output). */
  berth: {
    runtime: string;
    conmonPid?: number;
    /** `stop`/`kill` by the user: no restart by policy, and unless-stopped stays down. */
    manuallyStopped: boolean;
    hasBeenStarted: boolean;
    /** The networks the container is configured for (create's NetworkingConfig, connect/disconnect), by name. */
    networks?: Record<string, EndpointConfig>;
    /** Its addresses while it runs, one per network, the first one primary (cleared when it ends). */
    endpoints?: EndpointState[];
  };
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';
const NO_NETWORKING = new NoNetworking();

export interface EngineContext { signal?: AbortSignal }

/** What an exec session needs of the running container it enters (ExecService). */
export interface ExecTarget {
  id: string;
  name: string;
  runtime: OciRuntime;
  /** The OCI bundle of the current run (its config.json is the container process's spec). */
  bundle: string;
  /** The mounted root filesystem (for user lookups). */
  rootfs: string;
  pid: number;
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** The container's event attributes (image, name, labels). */
  attrs: Record<string, string>;
}

export interface CreateOptions { name?: string; config: ContainerConfig; hostConfig: HostConfig; platform?: string; endpoints?: Record<string, EndpointConfig> }

export interface ContainerServiceOptions {
  root: string;          // <data-root>
  execRoot: string;      // <exec-root>
  cgroupParent: string;  // unique per daemon instance
  runtimes: Map<string, OciRuntime>;
  defaultRuntime: string;
  initPath: string;
  /** The network setup step (extension point for the networking issue). */
  networking?: ContainerNetworking;
  volumes: VolumeService;
  /** The IDs of the predefined `host` and `none` networks (their connect/disconnect events). */
  predefinedNetworkId?: (name: string) => string;
  /**
   * `--userns-remap`: the store is the remapped one (layers and rw layers owned by host IDs of
   * the map), and containers other than `--userns=host` run in a user namespace of that map.
   */
  idMap?: IdMap;
}

interface Waiter { condition: 'next-exit' | 'removed' | 'not-running'; resolve: (r: { StatusCode: number; Error?: { Message: string } | null }) => void }

/** What the attach route needs of a container (see ContainerService.attachTarget). */
export interface AttachTarget { id: string; tty: boolean; openStdin: boolean; stdinOnce: boolean }

/** A client's attach session (see ContainerService.attach). */
export interface AttachSession {
  tty: boolean;
  writeStdin: (d: Buffer) => void;
  /** The client's stdin ended: EOF on the container's stdin when it is StdinOnce and no TTY. */
  closeStdin: () => void;
  /** The client leaves; the container runs on. `keys`: by the detach keys (event `detach`). */
  detach: (o?: { keys?: boolean }) => void;
}

class Container {
  rec: ContainerRecord;
  attach?: AttachConnection;
  attachConnecting?: Promise<AttachConnection | undefined>;
  /**
   * Attach sessions that asked before start. They are bound to the attach connection the moment
   * it is made, before `runtime start`, so not one byte of output can be missed.
   */
  pendingAttach: { bind: (conn: AttachConnection) => void; fail: () => void }[] = [];
  waiters: Waiter[] = [];
  lock: Promise<unknown> = Promise.resolve();
  restartTimer?: NodeJS.Timeout;
  exitHandled = false;
  /** The runtime's record of the last run is already deleted (saves a spawn on removal). */
  runtimeDeleted = false;
  constructor(rec: ContainerRecord) { this.rec = rec; }
  get id(): string { return this.rec.ID; }
  get running(): boolean { return this.rec.State.Running; }
}

export class ContainerService {
  #o: ContainerServiceOptions;
  #snap: Snapshotter;
  #images: ImageService;
  #events: EventBus;
  #byId = new Map<string, Container>();
  #names = new Map<string, string>(); // "/name" → id
  /** Container IDs, sorted, for short-ID prefixes (kept in step with #byId). */
  #ids = new PrefixIndex();
  #watcher?: FSWatcher;
  #dir: string;
  #bundles: string;
  #closing = false;
  #specDefaults?: Promise<SpecDefaults>;
  #rotator = new LogRotator({ onError: (id, e) => process.stderr.write(`log rotation of ${id}: ${(e as Error).message}\n`) });

  constructor(o: ContainerServiceOptions, snap: Snapshotter, images: ImageService, events: EventBus) {
    this.#o = o;
    this.#snap = snap;
    this.#images = images;
    this.#events = events;
    this.#dir = join(o.root, 'containers');
    this.#bundles = join(o.execRoot, 'bundles');
    o.volumes.usedBy = (name) => [...this.#byId.values()].filter((c) => c.rec.Mounts?.some((m) => m.Type === 'volume' && m.Name === name)).map((c) => c.id);
    images.usedBy = (imageId) => [...this.#byId.values()].filter((c) => c.rec.Image === imageId).map((c) => ({ id: c.id, running: c.running }));
  }

  // ---------------------------------------------------------------- start-up and reconciliation

  async init(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    await mkdir(this.#bundles, { recursive: true });
    for (const rt of this.#o.runtimes.values()) {
      // Exit files arrive from conmon; inotify tells us at once.
      await mkdir(dirnameOf(rt.exitFile('x')), { recursive: true });
    }
    await this.#sweepDaemonMounts();
    for (const id of await readdir(this.#dir)) {
      const rec = await readJson<ContainerRecord>(join(this.#dir, id, 'config.json'));
      if (!rec) {
        // Created half-way when the daemon died: the record is the commit point, so this
        // container never existed for any client. Remove its debris.
        await this.#cleanupDebris(id);
        continue;
      }
      const c = new Container(rec);
      this.#byId.set(id, c);
      this.#ids.add(id);
      this.#names.set(rec.Name, id);
    }
    const exitDir = dirnameOf(this.#runtimeOf(this.#o.defaultRuntime).exitFile('x'));
    this.#watcher = watch(exitDir, (_ev, file) => { if (file) void this.#onExitFile(String(file)); });
    await this.reconcile();
  }

  /**
   * A daemon killed in the middle of a `cp` or `export` of a stopped container leaves that
   * operation's view mounted (`<container dir>/archive-*`, `export-*`: the container's layer, and
   * for cp its volumes), and one killed while starting a container may leave a volume subpath
   * bound at `<container dir>/subpaths/<n>`. Each such top is detached with one lazy unmount, which
   * takes everything mounted below it along: the paths below run through volumes a container may
   * be changing, so none of them is named. Then the empty mount points are removed (never
   * recursively: were anything still mounted, it would be the container's files), before anything
   * may remove a container dir. Only what mountinfo lists is touched.
   */
  async #sweepDaemonMounts(): Promise<void> {
    const tops = new Set<string>();
    for (const p of await mountsUnder(this.#dir)) {
      const m = /^[^/]+\/(?:archive-[^/]+|export-[^/]+|subpaths\/[^/]+)(?=\/|$)/.exec(p.slice(this.#dir.length + 1));
      if (m) tops.add(join(this.#dir, m[0]));
    }
    for (const t of tops) {
      await unmount(t, { lazy: true }).catch(() => {});
      await rmdir(t).catch(() => rm(t)).catch(() => { /* not empty or still busy: left alone */ });
    }
  }

  async #cleanupDebris(id: string): Promise<void> {
    await releaseNamespaceFile(join(this.#o.execRoot, 'userns', id));
    const merged = this.#snap.rootfsPath(id);
    if (await isMountPoint(merged)) await unmount(merged, { lazy: true });
    for (const rt of this.#o.runtimes.values()) await rt.delete(id, true).catch(() => {});
    await this.#snap.remove(id).catch(() => {});
    await rm(join(this.#dir, id), { recursive: true, force: true });
    await rm(join(this.#bundles, id), { recursive: true, force: true });
  }

  /** Brings records in line with what really runs (after a restart or kill -9 of berthd). */
  async reconcile(): Promise<void> {
    for (const c of this.#byId.values()) {
      const rt = this.#o.runtimes.get(c.rec.berth.runtime);
      const st = rt ? await rt.state(c.id) : undefined;
      if (st && (st.status === 'running' || st.status === 'paused')) {
        // A freeze of the daemon's own (cp, export, commit) that it did not live to undo: thawed,
        // so the container does not come back looking paused by its user.
        if (await exists(this.#frozenMarker(c))) {
          if (st.status === 'paused') {
            await rt!.resume(c.id);
            st.status = 'running';
          }
          await this.#unmarkFrozen(c);
        }
        c.rec.State = { ...c.rec.State, Status: st.status === 'paused' ? 'paused' : 'running', Running: true, Paused: st.status === 'paused', Restarting: false, Pid: st.pid };
        c.rec.berth.hasBeenStarted = true;
        await this.#save(c);
        this.#watchLog(c);
        // It may have exited between the state query and now.
        if (await exists(this.#runtimeOf(c.rec.berth.runtime).exitFile(c.id))) await this.#onExitFile(c.id);
        continue;
      }
      if (st && st.status === 'created') {
        // Created but never started (the daemon died between create and start): undo.
        await rt!.kill(c.id, 9).catch(() => {});
        await rt!.delete(c.id, true).catch(() => {});
      }
      if (c.rec.State.Running || c.rec.State.Status === 'restarting') {
        // It ended while we were away: take the exit code conmon recorded.
        await this.#handleExit(c, { fromReconcile: true });
      } else {
        const merged = this.#snap.rootfsPath(c.id);
        if (await isMountPoint(merged)) await unmount(merged).catch(() => {});
        await releaseNamespaceFile(this.#usernsFile(c)); // a start that died half-way
        if (c.rec.HostConfig.AutoRemove && c.rec.berth.hasBeenStarted) await this.#removeNow(c, { volumes: true });
        else if (this.#shouldRestartAtBoot(c)) this.#scheduleRestart(c, 0);
      }
    }
    // Mounts left by containers that no longer exist.
    for (const m of await mountsUnder(join(this.#snap.rootfsPath('x'), '..', '..'))) {
      const id = m.split('/').slice(-2, -1)[0];
      if (!this.#byId.get(id)?.running) await unmount(m, { lazy: true }).catch(() => {});
    }
  }

  #shouldRestartAtBoot(c: Container): boolean {
    const p = c.rec.HostConfig.RestartPolicy?.Name ?? 'no';
    if (!c.rec.berth.hasBeenStarted || c.rec.berth.manuallyStopped) return false;
    return p === 'always' || p === 'unless-stopped';
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#watcher?.close();
    this.#rotator.close();
    for (const c of this.#byId.values()) {
      if (c.restartTimer) clearTimeout(c.restartTimer);
      c.attach?.close();
    }
  }

  // ---------------------------------------------------------------- lookup

  #runtimeOf(name: string): OciRuntime {
    const rt = this.#o.runtimes.get(name);
    if (!rt) throw invalid(`Unknown runtime specified ${name}`);
    return rt;
  }

  /** Docker's order: full ID, then name, then a unique ID prefix (ambiguous → 400). */
  #find(ref: string): Container | undefined {
    const id = resolveIdentifier(ref, this.#ids, (n) => this.#names.get(n.startsWith('/') ? n : `/${n}`));
    return id === undefined ? undefined : this.#byId.get(id);
  }

  #get(ref: string): Container {
    const c = this.#find(ref);
    if (!c) throw notFound(`No such container: ${ref}`);
    return c;
  }

  /** Serialises lifecycle operations on one container. */
  #locked<T>(c: Container, fn: () => Promise<T>): Promise<T> {
    const p = c.lock.then(fn, fn);
    c.lock = p.catch(() => {});
    return p;
  }

  async #save(c: Container): Promise<void> {
    await writeJsonAtomic(join(this.#dir, c.id, 'config.json'), c.rec);
  }

  list(): ContainerRecord[] { return [...this.#byId.values()].map((c) => c.rec); }

  // ---------------------------------------------------------------- health (HealthMonitor)

  healthTarget(id: string): HealthTarget | undefined {
    const c = this.#byId.get(id);
    if (!c) return undefined;
    const r = c.rec;
    return {
      id: c.id, running: r.State.Running, paused: r.State.Paused, startedAt: r.State.StartedAt,
      healthcheck: r.Config.Healthcheck, shell: r.Config.Shell, health: r.State.Health,
    };
  }

  /** A probe's result: in the record at once (inspect, ps), on disk in turn with lifecycle saves. */
  async setHealth(id: string, h: HealthState): Promise<void> {
    const c = this.#byId.get(id);
    if (!c) return;
    c.rec.State = { ...c.rec.State, Health: h };
    await this.#locked(c, () => (this.#byId.has(id) ? this.#save(c) : Promise.resolve()));
  }

  eventAttrs(id: string): Record<string, string> {
    const c = this.#byId.get(id);
    return c ? this.#attrs(c) : {};
  }
  inspect(ref: string): ContainerRecord { return this.#get(ref).rec; }

  /**
   * The values a container gets at start for the HostConfig fields it left unset (ShmSize,
   * IpcMode, CgroupnsMode, MaskedPaths, ReadonlyPaths): facts of this host that do not change
   * while the daemon runs, read once. dockerd writes them into the record at create; berth keeps
   * the request as given, so inspect fills them in from here.
   */
  hostConfigDefaults(): Promise<SpecDefaults> {
    this.#specDefaults ??= specDefaults().catch((e: unknown) => { this.#specDefaults = undefined; throw e; });
    return this.#specDefaults;
  }
  exists(ref: string): boolean { return this.#find(ref) !== undefined; }

  /**
   * `changes` (docker diff): the rw layer against the image (store/snapshots diffChanges). The
   * mount targets berth binds in (/etc/hosts, /etc/hostname, /etc/resolv.conf, /dev/shm) are not
   * changes, as Docker keeps them in an init layer; nor is a directory made only to hold one.
   */
  async changes(ref: string): Promise<Change[] | null> {
    const c = this.#get(ref);
    const all = await diffChanges(this.#snap.upperPath(c.id), await this.#snap.lowerPaths(c.id));
    const init = new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/dev/shm', '/dev/pts', '/dev/console', '/proc', '/sys', '/dev']);
    const dropped = all.filter((x) => x.Kind === 1 && init.has(x.Path)).map((x) => x.Path);
    const kept = all.filter((x) => !(x.Kind === 1 && init.has(x.Path)));
    const out = kept.filter((x) => !(x.Kind === 0 && dropped.some((p) => p.startsWith(`${x.Path}/`)) && !kept.some((y) => y !== x && y.Path.startsWith(`${x.Path}/`))));
    return out.length ? out : null;
  }

  /**
   * `export`: the container's filesystem as one plain tar. A running container's merged view is
   * read where it is, with the container frozen (unless its user paused it) and under its
   * lifecycle lock until the stream is released, and walked by descriptor (diff-layer.ts): a
   * container racing the walk cannot swap a directory for a symlink and have the daemon follow it.
   * Otherwise the rw layer is mounted read-only as the top lower layer of a throwaway overlay
   * (safe beside a concurrent start: nothing writes through it).
   */
  async exportTar(ref: string): Promise<{ stream: Readable; release: () => Promise<void> }> {
    const c = this.#get(ref);
    const merged = this.#snap.rootfsPath(c.id);
    if (c.running && (await isMountPoint(merged))) {
      const unlock = await this.#enter(c);
      let frozen = false;
      try {
        if (!c.rec.State.Paused) { await this.#freeze(c); frozen = true; }
        const stream = createTreeTar(merged, { idMap: this.#o.idMap });
        let released = false;
        return {
          stream,
          release: async () => {
            if (released) return;
            released = true;
            try { if (frozen) await this.#thaw(c); } finally { unlock(); }
          },
        };
      } catch (e) {
        try { if (frozen) await this.#thaw(c); } finally { unlock(); }
        throw e;
      }
    }
    const m = await this.#snap.mounts(c.id);
    const dir = join(this.#dir, c.id, `export-${generateId().slice(0, 8)}`);
    await mkdir(dir, { recursive: true });
    try {
      await mountOverlay(dir, { cwd: m.cwd, lower: [relative(m.cwd, m.upper!), ...m.lower] });
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return {
      stream: createTreeTar(dir, { idMap: this.#o.idMap }),
      release: async () => { await unmount(dir).catch(() => unmount(dir, { lazy: true })); await rmdir(dir).catch(() => {}); },
    };
  }

  /** Enters the container's lifecycle lock and holds it until the returned function is called. */
  #enter(c: Container): Promise<() => void> {
    return new Promise((entered) => {
      void this.#locked(c, () => new Promise<void>((done) => entered(done)));
    });
  }

  /**
   * `cp` (container-archive.ts): runs `fn` with what an archive operation needs, under the
   * container's lifecycle lock (no start, stop or pause meanwhile).
   */
  archiveAccess<T>(ref: string, fn: (a: ArchiveAccess) => Promise<T>): Promise<T> {
    const c = this.#get(ref);
    return this.#locked(c, () => {
      return fn({
        rec: c.rec, running: c.running, scratchDir: join(this.#dir, c.id),
        snapMounts: () => this.#snap.mounts(c.id), freeze: () => this.#freeze(c), thaw: () => this.#thaw(c),
        volumePath: (name) => this.#o.volumes.mountpoint(name),
        idMap: this.#o.idMap,
      });
    });
  }

  /** `top`: the host's ps over the container's cgroup (409 unless it runs). */
  async top(ref: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    const c = this.#get(ref);
    if (!c.running || !c.rec.State.Pid) throw conflict(`container ${c.id} is not running`);
    return top(c.rec.State.Pid, psArgs);
  }
  runtimeNames(): string[] { return [...this.#o.runtimes.keys()]; }

  /**
   * A running container for `exec`, with Docker's refusals (moby daemon.getActiveContainer):
   * 409 when it is not running, paused or restarting.
   */
  execTarget(ref: string): ExecTarget {
    const c = this.#get(ref);
    if (c.rec.State.Status === 'restarting' || c.rec.State.Restarting) throw conflict(`Container ${c.id} is restarting, wait until the container is running`);
    if (!c.running) throw conflict(`container ${c.id} is not running`);
    if (c.rec.State.Paused) throw conflict(`Container ${c.id} is paused, unpause the container before exec`);
    return {
      id: c.id, name: c.rec.Name.slice(1), runtime: this.#runtimeOf(c.rec.berth.runtime), bundle: join(this.#bundles, c.id),
      rootfs: this.#snap.rootfsPath(c.id), pid: c.rec.State.Pid, config: c.rec.Config, hostConfig: c.rec.HostConfig, attrs: this.#attrs(c),
    };
  }

  async sizeRw(id: string): Promise<number> { return this.#snap.usage(id); }
  async graphDriver(id: string): Promise<Record<string, string>> { return this.#snap.graphDriverData(id); }

  // ---------------------------------------------------------------- create

  async create(_ctx: EngineContext, o: CreateOptions): Promise<{ Id: string; Warnings: string[] }> {
    const warnings: string[] = [];
    let name = o.name;
    if (name) {
      validateName(name);
      name = name.startsWith('/') ? name : `/${name}`;
      const holder = this.#names.get(name);
      if (holder) throw conflict(`Conflict. The container name "${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`);
    } else {
      do name = `/${generateName()}`; while (this.#names.has(name));
    }
    if (!o.config.Image) throw invalid('No image specified');
    const want = o.platform ? parsePlatform(o.platform) : undefined;
    const image = this.#images.tryResolve(o.config.Image);
    if (!image) throw notFound(`No such image: ${familiarOrRaw(o.config.Image)}`);
    const imgFile = await this.#images.config(image.id);
    // Docker's GetImage with a platform: a local image of another platform is NotFound (404), so
    // the docker CLI goes on to pull the one asked for (with a 400 it gave up).
    if (want && (want.os !== (imgFile.os || 'linux') || want.architecture !== (imgFile.architecture || 'amd64'))) {
      throw notFound(`image with reference ${o.config.Image} was found but does not match the specified platform: wanted ${want.os}/${want.architecture}${want.variant ? `/${want.variant}` : ''}, actual: ${imgFile.os || 'linux'}/${imgFile.architecture || 'amd64'}`);
    }
    const imgCfg = imgFile.config ?? {};
    const hc: HostConfig = { ...o.hostConfig };
    const runtime = hc.Runtime || this.#o.defaultRuntime;
    this.#runtimeOf(runtime);
    hc.Runtime = runtime;
    const config = mergeConfig(imgCfg, o.config);
    // Every static check of HostConfig, once (container/host-config.ts); what needs live state follows.
    const facts = hostConfigFacts(await hostFacts(), { userNetworks: !!this.#o.networking?.prepare, usernsRemap: !!this.#o.idMap });
    const valid = validateHostConfig({ config, hostConfig: hc, endpoints: Object.keys(o.endpoints ?? {}) }, facts);
    Object.assign(hc, valid.hostConfig);
    const logSettings = valid.log;
    const networks = this.#o.networking?.prepare ? this.#o.networking.prepare(hc, o.endpoints ?? {}) : undefined;
    // Legacy links are the default bridge's (Docker's registerLinks skips a user-defined network
    // mode, whose links are EndpointSettings.Links aliases). A missing target is a bad parameter,
    // not a 404, or the docker CLI would go and pull the image (moby#39823).
    if (!isUserDefinedMode(hc.NetworkMode)) {
      for (const l of hc.Links ?? []) {
        const [target] = parseLink(l);
        if (!this.exists(target)) throw invalid(`could not get container for ${target}: No such container: ${target}`);
      }
    }
    const id = generateId();
    // Docker's newContainer: a container on the host's network is named like the host.
    config.Hostname ||= (hc.NetworkMode === 'host' ? hostHostname() : id.slice(0, 12));
    const args = composeArgs(config);
    const dir = join(this.#dir, id);
    // The name is held before any await that could interleave with another create.
    this.#names.set(name, id);
    let mounts: MountPoint[] = [];
    try {
      mounts = await this.#o.volumes.resolveMounts(config, valid.mounts, (ref) => this.#get(ref).rec.Mounts ?? []);
      await mkdir(dir, { recursive: true });
      await this.#snap.prepare(id, this.#images.topChain(image));
      const netMode = hc.NetworkMode || 'default';
      await writeFile(join(dir, 'hostname'), `${netMode === 'host' ? hostHostname() : config.Hostname}\n`);
      await writeFile(join(dir, 'hosts'), netMode === 'host' ? await readFile('/etc/hosts', 'utf8').catch(() => '') : hostsFile(this.#extraHostsOf(hc)));
      await writeFile(join(dir, 'resolv.conf'), await resolvConf(hc));
      // Bound into the container: its root may write them (Docker chowns them to the remapped root).
      if (this.#userns(hc)) for (const f of ['hostname', 'hosts', 'resolv.conf']) await chown(join(dir, f), this.#o.idMap!.root.uid, this.#o.idMap!.root.gid);
      const rec: ContainerRecord = {
        ID: id,
        Created: new Date().toISOString(),
        Path: args[0],
        Args: args.slice(1),
        State: { Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME },
        Image: image.id,
        Name: name,
        RestartCount: 0,
        Driver: 'overlay2',
        Platform: 'linux',
        Config: config,
        HostConfig: hc,
        LogPath: logSettings.driver === 'none' ? '' : join(dir, `${id}-json.log`),
        HostnamePath: join(dir, 'hostname'),
        HostsPath: join(dir, 'hosts'),
        ResolvConfPath: join(dir, 'resolv.conf'),
        Mounts: mounts,
        berth: { runtime, manuallyStopped: false, hasBeenStarted: false, ...(networks ? { networks } : {}) },
      };
      const c = new Container(rec);
      // The commit point: once config.json is on disk the container exists.
      await this.#save(c);
      await fsyncDir(this.#dir);
      this.#byId.set(id, c);
      this.#ids.add(id);
    } catch (e) {
      this.#names.delete(name);
      await this.#cleanupDebris(id);
      await this.#o.volumes.removeAnonymous(mounts, id).catch(() => {});
      throw e;
    }
    this.#events.emit('container', 'create', id, { image: o.config.Image, name: name.slice(1), ...(config.Labels ?? {}) });
    return { Id: id, Warnings: warnings };
  }

  // ---------------------------------------------------------------- start

  start(_ctx: EngineContext, ref: string): Promise<void> {
    const c = this.#get(ref);
    return this.#locked(c, async () => {
      if (c.rec.State.Status === 'removing') throw conflict(`container is marked for removal and cannot be started`);
      if (c.rec.State.Paused) throw conflict(`cannot start a paused container, try unpause instead`);
      if (c.running) throw notModified();
      if (c.restartTimer) { clearTimeout(c.restartTimer); c.restartTimer = undefined; }
      c.rec.berth.manuallyStopped = false;
      await this.#startNow(c);
    });
  }

  async #startNow(c: Container): Promise<void> {
    const T = trace('start');
    const rec = c.rec;
    const rt = this.#runtimeOf(rec.berth.runtime);
    const merged = this.#snap.rootfsPath(c.id);
    const bundle = join(this.#bundles, c.id);
    const persist = join(this.#dir, c.id, 'conmon');
    let mounted = false;
    let created = false;
    let netUp = false;
    let volumesUp = false;
    // Volume subpaths bound for runc (volume/local.ts setUp): detached once runc has its mounts.
    let releaseStaged: (() => Promise<void>) | undefined;
    try {
      // The rootfs and /dev/shm mounts are independent: make them together.
      const [, shm] = await Promise.all([
        (async () => { if (!(await isMountPoint(merged))) await mountOverlay(merged, await this.#snap.mounts(c.id)); })(),
        this.#shmMount(c),
      ]);
      mounted = true;
      T('mount');
      await mkdir(bundle, { recursive: true });
      const namespaces = this.#namespaces(rec.HostConfig);
      // A remapped container's user namespace comes first, its network namespace inside it.
      let makeNetns: ((path: string) => Promise<void>) | undefined;
      if (this.#userns(rec.HostConfig)) {
        namespaces.user = this.#joinedUserns(rec.HostConfig) ?? (await this.#makeUserns(c));
        const userFile = namespaces.user;
        makeNetns = (path) => makeNetNamespaceIn(userFile, path);
      }
      const net = await this.#net.setUp({ ...this.#netTarget(c), makeNetns });
      netUp = true;
      if (net.netnsPath) namespaces.network = net.netnsPath;
      rec.berth.endpoints = net.endpoints;
      this.#networkEvents(c, 'connect', net.endpoints);
      const links = this.#links(c);
      // Docker's /etc/hosts names the container by its addresses on its first network.
      const first = net.endpoints?.[0];
      const self = first ? [`${first.ip}\t${rec.Config.Hostname}`, ...(first.ip6 ? [`${first.ip6}\t${rec.Config.Hostname}`] : [])].join('\n') : undefined;
      if (self || links.hosts.length) await writeFile(rec.HostsPath, hostsFile(this.#extraHostsOf(rec.HostConfig), self, links.hosts));
      // The embedded DNS serves containers on user networks: resolv.conf names it.
      if ((rec.HostConfig.NetworkMode || 'default') !== 'host') await writeFile(rec.ResolvConfPath, await resolvConf(rec.HostConfig, net.nameservers));
      const volumes = await this.#o.volumes.setUp(rec.Mounts ?? [], merged, join(this.#dir, c.id, 'subpaths'));
      releaseStaged = volumes.release;
      volumesUp = true;
      for (const m of rec.Mounts ?? []) {
        if (m.Type !== 'volume' || !m.Name) continue;
        this.#events.emit('volume', 'mount', m.Name, { container: c.id, destination: m.Destination, driver: m.Driver ?? 'local', propagation: m.Propagation, 'read/write': String(m.RW) });
      }
      const spec = await buildSpec({
        id: c.id,
        rootfs: merged,
        config: links.env.length ? { ...rec.Config, Env: [...links.env, ...(rec.Config.Env ?? [])] } : rec.Config,
        hostConfig: rec.HostConfig,
        args: [rec.Path, ...rec.Args],
        cgroupsPath: `/${this.#o.cgroupParent}/${c.id}`,
        namespaces,
        extraMounts: [
          { destination: '/etc/resolv.conf', type: 'bind', source: rec.ResolvConfPath, options: ['rbind', 'rprivate'] },
          { destination: '/etc/hostname', type: 'bind', source: rec.HostnamePath, options: ['rbind', 'rprivate'] },
          { destination: '/etc/hosts', type: 'bind', source: rec.HostsPath, options: ['rbind', 'rprivate'] },
          ...(shm ? [{ destination: '/dev/shm', type: 'bind', source: shm, options: ['rbind', 'rprivate'] }] : []),
          ...volumes.mounts,
        ],
        initPath: rec.HostConfig.Init ? this.#o.initPath : undefined,
        idMap: namespaces.user ? this.#o.idMap : undefined,
      });
      await writeFile(join(bundle, 'config.json'), specToJson(spec));
      T('spec');
      await rm(rt.exitFile(c.id), { force: true });
      await rm(join(persist, 'exit'), { force: true });
      await rm(join(persist, 'oom'), { force: true });
      c.exitHandled = false;
      c.runtimeDeleted = false;
      const { pid, conmonPid } = await rt.create({
        id: c.id,
        bundle,
        persistDir: persist,
        logPath: rec.LogPath ? `k8s-file:${rec.LogPath}` : undefined,
        terminal: !!rec.Config.Tty,
        stdin: !!rec.Config.OpenStdin,
        leaveStdinOpen: !(rec.Config.StdinOnce && !rec.Config.Tty),
        name: rec.Name.slice(1),
      });
      created = true;
      T('create');
      await releaseStaged();
      // Attach before start, or the first output is lost (conmon buffers nothing for sockets).
      if (c.pendingAttach.length > 0) {
        const conn = await this.#connectAttach(c);
        const pending = c.pendingAttach.splice(0);
        for (const p of pending) if (conn) p.bind(conn); else p.fail();
      }
      await rt.start(c.id);
      T('runc start');
      rec.State = { ...rec.State, Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: pid, ExitCode: 0, Error: '', StartedAt: new Date().toISOString() };
      rec.berth.conmonPid = conmonPid;
      rec.berth.hasBeenStarted = true;
      await this.#save(c);
      T('save');
      this.#events.emit('container', 'start', c.id, this.#attrs(c));
      this.#watchLog(c);
      // A process that ended before we saved `running` has its exit file already.
      if (await exists(rt.exitFile(c.id))) void this.#onExitFile(c.id);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (created) {
        await rt.kill(c.id, 9).catch(() => {});
        await rt.delete(c.id, true).catch(() => {});
      }
      c.attach?.close();
      c.attach = undefined;
      for (const p of c.pendingAttach.splice(0)) p.fail();
      await releaseStaged?.();
      if (netUp) {
        await this.#net.tearDown(this.#netTarget(c)).catch(() => {});
        this.#networkEvents(c, 'disconnect', rec.berth.endpoints);
        rec.berth.endpoints = undefined;
      }
      if (volumesUp) this.#volumeUnmountEvents(c);
      await releaseNamespaceFile(this.#usernsFile(c));
      if (mounted) await unmount(merged).catch(() => {});
      await unmount(join(this.#dir, c.id, 'shm'), { lazy: true }).catch(() => {});
      await rm(bundle, { recursive: true, force: true });
      // Docker keeps the record with the error and an exit code saying why (127: not found,
      // 126: cannot invoke), and the CLI maps the same texts to its own exit status.
      rec.State = { ...rec.State, Status: rec.berth.hasBeenStarted ? 'exited' : 'created', Running: false, Pid: 0, Error: msg, ExitCode: exitCodeForStartError(msg) };
      await this.#save(c).catch(() => {});
      this.#events.emit('container', 'die', c.id, { ...this.#attrs(c), exitCode: String(rec.State.ExitCode) });
      this.#resolveWaiters(c, 'next-exit', rec.State.ExitCode, msg);
      if (rec.HostConfig.AutoRemove) void this.#removeNow(c, { volumes: true }).catch(() => {});
      if (isEngineError(e) && e.code === 'RuntimeCreate') throw new EngineError(/executable file not found|no such file or directory|permission denied/i.test(msg) ? 'InvalidParameter' : 'System', `failed to create task for container: failed to create shim task: ${msg}: unknown`);
      throw e;
    }
  }

  #namespaces(hc: HostConfig): { network?: string; pid?: string; ipc?: string; uts?: string; user?: string } {
    const ns = (mode: string | undefined, kind: string): string | undefined => {
      if (!mode || mode === 'private' || mode === 'shareable' || mode === 'default' || mode === 'bridge' || mode === 'none') return undefined;
      if (mode === 'host') return 'host';
      const m = /^container:(.+)$/.exec(mode);
      if (m) {
        const other = this.#get(m[1]);
        if (!other.running) throw conflict(`cannot join namespace of a non running container ${other.id}`);
        return `/proc/${other.rec.State.Pid}/ns/${kind}`;
      }
      if (kind === 'net') return undefined; // a user network: the networking step makes the namespace
      throw invalid(`invalid ${kind} mode: ${mode}`);
    };
    return { network: ns(hc.NetworkMode, 'net'), pid: ns(hc.PidMode, 'pid'), ipc: ns(hc.IpcMode, 'ipc'), uts: ns(hc.UTSMode, 'uts') };
  }

  /** /dev/shm as Docker makes it: a host tmpfs (<dir>/shm, ShmSize) bound in, shareable by IpcMode container:<id>. */
  async #shmMount(c: Container): Promise<string | undefined> {
    const mode = c.rec.HostConfig.IpcMode ?? '';
    if (mode === 'host' || mode === 'none') return undefined;
    const m = /^container:(.+)$/.exec(mode);
    if (m) {
      const p = join(this.#dir, this.#get(m[1]).id, 'shm');
      return (await isMountPoint(p)) ? p : undefined;
    }
    const p = join(this.#dir, c.id, 'shm');
    await mkdir(p, { recursive: true });
    // A remapped container's root owns its /dev/shm, as dockerd mounts it.
    const owner = this.#userns(c.rec.HostConfig) ? `,uid=${this.#o.idMap!.root.uid},gid=${this.#o.idMap!.root.gid}` : '';
    if (!(await isMountPoint(p))) await mountTmpfs(p, `nosuid,nodev,noexec,mode=1777,size=${c.rec.HostConfig.ShmSize || 64 << 20}${owner}`);
    return p;
  }

  get #net(): ContainerNetworking { return this.#o.networking ?? NO_NETWORKING; }

  /** Does this container run in the remapped user namespace (remap on, not `--userns=host`)? */
  #userns(hc: HostConfig): boolean { return !!this.#o.idMap && hc.UsernsMode !== 'host'; }

  /** Where a remapped container's user namespace is bound while it runs. */
  #usernsFile(c: Container): string { return join(this.#o.execRoot, 'userns', c.id); }

  async #makeUserns(c: Container): Promise<string> {
    const file = this.#usernsFile(c);
    await releaseNamespaceFile(file); // debris of a crash
    await makeUserNamespace(this.#o.idMap!, file);
    return file;
  }

  /**
   * Joining another container's network, PID or IPC namespace means joining its user namespace
   * too when it is remapped (as dockerd does): namespaces owned by one user namespace cannot be
   * entered from another.
   */
  #joinedUserns(hc: HostConfig): string | undefined {
    for (const mode of [hc.NetworkMode, hc.PidMode, hc.IpcMode]) {
      const m = /^container:(.+)$/.exec(mode ?? '');
      if (!m) continue;
      const other = this.#get(m[1]);
      if (this.#userns(other.rec.HostConfig) && other.rec.State.Pid) return `/proc/${other.rec.State.Pid}/ns/user`;
    }
    return undefined;
  }

  #netTarget(c: Container) {
    // A record of before per-network bookkeeping is on its mode's network.
    return { id: c.id, name: c.rec.Name.slice(1), config: c.rec.Config, hostConfig: c.rec.HostConfig, networks: c.rec.berth.networks ?? {}, onlyListed: !!c.rec.berth.networks };
  }

  /** The record's log settings; a record from before validation existed falls back to "never rotate". */
  #logSettings(c: Container): LogSettings {
    try { return parseLogConfig(c.rec.HostConfig.LogConfig); } catch { return { driver: 'json-file', maxFile: 1 }; }
  }

  /** Rotation at max-size (log-rotation.ts): conmon writes the file, berthd rotates it. */
  #watchLog(c: Container): void {
    const ls = this.#logSettings(c);
    if (!c.rec.LogPath || ls.maxSize === undefined) return;
    this.#rotator.watch(c.id, c.rec.LogPath, this.#runtimeOf(c.rec.berth.runtime).ctlFile(c.id), { maxSize: ls.maxSize, maxFile: ls.maxFile });
  }

  /**
   * dockerd's network events as a container starts and ends: `connect` (`disconnect`) for every
   * network it joins (leaves), the default bridge and the predefined host and none included,
   * with the network's ID and Docker's attributes (container, name, type).
   */
  #networkEvents(c: Container, action: 'connect' | 'disconnect', endpoints: EndpointState[] | undefined): void {
    const mode = c.rec.HostConfig.NetworkMode || 'default';
    if (mode.startsWith('container:')) return; // another container's namespace: not its own endpoint
    const predefined = (name: string, type: string) => ({ id: this.#o.predefinedNetworkId?.(name) ?? name, name, type });
    // No endpoints at all: host or none (or a daemon without a bridge); an empty list: every
    // network was disconnected while it ran, so there is nothing left to leave.
    const nets = endpoints
      ? endpoints.map((e) => ({ id: e.networkId, name: e.network, type: 'bridge' }))
      : [mode === 'host' ? predefined('host', 'host') : predefined('none', 'null')];
    for (const n of nets) this.#events.emit('network', action, n.id, { container: c.id, name: n.name, type: n.type });
  }

  /** dockerd's `volume unmount` events for a container's volumes as it ends. */
  #volumeUnmountEvents(c: Container): void {
    for (const m of c.rec.Mounts ?? []) {
      if (m.Type === 'volume' && m.Name) this.#events.emit('volume', 'unmount', m.Name, { container: c.id, driver: m.Driver ?? 'local' });
    }
  }

  #attrs(c: Container): Record<string, string> {
    return { image: c.rec.Config.Image ?? '', name: c.rec.Name.slice(1), ...(c.rec.Config.Labels ?? {}) };
  }

  // ---------------------------------------------------------------- exit handling

  async #onExitFile(id: string): Promise<void> {
    const c = this.#byId.get(id);
    if (!c || c.exitHandled || !c.running) return;
    await this.#locked(c, async () => {
      if (c.exitHandled || !c.running) return;
      // inotify events can arrive late: one from a previous run (restart) must not end this one.
      // The exit file is removed before each create, so a present file is this run's.
      const rt = this.#runtimeOf(c.rec.berth.runtime);
      if (!(await exists(rt.exitFile(c.id)))) return;
      await this.#handleExit(c, {});
    });
  }

  async #readExitCode(c: Container): Promise<number | undefined> {
    const rt = this.#runtimeOf(c.rec.berth.runtime);
    for (let i = 0; i < 50; i++) {
      try {
        const t = (await readFile(rt.exitFile(c.id), 'utf8')).trim();
        if (t !== '') return Number(t);
      } catch { /* not yet */ }
      // conmon may still be writing it.
      await new Promise((r) => setTimeout(r, 10));
    }
    return undefined;
  }

  async #handleExit(c: Container, o: { fromReconcile?: boolean }): Promise<void> {
    const T = trace('exit');
    c.exitHandled = true;
    const rec = c.rec;
    const rt = this.#runtimeOf(rec.berth.runtime);
    const code = await this.#readExitCode(c);
    const oom = await exists(join(this.#dir, c.id, 'conmon', 'oom'));
    await this.#rotator.unwatch(c.id);
    T('read exit');
    const merged = this.#snap.rootfsPath(c.id);
    // Independent: the runtime's record and cgroup, and our rootfs mount (its users are gone).
    await Promise.all([
      this.#net.tearDown(this.#netTarget(c)).catch(() => {}),
      rt.delete(c.id, true).catch(() => {}),
      releaseNamespaceFile(this.#usernsFile(c)),
      unmount(merged).catch(() => unmount(merged, { lazy: true }).catch(() => {})),
      rm(join(this.#bundles, c.id), { recursive: true, force: true }),
      unmount(join(this.#dir, c.id, 'shm'), { lazy: true }).catch(() => {}),
    ]);
    c.runtimeDeleted = true;
    // As dockerd's cleanup at exit: the network disconnects and volume unmounts, then `die`.
    this.#networkEvents(c, 'disconnect', rec.berth.endpoints);
    this.#volumeUnmountEvents(c);
    rec.berth.endpoints = undefined;
    T('delete+umount');
    const finished = new Date().toISOString();
    rec.State = {
      ...rec.State, Status: 'exited', Running: false, Paused: false, Restarting: false, Pid: 0,
      ExitCode: code ?? (o.fromReconcile ? 255 : 137), OOMKilled: oom, FinishedAt: finished,
      Error: code === undefined && o.fromReconcile ? 'container exited while the daemon was down and its exit code was lost' : '',
    };
    await this.#save(c);
    c.attach?.close();
    c.attach = undefined;
    if (oom) this.#events.emit('container', 'oom', c.id, this.#attrs(c));
    this.#events.emit('container', 'die', c.id, { ...this.#attrs(c), exitCode: String(rec.State.ExitCode) });
    this.#resolveWaiters(c, 'next-exit', rec.State.ExitCode);
    const delay = this.#restartDelay(c);
    if (delay !== undefined && !this.#closing) {
      this.#scheduleRestart(c, delay);
      return;
    }
    T('saved');
    if (rec.HostConfig.AutoRemove) await this.#removeNow(c, { volumes: true }).catch(() => {});
    T('removed');
  }

  /** Docker's restart policy decision; undefined = don't restart. Backoff doubles from 100 ms. */
  #restartDelay(c: Container): number | undefined {
    const p = c.rec.HostConfig.RestartPolicy ?? {};
    if (c.rec.berth.manuallyStopped || c.rec.HostConfig.AutoRemove) return undefined;
    const name = p.Name || 'no';
    if (name === 'no') return undefined;
    if (name === 'on-failure') {
      if (c.rec.State.ExitCode === 0) return undefined;
      if (p.MaximumRetryCount && c.rec.RestartCount >= p.MaximumRetryCount) return undefined;
    }
    const ranMs = Date.parse(c.rec.State.FinishedAt) - Date.parse(c.rec.State.StartedAt);
    if (ranMs >= 10_000) return 100;
    return Math.min(100 * 2 ** Math.min(c.rec.RestartCount, 10), 60_000);
  }

  #scheduleRestart(c: Container, delay: number): void {
    c.rec.State = { ...c.rec.State, Status: 'restarting', Restarting: true };
    void this.#save(c).catch(() => {});
    c.restartTimer = setTimeout(() => {
      c.restartTimer = undefined;
      void this.#locked(c, async () => {
        if (c.running || c.rec.berth.manuallyStopped || !this.#byId.has(c.id)) return;
        c.rec.RestartCount++;
        try {
          await this.#startNow(c);
          this.#events.emit('container', 'restart', c.id, this.#attrs(c));
        } catch {
          const d = this.#restartDelay(c);
          if (d !== undefined && !this.#closing) this.#scheduleRestart(c, d);
        }
      });
    }, delay);
  }

  #resolveWaiters(c: Container, cond: 'next-exit' | 'removed', code: number, error?: string): void {
    const keep: Waiter[] = [];
    for (const w of c.waiters) {
      const fire = cond === 'removed' ? true : w.condition !== 'removed';
      if (fire) w.resolve({ StatusCode: code, Error: error ? { Message: error } : null });
      else keep.push(w);
    }
    c.waiters = keep;
  }

  // ---------------------------------------------------------------- stop, kill, restart, wait

  stop(_ctx: EngineContext, ref: string, o: { signal?: string; timeout?: number } = {}): Promise<void> {
    const c = this.#get(ref);
    return this.#locked(c, () => this.#stopNow(c, o));
  }

  async #stopNow(c: Container, o: { signal?: string; timeout?: number }): Promise<void> {
    if (c.restartTimer) {
      clearTimeout(c.restartTimer);
      c.restartTimer = undefined;
      c.rec.berth.manuallyStopped = true;
      c.rec.State = { ...c.rec.State, Status: 'exited', Restarting: false };
      await this.#save(c);
      return;
    }
    if (!c.running) throw notModified();
    c.rec.berth.manuallyStopped = true;
    await this.#save(c);
    const rt = this.#runtimeOf(c.rec.berth.runtime);
    const sig = parseSignal(o.signal || c.rec.Config.StopSignal || 'SIGTERM');
    const timeout = o.timeout ?? c.rec.Config.StopTimeout ?? 10;
    const exited = this.#waitExit(c);
    if (c.rec.State.Paused) await rt.resume(c.id).catch(() => {});
    this.#events.emit('container', 'kill', c.id, { ...this.#attrs(c), signal: String(sig) });
    await rt.kill(c.id, sig).catch(() => {});
    const gone = timeout < 0 ? await exited.then(() => true) : await Promise.race([exited.then(() => true), sleep(timeout * 1000).then(() => false)]);
    if (!gone) {
      this.#events.emit('container', 'kill', c.id, { ...this.#attrs(c), signal: '9' });
      await rt.kill(c.id, 9, true).catch(() => {});
      await exited;
    }
    this.#events.emit('container', 'stop', c.id, this.#attrs(c));
  }

  /** Resolves once the exit has been handled (the record says exited). */
  #waitExit(c: Container): Promise<void> {
    return new Promise((resolve) => {
      c.waiters.push({ condition: 'next-exit', resolve: () => resolve() });
      // The exit may be handled by the watcher only after we release the lock: do it here.
      const poll = async () => {
        const rt = this.#runtimeOf(c.rec.berth.runtime);
        while (c.running && !c.exitHandled) {
          if (await exists(rt.exitFile(c.id))) { await this.#handleExit(c, {}); return; }
          await sleep(20);
        }
      };
      void poll();
    });
  }

  /**
   * `POST /containers/{id}/kill`, as moby's. With SIGKILL (the default) it returns once the
   * container is no longer running: up to 10 s for the exit, then a SIGKILL to every process of
   * the container and 2 s more; so an inspect right after shows it exited (137). Other signals
   * are sent and the call returns at once. Any signal when the container has no StopSignal, or
   * its StopSignal, or SIGKILL, means the container is not to be restarted when it exits
   * (moby's ExitOnNext), and a paused container is resumed so that the signal lands. A
   * container waiting to be restarted is then stopped; another signal leaves it be.
   */
  kill(_ctx: EngineContext, ref: string, signal?: string): Promise<void> {
    const c = this.#get(ref);
    const sig = parseSignal(signal || 'SIGKILL');
    return this.#locked(c, async () => {
      const stopSignal = c.rec.Config.StopSignal ? parseSignal(c.rec.Config.StopSignal) : undefined;
      const exitOnNext = sig === 9 || stopSignal === undefined || stopSignal === sig;
      if (c.restartTimer) {
        if (exitOnNext) await this.#stopNow(c, {});
        return;
      }
      if (!c.running) throw conflict(`cannot kill container: ${ref}: container ${c.id} is not running`);
      if (exitOnNext) {
        c.rec.berth.manuallyStopped = true;
        await this.#save(c);
      }
      const rt = this.#runtimeOf(c.rec.berth.runtime);
      const resume = exitOnNext && c.rec.State.Paused;
      // A frozen process gets SIGKILL only when thawed: thaw first for it, after for others.
      if (resume && sig === 9) await rt.resume(c.id).catch(() => {});
      await rt.kill(c.id, sig);
      this.#events.emit('container', 'kill', c.id, { ...this.#attrs(c), signal: String(sig) });
      if (resume && sig !== 9) {
        await rt.resume(c.id).catch(() => {});
        c.rec.State = { ...c.rec.State, Status: 'running', Paused: false };
        await this.#save(c);
        this.#events.emit('container', 'unpause', c.id, this.#attrs(c));
      }
      if (sig !== 9) return;
      if (await this.#exitWithin(c, 10_000)) return;
      await rt.kill(c.id, 9, true).catch(() => {});
      if (!(await this.#exitWithin(c, 2_000))) throw system(`cannot kill container: ${ref}: tried to kill container, but did not receive an exit event`);
    });
  }

  /** Whether the container's exit is handled within `ms` (called under its lock). */
  async #exitWithin(c: Container, ms: number): Promise<boolean> {
    if (!c.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => { timer = setTimeout(() => r(false), ms); });
    try {
      return await Promise.race([this.#waitExit(c).then(() => true as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  restart(ctx: EngineContext, ref: string, o: { signal?: string; timeout?: number } = {}): Promise<void> {
    const c = this.#get(ref);
    return this.#locked(c, async () => {
      if (c.running || c.restartTimer) await this.#stopNow(c, o).catch((e) => { if (!isEngineError(e, 'NotModified')) throw e; });
      c.rec.berth.manuallyStopped = false;
      await this.#startNow(c);
      this.#events.emit('container', 'restart', c.id, this.#attrs(c));
      void ctx;
    });
  }

  /** `stats`: what a sample needs (the init pid of a running container). */
  statsTarget(ref: string): { id: string; name: string; running: boolean; pid: number } {
    const c = this.#get(ref);
    return { id: c.id, name: c.rec.Name, running: c.running && !!c.rec.State.Pid, pid: c.rec.State.Pid };
  }

  /**
   * `POST /containers/{id}/update` (docker update), as moby's ContainerUpdate: the resources given
   * (0 / absent = leave as is) and the restart policy, checked with create's rules; a limit this
   * host cannot enforce is discarded with Docker's warning (runc would fail writing a cgroup file
   * that does not exist); recorded in HostConfig and, on a running container, applied to its
   * cgroup through the runtime. As in Docker, a live update passes memory, reservation, swap (when
   * positive), CPU shares, CFS period/quota (NanoCpus becomes them), cpusets, pids and blkio
   * weight; real-time CPU values are recorded only. Nothing is recorded when the runtime fails.
   */
  update(ref: string, body: Partial<HostConfig>): Promise<{ Warnings: string[] }> {
    const c = this.#get(ref);
    return this.#locked(c, async () => {
      const cannot = (msg: string) => conflict(`Cannot update container ${c.id}: ${msg}`);
      const req: Partial<HostConfig> = { ...body };
      const warnings = discardUnsupported(req, (await this.#cgroupFeatures()));
      const old = c.rec.HostConfig;
      // moby's UpdateContainer: NanoCpus and CFS period/quota exclude each other across updates.
      if ((req.NanoCpus ?? 0) > 0 && (old.CpuPeriod ?? 0) > 0) throw cannot('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
      if ((req.NanoCpus ?? 0) > 0 && (old.CpuQuota ?? 0) > 0) throw cannot('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
      if ((req.CpuPeriod ?? 0) > 0 && (old.NanoCpus ?? 0) > 0) throw cannot('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
      if ((req.CpuQuota ?? 0) > 0 && (old.NanoCpus ?? 0) > 0) throw cannot('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
      const hc: HostConfig = { ...old };
      const u: RuntimeResourceUpdate = {};
      const set = <K extends keyof HostConfig>(k: K) => { if (req[k] !== undefined && req[k] !== null && req[k] !== 0 && req[k] !== '') (hc as any)[k] = req[k]; };
      for (const k of ['Memory', 'MemorySwap', 'MemoryReservation', 'CpuShares', 'NanoCpus', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpusetCpus', 'CpusetMems', 'BlkioWeight'] as const) set(k);
      if (req.PidsLimit !== undefined && req.PidsLimit !== null) hc.PidsLimit = req.PidsLimit;
      if (body.RestartPolicy?.Name) {
        const rp = body.RestartPolicy;
        if (old.AutoRemove && rp.Name && rp.Name !== 'no') throw cannot('Restart policy cannot be updated because AutoRemove is enabled for the container');
        validateRestartPolicy(rp, false);
        hc.RestartPolicy = { Name: rp.Name, MaximumRetryCount: rp.MaximumRetryCount ?? 0 };
      }
      // Swap: the effective limit (Docker records twice the memory when only memory was set).
      const oldSwap = old.MemorySwap || (old.Memory ? old.Memory * 2 : 0);
      if (req.Memory && !req.MemorySwap && oldSwap > 0 && req.Memory > oldSwap) {
        throw cannot('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
      }
      const cpus = (await readFile('/sys/fs/cgroup/cpuset/cpuset.cpus', 'utf8').catch(() => readFile('/sys/fs/cgroup/cpuset.cpus.effective', 'utf8').catch(() => `0-${os.cpus().length - 1}`))).trim();
      const mems = (await readFile('/sys/fs/cgroup/cpuset/cpuset.mems', 'utf8').catch(() => readFile('/sys/fs/cgroup/cpuset.mems.effective', 'utf8').catch(() => '0'))).trim();
      validateResources(hc, { ncpu: os.cpus().length, cpuset: { cpus, mems } });
      // moby's toContainerdResources.
      if (req.Memory) u.memory = req.Memory;
      if ((req.MemorySwap ?? 0) > 0) u.memorySwap = req.MemorySwap;
      if (req.MemoryReservation) u.memoryReservation = req.MemoryReservation;
      if (req.CpuShares) u.cpuShares = req.CpuShares;
      if (req.NanoCpus) { u.cpuPeriod = 100000; u.cpuQuota = Math.trunc((req.NanoCpus * 100000) / 1e9); }
      if (req.CpuPeriod && !u.cpuPeriod) u.cpuPeriod = req.CpuPeriod;
      if (req.CpuQuota && !u.cpuQuota) u.cpuQuota = req.CpuQuota;
      if (req.CpusetCpus) u.cpusetCpus = req.CpusetCpus;
      if (req.CpusetMems) u.cpusetMems = req.CpusetMems;
      if (req.BlkioWeight) u.blkioWeight = req.BlkioWeight;
      if (req.PidsLimit !== undefined && req.PidsLimit !== null) u.pidsLimit = req.PidsLimit > 0 ? req.PidsLimit : -1;
      if (c.running && Object.keys(u).length) {
        const rt = this.#runtimeOf(c.rec.berth.runtime);
        if (!rt.update) throw notImplemented(`the runtime ${c.rec.berth.runtime} cannot update a running container`);
        await rt.update(c.id, u);
      }
      c.rec.HostConfig = hc;
      await this.#save(c);
      this.#events.emit('container', 'update', c.id, this.#attrs(c));
      return { Warnings: warnings };
    });
  }

  #cgroupFeaturesP?: Promise<CgroupFeatures>;
  #cgroupFeatures(): Promise<CgroupFeatures> {
    this.#cgroupFeaturesP ??= detectCgroups().then((h) => h.features);
    return this.#cgroupFeaturesP;
  }

  /**
   * `forDaemon`: a pause the daemon makes for its own work (commit), not the user's: it leaves a
   * freeze marker first, so a daemon that dies before unpausing thaws the container at start.
   */
  pause(_ctx: EngineContext, ref: string, o: { forDaemon?: boolean } = {}): Promise<void> {
    const c = this.#get(ref);
    return this.#locked(c, async () => {
      if (!c.running) throw conflict(`Container ${c.id} is not running`);
      if (c.rec.State.Paused) throw conflict(`Container ${c.id} is already paused`);
      if (o.forDaemon) await this.#markFrozen(c);
      try {
        await this.#runtimeOf(c.rec.berth.runtime).pause(c.id);
      } catch (e) {
        if (o.forDaemon) await this.#unmarkFrozen(c);
        throw e;
      }
      c.rec.State = { ...c.rec.State, Status: 'paused', Paused: true };
      await this.#save(c);
      this.#events.emit('container', 'pause', c.id, this.#attrs(c));
    });
  }

  unpause(_ctx: EngineContext, ref: string, o: { forDaemon?: boolean } = {}): Promise<void> {
    const c = this.#get(ref);
    return this.#locked(c, async () => {
      if (!c.rec.State.Paused) throw conflict(`Container ${c.id} is not paused`);
      await this.#runtimeOf(c.rec.berth.runtime).resume(c.id);
      c.rec.State = { ...c.rec.State, Status: 'running', Paused: false };
      await this.#save(c);
      if (o.forDaemon) await this.#unmarkFrozen(c);
      this.#events.emit('container', 'unpause', c.id, this.#attrs(c));
    });
  }

  // ---------------------------------------------------------------- freezes of the daemon's own

  /** The marker of a freeze the daemon made for its own work (cp, export, commit). */
  #frozenMarker(c: Container): string { return join(this.#dir, c.id, 'daemon-frozen'); }

  async #markFrozen(c: Container): Promise<void> {
    await writeJsonAtomic(this.#frozenMarker(c), { at: new Date().toISOString() });
  }

  async #unmarkFrozen(c: Container): Promise<void> {
    await rm(this.#frozenMarker(c), { force: true });
    await fsyncDir(join(this.#dir, c.id));
  }

  /** Freezes a running container for the daemon's own work: the marker first, then the freezer. */
  async #freeze(c: Container): Promise<void> {
    await this.#markFrozen(c);
    try {
      await this.#runtimeOf(c.rec.berth.runtime).pause(c.id);
    } catch (e) {
      await this.#unmarkFrozen(c);
      throw e;
    }
  }

  async #thaw(c: Container): Promise<void> {
    await this.#runtimeOf(c.rec.berth.runtime).resume(c.id);
    await this.#unmarkFrozen(c);
  }

  /** POST /containers/{id}/wait. Registers the waiter at once (before the response is sent). */
  wait(_ctx: EngineContext, ref: string, condition: string): Promise<{ StatusCode: number; Error?: { Message: string } | null }> {
    const c = this.#get(ref);
    const cond = (condition || 'not-running') as Waiter['condition'];
    if (!['not-running', 'next-exit', 'removed'].includes(cond)) throw invalid(`invalid condition: "${condition}"`);
    if (cond === 'not-running' && !c.running && c.rec.State.Status !== 'restarting') {
      return Promise.resolve({ StatusCode: c.rec.State.ExitCode, Error: null });
    }
    return new Promise((resolve) => c.waiters.push({ condition: cond, resolve }));
  }

  rename(_ctx: EngineContext, ref: string, newName: string): Promise<void> {
    const c = this.#get(ref);
    return this.#locked(c, async () => {
      if (!newName) throw invalid('Neither old nor new names may be empty');
      validateName(newName);
      const n = newName.startsWith('/') ? newName : `/${newName}`;
      if (n === c.rec.Name) throw invalid(`Renaming a container with the same name as its current name`);
      const holder = this.#names.get(n);
      if (holder) throw conflict(`Conflict. The container name "${n}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`);
      const old = c.rec.Name;
      this.#names.set(n, c.id);
      c.rec.Name = n;
      // A running container's DNS names follow it (moby renames the sandbox's endpoints).
      const net = this.#o.networking;
      try {
        if (c.running && c.rec.berth.endpoints?.length && net?.rename) {
          const eps = await net.rename(this.#netTarget(c), old.slice(1));
          const byNet = new Map(eps.map((e) => [e.network, e]));
          c.rec.berth.endpoints = c.rec.berth.endpoints.map((e) => byNet.get(e.network) ?? e);
        }
        await this.#save(c);
      } catch (e) { c.rec.Name = old; this.#names.delete(n); throw e; }
      this.#names.delete(old);
      this.#events.emit('container', 'rename', c.id, { ...this.#attrs(c), oldName: old });
    });
  }

  // ---------------------------------------------------------------- networks

  /** `POST /networks/{id}/connect`: recorded, and live when the container runs. */
  connectNetwork(ref: string, networkRef: string, cfg: EndpointConfig): Promise<void> {
    const c = this.#get(ref);
    const net = this.#o.networking;
    if (!net?.connect || !net.resolveName) throw invalid('this daemon runs without bridge networking (berthd -b none)');
    const name = net.resolveName(networkRef);
    return this.#locked(c, async () => {
      const mode = c.rec.HostConfig.NetworkMode || 'default';
      if (mode === 'host' || name === 'host') throw new EngineError('Forbidden', 'container cannot be disconnected from host network or connected to host network');
      if (mode.startsWith('container:')) throw new EngineError('Forbidden', 'container sharing network namespace with another container or host cannot be connected to any other network');
      if (mode === 'none' || name === 'none') throw new EngineError('Forbidden', 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
      const have = c.rec.berth.networks ?? {};
      // A record of before per-network bookkeeping is on its mode's network; otherwise only what
      // it lists (a container disconnected from the default bridge may connect to it again).
      if (have[name] || (!c.rec.berth.networks && name === 'bridge' && (mode === 'default' || mode === 'bridge'))) throw new EngineError('Forbidden', `endpoint with name ${c.rec.Name.slice(1)} already exists in network ${name}`);
      const prepared = net.prepare ? net.prepare({ ...c.rec.HostConfig, NetworkMode: name }, { [name]: cfg }, { connect: true })[name] : cfg;
      if (c.running) {
        const ep = await net.connect!(this.#netTarget(c), name, prepared ?? cfg);
        c.rec.berth.endpoints = net.containerEndpoints?.(c.id) ?? [...(c.rec.berth.endpoints ?? []), ep];
      }
      c.rec.berth.networks = { ...have, [name]: prepared ?? cfg };
      await this.#save(c);
      // dockerd: a stopped container's connect is only recorded; its event comes at start.
      if (c.running) this.#events.emit('network', 'connect', prepared?.NetworkID ?? name, { container: c.id, name, type: 'bridge' });
    });
  }

  /** `POST /networks/{id}/disconnect`. */
  disconnectNetwork(ref: string, networkRef: string, force = false): Promise<void> {
    const net = this.#o.networking;
    if (!net?.disconnect || !net.resolveName) throw invalid('this daemon runs without bridge networking (berthd -b none)');
    let c: Container;
    try { c = this.#get(ref); } catch (e) { if (force) return Promise.resolve(); throw e; }
    const name = net.resolveName(networkRef);
    return this.#locked(c, async () => {
      const mode = c.rec.HostConfig.NetworkMode || 'default';
      if (mode === 'host' || name === 'host') throw new EngineError('Forbidden', 'container cannot be disconnected from host network or connected to host network');
      const have = { ...(c.rec.berth.networks ?? {}) };
      const key = name in have ? name : (name === 'bridge' && 'default' in have ? 'default' : undefined);
      // dockerd's texts (plain errors there: a 500), naming the network by its name.
      if (!key) throw system(c.running ? `container ${c.id} is not connected to network ${name}` : `container ${c.id} is not connected to the network ${name}`);
      if (c.running) {
        await net.disconnect!(this.#netTarget(c), name);
        c.rec.berth.endpoints = net.containerEndpoints?.(c.id) ?? (c.rec.berth.endpoints ?? []).filter((e) => e.network !== name);
      }
      const id = have[key].NetworkID;
      delete have[key];
      c.rec.berth.networks = have;
      await this.#save(c);
      if (c.running) this.#events.emit('network', 'disconnect', id ?? name, { container: c.id, name, type: 'bridge' });
    });
  }

  /** Ids of containers configured for a network (running or not), for `network rm`/prune and inspect. */
  onNetwork(name: string): ContainerRecord[] {
    return [...this.#byId.values()].filter((c) => name in (c.rec.berth.networks ?? {})).map((c) => c.rec);
  }

  /** --add-host entries with `host-gateway` turned into the default bridge's gateway. */
  #extraHostsOf(hc: HostConfig): string[] {
    const gw = this.#o.networking?.hostGatewayIp?.();
    return (hc.ExtraHosts ?? []).map((e) => {
      const i = e.lastIndexOf(':');
      if (i > 0 && e.slice(i + 1) === 'host-gateway') {
        if (!gw) throw invalid('unable to derive the IP value for host-gateway');
        return `${e.slice(0, i)}:${gw}`;
      }
      return e;
    });
  }

  /**
   * Legacy links (`--link name:alias`, default bridge): an /etc/hosts line per link and Docker's
   * link variables (ALIAS_NAME, ALIAS_PORT_80_TCP_ADDR, ALIAS_ENV_X, ...). The linked container
   * must be running with an address on the default bridge.
   */
  #links(c: Container): { hosts: string[]; env: string[] } {
    const hosts: string[] = [];
    const env: string[] = [];
    const me = c.rec.Name;
    // On a user network, names come from the embedded DNS (Docker keeps links there as aliases only).
    if (!c.rec.berth.endpoints?.[0] || c.rec.berth.endpoints[0].network !== 'bridge') return { hosts, env };
    for (const raw of c.rec.HostConfig.Links ?? []) {
      const [target, alias] = parseLink(raw);
      const t = this.#get(target);
      if (!t.running) throw conflict(`Cannot link to a non running container: ${t.rec.Name} AS ${me}/${alias}`);
      const ep = t.rec.berth.endpoints?.find((e) => e.network === 'bridge');
      if (!ep) throw invalid(`Cannot link to ${t.rec.Name}, as it does not belong to the default network`);
      hosts.push(`${ep.ip}\t${[...new Set([alias, t.rec.Config.Hostname, t.rec.Name.slice(1)].filter(Boolean))].join(' ')}`);
      const A = alias.toUpperCase().replace(/[^A-Z0-9]/g, '_');
      env.push(`${A}_NAME=${me}/${alias}`);
      const ports = Object.keys(t.rec.Config.ExposedPorts ?? {}).map((k) => { const [p, proto = 'tcp'] = k.split('/'); return { p: Number(p), proto }; })
        .sort((a, b) => a.p - b.p || a.proto.localeCompare(b.proto));
      if (ports[0]) env.push(`${A}_PORT=${ports[0].proto}://${ep.ip}:${ports[0].p}`);
      for (const { p, proto } of ports) {
        const P = `${A}_PORT_${p}_${proto.toUpperCase()}`;
        env.push(`${P}=${proto}://${ep.ip}:${p}`, `${P}_ADDR=${ep.ip}`, `${P}_PORT=${p}`, `${P}_PROTO=${proto}`);
      }
      for (const kv of t.rec.Config.Env ?? []) {
        const k = kv.split('=')[0];
        if (['HOME', 'HOSTNAME', 'PATH'].includes(k)) continue;
        env.push(`${A}_ENV_${kv}`);
      }
    }
    return { hosts, env };
  }

  /**
   * `DELETE /containers/<parent>/<alias>?link=1` (docker rm --link): the parent's legacy link
   * named alias goes (daemon rmLink). `ref` is Docker's link name, `parent/alias`; a bare
   * container name is the container's own "default link name", which cannot be removed. The
   * link's environment and /etc/hosts line stay in a running parent until it restarts, as in Docker.
   */
  removeLink(ref: string): Promise<void> {
    const name = ref.replace(/^\/+/, '');
    const slash = name.lastIndexOf('/');
    if (slash < 0) {
      this.#get(name);
      throw system('Conflict, cannot remove the default link name of the container');
    }
    const parentId = this.#names.get(`/${name.slice(0, slash)}`);
    const alias = name.slice(slash + 1);
    const parent = parentId ? this.#byId.get(parentId) : undefined;
    const linkOf = (c: Container) => (c.rec.HostConfig.Links ?? []).findIndex((l) => parseLink(l)[1] === alias);
    if (!parent || linkOf(parent) < 0) throw notFound(`No such container: ${name}`);
    return this.#locked(parent, async () => {
      const i = linkOf(parent);
      if (i < 0) return;
      const links = [...(parent.rec.HostConfig.Links ?? [])];
      links.splice(i, 1);
      parent.rec.HostConfig.Links = links.length ? links : null;
      await this.#save(parent);
    });
  }

  // ---------------------------------------------------------------- remove

  remove(_ctx: EngineContext, ref: string, o: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const c = this.#get(ref);
    return this.#locked(c, async () => {
      if (!this.#byId.has(c.id)) throw notFound(`No such container: ${ref}`);
      if (c.rec.State.Status === 'removing') throw conflict(`removal of container ${ref} is already in progress`);
      if (c.running || c.restartTimer) {
        if (!o.force) {
          if (c.rec.State.Paused) throw conflict(`cannot remove container "${c.rec.Name}": container is paused and must be unpaused first`);
          throw conflict(`cannot remove container "${c.rec.Name}": container is running: stop the container before removing or force remove`);
        }
        if (c.restartTimer) { clearTimeout(c.restartTimer); c.restartTimer = undefined; }
        c.rec.berth.manuallyStopped = true;
        if (c.running) {
          const exited = this.#waitExit(c);
          const rt = this.#runtimeOf(c.rec.berth.runtime);
          if (c.rec.State.Paused) await rt.resume(c.id).catch(() => {});
          await rt.kill(c.id, 9, true).catch(() => {});
          this.#events.emit('container', 'kill', c.id, { ...this.#attrs(c), signal: '9' });
          await exited;
        }
      }
      await this.#removeNow(c, o);
    });
  }

  async #removeNow(c: Container, _o: { volumes?: boolean }): Promise<void> {
    if (!this.#byId.has(c.id)) return;
    // In memory only: the commit point of a removal is deleting config.json below.
    c.rec.State = { ...c.rec.State, Status: 'removing' };
    for (const p of c.pendingAttach.splice(0)) p.fail();
    await this.#rotator.unwatch(c.id);
    const merged = this.#snap.rootfsPath(c.id);
    if (await isMountPoint(merged)) await unmount(merged).catch(() => unmount(merged, { lazy: true }));
    await unmount(join(this.#dir, c.id, 'shm'), { lazy: true }).catch(() => {});
    if (!c.runtimeDeleted && c.rec.berth.hasBeenStarted) await this.#runtimeOf(c.rec.berth.runtime).delete(c.id, true).catch(() => {});
    // Removing the record first makes the removal the commit point; the rest is debris cleanup
    // that init() redoes for a directory without a record.
    await rm(join(this.#dir, c.id, 'config.json'), { force: true });
    this.#byId.delete(c.id);
    this.#ids.delete(c.id);
    if (this.#names.get(c.rec.Name) === c.id) this.#names.delete(c.rec.Name);
    await this.#snap.remove(c.id).catch(() => {});
    await rm(join(this.#dir, c.id), { recursive: true, force: true });
    await rm(join(this.#bundles, c.id), { recursive: true, force: true });
    for (const rt of this.#o.runtimes.values()) await rm(rt.exitFile(c.id), { force: true }).catch(() => {});
    if (_o.volumes) await this.#o.volumes.removeAnonymous(c.rec.Mounts ?? [], c.id).catch(() => {});
    this.#events.emit('container', 'destroy', c.id, this.#attrs(c));
    this.#resolveWaiters(c, 'removed', c.rec.State.ExitCode);
  }

  // ---------------------------------------------------------------- attach and logs

  async #connectAttach(c: Container): Promise<AttachConnection | undefined> {
    if (c.attach && !c.attach.ended) return c.attach;
    if (c.attachConnecting) return c.attachConnecting;
    const rt = this.#runtimeOf(c.rec.berth.runtime);
    c.attachConnecting = (async () => {
      try {
        const conn = await AttachConnection.connect(rt.attachSocket(c.id));
        conn.setMaxListeners(0);
        c.attach = conn;
        return conn;
      } catch (e) {
        if (c.running) throw system(`cannot attach to container ${c.id}: ${(e as Error).message}`, e);
        return undefined;
      } finally {
        c.attachConnecting = undefined;
      }
    })();
    return c.attachConnecting;
  }

  /**
   * What an attach needs to know, checked as moby's ContainerAttach checks before it takes the
   * connection over: 404 for an unknown container, 409 for a paused or restarting one.
   */
  attachTarget(ref: string): AttachTarget {
    const c = this.#get(ref);
    if (c.rec.State.Paused) throw conflict(`container ${ref} is paused, unpause the container before attach`);
    if (c.restartTimer || c.rec.State.Restarting) throw conflict(`container ${ref} is restarting, wait until the container is running`);
    const cfg = c.rec.Config;
    return { id: c.id, tty: !!cfg.Tty, openStdin: !!cfg.OpenStdin, stdinOnce: !!cfg.StdinOnce };
  }

  /**
   * Attaches a client's stream session (event `attach`). On a running container it connects at
   * once; otherwise (created, or exited: `docker start -a` attaches first) it joins the next
   * start and is connected before the process runs, so no output is missed. It ends (`onEnd`)
   * when the container's output does. `detach({ keys: true })`, the client typed the detach
   * keys, is event `detach`.
   */
  async attach(_ctx: EngineContext, ref: string, o: {
    stdin: boolean; stdout: boolean; stderr: boolean;
    onOutput: (stream: StreamKind, data: Buffer) => void;
    onEnd: () => void;
  }): Promise<AttachSession> {
    const c = this.#get(ref);
    let conn: AttachConnection | undefined;
    let ended = false;
    const end = () => { if (!ended) { ended = true; cleanup(); o.onEnd(); } };
    const onOut = (s: StreamKind, d: Buffer) => { if ((s === 1 && o.stdout) || (s === 2 && o.stderr)) o.onOutput(s, d); };
    let bufferedStdin: Buffer[] = [];
    let stdinClosedEarly = false;
    const bind = (cn: AttachConnection) => {
      conn = cn;
      if (cn.ended) { queueMicrotask(end); return; }
      cn.on('output', onOut);
      cn.once('end', end);
      for (const b of bufferedStdin) cn.writeStdin(b);
      bufferedStdin = [];
      if (stdinClosedEarly) cn.closeStdin();
    };
    const cleanup = () => {
      conn?.off('output', onOut);
      conn?.off('end', end);
      const i = c.pendingAttach.indexOf(pending);
      if (i >= 0) c.pendingAttach.splice(i, 1);
    };
    const pending = { bind, fail: () => end() };
    this.#events.emit('container', 'attach', c.id, this.#attrs(c));
    if (c.running) {
      const cn = await this.#connectAttach(c);
      if (cn) bind(cn); else queueMicrotask(end);
    } else {
      // Not started yet: joins the next start (see #startNow).
      c.pendingAttach.push(pending);
    }
    return {
      tty: !!c.rec.Config.Tty,
      writeStdin: (d) => { if (!o.stdin) return; if (conn) conn.writeStdin(d); else bufferedStdin.push(d); },
      closeStdin: () => {
        if (!o.stdin) return;
        // Docker closes the container's stdin when a StdinOnce client hangs up, but not a
        // TTY's: detaching from `run -it` (Ctrl-P Ctrl-Q) leaves the shell attachable again.
        if (!c.rec.Config.StdinOnce || c.rec.Config.Tty) return;
        if (conn) conn.closeStdin(); else stdinClosedEarly = true;
      },
      detach: (d = {}) => {
        if (ended) return;
        cleanup();
        ended = true;
        if (d.keys) this.#events.emit('container', 'detach', c.id, this.#attrs(c));
      },
    };
  }

  /** Resize the TTY through conmon's control fifo ("1 <height> <width>\n"). */
  async resize(_ctx: EngineContext, ref: string, h: number, w: number): Promise<void> {
    const c = this.#get(ref);
    if (!c.running) throw conflict(`Container ${c.id} is not running`);
    if (!c.rec.Config.Tty) return;
    const { open } = await import('node:fs/promises');
    const { constants } = await import('node:fs');
    const fh = await open(this.#runtimeOf(c.rec.berth.runtime).ctlFile(c.id), constants.O_WRONLY | constants.O_NONBLOCK);
    try { await fh.write(`1 ${h} ${w}\n`); } finally { await fh.close(); }
  }

  logs(ctx: EngineContext, ref: string, o: Omit<ReadLogsOptions, 'stopped' | 'signal'>): { tty: boolean; entries: AsyncGenerator<LogEntry> } {
    const c = this.#get(ref);
    const ls = this.#logSettings(c);
    // Docker: ErrReadLogsNotSupported, a NotImplemented (501).
    if (ls.driver === 'none' || !c.rec.LogPath) throw notImplemented(`configured logging driver does not support reading`);
    return {
      tty: !!c.rec.Config.Tty,
      entries: readLogs(logFiles(c.rec.LogPath, ls.maxFile), { ...o, signal: ctx.signal, stopped: () => !c.running && c.rec.State.Status !== 'restarting' }),
    };
  }
}

// ------------------------------------------------------------------ helpers

/**
 * moby's verifyPlatformContainerResources for an update: a limit the host cannot enforce is
 * dropped from the request, with Docker's warning (the update goes on without it); NanoCpus
 * without CFS is an error, as in Docker.
 */
export function discardUnsupported(r: Partial<HostConfig>, f: CgroupFeatures): string[] {
  const w: string[] = [];
  if ((r.Memory ?? 0) > 0 && !f.memory) {
    w.push('Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
    r.Memory = 0; r.MemorySwap = -1;
  }
  if ((r.Memory ?? 0) > 0 && r.MemorySwap !== -1 && !f.swap) {
    w.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    r.MemorySwap = -1;
  }
  if ((r.MemoryReservation ?? 0) > 0 && !f.memory) {
    w.push('Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.');
    r.MemoryReservation = 0;
  }
  if (r.PidsLimit != null && r.PidsLimit > 0 && !f.pids) {
    w.push('Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.');
    r.PidsLimit = undefined;
  }
  if ((r.NanoCpus ?? 0) > 0 && !f.cpuCfs) throw invalid('NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted');
  if ((r.CpuShares ?? 0) > 0 && !f.cpuShares) {
    w.push('Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.');
    r.CpuShares = 0;
  }
  if (((r.CpuPeriod ?? 0) !== 0 || (r.CpuQuota ?? 0) !== 0) && !f.cpuCfs) {
    w.push('Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.');
    r.CpuPeriod = 0; r.CpuQuota = 0;
  }
  if ((r.CpusetCpus || r.CpusetMems) && !f.cpuset) {
    w.push('Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.');
    r.CpusetCpus = ''; r.CpusetMems = '';
  }
  if ((r.BlkioWeight ?? 0) > 0 && !f.blkioWeight) {
    w.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    r.BlkioWeight = 0;
  }
  return w;
}

function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }
async function exists(p: string): Promise<boolean> { try { await stat(p); return true; } catch { return false; } }
function dirnameOf(p: string): string { return p.slice(0, p.lastIndexOf('/')); }

function familiarOrRaw(s: string): string {
  return /[:@]/.test(s.split('/').pop() ?? '') ? s : `${s}:latest`;
}

export function exitCodeForStartError(msg: string): number {
  if (/executable file not found|no such file or directory/i.test(msg)) return 127;
  if (/permission denied|not a directory|exec format error/i.test(msg)) return 126;
  return 128;
}

/** Image defaults under the container's own config, as Docker merges them at create. */
export function mergeConfig(img: ContainerConfig, ctr: ContainerConfig): ContainerConfig {
  const out: ContainerConfig = { ...ctr };
  const env = new Map<string, string>();
  for (const e of [...(img.Env ?? []), ...(ctr.Env ?? [])]) env.set(e.split('=')[0], e);
  out.Env = [...env.values()];
  const ctrHasEntrypoint = Array.isArray(ctr.Entrypoint) && ctr.Entrypoint.length > 0;
  const ctrHasCmd = Array.isArray(ctr.Cmd) && ctr.Cmd.length > 0;
  if (!ctrHasEntrypoint && !(Array.isArray(ctr.Entrypoint) && ctr.Entrypoint.length === 0 && ctr.Entrypoint !== null)) {
    out.Entrypoint = img.Entrypoint ?? null;
    if (!ctrHasCmd) out.Cmd = img.Cmd ?? null;
  }
  if (Array.isArray(ctr.Entrypoint) && ctr.Entrypoint.length === 0) out.Entrypoint = null; // --entrypoint ""
  out.WorkingDir = ctr.WorkingDir || img.WorkingDir || '';
  out.User = ctr.User || img.User || '';
  out.Labels = { ...(img.Labels ?? {}), ...(ctr.Labels ?? {}) };
  out.ExposedPorts = { ...(img.ExposedPorts ?? {}), ...(ctr.ExposedPorts ?? {}) };
  out.Volumes = { ...(img.Volumes ?? {}), ...(ctr.Volumes ?? {}) };
  if (!ctr.StopSignal && img.StopSignal) out.StopSignal = img.StopSignal;
  if (!ctr.Healthcheck && img.Healthcheck) out.Healthcheck = img.Healthcheck;
  if (!ctr.Shell && img.Shell) out.Shell = img.Shell;
  if (img.OnBuild) out.OnBuild = null;
  out.Tty = !!ctr.Tty;
  out.OpenStdin = !!ctr.OpenStdin;
  out.StdinOnce = !!ctr.StdinOnce;
  out.AttachStdin = !!ctr.AttachStdin;
  out.AttachStdout = ctr.AttachStdout ?? false;
  out.AttachStderr = ctr.AttachStderr ?? false;
  out.Domainname = ctr.Domainname ?? '';
  out.Hostname = ctr.Hostname ?? '';
  return out;
}

/** Docker's NetworkMode.IsUserDefined: a network of the user's, not default/bridge/host/none/container:. */
function isUserDefinedMode(mode: string | undefined): boolean {
  const m = mode || 'default';
  return !['default', 'bridge', 'host', 'none'].includes(m) && !m.startsWith('container:');
}

function hostsFile(extra: string[], self?: string, links: string[] = []): string {
  let s = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';
  for (const e of extra) {
    const i = e.indexOf(':');
    if (i > 0) s += `${e.slice(i + 1)}\t${e.slice(0, i)}\n`;
  }
  for (const l of links) s += `${l}\n`;
  if (self) s += `${self}\n`;
  return s;
}

/**
 * The host's resolv.conf without loopback resolvers (unreachable from a container), plus --dns.
 * With the embedded DNS (`embedded`: its addresses) the container asks it, and the --dns
 * servers become what it forwards to (Docker's model); `ndots:0` as Docker writes it.
 */
async function resolvConf(hc: HostConfig, embedded?: string[]): Promise<string> {
  const host = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  if (embedded?.length) {
    const search = hc.DnsSearch?.length ? [`search ${hc.DnsSearch.join(' ')}`] : host.split('\n').filter((l) => /^\s*search\s/.test(l));
    const opts = ['ndots:0', ...(hc.DnsOptions ?? [])];
    return [...embedded.map((d) => `nameserver ${d}`), ...search, `options ${[...new Set(opts)].join(' ')}`].join('\n') + '\n';
  }
  const lines = host.split('\n').filter((l) => l && !/^\s*nameserver\s+(127\.|::1)/.test(l));
  let out = lines.filter((l) => !(hc.Dns?.length && /^\s*nameserver/.test(l)) && !(hc.DnsSearch?.length && /^\s*search/.test(l)) && !(hc.DnsOptions?.length && /^\s*options/.test(l)));
  if (hc.Dns?.length) out = [...out, ...hc.Dns.map((d) => `nameserver ${d}`)];
  if (hc.DnsSearch?.length) out.push(`search ${hc.DnsSearch.join(' ')}`);
  if (hc.DnsOptions?.length) out.push(`options ${hc.DnsOptions.join(' ')}`);
  return out.join('\n') + '\n';
}
