// /containers/*: thin handlers over the ContainersBackend.
import { invalid } from '../../../common/errors.ts';
import { parseFilters } from '../../../common/filters.ts';
import { frame } from '../../../common/stdcopy.ts';
import { humanDuration, parseTimestamp } from '../../../common/units.ts';
import { ZERO_TIME, type AttachSession, type ContainerRecord } from '../../../engine/container/service.ts';
import { formatTimeNs } from '../../../engine/logs.ts';
import type { ContainerConfig, HostConfig } from '../../types/container.ts';
import type { EndpointConfig } from '../../types/network.ts';
import { containerInspectJson, containerSummaryJson, linkNames, type ContainerLookup } from './inspect.ts';
import { pipeline } from 'node:stream/promises';
import { apiAtLeast, hijack, MULTIPLEXED_STREAM, qBool, qInt, RAW_STREAM, readJsonBody, sendEmpty, sendJson, skipUpgradeBody, startStream, type Ctx } from '../../http.ts';
import { DetachScanner, parseDetachKeys } from '../../../common/detach-keys.ts';
import type { StreamKind } from '../../../engine/attach.ts';
import type { Route } from '../../server.ts';
import { versionBefore } from '../../version.ts';
import type { ContainersBackend } from './backend.ts';
import { archiveRoutes } from './archive-routes.ts';

/** Docker's human `Status` column: "Up 3 minutes", "Exited (0) 2 seconds ago", "Created". */
export function statusText(c: ContainerRecord, now = Date.now()): string {
  const s = c.State;
  const ago = (t: string) => humanDuration(Math.max(0, now - Date.parse(t)));
  switch (s.Status) {
    case 'running': return `Up ${ago(s.StartedAt)}${s.Health ? ` (${s.Health.Status === 'starting' ? 'health: starting' : s.Health.Status})` : ''}`;
    case 'paused': return `Up ${ago(s.StartedAt)} (Paused)`;
    case 'restarting': return `Restarting (${s.ExitCode}) ${ago(s.FinishedAt)} ago`;
    case 'removing': return 'Removal In Progress';
    case 'dead': return 'Dead';
    case 'created': return 'Created';
    default: return s.FinishedAt === ZERO_TIME ? 'Created' : `Exited (${s.ExitCode}) ${ago(s.FinishedAt)} ago`;
  }
}

/** A `GET /containers/json` item (also `system df`'s Containers). */
export function containerSummary(c: ContainerRecord, lookup: ContainerLookup = () => undefined, links?: string[]): Record<string, unknown> {
  return containerSummaryJson(c, statusText(c), lookup, links);
}

/** Another container by reference, for `container:<ref>` modes and links; undefined when gone. */
function lookupOf(b: ContainersBackend): ContainerLookup {
  return (ref) => {
    try {
      const o = b.inspect(ref);
      return { id: o.ID, name: o.Name };
    } catch { return undefined; }
  };
}

async function inspectJson(ctx: Ctx, b: ContainersBackend, ref: string): Promise<Record<string, unknown>> {
  const c = b.inspect(ref);
  let size: { rw: number; rootFs: number } | undefined;
  if (qBool(ctx.query, 'size')) {
    const rw = await b.sizeRw(c.ID);
    size = { rw, rootFs: rw + b.imageSize(c.Image) };
  }
  return containerInspectJson(c, {
    defaults: await b.hostConfigDefaults(),
    apiVersion: ctx.apiVersion,
    lookup: lookupOf(b),
    execIds: b.execIds?.(c.ID) ?? [],
    graphDriver: await b.graphDriver(c.ID),
    size,
  });
}

export function containerRoutes(b: ContainersBackend): Route[] {
  return [
    {
      method: 'GET', path: '/containers/{id}/export', handler: async (ctx) => {
        const x = await b.exportTar(ctx.params.id);
        const res = startStream(ctx, 'application/x-tar');
        try { await pipeline(x.stream, res); } catch { res.destroy(); } finally { await x.release(); }
      },
    },
    ...(b.archive ? archiveRoutes(b.archive) : []),
    { method: 'GET', path: '/containers/{id}/changes', handler: async (ctx) => sendJson(ctx, 200, await b.changes(ctx.params.id)) },
    { method: 'GET', path: '/containers/{id}/top', handler: async (ctx) => sendJson(ctx, 200, await b.top(ctx.params.id, ctx.query.get('ps_args') ?? undefined)) },
    { method: 'POST', path: '/containers/prune', handler: async (ctx) => sendJson(ctx, 200, await b.prune(ctx.query.get('filters') ?? undefined)) },
    {
      method: 'POST', path: '/containers/create', handler: async (ctx) => {
        const body = await readJsonBody<ContainerConfig & { HostConfig?: HostConfig; NetworkingConfig?: unknown }>(ctx, { schema: 'ContainerCreate' });
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('invalid JSON: container config must be an object');
        const { HostConfig: hc, NetworkingConfig: nc, ...config } = body;
        const endpoints = (nc as { EndpointsConfig?: Record<string, EndpointConfig> | null } | undefined)?.EndpointsConfig ?? undefined;
        // moby's create route: clients before API 1.40 expect the IPC namespace shareable by default.
        const hostConfig: HostConfig = hc ?? {};
        if (typeof hostConfig === 'object' && !hostConfig.IpcMode && versionBefore(ctx, '1.40')) hostConfig.IpcMode = 'shareable';
        const r = await b.create({
          name: ctx.query.get('name') ?? undefined,
          platform: ctx.query.get('platform') || undefined,
          config,
          hostConfig,
          endpoints: endpoints ?? undefined,
        });
        sendJson(ctx, 201, r);
      },
    },
    {
      method: 'GET', path: '/containers/json', handler: async (ctx) => {
        const q = ctx.query;
        const filters = parseFilters(q.get('filters') ?? undefined);
        const entries = await b.listContainers({ all: qBool(q, 'all'), limit: qInt(q, 'limit'), size: qBool(q, 'size'), filters });
        const out = [];
        const lookup = lookupOf(b);
        const links = linkNames(b.list(), lookup);
        for (const e of entries) {
          const s = containerSummary(e.container, lookup, links.get(e.container.ID));
          s.Image = e.image;
          if (e.sizeRw !== undefined) { s.SizeRw = e.sizeRw; s.SizeRootFs = e.sizeRootFs; }
          out.push(s);
        }
        sendJson(ctx, 200, out);
      },
    },
    { method: 'GET', path: '/containers/{id}/json', handler: async (ctx) => sendJson(ctx, 200, await inspectJson(ctx, b, ctx.params.id)) },
    {
      method: 'POST', path: '/containers/{id}/start', handler: async (ctx) => {
        await b.start(ctx.params.id);
        sendEmpty(ctx);
      },
    },
    {
      method: 'POST', path: '/containers/{id}/stop', handler: async (ctx) => {
        await b.stop(ctx.params.id, { signal: ctx.query.get('signal') || undefined, timeout: qInt(ctx.query, 't') });
        sendEmpty(ctx);
      },
    },
    {
      method: 'POST', path: '/containers/{id}/restart', handler: async (ctx) => {
        await b.restart(ctx.params.id, { signal: ctx.query.get('signal') || undefined, timeout: qInt(ctx.query, 't') });
        sendEmpty(ctx);
      },
    },
    {
      method: 'POST', path: '/containers/{id}/kill', handler: async (ctx) => {
        await b.kill(ctx.params.id, ctx.query.get('signal') || undefined);
        sendEmpty(ctx);
      },
    },
    { method: 'POST', path: '/containers/{id}/pause', handler: async (ctx) => { await b.pause(ctx.params.id); sendEmpty(ctx); } },
    { method: 'POST', path: '/containers/{id}/unpause', handler: async (ctx) => { await b.unpause(ctx.params.id); sendEmpty(ctx); } },
    {
      method: 'POST', path: '/containers/{id}/wait', handler: async (ctx) => {
        // The waiter is registered before the headers go out, so a `start` sent right after
        // the client sees them can never be missed (docker run's order: attach, wait, start).
        const p = b.wait(ctx.params.id, ctx.query.get('condition') ?? 'not-running');
        const res = startStream(ctx, 'application/json');
        const r = await Promise.race([p, new Promise<undefined>((resolve) => ctx.signal.addEventListener('abort', () => resolve(undefined), { once: true }))]);
        // Docker's WaitResponse: `Error` is omitempty, there only when the wait ended in one.
        if (r) res.end(JSON.stringify(r.Error ? r : { StatusCode: r.StatusCode }) + '\n'); else res.destroy();
      },
    },
    {
      // `{name:.*}` as Docker routes it: a link's name is `parent/alias`.
      method: 'DELETE', path: '/containers/{id*}', handler: async (ctx) => {
        if (qBool(ctx.query, 'link')) await b.removeLink(ctx.params.id);
        else await b.remove(ctx.params.id, { force: qBool(ctx.query, 'force'), volumes: qBool(ctx.query, 'v') });
        sendEmpty(ctx);
      },
    },
    {
      method: 'POST', path: '/containers/{id}/rename', handler: async (ctx) => {
        await b.rename(ctx.params.id, ctx.query.get('name') ?? '');
        sendEmpty(ctx);
      },
    },
    {
      method: 'POST', path: '/containers/{id}/resize', handler: async (ctx) => {
        await b.resize(ctx.params.id, qInt(ctx.query, 'h') ?? 0, qInt(ctx.query, 'w') ?? 0);
        sendEmpty(ctx, 200);
      },
    },
    { method: 'GET', path: '/containers/{id}/logs', handler: (ctx) => logs(ctx, b) },
    { method: 'POST', path: '/containers/{id}/attach', handler: (ctx) => attach(ctx, b) },
  ];
}

async function logs(ctx: Ctx, b: ContainersBackend): Promise<void> {
  const q = ctx.query;
  const stdout = qBool(q, 'stdout');
  const stderr = qBool(q, 'stderr');
  if (!stdout && !stderr) throw invalid('Bad parameters: you must choose at least one stream');
  const now = Date.now() / 1000;
  const since = q.get('since') && q.get('since') !== '0' ? BigInt(Math.floor(parseTimestamp(q.get('since')!, now) * 1e9)) : undefined;
  const until = q.get('until') && q.get('until') !== '0' ? BigInt(Math.floor(parseTimestamp(q.get('until')!, now) * 1e9)) : undefined;
  const tailRaw = q.get('tail') ?? 'all';
  const tail = tailRaw === 'all' || tailRaw === '' ? -1 : Number(tailRaw);
  if (!Number.isInteger(tail)) throw invalid(`invalid value for tail: ${tailRaw}`);
  const timestamps = qBool(q, 'timestamps');
  const { tty, entries } = b.logs(ctx.params.id, { stdout, stderr, sinceNs: since, untilNs: until, tail, follow: qBool(q, 'follow'), signal: ctx.signal });
  // Point of no return: from here, errors end the stream.
  // Docker names the multiplexed type from API 1.42 on; older clients get raw-stream either way.
  const res = startStream(ctx, !tty && apiAtLeast(ctx, '1.42') ? MULTIPLEXED_STREAM : RAW_STREAM);
  try {
    for await (const e of entries) {
      const data = timestamps ? Buffer.concat([Buffer.from(formatTimeNs(e.timeNs) + ' '), e.data]) : e.data;
      const ok = res.write(tty ? data : frame(e.stream, data));
      if (!ok) await new Promise((r) => res.once('drain', r));
      if (ctx.signal.aborted) break;
    }
  } finally {
    res.end();
  }
}

/** How long a hijacked attach waits between its 101 and a log replay (see below). */
const UPGRADE_SETTLE_MS = 20;

/**
 * POST /containers/{id}/attach, as moby's attach: validated (bad detachKeys 400, unknown 404,
 * paused or restarting 409), then the connection is taken over. `logs=1` replays the container's
 * log first; `stream=1` (not the default) then follows its live output, and stdin when asked and
 * the container has OpenStdin, until the container's output ends. The session also ends when
 * the client leaves, when it types the detach keys on a TTY (default ctrl-p ctrl-q; event
 * `detach`), or when its stdin ends, unless the container is StdinOnce without a TTY: then that
 * EOF reaches the container and the output runs on. Framing: multiplexed unless the container
 * has a TTY. The handler returns when the session is over.
 */
async function attach(ctx: Ctx, b: ContainersBackend): Promise<void> {
  const q = ctx.query;
  const stdin = qBool(q, 'stdin');
  const stdout = qBool(q, 'stdout');
  const stderr = qBool(q, 'stderr');
  const withLogs = qBool(q, 'logs');
  const stream = qBool(q, 'stream');
  const keySpec = q.get('detachKeys') ?? '';
  let keys: Uint8Array = new Uint8Array(0);
  if (keySpec) {
    try { keys = parseDetachKeys(keySpec); } catch { throw invalid(`Invalid detach keys (${keySpec}) provided`); }
  }
  const t = b.attachTarget(ctx.params.id);
  const tty = t.tty;
  await skipUpgradeBody(ctx);
  // Validated; now take the connection over. From here errors go into the stream.
  const h = hijack(ctx, !tty && apiAtLeast(ctx, '1.42') ? MULTIPLEXED_STREAM : RAW_STREAM);
  const write = (s: StreamKind, d: Buffer) => h.out.write(tty ? d : frame(s, d));
  let closed = false;
  let session: AttachSession | undefined;
  let outputEnded = false;
  // Live output waits here while the log is replayed (Docker's attach pipes buffer it likewise).
  let held: [StreamKind, Buffer][] | undefined = withLogs ? [] : undefined;
  let finished!: () => void;
  const over = new Promise<void>((r) => { finished = r; });
  const finish = (o: { keys?: boolean } = {}) => {
    if (closed) return;
    closed = true;
    session?.detach(o);
    h.end();
    finished();
  };
  // The client went away (its socket closed, or the response was cut).
  if (ctx.signal.aborted) finish(); else ctx.signal.addEventListener('abort', () => finish(), { once: true });
  try {
    if (stream && !closed) {
      session = await b.attach(t.id, {
        stdin: stdin && t.openStdin, stdout, stderr,
        onOutput: (s, d) => { if (closed) return; if (held) held.push([s, d]); else write(s, d); },
        onEnd: () => { outputEnded = true; if (!held) finish(); },
      });
      if (closed) session.detach();
    }
    if (withLogs && !closed) {
      const { entries } = b.logs(t.id, { stdout, stderr, tail: -1, follow: false, signal: ctx.signal });
      // docker-py reads the 101 through a buffered reader and then reads the raw socket: bytes
      // that arrive together with the headers are lost to it. Docker's own log read takes long
      // enough that they rarely do; the log, ready at once here, waits a moment instead.
      if (ctx.upgrade) await new Promise((r) => setTimeout(r, UPGRADE_SETTLE_MS));
      for await (const e of entries) {
        if (closed) break;
        if (!write(e.stream, e.data)) await new Promise((r) => h.out.once('drain', r));
      }
    }
  } catch (e) {
    // moby: "Error attaching: <err>" on the session's stdout, then the connection closes.
    if (!closed) write(1, Buffer.from(`Error attaching: ${e instanceof Error ? e.message : String(e)}\n`));
    finish();
    return over;
  }
  if (held) {
    const pending = held;
    held = undefined;
    for (const [s, d] of pending) if (!closed) write(s, d);
  }
  if (!stream || outputEnded) { finish(); return over; }
  if (session && stdin && t.openStdin) {
    const s = session;
    const scanner = tty ? new DetachScanner(keys) : undefined;
    h.input.on('data', (d: Buffer) => {
      if (closed) return;
      if (!scanner) { s.writeStdin(d); return; }
      const r = scanner.push(d);
      if (r.forward.length) s.writeStdin(r.forward);
      if (r.detached) finish({ keys: true });
    });
    // Only a hijacked connection has an end of stdin of its own (a plain request's body is not
    // the session's stdin stream: moby reads the raw connection, which the client keeps open).
    if (ctx.upgrade) {
      h.input.on('end', () => {
        if (closed) return;
        if (t.stdinOnce && !tty) s.closeStdin(); else finish();
      });
    }
  }
  // Safe to ignore: a client's socket error is also its close, which ends the session (the
  // 'close'/'end' handlers and ctx.signal); unhandled, the 'error' event would crash the daemon.
  h.input.on('error', () => {});
  h.input.resume();
  return over;
}
