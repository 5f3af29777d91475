// Docker's JSON progress messages (pkg/jsonmessage + pkg/progress as dockerd writes them):
//
//   {"status":"Downloading","progressDetail":{"current":49152,"total":4335400},
//    "progress":"[>                                                  ]  49.15kB/4.335MB","id":"79fcf5a213c7"}
//
// The daemon has no terminal, so the bar is always drawn (width 200) and no time is left over.
import { Transform } from 'node:stream';

export type Emit = (m: Record<string, unknown>) => void;

/** go-units HumanSize: decimal units, 4 significant digits, Go's %.4g. */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${goG4(v)}${units[i]}`;
}

/** Go's %.4g for 0 <= v < 1000 (never the exponent form there). */
function goG4(v: number): string {
  if (v === 0) return '0';
  const s = v.toPrecision(4);
  if (s.includes('e')) return String(Number(s));
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** JSONProgress.String() with a 200-column "terminal". */
export function progressText(current: number, total: number): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  let pct = Math.floor(Math.floor((current / total) * 100) / 2);
  if (pct > 50) pct = 50;
  const bar = `[${'='.repeat(pct)}>${' '.repeat(Math.max(0, 50 - pct))}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

export function status(emit: Emit, id: string, s: string): void {
  emit({ status: s, progressDetail: {}, id });
}

export function progressMsg(emit: Emit, id: string, action: string, current: number, total: number): void {
  emit({ status: action, progressDetail: { current, total }, progress: progressText(current, total), id });
}

/**
 * A pass-through that reports `action` progress as dockerd's progress reader does: at most every
 * 100 ms (and each 512 KiB step), and always at the end.
 */
export class ProgressMeter extends Transform {
  current = 0;
  #last = 0;
  #lastAt = 0;
  readonly #emit: Emit;
  readonly #id: string;
  readonly #action: string;
  readonly #total: number;
  constructor(emit: Emit, id: string, action: string, total: number) {
    super();
    this.#emit = emit;
    this.#id = id;
    this.#action = action;
    this.#total = total;
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: (e?: Error | null, d?: Buffer) => void): void {
    this.count(chunk.length);
    cb(null, chunk);
  }
  override _flush(cb: () => void): void {
    this.flushReport();
    cb();
  }
  /** Counts `n` more bytes (what _transform does, for bytes that do not pass through). */
  count(n: number): void {
    this.current += n;
    const now = Date.now();
    if ((this.current - this.#last > 512 * 1024 && now - this.#lastAt >= 100) || this.current === this.#total) {
      this.#report(now);
    }
  }
  /** The last count, if not reported yet (what _flush does). */
  flushReport(): void {
    if (this.current !== this.#last) this.#report(Date.now());
  }
  #report(now: number): void {
    this.#last = this.current;
    this.#lastAt = now;
    progressMsg(this.#emit, this.#id, this.#action, this.current, this.#total);
  }
}

/** docker's stringid.TruncateID: the first 12 hex digits, without the algorithm. */
export function shortId(digest: string): string {
  const i = digest.indexOf(':');
  return (i >= 0 ? digest.slice(i + 1) : digest).slice(0, 12);
}
