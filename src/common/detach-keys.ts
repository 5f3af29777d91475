// Detach keys (Docker's `--detach-keys`, ctrl-p ctrl-q by default). The daemon watches a TTY
// session's stdin for the sequence and, when it comes, ends the client's connection while the
// process keeps running (attach and exec on a TTY: dockerode and docker-py rely on the daemon for
// it); the CLIs also catch it themselves, before it is sent, so they can leave at once.

/** Docker's default detach sequence. */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/**
 * moby/term's ToBytes: comma-separated keys, each one character, `ctrl-a`…`ctrl-z`, `ctrl-@`,
 * `ctrl-[`, `ctrl-\`, `ctrl-]`, `ctrl-^`, `ctrl-_`, or `DEL`. Throws moby's "Unknown character";
 * the daemon puts it in its own words ("Invalid escape keys (…) provided" for exec, "Invalid
 * detach keys (…) provided" for attach).
 */
export function parseDetachKeys(spec: string): Buffer {
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const k = part.trim();
    if (k.length > 1 && k.toLowerCase().startsWith('ctrl-')) {
      const c = k.slice(5);
      if (c.length !== 1) throw new Error(`Unknown character: '${k}'`);
      const lc = c.toLowerCase();
      if (lc >= 'a' && lc <= 'z') out.push(lc.charCodeAt(0) - 96);
      else if ('@[\\]^_'.includes(c)) out.push(c.charCodeAt(0) - 64);
      else throw new Error(`Unknown character: '${k}'`);
    } else if (k === 'DEL') {
      out.push(127);
    } else if (k.length === 1) {
      out.push(k.charCodeAt(0));
    } else {
      throw new Error(`Unknown character: '${k}'`);
    }
  }
  return Buffer.from(out);
}

/**
 * Finds a detach sequence in typed input. Bytes that could start the sequence are held back
 * until it is complete (detach: they are never sent) or broken (they are sent after all, as
 * moby/term's escape proxy gives them back).
 */
export class DetachScanner {
  readonly #keys: Uint8Array;
  #held = 0;

  /** Empty `keys`: Docker's default sequence. */
  constructor(keys: Uint8Array | number[]) {
    this.#keys = keys.length ? Uint8Array.from(keys) : parseDetachKeys(DEFAULT_DETACH_KEYS);
  }

  /** Returns the bytes to forward, and whether the sequence completed (what follows it is dropped). */
  push(chunk: Buffer): { forward: Buffer; detached: boolean } {
    const keys = this.#keys;
    const out: number[] = [];
    for (const b of chunk) {
      if (b === keys[this.#held]) {
        this.#held++;
        if (this.#held === keys.length) { this.#held = 0; return { forward: Buffer.from(out), detached: true }; }
        continue;
      }
      if (this.#held) { out.push(...keys.subarray(0, this.#held)); this.#held = 0; }
      if (b === keys[0]) {
        if (keys.length === 1) return { forward: Buffer.from(out), detached: true };
        this.#held = 1;
        continue;
      }
      out.push(b);
    }
    return { forward: Buffer.from(out), detached: false };
  }
}
