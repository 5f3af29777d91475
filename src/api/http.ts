// Request/response helpers shared by every router: query parsing, JSON bodies, replies, and the
// hijack handshake the docker CLI uses for attach and exec.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { invalid } from '../common/errors.ts';
import { normalizeBody, type BodySchema } from '../common/json-fields.ts';
import { jsonContentTypeError } from './request-guard.ts';

export interface Ctx {
  req: IncomingMessage;
  /** Undefined for an upgraded (hijacked) request. */
  res?: ServerResponse;
  /** The raw socket of an upgrade request, and the bytes that followed its headers. */
  upgrade?: { socket: Duplex; head: Buffer };
  params: Record<string, string>;
  query: URLSearchParams;
  apiVersion: string;
  signal: AbortSignal;
}

export type Handler = (ctx: Ctx) => Promise<void>;

export function qBool(q: URLSearchParams, name: string, def = false): boolean {
  const v = q.get(name);
  if (v === null) return def;
  return !(v === '' || v === '0' || v.toLowerCase() === 'false');
}

export function qInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw invalid(`invalid value for ${name}: ${v}`);
  return n;
}

export async function readBody(req: IncomingMessage, limit = 16 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw invalid('request body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Exactly `n` bytes from a paused socket (fewer if it ends first), pulled with read() so that
 * whatever follows stays in the socket for the stream's reader. Taking whole 'data' chunks and
 * pushing the surplus back lost it whenever the client's end came in the same packet: the
 * socket had already announced its end, and a chunk put back after that is dropped.
 */
async function readExactly(s: Duplex, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  while (got < n) {
    if (s.readableLength > 0) {
      const c = s.read(Math.min(n - got, s.readableLength)) as Buffer;
      parts.push(c);
      got += c.length;
      continue;
    }
    if (s.readableEnded || s.destroyed) break;
    const more = await new Promise<boolean>((resolve) => {
      const done = (v: boolean) => { s.off('readable', onReadable); s.off('end', onEnd); s.off('close', onEnd); resolve(v); };
      const onReadable = () => done(true);
      const onEnd = () => done(false);
      s.on('readable', onReadable);
      s.once('end', onEnd);
      s.once('close', onEnd);
    });
    if (!more) break;
  }
  return Buffer.concat(parts, got);
}

/**
 * The body of an upgrade request (exec start, attach): Node hands the socket over with whatever
 * followed the headers (`head`), which may be only part of the body, or none of it. Exactly
 * Content-Length bytes are read; anything after them is the client's stream and stays.
 */
async function readUpgradeBody(ctx: Ctx, limit = 1 << 20): Promise<Buffer> {
  const u = ctx.upgrade!;
  const len = Number(ctx.req.headers['content-length']);
  if (!Number.isInteger(len) || len < 0) return u.head;
  if (len > limit) throw invalid('request body too large');
  let buf = u.head;
  if (buf.length < len) buf = Buffer.concat([buf, await readExactly(u.socket, len - buf.length)]);
  // (Only the head can hold more than the body: the socket was not read past it.)
  if (buf.length > len) u.socket.unshift(buf.subarray(len));
  u.head = Buffer.alloc(0);
  return buf.subarray(0, len);
}

/**
 * Reads and drops the body of an upgrade request that has no use for it (attach: dockerode sends
 * its options as JSON there too), so that body bytes arriving after the headers are not taken
 * for the session's stdin.
 */
export async function skipUpgradeBody(ctx: Ctx): Promise<void> {
  const u = ctx.upgrade;
  if (!u) return;
  const len = Number(ctx.req.headers['content-length']);
  if (Number.isInteger(len) && len >= 0) { await readUpgradeBody(ctx); return; }
  // No body: whatever followed the headers is already the client's stream.
  if (u.head.length) u.socket.unshift(u.head);
  u.head = Buffer.alloc(0);
}

/**
 * The JSON body of a request (moby's ReadJSON): with a body, `Content-Type: application/json` is
 * required (request-guard.ts says why: browsers post text/plain cross-site); without one, an
 * `optional` body reads as `{}`. `schema` names the body in the spec (its operation ID): field
 * names are then matched case-insensitively, as Go's decoder matches them, and come out spelled
 * as the spec spells them (common/json-fields.ts); every JSON body should name its schema.
 */
export async function readJsonBody<T>(ctx: Ctx, opts: { optional?: boolean; schema?: BodySchema } = {}): Promise<T> {
  const buf = ctx.upgrade ? await readUpgradeBody(ctx) : await readBody(ctx.req);
  const ctError = jsonContentTypeError(ctx.req.headers['content-type'], buf.length);
  if (ctError) throw invalid(ctError);
  if (buf.length === 0) {
    if (opts.optional) return {} as T;
    throw invalid('bad parameter: request body is empty');
  }
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw invalid(`invalid JSON: ${(e as Error).message}`);
  }
  return (opts.schema ? normalizeBody(v, opts.schema) : v) as T;
}

export function sendJson(ctx: Ctx, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body) + '\n');
  ctx.res!.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': data.length });
  ctx.res!.end(data);
}

export function sendEmpty(ctx: Ctx, status = 204): void {
  ctx.res!.writeHead(status);
  ctx.res!.end();
}

export function sendText(ctx: Ctx, status: number, text: string, type = 'text/plain; charset=utf-8'): void {
  ctx.res!.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
  ctx.res!.end(text);
}

/**
 * Starts a stream response. From here on (the point of no return) errors travel inside the
 * stream. Headers are flushed at once: the Go client waits for them on /wait, /events and
 * `logs -f`, and `docker run` deadlocks otherwise.
 */
export function startStream(ctx: Ctx, contentType: string, status = 200): ServerResponse {
  const res = ctx.res!;
  res.writeHead(status, { 'Content-Type': contentType });
  res.flushHeaders();
  return res;
}

/** Whether the request's API version is `v` or later (moby's versions.GreaterThanOrEqualTo). */
export function apiAtLeast(ctx: Ctx, v: string): boolean {
  const [a1, a2] = ctx.apiVersion.split('.').map(Number);
  const [b1, b2] = v.split('.').map(Number);
  return a1 - b1 > 0 || (a1 === b1 && a2 >= b2);
}

/** The media types of attach and exec streams. */
export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

/**
 * Takes over the connection for a bidirectional stream (attach, exec start), as moby does. With
 * `Upgrade: tcp` the server answers 101 with `upgradeType` and speaks raw on the socket (the
 * docker CLI, docker-py, dockerode's hijack); without it, the stream is the body of a 200
 * response, typed raw-stream whatever its framing, as moby types it (dockerode's `docker.run`,
 * curl), ended when the stream is.
 */
export function hijack(ctx: Ctx, upgradeType: string): { out: Duplex | ServerResponse; input: Duplex | IncomingMessage; end: () => void } {
  if (ctx.upgrade) {
    const s = ctx.upgrade.socket;
    s.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${upgradeType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
    return { out: s, input: s, end: () => { s.end(); } };
  }
  const res = ctx.res!;
  res.writeHead(200, { 'Content-Type': RAW_STREAM });
  res.flushHeaders();
  return { out: res, input: ctx.req, end: () => res.end() };
}
