// Progress output as compose v2 prints it (its pkg/progress): every step of a command is an
// event on a resource (`Container shop-web-1`, `Network shop_default`, `Volume shop_data`), and a
// writer shows them on stderr in one of compose's modes:
//
//   plain   one line per event, as Go's Println prints its operands:
//             " Network shop_default  Creating"
//             " Container shop-web-1  Started"
//           (a leading space, and two before the status: the event's Text is usually empty);
//   tty     a live display redrawn every 100 ms: a title line `[+] Running 2/3` and one line per
//           resource with a spinner (✔ done, ! warning, ✘ error), the status and the elapsed time,
//           right-aligned to the terminal's width;
//   json    one JSON object per event ({"id":...,"text":...,"status":...});
//   quiet   nothing.
//
//   const w = progressWriter({ mode: 'auto', out: process.stderr, title: 'Running' });
//   w.event(started('Container shop-web-1'));
//   await w.stop();
//
// How the mode is chosen (compose's root command): --progress, else COMPOSE_PROGRESS; --ansi
// never forces plain, always forces tty; auto is tty when stderr is a terminal.

export type Status = 'working' | 'done' | 'warning' | 'error';

export interface ProgressEvent {
  id: string;
  parentId?: string;
  text?: string;
  status: Status;
  statusText?: string;
  current?: number;
  total?: number;
  percent?: number;
}

const ev = (status: Status, statusText: string) => (id: string): ProgressEvent => ({ id, status, statusText });

// compose's event constructors (pkg/progress/event.go), the texts users see.
export const creating = ev('working', 'Creating');
export const created = ev('done', 'Created');
export const starting = ev('working', 'Starting');
export const started = ev('done', 'Started');
export const waiting = ev('working', 'Waiting');
export const healthy = ev('done', 'Healthy');
export const exited = ev('done', 'Exited');
export const restarting = ev('working', 'Restarting');
export const restarted = ev('done', 'Restarted');
export const running = ev('done', 'Running');
export const stopping = ev('working', 'Stopping');
export const stopped = ev('done', 'Stopped');
export const killing = ev('working', 'Killing');
export const killed = ev('done', 'Killed');
export const removing = ev('working', 'Removing');
export const removed = ev('done', 'Removed');
export const building = ev('working', 'Building');
export const built = ev('done', 'Built');
export const errorEvent = ev('error', 'Error');
export function newEvent(id: string, status: Status, statusText: string, text?: string): ProgressEvent {
  return { id, status, statusText, text };
}
export function errorMessage(id: string, msg: string): ProgressEvent {
  return { id, status: 'error', statusText: msg };
}
export function skipped(id: string, reason: string): ProgressEvent {
  return { id, status: 'warning', statusText: `Skipped: ${reason}` };
}

export interface ProgressWriter {
  event(e: ProgressEvent): void;
  events(es: ProgressEvent[]): void;
  /** A message shown after the display (tty) or at once (plain). */
  tail(msg: string): void;
  /** Ends the display (the tty writer draws its last frame). */
  stop(): void;
}

export type ProgressMode = 'tty' | 'plain' | 'json' | 'quiet';

type Out = NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };

/** compose's aec colours (morikuni/aec), or none after NO_COLOR. */
export interface Palette {
  done: (s: string) => string;
  timer: (s: string) => string;
  count: (s: string) => string;
  warning: (s: string) => string;
  success: (s: string) => string;
  error: (s: string) => string;
}
const sgr = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
export const COLORS: Palette = { done: sgr('34'), timer: sgr('34'), count: sgr('33'), warning: sgr('33;1'), success: sgr('32'), error: sgr('31;1') };
const id = (s: string) => s;
export const NO_COLORS: Palette = { done: id, timer: id, count: id, warning: id, success: id, error: id };

// ---------------------------------------------------------------------------------------------
// plain

/** The plain writer's line for an event (Go's Fprintln of "", ID, Text, StatusText). */
export function plainLine(e: ProgressEvent): string {
  return ` ${e.id} ${e.text ?? ''} ${e.statusText ?? ''}\n`;
}

export class PlainWriter implements ProgressWriter {
  readonly #out: Out;
  constructor(out: Out) { this.#out = out; }
  event(e: ProgressEvent): void { this.#out.write(plainLine(e)); }
  events(es: ProgressEvent[]): void { for (const e of es) this.event(e); }
  tail(msg: string): void { this.#out.write(`${msg}\n`); }
  stop(): void { /* nothing buffered */ }
}

export class QuietWriter implements ProgressWriter {
  event(): void {}
  events(): void {}
  tail(): void {}
  stop(): void {}
}

/** compose's json writer: one object per event, Go's field order, empty fields left out. */
export function jsonLine(e: ProgressEvent | { tail: string }): string {
  if ('tail' in e) return `${JSON.stringify({ tail: true, text: e.tail })}\n`;
  const o: Record<string, unknown> = {};
  if (e.id) o.id = e.id;
  if (e.parentId) o.parent_id = e.parentId;
  if (e.text) o.text = e.text;
  if (e.statusText) o.status = e.statusText;
  if (e.current) o.current = e.current;
  if (e.total) o.total = e.total;
  if (e.percent) o.percent = e.percent;
  return `${JSON.stringify(o)}\n`;
}

export class JsonWriter implements ProgressWriter {
  readonly #out: Out;
  constructor(out: Out) { this.#out = out; }
  event(e: ProgressEvent): void { this.#out.write(jsonLine(e)); }
  events(es: ProgressEvent[]): void { for (const e of es) this.event(e); }
  tail(msg: string): void { this.#out.write(jsonLine({ tail: msg })); }
  stop(): void {}
}

// ---------------------------------------------------------------------------------------------
// tty

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const PERCENT_CHARS = [...'⠀⡀⣀⣄⣤⣦⣶⣷⣿'];

interface TtyEvent extends ProgressEvent {
  start: number;
  end?: number;
  spinIndex: number;
  spinAt: number;
  spinStopped: boolean;
}

/** Display width of a string with ANSI colour codes (compose's lenAnsi). */
export function lenAnsi(s: string): number {
  let n = 0;
  let inCode = false;
  for (const ch of s) {
    if (ch === '\x1b') { inCode = true; continue; }
    if (inCode) { if (ch === 'm') inCode = false; continue; }
    n++;
  }
  return n;
}

/** `l` and `r` on one line of width `w`, `r` pushed right (compose's align). */
export function align(l: string, r: string, w: number): string {
  const pad = w - lenAnsi(l) - lenAnsi(r);
  return `${l}${pad > 0 ? ' '.repeat(pad) : ''}${r}\n`;
}

/**
 * One resource's line on the tty display (compose's lineText): spinner or mark, the resource
 * padded to the longest, the coloured status (cut to fit), and the elapsed time at the right.
 */
export function ttyLine(e: { id: string; text?: string; status: Status; statusText?: string }, o: {
  mark: string; width: number; statusPadding: number; elapsed: number; pad?: string; colors: Palette;
}): string {
  const txt = `${e.id} ${e.text ?? ''}`;
  const padding = Math.max(0, o.statusPadding - txt.length);
  const maxStatus = o.width - txt.length - o.statusPadding - 15;
  let status = e.statusText ?? '';
  if (maxStatus > 0 && status.length > maxStatus) status = `${status.slice(0, maxStatus)}...`;
  const color = e.status === 'done' ? o.colors.success : e.status === 'warning' ? o.colors.warning : e.status === 'error' ? o.colors.error : (s: string) => s;
  const text = `${o.pad ?? ''} ${o.mark} ${txt}${' '.repeat(padding)} ${color(status)}`;
  return align(text, o.colors.timer(`${o.elapsed.toFixed(1)}s `), o.width);
}

export class TtyWriter implements ProgressWriter {
  readonly #out: Out;
  readonly #title: string;
  readonly #colors: Palette;
  readonly #events = new Map<string, TtyEvent>();
  #numLines = 0;
  #repeated = false;
  #tails: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #now: () => number;

  constructor(out: Out, title: string, colors: Palette = COLORS, now: () => number = Date.now) {
    this.#out = out;
    this.#title = title;
    this.#colors = colors;
    this.#now = now;
    this.#timer = setInterval(() => this.print(), 100);
    this.#timer.unref?.();
  }

  event(e: ProgressEvent): void {
    const last = this.#events.get(e.id);
    const now = this.#now();
    if (last) {
      if (e.status !== 'working' && last.status !== e.status) { last.end = now; last.spinStopped = true; }
      if (e.status === 'working') last.spinStopped = false;
      last.status = e.status;
      last.text = e.text;
      last.statusText = e.statusText;
      if ((e.total ?? 0) > (last.total ?? 0)) last.total = e.total;
      if ((e.current ?? 0) > (last.current ?? 0)) last.current = e.current;
      if ((e.percent ?? 0) > (last.percent ?? 0)) last.percent = e.percent;
      if (!last.parentId || !e.parentId) last.parentId = e.parentId;
      return;
    }
    const stoppedNow = e.status === 'done' || e.status === 'error';
    this.#events.set(e.id, { ...e, start: now, end: stoppedNow ? now : undefined, spinIndex: 0, spinAt: now, spinStopped: stoppedNow });
  }

  events(es: ProgressEvent[]): void { for (const e of es) this.event(e); }

  tail(msg: string): void { this.#tails.push(msg); }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.print();
    for (const m of this.#tails) this.#out.write(`${m}\n`);
    this.#tails = [];
  }

  #mark(e: TtyEvent): string {
    switch (e.status) {
      case 'done': return this.#colors.success('✔');
      case 'warning': return this.#colors.warning('!');
      case 'error': return this.#colors.error('✘');
      default: {
        if (e.spinStopped) return this.#colors.count('⠿');
        const now = this.#now();
        if (now - e.spinAt > 100) { e.spinIndex = (e.spinIndex + 1) % SPINNER.length; e.spinAt = now; }
        return this.#colors.count(SPINNER[e.spinIndex]);
      }
    }
  }

  /** Draws the display over the previous frame. */
  print(): void {
    if (this.#events.size === 0) return;
    const width = this.#out.columns || 80;
    const height = this.#out.rows || 24;
    let b = '\x1b[1A'.repeat(this.#numLines + 1);
    if (!this.#repeated) b += '\x1b[1B';
    this.#repeated = true;
    let out = `${b}\x1b[0G\x1b[?25l`;
    const all = [...this.#events.values()];
    const done = all.filter((e) => e.status !== 'working').length;
    let first = `[+] ${this.#title} ${done}/${all.length}`;
    if (this.#numLines !== 0 && done === this.#numLines) first = this.#colors.done(first);
    out += `${first}\n`;
    let statusPadding = 0;
    for (const e of all) {
      const l = `${e.id} ${e.text ?? ''}`.length;
      if (statusPadding < l) statusPadding = l;
      if (e.parentId) statusPadding -= 2;
    }
    const skipChildren = all.length > height - 2;
    let lines = 0;
    const now = this.#now();
    for (const e of all) {
      if (e.parentId) continue;
      out += this.#line(e, '', width, statusPadding, now);
      lines++;
      for (const c of all) {
        if (c.parentId !== e.id || skipChildren) continue;
        out += this.#line(c, '  ', width, statusPadding, now);
        lines++;
      }
    }
    for (let i = lines; i < this.#numLines; i++) {
      if (lines < height - 2) { out += `${' '.repeat(width)}\n`; lines++; }
    }
    this.#numLines = lines;
    this.#out.write(`${out}\x1b[?25h`);
  }

  #line(e: TtyEvent, pad: string, width: number, statusPadding: number, now: number): string {
    const end = e.status === 'working' ? now : (e.end ?? e.start);
    let ev: { id: string; text?: string; status: Status; statusText?: string } = e;
    if (e.status === 'working') {
      // A parent shows its children's completion (pull layers) while it works.
      const children = [...this.#events.values()].filter((c) => c.parentId === e.id);
      if (children.length) {
        const bars = children.map((c) => PERCENT_CHARS[Math.floor(((PERCENT_CHARS.length - 1) * (c.percent ?? 0)) / 100)]).join('');
        ev = { ...e, id: `${e.id} [${this.#colors.success(bars)}]` };
      }
    }
    return ttyLine(ev, { mark: this.#mark(e), width, statusPadding, elapsed: (end - e.start) / 1000, pad, colors: this.#colors });
  }
}

export interface WriterOptions {
  mode: ProgressMode | 'auto';
  out: Out;
  title: string;
  colors?: Palette;
}

export function progressWriter(o: WriterOptions): ProgressWriter {
  const mode = o.mode === 'auto' ? (o.out.isTTY ? 'tty' : 'plain') : o.mode;
  switch (mode) {
    case 'quiet': return new QuietWriter();
    case 'json': return new JsonWriter(o.out);
    case 'tty': return new TtyWriter(o.out, o.title, o.colors ?? COLORS);
    default: return new PlainWriter(o.out);
  }
}

/** Runs `fn` with a writer that is stopped (its last frame drawn) however `fn` ends. */
export async function withProgress<T>(o: WriterOptions, fn: (w: ProgressWriter) => Promise<T>): Promise<T> {
  const w = progressWriter(o);
  try {
    return await fn(w);
  } finally {
    w.stop();
  }
}
