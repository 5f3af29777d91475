// Container output with compose's prefixes (its cmd/formatter/logs.go and colors.go): each line
// is `<name> | <line>`, the name padded to the longest one seen so far plus one, each container
// in the next colour of compose's rainbow (cyan, yellow, green, magenta, blue, then their
// intense forms), assigned as containers first print.
//
//   const lc = new LogConsumer({ stdout, stderr, color: true, prefix: true });
//   lc.log('web-1', 'listening');     → "\x1b[36mweb-1  | \x1b[0mlistening\n"
//   lc.status('web-1', 'exited with code 0');
export interface LogConsumerOptions {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  color: boolean;
  prefix: boolean;
  timestamps?: boolean;
  now?: () => Date;
}

type ColorFn = (s: string) => string;

const ansi = (code: string): ColorFn => (s) => `\x1b[${code}m${s}\x1b[0m`;
const mono: ColorFn = (s) => s;
/** compose's rainbow: cyan, yellow, green, magenta, blue, and the same intense. */
export const RAINBOW: ColorFn[] = ['36', '33', '32', '35', '34', '36;1', '33;1', '32;1', '35;1', '34;1'].map(ansi);

/** goterm.RESET_LINE: compose starts status lines with it. */
const RESET_LINE = '\r\x1b[K';

interface Presenter { color: ColorFn; name: string; prefix: string }

/** jsonmessage.RFC3339NanoFixed: fraction always nine digits. */
export function rfc3339NanoFixed(d: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const tz = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}000000${tz}`;
}

export class LogConsumer {
  readonly #o: LogConsumerOptions;
  readonly #presenters = new Map<string, Presenter>();
  #next = 0;
  #width = 0;
  closed = false;

  constructor(o: LogConsumerOptions) { this.#o = o; }

  #register(name: string): Presenter {
    let p: Presenter;
    const sp = name.indexOf(' ');
    if (sp >= 0) {
      const parent = this.#presenter(name.slice(0, sp));
      p = { color: parent.color, name, prefix: parent.prefix };
    } else {
      let color = mono;
      if (this.#o.color && name !== '') { color = RAINBOW[this.#next]; this.#next = (this.#next + 1) % RAINBOW.length; }
      p = { color, name, prefix: '' };
    }
    this.#presenters.set(name, p);
    let w = 0;
    for (const x of this.#presenters.values()) if (x.name.length > w) w = x.name.length;
    this.#width = w + 1;
    if (this.#o.prefix) for (const x of this.#presenters.values()) x.prefix = x.color(`${x.name.padEnd(this.#width)} | `);
    return p;
  }

  #presenter(name: string): Presenter {
    return this.#presenters.get(name) ?? this.#register(name);
  }

  /** Registers names up front (compose registers on first output; attach uses this for order). */
  register(name: string): void { this.#presenter(name); }

  log(name: string, message: string): void { this.#write(this.#o.stdout, name, message); }

  err(name: string, message: string): void { this.#write(this.#o.stderr, name, message); }

  #write(out: NodeJS.WritableStream, name: string, message: string): void {
    if (this.closed) return;
    const p = this.#presenter(name);
    const ts = this.#o.timestamps ? `${rfc3339NanoFixed((this.#o.now ?? (() => new Date()))())} ` : '';
    let text = '';
    for (const line of message.split('\n')) text += `${p.prefix}${ts}${line}\n`;
    out.write(text);
  }

  status(name: string, msg: string): void {
    const p = this.#presenter(name);
    this.#o.stdout.write(p.color(`${RESET_LINE}${name} ${msg}\n`));
  }
}

/** Splits a byte stream into lines for a consumer (compose's utils.GetWriter). */
export class LineSplitter {
  #buf = '';
  readonly #emit: (line: string) => void;
  constructor(emit: (line: string) => void) { this.#emit = emit; }
  write(chunk: Buffer | string): void {
    this.#buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    for (let i = this.#buf.indexOf('\n'); i >= 0; i = this.#buf.indexOf('\n')) {
      this.#emit(this.#buf.slice(0, i));
      this.#buf = this.#buf.slice(i + 1);
    }
  }
  end(): void {
    if (this.#buf) this.#emit(this.#buf);
    this.#buf = '';
  }
}
