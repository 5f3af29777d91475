// `berth registry serve`: the OCI Distribution Spec v1.1 / Docker Registry HTTP API v2 over a
// RegistryStorage. Routing is thin: match the path, validate name and reference, ask auth for the
// access the method needs, call one storage method, choose the status and headers.
//
//   const reg = await startRegistry({ root: '/tmp/r', addr: '127.0.0.1:0' })
//   // reg.url === 'http://127.0.0.1:41234'; PUT/GET /v2/<name>/… as any registry
//   await reg.close()
//
// Every response carries `Docker-Distribution-API-Version: registry/2.0`; every error is
// `{"errors":[{"code","message","detail"}]}` (errors.ts). One line per request goes to the log.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { RegistryError, regError } from './errors.ts';
import { RegistryAuth, type AuthMode, type Grant, type Need } from './auth.ts';
import { FsRegistryStorage } from './fs-storage.ts';
import { HtpasswdVerifier, parseBasic } from './htpasswd.ts';
import { MAX_MANIFEST_SIZE } from './manifest.ts';
import { MT, checkDigest, checkName, parseReference } from './names.ts';
import { parseContentRange, parseRange, uploadRange } from './range.ts';
import type { Descriptor, RegistryStorage } from './storage.ts';
import { parseScopes, type Access } from './token.ts';
import type { ThrottleOptions } from './throttle.ts';

export interface RegistryOptions {
  /** Storage directory (created if missing). */
  root: string;
  /** `host:port`; port 0 picks a free one. Default 127.0.0.1:5000. */
  addr?: string;
  /** An htpasswd file (bcrypt): basic auth, or the users of the token endpoint. */
  htpasswd?: string;
  /** Serve `/token` and demand bearer tokens. */
  tokenAuth?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  /** Token auth: the `service` name (default "berth-registry"). */
  service?: string;
  /** Token auth: the realm URL to advertise (default `<this registry's URL>/token`). */
  realm?: string;
  /** Token auth: actions anonymous users get (default: none with htpasswd, pull without). */
  anonymousActions?: string[];
  /** Token lifetime, seconds (default 300). */
  tokenTtl?: number;
  /** Largest blob accepted, bytes. */
  maxBlobSize?: number;
  /** Failed-login limits per client (default 10 wrong passwords a minute). */
  loginThrottle?: ThrottleOptions;
  /** Where request lines and warnings go (default stderr). */
  log?: (line: string) => void;
}

export interface RunningRegistry {
  url: string;
  server: Server;
  /** Who may do what, in a few words ("basic (htpasswd)", "token (htpasswd users; anonymous: pull)"). */
  auth: string;
  close(): Promise<void>;
}

export const API_VERSION_HEADER = 'Docker-Distribution-API-Version';

const CATALOG_NEED: Need = { type: 'registry', name: 'catalog', actions: ['*'] };
const MAX_FORM = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// small HTTP helpers

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  const tooLarge = () => new RegistryError('SIZE_INVALID', { status: 413, message: 'payload too large', detail: { limit: max } });
  if (declared > max) throw tooLarge();
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > max) throw tooLarge();
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, headers: Record<string, string | number>, body?: Buffer | string): void {
  const buf = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  res.writeHead(status, { ...headers, 'Content-Length': headers['Content-Length'] ?? buf?.length ?? 0 });
  res.end(res.req.method === 'HEAD' ? undefined : buf);
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value));
}

/** A non-negative page size, or undefined when absent; distribution refuses garbage with 400. */
function pageSize(q: URLSearchParams): number | undefined {
  const n = q.get('n');
  if (n === null || n === '') return undefined;
  if (!/^\d+$/.test(n)) throw new RegistryError('UNSUPPORTED', { status: 400, message: 'invalid page size', detail: { n } });
  return Number(n);
}

/** `n`/`last` pagination over a sorted list, with the `Link` header for the next page. */
function paginate(all: string[], q: URLSearchParams, path: string): { items: string[]; link?: string } {
  const last = q.get('last');
  const n = pageSize(q);
  let items = last ? all.filter((x) => x > last) : all;
  if (n === undefined || items.length <= n) return { items: n === 0 ? [] : items };
  items = items.slice(0, n);
  if (n === 0) return { items };
  const next = new URLSearchParams({ n: String(n), last: items[items.length - 1] });
  return { items, link: `<${path}?${next}>; rel="next"` };
}

/** Media types the client accepts, from every Accept header (parameters such as q= ignored). */
function acceptList(req: IncomingMessage): string[] {
  const raw = req.headersDistinct.accept ?? [];
  return raw.flatMap((h) => h.split(',')).map((t) => t.split(';')[0].trim().toLowerCase()).filter(Boolean);
}

const decode = (s: string) => {
  try { return decodeURIComponent(s); } catch { return s; }
};

// ---------------------------------------------------------------------------------------------
// routes

type Handler = (c: Call) => Promise<void>;

interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Repository name (validated). */
  name: string;
  /** The path's last part: reference, digest or upload id (percent-decoded). */
  arg: string;
  base: string;
  grant?: Grant;
}

const pull = (name: string): Need => ({ type: 'repository', name, actions: ['pull'] });
const push = (name: string): Need => ({ type: 'repository', name, actions: ['push'], scopeActions: ['pull', 'push'] });
const del = (name: string): Need => ({ type: 'repository', name, actions: ['push', 'delete'], scopeActions: ['delete'] });

/** Checked in order; a repository name is everything before the fixed tail. */
const ROUTES: { re: RegExp; methods: Record<string, (name: string) => Need>; kind: string }[] = [
  { re: /^\/v2\/(.+)\/tags\/list$/, kind: 'tags', methods: { GET: pull, HEAD: pull } },
  { re: /^\/v2\/(.+)\/manifests\/([^/]+)$/, kind: 'manifest', methods: { GET: pull, HEAD: pull, PUT: push, DELETE: del } },
  { re: /^\/v2\/(.+)\/blobs\/uploads\/?$/, kind: 'uploads', methods: { POST: push } },
  { re: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, kind: 'upload', methods: { GET: pull, PATCH: push, PUT: push, DELETE: push } },
  { re: /^\/v2\/(.+)\/blobs\/([^/]+)$/, kind: 'blob', methods: { GET: pull, HEAD: pull, DELETE: del } },
  { re: /^\/v2\/(.+)\/referrers\/([^/]+)$/, kind: 'referrers', methods: { GET: pull, HEAD: pull } },
];

export class RegistryRouter {
  readonly #s: RegistryStorage;
  readonly #auth: RegistryAuth;

  constructor(storage: RegistryStorage, auth: RegistryAuth) {
    this.#s = storage;
    this.#auth = auth;
  }

  /** Dispatches one request; every failure is answered here, in the registry's error format. */
  async handle(req: IncomingMessage, res: ServerResponse, base: string, who: { user?: string } = {}): Promise<{ user?: string }> {
    const url = new URL(req.url ?? '/', 'http://registry.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    res.setHeader(API_VERSION_HEADER, 'registry/2.0');
    try {
      if (path === '/token') {
        if (this.#auth.mode !== 'token') throw new RegistryError('UNSUPPORTED', { status: 404, message: 'not found' });
        await this.#token(req, res, url, who);
        return who;
      }
      if (path === '/v2' || path === '/v2/') {
        if (method !== 'GET' && method !== 'HEAD') throw regError('UNSUPPORTED');
        who.user = (await this.#auth.authorize(req, [], base)).user;
        sendJson(res, 200, {});
        return who;
      }
      if (path === '/v2/_catalog') {
        if (method !== 'GET') throw regError('UNSUPPORTED');
        who.user = (await this.#auth.authorize(req, [CATALOG_NEED], base)).user;
        const page = paginate(await this.#s.repositories(), url.searchParams, '/v2/_catalog');
        sendJson(res, 200, { repositories: page.items }, page.link ? { Link: page.link } : {});
        return who;
      }
      for (const r of ROUTES) {
        const m = r.re.exec(path);
        if (!m) continue;
        const name = decode(m[1]);
        checkName(name);
        const need = r.methods[method];
        if (!need) throw regError('UNSUPPORTED', { method });
        const call: Call = { req, res, url, name, arg: decode(m[2] ?? ''), base };
        call.grant = await this.#auth.authorize(req, [need(name)], base);
        who.user = call.grant.user;
        await this.#route(r.kind, method, call);
        return who;
      }
      throw new RegistryError('UNSUPPORTED', { status: 404, message: 'not found', detail: { path } });
    } catch (e) {
      this.#fail(res, e);
      return who;
    }
  }

  #fail(res: ServerResponse, e: unknown): void {
    if (res.headersSent) {
      // Past the point of no return (a blob half sent): all we can do is cut the connection.
      res.destroy(e instanceof Error ? e : undefined);
      return;
    }
    if (e instanceof RegistryError) {
      send(res, e.status, { 'Content-Type': 'application/json', ...e.headers }, e.body());
      return;
    }
    (res as ServerResponse & { berthError?: unknown }).berthError = e;
    send(res, 500, { 'Content-Type': 'application/json' }, JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'unknown error', detail: String((e as Error)?.message ?? e) }] }));
  }

  async #route(kind: string, method: string, c: Call): Promise<void> {
    const h: Record<string, Handler> = {
      'tags GET': (c) => this.#tags(c), 'tags HEAD': (c) => this.#tags(c),
      'manifest GET': (c) => this.#getManifest(c), 'manifest HEAD': (c) => this.#getManifest(c),
      'manifest PUT': (c) => this.#putManifest(c), 'manifest DELETE': (c) => this.#deleteManifest(c),
      'uploads POST': (c) => this.#startUpload(c),
      'upload GET': (c) => this.#uploadStatus(c), 'upload PATCH': (c) => this.#patchUpload(c),
      'upload PUT': (c) => this.#finishUpload(c), 'upload DELETE': (c) => this.#cancelUpload(c),
      'blob GET': (c) => this.#getBlob(c), 'blob HEAD': (c) => this.#getBlob(c), 'blob DELETE': (c) => this.#deleteBlob(c),
      'referrers GET': (c) => this.#referrers(c), 'referrers HEAD': (c) => this.#referrers(c),
    };
    await h[`${kind} ${method}`](c);
  }

  // -------------------------------------------------------------------------------------------
  // tags, manifests, referrers

  async #tags(c: Call): Promise<void> {
    const tags = await this.#s.tags(c.name);
    if (tags === undefined) throw regError('NAME_UNKNOWN', { name: c.name });
    const page = paginate(tags, c.url.searchParams, `/v2/${c.name}/tags/list`);
    sendJson(c.res, 200, { name: c.name, tags: page.items }, page.link ? { Link: page.link } : {});
  }

  /**
   * Content negotiation as distribution does it: an OCI manifest or index is served only to a
   * client that accepts its type (otherwise MANIFEST_UNKNOWN, "…found, but accept header does
   * not support…"); Docker schema 2 is always served; a Docker manifest list asked for by tag by
   * a client that does not accept lists gets its linux/amd64 image. `*∕*` accepts anything.
   */
  async #getManifest(c: Call): Promise<void> {
    const ref = parseReference(c.arg);
    let m = await this.#s.getManifest(c.name, ref);
    const accepted = acceptList(c.req);
    const ok = (t: string) => accepted.includes(t) || accepted.includes('*/*') || accepted.includes('application/*');
    if (m.mediaType === MT.ociManifest && !ok(MT.ociManifest)) {
      throw regError('MANIFEST_UNKNOWN', ref, 'OCI manifest found, but accept header does not support OCI manifests');
    }
    if (m.mediaType === MT.ociIndex && !ok(MT.ociIndex)) {
      throw regError('MANIFEST_UNKNOWN', ref, 'OCI index found, but accept header does not support OCI indexes');
    }
    if (m.mediaType === MT.dockerList && ref.tag !== undefined && !ok(MT.dockerList)) {
      const list = JSON.parse(m.body.toString('utf8')) as { manifests?: Descriptor[] };
      const d = list.manifests?.find((x) => x.platform?.os === 'linux' && x.platform?.architecture === 'amd64');
      if (!d) throw regError('MANIFEST_UNKNOWN', ref, 'manifest list has no linux/amd64 manifest');
      m = await this.#s.getManifest(c.name, { digest: d.digest });
    }
    send(c.res, 200, {
      'Content-Type': m.mediaType,
      'Docker-Content-Digest': m.digest,
      ETag: `"${m.digest}"`,
    }, m.body);
  }

  async #putManifest(c: Call): Promise<void> {
    const ref = parseReference(c.arg);
    const body = await readBody(c.req, MAX_MANIFEST_SIZE);
    const r = await this.#s.putManifest(c.name, ref, body, c.req.headers['content-type']);
    const headers: Record<string, string> = {
      Location: `/v2/${c.name}/manifests/${r.digest}`,
      'Docker-Content-Digest': r.digest,
    };
    if (r.subject) headers['OCI-Subject'] = r.subject;
    send(c.res, 201, headers);
  }

  async #deleteManifest(c: Call): Promise<void> {
    await this.#s.deleteManifest(c.name, parseReference(c.arg));
    send(c.res, 202, {});
  }

  async #referrers(c: Call): Promise<void> {
    const digest = checkDigest(c.arg);
    const filter = c.url.searchParams.get('artifactType');
    let manifests = await this.#s.referrers(c.name, digest);
    const headers: Record<string, string> = {};
    if (filter) {
      manifests = manifests.filter((d) => d.artifactType === filter);
      headers['OCI-Filters-Applied'] = 'artifactType';
    }
    send(c.res, 200, { 'Content-Type': MT.ociIndex, ...headers }, JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests }));
  }

  // -------------------------------------------------------------------------------------------
  // blobs

  async #getBlob(c: Call): Promise<void> {
    const digest = checkDigest(c.arg);
    const info = await this.#s.statBlob(c.name, digest);
    if (!info) throw regError('BLOB_UNKNOWN', { digest });
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': digest,
      ETag: `"${digest}"`,
      'Accept-Ranges': 'bytes',
      'Cache-Control': 'max-age=31536000',
    };
    const range = parseRange(c.req.headers.range, info.size);
    if (range === 'unsatisfiable') {
      throw new RegistryError('RANGE_INVALID', { status: 416, headers: { 'Content-Range': `bytes */${info.size}` }, detail: { range: c.req.headers.range } });
    }
    const status = range ? 206 : 200;
    if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${info.size}`;
    headers['Content-Length'] = range ? range.end - range.start + 1 : info.size;
    if (c.req.method === 'HEAD' || info.size === 0) {
      send(c.res, status, headers);
      return;
    }
    const src = this.#s.openBlob(digest, range);
    // Open the file before committing to a status, so a blob swept underneath is a clean 404.
    await new Promise<void>((resolve, reject) => {
      src.once('open', () => resolve());
      src.once('error', () => reject(regError('BLOB_UNKNOWN', { digest })));
    });
    c.res.writeHead(status, headers);
    // Point of no return: headers are out; a failure from here on cuts the connection (#fail).
    await pipeline(src, c.res);
  }

  async #deleteBlob(c: Call): Promise<void> {
    await this.#s.deleteBlob(c.name, checkDigest(c.arg));
    send(c.res, 202, {});
  }

  // -------------------------------------------------------------------------------------------
  // uploads

  #uploadHeaders(name: string, id: string, size: number): Record<string, string> {
    return {
      Location: `/v2/${name}/blobs/uploads/${id}`,
      'Docker-Upload-UUID': id,
      Range: uploadRange(size),
    };
  }

  #blobCreated(c: Call, digest: string): void {
    send(c.res, 201, { Location: `/v2/${c.name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
  }

  async #startUpload(c: Call): Promise<void> {
    const q = c.url.searchParams;
    const mount = q.get('mount');
    const from = q.get('from');
    if (mount && from) {
      // Mounting needs pull on the source as well; without it (or without the blob there) this
      // is an ordinary upload, as the spec allows.
      const digest = checkDigest(mount);
      try {
        checkName(from);
        if (c.grant?.can('repository', from, 'pull') !== false) {
          const info = await this.#s.mountBlob(c.name, from, digest);
          if (info) return this.#blobCreated(c, digest);
        }
      } catch (e) {
        if (!(e instanceof RegistryError)) throw e;
      }
    }
    const digest = q.get('digest');
    if (digest !== null) {
      const info = await this.#s.putBlob(c.name, c.req, checkDigest(digest));
      return this.#blobCreated(c, info.digest);
    }
    const up = await this.#s.startUpload(c.name);
    send(c.res, 202, this.#uploadHeaders(c.name, up.id, 0));
  }

  async #uploadStatus(c: Call): Promise<void> {
    const up = await this.#s.getUpload(c.name, c.arg);
    send(c.res, 204, this.#uploadHeaders(c.name, up.id, up.size));
  }

  async #patchUpload(c: Call): Promise<void> {
    const cr = c.req.headers['content-range'];
    const cl = c.req.headers['content-length'];
    let start: number | undefined;
    let length: number | undefined = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : undefined;
    if (cr !== undefined) {
      const r = parseContentRange(cr);
      const up = await this.#s.getUpload(c.name, c.arg);
      if (!r || (length !== undefined && r.end - r.start + 1 !== length)) {
        throw new RegistryError('RANGE_INVALID', { status: 416, headers: this.#uploadHeaders(c.name, up.id, up.size), detail: { 'Content-Range': cr } });
      }
      start = r.start;
      length = r.end - r.start + 1;
    }
    const up = await this.#s.appendUpload(c.name, c.arg, c.req, { start, length });
    send(c.res, 202, this.#uploadHeaders(c.name, up.id, up.size));
  }

  async #finishUpload(c: Call): Promise<void> {
    const digest = c.url.searchParams.get('digest');
    if (digest === null) throw regError('DIGEST_INVALID', { reason: 'digest parameter missing' });
    const info = await this.#s.finishUpload(c.name, c.arg, checkDigest(digest), c.req);
    this.#blobCreated(c, info.digest);
  }

  async #cancelUpload(c: Call): Promise<void> {
    await this.#s.cancelUpload(c.name, c.arg);
    send(c.res, 204, {});
  }

  // -------------------------------------------------------------------------------------------
  // token endpoint

  /**
   * GET /token?service=…&scope=… with optional Basic credentials (docker's token flow), and
   * POST /token with an OAuth2 form (grant_type=password or refresh_token), which docker uses
   * once it holds an identity token.
   */
  async #token(req: IncomingMessage, res: ServerResponse, url: URL, who: { user?: string }): Promise<void> {
    let scopes: Access[];
    if (req.method === 'GET') {
      scopes = url.searchParams.getAll('scope').flatMap(parseScopes);
      const r = await this.#auth.issue(parseBasic(req.headers.authorization), scopes, req.socket.remoteAddress);
      who.user = r.subject || undefined;
      const out: Record<string, unknown> = { token: r.token, access_token: r.token, expires_in: r.expiresIn, issued_at: r.issuedAt };
      // docker login asks for `offline_token=true`: a refresh token it then keeps as identity token.
      if (r.trusted && url.searchParams.get('offline_token') === 'true') out.refresh_token = this.#auth.issueRefresh(r.subject);
      sendJson(res, 200, out);
      return;
    }
    if (req.method !== 'POST') throw regError('UNSUPPORTED');
    const form = new URLSearchParams((await readBody(req, MAX_FORM)).toString('utf8'));
    scopes = form.getAll('scope').flatMap(parseScopes);
    const grantType = form.get('grant_type');
    let r: Awaited<ReturnType<RegistryAuth['issue']>>;
    if (grantType === 'password') {
      r = await this.#auth.issue({ user: form.get('username') ?? '', password: form.get('password') ?? '' }, scopes, req.socket.remoteAddress);
    } else if (grantType === 'refresh_token') {
      r = { ...(await this.#auth.refresh(form.get('refresh_token') ?? '', scopes)), trusted: true };
    } else {
      throw new RegistryError('UNSUPPORTED', { status: 400, message: `unsupported grant_type ${JSON.stringify(grantType)}` });
    }
    who.user = r.subject || undefined;
    const out: Record<string, unknown> = {
      access_token: r.token, token_type: 'Bearer', expires_in: r.expiresIn, issued_at: r.issuedAt,
      scope: form.getAll('scope').join(' '),
    };
    if (r.trusted && (form.get('access_type') === 'offline' || grantType === 'refresh_token')) {
      out.refresh_token = grantType === 'refresh_token' ? form.get('refresh_token') : this.#auth.issueRefresh(r.subject);
    }
    sendJson(res, 200, out);
  }
}

// ---------------------------------------------------------------------------------------------
// the process

export function parseAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new Error(`invalid address "${addr}": want host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in "${addr}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

const isLoopback = (address: string) =>
  /^127\./.test(address) || /^::ffff:127\./i.test(address) || address === '::1';

/**
 * What start-up warns about when the registry listens beyond loopback: no TLS (passwords and
 * tokens in clear text), and no users (anyone who reaches it may do what anonymous callers may).
 */
export function exposureWarnings(o: { address: string; listen: string; tls: boolean; mode: AuthMode; users: boolean; anonymous: readonly string[] }): string[] {
  if (isLoopback(o.address)) return [];
  const out: string[] = [];
  if (!o.tls) {
    out.push(`warning: listening on ${o.listen} without TLS (--tls-cert, --tls-key): credentials, tokens and images cross the network in clear text`);
  }
  if (o.mode === 'none') {
    out.push(`warning: listening on ${o.listen} without authentication (--htpasswd): anyone who can reach it may pull, push and delete`);
  } else if (o.mode === 'token') {
    const open = ['pull', 'push', 'delete'].filter((x) => o.anonymous.includes(x) || o.anonymous.includes('*'));
    if (!o.users && open.length) {
      out.push(`warning: listening on ${o.listen} with token auth but no users (--htpasswd): anyone who can reach it may ${open.join(', ')}`);
    } else if (open.some((x) => x !== 'pull')) {
      // Anonymous pull beside htpasswd users is a public registry, chosen on purpose; writes are not.
      out.push(`warning: listening on ${o.listen}: anonymous users may ${open.join(', ')} (anonymousActions)`);
    }
  }
  return out;
}

export async function startRegistry(opts: RegistryOptions): Promise<RunningRegistry> {
  const log = opts.log ?? ((l: string) => { process.stderr.write(l + '\n'); });
  const { host, port } = parseAddr(opts.addr ?? '127.0.0.1:5000');
  const storage = new FsRegistryStorage(opts.root, { maxBlobSize: opts.maxBlobSize });
  await storage.init();
  let htpasswd: HtpasswdVerifier | undefined;
  if (opts.htpasswd) {
    const h = await HtpasswdVerifier.load(opts.htpasswd);
    if (h.skipped.length) log(`warning: ${opts.htpasswd}: ignored lines ${h.skipped.join(', ')} (only bcrypt entries are supported)`);
    htpasswd = h.verifier;
  }
  const auth = new RegistryAuth({
    mode: opts.tokenAuth ? 'token' : htpasswd ? 'basic' : 'none',
    htpasswd, service: opts.service, realm: opts.realm, anonymousActions: opts.anonymousActions, tokenTtl: opts.tokenTtl,
    loginThrottle: opts.loginThrottle,
  });
  const router = new RegistryRouter(storage, auth);
  const tls = Boolean(opts.tlsCert || opts.tlsKey);
  if (tls && !(opts.tlsCert && opts.tlsKey)) throw new Error('--tls-cert and --tls-key go together');
  const scheme = tls ? 'https' : 'http';

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const t0 = process.hrtime.bigint();
    const hostHeader = req.headers.host ?? `${host}:${port}`;
    const who: { user?: string } = {};
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const err = (res as ServerResponse & { berthError?: unknown }).berthError;
      log(`${new Date().toISOString()} ${req.socket.remoteAddress ?? '-'} "${req.method} ${req.url}" ${res.statusCode} ${res.getHeader('content-length') ?? '-'} ${ms.toFixed(1)}ms${who.user ? ` user=${who.user}` : ''}${err ? ` error=${JSON.stringify(String((err as Error).stack ?? err))}` : ''}`);
    });
    router.handle(req, res, `${scheme}://${hostHeader}`, who).catch((e) => {
      log(`internal error: ${(e as Error).stack ?? e}`);
      res.destroy();
    });
  };

  // requestTimeout 0: a large blob upload may take longer than Node's 300 s default.
  const serverOpts = { requestTimeout: 0, keepAliveTimeout: 65_000 };
  const server: Server = tls
    ? createHttpsServer({ ...serverOpts, cert: await readFile(opts.tlsCert!), key: await readFile(opts.tlsKey!) }, onRequest)
    : createHttpServer(serverOpts, onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const a = server.address() as AddressInfo;
  const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  const url = `${scheme}://${shown}:${a.port}`;
  for (const w of exposureWarnings({ address: a.address, listen: `${shown}:${a.port}`, tls, mode: auth.mode, users: htpasswd !== undefined, anonymous: auth.anonymous })) log(w);
  const anonymous = auth.anonymous.join(', ') || 'nothing';
  return {
    url,
    server,
    auth: auth.mode === 'token' ? `token (${htpasswd ? 'htpasswd users' : 'no users'}; anonymous: ${anonymous})` : auth.mode === 'basic' ? 'basic (htpasswd)' : 'none',
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      // In-flight requests get a moment to finish; then the connections go.
      setTimeout(() => server.closeAllConnections(), 2000).unref();
    }),
  };
}
