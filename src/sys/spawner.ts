// berthd's programs started by berth-spawn (berth-spawn.c beside this file: why, and its
// protocol): one long-lived helper instead of a fork of the daemon per program. The daemon turns
// it on at start (useSpawner); without it (no compiler at build time, BERTH_SPAWNER=0, or the
// helper gone) sys/index.ts's run() forks as before.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

export interface SpawnedResult { code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: Buffer }

interface Pending { resolve: (r: SpawnedResult) => void; reject: (e: Error) => void; file: string }

const signalNames = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([k, v]) => [v, k as NodeJS.Signals]));
const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));

export class Spawner {
  #proc: ChildProcess;
  #next = 1;
  #pending = new Map<number, Pending>();
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
        for (const p of this.#pending.values()) p.reject(new Error(`${p.file}: berth-spawn ended (${why}) before the program's result`));
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

  get alive(): boolean { return !this.#dead; }

  /** Runs `file args` to its end; rejects (code ENOENT, EACCES, ...) when it cannot be started. */
  run(file: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}): Promise<SpawnedResult> {
    if (this.#dead) return Promise.reject(new Error(`${file}: berth-spawn is not running`));
    const id = this.#next++;
    const strs: Buffer[] = [];
    const z = (s: string) => { strs.push(Buffer.from(s), Buffer.alloc(1)); };
    for (const a of [file, ...args]) z(a);
    z(o.cwd ?? '');
    let envc = 0xffffffff;
    if (o.env) {
      const vars = Object.entries(o.env).filter(([, v]) => v !== undefined);
      envc = vars.length;
      for (const [k, v] of vars) z(`${k}=${v}`);
    }
    const input = o.input === undefined ? Buffer.alloc(0) : Buffer.from(o.input);
    const head = Buffer.alloc(20);
    const body = Buffer.concat([...strs, input]);
    head.writeUInt32LE(16 + body.length, 0);
    head.writeUInt32LE(id, 4);
    head.writeUInt32LE(1 + args.length, 8);
    head.writeUInt32LE(envc, 12);
    head.writeUInt32LE(input.length, 16);
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#pipe('stdout').ref?.();
      this.#pending.set(id, { resolve, reject, file });
      this.#proc.stdin!.write(Buffer.concat([head, body]));
    });
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
    while (this.#buf.length >= 4) {
      const len = this.#buf.readUInt32LE(0);
      if (this.#buf.length < 4 + len) break;
      const m = this.#buf.subarray(4, 4 + len);
      this.#buf = this.#buf.subarray(4 + len);
      const id = m.readUInt32LE(0);
      const kind = m.readUInt32LE(4);
      const value = m.readUInt32LE(8);
      const ol = m.readUInt32LE(12);
      const el = m.readUInt32LE(16);
      const p = this.#pending.get(id);
      if (!p) continue;
      this.#pending.delete(id);
      if (this.#pending.size === 0) this.#pipe('stdout').unref?.();
      if (kind === 2) {
        const code = errnoNames.get(value) ?? `errno ${value}`;
        p.reject(Object.assign(new Error(`spawn ${p.file} ${code}`), { code, errno: -value, syscall: `spawn ${p.file}`, path: p.file }));
        continue;
      }
      // Copies: the replies share one buffer, which the next chunk would otherwise keep alive.
      const stdout = Buffer.from(m.subarray(20, 20 + ol));
      const stderr = Buffer.from(m.subarray(20 + ol, 20 + ol + el));
      p.resolve(kind === 1
        ? { code: null, signal: signalNames.get(value) ?? null, stdout, stderr }
        : { code: value, signal: null, stdout, stderr });
    }
  }

  /** Ends the helper (programs it started go on). */
  close(): void { this.#proc.stdin!.end(); }
}
