// ADD <url>: the remote file is streamed to a file in the build's scratch directory, never held in
// memory, under two bounds that Docker's classic builder does not have (it copies the body with no
// limit and no timeout, moby builder/dockerfile/copy.go downloadSource):
//
//   - a size cap (daemon option `builder-add-url-max-size`, default 10 GiB): a Content-Length
//     above it is refused before a byte is read, a body that grows past it is cut there; either
//     way the partial file is deleted and the step fails with "... exceeds the limit of ...".
//   - an idle timeout (daemon option `builder-add-url-idle-timeout`, default 60 s): connecting,
//     waiting for the response headers, and every wait for the next piece of the body may each
//     take at most that long. A large download from a slow but live server runs as long as it
//     needs (a total timeout would cut legitimate large files); a stalled one fails.
//
// What Docker does and berth keeps: the file name is the last element of the URL's path, else
// the Content-Disposition filename, else `__unnamed__` (and an error when the destination is a
// directory); the file's mtime is the Last-Modified header's time, or the Unix epoch without
// one; the file is written 0600 (the caller applies --chmod). --checksum is not checked: the
// classic builder ignores it too (it is a BuildKit feature).
import { createWriteStream } from 'node:fs';
import { mkdir, rm, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalid, isEngineError } from '../common/errors.ts';
import { bytesSize } from '../common/units.ts';

export interface DownloadLimits {
  /** Largest body accepted, bytes; 0 = no limit. */
  maxBytes: number;
  /** Longest wait for the connection, the headers or the next body chunk, ms; 0 = no limit. */
  idleTimeoutMs: number;
}

export const DEFAULT_DOWNLOAD_LIMITS: DownloadLimits = { maxBytes: 10 * 1024 ** 3, idleTimeoutMs: 60_000 };

/** Docker's name for a download whose name cannot be told from its URL or headers. */
export const UNNAMED = '__unnamed__';

/**
 * The file name Docker gives a download (moby getFilenameForDownload): the URL path's last
 * element unless the path is empty or ends in '/', else the Content-Disposition `filename`
 * parameter's last element, else '' (the caller picks `__unnamed__` or fails).
 *
 *   filenameForDownload('/a/b.tar.gz', null)                               → 'b.tar.gz'
 *   filenameForDownload('/dir/', 'attachment; filename="x/y.bin"')         → 'y.bin'
 *   filenameForDownload('', null)                                          → ''
 */
export function filenameForDownload(path: string, contentDisposition: string | null): string {
  if (path !== '' && !path.endsWith('/')) {
    const base = posix.basename(path);
    if (base !== '') return base;
  }
  const fn = contentDisposition ? dispositionFilename(contentDisposition) : undefined;
  if (fn && !fn.endsWith('/')) return posix.basename(fn);
  return '';
}

/** The `filename` parameter of a Content-Disposition value (RFC 2183, RFC 2231 `filename*`), as Go's mime.ParseMediaType reads it. */
function dispositionFilename(v: string): string | undefined {
  let plain: string | undefined;
  let extended: string | undefined;
  // Parameters after the disposition type: `; key=token` or `; key="quoted \" string"`.
  const re = /;\s*([^\s=;]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^;\s]*)/g;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    const key = m[1].toLowerCase();
    const value = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2];
    if (key === 'filename') plain = value;
    else if (key === 'filename*') {
      const x = /^([^']*)'[^']*'(.*)$/.exec(value);
      if (x && /^(utf-8|us-ascii)$/i.test(x[1])) {
        try { extended = decodeURIComponent(x[2]); } catch { /* malformed: ignored, as Go ignores it */ }
      }
    }
  }
  return extended ?? plain;
}

/**
 * GETs `url` into `<dir>/<name>` and returns where. `dest` is the ADD destination (Docker fails
 * when the name is unknown and the destination is a directory). Throws InvalidParameter with
 * Docker's texts for HTTP failures; deletes what it wrote when it fails.
 */
export async function download(url: string, dir: string, dest: string, signal: AbortSignal, limits: DownloadLimits): Promise<{ path: string; name: string }> {
  await mkdir(dir, { recursive: true });
  const abort = new AbortController();
  const onAbort = () => abort.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  // The idle timer: armed while waiting for anything from the server, re-armed by every chunk.
  let idle: NodeJS.Timeout | undefined;
  let timedOut = false;
  const arm = () => {
    if (!limits.idleTimeoutMs) return;
    clearTimeout(idle);
    idle = setTimeout(() => { timedOut = true; abort.abort(new Error('idle timeout')); }, limits.idleTimeoutMs);
  };
  const idleText = () => `no data received for ${limits.idleTimeoutMs / 1000}s (the daemon's builder-add-url-idle-timeout)`;
  const tooBig = (what: string) =>
    invalid(`ADD failed: failed to GET ${url}: ${what} exceeds the limit of ${bytesSize(limits.maxBytes)} set by the daemon's builder-add-url-max-size`);
  let path: string | undefined;
  try {
    arm();
    let res: Response;
    try {
      res = await fetch(url, { signal: abort.signal, redirect: 'follow' });
    } catch (e) {
      throw invalid(`ADD failed: failed to GET ${url}: ${timedOut ? idleText() : (e as Error).message}`);
    }
    if (!res.ok) {
      // Docker (remotecontext.GetWithStatusError) quotes the status and the body; a bounded piece of it here.
      const body = await readSome(res, 4096).catch(() => ''); // a body that fails to read: the status alone
      throw invalid(`ADD failed: failed to GET ${url} with status ${res.status} ${res.statusText}: ${body}`.trimEnd());
    }
    const length = Number(res.headers.get('content-length') ?? NaN);
    if (limits.maxBytes && Number.isFinite(length) && length > limits.maxBytes) {
      // The error below is what counts; the abort in the catch cuts the connection anyway.
      await res.body?.cancel().catch(() => {});
      throw tooBig(`its Content-Length (${length} bytes)`);
    }
    let name = filenameForDownload(new URL(url).pathname, res.headers.get('content-disposition'));
    if (name === '') {
      if (dest.endsWith('/')) {
        // As above: the abort in the catch cuts the connection anyway.
        await res.body?.cancel().catch(() => {});
        throw invalid(`ADD failed: cannot determine filename for source ${url}`);
      }
      name = UNNAMED;
    }
    path = join(dir, name);
    let got = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        got += chunk.length;
        if (limits.maxBytes && got > limits.maxBytes) { cb(tooBig('the download')); return; }
        arm();
        cb(null, chunk);
      },
    });
    try {
      // Backpressure all the way: the body is read only as fast as the file takes it.
      const body = res.body ? Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>) : Readable.from([]);
      await pipeline(body, meter, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
    } catch (e) {
      if (timedOut) throw invalid(`ADD failed: failed to GET ${url}: ${idleText()}`);
      if (isEngineError(e)) throw e;
      throw invalid(`ADD failed: failed to GET ${url}: ${(e as Error).message}`);
    }
    // Docker: the Last-Modified time, or the zero time (which it stores as the Unix epoch).
    const lm = Date.parse(res.headers.get('last-modified') ?? '');
    const t = Number.isNaN(lm) ? new Date(0) : new Date(lm);
    await utimes(path, t, t);
    return { path, name };
  } catch (e) {
    abort.abort(); // the connection goes too, whatever state the body was left in
    if (path) await rm(path, { force: true });
    throw e;
  } finally {
    clearTimeout(idle);
    signal.removeEventListener('abort', onAbort);
  }
}

/** Up to `max` bytes of a response body, as text (for error messages). */
async function readSome(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < max) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(r.value);
      n += r.value.length;
    }
  } finally {
    // Only stops the rest of the body (the stream may already be done or errored): the caller aborts the request.
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(parts).subarray(0, max).toString('utf8');
}
