// `berth service create|ls|ps|inspect|logs|scale|update|rollback|rm`: docker CLI 28's requests,
// texts and exit codes. Specs are built by swarm-spec.ts, tables and the converge display by
// swarm-display.ts; this file does the requests and the waiting.
//
//   berth service create --name web --replicas 3 -p 8080:80 busybox httpd -f -h /www
//     <id>
//     overall progress: 3 out of 3 tasks
//     1/3: running   [==================================================>]
//     …
//     verify: Service <id> converged
//   berth service update --env-add A=1 --publish-add 9090:90 web
//   berth service scale web=5 api=2
import type { OptionsOf, SERVICE_COMMANDS } from '../spec.ts';
import { Writable } from 'node:stream';
import type { Node, Service, ServiceSpec, Task } from '../../api/types/swarm.ts';
import { ApiError } from '../../client/client.ts';
import { demuxTo } from '../../client/streams.ts';
import { getTimestamp } from '../../common/units.ts';
import { StatusError, removeEach, type Ctx, templateFailure } from '../context.ts';
import { encodeFilters } from '../filters.ts';
import { build } from './swarm.ts';
import { inspectObjects, taskTable, withFilter } from './nodes.ts';
import { anySpecFlag, parseNetwork, parseScaleArg, scaleSpec, serviceCreateSpec, serviceUpdateSpec, type ServiceFlags } from './swarm-spec.ts';
import {
  ConvergeProgress, formatLogLine, logContext, parseLogLine, progressBlock, renderServices, type LogLine,
} from './swarm-display.ts';

function warn(warnings: string[] | null | undefined): void {
  for (const w of warnings ?? []) process.stderr.write(`${w}\n`);
}

// ---------------------------------------------------------------------------------------------
// Waiting for convergence (docker's WaitOnService / progress.ServiceProgress)

export interface WaitOptions {
  quiet: boolean;
  /** Between polls (docker: 200 ms). */
  intervalMs?: number;
  out?: NodeJS.WriteStream;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls the service, its up-to-date tasks and the nodes until every desired task has been
 * running for the update monitor period (default 5 s), drawing docker's progress block on a
 * terminal (redrawn in place) or printing the final block otherwise. Update states end the
 * wait as docker's do: paused → error, rolled back → error, completed → done.
 */
export async function waitOnService(ctx: Ctx, serviceId: string, shownAs: string, o: WaitOptions): Promise<void> {
  const out = o.out ?? process.stdout;
  const tty = Boolean(out.isTTY);
  const width = () => out.columns ?? 80;
  const progress = new ConvergeProgress();
  let drawn = 0;
  const draw = () => {
    if (o.quiet || !tty) return;
    const text = progressBlock(progress.lines(), width());
    // Move up over the previous block, then rewrite every line (cleared first).
    let s = drawn ? `\x1b[${drawn}A` : '';
    for (const line of text.split('\n').slice(0, -1)) s += `\x1b[2K\r${line}\n`;
    out.write(s);
    drawn = progress.lines().length;
  };
  const finish = () => {
    if (o.quiet) return;
    if (tty) draw();
    else out.write(progressBlock(progress.lines(), width()));
  };

  let interrupted = false;
  const onInt = () => { interrupted = true; };
  process.once('SIGINT', onInt);
  try {
    let converged = false;
    let convergedAt = 0;
    let rollback = false;
    for (;;) {
      if (interrupted) {
        finish();
        if (!o.quiet) out.write(`Operation continuing in background.\nUse \`berth service ps ${serviceId}\` to check progress.\n`);
        return;
      }
      const service = await ctx.client.services.inspect(serviceId);
      const monitor = (service.Spec.UpdateConfig?.Monitor || 5e9) / 1e6;
      const us = service.UpdateStatus;
      switch (us?.State) {
        case 'updating': rollback = false; break;
        case 'completed': if (!converged) { finish(); return; } break;
        case 'paused': finish(); throw new StatusError(`service update paused: ${us.Message ?? ''}`, 1);
        case 'rollback_started':
          if (!rollback && us.Message) progress.set('rollback', us.Message);
          rollback = true;
          break;
        case 'rollback_paused': finish(); throw new StatusError(`service rollback paused: ${us.Message ?? ''}`, 1);
        case 'rollback_completed': if (!converged) { finish(); throw new StatusError(`service rolled back: ${us.Message ?? ''}`, 1); } break;
        default: break;
      }
      if (converged && Date.now() - convergedAt >= monitor) {
        progress.set('verify', `Service ${shownAs} converged`);
        finish();
        return;
      }
      const filters = JSON.stringify({ service: { [service.ID]: true }, '_up-to-date': { true: true } });
      const tasks: Task[] = await ctx.client.tasks.list({ filters });
      const nodes: Node[] = await ctx.client.nodes.list();
      const active = new Set(nodes.filter((n) => n.Status?.State !== 'down').map((n) => n.ID));
      converged = progress.update(service, tasks, active, rollback);
      if (converged) {
        if (!convergedAt) convergedAt = Date.now();
        const wait = monitor - (Date.now() - convergedAt);
        // docker: wait/time.Second+1, with wait a little under the monitor period by then.
        if (wait >= 0) progress.set('verify', `Waiting ${Math.max(1, Math.ceil(wait / 1000))} seconds to verify that tasks are stable...`);
      } else {
        if (convergedAt) progress.set('verify', 'Detected task failure');
        convergedAt = 0;
      }
      draw();
      await sleep(o.intervalMs ?? 200);
    }
  } finally {
    process.off('SIGINT', onInt);
  }
}

// ---------------------------------------------------------------------------------------------
// create

/** docker's image digest pinning: the registry's digest added to the familiar reference; when
 *  the registry cannot be asked, docker's warning and the image as given. */
export async function pinImage(ctx: Ctx, image: string): Promise<string> {
  try {
    const d = await ctx.client.images.distribution<{ Descriptor?: { digest?: string } }>(image);
    const digest = d?.Descriptor?.digest;
    if (!digest) return image;
    return image.includes('@') ? image : `${image}@${digest}`;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    process.stderr.write(`image ${image} could not be accessed on a registry to record\nits digest. Each node will access ${image} independently,\npossibly leading to different nodes running different\nversions of the image.\n`);
    return image;
  }
}

/**
 * docker's ParseSecrets / ParseConfigs: the references given by name get their object's ID,
 * looked up with one GET /<kind>s?filters={"name":…} (a name prefix filter; only exact names
 * count). Two file references to one target, or a name not found, fail before any change.
 */
export async function resolveObjectRefs(ctx: Ctx, spec: ServiceSpec): Promise<void> {
  const c = spec.TaskTemplate?.ContainerSpec as Record<string, unknown> | undefined;
  if (!c) return;
  for (const kind of ['secret', 'config'] as const) {
    const field = kind === 'secret' ? 'Secrets' : 'Configs';
    const [idKey, nameKey] = kind === 'secret' ? ['SecretID', 'SecretName'] : ['ConfigID', 'ConfigName'];
    const refs = (c[field] ?? []) as Record<string, any>[];
    const pending = refs.filter((r) => !r[idKey]);
    if (!pending.length) continue;
    const targets = new Set<string>();
    for (const r of pending) {
      const target = r.File?.Name;
      if (target === undefined) continue;
      if (targets.has(target)) throw new StatusError(`duplicate ${kind} target for ${r[nameKey]} not allowed`, 1);
      targets.add(target);
    }
    const filters = JSON.stringify({ name: Object.fromEntries(pending.map((r) => [r[nameKey], true])) });
    const found = new Map((await (kind === 'secret' ? ctx.client.secrets : ctx.client.configs).list({ filters })).map((o) => [o.Spec.Name, o.ID]));
    for (const r of pending) {
      const id = found.get(r[nameKey]);
      if (!id) throw new StatusError(`${kind} not found: ${r[nameKey]}`, 1);
      r[idKey] = id;
    }
  }
}

export async function create(ctx: Ctx, args: string[], o: OptionsOf<typeof SERVICE_COMMANDS.create>): Promise<number> {
  const spec = build(ctx, () => serviceCreateSpec(o as ServiceFlags, args));
  await resolveObjectRefs(ctx, spec);
  const c = spec.TaskTemplate!.ContainerSpec as { Image: string };
  // docker names networks by ID in the spec: each one looked up (swarm scope) first.
  for (const n of (spec.TaskTemplate!.Networks ?? []) as Array<{ Target: string }>) {
    n.Target = (await ctx.client.networks.inspect<{ Id: string }>(n.Target, { scope: 'swarm' })).Id;
  }
  if (o.resolveImage !== false) c.Image = await pinImage(ctx, c.Image);
  const r = await ctx.client.services.create(spec);
  warn(r.Warnings);
  process.stdout.write(`${r.ID}\n`);
  if (o.detach) return 0;
  await waitOnService(ctx, r.ID, r.ID, { quiet: Boolean(o.quiet) });
  return 0;
}

// ---------------------------------------------------------------------------------------------
// update, rollback, scale

export async function update(ctx: Ctx, args: string[], o: OptionsOf<typeof SERVICE_COMMANDS.update>): Promise<number> {
  const ref = args[0];
  const flags = o as ServiceFlags;
  if (o.rollback && anySpecFlag(flags)) throw new StatusError('other flags may not be combined with --rollback', 1);
  const svc = await ctx.client.services.inspect(ref);
  let spec: ServiceSpec = svc.Spec;
  if (!o.rollback) {
    spec = build(ctx, () => serviceUpdateSpec(svc.Spec, flags));
    await resolveObjectRefs(ctx, spec);
    const c = spec.TaskTemplate?.ContainerSpec as { Image?: string } | undefined;
    if (o.image !== undefined && o.resolveImage !== false && c?.Image) c.Image = await pinImage(ctx, c.Image);
    // docker's updateNetworks: the deprecated Spec.Networks move to the task template; each
    // --network-rm and --network-add is looked up (swarm scope) and matched by ID.
    if (flags.networkAdd?.length || flags.networkRm?.length) {
      const task = (spec.TaskTemplate ??= {}) as { Networks?: Array<{ Target: string }> };
      let nets = [...(task.Networks ?? (spec.Networks as Array<{ Target: string }> | undefined) ?? [])];
      delete spec.Networks;
      const idOf = async (ref: string) => (await ctx.client.networks.inspect<{ Id: string }>(ref, { scope: 'swarm' })).Id;
      for (const r of flags.networkRm ?? []) { const id = await idOf(r); nets = nets.filter((n) => n.Target !== id && n.Target !== r); }
      for (const a of flags.networkAdd ?? []) {
        const n = parseNetwork(a, '--network-add') as { Target: string };
        n.Target = await idOf(n.Target);
        if (nets.some((x) => x.Target === n.Target)) throw new StatusError(`service is already attached to network ${a}`, 1);
        nets.push(n);
      }
      if (nets.length) task.Networks = nets; else delete task.Networks;
    }
  }
  // docker 28 sends registryAuthFrom=spec in both cases (…&rollback=previous with --rollback).
  const q = o.rollback
    ? { registryAuthFrom: 'spec' as const, rollback: 'previous' as const, version: svc.Version.Index }
    : { registryAuthFrom: 'spec' as const, version: svc.Version.Index };
  const r = await ctx.client.services.update(svc.ID, q, spec);
  warn(r?.Warnings);
  process.stdout.write(`${ref}\n`);
  if (o.detach) return 0;
  await waitOnService(ctx, svc.ID, ref, { quiet: Boolean(o.quiet) });
  return 0;
}

export async function rollback(ctx: Ctx, args: string[], o: OptionsOf<typeof SERVICE_COMMANDS.rollback>): Promise<number> {
  const ref = args[0];
  const svc = await ctx.client.services.inspect(ref);
  const r = await ctx.client.services.update(svc.ID, { rollback: 'previous', version: svc.Version.Index }, svc.Spec);
  warn(r?.Warnings);
  process.stdout.write(`${ref}\n`);
  if (o.detach) return 0;
  await waitOnService(ctx, svc.ID, ref, { quiet: Boolean(o.quiet) });
  return 0;
}

export async function scale(ctx: Ctx, args: string[], o: OptionsOf<typeof SERVICE_COMMANDS.scale>): Promise<number> {
  const parsed = args.map(parseScaleArg);
  for (const p of parsed) if ('usage' in p) throw new StatusError(p.usage, 1);
  const errors: string[] = [];
  const scaled: Array<{ id: string; ref: string }> = [];
  for (const p of parsed) {
    if ('usage' in p) continue;
    if ('error' in p) { errors.push(`${p.service}: ${p.error}`); continue; }
    try {
      const svc = await ctx.client.services.inspect(p.service);
      const r = await ctx.client.services.update(svc.ID, { version: svc.Version.Index }, scaleSpec(svc.Spec, p.replicas));
      warn(r?.Warnings);
      process.stdout.write(`${p.service} scaled to ${p.replicas}\n`);
      scaled.push({ id: svc.ID, ref: p.service });
    } catch (e) {
      if (e instanceof ApiError) { errors.push(`${p.service}: Error response from daemon: ${e.message}`); continue; }
      if (e instanceof StatusError) { errors.push(`${p.service}: ${e.message}`); continue; }
      throw e;
    }
  }
  if (!o.detach) {
    for (const s of scaled) {
      try {
        await waitOnService(ctx, s.id, s.ref, { quiet: false });
      } catch (e) {
        if (e instanceof StatusError || e instanceof ApiError) { errors.push(`${s.ref}: ${e instanceof ApiError ? 'Error response from daemon: ' : ''}${e.message}`); continue; }
        throw e;
      }
    }
  }
  if (errors.length) throw new StatusError(errors.join('\n'), 1);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// ls, ps, inspect, rm, logs

export async function ls(ctx: Ctx, _args: string[], o: OptionsOf<typeof SERVICE_COMMANDS.ls>): Promise<number> {
  const services: Service[] = await ctx.client.services.list({ filters: encodeFilters(o.filter, ctx), status: true });
  let out: string;
  try {
    out = renderServices(services ?? [], o.format, Boolean(o.quiet));
  } catch (e) {
    templateFailure(e);
  }
  process.stdout.write(out);
  return 0;
}

export async function ps(ctx: Ctx, args: string[], o: OptionsOf<typeof SERVICE_COMMANDS.ps>): Promise<number> {
  const errors: string[] = [];
  let filters = (o.filter ?? []).filter((f) => f !== '');
  let found = 0;
  for (const ref of args) {
    try {
      const svc = await ctx.client.services.inspect(ref);
      filters = withFilter(filters, 'service', svc.ID);
      found++;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) { errors.push(`no such service: ${ref}`); continue; }
      throw e;
    }
  }
  if (found) {
    const tasks = await ctx.client.tasks.list({ filters: encodeFilters(filters, ctx) });
    process.stdout.write(await taskTable(ctx, tasks, o));
  }
  if (errors.length) throw new StatusError(errors.join('\n'), 1);
  return 0;
}

/** `service inspect` (with the daemon's defaults filled in, as docker asks). `--pretty` is not
 *  implemented. */
export async function inspect(ctx: Ctx, args: string[], o: OptionsOf<typeof SERVICE_COMMANDS.inspect>): Promise<number> {
  if (o.pretty) throw new StatusError('berth service inspect: --pretty is not supported; use --format', 1);
  return inspectObjects(ctx, args, o.format, (ref) => ctx.client.services.inspect(ref, { insertDefaults: true }));
}

export function rm(ctx: Ctx, args: string[]): Promise<number> {
  return removeEach(args, (ref) => ctx.client.services.remove(ref));
}

/** Rewrites each whole log line as docker's `service logs` prints it (context prefix). */
class LogLineWriter extends Writable {
  #partial = '';
  readonly #format: (line: string) => Promise<string>;
  readonly #out: NodeJS.WritableStream;
  constructor(out: NodeJS.WritableStream, format: (line: string) => Promise<string>) {
    super();
    this.#out = out;
    this.#format = format;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const text = this.#partial + chunk.toString();
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    this.#emit(lines).then(() => cb(), cb);
  }
  override _final(cb: (e?: Error | null) => void): void {
    const rest = this.#partial;
    this.#partial = '';
    this.#emit(rest ? [rest] : []).then(() => cb(), cb);
  }
  async #emit(lines: string[]): Promise<void> {
    for (const l of lines) this.#out.write(`${await this.#format(l)}\n`);
  }
}

/**
 * `service logs SERVICE|TASK`: the log stream with docker's `web.1.abc123def456@node1    | `
 * context before each line (from the details the daemon adds: com.docker.swarm.*.id), or the
 * lines as sent with --raw. A line without that context is printed as it came.
 */
export async function logs(ctx: Ctx, args: string[], o: OptionsOf<typeof SERVICE_COMMANDS.logs>): Promise<number> {
  const c = ctx.client;
  const ref = args[0];
  let since: string | undefined;
  try {
    if (o.since) since = getTimestamp(o.since, new Date());
  } catch (e) {
    throw new StatusError(`invalid value for "since": ${(e as Error).message}`, 1);
  }
  const query = {
    stdout: 1, stderr: 1, follow: o.follow, timestamps: o.timestamps, tail: o.tail || 'all', since,
    details: Boolean(o.details) || !o.raw,
  };
  // A service first, else a task (docker tries both).
  let tty = false;
  let padding = 1;
  let res;
  try {
    const svc = await c.services.inspect(ref);
    tty = Boolean((svc.Spec.TaskTemplate?.ContainerSpec as { TTY?: boolean } | undefined)?.TTY);
    const replicas = svc.Spec.Mode?.Replicated?.Replicas;
    if (replicas !== undefined) padding = String(replicas).length;
    res = await c.services.logs(svc.ID, query);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
    let task: Task;
    try {
      task = await c.tasks.inspect(ref);
    } catch (e2) {
      if (e2 instanceof ApiError && e2.status === 404) throw new StatusError(`no such task or service: ${ref}`, 1);
      throw e2;
    }
    tty = Boolean((task.Spec?.ContainerSpec as { TTY?: boolean } | undefined)?.TTY);
    res = await c.tasks.logs(task.ID, query);
  }

  if (tty) {
    await new Promise<void>((resolveDone, reject) => {
      res.on('data', (d: Buffer) => process.stdout.write(d));
      res.on('end', resolveDone);
      res.on('error', reject);
    });
    return 0;
  }
  if (o.raw) {
    await demuxTo(res, process.stdout, process.stderr);
    return 0;
  }
  // Names are looked up once per (node, service, task).
  const cache = new Map<string, Promise<string>>();
  const context = (l: LogLine): Promise<string> => {
    const key = `${l.nodeId}/${l.serviceId}/${l.taskId}`;
    let p = cache.get(key);
    if (!p) {
      p = (async () => {
        const name = async <T>(f: () => Promise<T>, pick: (v: T) => string | undefined, fallback: string) => {
          if (o.resolve === false) return fallback;
          try { return pick(await f()) || fallback; } catch (e) { if (e instanceof ApiError) return fallback; throw e; }
        };
        const nodeName = await name(() => c.nodes.inspect(l.nodeId), (n) => n.Description?.Hostname, l.nodeId);
        const serviceName = await name(() => c.services.inspect(l.serviceId), (s) => s.Spec.Name, l.serviceId);
        let slot = 0;
        try { slot = (await c.tasks.inspect(l.taskId)).Slot ?? 0; } catch (e) { if (!(e instanceof ApiError)) throw e; }
        return logContext({ serviceName, slot, taskId: l.taskId, nodeName, taskIds: o.taskIds !== false, trunc: o.trunc !== false, padding });
      })();
      cache.set(key, p);
    }
    return p;
  };
  const format = async (line: string) => {
    const l = parseLogLine(line, Boolean(o.timestamps));
    return l ? formatLogLine(l, await context(l), Boolean(o.details)) : line;
  };
  const out = new LogLineWriter(process.stdout, format);
  const err = new LogLineWriter(process.stderr, format);
  await demuxTo(res, out, err);
  await Promise.all([out, err].map((w) => new Promise<void>((r, j) => { w.end(); w.once('finish', r); w.once('error', j); })));
  return 0;
}
