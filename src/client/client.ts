// The Engine API client the CLI uses: one keep-alive connection pool to one daemon, API version
// negotiation, JSON requests, streaming responses and hijacked (`Upgrade: tcp`) connections.
//
//   const c = new ApiClient(resolveEndpoint(opts, process.env));
//   const { Id } = await c.json<{ Id: string }>('POST', '/containers/create', { body: config });
//   const h = await c.hijack('POST', `/containers/${Id}/attach`, { query: { stream: 1, stdout: 1 } });
//   h.socket.pipe(process.stdout);
//
// Every path is sent as `/v<version><path>`; the version is min(1.47, what the daemon's
// `GET /_ping` announces in `API-Version`), or BERTH_API_VERSION / DOCKER_API_VERSION when set
// (then no ping is made, as the docker CLI does). An HTTP status >= 400 becomes an ApiError
// whose message is the daemon's `{"message": ...}`.
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import type { Endpoint } from './host.ts';

export const MAX_API_VERSION = '1.47';
/** What docker assumes of a daemon whose ping carries no API-Version header. */
const FALLBACK_API_VERSION = '1.24';

/** An error answer from the daemon (status >= 400). */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The daemon could not be reached at all. */
export class ConnectError extends Error {}

export type QueryValue = string | number | boolean | undefined | null;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (a tar stream for import, say); `contentType` names it. */
  raw?: Readable | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface Hijacked {
  /** The raw connection after the 101: read the stream from it, write stdin to it. */
  socket: Socket;
  /** The response's headers (Content-Type tells raw from multiplexed on newer daemons). */
  headers: http.IncomingHttpHeaders;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Builds `?a=1&b=x` from a record; undefined, null and false are left out, true is `1`. */
export function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === false) continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(v === true ? '1' : String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export class ApiClient {
  readonly endpoint: Endpoint;
  #version: string | undefined;
  #negotiation: Promise<string> | undefined;
  #agent: http.Agent | undefined;
  #mod: typeof http | undefined;
  #tlsOptions: Record<string, unknown> = {};
  /** The last ping's headers (OSType, Docker-Experimental, Server). */
  pingHeaders: http.IncomingHttpHeaders = {};

  constructor(endpoint: Endpoint, opts: { version?: string } = {}) {
    this.endpoint = endpoint;
    this.#version = opts.version;
  }

  /** The negotiated API version (pings the daemon once). */
  version(): Promise<string> {
    if (this.#version) return Promise.resolve(this.#version);
    this.#negotiation ??= this.#negotiate();
    return this.#negotiation;
  }

  async #negotiate(): Promise<string> {
    const res = await this.#send('GET', '/_ping', {});
    res.resume();
    this.pingHeaders = res.headers;
    const server = headerString(res.headers['api-version']) || FALLBACK_API_VERSION;
    this.#version = compareVersions(server, MAX_API_VERSION) < 0 ? server : MAX_API_VERSION;
    return this.#version;
  }

  /** GET /_ping without version prefix; returns the body ("OK") and keeps the headers. */
  async ping(): Promise<string> {
    const res = await this.#send('GET', '/_ping', {});
    this.pingHeaders = res.headers;
    return (await readAll(res)).toString();
  }

  /** A request whose response is read by the caller (streams); rejects on status >= 400. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const v = await this.version();
    return this.#send(method, `/v${v}${path}`, opts);
  }

  /** A request answered with JSON (or nothing: then undefined). */
  async json<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const body = await readAll(res);
    if (body.length === 0) return undefined as T;
    try {
      return JSON.parse(body.toString()) as T;
    } catch {
      throw new Error(`invalid JSON from the daemon: ${truncate(body.toString(), 200)}`);
    }
  }

  /** A request whose response body is ignored (204 actions). */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<void> {
    const res = await this.request(method, path, opts);
    await readAll(res);
  }

  /**
   * POST with `Connection: Upgrade`, `Upgrade: tcp`: the daemon answers 101 and the socket then
   * carries the container's streams both ways (attach, exec start). A daemon that answers 200
   * instead (some do for attach without stdin) gets its response body treated as the stream.
   */
  async hijack(method: string, path: string, opts: RequestOptions = {}): Promise<Hijacked> {
    const v = await this.version();
    const headers: Record<string, string> = { Connection: 'Upgrade', Upgrade: 'tcp', ...opts.headers };
    let data: Buffer | undefined;
    if (opts.body !== undefined) {
      data = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = 'application/json';
    } else {
      headers['Content-Type'] = 'text/plain';
    }
    const req = this.#http().request({ ...this.#base(), method, path: `/v${v}${path}${queryString(opts.query)}`, headers, signal: opts.signal });
    return new Promise<Hijacked>((resolve, reject) => {
      req.on('upgrade', (res, socket, head) => {
        // Bytes the parser read past the 101 belong to the stream.
        if (head.length) socket.unshift(head);
        resolve({ socket, headers: res.headers });
      });
      req.on('response', (res) => {
        if ((res.statusCode ?? 0) >= 400) {
          errorFrom(res).then(reject, reject);
          return;
        }
        // No upgrade: the body is the (read-only) stream; present the socket-shaped object.
        const socket = res as unknown as Socket;
        (socket as any).end ??= () => {};
        resolve({ socket, headers: res.headers });
      });
      req.on('error', (e) => reject(this.#connectError(e)));
      req.end(data);
    });
  }

  /** Closes idle keep-alive connections so the process can exit naturally. */
  close(): void {
    this.#agent?.destroy();
  }

  #http(): typeof http {
    if (this.#mod) return this.#mod;
    const ep = this.endpoint;
    if (ep.kind === 'tcp' && ep.tls) {
      // node:https is loaded only for TLS daemons (start-up time on the unix-socket path).
      // (`require` is the bundle's createRequire; a static import would load TLS for everyone.)
      this.#mod = require('node:https') as typeof http;
      const t = ep.tls;
      const read = (p: string | undefined, required: boolean) => {
        if (!p) return undefined;
        try { return readFileSync(p); } catch (e) {
          if (required) throw new ConnectError(`could not read CA certificate "${p}": ${(e as Error).message}`);
          return undefined;
        }
      };
      this.#tlsOptions = {
        ca: t.verify ? read(t.ca, true) : read(t.ca, false),
        cert: read(t.cert, false),
        key: read(t.key, false),
        rejectUnauthorized: t.verify,
        servername: /^[\d.]+$|:/.test(ep.host) ? undefined : ep.host,
      };
      this.#agent = new (this.#mod as any).Agent({ keepAlive: true, ...this.#tlsOptions });
    } else {
      this.#mod = http;
      this.#agent = new http.Agent({ keepAlive: true });
    }
    return this.#mod!;
  }

  #base(): http.RequestOptions {
    const ep = this.endpoint;
    this.#http();
    const common = { agent: this.#agent, ...this.#tlsOptions };
    // An empty servername stops node's agent from classifying the host with isIP(), whose
    // first call compiles a large IPv6 regex (~6 ms of start-up).
    if (ep.kind === 'unix') return { ...common, socketPath: ep.path, host: 'api.moby.localhost', servername: '' } as http.RequestOptions;
    return { ...common, host: ep.host, port: ep.port };
  }

  #send(method: string, fullPath: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    const headers: Record<string, string> = { ...opts.headers };
    let data: Buffer | undefined;
    if (opts.body !== undefined) {
      data = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = 'application/json';
    } else if (Buffer.isBuffer(opts.raw)) {
      data = opts.raw;
      headers['Content-Type'] = opts.contentType ?? 'application/octet-stream';
    } else if (opts.raw) {
      headers['Content-Type'] = opts.contentType ?? 'application/octet-stream';
    }
    if (data) headers['Content-Length'] = String(data.length);
    const req = this.#http().request({ ...this.#base(), method, path: fullPath + queryString(opts.query), headers, signal: opts.signal });
    return new Promise((resolve, reject) => {
      req.on('response', (res) => {
        if ((res.statusCode ?? 0) >= 400) errorFrom(res).then(reject, reject);
        else resolve(res);
      });
      req.on('error', (e) => reject(this.#connectError(e)));
      if (opts.raw && !Buffer.isBuffer(opts.raw)) {
        opts.raw.on('error', (e) => req.destroy(e));
        opts.raw.pipe(req);
      } else {
        req.end(data);
      }
    });
  }

  #connectError(e: unknown): Error {
    const err = e as NodeJS.ErrnoException;
    if (err instanceof ApiError || err instanceof ConnectError || err?.name === 'AbortError') return err;
    const url = this.endpoint.url;
    if (err?.code === 'ECONNREFUSED' || err?.code === 'ENOENT') {
      return new ConnectError(`Cannot connect to the berth daemon at ${url}. Is the berth daemon running?`);
    }
    if (err?.code === 'EACCES') {
      return new ConnectError(`permission denied while trying to connect to the berth daemon socket at ${url}`);
    }
    return new ConnectError(`error during connect: ${err?.message ?? String(e)}`);
  }
}

function headerString(h: string | string[] | undefined): string {
  return Array.isArray(h) ? h[0] ?? '' : h ?? '';
}

export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

async function errorFrom(res: http.IncomingMessage): Promise<ApiError> {
  const status = res.statusCode ?? 0;
  const body = (await readAll(res).catch(() => Buffer.alloc(0))).toString();
  let message = '';
  try {
    const parsed = JSON.parse(body);
    if (parsed && typeof parsed.message === 'string') message = parsed.message;
  } catch { /* not JSON: the text itself */ }
  if (!message) message = body.trim() || `${status} ${res.statusMessage ?? ''}`.trim();
  return new ApiError(status, message);
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
