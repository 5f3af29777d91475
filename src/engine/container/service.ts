// ContainerService: the container records, their state machine and lifecycle over the OCI
// runtime (conmon + runc), the snapshotter (rw layer) and the image service. The facade the
// routers, the engine and compose use; the work is in the modules beside it:
//   state.ts      the state machine (the only code that changes a record's State)
//   record.ts     the record, the index, load/save, reconcile at daemon start
//   create.ts     create, the config merge and create's checks
//   run.ts        one run's resources (acquire, teardown) and the start
//   monitor.ts    the exit, the restart policy, waiters
//   lifecycle.ts  start, stop, kill, restart, pause, rename, remove
//   network.ts    networks, links, the container's hosts and resolv.conf
//   attach.ts     attach, resize, logs
//   update.ts     docker update
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { conflict } from '../../common/errors.ts';
import { generateId } from '../../common/names.ts';
import { mountOverlay, unmount, isMountPoint } from '../../sys/index.ts';
import type { Snapshotter } from '../../store/snapshots/snapshotter.ts';
import { diffChanges, type Change } from '../../store/snapshots/diff-layer.ts';
import { createTreeTar } from '../../archive/tree-tar.ts';
import { specDefaults, type SpecDefaults } from '../../runtime/oci-spec.ts';
import type { EventBus } from '../events.ts';
import type { ImageService } from '../images.ts';
import type { LogEntry, ReadLogsOptions } from '../logs.ts';
import type { HostConfig } from '../../api/types/container.ts';
import { top } from '../top.ts';
import type { ArchiveAccess, ArchiveContainers } from '../container-archive.ts';
import type { ExecContainers, ExecTarget } from '../exec.ts';
import type { HealthState, HealthTarget } from '../health.ts';
import type { EndpointConfig } from '../../api/types/network.ts';
import { Core, loadRecords, reconcile, type Container, type ContainerRecord, type ContainerServiceOptions, type WaitResult } from './record.ts';
import { withHealth } from './state.ts';
import { create, type CreateOptions } from './create.ts';
import { handleExit, onExitFile, scheduleRestart, wait } from './monitor.ts';
import * as life from './lifecycle.ts';
import * as net from './network.ts';
import * as att from './attach.ts';
import { update } from './update.ts';

export type { ContainerRecord, ContainerServiceOptions } from './record.ts';
export type { ContainerState, ContainerStatus } from './state.ts';
export { ZERO_TIME } from './state.ts';
export type { CreateOptions } from './create.ts';
export type { AttachSession, AttachTarget } from './attach.ts';
export { mergeConfig } from './create.ts';
export { discardUnsupported } from './update.ts';
export { exitCodeForStartError } from './start-error.ts';
/** The HostConfig values a container gets when it leaves them unset (see hostConfigDefaults). */
export type { SpecDefaults as HostConfigDefaults } from '../../runtime/oci-spec.ts';


export class ContainerService implements ExecContainers, ArchiveContainers {
  readonly #k: Core;
  #watcher?: FSWatcher;
  #specDefaults?: Promise<SpecDefaults>;

  constructor(o: ContainerServiceOptions, snap: Snapshotter, images: ImageService, events: EventBus) {
    const k = new Core(o, snap, images, events);
    this.#k = k;
    k.hooks = {
      onExitFile: (id) => onExitFile(k, id),
      handleExit: (c, ho) => handleExit(k, c, ho),
      removeNow: (c, ro) => life.removeNow(k, c, ro),
      scheduleRestart: (c, delay) => scheduleRestart(k, c, delay),
      watchLog: (c) => att.watchLog(k, c),
    };
    o.volumes.usedBy = (name) => [...k.byId.values()].filter((c) => c.rec.Mounts?.some((m) => m.Type === 'volume' && m.Name === name)).map((c) => c.id);
    images.usedBy = (imageId) => [...k.byId.values()].filter((c) => c.rec.Image === imageId).map((c) => ({ id: c.id, running: c.running }));
  }

  // ---------------------------------------------------------------- start-up and shutdown

  async init(): Promise<void> {
    const k = this.#k;
    await loadRecords(k);
    const exitDir = dirname(k.runtimeOf(k.o.defaultRuntime).exitFile('x'));
    this.#watcher = watch(exitDir, (_ev, file) => { if (file) void onExitFile(k, String(file)); });
    await this.reconcile();
  }

  /** Brings records in line with what really runs (after a restart or kill -9 of berthd). */
  reconcile(): Promise<void> { return reconcile(this.#k); }

  async close(): Promise<void> {
    const k = this.#k;
    k.closing = true;
    this.#watcher?.close();
    k.rotator.close();
    for (const c of k.byId.values()) {
      if (c.restartTimer) clearTimeout(c.restartTimer);
      c.attach?.close();
    }
  }

  // ---------------------------------------------------------------- lookup

  list(): ContainerRecord[] { return [...this.#k.byId.values()].map((c) => c.rec); }
  inspect(ref: string): ContainerRecord { return this.#k.get(ref).rec; }
  exists(ref: string): boolean { return this.#k.find(ref) !== undefined; }
  runtimeNames(): string[] { return [...this.#k.o.runtimes.keys()]; }
  eventAttrs(id: string): Record<string, string> {
    const c = this.#k.byId.get(id);
    return c ? this.#k.attrs(c) : {};
  }
  async sizeRw(id: string): Promise<number> { return this.#k.snap.usage(id); }
  async graphDriver(id: string): Promise<Record<string, string>> { return this.#k.snap.graphDriverData(id); }

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

  // ---------------------------------------------------------------- health (HealthMonitor)

  healthTarget(id: string): HealthTarget | undefined {
    const c = this.#k.byId.get(id);
    if (!c) return undefined;
    const r = c.rec;
    return {
      id: c.id, running: r.State.Running, paused: r.State.Paused, startedAt: r.State.StartedAt,
      healthcheck: r.Config.Healthcheck, shell: r.Config.Shell, health: r.State.Health,
    };
  }

  /** A probe's result: in the record at once (inspect, ps), on disk in turn with lifecycle saves. */
  async setHealth(id: string, h: HealthState): Promise<void> {
    const k = this.#k;
    const c = k.byId.get(id);
    if (!c) return;
    c.rec.State = withHealth(c.rec.State, h);
    await k.locked(c, () => (k.byId.has(id) ? k.save(c) : Promise.resolve()));
  }

  // ---------------------------------------------------------------- lifecycle

  create(o: CreateOptions): Promise<{ Id: string; Warnings: string[] }> { return create(this.#k, o); }
  start(ref: string): Promise<void> { return life.start(this.#k, ref); }
  stop(ref: string, o: { signal?: string; timeout?: number } = {}): Promise<void> { return life.stop(this.#k, ref, o); }
  kill(ref: string, signal?: string): Promise<void> { return life.kill(this.#k, ref, signal); }
  restart(ref: string, o: { signal?: string; timeout?: number } = {}): Promise<void> { return life.restart(this.#k, ref, o); }
  pause(ref: string, o: { forDaemon?: boolean } = {}): Promise<void> { return life.pause(this.#k, ref, o); }
  unpause(ref: string, o: { forDaemon?: boolean } = {}): Promise<void> { return life.unpause(this.#k, ref, o); }
  rename(ref: string, newName: string): Promise<void> { return life.rename(this.#k, ref, newName); }
  remove(ref: string, o: { force?: boolean; volumes?: boolean } = {}): Promise<void> { return life.remove(this.#k, ref, o); }
  update(ref: string, body: Partial<HostConfig>): Promise<{ Warnings: string[] }> { return update(this.#k, ref, body); }
  /** POST /containers/{id}/wait. Registers the waiter at once (before the response is sent). */
  wait(ref: string, condition: string): Promise<WaitResult> { return wait(this.#k, ref, condition); }

  // ---------------------------------------------------------------- networks and links

  connectNetwork(ref: string, networkRef: string, cfg: EndpointConfig): Promise<void> { return net.connectNetwork(this.#k, ref, networkRef, cfg); }
  disconnectNetwork(ref: string, networkRef: string, force = false): Promise<void> { return net.disconnectNetwork(this.#k, ref, networkRef, force); }
  onNetwork(name: string): ContainerRecord[] { return net.onNetwork(this.#k, name); }
  removeLink(ref: string): Promise<void> { return net.removeLink(this.#k, ref); }

  // ---------------------------------------------------------------- attach and logs

  attachTarget(ref: string): att.AttachTarget { return att.attachTarget(this.#k, ref); }
  attach(ref: string, o: att.AttachOptions): Promise<att.AttachSession> { return att.attach(this.#k, ref, o); }
  resize(ref: string, h: number, w: number): Promise<void> { return att.resize(this.#k, ref, h, w); }
  /** `signal`: the request's, so a follow ends when the client goes away. */
  logs(ref: string, o: Omit<ReadLogsOptions, 'stopped'>): { tty: boolean; entries: AsyncGenerator<LogEntry> } {
    return att.logs(this.#k, ref, o);
  }

  // ---------------------------------------------------------------- what other services use

  /**
   * A running container for `exec`, with Docker's refusals (moby daemon.getActiveContainer):
   * 409 when it is not running, paused or restarting.
   */
  execTarget(ref: string): ExecTarget {
    const k = this.#k;
    const c = k.get(ref);
    if (c.rec.State.Status === 'restarting' || c.rec.State.Restarting) throw conflict(`Container ${c.id} is restarting, wait until the container is running`);
    if (!c.running) throw conflict(`container ${c.id} is not running`);
    if (c.rec.State.Paused) throw conflict(`Container ${c.id} is paused, unpause the container before exec`);
    return {
      id: c.id, name: c.rec.Name.slice(1), runtime: k.runtimeOf(c.rec.berth.runtime), bundle: join(k.bundles, c.id),
      rootfs: k.snap.rootfsPath(c.id), pid: c.rec.State.Pid, config: c.rec.Config, hostConfig: c.rec.HostConfig, attrs: k.attrs(c),
    };
  }

  /** `stats`: what a sample needs (the init pid of a running container). */
  statsTarget(ref: string): { id: string; name: string; running: boolean; pid: number } {
    const c = this.#k.get(ref);
    return { id: c.id, name: c.rec.Name, running: c.running && !!c.rec.State.Pid, pid: c.rec.State.Pid };
  }

  /** `top`: the host's ps over the container's cgroup (409 unless it runs). */
  async top(ref: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    const c = this.#k.get(ref);
    if (!c.running || !c.rec.State.Pid) throw conflict(`container ${c.id} is not running`);
    return top(c.rec.State.Pid, psArgs);
  }

  /**
   * `cp` (container-archive.ts): runs `fn` with what an archive operation needs, under the
   * container's lifecycle lock (no start, stop or pause meanwhile).
   */
  archiveAccess<T>(ref: string, fn: (a: ArchiveAccess) => Promise<T>): Promise<T> {
    const k = this.#k;
    const c = k.get(ref);
    return k.locked(c, () => {
      return fn({
        rec: c.rec, running: c.running, scratchDir: join(k.dir, c.id),
        snapMounts: () => k.snap.mounts(c.id), freeze: () => life.freeze(k, c), thaw: () => life.thaw(k, c),
        volumePath: (name) => k.o.volumes.mountpoint(name),
        idMap: k.o.idMap,
      });
    });
  }

  /**
   * `changes` (docker diff): the rw layer against the image (store/snapshots diffChanges). The
   * mount targets berth binds in (/etc/hosts, /etc/hostname, /etc/resolv.conf, /dev/shm) are not
   * changes, as Docker keeps them in an init layer; nor is a directory made only to hold one.
   */
  async changes(ref: string): Promise<Change[] | null> {
    const k = this.#k;
    const c = k.get(ref);
    const all = await diffChanges(k.snap.upperPath(c.id), await k.snap.lowerPaths(c.id));
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
    const k = this.#k;
    const c = k.get(ref);
    const merged = k.snap.rootfsPath(c.id);
    if (c.running && (await isMountPoint(merged))) return this.#exportRunning(c, merged);
    const m = await k.snap.mounts(c.id);
    const dir = join(k.dir, c.id, `export-${generateId().slice(0, 8)}`);
    await mkdir(dir, { recursive: true });
    try {
      await mountOverlay(dir, { cwd: m.cwd, lower: [relative(m.cwd, m.upper!), ...m.lower] });
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return {
      stream: createTreeTar(dir, { idMap: k.o.idMap }),
      release: async () => {
        await unmount(dir).catch(() => unmount(dir, { lazy: true }));
        // Best effort: a mount point still busy is swept at the next daemon start (record.ts).
        await rmdir(dir).catch(() => {});
      },
    };
  }

  async #exportRunning(c: Container, merged: string): Promise<{ stream: Readable; release: () => Promise<void> }> {
    const k = this.#k;
    const unlock = await k.enter(c);
    let frozen = false;
    try {
      if (!c.rec.State.Paused) { await life.freeze(k, c); frozen = true; }
      const stream = createTreeTar(merged, { idMap: k.o.idMap });
      let released = false;
      return {
        stream,
        release: async () => {
          if (released) return;
          released = true;
          try { if (frozen) await life.thaw(k, c); } finally { unlock(); }
        },
      };
    } catch (e) {
      try { if (frozen) await life.thaw(k, c); } finally { unlock(); }
      throw e;
    }
  }
}
