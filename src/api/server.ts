// The HTTP side of berthd: Docker Engine API v1.47 over unix sockets (and TCP, TLS required
// unless an insecure loopback listener is asked for). Routers are thin (STYLE.md point 3): they
// parse, validate, call one engine method and choose the status.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { chmod, chown, rm, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { invalid, notFound, EngineError } from '../common/errors.ts';
import { messageOf, statusOf } from './errors.ts';
import type { Ctx, Handler } from './http.ts';
import { browserRequestError, type BrowserGuard } from './request-guard.ts';
import { cmpVersion } from './version.ts';

export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';

export interface Route { method: string; path: string; handler: Handler }
interface CompiledRoute { method: string; re: RegExp; keys: string[]; handler: Handler }

/** `/containers/{id}/json` → regex; `{name*}` matches across slashes (image names). */
function compile(r: Route): CompiledRoute {
  const keys: string[] = [];
  const src = r.path.replace(/\{(\w+)(\*?)\}/g, (_m, k: string, star: string) => {
    keys.push(k);
    return star ? '(.+?)' : '([^/]+)';
  });
  return { method: r.method, re: new RegExp(`^${src}/?$`), keys, handler: r.handler };
}

export interface Listener {
  kind: 'unix' | 'tcp';
  address: string;
  tls?: { ca?: string; cert: string; key: string; verify: boolean };
  /** unix: the group given the socket (mode 0660); without one the socket is 0600, root's alone. */
  group?: number;
}

/**
 * What a listener's requests are checked for before routing (request-guard.ts has the why):
 * nothing on unix sockets and behind TLS client certificates; Origin on other TCP listeners;
 * Host too on plain HTTP (loopback only).
 */
function guardOf(l: Listener): BrowserGuard {
  const tcp = l.kind === 'tcp';
  return { origin: tcp && !l.tls?.verify, loopbackHost: tcp && !l.tls };
}

/**
 * Listens on a unix socket that never exists with wider modes than 0600: bind() creates the
 * file with 0777 & ~umask, so the process umask is 0177 for that call (moby's sockets package
 * does the same with 0777). Node binds synchronously inside listen(), so the umask is restored
 * before anything else in the process runs (a child spawned meanwhile would inherit it).
 */
async function listenUnix(server: http.Server, path: string): Promise<void> {
  const listening = new Promise<void>((res, rej) => { server.once('error', rej); server.once('listening', () => res()); });
  const old = process.umask(0o177);
  try {
    server.listen(path);
  } finally {
    process.umask(old);
  }
  await listening;
}

export class ApiServer {
  #routes: CompiledRoute[] = [];
  #servers: http.Server[] = [];
  #log: (level: string, msg: string) => void;

  #activity: (() => void) | undefined;

  /** `activity` is told of every request (the daemon's idle work waits for quiet). */
  constructor(routes: Route[], log: (level: string, msg: string) => void, activity?: () => void) {
    this.#routes = routes.map(compile);
    this.#log = log;
    this.#activity = activity;
  }

  #find(method: string, path: string): { route: CompiledRoute; params: Record<string, string> } | 'method' | undefined {
    let methodMismatch = false;
    for (const r of this.#routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      if (r.method !== method && !(r.method === 'GET' && method === 'HEAD')) { methodMismatch = true; continue; }
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => { params[k] = decodeURIComponent(m[i + 1]); });
      return { route: r, params };
    }
    return methodMismatch ? 'method' : undefined;
  }

  async #dispatch(guard: BrowserGuard, req: IncomingMessage, res: ServerResponse | undefined, upgrade?: { socket: Duplex; head: Buffer }): Promise<void> {
    const ac = new AbortController();
    const sock = upgrade?.socket ?? req.socket;
    const onClose = () => ac.abort();
    sock.once('close', onClose);
    res?.once('close', onClose);
    this.#log('debug', `${req.method} ${req.url}${upgrade ? ' (upgrade)' : ''}`);
    const url = new URL(req.url ?? '/', 'http://berth');
    let path = url.pathname;
    let apiVersion = API_VERSION;
    // moby's route prefix `/v{version:[0-9.]+}`: any such version, checked against the range below.
    const vm = /^\/v([0-9.]+)(\/.*)$/.exec(path);
    const ctx: Ctx = { req, res, upgrade, params: {}, query: url.searchParams, apiVersion, signal: ac.signal };
    try {
      // Before anything else, routing included: a browser's request must not reach a handler.
      const refused = browserRequestError({ origin: req.headers.origin, host: req.headers.host }, guard);
      if (refused) throw new EngineError('Forbidden', refused);
      if (vm) {
        apiVersion = vm[1];
        path = vm[2];
        if (cmpVersion(apiVersion, API_VERSION) > 0) throw invalid(`client version ${apiVersion} is too new. Maximum supported API version is ${API_VERSION}`);
        if (cmpVersion(apiVersion, MIN_API_VERSION) < 0) throw invalid(`client version ${apiVersion} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
        ctx.apiVersion = apiVersion;
      }
      const found = this.#find(req.method ?? 'GET', path);
      if (found === undefined) throw notFound(`page not found`);
      if (found === 'method') throw new EngineError('NotFound', `page not found`);
      ctx.params = found.params;
      await found.route.handler(ctx);
    } catch (e) {
      this.#fail(ctx, e);
    } finally {
      sock.off('close', onClose);
    }
  }

  #fail(ctx: Ctx, e: unknown): void {
    const status = statusOf(e);
    const message = messageOf(e);
    if (status >= 500) this.#log('error', `${ctx.req.method} ${ctx.req.url}: ${message}`);
    else this.#log('debug', `${ctx.req.method} ${ctx.req.url}: ${status} ${message}`);
    if (ctx.upgrade) {
      const s = ctx.upgrade.socket;
      if (s.writable) {
        // `Connection: close`: the socket ends here, and a client with a keep-alive agent
        // (dockerode's) would otherwise reuse it for its next request and see a hang-up.
        const body = JSON.stringify({ message }) + '\n';
        s.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nApi-Version: ${API_VERSION}\r\nConnection: close\r\n\r\n${body}`);
      }
      return;
    }
    const res = ctx.res!;
    if (res.headersSent) {
      // Past the point of no return: the stream's own error channel was the place; cut it.
      res.destroy();
      return;
    }
    if (status === 304) { res.writeHead(304); res.end(); return; }
    const body = JSON.stringify({ message }) + '\n';
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  #common(res: ServerResponse): void {
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Docker-Experimental', 'false');
    res.setHeader('Ostype', 'linux');
    res.setHeader('Server', `Docker/27.5.1 (linux) berth/0.1.0`);
  }

  #attach(server: http.Server, guard: BrowserGuard): void {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#activity?.();
      this.#common(res);
      void this.#dispatch(guard, req, res);
    });
    // Node hands requests with `Upgrade:` to this event instead (the docker CLI's attach/exec).
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Safe to ignore: a reset hijacked socket also closes, which aborts the request's signal and
      // ends its session; unhandled, the 'error' event would crash the daemon.
      socket.on('error', () => {});
      this.#activity?.();
      void this.#dispatch(guard, req, undefined, { socket, head });
    });
    server.on('clientError', (_e, socket: Duplex) => { try { socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'); } catch { /* gone */ } });
  }

  async listen(l: Listener): Promise<void> {
    // requestTimeout 0: the 300 s default would cut long uploads (import, build contexts).
    const opts = { requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 5_000 };
    let server: http.Server;
    if (l.tls) {
      // As dockerd serves it: TLS 1.2 or later; with verify, a client certificate signed by the CA
      // is required (the CA replaces the system roots); without, none is asked for.
      // allowHalfOpen as http.Server has it: the docker CLI half-closes a hijacked attach
      // connection (TLS close_notify) when its stdin ends; Node would otherwise end the socket
      // and `docker run` over TLS loses the container's output.
      server = https.createServer({
        ...opts,
        allowHalfOpen: true,
        minVersion: 'TLSv1.2',
        cert: await readFile(l.tls.cert),
        key: await readFile(l.tls.key),
        ca: l.tls.verify && l.tls.ca ? await readFile(l.tls.ca) : undefined,
        requestCert: l.tls.verify,
        rejectUnauthorized: l.tls.verify,
      }) as unknown as http.Server;
      // Node refuses a client certificate by closing the socket after the handshake (no TLS alert);
      // the reason is only in authorizationError.
      server.on('tlsClientError', (e: Error, s: Duplex & { remoteAddress?: string; authorizationError?: Error | string }) =>
        this.#log('debug', `TLS handshake${s.remoteAddress ? ` from ${s.remoteAddress}` : ''} failed: ${s.authorizationError ? `client certificate refused: ${String(s.authorizationError)}` : e.message.trim()}`));
    } else {
      server = http.createServer(opts);
    }
    this.#attach(server, guardOf(l));
    if (l.kind === 'unix') {
      await mkdir(dirname(l.address), { recursive: true });
      await rm(l.address, { force: true });
      await listenUnix(server, l.address);
      // The socket is root on the host: root's alone, or also its group's (`berth`, when the
      // host has one). Owner first, mode second, so it is never open wider than it ends up.
      if (l.group !== undefined) await chown(l.address, process.getuid?.() ?? 0, l.group);
      await chmod(l.address, l.group !== undefined ? 0o660 : 0o600);
    } else {
      const u = new URL(`tcp://${l.address}`);
      await new Promise<void>((res, rej) => { server.once('error', rej); server.listen(Number(u.port), u.hostname.replace(/^\[|\]$/g, ''), () => res()); });
    }
    this.#servers.push(server);
  }

  async close(): Promise<void> {
    await Promise.all(this.#servers.map((s) => new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections?.(); })));
  }
}
