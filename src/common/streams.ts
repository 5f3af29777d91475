// Stream helpers Node lacks: look at the first chunk of a body (gzip or not) and go on reading
// it whole, and feed one stream to two consumers (a layer stored as a blob and unpacked in one pass).
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { EngineError } from './errors.ts';
import { PassThrough, Readable } from 'node:stream';

/**
 * The first chunk of `body` (empty when the body is empty) and a stream that yields that chunk
 * and then the rest: callers decide how to read a body from its first bytes.
 */
export async function peek(body: Readable): Promise<{ head: Buffer; stream: Readable }> {
  const { head, all } = await peekBytes(body, 1);
  return { head, stream: Readable.from(all) };
}

/** The first `n` bytes of a stream (fewer at its end) and an iterable of all of it. */
export async function peekBytes(src: AsyncIterable<Buffer | string>, n: number): Promise<{ head: Buffer; all: AsyncIterable<Buffer> }> {
  const it = src[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let len = 0;
  let ended = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) { ended = true; break; }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    chunks.push(b);
    len += b.length;
  }
  const head = Buffer.concat(chunks);
  return {
    head,
    all: (async function* () {
      if (head.length) yield head;
      if (ended) return;
      for (let r = await it.next(); !r.done; r = await it.next()) yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    })(),
  };
}

/** gzip's magic number. */
export const isGzip = (head: Buffer): boolean => head[0] === 0x1f && head[1] === 0x8b;

/** zstd's magic number. */
export const isZstd = (head: Buffer): boolean => head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd;

/**
 * Returns two branches that each get every chunk of `source`. A source error destroys both
 * branches; branch errors are swallowed here because they reach the caller through the
 * consumers' own promises (a branch whose consumer already settled must not raise an unhandled
 * 'error' and take the daemon down).
 */
export function tee(source: Readable, highWaterMark = 1 << 20): [PassThrough, PassThrough] {
  const a = new PassThrough({ highWaterMark });
  const b = new PassThrough({ highWaterMark });
  source.on('data', (c: Buffer) => {
    const okA = a.write(c);
    const okB = b.write(c);
    if (!okA || !okB) {
      source.pause();
      let waiting = (okA ? 0 : 1) + (okB ? 0 : 1);
      const go = () => { if (--waiting === 0) source.resume(); };
      if (!okA) a.once('drain', go);
      if (!okB) b.once('drain', go);
    }
  });
  source.on('end', () => { a.end(); b.end(); });
  source.on('error', (e) => { a.destroy(e); b.destroy(e); });
  a.on('error', () => {});
  b.on('error', () => {});
  return [a, b];
}

/**
 * Gathers small buffers into chunks of about `size` bytes (a buffer already that large, with
 * nothing pending, passes as is): one consumer write per tar header or small file would cost
 * more than producing them.
 */
export async function* batchChunks(src: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let n = 0;
  for await (const b of src) {
    if (b.length >= size && n === 0) { yield b; continue; }
    pending.push(b);
    n += b.length;
    if (n >= size) {
      yield Buffer.concat(pending, n);
      pending = [];
      n = 0;
    }
  }
  if (n) yield Buffer.concat(pending, n);
}

/** The first `n` bytes of a file (fewer if it is shorter): enough to sniff a compression magic. */
export async function firstBytes(path: string, n = 4): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(n);
    const { bytesRead } = await fh.read(b, 0, n, 0);
    return b.subarray(0, bytesRead);
  } finally { await fh.close(); }
}

/**
 * A layer blob as a tar stream, by its first bytes: gzip (Node's zlib), zstd (Debian's `zstd`,
 * as OCI `tar+zstd` layers need; Node 20 has none), or a plain tar as is. A failing decompressor
 * ends the tar early, and the caller's diff ID check then refuses the layer.
 */
export function decompressedLayer(src: Readable, head: Buffer): Readable {
  // Once the output is closed (read to its end, failed, or abandoned by its reader) nothing
  // reads the source again: destroyed, it closes its file. A decompressor that fails unpipes a
  // source it has not drained, which otherwise kept its descriptor open for good.
  if (isGzip(head)) {
    const g = createGunzip({ chunkSize: 256 * 1024 });
    src.on('error', (e) => g.destroy(e));
    g.on('close', () => src.destroy());
    return src.pipe(g);
  }
  if (isZstd(head)) {
    const child = spawn('zstd', ['-dcq'], { stdio: ['pipe', 'pipe', 'ignore'] });
    // Piped at once: Node resumes (and so discards) a child's stdout that has no reader when
    // the child exits, and the caller only starts reading after some awaits.
    const out = child.stdout!.pipe(new PassThrough({ highWaterMark: 1 << 20 }));
    child.once('error', (e) => out.destroy(new EngineError('System', `unsupported layer compression: zstd (${e.message})`)));
    child.stdin!.on('error', () => {});
    src.on('error', (e) => { child.kill(); out.destroy(e); });
    out.on('close', () => { child.kill(); src.destroy(); });
    src.pipe(child.stdin!);
    return out;
  }
  return src;
}
