// POST /containers/{id}/exec, POST /exec/{id}/start, POST /exec/{id}/resize, GET /exec/{id}/json:
// thin handlers over the ExecBackend (moby daemon/server/router/container/exec.go).
import { invalid, isEngineError } from '../../../common/errors.ts';
import { frame } from '../../../common/stdcopy.ts';
import type { ExecCreateOptions, ExecRecord, ExecSession } from '../../../engine/exec.ts';
import { hijack, qInt, readJsonBody, sendEmpty, sendJson, type Ctx } from '../../http.ts';
import type { Route } from '../../server.ts';
import type { ExecBackend } from './backend.ts';

/** Docker's default detach sequence (ctrl-p, ctrl-q) for a TTY session that named none. */
const DEFAULT_DETACH = Buffer.from([16, 17]);

/** GET /exec/{id}/json (spec: ExecInspectResponse), in Docker's field order. */
export function execInspectJson(e: ExecRecord): Record<string, unknown> {
  return {
    ID: e.id,
    Running: e.running,
    ExitCode: e.exitCode,
    ProcessConfig: { tty: e.tty, entrypoint: e.entrypoint, arguments: e.args, privileged: e.privileged, user: e.user },
    OpenStdin: e.openStdin,
    OpenStderr: e.openStderr,
    OpenStdout: e.openStdout,
    CanRemove: e.canRemove,
    ContainerID: e.containerId,
    // Go's []byte in JSON: base64.
    DetachKeys: e.detachKeys.toString('base64'),
    Pid: e.pid,
  };
}

function cmpVersion(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
}

export function execRoutes(b: ExecBackend): Route[] {
  return [
    {
      method: 'POST', path: '/containers/{id}/exec', handler: async (ctx) => {
        const body = await readJsonBody<ExecCreateOptions>(ctx, { schema: 'ContainerExec' });
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('invalid JSON: exec config must be an object');
        if (!Array.isArray(body.Cmd) || body.Cmd.length === 0) throw invalid('No exec command specified');
        // ConsoleSize came with API 1.42.
        if (cmpVersion(ctx.apiVersion, '1.42') < 0) body.ConsoleSize = null;
        sendJson(ctx, 201, await b.create(ctx.params.id, body));
      },
    },
    { method: 'POST', path: '/exec/{id}/start', handler: (ctx) => start(ctx, b) },
    {
      method: 'POST', path: '/exec/{id}/resize', handler: async (ctx) => {
        const h = qInt(ctx.query, 'h') ?? 0;
        const w = qInt(ctx.query, 'w') ?? 0;
        if (!Number.isInteger(h) || h < 0) throw invalid(`invalid resize height "${ctx.query.get('h')}"`);
        if (!Number.isInteger(w) || w < 0) throw invalid(`invalid resize width "${ctx.query.get('w')}"`);
        await b.resize(ctx.params.id, h, w);
        sendEmpty(ctx, 200);
      },
    },
    { method: 'GET', path: '/exec/{id}/json', handler: async (ctx) => sendJson(ctx, 200, execInspectJson(b.inspect(ctx.params.id))) },
  ];
}

async function start(ctx: Ctx, b: ExecBackend): Promise<void> {
  const body = await readJsonBody<{ Detach?: boolean; Tty?: boolean; ConsoleSize?: number[] | null }>(ctx, { optional: true, schema: 'ExecStart' });
  const s = b.begin(ctx.params.id);
  if (body.Detach) {
    await s.run();
    sendEmpty(ctx, 200);
    return;
  }
  if (ctx.signal.aborted) { s.cancel(); return; }
  const tty = s.tty;
  const rec = b.inspect(ctx.params.id);
  // Validated; now switch protocols (the point of no return: errors go into the stream).
  // Docker names the multiplexed type only on upgraded connections from API 1.42 on.
  const multiplexedType = !tty && ctx.upgrade && cmpVersion(ctx.apiVersion, '1.42') >= 0;
  const h = hijack(ctx, multiplexedType ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream');
  let closed = false;
  const end = () => { if (!closed) { closed = true; h.end(); } };
  const write = (stream: 1 | 2, d: Buffer) => { if (!closed) h.out.write(tty ? d : frame(stream, d)); };
  let session: ExecSession;
  try {
    session = await s.run({ onOutput: write, onEnd: end });
  } catch (e) {
    // Docker writes the start error on the session's stdout and closes.
    write(1, Buffer.from(`${isEngineError(e) || e instanceof Error ? e.message : String(e)}\r\n`));
    end();
    return;
  }
  // The client went away: the process keeps running (Docker starts it detached from the request).
  const onAbort = () => { closed = true; session.detach(); };
  if (ctx.signal.aborted) onAbort(); else ctx.signal.addEventListener('abort', onAbort, { once: true });
  if (!rec.openStdin) {
    h.input.resume();
    return;
  }
  // Detach keys are the daemon's to find (the docker CLI sends them as typed), TTY only.
  const keys = tty ? (rec.detachKeys.length ? rec.detachKeys : DEFAULT_DETACH) : undefined;
  let held = 0;
  h.input.on('data', (d: Buffer) => {
    if (closed) return;
    if (!keys) { session.writeStdin(d); return; }
    const out: number[] = [];
    for (const byte of d) {
      if (byte === keys[held]) {
        held++;
        if (held === keys.length) {
          if (out.length) session.writeStdin(Buffer.from(out));
          session.detach();
          end();
          return;
        }
        continue;
      }
      if (held) { out.push(...keys.subarray(0, held)); held = 0; }
      if (byte === keys[0]) { held = 1; if (keys.length === 1) { session.detach(); end(); return; } continue; }
      out.push(byte);
    }
    if (out.length) session.writeStdin(Buffer.from(out));
  });
  // EOF from the client (half-close): EOF on the process's stdin; its output keeps flowing.
  // (A plain POST's body was read to its end already: nothing more will come.)
  if (h.input.readableEnded) session.closeStdin();
  else h.input.on('end', () => { if (!closed) session.closeStdin(); });
  h.input.on('error', () => {});
  h.input.resume(); // reading the body paused the socket: a 'data' listener alone does not resume it
}
