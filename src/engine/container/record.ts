// The container records: the persisted record type, the in-memory index (full ID, name, unique
// ID prefix), load and atomic save of containers/<id>/config.json, and reconcile at daemon start.
//
// Every change of state is written atomically to containers/<id>/config.json before it is
// reported, so a daemon killed at any moment restarts with a record that is true or one step
// behind, and `reconcile()` brings it up to date from the runtime's state and conmon's exit file.
import { mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { invalid, notFound } from '../../common/errors.ts';
import { PrefixIndex, resolveIdentifier } from '../../common/prefix-index.ts';
import type { IdMap } from '../../common/idmap.ts';
import { isMountPoint, mountsUnder, unmount } from '../../sys/index.ts';
import { releaseNamespaceFile } from '../../sys/namespaces.ts';
import { fsyncDir, readJson, writeJsonAtomic } from '../../store/metadata/atomic.ts';
import type { Snapshotter } from '../../store/snapshots/snapshotter.ts';
import type { OciRuntime, RuntimeState } from '../../runtime/runtime.ts';
import type { VolumeService } from '../../volume/local.ts';
import type { MountPoint } from '../../volume/volume.ts';
import type { ContainerConfig, HostConfig } from '../../api/types/container.ts';
import type { AttachConnection } from '../attach.ts';
import type { EventBus } from '../events.ts';
import type { ImageService } from '../images.ts';
import { LogRotator } from '../log-rotation.ts';
import { NoNetworking, type ContainerNetworking } from '../../network/networking.ts';
import type { EndpointConfig, EndpointState } from '../../api/types/network.ts';
import { transition, type ContainerState } from './state.ts';

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
  /** The daemon's warning log (its format and --log-level); stderr in that format when absent. */
  warn?: (msg: string) => void;
}

export type WaitResult = { StatusCode: number; Error?: { Message: string } | null };
export interface Waiter { condition: 'next-exit' | 'removed' | 'not-running'; resolve: (r: WaitResult) => void }

/** A container in memory: its record and what lives only as long as the daemon. */
export class Container {
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

/**
 * The steps of other parts of the lifecycle that reconcile and a start call (wired by the
 * service, so that the modules of this folder do not import each other in a circle).
 */
export interface LifecycleHooks {
  onExitFile(id: string): Promise<void>;
  handleExit(c: Container, o: { fromReconcile?: boolean }): Promise<void>;
  removeNow(c: Container, o: { volumes?: boolean }): Promise<void>;
  scheduleRestart(c: Container, delay: number): void;
  watchLog(c: Container): void;
}

const NO_NETWORKING = new NoNetworking();

/** What every part of the container lifecycle shares: options, stores, the index, the paths. */
export class Core {
  readonly o: ContainerServiceOptions;
  readonly snap: Snapshotter;
  readonly images: ImageService;
  readonly events: EventBus;
  readonly byId = new Map<string, Container>();
  readonly names = new Map<string, string>(); // "/name" → id
  /** Container IDs, sorted, for short-ID prefixes (kept in step with byId). */
  readonly ids = new PrefixIndex();
  /** <data-root>/containers */
  readonly dir: string;
  /** <exec-root>/bundles */
  readonly bundles: string;
  closing = false;
  readonly rotator = new LogRotator({ onError: (id, e) => process.stderr.write(`log rotation of ${id}: ${(e as Error).message}\n`) });
  hooks!: LifecycleHooks;

  constructor(o: ContainerServiceOptions, snap: Snapshotter, images: ImageService, events: EventBus) {
    this.o = o;
    this.snap = snap;
    this.images = images;
    this.events = events;
    this.dir = join(o.root, 'containers');
    this.bundles = join(o.execRoot, 'bundles');
  }

  get net(): ContainerNetworking { return this.o.networking ?? NO_NETWORKING; }

  runtimeOf(name: string): OciRuntime {
    const rt = this.o.runtimes.get(name);
    if (!rt) throw invalid(`Unknown runtime specified ${name}`);
    return rt;
  }

  /** Docker's order: full ID, then name, then a unique ID prefix (ambiguous → 400). */
  find(ref: string): Container | undefined {
    const id = resolveIdentifier(ref, this.ids, (n) => this.names.get(n.startsWith('/') ? n : `/${n}`));
    return id === undefined ? undefined : this.byId.get(id);
  }

  get(ref: string): Container {
    const c = this.find(ref);
    if (!c) throw notFound(`No such container: ${ref}`);
    return c;
  }

  add(c: Container): void {
    this.byId.set(c.id, c);
    this.ids.add(c.id);
    this.names.set(c.rec.Name, c.id);
  }

  delete(c: Container): void {
    this.byId.delete(c.id);
    this.ids.delete(c.id);
    if (this.names.get(c.rec.Name) === c.id) this.names.delete(c.rec.Name);
  }

  /** Serialises lifecycle operations on one container. */
  locked<T>(c: Container, fn: () => Promise<T>): Promise<T> {
    const p = c.lock.then(fn, fn);
    // The chain only orders the next operation; this one's error goes to its own caller (p).
    c.lock = p.catch(() => {});
    return p;
  }

  /** Enters the container's lifecycle lock and holds it until the returned function is called. */
  enter(c: Container): Promise<() => void> {
    return new Promise((entered) => {
      void this.locked(c, () => new Promise<void>((done) => entered(done)));
    });
  }

  async save(c: Container): Promise<void> {
    await writeJsonAtomic(join(this.dir, c.id, 'config.json'), c.rec);
  }

  /**
   * A failure the daemon goes on after (a cleanup step that left something behind), in the
   * daemon's log format: nothing the client asked for failed, but an operator may have to look.
   */
  warn(what: string, e: unknown): void {
    const msg = `${what}: ${e instanceof Error ? e.message : String(e)}`;
    if (this.o.warn) this.o.warn(msg);
    else process.stderr.write(`time="${new Date().toISOString()}" level=warn msg=${JSON.stringify(msg)}\n`);
  }

  /** The container's event attributes (image, name, labels). */
  attrs(c: Container): Record<string, string> {
    return { image: c.rec.Config.Image ?? '', name: c.rec.Name.slice(1), ...(c.rec.Config.Labels ?? {}) };
  }

  /** Where a remapped container's user namespace is bound while it runs. */
  usernsFile(c: Container): string { return join(this.o.execRoot, 'userns', c.id); }

  /** Does this container run in the remapped user namespace (remap on, not `--userns=host`)? */
  userns(hc: HostConfig): boolean { return !!this.o.idMap && hc.UsernsMode !== 'host'; }

  /** The marker of a freeze the daemon made for its own work (cp, export, commit). */
  frozenMarker(c: Container): string { return join(this.dir, c.id, 'daemon-frozen'); }

  async markFrozen(c: Container): Promise<void> {
    await writeJsonAtomic(this.frozenMarker(c), { at: new Date().toISOString() });
  }

  async unmarkFrozen(c: Container): Promise<void> {
    await rm(this.frozenMarker(c), { force: true });
    await fsyncDir(join(this.dir, c.id));
  }

  /** Removes what a container that never got its record left behind (or what a removal left). */
  async cleanupDebris(id: string): Promise<void> {
    await releaseNamespaceFile(join(this.o.execRoot, 'userns', id));
    const merged = this.snap.rootfsPath(id);
    if (await isMountPoint(merged)) await unmount(merged, { lazy: true });
    // Best effort: a runtime that never had this container refuses to delete it.
    for (const rt of this.o.runtimes.values()) await rt.delete(id, true).catch(() => {});
    // Best effort: the snapshot may never have been prepared.
    await this.snap.remove(id).catch(() => {});
    await rm(join(this.dir, id), { recursive: true, force: true });
    await rm(join(this.bundles, id), { recursive: true, force: true });
  }
}

/** Resolves the waiters a container's exit (`next-exit`: all but `removed`) or removal fires. */
export function resolveWaiters(c: Container, cond: 'next-exit' | 'removed', code: number, error?: string): void {
  const keep: Waiter[] = [];
  for (const w of c.waiters) {
    const fire = cond === 'removed' ? true : w.condition !== 'removed';
    if (fire) w.resolve({ StatusCode: code, Error: error ? { Message: error } : null });
    else keep.push(w);
  }
  c.waiters = keep;
}

export async function exists(p: string): Promise<boolean> { try { await stat(p); return true; } catch { return false; } }

// ---------------------------------------------------------------- start-up and reconciliation

/** Loads every record into the index (a directory without one is debris of a create, removed). */
export async function loadRecords(k: Core): Promise<void> {
  await mkdir(k.dir, { recursive: true });
  await mkdir(k.bundles, { recursive: true });
  for (const rt of k.o.runtimes.values()) {
    // Exit files arrive from conmon; inotify tells us at once.
    await mkdir(dirname(rt.exitFile('x')), { recursive: true });
  }
  await sweepDaemonMounts(k);
  for (const id of await readdir(k.dir)) {
    const rec = await readJson<ContainerRecord>(join(k.dir, id, 'config.json'));
    if (!rec) {
      // Created half-way when the daemon died: the record is the commit point, so this
      // container never existed for any client. Remove its debris.
      await k.cleanupDebris(id);
      continue;
    }
    k.add(new Container(rec));
  }
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
async function sweepDaemonMounts(k: Core): Promise<void> {
  const tops = new Set<string>();
  for (const p of await mountsUnder(k.dir)) {
    const m = /^[^/]+\/(?:archive-[^/]+|export-[^/]+|subpaths\/[^/]+)(?=\/|$)/.exec(p.slice(k.dir.length + 1));
    if (m) tops.add(join(k.dir, m[0]));
  }
  for (const t of tops) {
    // Best effort: already gone by the time we get here is as good as unmounted.
    await unmount(t, { lazy: true }).catch(() => {});
    await rmdir(t).catch(() => rm(t)).catch(() => { /* not empty or still busy: left alone */ });
  }
}

function shouldRestartAtBoot(c: Container): boolean {
  const p = c.rec.HostConfig.RestartPolicy?.Name ?? 'no';
  if (!c.rec.berth.hasBeenStarted || c.rec.berth.manuallyStopped) return false;
  return p === 'always' || p === 'unless-stopped';
}

/** Brings records in line with what really runs (after a restart or kill -9 of berthd). */
export async function reconcile(k: Core): Promise<void> {
  // Each runtime's containers in one `list` (one process, instead of a `state` per container:
  // 200 containers took 4.7 s to re-adopt that way). A container the list does not name is asked
  // about on its own, so a list that failed costs only time.
  const listed = new Map<string, Map<string, RuntimeState>>();
  for (const name of new Set([...k.byId.values()].map((c) => c.rec.berth.runtime))) {
    const rt = k.o.runtimes.get(name);
    const all = rt ? await rt.list().catch(() => []) : [];
    listed.set(name, new Map(all.map((x) => [x.id, { status: x.status as RuntimeState['status'], pid: x.pid }])));
  }
  for (const c of k.byId.values()) {
    // One container's trouble (a record the table refuses to move, a runtime that fails to
    // answer) must not stop the daemon from starting and bringing the others back.
    try { await reconcileOne(k, c, listed.get(c.rec.berth.runtime)?.get(c.id)); } catch (e) { k.warn(`reconcile of container ${c.id}`, e); }
  }
  // Mounts left by containers that no longer exist. Best effort: lazy unmounts rarely fail, and
  // one that does leaves only a mount of a removed container.
  for (const m of await mountsUnder(join(k.snap.rootfsPath('x'), '..', '..'))) {
    const id = m.split('/').slice(-2, -1)[0];
    if (!k.byId.get(id)?.running) await unmount(m, { lazy: true }).catch(() => {});
  }
}

async function reconcileOne(k: Core, c: Container, listed?: RuntimeState): Promise<void> {
  const rt = k.o.runtimes.get(c.rec.berth.runtime);
  const st = listed ?? (rt ? await rt.state(c.id) : undefined);
  if (st && (st.status === 'running' || st.status === 'paused')) {
    // A freeze of the daemon's own (cp, export, commit) that it did not live to undo: thawed,
    // so the container does not come back looking paused by its user.
    if (await exists(k.frozenMarker(c))) {
      if (st.status === 'paused') {
        await rt!.resume(c.id);
        st.status = 'running';
      }
      await k.unmarkFrozen(c);
    }
    // Re-adopted with the runtime's pid, whatever step the record was left at. A record that
    // already says so is not written again (a durable write per container is most of a restart).
    let s = transition(c.rec.State, 'running', { Pid: st.pid });
    if (st.status === 'paused') s = transition(s, 'paused');
    const same = c.rec.berth.hasBeenStarted && JSON.stringify(s) === JSON.stringify(c.rec.State);
    c.rec.State = s;
    c.rec.berth.hasBeenStarted = true;
    if (!same) await k.save(c);
    k.hooks.watchLog(c);
    // It may have exited between the state query and now.
    if (await exists(k.runtimeOf(c.rec.berth.runtime).exitFile(c.id))) await k.hooks.onExitFile(c.id);
    return;
  }
  if (st && st.status === 'created') {
    // Created but never started (the daemon died between create and start): undo. Best
    // effort: the runtime may already have lost it.
    await rt!.kill(c.id, 9).catch(() => {});
    await rt!.delete(c.id, true).catch(() => {});
  }
  if (c.rec.State.Running || c.rec.State.Status === 'restarting') {
    // It ended while we were away: take the exit code conmon recorded.
    await k.hooks.handleExit(c, { fromReconcile: true });
  } else {
    const merged = k.snap.rootfsPath(c.id);
    // Best effort: a mount still busy stays, and the next start uses it as it is (it mounts only when none is there).
    if (await isMountPoint(merged)) await unmount(merged).catch(() => {});
    await releaseNamespaceFile(k.usernsFile(c)); // a start that died half-way
    if (c.rec.HostConfig.AutoRemove && c.rec.berth.hasBeenStarted) await k.hooks.removeNow(c, { volumes: true });
    else if (shouldRestartAtBoot(c)) k.hooks.scheduleRestart(c, 0);
  }
}
