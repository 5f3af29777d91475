// POST /containers/{id}/exec, POST /exec/{id}/start, POST /exec/{id}/resize, GET /exec/{id}/json:
// thin handlers over the ExecBackend (moby daemon/server/router/container/exec.go).
import { invalid, isEngineError } from '../../../common/errors.ts';
import { frame } from '../../../common/stdcopy.ts';
import type { ExecCreateOptions, ExecRecord, ExecSession } from '../../../engine/exec.ts';
import { apiAtLeast, hijack, MULTIPLEXED_STREAM, qInt, RAW_STREAM, readJsonBody, sendEmpty, sendJson, type Ctx } from '../../http.ts';
import { DetachScanner } from '../../../common/detach-keys.ts';
import type { Route } from '../../server.ts';
import type { ExecBackend } from './backend.ts';

/** GET /exec/{id}/json (spec: ExecInspectResponse), in Docker's field order. */
export function execInspectJson(e: ExecRecord): Record<string, unknown> {
  return {
    ID: e.id,
    Running: e.running,
    ExitCode: e.exitCode,
    // backend.ExecProcessConfig: `privileged` a pointer (always set), `user` omitempty.
    ProcessConfig: { tty: e.tty, entrypoint: e.entrypoint, arguments: e.args ?? [], privileged: e.privileged, ...(e.user ? { user: e.user } : {}) },
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

export function execRoutes(b: ExecBackend): Route[] {
  return [
    {
      method: 'POST', path: '/containers/{id}/exec', handler: async (ctx) => {
        const body = await readJsonBody<ExecCreateOptions>(ctx, { schema: 'ContainerExec' });
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('invalid JSON: exec config must be an object');
        if (!Array.isArray(body.Cmd) || body.Cmd.length === 0) throw invalid('No exec command specified');
        // ConsoleSize came with API 1.42.
        if (!apiAtLeast(ctx, '1.42')) body.ConsoleSize = null;
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

/**
 * POST /exec/{id}/start, as moby's: the framing of the stream follows the `Tty` of this request's
 * body (not the exec's own, which decides whether the process gets a terminal): multiplexed
 * without it; raw with it, stderr then dropped for a process without a terminal. `ConsoleSize`
 * here (API 1.42+, with `Tty`) overrides the one given at create. On a TTY session the detach
 * keys (the exec's, default ctrl-p ctrl-q) end the connection and leave the process running
 * (event exec_detach), as does the end of the client's stdin; without a TTY that end is EOF on
 * the process's stdin and its output runs on.
 */
async function start(ctx: Ctx, b: ExecBackend): Promise<void> {
  const body = await readJsonBody<{ Detach?: boolean; Tty?: boolean; ConsoleSize?: number[] | null }>(ctx, { optional: true, schema: 'ExecStart' });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('invalid JSON: exec start config must be an object');
  const framedTty = body.Tty === true;
  const cs = framedTty && apiAtLeast(ctx, '1.42') ? body.ConsoleSize : undefined;
  const consoleSize = Array.isArray(cs) && cs.length === 2 && cs.every((n) => Number.isInteger(n) && n > 0) ? { h: cs[0], w: cs[1] } : undefined;
  const s = b.begin(ctx.params.id);
  if (body.Detach) {
    await s.run(undefined, { consoleSize });
    sendEmpty(ctx, 200);
    return;
  }
  if (ctx.signal.aborted) { s.cancel(); return; }
  const procTty = s.tty;
  const rec = b.inspect(ctx.params.id);
  // Validated; now switch protocols (the point of no return: errors go into the stream).
  // Docker names the multiplexed type only on upgraded connections from API 1.42 on.
  const h = hijack(ctx, !framedTty && apiAtLeast(ctx, '1.42') ? MULTIPLEXED_STREAM : RAW_STREAM);
  let closed = false;
  const end = () => { if (!closed) { closed = true; h.end(); } };
  const write = (stream: 1 | 2, d: Buffer) => {
    if (closed) return;
    if (!framedTty) h.out.write(frame(stream, d));
    else if (stream === 1 || procTty) h.out.write(d);
  };
  let session: ExecSession;
  try {
    session = await s.run({ onOutput: write, onEnd: end }, { consoleSize });
  } catch (e) {
    // Docker writes the start error on the session's stdout and closes.
    write(1, Buffer.from(`${isEngineError(e) || e instanceof Error ? e.message : String(e)}\r\n`));
    end();
    return;
  }
  const leave = (o: { keys?: boolean } = {}) => { if (closed) return; session.detach(o); end(); };
  // The client went away: the process keeps running (Docker starts it detached from the request).
  const onAbort = () => { closed = true; session.detach(); };
  if (ctx.signal.aborted) onAbort(); else ctx.signal.addEventListener('abort', onAbort, { once: true });
  if (!rec.openStdin) {
    h.input.resume();
    return;
  }
  // Detach keys are the daemon's to find (the docker CLI sends them as typed), TTY only.
  const scanner = procTty ? new DetachScanner(rec.detachKeys) : undefined;
  h.input.on('data', (d: Buffer) => {
    if (closed) return;
    if (!scanner) { session.writeStdin(d); return; }
    const r = scanner.push(d);
    if (r.forward.length) session.writeStdin(r.forward);
    if (r.detached) leave({ keys: true });
  });
  // EOF from the client (half-close): EOF on the process's stdin and its output keeps flowing;
  // on a TTY the session ends instead (moby closes the output) and the process keeps its stdin.
  // A plain POST's body was read to its end already: nothing more will come; a TTY process is
  // left its stdin then.
  const onEof = () => {
    if (closed) return;
    if (!procTty) session.closeStdin();
    else if (ctx.upgrade) leave();
  };
  if (h.input.readableEnded) onEof(); else h.input.on('end', onEof);
  // Safe to ignore: a client's socket error is also its close, which ends the session (the
  // 'close'/'end' handlers and ctx.signal); unhandled, the 'error' event would crash the daemon.
  h.input.on('error', () => {});
  h.input.resume(); // reading the body paused the socket: a 'data' listener alone does not resume it
}
