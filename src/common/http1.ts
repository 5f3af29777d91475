// A small HTTP/1.1 client over node:net / node:tls, made for the CLI's start-up budget: loading
// node:http and building its first ClientRequest costs ~8 ms per invocation here, about a
// quarter of node's own start. berthd's registry client reads blobs with it too: its body chunks
// are the socket's own buffers, where node:http's parser copies each one. It speaks exactly what
// the Engine API and a blob's GET need:
//   - requests with a Buffer body (Content-Length) or a stream body (chunked);
//   - responses with Content-Length, chunked, or close-delimited bodies, exposed as a Readable
//     with backpressure (logs -f, events, pull progress);
//   - `101 Switching Protocols` for hijacked attach/exec: the raw socket is handed over, with
//     any bytes read past the response head pushed back into it;
//   - keep-alive reuse of idle connections, with one retry on a fresh connection when a reused
//     one turns out to have been closed by the server in the meantime.
//
//   const h = new Http1Agent(() => net.connect('/run/berth/berth.sock'), 'api.moby.localhost');
//   const { res } = await h.request({ method: 'GET', path: '/_ping' });
//   res.statusCode → 200; for await (const c of res) …
import net from 'node:net';
import { Readable } from 'node:stream';
const CRLF_BUF = Buffer.from('\r\n');

export interface Http1Request {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Streamed with chunked transfer encoding. */
  stream?: NodeJS.ReadableStream;
  /** Ask for `Connection: Upgrade` / `Upgrade: tcp` (the caller sets those headers). */
  upgrade?: boolean;
  signal?: AbortSignal;
  /**
   * Takes a 2xx response's body synchronously, piece by piece as it arrives (`res` then ends
   * with no data). A piece may be a view into a buffer that the next read reuses: use it during
   * the call (write it out), never keep it. A throw fails the body with that error. With the
   * agent's `connectBulk`, such a request gets a connection of its own, read into one reused
   * 1 MiB buffer (no allocation per read), and closed after.
   */
  sink?: (piece: Buffer) => void;
}

/** A connection whose reads land in `onread.buffer` (net.connect's `onread` option). */
export type BulkConnect = (onread: net.OnReadOpts) => net.Socket;

const BULK_FEED = Symbol('bulk feed');
type BulkSocket = net.Socket & { [BULK_FEED]?: (piece: Buffer) => void };

export class Http1Response extends Readable {
  statusCode = 0;
  statusMessage = '';
  headers: Record<string, string> = {};
  #resume: (() => void) | undefined;

  constructor() {
    // 1 MiB: the socket keeps being read while a consumer's write (a file, stdout) is in flight.
    super({ highWaterMark: 1 << 20 });
  }

  /** @internal lets the parser pause the socket until the consumer reads again. */
  setResume(fn: () => void): void {
    this.#resume = fn;
  }

  override _read(): void {
    this.#resume?.();
  }
}

export interface Http1Result {
  res: Http1Response;
  /** Set for a 101 answer: the raw connection, now the caller's (paused: resume() after listening). */
  upgraded?: net.Socket;
}

/** Thrown when the connection failed before any response arrived (retry-safe). */
export class EarlyCloseError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

const CRLF2 = Buffer.from('\r\n\r\n');

export class Http1Agent {
  readonly #connect: () => net.Socket;
  readonly #connectBulk: BulkConnect | undefined;
  readonly #host: string;
  readonly #idle: net.Socket[] = [];
  readonly #all = new Set<net.Socket>();

  constructor(connect: () => net.Socket, host: string, connectBulk?: BulkConnect) {
    this.#connect = connect;
    this.#host = host;
    this.#connectBulk = connectBulk;
  }

  async request(req: Http1Request): Promise<Http1Result> {
    if (req.sink && this.#connectBulk) return this.#exchange(this.#openBulk(this.#connectBulk), req);
    const reused = this.#takeIdle();
    if (reused) {
      try {
        return await this.#exchange(reused, req);
      } catch (e) {
        // The server may have closed an idle connection just now; a request that got no
        // answer at all is safe to send again on a new connection (a streamed body is not).
        if (!(e instanceof EarlyCloseError) || req.stream) throw e;
      }
    }
    return this.#exchange(this.#open(), req);
  }

  /** Closes every connection (idle or not) so the process can exit. */
  destroy(): void {
    for (const s of this.#all) s.destroy();
    this.#all.clear();
    this.#idle.length = 0;
  }

  #open(): net.Socket {
    const s = this.#connect();
    this.#all.add(s);
    s.once('close', () => {
      this.#all.delete(s);
      const i = this.#idle.indexOf(s);
      if (i >= 0) this.#idle.splice(i, 1);
    });
    return s;
  }

  #openBulk(connect: BulkConnect): net.Socket {
    const s = connect({
      buffer: Buffer.allocUnsafe(1 << 20),
      callback: (n: number, buf: Uint8Array) => { (s as BulkSocket)[BULK_FEED]!((buf as Buffer).subarray(0, n)); return true; },
    }) as BulkSocket;
    s[BULK_FEED] = () => {};
    this.#all.add(s);
    s.once('close', () => this.#all.delete(s));
    return s;
  }

  #takeIdle(): net.Socket | undefined {
    while (this.#idle.length) {
      const s = this.#idle.pop()!;
      if (!s.destroyed && s.writable && s.readable) {
        s.removeAllListeners('error');
        s.ref();
        return s;
      }
    }
    return undefined;
  }

  #release(s: net.Socket): void {
    if (s.destroyed) return;
    s.removeAllListeners('data');
    s.removeAllListeners('end');
    s.removeAllListeners('error');
    s.on('error', () => s.destroy());
    // Idle connections must not keep the process alive.
    s.unref();
    this.#idle.push(s);
  }

  #exchange(socket: net.Socket, req: Http1Request): Promise<Http1Result> {
    return new Promise<Http1Result>((resolve, reject) => {
      let head = '';
      const headers: Record<string, string> = { Host: this.#host, ...req.headers };
      if (req.body) headers['Content-Length'] = String(req.body.length);
      else if (req.stream) headers['Transfer-Encoding'] = 'chunked';
      else if (req.method !== 'GET' && req.method !== 'HEAD') headers['Content-Length'] = '0';
      head += `${req.method} ${req.path} HTTP/1.1\r\n`;
      for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
      head += '\r\n';

      let got = false; // any response byte seen
      let settled = false;
      let buf: Buffer = Buffer.alloc(0);
      const res = new Http1Response();
      let bodyDone: ((err?: Error) => void) | undefined;

      // A response failing before its reader listens (it is handed over in a promise, and a
      // bad first chunk fails at once) must not be an unhandled 'error' that ends the CLI: the
      // error waits in res.errored, where for-await and stream.finished find it.
      const failBody = (err: Error) => {
        if (res.listenerCount('error') === 0) res.on('error', () => {});
        res.destroy(err);
      };
      const fail = (err: Error) => {
        if (settled) { failBody(err); return; }
        settled = true;
        cleanup();
        socket.destroy();
        reject(err);
      };
      const onError = (err: NodeJS.ErrnoException) => {
        if (!got) fail(new EarlyCloseError(err.message, err.code));
        else if (bodyDone) bodyDone(err);
        else fail(err);
      };
      const onEnd = () => {
        if (!got) { fail(new EarlyCloseError('socket hang up', 'ECONNRESET')); return; }
        // A body shorter than its Content-Length is an error (Go's "unexpected EOF"), not an end.
        if (bodyDone) bodyDone(remaining > 0 ? new Error('unexpected EOF') : undefined);
        else fail(new Error('unexpected end of response head'));
      };
      // A connection read into a reused buffer: what is kept past a read is copied.
      const bulk = (socket as BulkSocket)[BULK_FEED] !== undefined;
      const cleanup = () => {
        if (bulk) (socket as BulkSocket)[BULK_FEED] = () => {};
        socket.removeListener('data', onData);
        socket.removeListener('end', onEnd);
        socket.removeListener('error', onError);
        req.signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => fail(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }));
      req.signal?.addEventListener('abort', onAbort, { once: true });

      const onData = (chunk: Buffer) => {
        got = true;
        if (bodyDone) { feedBody(chunk); return; }
        buf = buf.length || bulk ? Buffer.concat([buf, chunk]) : chunk;
        const end = buf.indexOf(CRLF2);
        if (end < 0) {
          if (buf.length > 1 << 20) fail(new Error('response head too large'));
          return;
        }
        const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
        const rest = buf.subarray(end + 4);
        buf = Buffer.alloc(0);
        const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
        if (!m) { fail(new Error(`malformed HTTP response: ${lines[0].slice(0, 100)}`)); return; }
        res.statusCode = Number(m[1]);
        res.statusMessage = m[2];
        for (const line of lines.slice(1)) {
          const c = line.indexOf(':');
          if (c <= 0) continue;
          const k = line.slice(0, c).trim().toLowerCase();
          const v = line.slice(c + 1).trim();
          res.headers[k] = k in res.headers ? `${res.headers[k]}, ${v}` : v;
        }
        if (res.statusCode === 100) { // Continue: the real answer follows
          res.headers = {};
          if (rest.length) onData(rest);
          return;
        }
        if (res.statusCode === 101) {
          settled = true;
          cleanup();
          // Paused, so nothing flows before the new owner listens (it calls resume()).
          socket.pause();
          if (rest.length) socket.unshift(rest);
          this.#all.delete(socket);
          res.push(null);
          resolve({ res, upgraded: socket });
          return;
        }
        startBody(rest);
      };

      // Body framing.
      let remaining = -1; // Content-Length left, -1 when not length-delimited
      let chunked = false;
      let chunkLeft = 0; // bytes left in the current chunk (+2 for its CRLF once data is read)
      let chunkState: 'size' | 'data' | 'crlf' | 'trailer' = 'size';
      let pending: Buffer = Buffer.alloc(0);
      let keepAlive = true;
      // The request's sink, once the head says 2xx: the body's pieces go there, not into `res`.
      let sink: ((piece: Buffer) => void) | undefined;

      const startBody = (rest: Buffer) => {
        settled = true;
        keepAlive = !/close/i.test(res.headers.connection ?? '');
        const noBody = req.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304;
        let ended = false;
        bodyDone = (err?: Error) => {
          if (ended) return;
          ended = true;
          cleanup();
          if (err) { failBody(err); socket.destroy(); return; }
          if (!res.readableEnded) res.push(null);
          if (keepAlive && !bulk && (remaining === 0 || (chunked && chunkState === 'trailer' && pending.length === 0 && finishedChunks))) this.#release(socket);
          else socket.destroy();
        };
        res.setResume(() => { if (socket.isPaused()) socket.resume(); });
        // A sunk body leaves the stream empty: flowing, it ends (and 'end' fires) by itself.
        if (req.sink && res.statusCode >= 200 && res.statusCode < 300) { sink = req.sink; res.resume(); }
        resolve({ res });
        if (noBody) { remaining = 0; bodyDone(); return; }
        if (/chunked/i.test(res.headers['transfer-encoding'] ?? '')) chunked = true;
        else if (res.headers['content-length'] !== undefined) remaining = Number(res.headers['content-length']);
        else keepAlive = false; // delimited by close
        if (remaining === 0) { bodyDone(); return; }
        if (rest.length) feedBody(rest);
      };

      let finishedChunks = false;
      const emit = (b: Buffer) => {
        if (!b.length) return;
        if (sink) {
          // A throw fails the body; what the same read still holds is dropped.
          try { sink(b); } catch (e) { sink = () => {}; bodyDone!(e instanceof Error ? e : new Error(String(e))); }
          return;
        }
        if (!res.push(bulk ? Buffer.from(b) : b)) socket.pause();
      };
      const feedBody = (chunk: Buffer) => {
        feedFramed(chunk);
        // A partial chunk-size line left over from a reused read buffer.
        if (bulk && pending.length) pending = Buffer.from(pending);
      };
      const feedFramed = (chunk: Buffer) => {
        if (!chunked) {
          if (remaining < 0) { emit(chunk); return; }
          const take = chunk.subarray(0, remaining);
          remaining -= take.length;
          emit(take);
          if (remaining === 0) bodyDone!();
          return;
        }
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        for (;;) {
          if (chunkState === 'size') {
            const nl = pending.indexOf('\r\n');
            if (nl < 0) return;
            // chunk-size is hex digits only (then extensions after ';'), as Go's reader has it:
            // parseInt took '-5' (and then looped for good on a chunk that never shrank) or '1g'.
            const m = /^([0-9a-fA-F]{1,15})[ \t]*(?:;.*)?$/.exec(pending.subarray(0, nl).toString('latin1'));
            const size = m ? parseInt(m[1], 16) : NaN;
            pending = pending.subarray(nl + 2);
            if (Number.isNaN(size)) { bodyDone!(new Error('malformed chunked encoding')); return; }
            if (size === 0) { chunkState = 'trailer'; continue; }
            chunkLeft = size;
            chunkState = 'data';
          } else if (chunkState === 'data') {
            if (!pending.length) return;
            const take = pending.subarray(0, chunkLeft);
            pending = pending.subarray(take.length);
            chunkLeft -= take.length;
            emit(take);
            if (chunkLeft === 0) chunkState = 'crlf';
          } else if (chunkState === 'crlf') {
            if (pending.length < 2) return;
            pending = pending.subarray(2);
            chunkState = 'size';
          } else {
            // Trailer section: lines until an empty one.
            const nl = pending.indexOf('\r\n');
            if (nl < 0) return;
            const line = pending.subarray(0, nl);
            pending = pending.subarray(nl + 2);
            if (line.length === 0) { finishedChunks = true; bodyDone!(); return; }
          }
        }
      };

      if (bulk) (socket as BulkSocket)[BULK_FEED] = onData;
      else socket.on('data', onData);
      socket.on('end', onEnd);
      socket.on('error', onError);

      socket.write(head);
      if (req.body) socket.write(req.body);
      if (req.stream) {
        const src = req.stream;
        src.on('data', (c: Buffer | string) => {
          const b = typeof c === 'string' ? Buffer.from(c) : c;
          if (!b.length) return;
          // The size line, the data and CRLF go out as one writev (corked), without copying the
          // data; all three are always written, and the last write's answer is the backpressure.
          socket.cork();
          socket.write(`${b.length.toString(16)}\r\n`, 'latin1');
          socket.write(b);
          const more = socket.write(CRLF_BUF);
          socket.uncork();
          if (!more) {
            src.pause();
            socket.once('drain', () => src.resume());
          }
        });
        src.on('end', () => socket.write('0\r\n\r\n'));
        src.on('error', (e: Error) => fail(e));
      }
    });
  }
}
