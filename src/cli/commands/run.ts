// run, create, start, attach: the container verbs that create and/or stream.
//
// Foreground `run` is the docker CLI's sequence, with the two requests that must be in place
// before the start sent together (both only wait for response headers):
//   POST /containers/create
//   POST /containers/{id}/attach?stream=1&stdout=1&stderr=1[&stdin=1]   (hijacked)
//   POST /containers/{id}/wait?condition=next-exit|removed               (headers only)
//   POST /containers/{id}/start
//   … stream until the output ends, then read the wait body → exit with its StatusCode.
import type { OptionsOf, CONTAINER_COMMANDS } from '../spec.ts';
import { writeFileSync, existsSync } from 'node:fs';
import type { Response as IncomingMessage } from '../../client/client.ts';
import { ApiError, readAll } from '../../client/client.ts';
import { authHeaderFor, configDetachKeys } from '../credentials.ts';
import { StatusError, type Ctx } from '../context.ts';
import { buildCreateRequest } from '../run-config.ts';
import { pumpStreams, rawTerminal, monitorTtySize, proxySignals } from '../stdio.ts';

/** run's flags are create's and two more: createContainer takes either. */
type CreateOpts = OptionsOf<typeof CONTAINER_COMMANDS.create>;

/** docker's reportError for run/create: `berth: MSG` plus the help hint. */
function runFailure(ctx: Ctx, e: unknown, status = 125): StatusError {
  if (e instanceof StatusError) return e;
  const msg = e instanceof ApiError ? `Error response from daemon: ${e.message}` : (e as Error).message;
  return new StatusError(`berth: ${msg}\n\nRun '${ctx.commandPath} --help' for more information`, status);
}

/** runStartContainerErr: the exit status a failed start maps to. */
export function startErrorStatus(message: string): number {
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(message)) return 127;
  if (/permission denied|is a directory|cannot invoke/i.test(message)) return 126;
  return 125;
}

/** `busybox` → `busybox:latest` (what docker's "Unable to find image" line shows). */
export function withDefaultTag(image: string): string {
  if (image.includes('@')) return image;
  const lastSlash = image.lastIndexOf('/');
  return image.slice(lastSlash + 1).includes(':') ? image : `${image}:latest`;
}

function splitRef(image: string): { fromImage: string; tag?: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { fromImage: image };
  const lastSlash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon > lastSlash) return { fromImage: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { fromImage: image, tag: 'latest' };
}

/** POST /images/create?fromImage=…, progress on `out` (stderr for run/create, as docker). */
export async function pullImage(ctx: Ctx, image: string, platform: string | undefined, quiet: boolean, out: NodeJS.WritableStream): Promise<void> {
  const { fromImage, tag } = splitRef(image);
  const res = await ctx.client.images.create({ fromImage, tag, platform }, { headers: authHeaderFor(fromImage) });
  // The pull's progress display loads only when an image is pulled.
  const { showProgress } = await import('./registry-client.ts');
  await showProgress(res, out, quiet);
}

interface Created { Id: string; Warnings?: string[] | null }

async function createContainer(ctx: Ctx, args: string[], o: CreateOpts, detached: boolean): Promise<{ created: Created; tty: boolean; attach: { stdin: boolean; stdout: boolean; stderr: boolean }; autoRemove: boolean; openStdin: boolean }> {
  let req;
  try {
    req = buildCreateRequest(args, o, ctx, detached);
  } catch (e) {
    // Option errors read like docker's: `berth: MSG` and the help hint (flag-syntax errors
    // already carry their usage block).
    if (e instanceof StatusError && !e.message.includes('\n')) throw runFailure(ctx, new Error(e.message), e.status);
    throw e;
  }
  const image = args[0];
  const pull = o.pull ?? 'missing';
  if (o.cidfile && existsSync(o.cidfile)) {
    throw runFailure(ctx, new Error(`container ID file found, make sure the other container isn't running or delete ${o.cidfile}`));
  }
  if (req.body.Tty && process.stdout.isTTY) {
    const [w, h] = process.stdout.getWindowSize();
    req.body.HostConfig.ConsoleSize = [h, w];
  }
  const c = ctx.client;
  if (pull === 'always') await pullImage(ctx, image, o.platform, Boolean(o.quiet), process.stderr);
  let created: Created;
  const createIt = () => c.containers.create(req.body, req.query);
  try {
    created = await createIt();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404 && pull === 'missing' && /no such image/i.test(e.message))) throw e;
    // As docker: say so, pull (progress on stderr), and create again.
    process.stderr.write(`Unable to find image '${withDefaultTag(image)}' locally\n`);
    try {
      await pullImage(ctx, image, o.platform, Boolean(o.quiet), process.stderr);
    } catch (pe) {
      if (pe instanceof StatusError) throw new StatusError(`berth: ${pe.message}\n\nRun 'berth ${ctx.commandPath.replace(/^berth /, '')} --help' for more information`, 125);
      throw pe;
    }
    created = await createIt();
  }
  for (const w of created.Warnings ?? []) process.stderr.write(`WARNING: ${w}\n`);
  if (o.cidfile) writeFileSync(o.cidfile, created.Id);
  return { created, tty: Boolean(req.body.Tty), attach: req.attach, autoRemove: Boolean(req.body.HostConfig.AutoRemove), openStdin: Boolean(req.body.OpenStdin) };
}

/** Reads a wait response: `{"StatusCode": N, "Error": {"Message": …}}`. */
async function waitResult(res: IncomingMessage): Promise<number> {
  const body = (await readAll(res)).toString();
  let parsed: { StatusCode?: number; Error?: { Message?: string } | null };
  try { parsed = JSON.parse(body); } catch { throw new StatusError(`Error waiting for container: ${body.trim() || 'unexpected end of stream'}`, 125); }
  if (parsed.Error?.Message) throw new StatusError(`Error waiting for container: ${parsed.Error.Message}`, 125);
  return parsed.StatusCode ?? 0;
}

/** docker create reports daemon errors as most verbs do ("Error response from daemon", exit 1). */
export async function create(ctx: Ctx, args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.create>): Promise<number> {
  const { created } = await createContainer(ctx, args, o, false);
  process.stdout.write(`${created.Id}\n`);
  return 0;
}

export async function run(ctx: Ctx, args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.run>): Promise<number> {
  o.detachKeys ??= configDetachKeys();
  const detached = Boolean(o.detach);
  if (detached && o.attach?.length) throw new StatusError('conflicting options: cannot specify both --attach and --detach', 1);
  const c = ctx.client;
  let info;
  try {
    if (!detached && o.tty && (o.interactive || o.attach?.some((a: string) => a.toLowerCase() === 'stdin')) && !process.stdin.isTTY) {
      throw new StatusError('the input device is not a TTY', 1);
    }
    info = await createContainer(ctx, args, o, detached);
  } catch (e) {
    throw runFailure(ctx, e);
  }
  const id = info.created.Id;

  if (detached) {
    try {
      await c.containers.start(id);
    } catch (e) {
      const msg = e instanceof ApiError ? e.message : (e as Error).message;
      throw runFailure(ctx, e, startErrorStatus(msg));
    }
    process.stdout.write(`${id}\n`);
    return 0;
  }

  const { tty, attach, autoRemove } = info;
  const withStdin = attach.stdin && info.openStdin;
  let attached;
  let waitRes: IncomingMessage;
  try {
    [attached, waitRes] = await Promise.all([
      c.containers.attach(id, { stream: true, stdin: withStdin, stdout: attach.stdout, stderr: attach.stderr, detachKeys: o.detachKeys }),
      c.containers.wait(id, { condition: autoRemove ? 'removed' : 'next-exit' }),
    ]);
  } catch (e) {
    throw runFailure(ctx, e);
  }
  // Stream from now on, before the start (as docker does): early output is not lost, and a
  // daemon that ends the stream quickly is seen ending.
  const restore = tty && withStdin ? rawTerminal() : () => {};
  const pumping = pumpStreams(attached.socket, { tty, stdin: withStdin, detachKeys: o.detachKeys });
  try {
    await c.containers.start(id);
  } catch (e) {
    restore();
    // The start failed and is what gets reported; the pump ends with the socket destroyed next.
    pumping.catch(() => {});
    attached.socket.destroy();
    const msg = e instanceof ApiError ? e.message : (e as Error).message;
    const failure = runFailure(ctx, e, startErrorStatus(msg));
    // With --rm the daemon removes the container after the failed start; wait for that as docker does.
    if (autoRemove) await waitResult(waitRes).catch(() => 0 /* only waited for the removal; the start error is reported */);
    else waitRes.destroy();
    throw failure;
  }
  return followAttached(c, id, { tty, sigProxy: o.sigProxy !== false, pumping, restore, waitRes });
}

/**
 * The end of an attached `run` or `start -a`: keep the TTY size and signals flowing to the
 * container, pump its streams until it ends (or the user detaches), then report its exit status.
 */
async function followAttached(
  c: Ctx['client'],
  id: string,
  o: { tty: boolean; sigProxy: boolean; pumping: Promise<'ended' | 'detached'>; restore: () => void; waitRes: Parameters<typeof waitResult>[0] },
): Promise<number> {
  if (o.tty) monitorTtySize((size) => c.containers.resize(id, size));
  if (o.sigProxy && !o.tty) proxySignals(c, id);
  let how: 'ended' | 'detached';
  try {
    how = await o.pumping;
  } finally {
    o.restore();
  }
  if (how === 'detached') return 0;
  return waitResult(o.waitRes);
}

interface InspectedContainer {
  Id: string;
  Config: { Tty: boolean; OpenStdin: boolean };
  HostConfig: { AutoRemove?: boolean };
  State: { Running: boolean; Paused: boolean; Restarting: boolean };
}

export async function start(ctx: Ctx, args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.start>): Promise<number> {
  o.detachKeys ??= configDetachKeys();
  const c = ctx.client;
  if (o.attach || o.interactive) {
    if (args.length > 1) throw new StatusError('you cannot start and attach multiple containers at once', 1);
    const ctr = await c.containers.inspect<InspectedContainer>(args[0]);
    const tty = ctr.Config.Tty;
    const withStdin = Boolean(o.interactive) && ctr.Config.OpenStdin;
    const [attached, waitRes] = await Promise.all([
      c.containers.attach(ctr.Id, { stream: true, stdin: withStdin, stdout: true, stderr: true, detachKeys: o.detachKeys }),
      c.containers.wait(ctr.Id, { condition: ctr.HostConfig.AutoRemove ? 'removed' : 'next-exit' }),
    ]);
    const restore = tty && withStdin ? rawTerminal() : () => {};
    const pumping = pumpStreams(attached.socket, { tty, stdin: withStdin, detachKeys: o.detachKeys });
    try {
      await c.containers.start(ctr.Id);
    } catch (e) {
      restore();
      // The start error is rethrown below; the pump ends with the socket destroyed next.
      pumping.catch(() => {});
      attached.socket.destroy();
      waitRes.destroy();
      throw e;
    }
    return followAttached(c, ctr.Id, { tty, sigProxy: true, pumping, restore, waitRes });
  }
  const failed: string[] = [];
  for (const name of args) {
    try {
      await c.containers.start(name);
      process.stdout.write(`${name}\n`);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      process.stderr.write(`Error response from daemon: ${e.message}\n`);
      failed.push(name);
    }
  }
  if (failed.length) throw new StatusError(`Error: failed to start containers: ${failed.join(', ')}`, 1);
  return 0;
}

export async function attach(ctx: Ctx, args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.attach>): Promise<number> {
  o.detachKeys ??= configDetachKeys();
  const c = ctx.client;
  const ctr = await c.containers.inspect<InspectedContainer>(args[0]);
  if (!ctr.State.Running) throw new StatusError('You cannot attach to a stopped container, start it first', 1);
  if (ctr.State.Paused) throw new StatusError('You cannot attach to a paused container, unpause it first', 1);
  if (ctr.State.Restarting) throw new StatusError('You cannot attach to a restarting container, wait until it is running', 1);
  const tty = ctr.Config.Tty;
  const withStdin = ctr.Config.OpenStdin && o.stdin !== false; // --no-stdin sets stdin=false
  const [attached, waitRes] = await Promise.all([
    c.containers.attach(ctr.Id, { stream: true, stdin: withStdin, stdout: true, stderr: true, detachKeys: o.detachKeys }),
    c.containers.wait(ctr.Id, { condition: 'not-running' }),
  ]);
  const restore = tty && withStdin ? rawTerminal() : () => {};
  if (tty && process.stdout.isTTY) {
    // As docker attach: one size off first, so the shell gets a SIGWINCH and redraws its
    // prompt even when the terminal has the size the container already has.
    const [w, h] = process.stdout.getWindowSize();
    if (h && w) await c.containers.resize(ctr.Id, { h: h + 1, w: w + 1 }).catch(() => { /* best effort: the redraw nudge only; the container may have just exited */ });
    monitorTtySize((size) => c.containers.resize(ctr.Id, size));
  }
  if (o.sigProxy !== false && !tty) proxySignals(c, ctr.Id);
  let how;
  try {
    how = await pumpStreams(attached.socket, { tty, stdin: withStdin, detachKeys: o.detachKeys });
  } finally {
    restore();
  }
  // docker attach reports the detach as its error (exit 1); run and start -ai do not.
  if (how === 'detached') throw new StatusError('read escape sequence', 1);
  return waitResult(waitRes);
}

export { waitResult };
