// `berth exec`: POST /containers/{id}/exec, then POST /exec/{id}/start (hijacked unless -d),
// then GET /exec/{id}/json for the exit code (the process's own, as docker exits with it).
import type { OptionsOf, CONTAINER_COMMANDS } from '../spec.ts';
import { configDetachKeys } from '../credentials.ts';
import { ApiError, readAll } from '../../client/client.ts';
import { StatusError, type Ctx } from '../context.ts';
import { parseKeyValueFile, resolveEnv } from '../env-file.ts';
import { pumpStreams, rawTerminal, monitorTtySize } from '../stdio.ts';


export async function exec(ctx: Ctx, args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.exec>): Promise<number> {
  o.detachKeys ??= configDetachKeys();
  const [container, ...cmd] = args;
  const c = ctx.client;
  const tty = Boolean(o.tty);
  const interactive = Boolean(o.interactive);
  const detach = Boolean(o.detach);
  if (!detach && tty && interactive && !process.stdin.isTTY) throw new StatusError('the input device is not a TTY', 1);
  const env: string[] = [];
  for (const f of o.envFile ?? []) env.push(...parseKeyValueFile(f, 'env'));
  for (const e of o.env ?? []) env.push(resolveEnv(e));
  const consoleSize = tty && process.stdout.isTTY ? (([w, h]) => [h, w])(process.stdout.getWindowSize()) : undefined;
  const config = {
    User: o.user ?? '',
    Privileged: Boolean(o.privileged),
    Tty: tty,
    ConsoleSize: consoleSize,
    AttachStdin: interactive && !detach,
    AttachStderr: !detach,
    AttachStdout: !detach,
    Detach: detach,
    DetachKeys: o.detachKeys ?? '',
    Env: env.length ? env : null,
    WorkingDir: o.workdir ?? '',
    Cmd: cmd,
  };
  const created = await c.exec.create(container, config);
  const id = created.Id;
  if (detach) {
    await readAll(await c.exec.start(id, { Detach: true, Tty: tty, ConsoleSize: consoleSize }));
    return 0;
  }
  const h = await c.exec.startHijacked(id, { Detach: false, Tty: tty, ConsoleSize: consoleSize });
  const restore = tty && interactive ? rawTerminal() : () => {};
  if (tty) monitorTtySize((size) => c.exec.resize(id, size));
  let how;
  try {
    how = await pumpStreams(h.socket, { tty, stdin: interactive, detachKeys: o.detachKeys });
  } finally {
    restore();
  }
  // As docker exec: the detach sequence is reported as an error (exit 1); the process runs on.
  if (how === 'detached') throw new StatusError('read escape sequence', 1);
  try {
    const r = await c.exec.inspect(id);
    return r.ExitCode ?? 0;
  } catch (e) {
    if (e instanceof ApiError) throw new StatusError(`Error response from daemon: ${e.message}`, 1);
    throw e;
  }
}
