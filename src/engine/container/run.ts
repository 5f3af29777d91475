// One run of a container: ContainerRun acquires what a start needs (the rootfs and /dev/shm
// mounts, the user and network namespaces, the volumes, the OCI bundle) and gives it all back in
// one teardown(), used both when a start fails half-way and when the process has ended.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, EngineError, invalid, isEngineError } from '../../common/errors.ts';
import { trace } from '../../common/trace.ts';
import { isMountPoint, mountOverlay, mountTmpfs, unmount } from '../../sys/index.ts';
import { makeNetNamespaceIn, makeUserNamespace, releaseNamespaceFile } from '../../sys/namespaces.ts';
import { buildSpec, specToJson } from '../../runtime/oci-spec.ts';
import type { HostConfig } from '../../api/types/container.ts';
import { connectAttach } from './attach.ts';
import { exists, resolveWaiters, type Container, type Core } from './record.ts';
import { transition } from './state.ts';
import { exitCodeForStartError, startErrorHint } from './start-error.ts';
import { extraHostsOf, hostsFile, links, netTarget, networkEvents, resolvConf, volumeMountEvents, volumeUnmountEvents } from './network.ts';

/**
 * Unmounts a container's host /dev/shm (<dir>/shm) if it has one: only a shareable container
 * does (and a private one an older berth started). The mount table is asked first, as a umount
 * is a fork. Best effort, idempotent.
 */
export async function releaseHostShm(k: Core, c: Container): Promise<void> {
  const shm = join(k.dir, c.id, 'shm');
  if (await isMountPoint(shm)) await unmount(shm, { lazy: true }).catch(() => {});
}

export class ContainerRun {
  readonly #k: Core;
  readonly #c: Container;
  readonly merged: string;
  readonly bundle: string;
  /** What is held (teardown gives back only that). */
  #mounted = false;
  #netUp = false;
  #volumesUp = false;
  /** The runtime has the container (its record and cgroup), maybe a live process. */
  #created = false;
  /** Volume subpaths bound for runc (volume/local.ts setUp): detached once runc has its mounts. */
  #releaseStaged?: () => Promise<void>;

  constructor(k: Core, c: Container) {
    this.#k = k;
    this.#c = c;
    this.merged = k.snap.rootfsPath(c.id);
    this.bundle = join(k.bundles, c.id);
  }

  /**
   * The run of a container whose process has ended: everything a start acquires is taken to
   * be held (the run may be of the daemon's previous life), and every release is idempotent.
   */
  static ended(k: Core, c: Container): ContainerRun {
    const r = new ContainerRun(k, c);
    r.#mounted = r.#netUp = r.#volumesUp = true;
    r.#created = true;
    return r;
  }

  /** Mounts, namespaces, network, volumes and the bundle (config.json written). */
  async acquire(T: (phase: string) => void): Promise<void> {
    const k = this.#k;
    const c = this.#c;
    const rec = c.rec;
    const merged = this.merged;
    // The rootfs and /dev/shm mounts are independent: make them together.
    const [, shm] = await Promise.all([
      (async () => {
        if (!(await isMountPoint(merged))) await mountOverlay(merged, await k.snap.mounts(c.id));
        this.#mounted = true;
      })(),
      this.#shmMount(),
    ]);
    T('mount');
    await mkdir(this.bundle, { recursive: true });
    const namespaces = this.#namespaces(rec.HostConfig);
    // A remapped container's user namespace comes first, its network namespace inside it.
    let makeNetns: ((path: string) => Promise<void>) | undefined;
    if (k.userns(rec.HostConfig)) {
      namespaces.user = this.#joinedUserns(rec.HostConfig) ?? (await this.#makeUserns());
      const userFile = namespaces.user;
      makeNetns = (path) => makeNetNamespaceIn(userFile, path);
    }
    const net = await k.net.setUp({ ...netTarget(c), makeNetns });
    this.#netUp = true;
    if (net.netnsPath) namespaces.network = net.netnsPath;
    rec.berth.endpoints = net.endpoints;
    networkEvents(k, c, 'connect', net.endpoints);
    const ln = links(k, c);
    // Docker's /etc/hosts names the container by its addresses on its first network.
    const first = net.endpoints?.[0];
    const self = first ? [`${first.ip}\t${rec.Config.Hostname}`, ...(first.ip6 ? [`${first.ip6}\t${rec.Config.Hostname}`] : [])].join('\n') : undefined;
    if (self || ln.hosts.length) await writeFile(rec.HostsPath, hostsFile(extraHostsOf(k, rec.HostConfig), self, ln.hosts));
    // The embedded DNS serves containers on user networks: resolv.conf names it.
    if ((rec.HostConfig.NetworkMode || 'default') !== 'host') await writeFile(rec.ResolvConfPath, await resolvConf(rec.HostConfig, net.nameservers));
    const volumes = await k.o.volumes.setUp(rec.Mounts ?? [], merged, join(k.dir, c.id, 'subpaths'));
    this.#releaseStaged = volumes.release;
    this.#volumesUp = true;
    volumeMountEvents(k, c);
    const spec = await buildSpec({
      id: c.id,
      rootfs: merged,
      config: ln.env.length ? { ...rec.Config, Env: [...ln.env, ...(rec.Config.Env ?? [])] } : rec.Config,
      hostConfig: rec.HostConfig,
      args: [rec.Path, ...rec.Args],
      cgroupsPath: `/${k.o.cgroupParent}/${c.id}`,
      namespaces,
      extraMounts: [
        { destination: '/etc/resolv.conf', type: 'bind', source: rec.ResolvConfPath, options: ['rbind', 'rprivate'] },
        { destination: '/etc/hostname', type: 'bind', source: rec.HostnamePath, options: ['rbind', 'rprivate'] },
        { destination: '/etc/hosts', type: 'bind', source: rec.HostsPath, options: ['rbind', 'rprivate'] },
        ...(shm ? [{ destination: '/dev/shm', type: 'bind', source: shm, options: ['rbind', 'rprivate'] }] : []),
        ...volumes.mounts,
      ],
      initPath: rec.HostConfig.Init ? k.o.initPath : undefined,
      idMap: namespaces.user ? k.o.idMap : undefined,
    });
    await writeFile(join(this.bundle, 'config.json'), specToJson(spec));
    T('spec');
  }

  /** The runtime has made the container (from here on teardown deletes it). */
  created(): void { this.#created = true; }

  /** runc has its mounts: the staged volume subpaths are detached. */
  async releaseStaged(): Promise<void> {
    const release = this.#releaseStaged;
    this.#releaseStaged = undefined;
    await release?.();
  }

  /**
   * Gives back everything the run holds. The runtime's record and cgroup, the network, the user
   * namespace, the rootfs and /dev/shm mounts and the bundle are independent, released together;
   * then dockerd's events of a container's end: network disconnects, volume unmounts.
   * `kill`: a failed start, whose process may be alive (it is killed first).
   */
  async teardown(o: { kill?: boolean } = {}): Promise<void> {
    const k = this.#k;
    const c = this.#c;
    const rt = k.runtimeOf(c.rec.berth.runtime);
    const merged = this.merged;
    // Best effort: a process that is already gone cannot be killed, and the delete below is what counts.
    if (o.kill && this.#created) await rt.kill(c.id, 9).catch(() => {});
    await this.releaseStaged();
    await Promise.all([
      this.#netUp && k.net.tearDown(netTarget(c)).catch((e) => k.warn(`network teardown of container ${c.id}`, e)),
      this.#created && rt.delete(c.id, true).catch((e) => k.warn(`runtime delete of container ${c.id}`, e)),
      releaseNamespaceFile(k.usernsFile(c)),
      this.#mounted && unmount(merged).catch(() => unmount(merged, { lazy: true }).catch((e) => k.warn(`unmount of ${merged}`, e))),
      rm(this.bundle, { recursive: true, force: true }),
      releaseHostShm(k, c),
    ]);
    if (this.#created) c.runtimeDeleted = true;
    if (this.#netUp) networkEvents(k, c, 'disconnect', c.rec.berth.endpoints);
    if (this.#volumesUp) volumeUnmountEvents(k, c);
    if (this.#netUp) c.rec.berth.endpoints = undefined;
  }

  #namespaces(hc: HostConfig): { network?: string; pid?: string; ipc?: string; uts?: string; user?: string } {
    const ns = (mode: string | undefined, kind: string): string | undefined => {
      if (!mode || mode === 'private' || mode === 'shareable' || mode === 'default' || mode === 'bridge' || mode === 'none') return undefined;
      if (mode === 'host') return 'host';
      const m = /^container:(.+)$/.exec(mode);
      if (m) {
        const other = this.#k.get(m[1]);
        if (!other.running) throw conflict(`cannot join namespace of a non running container ${other.id}`);
        return `/proc/${other.rec.State.Pid}/ns/${kind}`;
      }
      if (kind === 'net') return undefined; // a user network: the networking step makes the namespace
      throw invalid(`invalid ${kind} mode: ${mode}`);
    };
    return { network: ns(hc.NetworkMode, 'net'), pid: ns(hc.PidMode, 'pid'), ipc: ns(hc.IpcMode, 'ipc'), uts: ns(hc.UTSMode, 'uts') };
  }

  /**
   * /dev/shm as Docker makes it. IpcMode private (the default): none here, the runtime mounts a
   * tmpfs of ShmSize in the container (the spec's own /dev/shm). shareable: a host tmpfs
   * (<dir>/shm) bound in, which IpcMode container:<id> binds too; joining the IPC of a container
   * without one is refused, as dockerd refuses it.
   */
  async #shmMount(): Promise<string | undefined> {
    const k = this.#k;
    const c = this.#c;
    const mode = c.rec.HostConfig.IpcMode ?? '';
    if (mode === 'host' || mode === 'none' || mode === 'private' || mode === '') return undefined;
    const m = /^container:(.+)$/.exec(mode);
    if (m) {
      const other = k.get(m[1]);
      if (!other.running) return undefined; // (#namespaces refuses it, as dockerd does first)
      const p = join(k.dir, other.id, 'shm');
      if (!(await isMountPoint(p))) throw invalid(`container ${other.id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
      return p;
    }
    const p = join(k.dir, c.id, 'shm');
    await mkdir(p, { recursive: true });
    // A remapped container's root owns its /dev/shm, as dockerd mounts it.
    const owner = k.userns(c.rec.HostConfig) ? `,uid=${k.o.idMap!.root.uid},gid=${k.o.idMap!.root.gid}` : '';
    if (!(await isMountPoint(p))) await mountTmpfs(p, `nosuid,nodev,noexec,mode=1777,size=${c.rec.HostConfig.ShmSize || 64 << 20}${owner}`);
    return p;
  }

  async #makeUserns(): Promise<string> {
    const file = this.#k.usernsFile(this.#c);
    await releaseNamespaceFile(file); // debris of a crash
    await makeUserNamespace(this.#k.o.idMap!, file);
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
      const other = this.#k.get(m[1]);
      if (this.#k.userns(other.rec.HostConfig) && other.rec.State.Pid) return `/proc/${other.rec.State.Pid}/ns/user`;
    }
    return undefined;
  }
}

/**
 * Starts a container (under its lock): the run's resources, the runtime's create, the attach
 * sessions waiting for it, the runtime's start, then `running` saved and reported. A start that
 * fails gives everything back and keeps the record with the error, as Docker does.
 */
export async function startNow(k: Core, c: Container): Promise<void> {
  const T = trace('start');
  const rec = c.rec;
  const rt = k.runtimeOf(rec.berth.runtime);
  const persist = join(k.dir, c.id, 'conmon');
  const run = new ContainerRun(k, c);
  try {
    await run.acquire(T);
    await rm(rt.exitFile(c.id), { force: true });
    await rm(join(persist, 'exit'), { force: true });
    await rm(join(persist, 'oom'), { force: true });
    c.exitHandled = false;
    c.runtimeDeleted = false;
    const { pid, conmonPid } = await rt.create({
      id: c.id,
      bundle: run.bundle,
      persistDir: persist,
      logPath: rec.LogPath ? `k8s-file:${rec.LogPath}` : undefined,
      terminal: !!rec.Config.Tty,
      stdin: !!rec.Config.OpenStdin,
      leaveStdinOpen: !(rec.Config.StdinOnce && !rec.Config.Tty),
      name: rec.Name.slice(1),
    });
    run.created();
    T('create');
    await run.releaseStaged();
    // Attach before start, or the first output is lost (conmon buffers nothing for sockets).
    if (c.pendingAttach.length > 0) {
      const conn = await connectAttach(k, c);
      const pending = c.pendingAttach.splice(0);
      for (const p of pending) if (conn) p.bind(conn); else p.fail();
    }
    await rt.start(c.id, pid);
    T('runc start');
    rec.State = transition(rec.State, 'running', { Pid: pid, OOMKilled: false, ExitCode: 0, Error: '', StartedAt: new Date().toISOString() });
    rec.berth.conmonPid = conmonPid;
    rec.berth.hasBeenStarted = true;
    await k.save(c);
    T('save');
    k.events.emit('container', 'start', c.id, k.attrs(c));
    k.hooks.watchLog(c);
    // A process that ended before we saved `running` has its exit file already.
    if (await exists(rt.exitFile(c.id))) void k.hooks.onExitFile(c.id);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    await run.teardown({ kill: true });
    c.attach?.close();
    c.attach = undefined;
    for (const p of c.pendingAttach.splice(0)) p.fail();
    // Docker keeps the record with the error and an exit code saying why (127: not found,
    // 126: cannot invoke), and the CLI maps the same texts to its own exit status.
    rec.State = transition(rec.State, rec.berth.hasBeenStarted ? 'exited' : 'created', { Error: msg, ExitCode: exitCodeForStartError(msg) });
    await k.save(c).catch((err) => k.warn(`saving container ${c.id} after its failed start`, err));
    k.events.emit('container', 'die', c.id, { ...k.attrs(c), exitCode: String(rec.State.ExitCode) });
    resolveWaiters(c, 'next-exit', rec.State.ExitCode, msg);
    if (rec.HostConfig.AutoRemove) void k.hooks.removeNow(c, { volumes: true }).catch((err) => k.warn(`auto-removal of container ${c.id}`, err));
    if (isEngineError(e) && e.code === 'RuntimeCreate') throw new EngineError(rec.State.ExitCode === 126 || rec.State.ExitCode === 127 ? 'InvalidParameter' : 'System', `failed to create task for container: failed to create shim task: ${msg}: unknown${startErrorHint(msg)}`);
    throw e;
  }
}
