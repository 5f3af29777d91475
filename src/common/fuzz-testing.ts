// Test helpers for the fuzz tests of berth's parsers of untrusted input (`*.fuzz.test.ts`, used by
// tests only, never by the product). Each property is a fast-check property over
// structure-aware generators, run with a fixed seed and a bounded count in CI and for longer by
// `bench/fuzz.mjs`. The rule every parser must keep: any input gives a result or a clear error of
// the parser's own kind (EngineError, DockerfileError, ...), never a TypeError, RangeError or
// stack overflow, and never a hang.
//
//   fuzz('reference: any string parses or is InvalidParameter', refString, (s) => {
//     expectError(() => parseReference(s), (e) => isEngineError(e, 'InvalidParameter'));
//   }, { runs: 2000 });
//
// Hangs: an async case is raced against its bound (`caseMs`). A synchronous case cannot be
// interrupted from its own thread, so each one is timed (a slow case fails), and a watchdog thread
// kills the process when a case has not returned after `hangMs`, printing the property, seed and
// case index on stderr (a test file that dies this way fails in `node --test`).
//
// Environment (bench/fuzz.mjs sets these; they also replay a failure):
//   BERTH_FUZZ_SEED     the seed (default 42), or `random`
//   BERTH_FUZZ_RUNS     runs per property instead of the CI count
//   BERTH_FUZZ_SECONDS  run each property for this long instead (as many runs as fit)
//   BERTH_FUZZ_PATH     fast-check's path of one counterexample, to replay just it
//   BERTH_FUZZ_REPORT   a file that gets one JSON line per property (runs, ms, seed, failure)
import { test } from 'node:test';
import { appendFileSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';

export { fc };

export interface FuzzOptions {
  /** Number of cases in CI (with the fixed seed). Pick it so the property takes a few seconds at most. */
  runs: number;
  /** Bound on one case in ms (default 2000): a slower case fails the property. */
  caseMs?: number;
  /** A synchronous case still running after this long kills the process (default max(30 s, 10 × caseMs)). */
  hangMs?: number;
}

const env = process.env;
const DEFAULT_SEED = 42;

function seedOf(): number {
  const s = env.BERTH_FUZZ_SEED;
  if (s === undefined || s === '') return DEFAULT_SEED;
  if (s === 'random') return (Math.random() * 0x7fffffff) | 0;
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`BERTH_FUZZ_SEED: not an integer: ${s}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Watchdog: a worker thread reading two shared counters (cases started, a case in progress).

const WATCHDOG = `
const { parentPort, workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const state = new Int32Array(workerData);
let current = { name: '', seed: 0, hangMs: 30000, replay: '', path: '' };
parentPort.on('message', (m) => { current = m; });
let last = -1;
let since = Date.now();
setInterval(() => {
  const started = Atomics.load(state, 0);
  if (Atomics.load(state, 1) === 0 || started !== last) { last = started; since = Date.now(); return; }
  if (Date.now() - since < current.hangMs) return;
  writeSync(2, '\\nfuzz: HANG in "' + current.name + '": case #' + (started - 1) + ' has not returned after ' + current.hangMs +
    ' ms (seed ' + current.seed + '). Replay: BERTH_FUZZ_SEED=' + current.seed + ' BERTH_FUZZ_PATH=' + (current.path || started - 1) + ' ' + current.replay + '\\n');
  process.kill(process.pid, 'SIGKILL');
}, 100);
`;

let watchdog: { worker: Worker; state: Int32Array } | undefined;
function getWatchdog(): { worker: Worker; state: Int32Array } {
  if (!watchdog) {
    const sab = new SharedArrayBuffer(8);
    const worker = new Worker(WATCHDOG, { eval: true, workerData: sab });
    worker.unref();
    watchdog = { worker, state: new Int32Array(sab) };
  }
  return watchdog;
}

// ---------------------------------------------------------------------------------------------
// Properties

interface Run<T> {
  name: string;
  o: FuzzOptions;
  /** The fast-check property around a (wrapped) check. */
  property: (wrapped: (v: T) => unknown) => fc.IRawProperty<[T]>;
  /** The check with its time bound and the watchdog's counters around it. */
  wrap: (caseMs: number, state: Int32Array) => (v: T) => unknown;
}

/** A synchronous property: `check` throws (or fails an assertion) to report a bug. */
export function fuzz<T>(name: string, arb: fc.Arbitrary<T>, check: (v: T) => void, o: FuzzOptions): void {
  register<T>({
    name, o,
    property: (wrapped) => fc.property(arb, wrapped as (v: T) => void),
    wrap: (caseMs, state) => (v: T) => {
      Atomics.add(state, 0, 1);
      Atomics.store(state, 1, 1);
      const t0 = performance.now();
      try {
        check(v);
      } finally {
        Atomics.store(state, 1, 0);
      }
      const ms = performance.now() - t0;
      if (ms > caseMs) throw new Error(`hang: one case took ${ms.toFixed(0)} ms (bound ${caseMs} ms)`);
    },
  });
}

/** An asynchronous property: the case's promise is raced against `caseMs`. */
export function fuzzAsync<T>(name: string, arb: fc.Arbitrary<T>, check: (v: T) => Promise<void>, o: FuzzOptions): void {
  register<T>({
    name, o,
    property: (wrapped) => fc.asyncProperty(arb, wrapped as (v: T) => Promise<void>),
    wrap: (caseMs, state) => async (v: T) => {
      Atomics.add(state, 0, 1);
      Atomics.store(state, 1, 1);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(v),
          new Promise<never>((_r, reject) => {
            timer = setTimeout(() => reject(new Error(`hang: one case did not finish within ${caseMs} ms`)), caseMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
        Atomics.store(state, 1, 0);
      }
    },
  });
}

function register<T>(r: Run<T>): void {
  test(r.name, async () => {
    const seed = seedOf();
    const caseMs = r.o.caseMs ?? 2000;
    const hangMs = r.o.hangMs ?? Math.max(30_000, 10 * caseMs);
    const seconds = Number(env.BERTH_FUZZ_SECONDS ?? 0);
    const runs = env.BERTH_FUZZ_RUNS ? Number(env.BERTH_FUZZ_RUNS) : seconds > 0 ? Number.MAX_SAFE_INTEGER : r.o.runs;
    const file = process.argv[1] ?? '<test file>';
    const w = getWatchdog();
    Atomics.store(w.state, 0, 0);
    w.worker.postMessage({ name: r.name, seed, hangMs, replay: `node --test ${file}`, path: env.BERTH_FUZZ_PATH ?? '' });
    const params: fc.Parameters<[T]> = { seed, numRuns: runs };
    if (env.BERTH_FUZZ_PATH) params.path = env.BERTH_FUZZ_PATH;
    if (seconds > 0) Object.assign(params, { interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false });
    let check = r.wrap(caseMs, w.state);
    if (env.BERTH_FUZZ_PATH) {
      // Replaying: show each input before it runs (a hang never gets to fast-check's report).
      const inner = check;
      check = (v: T) => { note(`fuzz: case: ${fc.stringify(v).slice(0, 4000)}`); return inner(v); };
    }
    const t0 = performance.now();
    const details = await fc.check(r.property(check), params);
    const ms = performance.now() - t0;
    const failure = details.failed
      ? { path: details.counterexamplePath, counterexample: fc.stringify(details.counterexample), error: String((details.errorInstance as Error)?.message ?? details.errorInstance) }
      : undefined;
    if (env.BERTH_FUZZ_REPORT) {
      appendFileSync(env.BERTH_FUZZ_REPORT, `${JSON.stringify({ name: r.name, file, seed, runs: details.numRuns, ms, failure })}\n`);
    }
    if (details.failed) {
      const msg = fc.defaultReportMessage(details) ?? 'property failed';
      const err = details.errorInstance instanceof Error ? (details.errorInstance.stack ?? details.errorInstance.message) : String(details.errorInstance);
      throw new Error(`${msg}\nFailure: ${err}\nReplay: BERTH_FUZZ_SEED=${seed} BERTH_FUZZ_PATH=${details.counterexamplePath} node --test ${file}`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Outcomes

/**
 * JavaScript's own error classes (and anything thrown that is not an Error): a parser that lets
 * one of these out has a bug, whatever the input was.
 */
export function isCrash(e: unknown): boolean {
  return !(e instanceof Error) || e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError
    || e instanceof SyntaxError || e instanceof EvalError || e instanceof URIError;
}

/** Throws (failing the case) unless `e` is an expected, clear error: an expected kind with a message. */
export function checkError(e: unknown, expected: (e: Error) => boolean): void {
  if (isCrash(e) || !expected(e as Error)) {
    const what = e instanceof Error ? `${e.constructor.name}: ${e.message}` : `a thrown ${typeof e}: ${String(e)}`;
    throw new Error(`unexpected error: ${what}`, { cause: e });
  }
  if (typeof (e as Error).message !== 'string' || (e as Error).message.trim() === '') {
    throw new Error(`an expected ${(e as Error).constructor.name} without a message`, { cause: e });
  }
}

/** `fn()`'s value, or undefined when it threw an expected error; anything else fails the case. */
export function expectError<T>(fn: () => T, expected: (e: Error) => boolean): T | undefined {
  try {
    return fn();
  } catch (e) {
    checkError(e, expected);
    return undefined;
  }
}

/** The async form of expectError. */
export async function expectErrorAsync<T>(fn: () => Promise<T>, expected: (e: Error) => boolean): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    checkError(e, expected);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Generators shared by several parsers

/**
 * Text near a grammar: `valid` strings, mutated a few times by inserting, deleting or replacing
 * characters drawn from `alphabet` (the grammar's own characters plus whatever noise the caller
 * adds). Shrinks towards fewer mutations.
 */
export function mutatedString(valid: fc.Arbitrary<string>, alphabet: string, maxEdits = 4): fc.Arbitrary<string> {
  const chars = Array.from(alphabet);
  const edit = fc.tuple(fc.constantFrom('insert', 'delete', 'replace'), fc.nat(), fc.constantFrom(...chars));
  return fc.tuple(valid, fc.array(edit, { maxLength: maxEdits })).map(([s, edits]) => {
    const cs = Array.from(s);
    for (const [op, at, ch] of edits) {
      const i = cs.length ? at % (cs.length + (op === 'insert' ? 1 : 0)) : 0;
      if (op === 'insert') cs.splice(i, 0, ch);
      else if (cs.length === 0) continue;
      else if (op === 'delete') cs.splice(i, 1);
      else cs[i] = ch;
    }
    return cs.join('');
  });
}

/** Bytes near `valid`: a few bytes flipped, set to interesting values, cut off or appended. */
export function mutatedBytes(valid: fc.Arbitrary<Buffer>, maxEdits = 4): fc.Arbitrary<Buffer> {
  const edit = fc.oneof(
    fc.tuple(fc.constant('set' as const), fc.nat(), fc.constantFrom(0, 0x20, 0x30, 0x37, 0x38, 0x7f, 0x80, 0xff, 0x0a, 0x2f, 0x2e)),
    fc.tuple(fc.constant('flip' as const), fc.nat(), fc.integer({ min: 0, max: 7 })),
    fc.tuple(fc.constant('truncate' as const), fc.nat(), fc.constant(0)),
    fc.tuple(fc.constant('append' as const), fc.nat({ max: 1024 }), fc.integer({ min: 0, max: 255 })),
  );
  return fc.tuple(valid, fc.array(edit, { maxLength: maxEdits })).map(([b, edits]) => {
    let out = Buffer.from(b);
    for (const [op, at, v] of edits) {
      if (op === 'append') { out = Buffer.concat([out, Buffer.alloc(at, v)]); continue; }
      if (out.length === 0) continue;
      const i = at % out.length;
      if (op === 'set') out[i] = v;
      else if (op === 'flip') out[i] ^= 1 << v;
      else out = out.subarray(0, i);
    }
    return out;
  });
}

/** Splits a buffer at arbitrary points, so readers see headers and data across chunk boundaries. */
export function chunked(b: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => (b.length ? c % b.length : 0)))].filter((c) => c > 0).sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of at) { out.push(b.subarray(prev, c)); prev = c; }
  if (prev < b.length || out.length === 0) out.push(b.subarray(prev));
  return out;
}

/** Writes a line on stderr at once (even from a blocked thread's point of view). */
export function note(line: string): void {
  writeSync(2, `${line}\n`);
}
