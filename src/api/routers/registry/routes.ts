// Registry routes: POST /images/{name}/push, POST /auth, GET /distribution/{name}/json, and the
// stream helper /images/create?fromImage= uses. A pull or push answers with an HTTP error as long
// as it has written nothing (unknown manifest → 404, bad credentials → 401), as dockerd does;
// after its first message an error travels inside the stream as {"errorDetail":…,"error":…}.
import { invalid } from '../../../common/errors.ts';
import { authFrom, decodeRegistryAuth, type AuthConfig } from '../../../registry/client/auth.ts';
import { readJsonBody, sendJson, type Ctx } from '../../http.ts';
import type { Route } from '../../server.ts';
import type { RegistryBackend } from './backend.ts';

type Emit = (m: Record<string, unknown>) => void;

/** A JSON-lines response that starts (200) with its first message. */
export function lazyJsonStream(ctx: Ctx): { emit: Emit; started: () => boolean; end: () => void; error: (e: unknown) => void } {
  const res = ctx.res!;
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
  };
  return {
    emit: (m) => { start(); if (!res.writableEnded && !res.destroyed) res.write(JSON.stringify(m) + '\r\n'); },
    started: () => started,
    end: () => { start(); res.end(); },
    error: (e) => {
      start();
      const message = e instanceof Error ? e.message : String(e);
      if (!res.writableEnded && !res.destroyed) res.end(JSON.stringify({ errorDetail: { message }, error: message }) + '\r\n');
    },
  };
}

/** Runs a pull/push-like operation over a lazy stream. */
export async function streamOperation(ctx: Ctx, run: (emit: Emit) => Promise<void>): Promise<void> {
  const s = lazyJsonStream(ctx);
  try {
    await run(s.emit);
  } catch (e) {
    if (!s.started()) throw e;
    s.error(e);
    return;
  }
  s.end();
}

export function authOf(ctx: Ctx): AuthConfig {
  return decodeRegistryAuth(ctx.req.headers['x-registry-auth']);
}

export function registryRoutes(b: RegistryBackend): Route[] {
  return [
    {
      method: 'POST', path: '/images/{name*}/push', handler: async (ctx) => {
        const tag = ctx.query.get('tag') || undefined;
        await streamOperation(ctx, (emit) => b.push(ctx.params.name, { tag, auth: authOf(ctx), signal: ctx.signal, emit }));
      },
    },
    {
      method: 'POST', path: '/auth', handler: async (ctx) => {
        const body = await readJsonBody<Record<string, unknown>>(ctx);
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid('invalid auth configuration');
        const r = await b.login(authFrom(body));
        sendJson(ctx, 200, { Status: 'Login Succeeded', IdentityToken: r.IdentityToken });
      },
    },
    {
      method: 'GET', path: '/distribution/{name*}/json', handler: async (ctx) => {
        sendJson(ctx, 200, await b.distribution(ctx.params.name, authOf(ctx), ctx.signal));
      },
    },
  ];
}
