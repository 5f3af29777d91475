// /build and /build/prune: the legacy builder protocol (the body is the context tar; the reply
// a JSON-message stream: `stream`, `aux`, `error`/`errorDetail`).
import type { ServerResponse } from 'node:http';
import { invalid, isEngineError } from '../../../common/errors.ts';
import { parseFilters } from '../../../common/filters.ts';
import { normalizeTagged } from '../../../common/reference.ts';
import { qBool, qInt, sendJson, type Ctx } from '../../http.ts';
import type { Route } from '../../server.ts';
import type { BuildBackend } from './backend.ts';
import { decodeRegistryConfig } from '../../../registry/client/auth.ts';
import { versionBefore } from '../../version.ts';

function jsonParam<T>(q: URLSearchParams, name: string, check: (v: unknown) => v is T, def: T): T {
  const raw = q.get(name);
  if (raw === null || raw === '') return def;
  let v: unknown;
  try { v = JSON.parse(raw); } catch { throw invalid(`failed to parse ${name}: invalid JSON: ${raw}`); }
  if (v === null) return def;
  if (!check(v)) throw invalid(`failed to parse ${name}: unexpected value ${raw}`);
  return v;
}

const isStrMap = (v: unknown): v is Record<string, string | null> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => x === null || typeof x === 'string');
const isStrList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

async function build(ctx: Ctx, b: BuildBackend): Promise<void> {
  const q = ctx.query;
  if (q.get('remote')) throw invalid('remote build contexts are not supported: send the context as a tar in the request body');
  const tags = q.getAll('t').filter((t) => t !== '');
  for (const t of tags) {
    let ref;
    try { ref = normalizeTagged(t); } catch { throw invalid(`invalid reference format: ${t}`); }
    if (ref.digest) throw invalid(`invalid reference format: ${t} (a build cannot be tagged with a digest)`);
  }
  // moby's newImageBuildOptions refusals (berthd, like a default dockerd, is not experimental).
  if (q.getAll('securityopt').length) throw invalid('security options are not supported on linux');
  if (qBool(q, 'squash')) throw invalid('squash is only supported with experimental mode');
  const shm = qInt(q, 'shmsize');
  // One `extrahosts` per --add-host (as the docker CLI sends them), each possibly a comma list.
  const extrahosts = q.getAll('extrahosts').flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  const o = {
    tags,
    dockerfile: q.get('dockerfile') || 'Dockerfile',
    buildArgs: jsonParam(q, 'buildargs', isStrMap, {}),
    noCache: qBool(q, 'nocache'),
    target: q.get('target') || undefined,
    labels: jsonParam(q, 'labels', isStrMap, {}) as Record<string, string>,
    networkMode: q.get('networkmode') || undefined,
    pull: qBool(q, 'pull'),
    rm: qBool(q, 'rm', true),
    forceRm: qBool(q, 'forcerm'),
    // `platform` is API 1.32's; older clients' is ignored, as moby ignores it.
    platform: versionBefore(ctx, '1.32') ? undefined : q.get('platform') || undefined,
    cacheFrom: jsonParam(q, 'cachefrom', isStrList, []),
    extraHosts: extrahosts,
    shmSize: shm && shm > 0 ? shm : undefined,
    resources: {
      Memory: qInt(q, 'memory') || undefined,
      MemorySwap: qInt(q, 'memswap') || undefined,
      CpuShares: qInt(q, 'cpushares') || undefined,
      CpuPeriod: qInt(q, 'cpuperiod') || undefined,
      CpuQuota: qInt(q, 'cpuquota') || undefined,
      CpusetCpus: q.get('cpusetcpus') || undefined,
      CpusetMems: q.get('cpusetmems') || undefined,
      Ulimits: jsonParam(q, 'ulimits', (v): v is { Name: string; Soft: number; Hard: number }[] => Array.isArray(v), []),
    },
    signal: ctx.signal,
    registryAuth: decodeRegistryConfig(ctx.req.headers['x-registry-config']),
  };
  // Headers go out with the first message: an error before any output (a Dockerfile parse
  // error, a missing Dockerfile) is an ordinary HTTP error, as dockerd answers it.
  let res: ServerResponse | undefined;
  const send = (m: Record<string, unknown>) => {
    if (!res) {
      res = ctx.res!;
      res.writeHead(200, { 'Content-Type': 'application/json' });
    }
    res.write(JSON.stringify(m) + '\r\n');
  };
  // `q`: as moby's router, the build's output is held back; the reply is the image ID alone, or,
  // when the build fails, what was held back and then the error.
  const quiet = qBool(q, 'q');
  const held: Record<string, unknown>[] = [];
  const out = quiet ? (m: Record<string, unknown>) => { held.push(m); } : send;
  try {
    // The image ID as an `aux` message is API 1.30's (older clients read only the stream).
    const wantAux = !versionBefore(ctx, '1.30');
    const report = await b.build(ctx.req, o, { stream: (s) => out({ stream: s }), aux: (v) => { if (wantAux) out({ aux: v }); }, message: out });
    if (quiet) send({ stream: `${report.id}\n` });
  } catch (e) {
    for (const m of held.splice(0)) send(m);
    if (!res) throw e;
    const message = e instanceof Error ? e.message : String(e);
    const code = isEngineError(e) && typeof (e as { exitCode?: number }).exitCode === 'number' ? (e as unknown as { exitCode: number }).exitCode : undefined;
    send({ errorDetail: code !== undefined ? { code, message } : { message }, error: message });
  }
  // The client may not have sent all of the context (a build that failed early).
  ctx.req.resume();
  res?.end();
}

export function buildRoutes(b: BuildBackend): Route[] {
  return [
    { method: 'POST', path: '/build', handler: (ctx) => build(ctx, b) },
    {
      method: 'POST', path: '/build/prune', handler: async (ctx) => {
        const f = parseFilters(ctx.query.get('filters') ?? undefined);
        // As moby's toBuildkitPruneInfo: only the cache fields it knows are read, other keys
        // (a `system prune --filter label=…` passes its labels here too) are ignored.
        const until = f.get('until')[0] ?? f.get('unused-for')[0];
        const keep = qInt(ctx.query, 'keep-storage') ?? qInt(ctx.query, 'reserved-space');
        sendJson(ctx, 200, await b.pruneBuildCache({ all: qBool(ctx.query, 'all'), until, keepStorage: keep }));
      },
    },
  ];
}
