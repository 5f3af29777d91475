// An OciRuntime that runs any OCI runtime binary (runc by default) under conmon. The facts this
// relies on were checked on these machines (DESIGN.md "Facts learned"): conmon reads one byte
// from the start pipe (_OCI_STARTPIPE) before it runs `<runtime> create`, reports
// `{"data": <pid>}` (or `{"data": -1, "message": ...}`) on the sync pipe (_OCI_SYNCPIPE), and its
// daemonized half keeps that pipe open for the container's whole life — so we stop reading after
// the first message and wait for the launching process's `exit`, never for `close`.
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { system, EngineError } from '../common/errors.ts';
import { run, spawnProgram } from '../sys/index.ts';
import type { RuntimeResourceUpdate, OciRuntime, RuntimeCreateOptions, RuntimeExec, RuntimeExecOptions, RuntimeRunOptions, RuntimeState } from './runtime.ts';
import { conmonExec } from './conmon-exec.ts';
import { startByExecFifo, deleteStopped } from './runc-direct.ts';

export interface ConmonRuntimeOptions {
  name: string;
  /** Path of the OCI runtime binary (runc, crun, ...). */
  path: string;
  /** The runtime's state root (`--root`), unique per daemon instance. */
  root: string;
  /** Where conmon creates `<cuuid>/attach` and `<cuuid>/ctl`; kept short (107-byte limit). */
  socketDir: string;
  exitDir: string;
  conmon?: string;
  extraArgs?: string[];
}

/**
 * `<runtime> update` flags for each field. These are the spellings of runc (1.1 here, and still
 * in 1.2 and later: `--cpu-share`, not `--cpu-shares`) and crun, checked against the installed
 * binaries' `update --help` by conmon-runtime.test.ts. `--flag=value`, so a negative value
 * (`--pids-limit=-1`) is never taken for a flag.
 */
export const UPDATE_FLAGS: Record<keyof RuntimeResourceUpdate, string> = {
  memory: '--memory', memorySwap: '--memory-swap', memoryReservation: '--memory-reservation',
  cpuShares: '--cpu-share', cpuPeriod: '--cpu-period', cpuQuota: '--cpu-quota',
  cpusetCpus: '--cpuset-cpus', cpusetMems: '--cpuset-mems', pidsLimit: '--pids-limit', blkioWeight: '--blkio-weight',
};

/** `update` and a flag per field given. */
export function runtimeUpdateArgs(u: RuntimeResourceUpdate): string[] {
  const args = ['update'];
  for (const [k, flag] of Object.entries(UPDATE_FLAGS) as [keyof RuntimeResourceUpdate, string][]) {
    const v = u[k];
    if (v !== undefined) args.push(`${flag}=${v}`);
  }
  return args;
}

/** conmon's socket directory name for a container: a short prefix keeps the path < 107 bytes. */
export const cuuidOf = (id: string) => id.slice(0, 12);

export class ConmonRuntime implements OciRuntime {
  readonly name: string;
  readonly path: string;
  #o: ConmonRuntimeOptions;
  /** runc: a created container's start and a stopped one's delete are done in-process (runc-direct.ts). */
  #direct = false;
  constructor(o: ConmonRuntimeOptions) {
    this.#o = o;
    this.name = o.name;
    this.path = o.path;
  }

  async init(): Promise<void> {
    await mkdir(this.#o.root, { recursive: true });
    await mkdir(this.#o.socketDir, { recursive: true });
    await mkdir(this.#o.exitDir, { recursive: true });
    const v = await run(this.#o.path, ['--version'], { allowFail: true }).catch(() => undefined);
    this.#direct = !!v && v.code === 0 && /^runc version 1\./.test(v.stdout);
  }

  #rt(args: string[]): string[] { return ['--root', this.#o.root, ...(this.#o.extraArgs ?? []), ...args]; }

  attachSocket(id: string): string { return join(this.#o.socketDir, cuuidOf(id), 'attach'); }
  ctlFile(id: string): string { return join(this.#o.socketDir, cuuidOf(id), 'ctl'); }
  exitFile(id: string): string { return join(this.#o.exitDir, id); }

  async create(o: RuntimeCreateOptions): Promise<{ pid: number; conmonPid: number }> {
    await mkdir(o.persistDir, { recursive: true });
    const args = [
      '--api-version', '1',
      '-c', o.id, '-u', cuuidOf(o.id), '-n', o.name,
      '-r', this.#o.path,
      '-b', o.bundle,
      '-p', join(o.persistDir, 'pidfile'),
      '-P', join(o.persistDir, 'conmon.pid'),
      '--exit-dir', this.#o.exitDir,
      '--persist-dir', o.persistDir,
      '--socket-dir-path', this.#o.socketDir,
      '-l', o.logPath ?? 'none:',
      '--log-level', 'error',
      '--no-sync-log',
    ];
    for (const a of this.#rt([])) args.push('--runtime-arg', a);
    if (o.logSizeMax) args.push('--log-size-max', String(o.logSizeMax));
    if (o.terminal) args.push('-t');
    if (o.stdin) args.push('-i');
    if (o.leaveStdinOpen) args.push('--leave-stdin-open');
    const child = spawnProgram(this.#o.conmon ?? 'conmon', args, {
      cwd: o.persistDir,
      // fd 3: sync pipe (conmon writes), fd 4: start pipe (we write one byte to go).
      stdio: ['ignore', 'ignore', 'read', 'read', 'write'],
      env: { ...process.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4' },
      detached: true,
    });
    const sync = child.stdio[3] as Readable;
    const start = child.stdio[4] as Writable;
    const stderr: Buffer[] = [];
    child.stderr!.on('data', (d: Buffer) => stderr.push(d));
    const exited = new Promise<number>((res) => child.on('exit', (c) => res(c ?? -1)));
    const spawnErr = new Promise<never>((_, rej) => child.on('error', (e) => rej(system(`conmon: ${e.message}`, e))));
    const msg = new Promise<{ data: number; message?: string }>((res, rej) => {
      let buf = '';
      sync.on('data', (d: Buffer) => {
        buf += d.toString();
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          try { res(JSON.parse(buf.slice(0, nl)) as { data: number; message?: string }); } catch (e) { rej(e); }
        }
      });
      sync.on('end', () => rej(system(`conmon exited without reporting: ${Buffer.concat(stderr).toString().trim()}`)));
      sync.on('error', () => {}); // conmon's exit shows as the 'end' above; a read error on this local pipe is not expected
    });
    start.on('error', () => {}); // EPIPE when conmon is gone: the sync pipe reports it
    start.end(Buffer.from([0]));
    const t0 = process.hrtime.bigint();
    const ms = () => (Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1);
    if (process.env.BERTH_TRACE) { void exited.then(() => process.stderr.write(`trace conmon launcher exit ${ms()}ms\n`)); }
    try {
      const m = await Promise.race([msg, spawnErr]);
      if (process.env.BERTH_TRACE) process.stderr.write(`trace conmon sync msg ${ms()}ms\n`);
      if (m.data < 0) {
        throw new EngineError('System', `OCI runtime create failed: ${cleanRuntimeMessage(m.message ?? 'unknown error')}`, { code: 'RuntimeCreate' });
      }
      // Only recorded: 0 when conmon wrote no pid file.
      const conmonPid = Number((await readFile(join(o.persistDir, 'conmon.pid'), 'utf8').catch(() => '0')).trim());
      return { pid: m.data, conmonPid };
    } catch (e) {
      // A failed create leaves nothing for the caller to undo: whatever state the runtime got
      // to write, and conmon's socket link, go now (e.g. crun refusing a cgroup v1-hybrid host).
      // e is what the caller gets; a container left `created` is undone by the containers'
      // reconcile at the next daemon start.
      await this.delete(o.id, true).catch(() => {});
      throw e;
    } finally {
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      sync.destroy();
      child.stderr!.destroy();
      child.unref();
    }
  }

  /** Starts an exec session under conmon (see conmon-exec.ts); resolves once it can be attached. */
  exec(o: RuntimeExecOptions): Promise<RuntimeExec> {
    return conmonExec({ conmon: this.#o.conmon ?? 'conmon', runtimePath: this.#o.path, runtimeArgs: this.#rt([]), socketDir: this.#o.socketDir, cuuid: cuuidOf(o.execId) }, o);
  }

  async start(id: string, pid?: number): Promise<void> {
    if (this.#direct && pid && await startByExecFifo(join(this.#o.root, id, 'exec.fifo'), pid)) return;
    const r = await run(this.#o.path, this.#rt(['start', id]), { allowFail: true });
    if (r.code !== 0) throw new EngineError('System', `OCI runtime start failed: ${cleanRuntimeMessage(r.stderr)}`, { code: 'RuntimeStart' });
  }

  async kill(id: string, signal: number, all = false): Promise<void> {
    const r = await run(this.#o.path, this.#rt(['kill', ...(all ? ['--all'] : []), id, String(signal)]), { allowFail: true });
    if (r.code !== 0 && !/not running|does not exist|process already finished/i.test(r.stderr)) {
      throw system(`OCI runtime kill failed: ${cleanRuntimeMessage(r.stderr)}`);
    }
  }

  async pause(id: string): Promise<void> { await run(this.#o.path, this.#rt(['pause', id])); }
  async resume(id: string): Promise<void> { await run(this.#o.path, this.#rt(['resume', id])); }

  async update(id: string, u: RuntimeResourceUpdate): Promise<void> {
    const args = runtimeUpdateArgs(u);
    if (args.length === 1) return;
    const r = await run(this.#o.path, this.#rt([...args, id]), { allowFail: true });
    if (r.code !== 0) throw system(`Cannot update container ${id}: ${cleanRuntimeMessage(r.stderr)}`);
  }

  async delete(id: string, force = false): Promise<void> {
    if (!(this.#direct && await deleteStopped(this.#o.root, id))) {
      const r = await run(this.#o.path, this.#rt(['delete', ...(force ? ['--force'] : []), id]), { allowFail: true });
      if (r.code !== 0 && !/does not exist|not found/i.test(r.stderr)) throw system(`OCI runtime delete failed: ${cleanRuntimeMessage(r.stderr)}`);
    }
    // conmon's `<socket-dir>/<cuuid>` is a symlink to the bundle (where the attach socket and
    // ctl fifo live) that conmon never removes; without this, one dangling link per run stays.
    await rm(join(this.#o.socketDir, cuuidOf(id)), { force: true });
  }

  async state(id: string): Promise<RuntimeState | undefined> {
    const r = await run(this.#o.path, this.#rt(['state', id]), { allowFail: true });
    if (r.code !== 0) return undefined;
    const s = JSON.parse(r.stdout) as { status: RuntimeState['status']; pid: number };
    return { status: s.status, pid: s.pid };
  }

  async run(o: RuntimeRunOptions): Promise<number> {
    // runc's own messages go to a log file, so they are not mixed with the container's stderr
    // (in the foreground the container inherits runc's stdio).
    const logFile = join(o.bundle, 'runtime.log');
    const child = spawn(this.#o.path, ['--root', this.#o.root, '--log', logFile, '--log-format', 'json', ...(this.#o.extraArgs ?? []), 'run', '--bundle', o.bundle, o.id], {
      cwd: o.bundle,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => o.onOutput(c, 'stdout'));
    child.stderr!.on('data', (c: Buffer) => o.onOutput(c, 'stderr'));
    // kill() already takes a gone container as done; on any other failure the step runs to its end
    // and the cancel is reported then.
    const onAbort = () => { void this.kill(o.id, 9, true).catch(() => {}); };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const code = await new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (c, sig) => resolve(c ?? (sig ? 128 + 9 : 1)));
      });
      if (o.signal?.aborted) throw new EngineError('System', 'build canceled', { code: 'Canceled' });
      if (code !== 0) {
        let log = '';
        try { log = await readFile(logFile, 'utf8'); } catch { /* no log: the container ran */ }
        const errors = log.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l) as { level?: string; msg?: string }; } catch { return {}; } })
          .filter((m) => m.level === 'error' || m.level === 'fatal');
        if (errors.length) throw new EngineError('System', `OCI runtime create failed: ${errors[errors.length - 1].msg}`, { code: 'RuntimeCreate' });
      }
      return code;
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      // The run's code (or error) is what counts; a `build-` container left behind is deleted by
      // the engine's build cleanup at the next start.
      await this.delete(o.id, true).catch(() => {});
    }
  }

  async list(): Promise<{ id: string; status: string; pid: number }[]> {
    try { await readdir(this.#o.root); } catch { return []; }
    const r = await run(this.#o.path, this.#rt(['list', '--format', 'json']), { allowFail: true });
    if (r.code !== 0 || !r.stdout.trim() || r.stdout.trim() === 'null') return [];
    return (JSON.parse(r.stdout) as { id: string; status: string; pid: number }[]).map((c) => ({ id: c.id, status: c.status, pid: c.pid }));
  }
}

/** runc prints `time=... level=error msg="..."`; keep just the message, as Docker shows it. */
export function cleanRuntimeMessage(s: string): string {
  const lines = s.trim().split('\n').filter(Boolean);
  const msgs = lines.map((l) => {
    const m = /msg="((?:[^"\\]|\\.)*)"/.exec(l);
    return m ? m[1].replace(/\\"/g, '"').replace(/\\\\/g, '\\') : l;
  });
  return msgs[msgs.length - 1] ?? s.trim();
}
