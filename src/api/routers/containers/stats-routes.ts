// `GET /containers/{id}/stats` and `POST /containers/{id}/update`. Stats: the engine samples and
// paces (engine/stats.ts); this frames its answer, one JSON object, or a stream of them one per
// line.
import { invalid } from '../../../common/errors.ts';
import { qBool, readJsonBody, sendJson, startStream, type Ctx } from '../../http.ts';
import type { Route } from '../../server.ts';
import type { HostConfig } from '../../types/container.ts';
import type { StatsBackend } from './backend.ts';

async function stats(ctx: Ctx, b: StatsBackend): Promise<void> {
  const q = ctx.query;
  const stream = qBool(q, 'stream', true);
  const oneShot = qBool(q, 'one-shot');
  if (stream && oneShot) throw invalid('cannot have stream=true and one-shot=true');
  const r = await b.stats(ctx.params.id, { stream, oneShot, signal: ctx.signal });
  if ('once' in r) {
    sendJson(ctx, 200, r.once);
    return;
  }
  // Point of no return: from here the stream only ends.
  const res = startStream(ctx, 'application/json');
  try {
    for await (const s of r.stream) {
      if (!res.write(JSON.stringify(s) + '\n')) await new Promise((done) => res.once('drain', done));
    }
  } finally {
    res.end();
  }
}

export function statsRoutes(b: StatsBackend): Route[] {
  return [
    { method: 'GET', path: '/containers/{id}/stats', handler: (ctx) => stats(ctx, b) },
    {
      method: 'POST', path: '/containers/{id}/update', handler: async (ctx) => {
        const body = await readJsonBody<Partial<HostConfig>>(ctx, { schema: 'ContainerUpdate' });
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid('invalid update configuration');
        sendJson(ctx, 200, await b.update(ctx.params.id, body));
      },
    },
  ];
}
