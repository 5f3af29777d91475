// Changed paths gathered into batches, at a bounded rate (compose's BatchDebounceEvents, plus a
// ceiling): a batch is handed over once no change has come for `quietMs` (500 ms, compose's quiet
// period), or `maxWaitMs` after its first change when changes never stop coming (a build writing
// files for minutes still syncs every few seconds). One batch is handled at a time: changes that
// arrive meanwhile make up the next batch, handed over when the handler is done. A path is in a
// batch once, however often it changed.
//
//   const b = new Batcher((paths) => handle(paths), { quietMs: 500, maxWaitMs: 5000 });
//   b.push('/src/a.js'); b.push('/src/a.js'); b.push('/src/b.js');
//   … 500 ms later: handle(['/src/a.js', '/src/b.js'])
//   await b.close();   // what is pending is handed over, then nothing more
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(t: unknown): void;
  now(): number;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
  now: () => Date.now(),
};

export interface BatcherOptions {
  quietMs?: number;
  maxWaitMs?: number;
  timers?: Timers;
}

export class Batcher {
  readonly #handle: (paths: string[]) => Promise<void> | void;
  readonly #quiet: number;
  readonly #maxWait: number;
  readonly #t: Timers;
  #pending = new Set<string>();
  #first = 0;
  #timer: unknown;
  #busy: Promise<void> | undefined;
  #closed = false;
  /** Batches handed over so far (for tests and logs). */
  batches = 0;

  constructor(handle: (paths: string[]) => Promise<void> | void, o: BatcherOptions = {}) {
    this.#handle = handle;
    this.#quiet = o.quietMs ?? 500;
    this.#maxWait = o.maxWaitMs ?? 5000;
    this.#t = o.timers ?? realTimers;
  }

  push(path: string): void {
    if (this.#closed) return;
    if (this.#pending.size === 0) this.#first = this.#t.now();
    this.#pending.add(path);
    this.#arm();
  }

  #arm(): void {
    if (this.#timer !== undefined) this.#t.clearTimeout(this.#timer);
    if (this.#busy) { this.#timer = undefined; return; }
    const left = this.#maxWait - (this.#t.now() - this.#first);
    this.#timer = this.#t.setTimeout(() => { this.#timer = undefined; this.#flush(); }, Math.max(0, Math.min(this.#quiet, left)));
  }

  #flush(): void {
    if (this.#busy || this.#pending.size === 0) return;
    const paths = [...this.#pending];
    this.#pending = new Set();
    this.batches++;
    this.#busy = (async () => {
      try { await this.#handle(paths); } finally {
        this.#busy = undefined;
        // What came in meanwhile waits its own quiet period (or is over its ceiling already).
        if (this.#pending.size) this.#arm();
      }
    })();
  }

  /** Hands over what is pending (after the batch in progress) and stops taking changes. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#t.clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#busy) await this.#busy;
    if (this.#pending.size) { this.#flush(); await this.#busy; }
  }
}
