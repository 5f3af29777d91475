// Docker's multiplexed stream framing ("stdcopy"), used by logs, attach and exec when the
// container has no TTY: stdout and stderr share one connection, each write wrapped in a frame.
//
//   header (8 bytes)                               payload
//   [stream][0][0][0][size: uint32 big-endian]     size bytes
//
// stream: 0 stdin (written as stdout by docker), 1 stdout, 2 stderr, 3 "systemerr" (an error from
// the daemon, sent in-stream after the response headers are out).
//
//   const wire = Buffer.concat([frame(1, Buffer.from('out\n')), frame(2, Buffer.from('err\n'))]);
//   const d = new Demuxer((stream, payload) => (stream === 2 ? stderr : stdout).write(payload));
//   d.push(wire.subarray(0, 5)); d.push(wire.subarray(5)); d.end();
import { system } from './errors.ts';

export type StdStream = 0 | 1 | 2 | 3;
export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEMERR = 3;

/** Length of a frame header. */
export const HEADER_LENGTH = 8;
const MAX_FRAME = 0xffffffff;

/** Wraps one write in a frame. An empty payload gives a header-only frame (docker's StdWriter does too). */
export function frame(stream: StdStream, data: Buffer | Uint8Array | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  if (payload.length > MAX_FRAME) throw system(`stdcopy: payload of ${payload.length} bytes exceeds one frame`);
  const out = Buffer.allocUnsafe(HEADER_LENGTH + payload.length);
  out[0] = stream;
  out[1] = 0;
  out[2] = 0;
  out[3] = 0;
  out.writeUInt32BE(payload.length, 4);
  out.set(payload, HEADER_LENGTH);
  return out;
}

/**
 * Incremental decoder: feed chunks as they arrive (any split, even inside a header); the callback
 * gets each complete frame once. Chunks are queued and copied at most once per frame, so a large
 * frame arriving in many small chunks costs linear time.
 *
 * A stream byte other than 0–3 throws "unrecognized input header: N" (moby's text); the decoder
 * cannot resynchronise after that. At end of input an incomplete frame is dropped silently, as
 * moby's StdCopy does; `pending` tells how many bytes that was.
 */
export class Demuxer {
  readonly #onFrame: (stream: StdStream, payload: Buffer) => void;
  #chunks: Buffer[] = [];
  #length = 0;
  #failed = false;

  constructor(onFrame: (stream: StdStream, payload: Buffer) => void) {
    this.#onFrame = onFrame;
  }

  /** Bytes received but not yet delivered (an incomplete header or payload). */
  get pending(): number {
    return this.#length;
  }

  push(chunk: Buffer | Uint8Array): void {
    if (this.#failed) throw system('stdcopy: push after a framing error');
    if (chunk.length === 0) return;
    this.#chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.#length += chunk.length;
    while (this.#length >= HEADER_LENGTH) {
      const header = this.#peek(HEADER_LENGTH);
      const stream = header[0];
      if (stream > SYSTEMERR) {
        this.#failed = true;
        throw system(`unrecognized input header: ${stream}`);
      }
      const size = header.readUInt32BE(4);
      if (this.#length < HEADER_LENGTH + size) return;
      this.#take(HEADER_LENGTH);
      // Deliver before the callback can re-enter push (state is consistent at this point).
      this.#onFrame(stream as StdStream, this.#take(size));
    }
  }

  /** Signals end of input; returns the number of bytes of an incomplete trailing frame (dropped). */
  end(): number {
    const left = this.#length;
    this.#chunks = [];
    this.#length = 0;
    return left;
  }

  /** The first n bytes (n ≤ #length) without consuming them; copies only when they span chunks. */
  #peek(n: number): Buffer {
    const first = this.#chunks[0];
    if (first.length >= n) return first.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    for (const c of this.#chunks) {
      off += c.copy(out, off, 0, Math.min(c.length, n - off));
      if (off === n) break;
    }
    return out;
  }

  /** Removes and returns the first n bytes (n ≤ #length). */
  #take(n: number): Buffer {
    this.#length -= n;
    const first = this.#chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first.length === n) return this.#chunks.shift()!;
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0];
      const want = n - off;
      if (c.length <= want) {
        c.copy(out, off);
        off += c.length;
        this.#chunks.shift();
      } else {
        c.copy(out, off, 0, want);
        this.#chunks[0] = c.subarray(want);
        off += want;
      }
    }
    return out;
  }
}

/** Decodes a complete buffer into its frames (a trailing incomplete frame is ignored). */
export function demux(data: Buffer | Uint8Array): Array<{ stream: StdStream; payload: Buffer }> {
  const out: Array<{ stream: StdStream; payload: Buffer }> = [];
  const d = new Demuxer((stream, payload) => out.push({ stream, payload }));
  d.push(data);
  d.end();
  return out;
}
