// `berth build --progress=tty`: a live per-step display of a legacy build, in the style of
// BuildKit's, drawn from the same JSON-message stream the plain output prints as is.
//
// The legacy protocol has no structured progress, only text, so the steps are recovered from
// the builder's own lines (StepTracker):
//   "Step 2/5 : RUN make"               a new step (and the end of the one before)
//   " ---> Using cache"                 the step is a cache hit
//   " ---> Running in 3f2a…"            a container runs the step (its output follows)
//   "Removing intermediate container …" bookkeeping, not shown
//   " ---> 5d9c0e8e1b2a"                the step's result: it is done
//   "Successfully built …" / "Successfully tagged …"   the image and its names
//   anything else                       output of the current step
//
// TtyProgress redraws the whole block about ten times a second with ANSI cursor movement, and
// leaves the final state on screen:
//
//   [+] Building 4.3s (5/5) FINISHED
//    => [internal] load build context                             0.0s
//    => => transferring context: 2.05kB
//    => [1/4] FROM busybox                                         0.0s
//    => CACHED [2/4] WORKDIR /app                                  0.0s
//    => [3/4] RUN make                                             3.9s
//    => [4/4] CMD ["./app"]                                        0.1s
//    => exporting to image                                         0.0s
//    => => writing image sha256:5d9c0e8e1b2a…
//    => => naming to app:latest
import { humanSize } from '../common/units.ts';

export interface BuildStep {
  /** `Step N/M` numbers; undefined for the display's own steps ("[internal] …"). */
  n?: number;
  total?: number;
  /** The instruction as the builder printed it ("RUN make"). */
  name: string;
  cached: boolean;
  error: boolean;
  /** ms timestamps. */
  started: number;
  ended?: number;
  /** Output lines, the last MAX_LOG kept. */
  logs: string[];
  /** Output not yet ended by a newline. */
  partial: string;
}

const MAX_LOG = 100;
const STEP_RE = /^Step (\d+)\/(\d+) : (.*)$/;
const RESULT_RE = /^ ---> ([0-9a-f]{12,64}|sha256:[0-9a-f]{12,64})$/;
const REMOVING = 'Removing intermediate container ';

/** Recovers build steps from the legacy builder's `stream` text (see the file comment). */
export class StepTracker {
  readonly steps: BuildStep[] = [];
  /** From "Successfully built <id>". */
  builtId: string | undefined;
  /** From "Successfully tagged <ref>". */
  readonly tags: string[] = [];
  /** `[Warning] …` lines: shown after the display. */
  readonly warnings: string[] = [];
  #pending = '';

  /** The step running now: the last one, unless it is done. */
  get current(): BuildStep | undefined {
    const last = this.steps[this.steps.length - 1];
    return last && last.ended === undefined ? last : undefined;
  }

  /** Feeds stream text (any chunking: lines may be split across calls). */
  feed(text: string, now: number): void {
    const parts = (this.#pending + text).split('\n');
    this.#pending = parts.pop()!;
    for (const line of parts) this.#line(line, now);
    const cur = this.current;
    if (cur) cur.partial = this.#pending;
  }

  /** Ends the current step as failed (an error message arrived). */
  fail(now: number): BuildStep | undefined {
    this.#flushPending(now);
    const s = this.current ?? this.steps[this.steps.length - 1];
    if (s) {
      s.error = true;
      s.ended ??= now;
    }
    return s;
  }

  /** Ends whatever is still running (the stream is over). */
  finish(now: number): void {
    this.#flushPending(now);
    for (const s of this.steps) s.ended ??= now;
  }

  #flushPending(now: number): void {
    if (this.#pending) {
      const p = this.#pending;
      this.#pending = '';
      this.#line(p, now);
    }
  }

  #line(raw: string, now: number): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const cur = this.current;
    const m = STEP_RE.exec(line);
    if (m) {
      if (cur) cur.ended = now;
      this.steps.push({ n: Number(m[1]), total: Number(m[2]), name: m[3], cached: false, error: false, started: now, logs: [], partial: '' });
      return;
    }
    if (line === ' ---> Using cache') { if (cur) cur.cached = true; return; }
    if (line.startsWith(' ---> Running in ')) return;
    const r = RESULT_RE.exec(line);
    if (r) { if (cur) { cur.ended = now; cur.partial = ''; } return; }
    // Output without a final newline runs into the builder's next line.
    const rm = line.indexOf(REMOVING);
    if (rm >= 0) {
      if (rm > 0) this.#log(line.slice(0, rm));
      return;
    }
    let s: RegExpExecArray | null;
    if ((s = /^Successfully built (\S+)$/.exec(line))) {
      this.builtId = s[1];
      for (const st of this.steps) st.ended ??= now;
      return;
    }
    if ((s = /^Successfully tagged (.+)$/.exec(line))) { this.tags.push(s[1]); return; }
    if (line.startsWith('[Warning] ')) { this.warnings.push(line); return; }
    this.#log(line);
  }

  #log(line: string): void {
    const s = this.steps[this.steps.length - 1];
    if (!s) return; // before the first step: nothing to attach it to
    s.logs.push(line);
    if (s.logs.length > MAX_LOG) s.logs.splice(0, s.logs.length - MAX_LOG);
    s.partial = '';
  }
}

export interface TtyOut {
  write(s: string): boolean;
  columns?: number;
  rows?: number;
}

/** Output as a terminal line can show it: the text after the last CR, no escapes or controls. */
export function displayable(s: string): string {
  const cr = s.lastIndexOf('\r');
  // eslint-disable-next-line no-control-regex
  return (cr >= 0 ? s.slice(cr + 1) : s).replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\t/g, '    ').replace(/[\x00-\x1f\x7f]/g, '');
}

const LOG_LINES = 6;
const ERROR_LOG_LINES = 10;

export class TtyProgress {
  readonly tracker = new StepTracker();
  readonly #out: TtyOut;
  readonly #now: () => number;
  readonly #color: boolean;
  readonly #started: number;
  #context: BuildStep | undefined;
  #imageId: string | undefined;
  #lines = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #done = false;

  constructor(out: TtyOut, o: { now?: () => number; color?: boolean } = {}) {
    this.#out = out;
    this.#now = o.now ?? Date.now;
    this.#color = o.color ?? true;
    this.#started = this.#now();
  }

  /** Starts redrawing (~10 Hz) and hides the cursor. */
  start(): void {
    this.#out.write('\x1b[?25l');
    this.#draw(false);
    this.#timer = setInterval(() => this.#draw(false), 100);
    this.#timer.unref?.();
  }

  /** Bytes of the context sent so far; `done` when all of it is. */
  contextProgress(bytes: number, done: boolean): void {
    const now = this.#now();
    this.#context ??= { name: '[internal] load build context', cached: false, error: false, started: now, logs: [], partial: '' };
    this.#context.logs = [`transferring context: ${humanSize(bytes, 4)}`];
    if (done) this.#context.ended ??= now;
  }

  stream(text: string): void {
    this.tracker.feed(text, this.#now());
  }

  aux(imageId: string): void {
    this.#imageId = imageId;
  }

  /** The final frame; on failure a box with the failed step's last output. The cursor comes back. */
  finish(r: { ok: boolean }): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer) clearInterval(this.#timer);
    const now = this.#now();
    let failed: BuildStep | undefined;
    if (r.ok) this.tracker.finish(now);
    else failed = this.tracker.fail(now);
    if (this.#context) this.#context.ended ??= now;
    this.#draw(true, r.ok);
    let tail = '';
    if (failed) {
      const logs = [...failed.logs, ...(failed.partial ? [failed.partial] : [])].slice(-ERROR_LOG_LINES);
      tail += `------\n > ${label(failed)}${failed.name}:\n`;
      for (const l of logs) tail += `${displayable(l)}\n`;
      tail += '------\n';
    }
    for (const w of this.tracker.warnings) tail += `${w}\n`;
    this.#out.write(`${tail}\x1b[?25h`);
  }

  /** The display's lines at this moment (exported for tests). */
  frame(final: boolean, ok = true): string[] {
    const now = this.#now();
    const width = Math.max(40, (this.#out.columns ?? 80) - 1);
    const steps = [...(this.#context ? [this.#context] : []), ...this.tracker.steps];
    const total = Math.max(0, ...this.tracker.steps.map((s) => s.total ?? 0)) + (this.#context ? 1 : 0);
    const done = steps.filter((s) => s.ended !== undefined).length;
    const lines = [`[+] Building ${secs(now - this.#started)} (${done}/${Math.max(total, steps.length)})${final && ok ? ' FINISHED' : ''}`];
    for (const s of steps) {
      const state = s.error ? 'ERROR ' : s.cached ? 'CACHED ' : '';
      const line = row(` => ${state}${label(s)}${s.name}`, secs((s.ended ?? now) - s.started), width);
      lines.push(s.error && this.#color ? `\x1b[31m${line}\x1b[0m` : line);
      // Output of the running step (and the context's transfer line while it lasts).
      if (s.ended === undefined || (s === this.#context && !final)) {
        const logs = [...s.logs, ...(s.partial ? [s.partial] : [])].slice(-LOG_LINES);
        const prefix = s === this.#context ? ' => => ' : ' => => # ';
        for (const l of logs) lines.push(cut(`${prefix}${displayable(l)}`, width));
      }
    }
    const id = this.#imageId ?? this.tracker.builtId;
    if (final && ok && id) {
      lines.push(row(' => exporting to image', '0.0s', width));
      lines.push(cut(` => => writing image ${id}`, width));
      for (const t of this.tracker.tags) lines.push(cut(` => => naming to ${t}`, width));
    }
    return lines;
  }

  #draw(final: boolean, ok = true): void {
    const lines = this.frame(final, ok);
    let shown = lines;
    // A block taller than the terminal cannot be redrawn in place: show its end.
    const rows = this.#out.rows ?? 0;
    if (!final && rows > 3 && lines.length > rows - 1) shown = [lines[0], ...lines.slice(lines.length - (rows - 2))];
    let s = this.#lines ? `\x1b[${this.#lines}A\r` : '\r';
    for (const l of shown) s += `\x1b[2K${l}\n`;
    s += '\x1b[J';
    this.#lines = shown.length;
    this.#out.write(s);
  }
}

const secs = (ms: number) => `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
const label = (s: BuildStep) => (s.n !== undefined ? `[${s.n}/${s.total}] ` : '');
const cut = (s: string, width: number) => (s.length > width ? s.slice(0, width) : s);

/** `text` and `time` on one line of `width`, the time right-aligned, the text cut to fit. */
function row(text: string, time: string, width: number): string {
  const room = width - time.length - 1;
  const t = text.length > room ? text.slice(0, room) : text.padEnd(room);
  return `${t} ${time}`;
}
