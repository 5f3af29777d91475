// Container output as compose prints it (cmd/formatter/logs.go and colors.go of compose v2):
// every line is prefixed `<name> | `, the name padded to the longest name seen so far plus one,
// and each container gets the next colour of compose's rainbow (cyan, yellow, green, magenta,
// blue, then the same intense) in the order containers first print. `logs`, attached `up` (and
// its post_start hooks' output) and `watch` print through it.
//
//   const lp = new LogPrinter({ stdout: process.stdout, stderr: process.stderr, color: true, prefix: true });
//   lp.log('web-1', 'listening')        → "\x1b[36mweb-1  | \x1b[0mlistening\n"   (width: 'web-1' + 1)
//   lp.log('db-1', 'ready')             → "\x1b[33mdb-1   | \x1b[0mready\n"
//   lp.status('web-1', 'exited with code 0') → "\r\x1b[K" + "web-1 exited with code 0" in web-1's colour
//   lp.log(WATCH_LOGGER, 'Watch enabled')  → "        ⦿ Watch enabled" in bright green (92)
//
// A line text that holds newlines prints as several lines, each with the prefix. A name with a
// space ("web-1 hook") takes the colour of the name before the space, as compose's
// sub-presenters do. Colours come from a Rainbow that can be shared between printers (compose
// keeps one per process); `color: false` prints no escape sequences at all.

export type ColorFn = (s: string) => string;

/** compose's api.WatchLogger: the name `watch` messages print under. */
export const WATCH_LOGGER = '#watch';

const ansi = (code: string): ColorFn => (s) => `\x1b[${code}m${s}\x1b[0m`;
export const monochrome: ColorFn = (s) => s;

/** compose's rainbow: cyan, yellow, green, magenta, blue, and the same intense (`;1`). */
export const RAINBOW_CODES = ['36', '33', '32', '35', '34', '36;1', '33;1', '32;1', '35;1', '34;1'];

/** Hands out the rainbow's colours in turn, wrapping around after the tenth. */
export class Rainbow {
  #i = 0;
  next(): ColorFn {
    const code = RAINBOW_CODES[this.#i];
    this.#i = (this.#i + 1) % RAINBOW_CODES.length;
    return ansi(code);
  }
}

/** goterm.RESET_LINE: compose starts its status lines with it. */
export const RESET_LINE = '\r\x1b[K';

export interface LogPrinterOptions {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  /** ANSI colours (compose: unless --no-color, and only when --ansi allows). */
  color: boolean;
  /** The `name | ` prefix (compose: unless --no-log-prefix). */
  prefix: boolean;
  /** Put the time before each line (attached `up --timestamps`; `logs -t` gets them from the engine). */
  timestamps?: boolean;
  rainbow?: Rainbow;
  now?: () => Date;
}

interface Presenter { color: ColorFn; name: string; prefix: string }

/** jsonmessage.RFC3339NanoFixed in local time: the fraction always nine digits. */
export function rfc3339NanoFixed(d: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const tz = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}000000${tz}`;
}

export class LogPrinter {
  readonly #o: LogPrinterOptions;
  readonly #rainbow: Rainbow;
  readonly #presenters = new Map<string, Presenter>();
  #width = 0;

  constructor(o: LogPrinterOptions) {
    this.#o = o;
    this.#rainbow = o.rainbow ?? new Rainbow();
  }

  /** Registers a name ahead of its first line (so the width accounts for it from the start). */
  register(name: string): void {
    if (!this.#presenters.has(name)) this.#add(name);
  }

  #add(name: string): Presenter {
    let p: Presenter;
    const sp = name.indexOf(' ');
    if (sp >= 0) {
      const parent = this.#get(name.slice(0, sp));
      p = { color: parent.color, name, prefix: parent.prefix };
    } else {
      let color = monochrome;
      if (this.#o.color && name !== '') color = name === WATCH_LOGGER ? ansi('92') : this.#rainbow.next();
      p = { color, name, prefix: '' };
    }
    this.#presenters.set(name, p);
    // The width is the longest name + 1, over every name seen (sub-names included, as compose).
    let w = 0;
    for (const x of this.#presenters.values()) w = Math.max(w, x.name.length);
    this.#width = w + 1;
    if (this.#o.prefix) for (const x of this.#presenters.values()) this.#setPrefix(x);
    return p;
  }

  #setPrefix(p: Presenter): void {
    if (p.name === WATCH_LOGGER) p.prefix = p.color(`${' '.repeat(this.#width)} ⦿ `);
    else p.prefix = p.color(`${p.name.padEnd(this.#width)} | `);
  }

  #get(name: string): Presenter {
    return this.#presenters.get(name) ?? this.#add(name);
  }

  /** A line (or several) of a container's output, to stdout. */
  log(name: string, message: string): void {
    this.#write(this.#o.stdout, name, message);
  }

  /** A line of an error, to stderr. */
  err(name: string, message: string): void {
    this.#write(this.#o.stderr, name, message);
  }

  #write(w: { write(s: string): unknown }, name: string, message: string): void {
    const p = this.#get(name);
    const ts = this.#o.timestamps ? `${rfc3339NanoFixed((this.#o.now ?? (() => new Date()))())} ` : '';
    let out = '';
    for (const line of message.split('\n')) out += `${p.prefix}${ts}${line}\n`;
    w.write(out);
  }

  /** A container's state change (`web-1 exited with code 0`), in its colour, on stdout. */
  status(name: string, message: string): void {
    const p = this.#get(name);
    this.#o.stdout.write(p.color(`${RESET_LINE}${name} ${message}\n`));
  }
}

/**
 * Splits a byte stream into lines for a consumer, as compose's splitWriter does: each complete
 * line (without its '\n') as it arrives, and what is left at the end with `end()`.
 */
export class LineSplitter {
  #buf = '';
  readonly #fn: (line: string) => void;
  readonly #decoder = new TextDecoder('utf-8');

  constructor(fn: (line: string) => void) { this.#fn = fn; }

  write(chunk: Buffer | string): void {
    this.#buf += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    let i;
    while ((i = this.#buf.indexOf('\n')) >= 0) {
      const line = this.#buf.slice(0, i);
      this.#buf = this.#buf.slice(i + 1);
      this.#fn(line);
    }
  }

  end(): void {
    this.#buf += this.#decoder.decode();
    if (this.#buf.length) this.#fn(this.#buf);
    this.#buf = '';
  }
}
