// `GET /containers/{id}/stats` and `POST /containers/{id}/update`. Stats: one sample
// (`one-shot=true`), two a second apart so CPU% means something (`stream=false`), or one per
// second until the client goes or the container stops (the default), each with the previous
// sample as `precpu_stats`, as dockerd's collector does.
import { invalid } from '../../../common/errors.ts';
import { qBool, readJsonBody, sendJson, startStream, type Ctx } from '../../http.ts';
import type { Route } from '../../server.ts';
import type { HostConfig } from '../../types/container.ts';
import { sampleStats, zeroStats, type StatsSample } from '../../../engine/stats.ts';

export interface StatsBackend {
  statsTarget(ref: string): { id: string; name: string; running: boolean; pid: number };
  update(ref: string, body: Partial<HostConfig>): Promise<{ Warnings: string[] }>;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Docker's StatsJSON field order. */
function statsJson(cur: StatsSample, pre: StatsSample, name: string, id: string): Record<string, unknown> {
  const { networks, ...rest } = cur;
  return {
    read: rest.read, preread: pre.read, pids_stats: rest.pids_stats, blkio_stats: rest.blkio_stats,
    num_procs: rest.num_procs, storage_stats: rest.storage_stats, cpu_stats: rest.cpu_stats, precpu_stats: pre.cpu_stats,
    memory_stats: rest.memory_stats, name, id, ...(networks ? { networks } : {}),
  };
}

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((r) => {
  const t = setTimeout(r, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
});

async function stats(ctx: Ctx, b: StatsBackend): Promise<void> {
  const q = ctx.query;
  const stream = qBool(q, 'stream', true);
  const oneShot = qBool(q, 'one-shot');
  if (stream && oneShot) throw invalid('cannot have stream=true and one-shot=true');
  const t = b.statsTarget(ctx.params.id);
  const zero = zeroStats();
  if (!t.running) {
    sendJson(ctx, 200, statsJson(zero, zero, t.name, t.id));
    return;
  }
  const sample = async (): Promise<StatsSample | undefined> => {
    const now = b.statsTarget(t.id);
    if (!now.running) return undefined;
    return sampleStats(now.pid).catch(() => undefined);
  };
  if (!stream) {
    let pre = zero;
    if (!oneShot) {
      pre = (await sample()) ?? zero;
      await sleep(1000, ctx.signal);
    }
    const cur = (await sample()) ?? zero;
    sendJson(ctx, 200, statsJson(cur, pre, t.name, t.id));
    return;
  }
  const res = startStream(ctx, 'application/json');
  let pre: StatsSample = { ...zero, read: ZERO_TIME };
  try {
    while (!ctx.signal.aborted) {
      const cur = await sample();
      if (!cur) {
        // Stopped: Docker sends a zeroed object and ends the stream.
        res.write(JSON.stringify(statsJson(zero, zero, t.name, t.id)) + '\n');
        break;
      }
      if (!res.write(JSON.stringify(statsJson(cur, pre, t.name, t.id)) + '\n')) await new Promise((r) => res.once('drain', r));
      pre = cur;
      await sleep(1000, ctx.signal);
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
