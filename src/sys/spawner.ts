// berthd's programs started by berth-spawn (berth-spawn.c beside this file: why, and its
// protocol): one long-lived helper instead of a fork of the daemon per program. The daemon turns
// it on at start (sys/index.ts's useSpawner); without it (no compiler at build time,
// BERTH_SPAWNER=0, or the helper gone) programs are forked by Node as before.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import { Readable, Writable } from 'node:stream';

export interface SpawnedResult { code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: Buffer }

/** A veth pair: `hostIf` on `bridge`, `nsIf` (with the addresses and default routes given) in the namespace at `netnsPath`. */
export interface VethRequest {
  netnsPath: string; hostIf: string; bridge: string; nsIf: string; mac?: string; mtu?: number;
  address: string; gateway?: string; address6?: string; gateway6?: string;
}

/** A child's fd: not there (/dev/null), or a pipe the child writes ('read' here) or reads ('write'). */
export type StdioMode = 'ignore' | 'read' | 'write';

const T_RUN = 1, T_SPAWN = 2, T_WRITE = 3, T_CLOSE = 4, T_MOUNT = 5, T_VETH = 6;
const R_RESULT = 1, R_STARTED = 2, R_DATA = 3, R_EOF = 4, R_EXIT = 5;

const signalNames = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([k, v]) => [v, k as NodeJS.Signals]));
const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));

function startError(file: string, errno: number): NodeJS.ErrnoException {
  const code = errnoNames.get(errno) ?? `errno ${errno}`;
  return Object.assign(new Error(`spawn ${file} ${code}`), { code, errno: -errno, syscall: `spawn ${file}`, path: file });
}

/**
 * A program started with SPAWN: the parts of a ChildProcess that berth's callers use. `pid` is
 * known once 'spawn' was emitted (before any of its output); 'exit' (code, signal) and 'error'
 * (it could not be started) as with Node.
 */
export class SpawnedChild extends EventEmitter {
  pid: number | undefined;
  readonly stdio: (Readable | Writable | null)[] = [];
  get stderr(): Readable | null { return (this.stdio[2] as Readable | undefined) ?? null; }
  unref(): void { /* the helper's pipe is what the event loop sees (Spawner) */ }
}

interface RunPending { kind: 'run'; resolve: (r: SpawnedResult) => void; reject: (e: Error) => void; file: string }
interface SpawnPending { kind: 'spawn'; child: SpawnedChild; file: string; exited: boolean; pipesOpen: number }

export class Spawner {
  #proc: ChildProcess;
  #next = 1;
  #pending = new Map<number, RunPending | SpawnPending>();
  /** RUNs without their result, SPAWNs not ended or with pipes open: the event loop is kept alive. */
  #active = 0;
  #buf: Buffer = Buffer.alloc(0);
  #dead = false;
  readonly done: Promise<void>;

  constructor(path: string, onExit: (why: string) => void) {
    this.#proc = spawn(path, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#proc.stdout!.on('data', (d: Buffer) => this.#onData(d));
    this.#proc.stdin!.on('error', () => {}); // its exit below says what happened
    this.done = new Promise((resolve) => {
      const gone = (why: string) => {
        if (this.#dead) return;
        this.#dead = true;
        for (const p of this.#pending.values()) {
          const e = new Error(`${p.file}: berth-spawn ended (${why}) before the program's result`);
          if (p.kind === 'run') p.reject(e);
          else {
            // Its pipes end as if the program had closed them (readers see 'end'), and it ends.
            for (const s of p.child.stdio) {
              if (s instanceof Readable) { if (!s.readableEnded && !s.destroyed) s.push(null); } else s?.destroy();
            }
            if (!p.exited) p.child.emit('exit', null, 'SIGKILL');
          }
        }
        this.#pending.clear();
        onExit(why);
        resolve();
      };
      this.#proc.on('error', (e) => gone(e.message));
      this.#proc.on('exit', (code, sig) => gone(sig ? `signal ${sig}` : `exit status ${code}`));
    });
    // Idle, it must not keep the daemon's event loop alive; while a program runs, its reply must.
    this.#proc.unref();
    this.#pipe('stdin').unref?.();
    this.#pipe('stdout').unref?.();
  }

  #pipe(which: 'stdin' | 'stdout'): { ref?: () => void; unref?: () => void } {
    return this.#proc[which] as unknown as { ref?: () => void; unref?: () => void };
  }

  #activate(d: 1 | -1): void {
    this.#active += d;
    if (d === 1 && this.#active === 1) this.#pipe('stdout').ref?.();
    if (d === -1 && this.#active === 0) this.#pipe('stdout').unref?.();
  }

  get alive(): boolean { return !this.#dead; }

  #send(type: number, fields: number[], ...data: Buffer[]): void {
    const head = Buffer.alloc(8 + 4 * fields.length);
    const len = head.length - 4 + data.reduce((a, b) => a + b.length, 0);
    head.writeUInt32LE(len, 0);
    head.writeUInt32LE(type, 4);
    fields.forEach((f, i) => head.writeUInt32LE(f >>> 0, 8 + 4 * i));
    this.#proc.stdin!.write(data.length ? Buffer.concat([head, ...data]) : head);
  }

  /**
   * The request's strings, each NUL-terminated. A NUL inside one would split it into two on the
   * helper's side (an argument injected), so it is refused as Node's spawn refuses it.
   */
  static #strings(file: string, args: string[], cwd: string | undefined, env: NodeJS.ProcessEnv | undefined): { envc: number; strs: Buffer } {
    const parts: [string, string][] = [['file', file], ...args.map((a, i): [string, string] => [`args[${i}]`, a]), ['options.cwd', cwd ?? '']];
    let envc = 0xffffffff;
    if (env) {
      const vars = Object.entries(env).filter(([, v]) => v !== undefined);
      envc = vars.length;
      for (const [k, v] of vars) parts.push([`options.env['${k}']`, `${k}=${v}`]);
    }
    for (const [name, value] of parts) {
      if (value.includes('\0')) {
        throw Object.assign(new TypeError(`The argument '${name}' must be a string without null bytes. Received ${JSON.stringify(value)}`), { code: 'ERR_INVALID_ARG_VALUE' });
      }
    }
    return { envc, strs: Buffer.from(parts.map(([, p]) => `${p}\0`).join('')) };
  }

  /** Runs `file args` to its end; rejects (code ENOENT, EACCES, ...) when it cannot be started. */
  run(file: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}): Promise<SpawnedResult> {
    if (this.#dead) return Promise.reject(new Error(`${file}: berth-spawn is not running`));
    let envc: number, strs: Buffer;
    try { ({ envc, strs } = Spawner.#strings(file, args, o.cwd, o.env)); } catch (e) { return Promise.reject(e as Error); }
    const id = this.#next++;
    const input = o.input === undefined ? Buffer.alloc(0) : Buffer.from(o.input);
    return new Promise((resolve, reject) => {
      this.#activate(1);
      this.#pending.set(id, { kind: 'run', resolve, reject, file });
      this.#send(T_RUN, [id, 1 + args.length, envc, input.length], strs, input);
    });
  }

  /**
   * mount(2) (`op` 'mount'), umount2(2) ('umount', `flags` its own) or a new network namespace
   * bound on `target` ('netns', an existing file) made by the helper's child, in `cwd` when given.
   * Resolves with the call's errno: 0 when it was done.
   */
  mount(op: 'mount' | 'umount' | 'netns', o: { source?: string; target: string; fstype?: string; flags?: number; data?: string; cwd?: string }): Promise<number> {
    const strs = [o.source ?? '', o.target, o.fstype ?? '', o.data ?? '', o.cwd ?? ''];
    return this.#call(T_MOUNT, [['mount', 'umount', 'netns'].indexOf(op), o.flags ?? 0], strs, `${op} ${o.target}`).then((r) => r.code ?? -1);
  }

  /**
   * A container's veth pair made and configured over rtnetlink by the helper's child (see
   * berth-spawn-net.c for the steps). Resolves with the errno (0: done) and, on failure, which
   * step failed and why.
   */
  veth(o: VethRequest): Promise<{ errno: number; message: string }> {
    const strs = [o.netnsPath, o.hostIf, o.bridge, o.nsIf, o.mac ?? '', o.address, o.gateway ?? '', o.address6 ?? '', o.gateway6 ?? ''];
    return this.#call(T_VETH, [o.mtu ?? 0], strs, `veth ${o.hostIf}`).then((r) => ({ errno: r.code ?? -1, message: r.stderr.toString() }));
  }

  /** A request (MOUNT, VETH) whose child makes system calls instead of running a program: its result as a RUN's. */
  #call(type: number, fields: number[], strs: string[], what: string): Promise<SpawnedResult> {
    if (this.#dead) return Promise.reject(new Error(`${what}: berth-spawn is not running`));
    // A NUL would end a string early on the helper's side and shift the rest (see #strings).
    if (strs.some((x) => x.includes('\0'))) return Promise.reject(Object.assign(new TypeError(`${what}: a name, path or option holds a NUL byte`), { code: 'ERR_INVALID_ARG_VALUE' }));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#activate(1);
      this.#pending.set(id, { kind: 'run', resolve, reject, file: what });
      this.#send(type, [id, ...fields], Buffer.from(strs.map((x) => `${x}\0`).join('')));
    });
  }

  /**
   * Starts `file args` with pipes on the fds `stdio` names (index = the child's fd), as Node's
   * spawn with 'pipe' would; `detached` puts it in a session of its own.
   */
  spawn(file: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; stdio: StdioMode[]; detached?: boolean }): SpawnedChild {
    // Thrown before anything is made, as Node's spawn throws.
    const { envc, strs } = Spawner.#strings(file, args, o.cwd, o.env);
    const child = new SpawnedChild();
    const id = this.#next++;
    const specs: number[] = [];
    const entry: SpawnPending = { kind: 'spawn', child, file, exited: false, pipesOpen: 0 };
    o.stdio.forEach((m, fd) => {
      if (m === 'ignore') { specs.push(fd); child.stdio[fd] = null; return; }
      specs.push(fd | ((m === 'write' ? 1 : 2) << 16));
      entry.pipesOpen++;
      // Done with a pipe: at its end-of-file (read) or when we close it (either).
      let done = false;
      const finished = () => { if (!done) { done = true; entry.pipesOpen--; this.#settle(id, entry); } };
      let closed = false;
      const close = () => {
        if (!closed && !this.#dead) { closed = true; this.#send(T_CLOSE, [id, fd]); }
        finished();
      };
      if (m === 'read') {
        const r = new Readable({ read() {}, destroy: (e, cb) => { close(); cb(e); } });
        r.once('end', finished);
        child.stdio[fd] = r;
      } else {
        child.stdio[fd] = new Writable({
          write: (chunk: Buffer, _enc, cb) => { if (!closed && !this.#dead) this.#send(T_WRITE, [id, fd], chunk); cb(); },
          final: (cb) => { close(); cb(); },
          destroy: (e, cb) => { close(); cb(e); },
        });
      }
    });
    if (this.#dead) {
      queueMicrotask(() => child.emit('error', new Error(`${file}: berth-spawn is not running`)));
      return child;
    }
    this.#activate(1);
    this.#pending.set(id, entry);
    this.#send(T_SPAWN, [id, 1 + args.length, envc, o.detached ? 1 : 0, specs.length, ...specs], strs);
    return child;
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
    while (this.#buf.length >= 4) {
      const len = this.#buf.readUInt32LE(0);
      if (this.#buf.length < 4 + len) break;
      const m = this.#buf.subarray(4, 4 + len);
      this.#buf = this.#buf.subarray(4 + len);
      this.#frame(m.readUInt32LE(0), m.readUInt32LE(4), m.subarray(8));
    }
  }

  #frame(type: number, id: number, m: Buffer): void {
    const p = this.#pending.get(id);
    if (!p) return;
    if (type === R_RESULT) {
      const kind = m.readUInt32LE(0);
      const value = m.readUInt32LE(4);
      this.#pending.delete(id);
      this.#activate(-1);
      if (p.kind === 'spawn') { p.child.emit('error', startError(p.file, value)); return; }
      if (kind === 2) { p.reject(startError(p.file, value)); return; }
      const ol = m.readUInt32LE(8);
      const el = m.readUInt32LE(12);
      // Copies: the frames share one buffer, which the next chunk would otherwise keep alive.
      const stdout = Buffer.from(m.subarray(16, 16 + ol));
      const stderr = Buffer.from(m.subarray(16 + ol, 16 + ol + el));
      p.resolve(kind === 1 ? { code: null, signal: signalNames.get(value) ?? null, stdout, stderr } : { code: value, signal: null, stdout, stderr });
      return;
    }
    if (p.kind !== 'spawn') return;
    const c = p.child;
    if (type === R_STARTED) {
      c.pid = m.readUInt32LE(0);
      c.emit('spawn');
    } else if (type === R_DATA || type === R_EOF) {
      const s = c.stdio[m.readUInt32LE(0)];
      if (s instanceof Readable && !s.destroyed) s.push(type === R_DATA ? Buffer.from(m.subarray(4)) : null);
    } else if (type === R_EXIT) {
      p.exited = true;
      const kind = m.readUInt32LE(0);
      const value = m.readUInt32LE(4);
      c.emit('exit', kind === 0 ? value : null, kind === 1 ? signalNames.get(value) ?? null : null);
      this.#settle(id, p);
    }
  }

  /** A SPAWN is forgotten (here, as in the helper) once it has ended and its pipes are done. */
  #settle(id: number, p: SpawnPending): void {
    if (!p.exited || p.pipesOpen > 0 || this.#pending.get(id) !== p) return;
    this.#pending.delete(id);
    this.#activate(-1);
  }

  /** Ends the helper (programs it started go on). */
  close(): void { this.#proc.stdin!.end(); }
}
