// Router tests in-process (STYLE.md point 14, fastify's inject()): an ApiServer over the routes
// under test, with fake backends, listening on a unix socket in a private temporary directory.
// The request goes through the real dispatch (version prefix, routing, error mapping, headers),
// so a test sees what a client sees; no berthd, no root.
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer, type Route } from './server.ts';

export interface InjectResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body as JSON (throws when it is not). */
  json: () => any;
  /** A JSON-lines body, one object per non-empty line. */
  lines: () => any[];
}

export interface InjectRequest {
  headers?: Record<string, string>;
  /** A JSON body (sent as application/json), or raw bytes. */
  body?: unknown;
}

export interface Injector {
  request(method: string, path: string, o?: InjectRequest): Promise<InjectResponse>;
  /** What the server logged (level and message), for tests of what is logged. */
  logged: { level: string; msg: string }[];
  close(): Promise<void>;
}

export async function injector(routes: Route[]): Promise<Injector> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-router-'));
  const socketPath = join(dir, 'api.sock');
  const logged: { level: string; msg: string }[] = [];
  const server = new ApiServer(routes, (level, msg) => { logged.push({ level, msg }); });
  await server.listen({ kind: 'unix', address: socketPath });
  return {
    logged,
    request(method, path, o = {}) {
      const raw = o.body === undefined ? undefined : Buffer.isBuffer(o.body) ? o.body : Buffer.from(JSON.stringify(o.body));
      const headers: Record<string, string> = { ...(raw && !Buffer.isBuffer(o.body) ? { 'Content-Type': 'application/json' } : {}), ...o.headers };
      if (raw) headers['Content-Length'] = String(raw.length);
      return new Promise((resolve, reject) => {
        const req = http.request({ socketPath, method, path, headers, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            resolve({
              status: res.statusCode ?? 0, headers: res.headers, body,
              json: () => JSON.parse(body.toString()),
              lines: () => body.toString().split(/\r?\n/).filter(Boolean).map((l) => JSON.parse(l)),
            });
          });
        });
        req.on('error', reject);
        req.end(raw);
      });
    },
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
