// Reading the daemon's streaming responses.
//
// JSON-message streams (pull, import, load, push, build, events): JSON objects one after the
// other, usually newline-separated but not necessarily (the Go decoder the docker CLI uses
// accepts back-to-back objects, so we do too).
//
//   for await (const msg of jsonMessages(res)) console.log(msg.status);
//
// Multiplexed (stdcopy) streams (logs, attach and exec without a TTY): demultiplexed onto two
// writables; a frame on stream 3 (systemerr) is an error the daemon sent after the headers.
//
//   await demuxTo(res, process.stdout, process.stderr);
import type { Readable, Writable } from 'node:stream';
import { Demuxer } from '../common/stdcopy.ts';

export interface JsonMessage {
  id?: string;
  status?: string;
  stream?: string;
  from?: string;
  time?: number;
  timeNano?: number;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: unknown;
  [k: string]: unknown;
}

/**
 * Splits a byte stream into complete top-level JSON values (objects or arrays), tracking
 * strings and escapes so braces inside strings do not count. Whitespace between values is
 * skipped. Returns the values found and keeps the incomplete tail for the next chunk.
 */
export class JsonSplitter {
  #buf = '';
  #depth = 0;
  #inString = false;
  #escape = false;
  #start = -1;
  #scan = 0;

  push(chunk: string): string[] {
    this.#buf += chunk;
    const out: string[] = [];
    const b = this.#buf;
    let i = this.#scan;
    for (; i < b.length; i++) {
      const ch = b[i];
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (ch === '\\') this.#escape = true;
        else if (ch === '"') this.#inString = false;
        continue;
      }
      if (ch === '"') {
        this.#inString = true;
      } else if (ch === '{' || ch === '[') {
        if (this.#depth === 0) this.#start = i;
        this.#depth++;
      } else if (ch === '}' || ch === ']') {
        this.#depth--;
        if (this.#depth === 0 && this.#start >= 0) {
          out.push(b.slice(this.#start, i + 1));
          this.#start = -1;
        }
      }
    }
    // Keep only the unfinished value.
    if (this.#start >= 0) {
      this.#buf = b.slice(this.#start);
      this.#scan = i - this.#start;
      this.#start = 0;
    } else {
      this.#buf = '';
      this.#scan = 0;
    }
    return out;
  }
}

/** Each message's own JSON text, kept (non-enumerable) because JSON.parse rounds integers
 *  past 2^53, such as an event's `timeNano`. */
export const RAW_JSON = Symbol.for('berth.rawJson');

export async function* jsonMessages(stream: Readable): AsyncGenerator<JsonMessage> {
  const split = new JsonSplitter();
  stream.setEncoding('utf8');
  for await (const chunk of stream) {
    for (const text of split.push(chunk as string)) {
      let msg: JsonMessage;
      // What the daemon sent is not trusted to be JSON: a broken message is the stream's error
      // (docker's decoder says "invalid character…"), not a SyntaxError out of the CLI.
      try { msg = JSON.parse(text) as JsonMessage; } catch (e) { throw new StreamError(`error reading the daemon's stream: ${(e as Error).message}`); }
      Object.defineProperty(msg, RAW_JSON, { value: text, enumerable: false });
      yield msg;
    }
  }
}

/** The error a JSON message carries, if any. */
export function messageError(m: JsonMessage): string | undefined {
  if (m.errorDetail?.message) return m.errorDetail.message;
  if (typeof m.error === 'string' && m.error) return m.error;
  return undefined;
}

/**
 * Prints a JSON-message stream as the docker CLI does on a non-terminal (jsonmessage.Display):
 * `id: status`, `stream` text as is, progress-bar updates left out. Throws the first in-stream
 * error (after printing what came before it). Returns the `aux` values seen (build IDs, say).
 */
export async function displayJsonMessages(stream: Readable, out: Writable, o: { tty?: boolean } = {}): Promise<unknown[]> {
  if (o.tty) return displayJsonMessagesTty(stream, out);
  const aux: unknown[] = [];
  for await (const m of jsonMessages(stream)) {
    const err = messageError(m);
    if (err !== undefined) throw new StreamError(err);
    if (m.aux !== undefined) { aux.push(m.aux); continue; }
    if (m.progressDetail && (m.progressDetail.current || m.progressDetail.total)) continue;
    let line = '';
    if (m.id) line += `${m.id}: `;
    if (m.from) line += `(from ${m.from}) `;
    if (typeof m.stream === 'string') {
      out.write(line + m.stream);
      continue;
    }
    line += m.status ?? '';
    out.write(`${line}\n`);
  }
  return aux;
}

/**
 * The terminal form (docker's DisplayJSONMessagesStream with a terminal): one line per layer ID,
 * updated in place (cursor up, clear line) with the daemon's progress bar text.
 */
async function displayJsonMessagesTty(stream: Readable, out: Writable): Promise<unknown[]> {
  const aux: unknown[] = [];
  let ids = new Map<string, number>();
  for await (const m of jsonMessages(stream)) {
    const err = messageError(m);
    if (err !== undefined) throw new StreamError(err);
    if (m.aux !== undefined) { aux.push(m.aux); continue; }
    const progress = !!m.id && (m.progressDetail !== undefined || !!m.progress);
    let diff = 0;
    if (progress) {
      let line = ids.get(m.id!);
      if (line === undefined) {
        line = ids.size;
        ids.set(m.id!, line);
        out.write('\n');
      }
      diff = ids.size - line;
      out.write(`\x1b[${diff}A`);
    } else {
      ids = new Map();
    }
    if (typeof m.stream === 'string') { out.write(m.stream); continue; }
    let text = progress ? '\x1b[2K\r' : '';
    if (m.id) text += `${m.id}: `;
    text += m.status ?? '';
    // docker prints the bar after a space even when it is empty ("Pulling fs layer \r").
    if (progress) text += ` ${m.progress ?? ''}`;
    out.write(progress ? `${text}\r` : `${text}\n`);
    if (progress) out.write(`\x1b[${diff}B`);
  }
  return aux;
}

/** An error carried inside a stream after a 200 (not an HTTP error status). */
export class StreamError extends Error {}

/**
 * Copies a multiplexed stream to two writables until it ends. Resolves when the source ends;
 * rejects with the daemon's text on a systemerr frame.
 */
export function demuxTo(src: Readable, stdout: Writable, stderr: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed = false;
    const d = new Demuxer((stream, payload) => {
      if (stream === 3) {
        failed = true;
        reject(new StreamError(payload.toString().trim()));
        src.destroy();
        return;
      }
      (stream === 2 ? stderr : stdout).write(payload);
    });
    src.on('data', (c: Buffer) => {
      if (failed) return;
      try { d.push(c); } catch (e) { failed = true; reject(e); src.destroy(); }
    });
    // A stream that already ended before we got here emits nothing more.
    if (src.readableEnded || (src.destroyed && src.readableLength === 0)) { resolve(); return; }
    src.on('end', () => { d.end(); if (!failed) resolve(); });
    src.on('close', () => { if (!failed) resolve(); });
    src.on('error', (e) => { if (!failed) reject(e); });
    // A hijacked socket is handed over paused.
    src.resume();
  });
}
