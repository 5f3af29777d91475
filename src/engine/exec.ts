// ExecService: `docker exec` sessions — processes started in a running container next to its
// main process, through the OCI runtime's `exec` (runc under conmon, see runtime/conmon-exec.ts).
//
// A session's states (Docker's ExecConfig): created → running → exited. `create` records the
// command (POST /containers/{id}/exec), `start` runs it once (POST /exec/{id}/start; a second
// start is a Conflict, as is any on a container that is not running), and the exit code stays
// readable (GET /exec/{id}/json) until the session expires. Worked through for
// `docker exec -it web sh`:
//
//   create(web, {Cmd: ['sh'], Tty: true, AttachStdin: true, ...})   → id, event exec_create
//   const s = begin(id)               (validation only: 404/409 before the connection is hijacked)
//   await s.run({onOutput, onEnd})    conmon prepares the session, the attach socket is connected,
//                                      the window size applied, then runc exec runs `sh`;
//                                      event exec_start, Running: true, Pid
//   resize(id, h, w)                  conmon's ctl fifo (stored until the session is ready)
//   `exit 3` in the shell             conmon drains the output, closes the socket, reports 3;
//                                      event exec_die, Running: false, ExitCode: 3, onEnd()
//
// Sessions live in memory only (as in Docker, they do not survive a daemon restart). Finished
// ones, and ones whose container has gone, are dropped after `expireMs`.
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { conflict, invalid, notFound, isEngineError } from '../common/errors.ts';
import { generateId } from '../common/names.ts';
import { CAPABILITY_NAMES, hostCapabilities } from '../runtime/capabilities.ts';
import type { OciProcess } from '../runtime/oci-spec.ts';
import type { OciRuntime, RuntimeExec } from '../runtime/runtime.ts';
import { resolveUser } from '../runtime/user.ts';
import { AttachConnection, type StreamKind } from './attach.ts';
import { startErrorHint } from './container/start-error.ts';
import type { ContainerConfig, HostConfig } from '../api/types/container.ts';
import type { EventBus } from './events.ts';
import { trace } from '../common/trace.ts';
import { parseDetachKeys } from '../common/detach-keys.ts';

/** ExecConfig (spec: POST /containers/{id}/exec body). */
export interface ExecCreateOptions {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  ConsoleSize?: number[] | null;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
}

/** The read view of a session (GET /exec/{id}/json is built from it). */
export interface ExecRecord {
  id: string;
  containerId: string;
  entrypoint: string;
  args: string[];
  tty: boolean;
  privileged: boolean;
  user: string;
  openStdin: boolean;
  openStdout: boolean;
  openStderr: boolean;
  /** The detach sequence as bytes (Docker keeps `[]byte`). */
  detachKeys: Buffer;
  running: boolean;
  exitCode: number | null;
  pid: number;
  canRemove: boolean;
}

/** Where a started session's output goes, and the signal that it is over. */
export interface ExecIO {
  onOutput: (stream: StreamKind, data: Buffer) => void;
  /** The output is drained and the exit code is known (inspect says so from here on). */
  onEnd: () => void;
}

export interface ExecSession {
  writeStdin: (d: Buffer) => void;
  /** EOF on the process's stdin. */
  closeStdin: () => void;
  /** The client goes away; the process keeps running. `keys`: by the detach keys (event exec_detach). */
  detach: (o?: { keys?: boolean }) => void;
}

/** How a start differs from the create: the start request's console size wins (API 1.42). */
export interface ExecStartOptions {
  consoleSize?: { h: number; w: number };
}

/** A validated start: `run` without `io` is a detached start. */
export interface ExecStart {
  tty: boolean;
  run: (io?: ExecIO, o?: ExecStartOptions) => Promise<ExecSession>;
  /** The client went away before `run`: the session can be started again. */
  cancel: () => void;
}

/** What an exec session needs of the running container it enters (ContainerService.execTarget). */
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

/** What ExecService needs of the containers. */
export interface ExecContainers {
  execTarget(ref: string): ExecTarget;
}

export interface ExecServiceOptions {
  /** Per-session directories (conmon's bundle: process.json, attach socket, ctl fifo). */
  stateDir: string;
  /** How long a finished session stays inspectable (Docker: up to 10 minutes). */
  expireMs?: number;
}

type ExecState = 'created' | 'running' | 'exited';

class Exec {
  rec: ExecRecord;
  state: ExecState = 'created';
  cfg: { env: string[]; workingDir: string; consoleSize?: { h: number; w: number } };
  session?: RuntimeExec;
  size?: { h: number; w: number };
  expiry?: NodeJS.Timeout;
  constructor(rec: ExecRecord, cfg: Exec['cfg']) { this.rec = rec; this.cfg = cfg; }
}

const DEFAULT_EXPIRE_MS = 5 * 60_000;

export class ExecService {
  #containers: ExecContainers;
  #events: EventBus;
  #o: ExecServiceOptions;
  #byId = new Map<string, Exec>();
  #unsubscribe?: () => void;
  #allCaps?: Promise<string[]>;

  constructor(o: ExecServiceOptions, containers: ExecContainers, events: EventBus) {
    this.#o = o;
    this.#containers = containers;
    this.#events = events;
  }

  init(): void {
    this.#unsubscribe = this.#events.subscribe((ev) => {
      if (ev.Type !== 'container') return;
      if (ev.Action === 'die') this.#containerEnded(ev.Actor.ID, false);
      else if (ev.Action === 'destroy') this.#containerEnded(ev.Actor.ID, true);
    });
  }

  close(): void {
    this.#unsubscribe?.();
    for (const e of this.#byId.values()) if (e.expiry) clearTimeout(e.expiry);
  }

  /**
   * The container stopped: its sessions' processes went with its PID namespace (killed here
   * too, for a container in the host's), never-started sessions can no longer start, and all
   * expire. Removed: they are gone at once.
   */
  #containerEnded(containerId: string, removed: boolean): void {
    for (const e of this.#byId.values()) {
      if (e.rec.containerId !== containerId) continue;
      if (e.state === 'running' && e.rec.pid > 0) { try { process.kill(e.rec.pid, 'SIGKILL'); } catch { /* already gone */ } }
      if (removed) { if (e.expiry) clearTimeout(e.expiry); this.#byId.delete(e.rec.id); continue; }
      e.rec.canRemove = true;
      if (e.state === 'created') this.#expire(e);
    }
  }

  #expire(e: Exec): void {
    if (e.expiry) clearTimeout(e.expiry);
    e.expiry = setTimeout(() => this.#byId.delete(e.rec.id), this.#o.expireMs ?? DEFAULT_EXPIRE_MS);
    e.expiry.unref();
  }

  #get(id: string): Exec {
    const e = this.#byId.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    return e;
  }

  // ---------------------------------------------------------------- create

  async create(ref: string, o: ExecCreateOptions): Promise<{ Id: string }> {
    if (!Array.isArray(o.Cmd) || o.Cmd.length === 0) throw invalid('No exec command specified');
    const t = this.#containers.execTarget(ref);
    const user = o.User ?? '';
    // Docker looks the user up now, so a typo fails the create (and again at start).
    if (user) await resolveUser(t.rootfs, user, t.hostConfig.GroupAdd);
    const workingDir = o.WorkingDir ?? '';
    if (workingDir && !posix.isAbsolute(workingDir)) throw invalid(`the working directory '${workingDir}' is invalid, it needs to be an absolute path`);
    let detachKeys: Buffer = Buffer.alloc(0);
    if (o.DetachKeys) {
      try { detachKeys = parseDetachKeys(o.DetachKeys); } catch { throw invalid(`Invalid escape keys (${o.DetachKeys}) provided`); }
    }
    const cs = o.ConsoleSize;
    const consoleSize = Array.isArray(cs) && cs.length === 2 && cs.every((n) => Number.isInteger(n) && n > 0) ? { h: cs[0], w: cs[1] } : undefined;
    const id = generateId();
    const [entrypoint, ...args] = o.Cmd.map(String);
    const rec: ExecRecord = {
      id, containerId: t.id, entrypoint, args, tty: !!o.Tty, privileged: !!o.Privileged,
      user: user || t.config.User || '',
      openStdin: !!o.AttachStdin, openStdout: !!o.AttachStdout, openStderr: !!o.AttachStderr,
      detachKeys, running: false, exitCode: null, pid: 0, canRemove: false,
    };
    this.#byId.set(id, new Exec(rec, { env: (o.Env ?? []).map(String), workingDir, consoleSize }));
    this.#events.emit('container', `exec_create: ${[entrypoint, ...args].join(' ')}`, t.id, { ...t.attrs, execID: id });
    return { Id: id };
  }

  // ---------------------------------------------------------------- read

  inspect(id: string): ExecRecord {
    const e = this.#get(id);
    return { ...e.rec, running: e.state === 'running' };
  }

  exists(id: string): boolean { return this.#byId.has(id); }

  /** A container's sessions that have not finished (inspect's `ExecIDs`). */
  idsOf(containerId: string): string[] {
    return [...this.#byId.values()].filter((e) => e.rec.containerId === containerId && e.state !== 'exited' && !e.rec.canRemove).map((e) => e.rec.id);
  }

  // ---------------------------------------------------------------- start

  /**
   * Validates a start (404 unknown session, 409 container not running, 409 already started)
   * and claims the session, synchronously, so the router can refuse before it hijacks.
   */
  begin(id: string): ExecStart {
    const e = this.#get(id);
    const t = this.#containers.execTarget(e.rec.containerId);
    if (e.state === 'exited') throw conflict(`exec command ${id} has already run`);
    if (e.state === 'running') throw conflict(`exec command ${id} is already running`);
    e.state = 'running';
    if (e.expiry) { clearTimeout(e.expiry); e.expiry = undefined; }
    let ran = false;
    return {
      tty: e.rec.tty,
      run: (io, o) => {
        ran = true;
        if (o?.consoleSize) e.cfg.consoleSize = o.consoleSize;
        return this.#run(e, t, io);
      },
      cancel: () => { if (!ran && e.state === 'running') e.state = 'created'; },
    };
  }

  async #run(e: Exec, t: ExecTarget, io?: ExecIO): Promise<ExecSession> {
    const cmd = [e.rec.entrypoint, ...e.rec.args].join(' ');
    this.#events.emit('container', `exec_start: ${cmd}`, t.id, { ...t.attrs, execID: e.rec.id });
    let session: RuntimeExec | undefined;
    let conn: AttachConnection | undefined;
    const T = trace('exec');
    // The session ends when both the exit code is known and the output is drained (conmon
    // closes the socket just before it reports the code): then inspect is already final when
    // the client, seeing the stream end, asks for the exit code.
    let outputDone = false;
    let exitDone = false;
    let ended = false;
    let detached = false;
    const finish = () => {
      if (ended || !outputDone || !exitDone) return;
      ended = true;
      if (!detached) io?.onEnd();
    };
    try {
      const proc = await this.#process(e, t);
      T('spec');
      const stdin = !!io && e.rec.openStdin;
      session = await t.runtime.exec({
        containerId: t.id, execId: e.rec.id, name: t.name, dir: join(this.#o.stateDir, e.rec.id),
        process: proc, terminal: e.rec.tty, stdin,
      });
      e.session = session;
      T('conmon ready');
      if (io) {
        const c = await AttachConnection.connect(session.attachSocket);
        c.setMaxListeners(0);
        // Listening from the moment it is connected: the process's first output can come before
        // its pid does (they travel different pipes), and an 'output' nobody listens to is lost.
        c.on('output', (kind: StreamKind, d: Buffer) => {
          if (detached) return;
          if (e.rec.tty || (kind === 1 && e.rec.openStdout) || (kind === 2 && e.rec.openStderr)) io.onOutput(kind, d);
        });
        c.once('end', () => { outputDone = true; finish(); });
        conn = c;
      }
      const size = e.size ?? e.cfg.consoleSize;
      // Safe to ignore: the control pipe closes when the process has already ended; a size is moot then.
      if (e.rec.tty && size) await this.#writeSize(session.ctlFile, size).catch(() => {});
      T('attached');
      e.rec.pid = await session.start();
      T('runc exec');
      void session.exited.then(() => T('exited'));
    } catch (err) {
      conn?.close();
      session?.abort();
      e.session = undefined;
      const msg = err instanceof Error ? err.message : String(err);
      e.state = 'exited';
      // dockerd records 126 for every exec that could not be started (its exec start's deferred
      // clean-up sets it over whatever the error's own mapping said).
      e.rec.exitCode = 126;
      e.rec.canRemove = true;
      this.#expire(e);
      if (isEngineError(err) && err.code === 'RuntimeExec') throw Object.assign(err, { message: `${msg}: unknown${startErrorHint(msg)}` });
      throw err;
    }
    const s = session;
    if (!conn) outputDone = true;
    void s.exited.then((code) => {
      e.state = 'exited';
      e.rec.exitCode = code;
      e.session = undefined;
      e.rec.canRemove = true;
      this.#events.emit('container', 'exec_die', t.id, { ...t.attrs, execID: e.rec.id, exitCode: String(code) });
      this.#expire(e);
      exitDone = true;
      // The socket normally closes first; never hold the client longer than a moment for it.
      if (!outputDone) setTimeout(() => { outputDone = true; conn?.close(); finish(); }, 2000).unref();
      finish();
    });
    return {
      writeStdin: (d) => { if (e.rec.openStdin) conn?.writeStdin(d); },
      closeStdin: () => { if (e.rec.openStdin) conn?.closeStdin(); },
      detach: (d = {}) => {
        if (detached) return;
        detached = true;
        if (d.keys) this.#events.emit('container', 'exec_detach', t.id, { ...t.attrs, execID: e.rec.id });
        // Closing our end of the attach socket would also close the process's stdin
        // (conmon runs exec sessions without --leave-stdin-open): keep it open for the
        // process's life when it reads stdin; output then goes nowhere, as with Docker.
        if (!e.rec.openStdin) conn?.close();
      },
    };
  }

  /** The process spec: the container's own (user, env, caps, rlimits, ...) with the exec's changes. */
  async #process(e: Exec, t: ExecTarget): Promise<OciProcess> {
    let spec: { process?: OciProcess };
    try {
      spec = JSON.parse(await readFile(join(t.bundle, 'config.json'), 'utf8')) as { process?: OciProcess };
    } catch (err) {
      throw conflict(`container ${t.id} is not running: ${(err as Error).message}`);
    }
    const base = spec.process ?? { user: { uid: 0, gid: 0 }, args: [], env: [], cwd: '/' };
    const env = execEnv(base.env ?? [], t.config, e.rec.tty, e.cfg.env);
    const p: OciProcess = {
      ...base,
      terminal: e.rec.tty,
      args: [e.rec.entrypoint, ...e.rec.args],
      env,
      cwd: e.cfg.workingDir || base.cwd || '/',
      user: e.rec.user && e.rec.user !== (t.config.User ?? '') ? await resolveUser(t.rootfs, e.rec.user, t.hostConfig.GroupAdd) : base.user,
    };
    delete p.consoleSize;
    const size = e.size ?? e.cfg.consoleSize;
    if (e.rec.tty && size) p.consoleSize = { height: size.h, width: size.w };
    if (e.rec.privileged) {
      // Docker's `exec --privileged`: every capability (this daemon holds; see capabilities.ts).
      this.#allCaps ??= hostCapabilities().then((c) => [...(c.available ?? CAPABILITY_NAMES)]);
      const all = await this.#allCaps;
      p.capabilities = { ...(base.capabilities ?? {}), bounding: [...all], effective: [...all], permitted: [...all] };
    }
    return p;
  }

  // ---------------------------------------------------------------- resize

  /** POST /exec/{id}/resize: through conmon's ctl fifo; kept for the start when it comes first. */
  async resize(id: string, h: number, w: number): Promise<void> {
    const e = this.#get(id);
    this.#containers.execTarget(e.rec.containerId);
    if (!e.rec.tty || h <= 0 || w <= 0) return;
    e.size = { h, w };
    // Safe to ignore, as at start: a process that just ended has no terminal to resize.
    if (e.session && e.state === 'running') await this.#writeSize(e.session.ctlFile, e.size).catch(() => {});
  }

  async #writeSize(ctl: string, s: { h: number; w: number }): Promise<void> {
    const { open } = await import('node:fs/promises');
    const { constants } = await import('node:fs');
    const fh = await open(ctl, constants.O_WRONLY | constants.O_NONBLOCK);
    try { await fh.write(`1 ${s.h} ${s.w}\n`); } finally { await fh.close(); }
  }
}

// ------------------------------------------------------------------ helpers

/**
 * The session's environment, as Docker builds it (container.CreateDaemonEnvironment, then
 * ReplaceOrAppendEnvValues): the container's (PATH, HOSTNAME, link variables, Config.Env), with
 * TERM=xterm following the exec's TTY rather than the container's, then the exec's Env over it
 * (`NAME` without `=` removes NAME).
 */
export function execEnv(containerEnv: readonly string[], config: { Tty?: boolean; Env?: string[] | null }, tty: boolean, overrides: readonly string[]): string[] {
  let env = [...containerEnv];
  const userTerm = (config.Env ?? []).some((v) => v === 'TERM' || v.startsWith('TERM='));
  if (!userTerm) {
    if (config.Tty && !tty) env = env.filter((v) => v !== 'TERM=xterm');
    if (!config.Tty && tty && !env.some((v) => v.startsWith('TERM='))) {
      const i = env.findIndex((v) => v.startsWith('HOSTNAME='));
      env.splice(i < 0 ? env.length : i + 1, 0, 'TERM=xterm');
    }
  }
  for (const v of overrides) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    const i = env.findIndex((x) => x === key || x.startsWith(`${key}=`));
    if (eq < 0) { if (i >= 0) env.splice(i, 1); continue; }
    if (i >= 0) env[i] = v; else env.push(v);
  }
  return env;
}
