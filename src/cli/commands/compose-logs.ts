// `berth compose logs [SERVICE...]`: every service container's log, each line prefixed with the
// container's name without the project (`web-1  | `) in its colour, as compose v2 prints them
// (pkg/compose/logs.go). Both of a container's streams go to stdout, as compose does.
//
//   berth compose logs                         all services' logs so far, then exit
//   berth compose logs -f --tail 10 web        the last 10 lines of web's containers, then follow:
//                                              a container that starts later is followed from its
//                                              start, one that stops prints `web-1 exited with code N`;
//                                              the command ends when every container has exited
//   berth compose logs --no-log-prefix -t db   bare lines with the engine's timestamps
import type { OptionsOf, COMPOSE_COMMANDS } from '../spec.ts';
import type { Readable } from 'node:stream';
import { ApiError, type ApiClient } from '../../client/client.ts';
import { Demuxer } from '../../common/stdcopy.ts';
import { getTimestamp } from '../../common/units.ts';
import { ComposeError } from '../../compose/errors.ts';
import { LineSplitter, LogPrinter } from '../../compose/log-printer.ts';
import type { ContainerSummary } from '../../compose/runtime/api.ts';
import { monitor } from '../../compose/runtime/attached.ts';
import { getContainers, getSpecifiedContainer, isService, nameWithoutProject } from '../../compose/runtime/containers.ts';
import { StatusError, type Ctx } from '../context.ts';
import { projectOrName, session } from './compose-common.ts';


export interface LogOptions {
  follow: boolean;
  tail: string;
  since?: string;
  until?: string;
  timestamps: boolean;
  signal?: AbortSignal;
}

/** Streams one container's log into the printer, line by line, until the engine ends it. */
export async function logContainer(client: ApiClient, lp: LogPrinter, name: string, id: string, o: LogOptions): Promise<void> {
  const ctr = await client.containers.inspect<{ Config: { Tty?: boolean } }>(id);
  let res: Readable;
  try {
    res = await client.containers.logs(id, { stdout: 1, stderr: 1, follow: o.follow, since: o.since, until: o.until, tail: o.tail || 'all', timestamps: o.timestamps }, { signal: o.signal });
  } catch (e) {
    if (e instanceof ApiError && e.status === 501) {
      process.stderr.write(`WARN[0000] Can't retrieve logs for ${JSON.stringify(name)}: ${e.message}\n`);
      return;
    }
    throw e;
  }
  const lines = new LineSplitter((l) => lp.log(name, l));
  const demux = ctr.Config.Tty ? undefined : new Demuxer((stream, payload) => {
    if (stream === 3) throw new ComposeError(payload.toString().trim());
    lines.write(payload);
  });
  try {
    for await (const chunk of res) {
      if (demux) demux.push(chunk as Buffer);
      else lines.write(chunk as Buffer);
    }
  } catch (e) {
    if ((e as Error).name !== 'AbortError' && !o.signal?.aborted) throw e;
  }
  lines.end();
}

export async function logs(ctx: Ctx, args: string[], o: OptionsOf<typeof COMPOSE_COMMANDS.logs>): Promise<number> {
  const { s: sess, ui } = session(ctx, { readOnly: true });
  const index = o.index ?? 0;
  if (index > 0 && args.length !== 1) throw new StatusError('--index requires one service to be selected', 1);
  const { project, name } = projectOrName(ctx, args);
  let services = args;
  if (project && services.length === 0) {
    services = Object.keys(project.services).filter((s) => project.services[s].attach !== false).sort();
  }
  const now = new Date();
  const time = (flag: string, v: string | undefined) => {
    if (!v) return undefined;
    try { return getTimestamp(v, now); } catch (e) { throw new StatusError(`invalid value for "${flag}": ${(e as Error).message}`, 1); }
  };
  const lo: LogOptions = {
    follow: Boolean(o.follow), tail: o.tail ?? 'all', since: time('since', o.since), until: time('until', o.until), timestamps: Boolean(o.timestamps),
  };
  let containers: ContainerSummary[];
  if (index > 0) containers = [await getSpecifiedContainer(sess.api, name, 'exclude', true, services[0], index)];
  else {
    containers = await getContainers(sess.api, name, 'exclude', true, services);
    if (services.length) containers = containers.filter(isService(...services));
  }
  const lp = new LogPrinter({ stdout: process.stdout, stderr: process.stderr, color: o.color !== false && ui.logColor, prefix: o.logPrefix !== false });
  // Every name known before the first line: the prefixes share one width from the start.
  for (const c of containers) lp.register(nameWithoutProject(c));
  const ac = new AbortController();
  const streams: Promise<void>[] = containers.map((c) => logContainer(ctx.client, lp, nameWithoutProject(c), c.Id, { ...lo, signal: ac.signal }));
  if (lo.follow) {
    // compose's monitor: a container that starts is followed from its start; an exit is printed;
    // done when every container has exited.
    streams.push(monitor(sess, name, services, async (e) => {
      if (e.type === 'exited') lp.status(e.source, `exited with code ${e.exitCode}${e.restarting ? ' (restarting)' : ''}`);
      if (e.type !== 'started') return;
      // Removed already (a one-shot container with --rm): nothing to follow.
      const i = await sess.api.inspectContainer(e.id).catch(() => undefined /* gone: nothing to follow */);
      if (i?.State.StartedAt) streams.push(logContainer(ctx.client, lp, e.source, e.id, { ...lo, since: String(Math.floor(Date.parse(i.State.StartedAt) / 1000)), signal: ac.signal }));
    }, ac.signal));
  }
  // New streams join the list while it is awaited: wait until no more come.
  for (let i = 0; i < streams.length; i++) await streams[i];
  return 0;
}
