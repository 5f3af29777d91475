// Container verbs that act and report: stop, kill, restart, rm, pause, unpause, wait, rename,
// top, port, logs, prune. Multi-container verbs behave as docker's: each name is echoed as
// typed on success, each failure printed ("Error response from daemon: …"), exit 1 if any failed.
import type { OptionsOf, CONTAINER_COMMANDS } from '../spec.ts';
import { ApiError } from '../../client/client.ts';
import { demuxTo } from '../../client/streams.ts';
import { getTimestamp, humanSize } from '../../common/units.ts';
import { StatusError, type Ctx } from '../context.ts';
import { tabwrite } from '../format/tabwriter.ts';
import { encodeFilters } from '../filters.ts';
import { waitResult } from './run.ts';


/** Runs `act` per container, echoing names; returns 1 when any failed (errors already printed). */
async function forEach(names: string[], act: (name: string) => Promise<string | void>): Promise<number> {
  let failed = false;
  for (const name of names) {
    try {
      const shown = await act(name);
      process.stdout.write(`${shown ?? name}\n`);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      process.stderr.write(`Error response from daemon: ${e.message}\n`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

export async function stop(ctx: Ctx, args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.stop>): Promise<number> {
  const c = ctx.client;
  // Docker sends `t` only when -t was given (the container's StopTimeout applies otherwise).
  return forEach(args, (n) => c.containers.stop(n, { t: o.timeout, signal: o.signal }));
}

export async function restart(ctx: Ctx, args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.restart>): Promise<number> {
  const c = ctx.client;
  return forEach(args, (n) => c.containers.restart(n, { t: o.timeout, signal: o.signal }));
}

export async function kill(ctx: Ctx, args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.kill>): Promise<number> {
  const c = ctx.client;
  return forEach(args, (n) => c.containers.kill(n, { signal: o.signal }));
}

export async function rm(ctx: Ctx, args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.rm>): Promise<number> {
  const c = ctx.client;
  let failed = false;
  for (const name of args) {
    try {
      await c.containers.remove(name, { force: o.force, v: o.volumes, link: o.link });
      process.stdout.write(`${name}\n`);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      process.stderr.write(`Error response from daemon: ${e.message}\n`);
      // `rm -f` of something already gone still exits 0 (docker ignores NotFound with --force).
      if (!(o.force && e.status === 404)) failed = true;
    }
  }
  return failed ? 1 : 0;
}

export async function pause(ctx: Ctx, args: string[]): Promise<number> {
  const c = ctx.client;
  return forEach(args, (n) => c.containers.pause(n));
}

export async function unpause(ctx: Ctx, args: string[]): Promise<number> {
  const c = ctx.client;
  return forEach(args, (n) => c.containers.unpause(n));
}

export async function wait(ctx: Ctx, args: string[]): Promise<number> {
  const c = ctx.client;
  return forEach(args, async (n) => {
    const res = await c.containers.wait(n, { condition: 'not-running' });
    try {
      return String(await waitResult(res));
    } catch (e) {
      throw new ApiError(500, (e as Error).message.replace(/^Error waiting for container: /, ''));
    }
  });
}

export async function rename(ctx: Ctx, args: string[]): Promise<number> {
  const [oldName, newName] = args;
  if (!newName.trim()) throw new StatusError('Error: neither old nor new names may be empty', 1);
  try {
    await ctx.client.containers.rename(oldName, newName);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    throw new StatusError(`Error response from daemon: ${e.message}\nError: failed to rename container named ${oldName}`, 1);
  }
  return 0;
}

export async function top(ctx: Ctx, args: string[]): Promise<number> {
  const [name, ...psArgs] = args;
  const r = await ctx.client.containers.top(name, { ps_args: psArgs.length ? psArgs.join(' ') : undefined });
  let text = `${r.Titles.join('\t')}\n`;
  for (const p of r.Processes ?? []) text += `${p.join('\t')}\n`;
  // docker top's tabwriter has a minimum cell width of 20.
  process.stdout.write(tabwrite(text, { minWidth: 20 }));
  return 0;
}

/** `export`: the container's filesystem as a tar, to `-o FILE` or a redirected stdout (docker's rule). */
export async function exportCmd(ctx: Ctx, args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.export>): Promise<number> {
  const out = o.output as string | undefined;
  if (!out && process.stdout.isTTY) throw new StatusError('cowardly refusing to save to a terminal. Use the -o flag or redirect', 1);
  const res = await ctx.client.containers.export(args[0]);
  const { createWriteStream } = await import('node:fs');
  const { pipeline } = await import('node:stream/promises');
  await pipeline(res, out ? createWriteStream(out) : process.stdout);
  return 0;
}

/** `diff`: docker's letters for the change kinds (0 Modified, 1 Added, 2 Deleted). */
export async function diff(ctx: Ctx, args: string[]): Promise<number> {
  const r = await ctx.client.containers.changes(args[0]);
  process.stdout.write((r ?? []).map((c) => `${'CAD'[c.Kind] ?? '?'} ${c.Path}\n`).join(''));
  return 0;
}

export async function logs(ctx: Ctx, args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.logs>): Promise<number> {
  const c = ctx.client;
  const name = args[0];
  const ctr = await c.containers.inspect<{ Id: string; Config: { Tty: boolean } }>(name);
  const now = new Date();
  let since: string | undefined;
  let until: string | undefined;
  try {
    if (o.since) since = getTimestamp(o.since, now);
  } catch (e) {
    throw new StatusError(`invalid value for "since": ${(e as Error).message}`, 1);
  }
  try {
    if (o.until) until = getTimestamp(o.until, now);
  } catch (e) {
    throw new StatusError(`invalid value for "until": ${(e as Error).message}`, 1);
  }
  const res = await c.containers.logs(name, {
    stdout: 1, stderr: 1, follow: o.follow, timestamps: o.timestamps, details: o.details,
    tail: o.tail && o.tail !== 'all' ? o.tail : 'all', since, until,
  });
  if (ctr.Config.Tty) {
    await new Promise<void>((resolve, reject) => {
      res.on('data', (d: Buffer) => process.stdout.write(d));
      res.on('end', resolve);
      res.on('error', reject);
    });
  } else {
    await demuxTo(res, process.stdout, process.stderr);
  }
  return 0;
}

/** Asks docker's question on a terminal; anything but y/Y declines. */
export async function confirm(message: string): Promise<boolean> {
  process.stdout.write(`${message}\nAre you sure you want to continue? [y/N] `);
  const answer = await new Promise<string>((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) { process.stdin.off('data', onData); process.stdin.pause(); resolve(buf.slice(0, nl)); }
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', () => resolve(buf));
    process.stdin.resume();
  });
  return /^\s*y(es)?\s*$/i.test(answer);
}

export async function prune(ctx: Ctx, _args: string[], o: OptionsOf<typeof CONTAINER_COMMANDS.prune>): Promise<number> {
  if (!o.force && !(await confirm('WARNING! This will remove all stopped containers.'))) return 0;
  const r = await ctx.client.containers.prune({ filters: encodeFilters(o.filter, ctx, '--filter') });
  let out = '';
  if (r.ContainersDeleted?.length) out += `Deleted Containers:\n${r.ContainersDeleted.join('\n')}\n\n`;
  out += `Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0)}\n`;
  process.stdout.write(out);
  return 0;
}
