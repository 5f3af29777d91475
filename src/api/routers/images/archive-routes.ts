// Image archives and commit: `GET /images/get`, `GET /images/{name}/get` (save), `POST
// /images/load`, `POST /commit`. Thin handlers over engine/image-archive.ts and engine/commit.ts.
import { pipeline } from 'node:stream/promises';
import { invalid } from '../../../common/errors.ts';
import type { PreparedLoad } from '../../../engine/image-archive.ts';
import type { ContainerConfig } from '../../types/container.ts';
import { qBool, readJsonBody, sendJson, startStream, type Ctx } from '../../http.ts';
import type { Route } from '../../server.ts';
import type { ImageArchiveBackend } from './backend.ts';

async function save(ctx: Ctx, b: ImageArchiveBackend, names: string[]): Promise<void> {
  if (names.length === 0) throw invalid('no images specified');
  const items = b.planSave(names);
  const res = startStream(ctx, 'application/x-tar');
  try { await pipeline(b.save(items), res); } catch { res.destroy(); }
}

export function imageArchiveRoutes(b: ImageArchiveBackend): Route[] {
  return [
    { method: 'GET', path: '/images/get', handler: (ctx) => save(ctx, b, ctx.query.getAll('names').filter(Boolean)) },
    { method: 'GET', path: '/images/{name*}/get', handler: (ctx) => save(ctx, b, [ctx.params.name]) },
    {
      method: 'POST', path: '/images/load', handler: async (ctx) => {
        const quiet = qBool(ctx.query, 'quiet');
        // Take in the whole archive (layers unpack unnamed as they arrive) and verify it first: a
        // bad archive changes nothing. As moby does, its error is a message in the 200 JSON
        // stream (`errorDetail`), not an HTTP error: docker load prints it and exits 1, and
        // clients read load errors only from the stream.
        let prepared: PreparedLoad;
        try {
          prepared = await b.prepareLoad(ctx.req);
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          const res = startStream(ctx, 'application/json');
          res.end(JSON.stringify({ errorDetail: { message }, error: message }) + '\n');
          return;
        }
        const res = startStream(ctx, 'application/json');
        try {
          await prepared.commit(quiet, (m) => { res.write(JSON.stringify(m) + '\n'); });
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          res.write(JSON.stringify({ errorDetail: { message }, error: message }) + '\n');
        } finally {
          await prepared.cleanup();
          res.end();
        }
      },
    },
    {
      method: 'POST', path: '/commit', handler: async (ctx) => {
        const q = ctx.query;
        const body = await readJsonBody<ContainerConfig | null>(ctx, { optional: true, schema: 'ImageCommit' });
        const config = body && typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length ? body : undefined;
        const id = await b.commit({
          container: q.get('container') ?? '',
          repo: q.get('repo') || undefined,
          tag: q.get('tag') || undefined,
          comment: q.get('comment') || undefined,
          author: q.get('author') || undefined,
          pause: qBool(q, 'pause', true),
          changes: q.getAll('changes').filter(Boolean),
          config,
        });
        sendJson(ctx, 201, { Id: id });
      },
    },
  ];
}
