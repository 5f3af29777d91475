// A registry client (Docker Registry HTTP API v2 / OCI Distribution), what dockerd's
// distribution code does, over node's http/https:
//
//   const c = await RegistryClient.connect({ host: '127.0.0.1:5000', repo: 'team/app', actions: ['pull'], auth, insecure: [] });
//   const m = await c.getManifest('v1');              // { body, mediaType, digest }
//   const res = await c.getBlob(m.layers[0].digest);  // the response stream
//
// Endpoint: https first; plain http only for an insecure registry (loopback always, plus the
// daemon's `insecure-registries`), whose certificate is then not verified either, as Docker does.
// Auth: /v2/ is pinged once; a Basic challenge gets the credentials on every request, a Bearer
// challenge a token from the realm for `repository:<repo>:<actions>` (plus the source repository
// of a mount), fetched with Basic credentials (GET) or the identity token (OAuth2 POST), or
// anonymously. Connecting is bounded (CONNECT_TIMEOUT_MS): an unreachable registry fails fast.
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { EngineError } from '../../common/errors.ts';
import { Http1Agent } from '../../common/http1.ts';
import { DOCKER_HUB, DOCKER_HUB_REGISTRY, parseChallenges, type AuthConfig, type Challenge } from './auth.ts';
import { isInsecureRegistry } from './insecure.ts';

export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest];

export const CONNECT_TIMEOUT_MS = Number(process.env.BERTH_REGISTRY_CONNECT_TIMEOUT_MS) || 5000;
/** No byte from the registry for this long fails the request. */
const IDLE_TIMEOUT_MS = 60_000;
const USER_AGENT = 'docker/27.5.1 go/go1.22 (berth)';
const MAX_MANIFEST = 4 << 20;

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 16 }),
  httpsInsecure: new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false }),
};

/**
 * A registry's answer: node:http's IncomingMessage, or, for a blob's GET, the response of the
 * small HTTP/1.1 reader in common/http1.ts (the same status, lower-case headers and body stream).
 */
export type RegistryResponse = Readable & { statusCode?: number; headers: IncomingHttpHeaders };

/** One error of a registry's `{"errors":[…]}` body. */
export interface RegistryErrorItem { code: string; message: string; detail?: unknown }

/** An HTTP answer the registry gave that is not what the call wanted. */
export class RegistryHttpError extends Error {
  readonly status: number;
  readonly errors: RegistryErrorItem[];
  constructor(status: number, errors: RegistryErrorItem[], message: string) {
    super(message);
    this.status = status;
    this.errors = errors;
  }
  get code(): string | undefined { return this.errors[0]?.code; }
}

/** The registry could not be reached (connect refused, timeout, TLS failure, DNS). */
export class RegistryTransportError extends Error {
  readonly url: string;
  constructor(message: string, url: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.url = url;
  }
}

/** errcode.Error's text: the code in lower case with spaces, then the message. */
export function errcodeText(e: RegistryErrorItem): string {
  const code = (e.code || 'UNKNOWN').toLowerCase().replace(/_/g, ' ');
  return `${code}: ${e.message || code}`;
}

const STATUS_CODE: Record<number, string> = { 401: 'UNAUTHORIZED', 403: 'DENIED', 429: 'TOO_MANY_REQUESTS' };

/** distribution's HandleErrorResponse: the body's errors, a Bearer `error=` first. */
async function errorOf(res: RegistryResponse): Promise<RegistryHttpError> {
  const status = res.statusCode ?? 0;
  const body = await readAll(res, 1 << 20).catch(() => Buffer.alloc(0));
  if (status < 400 || status >= 500) {
    const text = `${status} ${http.STATUS_CODES[status] ?? ''}`.trim();
    return new RegistryHttpError(status, [], `received unexpected HTTP status: ${text}`);
  }
  const items: RegistryErrorItem[] = [];
  for (const c of parseChallenges(res.headers['www-authenticate'])) {
    if (c.scheme !== 'bearer') continue;
    const e = c.params.error;
    if (e === 'invalid_token') items.push({ code: 'UNAUTHORIZED', message: c.params.error_description || 'authentication required' });
    else if (e === 'insufficient_scope') items.push({ code: 'DENIED', message: c.params.error_description || 'requested access to the resource is denied' });
    if (items.length) break;
  }
  const ct = String(res.headers['content-type'] ?? '').split(';')[0].trim();
  let parsed: RegistryErrorItem[] | undefined;
  if (ct === 'application/json' || ct === 'application/vnd.api+json') {
    try {
      const j = JSON.parse(body.toString('utf8')) as { errors?: RegistryErrorItem[]; details?: string };
      if (typeof j.details === 'string' && j.details) parsed = [{ code: STATUS_CODE[status] ?? 'UNKNOWN', message: j.details }];
      else if (Array.isArray(j.errors) && j.errors.length) parsed = j.errors.map((x) => ({ code: String(x.code ?? 'UNKNOWN'), message: String(x.message ?? ''), detail: x.detail }));
    } catch { /* not JSON after all */ }
  }
  if (!parsed) {
    const text = body.toString('utf8').trim();
    parsed = [{ code: STATUS_CODE[status] ?? 'UNKNOWN', message: text || (status === 401 ? 'authentication required' : http.STATUS_CODES[status] ?? '') }];
  }
  items.push(...parsed);
  return new RegistryHttpError(status, items, errcodeText(items[0]));
}

export async function readAll(res: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > limit) { res.destroy(); throw new Error(`response larger than ${limit} bytes`); }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Go's net/http error texts for what usually goes wrong connecting. */
function transportError(method: string, url: URL, e: NodeJS.ErrnoException): RegistryTransportError {
  const m = method === 'GET' ? 'Get' : method === 'HEAD' ? 'Head' : method === 'PUT' ? 'Put' : method === 'POST' ? 'Post' : method === 'PATCH' ? 'Patch' : method;
  const hostPort = url.port ? url.host : `${url.host}:${url.protocol === 'https:' ? 443 : 80}`;
  let why: string;
  switch (e.code) {
    case 'ECONNREFUSED': why = `dial tcp ${hostPort}: connect: connection refused`; break;
    case 'ETIMEDOUT': case 'ECONNTIMEOUT': why = `dial tcp ${hostPort}: i/o timeout`; break;
    case 'ENOTFOUND': case 'EAI_AGAIN': why = `dial tcp: lookup ${url.hostname}: no such host`; break;
    case 'EHOSTUNREACH': why = `dial tcp ${hostPort}: connect: no route to host`; break;
    case 'ENETUNREACH': why = `dial tcp ${hostPort}: connect: network is unreachable`; break;
    case 'ECONNRESET': why = 'connection reset by peer'; break;
    case 'EPROTO': case 'ERR_SSL_WRONG_VERSION_NUMBER': why = 'http: server gave HTTP response to HTTPS client'; break;
    default: why = e.message;
  }
  if (/wrong version number|packet length too long|http request/i.test(e.message)) why = 'http: server gave HTTP response to HTTPS client';
  return new RegistryTransportError(`${m} "${url.href}": ${why}`, url.href, { cause: e });
}

interface SendOptions {
  headers?: Record<string, string>;
  /** A buffer, or a factory (called again on an auth retry) of a stream of `length` bytes. */
  body?: Buffer | (() => Readable);
  length?: number;
  signal?: AbortSignal;
  insecureTls?: boolean;
  /**
   * A GET whose body is bulk data (a blob): read with common/http1.ts, whose body chunks are the
   * socket's own buffers. node:http's parser copies every chunk into a new Buffer (Node's
   * on_body does Buffer::Copy), and that copy and the collections it caused were half of a
   * pull's CPU: three 50 MB blobs from a loopback registry took 380-730 ms through node:http,
   * 290 ms this way (CPU 425-890 → 330 ms).
   */
  bulk?: boolean;
  /** With `bulk`: a 2xx body goes to this, synchronously, piece by piece (Http1Request.sink). */
  sink?: (piece: Buffer) => void;
}

/** Keep-alive connections of the bulk reader, one agent per origin (and TLS check). */
const bulkAgents = new Map<string, Http1Agent>();

function bulkAgent(url: URL, insecureTls: boolean): Http1Agent {
  const isHttps = url.protocol === 'https:';
  const key = `${url.protocol}//${url.host}${isHttps && insecureTls ? ' insecure' : ''}`;
  let a = bulkAgents.get(key);
  if (a) return a;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port) || (isHttps ? 443 : 80);
  const arm = (s: net.Socket) => {
    const timer = setTimeout(() => s.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), CONNECT_TIMEOUT_MS);
    s.once(isHttps ? 'secureConnect' : 'connect', () => clearTimeout(timer));
    s.once('close', () => clearTimeout(timer));
    // No byte for this long fails the exchange (and closes an idle pooled connection).
    s.setTimeout(IDLE_TIMEOUT_MS, () => s.destroy(Object.assign(new Error(`no response from ${url.host} for ${IDLE_TIMEOUT_MS / 1000}s`), { code: 'EIDLE' })));
    return s;
  };
  a = new Http1Agent(
    () => arm(isHttps
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: !insecureTls })
      : net.connect({ host, port })),
    url.host,
    // Plain HTTP reads a sunk blob into one reused buffer (tls.connect has no `onread`).
    isHttps ? undefined : (onread) => arm(net.connect({ host, port, onread })),
  );
  bulkAgents.set(key, a);
  return a;
}

async function sendBulk(method: string, url: URL, o: SendOptions): Promise<RegistryResponse> {
  try {
    const { res } = await bulkAgent(url, o.insecureTls === true).request({
      method, path: url.pathname + url.search, headers: { 'User-Agent': USER_AGENT, ...o.headers }, signal: o.signal, sink: o.sink,
    });
    // Its headers are strings (repeated ones joined with ", ", as node:http joins them).
    return res as unknown as RegistryResponse;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.name === 'AbortError' || o.signal?.aborted) throw new EngineError('System', 'context canceled');
    throw transportError(method, url, err);
  }
}

/** One HTTP exchange; resolves at the response headers. */
function send(method: string, url: URL, o: SendOptions = {}): Promise<RegistryResponse> {
  if (o.bulk && method === 'GET' && !o.body) return sendBulk(method, url, o);
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...o.headers };
    let bodyStream: Readable | undefined;
    if (Buffer.isBuffer(o.body)) headers['Content-Length'] = String(o.body.length);
    else if (o.body) { bodyStream = o.body(); if (o.length !== undefined) headers['Content-Length'] = String(o.length); }
    else if (method === 'PUT' || method === 'POST' || method === 'PATCH') headers['Content-Length'] = '0';
    const req = (isHttps ? https : http).request(url, {
      method, headers, signal: o.signal,
      agent: isHttps ? (o.insecureTls ? agents.httpsInsecure : agents.https) : agents.http,
    });
    let connectTimer: NodeJS.Timeout | undefined;
    let settled = false;
    req.on('socket', (s) => {
      if ((s as { connecting?: boolean }).connecting) {
        connectTimer = setTimeout(() => {
          const e = Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' });
          req.destroy(e);
        }, CONNECT_TIMEOUT_MS);
        s.once('connect', () => clearTimeout(connectTimer));
      }
    });
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no response from ${url.host} for ${IDLE_TIMEOUT_MS / 1000}s`), { code: 'EIDLE' })));
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      bodyStream?.destroy();
      if (settled) return;
      settled = true;
      if (e.name === 'AbortError') reject(new EngineError('System', 'context canceled'));
      else reject(transportError(method, url, e));
    });
    req.on('response', (res) => {
      clearTimeout(connectTimer);
      settled = true;
      res.setTimeout?.(IDLE_TIMEOUT_MS);
      resolve(res);
    });
    if (Buffer.isBuffer(o.body)) req.end(o.body);
    else if (bodyStream) {
      bodyStream.on('error', (e) => req.destroy(e));
      bodyStream.pipe(req);
    } else req.end();
  });
}

export interface ConnectOptions {
  /** The reference's domain: `docker.io`, `localhost:5000`, `[::1]:5000`, `reg.example`. */
  host: string;
  /** Repository path inside the registry (`library/busybox`). */
  repo: string;
  /** What the tokens must allow on `repo`. */
  actions: string[];
  auth?: AuthConfig;
  /** daemon.json `insecure-registries`. */
  insecure?: readonly string[];
  /** A full endpoint URL to use instead of the host's own (a registry mirror). */
  endpoint?: string;
  /** Ask the token server for a refresh token (login). */
  offlineToken?: boolean;
  signal?: AbortSignal;
}

export interface ManifestResult { body: Buffer; mediaType: string; digest: string }

/** The base URL(s) to try for a registry host: https, then http when insecure. */
export function endpointsFor(host: string, insecure: readonly string[] = []): { url: string; insecureTls: boolean }[] {
  const h = host === DOCKER_HUB ? DOCKER_HUB_REGISTRY : host;
  if (!isInsecureRegistry(h, insecure)) return [{ url: `https://${h}`, insecureTls: false }];
  return [{ url: `https://${h}`, insecureTls: true }, { url: `http://${h}`, insecureTls: false }];
}

export class RegistryClient {
  readonly base: URL;
  readonly repo: string;
  readonly #insecureTls: boolean;
  readonly #o: ConnectOptions;
  #challenges: Challenge[];
  #tokens = new Map<string, string>();
  /** Set when the token server handed out a refresh token (docker login's IdentityToken). */
  refreshToken?: string;

  private constructor(base: URL, insecureTls: boolean, challenges: Challenge[], o: ConnectOptions) {
    this.base = base;
    this.repo = o.repo;
    this.#insecureTls = insecureTls;
    this.#challenges = challenges;
    this.#o = o;
  }

  /** Pings /v2/ on each candidate endpoint in turn; the first that speaks HTTP wins. */
  static async connect(o: ConnectOptions): Promise<RegistryClient> {
    const cands = o.endpoint ? [{ url: o.endpoint.replace(/\/+$/, ''), insecureTls: isInsecureRegistry(new URL(o.endpoint).host, o.insecure ?? []) }] : endpointsFor(o.host, o.insecure);
    let last: unknown;
    for (const c of cands) {
      const base = new URL(c.url + '/');
      try {
        const res = await send('GET', new URL('v2/', base), { signal: o.signal, insecureTls: c.insecureTls });
        res.resume();
        // Any HTTP answer will do (a 404 or 5xx: docker goes on and lets the real request fail);
        // a 401 carries the challenges.
        const status = res.statusCode ?? 0;
        return new RegistryClient(base, c.insecureTls, status === 401 ? parseChallenges(res.headers['www-authenticate']) : [], o);
      } catch (e) {
        last = e;
        if (!(e instanceof RegistryTransportError)) throw e;
      }
    }
    throw last;
  }

  /** The login check: an authorized GET /v2/ (token scope: none). */
  async login(): Promise<void> {
    const res = await this.#request('GET', 'v2/', { scopes: [] });
    res.resume();
    if (res.statusCode !== 200) {
      const url = new URL('v2/', this.base).href;
      const s = res.statusCode ?? 0;
      throw new RegistryHttpError(s, [{ code: STATUS_CODE[s] ?? 'UNKNOWN', message: '' }], `login attempt to ${url} failed with status: ${s} ${http.STATUS_CODES[s] ?? ''}`);
    }
  }

  #scopes(extra: string[] = []): string[] {
    const own = `repository:${this.repo}:${this.#o.actions.join(',')}`;
    return [own, ...extra.filter((s) => s !== own)];
  }

  async #token(c: Challenge, scopes: string[]): Promise<string> {
    const a = this.#o.auth ?? {};
    if (a.registrytoken) return a.registrytoken;
    const key = scopes.join(' ');
    const cached = this.#tokens.get(key);
    if (cached) return cached;
    const realm = c.params.realm;
    if (!realm) throw new RegistryHttpError(401, [], 'no realm specified for token auth challenge');
    let realmUrl: URL;
    try { realmUrl = new URL(realm); } catch { throw new RegistryHttpError(401, [], `invalid token auth challenge realm: ${realm}`); }
    const service = c.params.service ?? '';
    let res: RegistryResponse;
    const insecureTls = this.#insecureTls || isInsecureRegistry(realmUrl.host, this.#o.insecure ?? []);
    if (a.identitytoken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: a.identitytoken, client_id: 'docker' });
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await send('POST', realmUrl, { body: Buffer.from(form.toString()), headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, signal: this.#o.signal, insecureTls });
    } else {
      const q = realmUrl.searchParams;
      if (service) q.append('service', service);
      for (const s of scopes) q.append('scope', s);
      const headers: Record<string, string> = {};
      if (this.#o.offlineToken) { q.append('offline_token', 'true'); q.append('client_id', 'docker'); }
      if (a.username && a.password) {
        q.append('account', a.username);
        headers.Authorization = 'Basic ' + Buffer.from(`${a.username}:${a.password}`).toString('base64');
      }
      res = await send('GET', realmUrl, { headers, signal: this.#o.signal, insecureTls });
    }
    if ((res.statusCode ?? 0) >= 300) throw await errorOf(res);
    let j: { token?: string; access_token?: string; refresh_token?: string };
    try { j = JSON.parse((await readAll(res, 1 << 20)).toString('utf8')); } catch (e) { throw new RegistryHttpError(500, [], `unable to decode token response: ${(e as Error).message}`); }
    const token = j.access_token || j.token;
    if (!token) throw new RegistryHttpError(401, [], 'authorization server did not include a token in the response');
    if (j.refresh_token) this.refreshToken = j.refresh_token;
    this.#tokens.set(key, token);
    return token;
  }

  async #authorize(headers: Record<string, string>, scopes: string[]): Promise<void> {
    const a = this.#o.auth ?? {};
    for (const c of this.#challenges) {
      if (c.scheme === 'bearer') { headers.Authorization = `Bearer ${await this.#token(c, scopes)}`; return; }
      if (c.scheme === 'basic' && a.username && a.password) {
        headers.Authorization = 'Basic ' + Buffer.from(`${a.username}:${a.password}`).toString('base64');
        return;
      }
    }
  }

  /**
   * An authorized request against this registry. A 401 (expired token, or a registry that
   * challenges only some paths) renews the challenge and is retried once.
   */
  async #request(method: string, path: string, o: SendOptions & { scopes?: string[]; redirects?: number } = {}): Promise<RegistryResponse> {
    let url = new URL(path, this.base);
    const scopes = o.scopes ?? this.#scopes();
    for (let attempt = 0; ; attempt++) {
      const headers = { ...o.headers };
      await this.#authorize(headers, scopes);
      let res = await send(method, url, { ...o, headers, insecureTls: this.#insecureTls });
      // Redirects (blob storage elsewhere): followed without our credentials off-host.
      for (let hops = 0; [301, 302, 303, 307, 308].includes(res.statusCode ?? 0) && res.headers.location && (method === 'GET' || method === 'HEAD') && hops < 5; hops++) {
        res.resume();
        const next = new URL(res.headers.location!, url);
        const h = { ...o.headers };
        if (next.host === this.base.host) await this.#authorize(h, scopes);
        res = await send(method, next, { ...o, headers: h, insecureTls: this.#insecureTls });
        url = next;
      }
      if (res.statusCode === 401 && attempt === 0) {
        const ch = parseChallenges(res.headers['www-authenticate']);
        const insufficient = ch.some((c) => c.params.error === 'insufficient_scope');
        if (ch.length && !insufficient && (Buffer.isBuffer(o.body) || !o.body || typeof o.body === 'function')) {
          res.resume();
          this.#challenges = ch;
          this.#tokens.clear();
          continue;
        }
      }
      return res;
    }
  }

  // ---------------------------------------------------------------- manifests

  async getManifest(reference: string, accept: string[] = MANIFEST_ACCEPT): Promise<ManifestResult> {
    const res = await this.#request('GET', `v2/${this.repo}/manifests/${reference}`, { headers: { Accept: accept.join(', ') }, signal: this.#o.signal });
    if (res.statusCode !== 200) throw await errorOf(res);
    const body = await readAll(res, MAX_MANIFEST);
    const digest = 'sha256:' + createHash('sha256').update(body).digest('hex');
    let mediaType = String(res.headers['content-type'] ?? '').split(';')[0].trim();
    try {
      const mt = (JSON.parse(body.toString('utf8')) as { mediaType?: string }).mediaType;
      if (mt) mediaType = mt;
    } catch { /* checked by the caller */ }
    return { body, mediaType, digest };
  }

  /** HEAD of a manifest: its descriptor, or undefined when unknown. */
  async headManifest(reference: string, accept: string[] = MANIFEST_ACCEPT): Promise<{ digest?: string; size: number; mediaType: string } | undefined> {
    const res = await this.#request('HEAD', `v2/${this.repo}/manifests/${reference}`, { headers: { Accept: accept.join(', ') }, signal: this.#o.signal });
    res.resume();
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw await errorOf(res);
    return { digest: res.headers['docker-content-digest'] as string | undefined, size: Number(res.headers['content-length'] ?? 0), mediaType: String(res.headers['content-type'] ?? '').split(';')[0] };
  }

  async putManifest(reference: string, body: Buffer, mediaType: string): Promise<string | undefined> {
    const res = await this.#request('PUT', `v2/${this.repo}/manifests/${reference}`, { body, headers: { 'Content-Type': mediaType }, signal: this.#o.signal });
    if (res.statusCode !== 201 && res.statusCode !== 200 && res.statusCode !== 202) throw await errorOf(res);
    res.resume();
    return res.headers['docker-content-digest'] as string | undefined;
  }

  async tags(): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = `v2/${this.repo}/tags/list`;
    for (let pages = 0; path && pages < 1000; pages++) {
      const res = await this.#request('GET', path, { signal: this.#o.signal });
      if (res.statusCode !== 200) throw await errorOf(res);
      const j = JSON.parse((await readAll(res, 16 << 20)).toString('utf8')) as { tags?: string[] | null };
      out.push(...(j.tags ?? []));
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(String(res.headers.link ?? ''));
      path = link ? link[1].replace(/^\//, '') : undefined;
    }
    return out;
  }

  // ---------------------------------------------------------------- blobs

  /**
   * GET of a blob: the response (status 200), its body unread; or, with `sink`, its body handed
   * to it piece by piece (views of a reused buffer: use each during the call) and the response
   * ending empty.
   */
  async getBlob(digest: string, signal?: AbortSignal, sink?: (piece: Buffer) => void): Promise<RegistryResponse> {
    const res = await this.#request('GET', `v2/${this.repo}/blobs/${digest}`, { signal: signal ?? this.#o.signal, bulk: true, sink });
    if (res.statusCode !== 200) throw await errorOf(res);
    return res;
  }

  /** Size of a blob the repository has, or undefined. */
  async headBlob(digest: string): Promise<number | undefined> {
    const res = await this.#request('HEAD', `v2/${this.repo}/blobs/${digest}`, { signal: this.#o.signal });
    res.resume();
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw await errorOf(res);
    return Number(res.headers['content-length'] ?? 0);
  }

  /**
   * Starts an upload; with `mount`, asks for a cross-repository mount first (`?mount=&from=`,
   * the token also covering pull on `from`). 201 → mounted; 202 → an upload location.
   */
  async startUpload(mount?: { digest: string; from: string }): Promise<{ mounted: true } | { mounted: false; location: URL }> {
    let path = `v2/${this.repo}/blobs/uploads/`;
    let scopes: string[] | undefined;
    if (mount) {
      path += `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}`;
      scopes = this.#scopes([`repository:${mount.from}:pull`]);
    }
    const res = await this.#request('POST', path, { scopes, signal: this.#o.signal });
    res.resume();
    if (res.statusCode === 201 && mount) return { mounted: true };
    if (res.statusCode !== 202) throw await errorOf(res);
    const loc = res.headers.location;
    if (!loc) throw new RegistryHttpError(500, [], 'registry gave no upload location');
    return { mounted: false, location: new URL(loc, this.base) };
  }

  /** Completes an upload in one PUT carrying the whole blob. */
  async finishUpload(location: URL, digest: string, size: number, body: () => Readable): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const res = await this.#request('PUT', url.pathname.replace(/^\//, '') + url.search, { body, length: size, headers: { 'Content-Type': 'application/octet-stream' }, signal: this.#o.signal });
    if (res.statusCode !== 201 && res.statusCode !== 204 && res.statusCode !== 200) throw await errorOf(res);
    res.resume();
  }

  /** POST ?digest= with the blob: a monolithic upload in one request. */
  async uploadMonolithic(digest: string, body: Buffer): Promise<void> {
    const res = await this.#request('POST', `v2/${this.repo}/blobs/uploads/?digest=${encodeURIComponent(digest)}`, { body, headers: { 'Content-Type': 'application/octet-stream' }, signal: this.#o.signal });
    if (res.statusCode === 201) { res.resume(); return; }
    if (res.statusCode === 202 && res.headers.location) {
      res.resume();
      return this.finishUpload(new URL(res.headers.location, this.base), digest, body.length, () => Readable.from([body]));
    }
    throw await errorOf(res);
  }

  /** PATCH a chunk to an upload (chunked uploads); returns the next location. */
  async patchUpload(location: URL, chunk: Buffer, offset: number): Promise<URL> {
    const url = new URL(location);
    const res = await this.#request('PATCH', url.pathname.replace(/^\//, '') + url.search, {
      body: chunk, headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + chunk.length - 1}` }, signal: this.#o.signal,
    });
    if (res.statusCode !== 202) throw await errorOf(res);
    res.resume();
    return new URL(res.headers.location ?? location.href, this.base);
  }
}
