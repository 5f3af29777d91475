// Docker's logging options (`--log-driver json-file|local|none`, `--log-opt max-size=…,max-file=…`)
// over conmon's k8s-file log, with real rotation.
//
// conmon cannot rotate: its `--log-size-max` replaces the live file with an empty one (the lines
// in it are gone), and its byte counter is never reset by a reopen we ask for, so as a "backstop"
// it would throw away the live file again and again. It can reopen, though: the line
// "2 0 0\n" on its control fifo (`<socket-dir>/<cuuid>/ctl`, conmon 2.1.6 src/ctrl.c: three
// integers, type 2 = REOPEN_LOGS_EVENT; a bare "2\n" fails its sscanf and is ignored) makes it
// open `<log>.tmp` with O_TRUNC and rename it over `<log>` (src/ctr_logging.c reopen_k8s_file).
// So berthd rotates, Docker's way (moby loggerutils.rotate):
//
//   size(<log>) ≥ max-size  →  unlink <log>.{max-file−1}; <log>.{i−1} → <log>.{i}; <log> → <log>.1;
//                              "2 0 0\n" → ctl; conmon creates a fresh <log>
//
// Lines conmon writes between our rename and its reopen go to its open fd, i.e. to <log>.1: nothing
// is lost or split (conmon writes whole records from one single-threaded loop). With max-file=1
// there is no old file to keep: <log> is unlinked instead (Docker does the same).
//
// Worked example, max-size=1m, max-file=3: the container writes 3.5 MB; after the first MB
// <log> → <log>.1, after the second <log>.1 → <log>.2 and <log> → <log>.1, after the third
// <log>.2 is deleted and the others move up; `logs` reads logFiles() = [<log>.2, <log>.1, <log>].
//
// Cost: a directory inotify watch per running container and one stat per batch of write events,
// never per-line work. A burst between a write and our rename overshoots max-size by what conmon
// writes in that time (Docker overshoots by one entry).
import { watch, statSync, constants, createReadStream, createWriteStream, type FSWatcher } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { basename, dirname } from 'node:path';
import { invalid, isEngineError } from '../common/errors.ts';
import { fromHumanSize, parseBytes } from '../common/units.ts';

export type LogDriver = 'json-file' | 'local' | 'none' | 'k8s-file';

export interface LogSettings {
  driver: LogDriver;
  /** Rotate when the live file reaches this many bytes; undefined = never (json-file default). */
  maxSize?: number;
  /** Files kept, the live one included (Docker's max-file). */
  maxFile: number;
}

/** The docker `local` driver's defaults (moby daemon/logger/local/local.go). */
export const LOCAL_DEFAULT_MAX_SIZE = 20 * 1024 * 1024;
export const LOCAL_DEFAULT_MAX_FILE = 5;

const DRIVERS = new Set<string>(['json-file', 'local', 'none', 'k8s-file']);
/** Options every driver accepts (moby logger.builtInLogOpts plus the log cache's `cache-*`). */
const BUILTIN_OPTS = new Set(['mode', 'max-buffer-size', 'cache-disabled', 'cache-max-file', 'cache-max-size', 'cache-compress']);
const JSON_FILE_OPTS = new Set(['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag']);
const LOCAL_OPTS = new Set(['max-file', 'max-size', 'compress']);

/**
 * HostConfig.LogConfig → what berth does with the log, with Docker's validation and texts
 * (moby v27 logger.ValidateLogOpts, jsonfilelog.New, local.New). Docker checks option *names* at
 * create and *values* only when the logger starts; berth checks both at create, so a bad value
 * fails `create` instead of every later `start`. Throws InvalidParameter. This is the one check
 * of a create request's LogConfig (engine/container/host-config.ts calls it); a recorded
 * container's LogConfig passed it, so a later call only reads the settings.
 *
 *   parseLogConfig({})                                              → { driver: 'json-file', maxFile: 1 }
 *   parseLogConfig({ Config: { 'max-size': '10m', 'max-file': '3' } }) → { driver: 'json-file', maxSize: 10_000_000, maxFile: 3 }
 *   parseLogConfig({ Type: 'local' })                               → { driver: 'local', maxSize: 20 MiB, maxFile: 5 }
 *   parseLogConfig({ Config: { foo: 'x' } })  → throws "unknown log opt 'foo' for json-file log driver"
 *
 * `compress` is validated as Docker does but rotated files stay uncompressed (readable as they are).
 */
export function parseLogConfig(lc: { Type?: string; Config?: Record<string, string> | null } | null | undefined): LogSettings {
  const driver = lc?.Type || 'json-file';
  const cfg: Record<string, string> = lc?.Config ?? {};
  const has = (k: string) => Object.hasOwn(cfg, k);
  // Docker accepts any options with `none` (ValidateLogOpts returns at once).
  if (driver === 'none') return { driver: 'none', maxFile: 1 };
  // The driver first: an unknown one is refused whatever its options say (berth checked the
  // name before the options when the two were separate checks; the texts are Docker's).
  if (!DRIVERS.has(driver)) throw invalid(`logger: no log driver named '${driver}' is registered`);

  const mode = has('mode') ? String(cfg.mode) : '';
  if (mode !== '' && mode !== 'blocking' && mode !== 'non-blocking') throw invalid(`logger: logging mode not supported: ${mode}`);
  if (has('max-buffer-size')) {
    if (mode !== 'non-blocking') throw invalid(`logger: max-buffer-size option is only supported with 'mode=non-blocking'`);
    try { parseBytes(cfg['max-buffer-size']); } catch (e) { throw invalid(`error parsing option max-buffer-size: ${msgOf(e)}`); }
  }
  if (has('cache-disabled') && cfg['cache-disabled'] !== '' && goParseBool(cfg['cache-disabled']) === undefined) {
    throw invalid(`invalid value for option cache-disabled: ${cfg['cache-disabled']}`);
  }
  const keys = Object.keys(cfg).filter((k) => !BUILTIN_OPTS.has(k));

  if (driver === 'local') {
    for (const k of keys) if (!LOCAL_OPTS.has(k)) throw invalid(`unknown log opt '${k}' for log driver local`);
    let maxSize = LOCAL_DEFAULT_MAX_SIZE;
    let maxFile = LOCAL_DEFAULT_MAX_FILE;
    let compress = true;
    if (has('max-size')) {
      try { maxSize = fromHumanSize(cfg['max-size']); } catch (e) { throw invalid(`invalid value for max-size: ${cfg['max-size']}: ${msgOf(e)}`); }
    }
    if (has('max-file')) {
      const n = goAtoi(cfg['max-file']);
      if (typeof n === 'string') throw invalid(`invalid value for max-file: ${cfg['max-file']}: ${n}`);
      maxFile = n;
    }
    if (has('compress')) {
      const b = goParseBool(cfg.compress);
      if (b === undefined) throw invalid(`error reading compress log option: strconv.ParseBool: parsing ${goQuote(cfg.compress)}: invalid syntax`);
      compress = b;
    }
    if (maxSize < 0) throw invalid('max size should be a positive number');
    if (maxFile < 0) throw invalid('max file count cannot be less than 0');
    if (compress && maxFile <= 1) throw invalid('compression cannot be enabled when max file count is 1');
    // max-file 0 behaves as 1 in Docker (rotate() keeps nothing below 2).
    return { driver, maxSize, maxFile: Math.max(1, maxFile) };
  }

  // json-file (and berth's k8s-file alias, which is what the file really holds).
  for (const k of keys) if (!JSON_FILE_OPTS.has(k)) throw invalid(`unknown log opt '${k}' for ${driver} log driver`);
  let maxSize: number | undefined;
  let maxFile = 1;
  if (has('max-size')) {
    maxSize = fromHumanSize(cfg['max-size']); // go-units' own text: invalid size: '…'
    if (maxSize <= 0) throw invalid('max-size must be a positive number');
  }
  if (has('max-file')) {
    const n = goAtoi(cfg['max-file']);
    if (typeof n === 'string') throw invalid(n);
    if (n < 1) throw invalid('max-file cannot be less than 1');
    maxFile = n;
  }
  if (has('compress')) {
    const b = goParseBool(cfg.compress);
    if (b === undefined) throw invalid(`strconv.ParseBool: parsing ${goQuote(cfg.compress)}: invalid syntax`);
    if (b && (maxFile === 1 || maxSize === undefined)) throw invalid('compress cannot be true when max-file is less than 2 or max-size is not set');
  }
  // Without max-size Docker never rotates, whatever max-file says.
  const d = driver as 'json-file' | 'k8s-file';
  return maxSize === undefined ? { driver: d, maxFile } : { driver: d, maxSize, maxFile };
}

/**
 * The files `logs` reads, oldest first: the rotated files that exist (`<log>.{maxFile−1}` …
 * `<log>.1`), then the live `<log>` — always, even when it does not exist at this instant (during
 * a rotation, or before the first start), because readLogs follows the last file it is given.
 */
export function logFiles(logPath: string, maxFile: number): string[] {
  const out: string[] = [];
  if (maxFile < 2) {
    try { statSync(`${logPath}.keep`); out.push(`${logPath}.keep`); } catch { /* no rotation yet */ }
  }
  for (let i = maxFile - 1; i >= 1; i--) {
    const p = `${logPath}.${i}`;
    try { statSync(p); out.push(p); } catch { /* not rotated that far (yet) */ }
  }
  out.push(logPath);
  return out;
}

// ------------------------------------------------------------------------------------- rotator

export interface LogRotatorOptions {
  /** A rotation failed (the container keeps running and logging into the file it has). */
  onError?: (id: string, err: unknown) => void;
  /** Safety-net poll, ms; inotify does the real work. */
  pollMs?: number;
  /** How long to wait for conmon to recreate `<log>` before asking again, ms. */
  reopenTimeoutMs?: number;
  /**
   * Asks the writer to reopen its log; false = nobody is listening (conmon has exited).
   * Default: "2 0 0\n" on conmon's ctl fifo. Tests put a fake conmon here.
   */
  reopen?: (ctlPath: string) => Promise<boolean>;
}

interface Watched {
  id: string;
  logPath: string;
  ctlPath: string;
  maxSize: number;
  maxFile: number;
  watcher?: FSWatcher;
  timer?: NodeJS.Timeout;
  /** The check (and rotation) in progress; at most one per container. */
  busy?: Promise<void>;
  /** Write events arrived while busy: check once more when done. */
  dirty: boolean;
  closed: boolean;
}

/**
 * Watches the log of each running container and rotates it at max-size.
 *
 *   watch(id, logPath, ctlPath, { maxSize, maxFile })   after a successful start (and for running
 *                                                       containers found at daemon start)
 *   await unwatch(id)                                   when the container exited (or is removed)
 *   close()                                             daemon shutdown; containers keep logging
 */
export class LogRotator {
  #o: Required<Omit<LogRotatorOptions, 'onError'>> & Pick<LogRotatorOptions, 'onError'>;
  #watched = new Map<string, Watched>();

  constructor(o: LogRotatorOptions = {}) {
    this.#o = { pollMs: 1000, reopenTimeoutMs: 1000, reopen: sendConmonReopen, ...o };
  }

  watch(id: string, logPath: string, ctlPath: string, o: { maxSize: number; maxFile: number }): void {
    this.#stop(id);
    const w: Watched = { id, logPath, ctlPath, maxSize: Math.max(1, o.maxSize), maxFile: Math.max(1, o.maxFile), dirty: false, closed: false };
    const base = basename(logPath);
    try {
      // The directory, not the file: an inotify watch on the file would follow it to <log>.1.
      w.watcher = watch(dirname(logPath), { persistent: false }, (_ev, f) => { if (!f || String(f) === base) this.#kick(w); });
      w.watcher.on('error', () => { w.watcher?.close(); w.watcher = undefined; }); // the poll below carries on
    } catch { /* the poll below still works */ }
    w.timer = setInterval(() => this.#kick(w), this.#o.pollMs);
    w.timer.unref();
    this.#watched.set(id, w);
    this.#kick(w); // the file may be over the limit already (a restart, a daemon restart)
  }

  /**
   * Stops watching. Before conmon writes its exit file it has drained the container's pipes
   * into the current file and stopped reading its ctl fifo, so a live file left over the limit
   * is rotated by renames alone (the next start's conmon creates a new one). With max-file=1
   * that would delete the container's last output, so it is kept, as Docker keeps it until the
   * next write.
   */
  async unwatch(id: string): Promise<void> {
    const w = this.#stop(id);
    if (!w) return;
    await w.busy;
    if (w.maxFile < 2) return;
    const st = await stat(w.logPath).catch(() => undefined); // no file: nothing to rotate
    if (st && st.size >= w.maxSize) await this.#rotate(w, false).catch((e) => this.#o.onError?.(w.id, e));
  }

  /** Daemon shutdown: stop watching (containers keep running and logging; reconcile re-watches). */
  close(): void {
    for (const id of [...this.#watched.keys()]) this.#stop(id);
  }

  watching(id: string): boolean { return this.#watched.has(id); }

  #stop(id: string): Watched | undefined {
    const w = this.#watched.get(id);
    if (!w) return undefined;
    this.#watched.delete(id);
    w.closed = true;
    w.watcher?.close();
    clearInterval(w.timer);
    return w;
  }

  #kick(w: Watched): void {
    if (w.closed) return;
    if (w.busy) { w.dirty = true; return; }
    w.busy = (async () => {
      do {
        w.dirty = false;
        const st = await stat(w.logPath).catch(() => undefined); // not (re)created yet: nothing to rotate
        if (st && st.size >= w.maxSize && !w.closed) await this.#rotate(w, true);
      } while (w.dirty && !w.closed);
    })().catch((e) => this.#o.onError?.(w.id, e)).finally(() => {
      w.busy = undefined;
      if (w.dirty) this.#kick(w);
    });
  }

  async #rotate(w: Watched, reopen: boolean): Promise<void> {
    const p = w.logPath;
    if (w.maxFile >= 2) {
      await rm(`${p}.${w.maxFile - 1}`, { force: true });
      for (let i = w.maxFile - 1; i > 1; i--) await rename(`${p}.${i - 1}`, `${p}.${i}`).catch(ignoreMissing);
      await rename(p, `${p}.1`);
      if (reopen) await this.#reopen(w);
      return;
    }
    if (!reopen) { await rm(p, { force: true }); return; }
    // max-file=1. Docker rotates synchronously, right where a write would cross max-size, so its
    // one file always holds the lines written since the last crossing. Rotating after the fact,
    // berth keeps that part of the old file (from the last max-size boundary, at a line start)
    // as <log>.keep, read before <log>: the container's latest lines are never all dropped.
    const old = `${p}.rotating`;
    await rename(p, old);
    await this.#reopen(w);
    try {
      const size = (await stat(old)).size;
      const from = Math.floor((size - 1) / w.maxSize) * w.maxSize;
      // Start after the first line end at or after the boundary (the byte before it included,
      // so a boundary right after a newline keeps that next line whole). Copied in chunks, not
      // read whole: max-size may be a gigabyte.
      const start = from === 0 ? 0 : await afterNewlineFrom(old, from - 1, size);
      await pipeline(createReadStream(old, { start }), createWriteStream(`${p}.keep.tmp`));
      await rename(`${p}.keep.tmp`, `${p}.keep`);
    } finally {
      await rm(old, { force: true });
    }
  }

  /**
   * Asks conmon to reopen and waits until `<log>` exists again. conmon's ctl reader (2.1.6
   * read_from_ctrl_buffer) handles two messages that arrive in one read() as the first one
   * twice, so a reopen racing a TTY resize can be lost: ask again when the file does not appear.
   */
  async #reopen(w: Watched): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!(await this.#o.reopen(w.ctlPath))) return; // conmon is gone; the next one creates <log>
      const deadline = Date.now() + this.#o.reopenTimeoutMs;
      while (Date.now() < deadline) {
        if (w.closed || (await exists(w.logPath))) return;
        await sleep(5);
      }
    }
    throw new Error(`conmon did not reopen ${w.logPath}`);
  }
}

/** conmon's REOPEN_LOGS_EVENT: "<type> <height> <width>\n", all three integers required. */
export const CONMON_REOPEN_MESSAGE = '2 0 0\n';

/** Writes the reopen message to conmon's ctl fifo; false when no conmon reads it any more. */
export async function sendConmonReopen(ctlPath: string): Promise<boolean> {
  let fh;
  try {
    // Non-blocking: conmon holds the reading end while it lives; without a reader the open
    // fails with ENXIO instead of hanging.
    fh = await open(ctlPath, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENXIO' || code === 'ENOENT') return false;
    throw e;
  }
  try { await fh.write(CONMON_REOPEN_MESSAGE); } finally { await fh.close(); }
  return true;
}

// ------------------------------------------------------------------------------------- helpers

/** Offset just after the first '\n' at or after `pos` in a file of `size` bytes (`size` when none), read in chunks. */
async function afterNewlineFrom(path: string, pos: number, size: number): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    while (pos < size) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      const nl = buf.subarray(0, bytesRead).indexOf(10);
      if (nl >= 0) return pos + nl + 1;
      pos += bytesRead;
    }
    return size;
  } finally {
    await fh.close();
  }
}

function ignoreMissing(e: unknown): void {
  if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
}

async function exists(p: string): Promise<boolean> {
  try { await stat(p); return true; } catch { return false; }
}

function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }

function msgOf(e: unknown): string {
  return isEngineError(e) || e instanceof Error ? e.message : String(e);
}

/** Go's strconv.ParseBool. */
function goParseBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** Go's strconv.Atoi (64-bit int); the error text as a string. */
function goAtoi(s: string): number | string {
  if (!/^[+-]?[0-9]+$/.test(s)) return `strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`;
  const v = BigInt(s);
  if (v > 2n ** 63n - 1n || v < -(2n ** 63n)) return `strconv.Atoi: parsing ${goQuote(s)}: value out of range`;
  return Number(v);
}

/** Go's %q for the strings that reach these messages (printable ASCII as is, the rest escaped). */
function goQuote(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
