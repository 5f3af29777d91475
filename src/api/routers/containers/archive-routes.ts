// The container archive routes (`docker cp`): HEAD/GET/PUT /containers/{id}/archive. Thin
// handlers over engine/container-archive.ts; the stat travels base64-JSON in
// `X-Docker-Container-Path-Stat`, as Docker sends it.
import { pipeline } from 'node:stream/promises';
import { invalid } from '../../../common/errors.ts';
import { qBool, sendEmpty, startStream, type Ctx } from '../../http.ts';
import type { Route } from '../../server.ts';
import type { ArchiveBackend, PathStat } from './backend.ts';

// engine/container-archive.ts still names the interface from here.
export type { ArchiveBackend, PathStat } from './backend.ts';

const STAT_HEADER = 'X-Docker-Container-Path-Stat';
const statHeader = (s: PathStat) => Buffer.from(JSON.stringify(s)).toString('base64');

function pathOf(ctx: Ctx): string {
  const p = ctx.query.get('path');
  if (p === null || p === '') throw invalid('path is required');
  return p;
}

export function archiveRoutes(b: ArchiveBackend): Route[] {
  return [
    {
      method: 'HEAD', path: '/containers/{id}/archive', handler: async (ctx) => {
        const st = await b.stat(ctx.params.id, pathOf(ctx));
        ctx.res!.writeHead(200, { [STAT_HEADER]: statHeader(st), 'Content-Type': 'application/json' });
        ctx.res!.end();
      },
    },
    {
      method: 'GET', path: '/containers/{id}/archive', handler: async (ctx) => {
        await b.get(ctx.params.id, pathOf(ctx), async (st, tar) => {
          ctx.res!.setHeader(STAT_HEADER, statHeader(st));
          const res = startStream(ctx, 'application/x-tar');
          try { await pipeline(tar, res); } catch { res.destroy(); }
        });
      },
    },
    {
      method: 'PUT', path: '/containers/{id}/archive', handler: async (ctx) => {
        const path = pathOf(ctx);
        try {
          await b.put(ctx.params.id, path, ctx.req, {
            noOverwriteDirNonDir: qBool(ctx.query, 'noOverwriteDirNonDir'),
            copyUIDGID: qBool(ctx.query, 'copyUIDGID'),
          });
        } catch (e) {
          ctx.req.resume(); // the rest of the body is not wanted; let the error answer go out
          throw e;
        }
        sendEmpty(ctx, 200);
      },
    },
  ];
}
