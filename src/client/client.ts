// The Engine API client the CLI uses: one keep-alive connection pool to one daemon, API version
// negotiation, JSON requests, streaming responses and hijacked (`Upgrade: tcp`) connections.
// HTTP itself is http1.ts over node:net / node:tls (node:http costs start-up time).
//
//   const c = new ApiClient(resolveEndpoint(opts, process.env));
//   const { Id } = await c.containers.create(config);
//   const h = await c.containers.attach(Id, { stream: true, stdout: true });
//   h.socket.pipe(process.stdout);
//
// Every path is sent as `/v<version><path>`; the version is min(1.47, what the daemon's
// `GET /_ping` announces in `API-Version`), or BERTH_API_VERSION / DOCKER_API_VERSION when set
// (then no ping is made, as the docker CLI does). The first request goes at 1.47 without a ping,
// and only a daemon that refuses it as too new is pinged (request() below). An HTTP status >= 400
// becomes an ApiError whose message is the daemon's `{"message": ...}`. The typed per-endpoint methods
// (client.containers, .images, ...) are endpoints.ts, built on request/json/call/hijack here.
import net, { type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import type { Endpoint } from './host.ts';
import { Http1Agent, EarlyCloseError, type Http1Response } from '../common/http1.ts';
import { BuildApi, ContainersApi, ExecApi, ImagesApi, NetworksApi, NodesApi, ServicesApi, SwarmApi, SwarmObjectsApi, SystemApi, TasksApi, VolumesApi } from './endpoints.ts';

export type Response = Http1Response;
export type Headers = Record<string, string>;

export const MAX_API_VERSION = '1.47';

/** BERTH_CLI_TRACE=1: a line on stderr, in ms since the process began (the CLI's phases and each request). */
export const cliTrace = process.env.BERTH_CLI_TRACE ? (what: string) => { process.stderr.write(`trace ${performance.now().toFixed(1)} ms ${what}\n`); } : undefined;
const USER_AGENT = 'berth-cli';
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

/** A list is sent as the same parameter repeated (`t=a&t=b`, as Go's url.Values does). */
export type QueryValue = string | number | boolean | undefined | null | readonly string[];

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (a tar stream for import, say); `contentType` names it. */
  raw?: Readable | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * Takes a successful response's body synchronously as it arrives (save's archive, written
   * straight to its file); the response then ends empty. See Http1Request.sink.
   */
  sink?: (piece: Buffer) => void;
}

export interface Hijacked {
  /** The raw connection after the 101: read the stream from it, write stdin to it. */
  socket: Socket;
  /** The response's headers (Content-Type tells raw from multiplexed on newer daemons). */
  headers: Headers;
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

/**
 * Builds `?a=1&b=x` from a record; undefined, null and false are left out, true is `1`, a list
 * repeats the key once per item (`{ t: ['a', 'b'] }` → `?t=a&t=b`).
 */
export function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === false) continue;
    const values = Array.isArray(v) ? v : [v === true ? '1' : String(v)];
    for (const x of values) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(x)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export class ApiClient {
  readonly endpoint: Endpoint;
  #version: string | undefined;
  #negotiation: Promise<string> | undefined;
  #agent: Http1Agent | undefined;
  /** The last ping's headers (OSType, Docker-Experimental, Server). */
  pingHeaders: Headers = {};
  /** The typed endpoints (endpoints.ts): `client.containers.start(id)`. */
  readonly containers = new ContainersApi(this);
  readonly exec = new ExecApi(this);
  readonly images = new ImagesApi(this);
  readonly networks = new NetworksApi(this);
  readonly volumes = new VolumesApi(this);
  readonly system = new SystemApi(this);
  readonly build = new BuildApi(this);
  readonly swarm = new SwarmApi(this);
  readonly nodes = new NodesApi(this);
  readonly services = new ServicesApi(this);
  readonly tasks = new TasksApi(this);
  readonly secrets = new SwarmObjectsApi(this, '/secrets');
  readonly configs = new SwarmObjectsApi(this, '/configs');

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
    await readAll(res);
    this.pingHeaders = res.headers;
    const server = res.headers['api-version'] || FALLBACK_API_VERSION;
    this.#version = compareVersions(server, MAX_API_VERSION) < 0 ? server : MAX_API_VERSION;
    return this.#version;
  }

  /** GET /_ping without version prefix; returns the body ("OK") and keeps the headers. */
  async ping(): Promise<string> {
    const res = await this.#send('GET', '/_ping', {});
    this.pingHeaders = res.headers;
    return (await readAll(res)).toString();
  }

  /**
   * A request whose response is read by the caller (streams); rejects on status >= 400.
   * Before the version is known, the first requests go at this client's own version without the
   * ping (a round trip of every command): a daemon that serves it (berthd, Docker 27+) answers,
   * and one that does not refuses with moby's 400 "client version X is too new" before doing
   * anything, and the request is made again at the negotiated version. A streamed body cannot be
   * sent twice: such a request negotiates first.
   */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const streamed = opts.raw !== undefined && !Buffer.isBuffer(opts.raw);
    if (this.#version || this.#negotiation || streamed) return this.#send(method, `/v${await this.version()}${path}`, opts);
    try {
      const res = await this.#send(method, `/v${MAX_API_VERSION}${path}`, opts);
      this.#version ??= MAX_API_VERSION;
      return res;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 400 && /^client version \S+ is too new/.test(e.message))) throw e;
      return this.#send(method, `/v${await this.version()}${path}`, opts);
    }
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
   * instead gets its response body treated as the (read-only) stream.
   */
  async hijack(method: string, path: string, opts: RequestOptions = {}): Promise<Hijacked> {
    const v = await this.version();
    const headers: Record<string, string> = { Connection: 'Upgrade', Upgrade: 'tcp', ...opts.headers };
    let body: Buffer | undefined;
    if (opts.body !== undefined) {
      body = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = 'application/json';
    } else {
      headers['Content-Type'] = 'text/plain';
    }
    const { res, upgraded } = await this.#exchange({ method, path: `/v${v}${path}${queryString(opts.query)}`, headers, body, signal: opts.signal, upgrade: true });
    if ((res.statusCode ?? 0) >= 400) throw await errorFrom(res);
    if (upgraded) return { socket: upgraded, headers: res.headers };
    // No upgrade: present the body as a socket-shaped, read-only stream.
    const socket = res as unknown as Socket;
    (socket as any).end ??= () => socket;
    return { socket, headers: res.headers };
  }

  /** Closes every connection so the process can exit naturally. */
  close(): void {
    this.#agent?.destroy();
  }

  #http(): Http1Agent {
    if (this.#agent) return this.#agent;
    const ep = this.endpoint;
    if (ep.kind === 'unix') {
      this.#agent = new Http1Agent(() => net.connect({ path: ep.path }), 'api.moby.localhost', (onread) => net.connect({ path: ep.path, onread }));
    } else if (ep.tls) {
      // node:tls is loaded only for TLS daemons (start-up time on the unix-socket path).
      // (`require` is the bundle's createRequire; a static import would load TLS for everyone.)
      const tls = require('node:tls') as typeof import('node:tls');
      const t = ep.tls;
      const read = (p: string | undefined, required: boolean) => {
        if (!p) return undefined;
        try { return readFileSync(p); } catch (e) {
          if (required) throw new ConnectError(`could not read CA certificate "${p}": ${(e as Error).message}`);
          return undefined;
        }
      };
      const options = {
        host: ep.host,
        port: ep.port,
        ca: read(t.ca, t.verify),
        cert: read(t.cert, false),
        key: read(t.key, false),
        rejectUnauthorized: t.verify,
        servername: net.isIP(ep.host) ? undefined : ep.host,
      };
      this.#agent = new Http1Agent(() => tls.connect(options) as unknown as Socket, `${ep.host}:${ep.port}`);
    } else {
      this.#agent = new Http1Agent(() => net.connect({ host: ep.host, port: ep.port }), `${ep.host}:${ep.port}`, (onread) => net.connect({ host: ep.host, port: ep.port, onread }));
    }
    return this.#agent;
  }

  async #exchange(req: Parameters<Http1Agent['request']>[0]): Promise<{ res: Response; upgraded?: Socket }> {
    try {
      cliTrace?.(`request ${req.method} ${req.path}`);
      const r = await this.#http().request({ ...req, headers: { 'User-Agent': USER_AGENT, ...req.headers } });
      cliTrace?.(`response ${r.res.statusCode} ${req.method} ${req.path}`);
      return r;
    } catch (e) {
      throw this.#connectError(e);
    }
  }

  async #send(method: string, fullPath: string, opts: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { ...opts.headers };
    let body: Buffer | undefined;
    let stream: NodeJS.ReadableStream | undefined;
    if (opts.body !== undefined) {
      body = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = 'application/json';
    } else if (Buffer.isBuffer(opts.raw)) {
      body = opts.raw;
      headers['Content-Type'] = opts.contentType ?? 'application/octet-stream';
    } else if (opts.raw) {
      stream = opts.raw;
      headers['Content-Type'] = opts.contentType ?? 'application/octet-stream';
    }
    const { res } = await this.#exchange({ method, path: fullPath + queryString(opts.query), headers, body, stream, signal: opts.signal, sink: opts.sink });
    if (res.statusCode >= 400) throw await errorFrom(res);
    return res;
  }

  #connectError(e: unknown): Error {
    const err = e as NodeJS.ErrnoException;
    if (err instanceof ApiError || err instanceof ConnectError || err?.name === 'AbortError') return err;
    const url = this.endpoint.url;
    const code = err instanceof EarlyCloseError ? err.code : err?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT') {
      return new ConnectError(`Cannot connect to the berth daemon at ${url}. Is the berth daemon running?`);
    }
    if (code === 'EACCES') {
      return new ConnectError(`permission denied while trying to connect to the berth daemon socket at ${url}`);
    }
    return new ConnectError(`error during connect: ${err?.message ?? String(e)}`);
  }
}

export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

async function errorFrom(res: Response): Promise<ApiError> {
  const status = res.statusCode ?? 0;
  const body = (await readAll(res).catch(() => Buffer.alloc(0) /* unreadable body: the status line says it */)).toString();
  let message = '';
  try {
    const parsed = JSON.parse(body);
    // Trimmed as the Go client does: dockerd has texts with a trailing space ("... network ").
    if (parsed && typeof parsed.message === 'string') message = parsed.message.trim();
  } catch { /* not JSON: the text itself */ }
  if (!message) message = body.trim() || `${status} ${res.statusMessage ?? ''}`.trim();
  return new ApiError(status, message);
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
