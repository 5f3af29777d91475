// `berth stack deploy|ls|ps|services|rm`: docker CLI 28's swarm stacks over the Engine API. The
// compose files are read by berth's compose loader (src/compose/load.ts) and turned into service
// specs and network bodies by src/compose/stack/convert.ts; this file does the requests.
//
//   berth stack deploy -c compose.yaml shop
//     Creating network shop_default
//     Creating secret shop_pw            (top-level secrets and configs; an existing one gets its labels updated)
//     Creating service shop_web
//   berth stack services shop          (service ls filtered by com.docker.stack.namespace=shop)
//   berth stack rm shop
//     Removing service shop_web
//     Removing network shop_default
//
// Unlike docker, a service whose spec has not changed is not updated on a second deploy (docker
// posts every service again; swarmkit then bumps the version of an identical spec).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { OptionsOf, STACK_COMMANDS } from '../spec.ts';
import type { Service, ServiceSpec, SwarmInfo, Task } from '../../api/types/swarm.ts';
import { ApiError } from '../../client/client.ts';
import { loadProject } from '../../compose/load.ts';
import { convertStack, IMAGE_LABEL, LOAD_NAME, NAMESPACE_LABEL, type ObjectCreate } from '../../compose/stack/convert.ts';
import { authHeaderFor } from '../credentials.ts';
import { StatusError, type Ctx, templateFailure } from '../context.ts';
import { encodeFilters } from '../filters.ts';
import { renderList } from '../format/formatter.ts';
import { taskTable, withFilter } from './nodes.ts';
import { pinImage, resolveObjectRefs, waitOnService } from './services.ts';
import { renderServices } from './swarm-display.ts';

const nsFilter = (stack: string) => encodeFilters([`label=${NAMESPACE_LABEL}=${stack}`]);

/** docker's checkDaemonIsSwarmManager. */
async function checkManager(ctx: Ctx): Promise<void> {
  const info = await ctx.client.system.info<{ Swarm?: SwarmInfo & { ControlAvailable?: boolean } }>();
  if (!info.Swarm?.ControlAvailable) {
    throw new StatusError('this node is not a swarm manager. Use "berth swarm init" or "berth swarm join" to connect this node to swarm and try again', 1);
  }
}

/**
 * A spec without what the manager fills in (Runtime "container", endpoint mode "vip") and with
 * network targets by name (a stored spec has their IDs), so a stored and a posted one compare.
 */
function asPosted(spec: ServiceSpec, netNames: Map<string, string>): ServiceSpec {
  const s = structuredClone(spec) as ServiceSpec & { TaskTemplate?: { Runtime?: string; Networks?: Array<{ Target: string }> }; EndpointSpec?: { Mode?: string } };
  if (s.TaskTemplate?.Runtime === 'container') delete s.TaskTemplate.Runtime;
  for (const n of s.TaskTemplate?.Networks ?? []) n.Target = netNames.get(n.Target) ?? n.Target;
  if (s.EndpointSpec?.Mode === 'vip') delete s.EndpointSpec.Mode;
  return s;
}

function sameSpec(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** Key-sorted, without null/undefined/empty-object members: a daemon may echo either. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const c = canonical((v as Record<string, unknown>)[k]);
      if (c === undefined || c === null) continue;
      if (typeof c === 'object' && !Array.isArray(c) && Object.keys(c).length === 0 && k !== 'Global') continue;
      out[k] = c;
    }
    return out;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// deploy

export async function deploy(ctx: Ctx, args: string[], o: OptionsOf<typeof STACK_COMMANDS.deploy>): Promise<number> {
  const stack = args[0];
  const files = o.composeFile ?? [];
  const resolveImage = o.resolveImage ?? 'always';
  if (!['always', 'changed', 'never'].includes(resolveImage)) throw new StatusError(`Invalid option ${resolveImage} for flag --resolve-image`, 1);
  if (files.length === 0) throw new StatusError('Specify a Compose file (with --compose-file)', 1);
  await checkManager(ctx);

  // docker's stack loader: the first file's directory is the project's, the process environment
  // interpolates (no .env), and the stack name (not `name:`) scopes everything.
  const first = files[0] === '-' ? process.cwd() : dirname(resolve(files[0]));
  const project = loadProject({
    files: files.map((f) => (f === '-' ? { filename: '-', content: readFileSync(0, 'utf8') } : { filename: resolve(f) })),
    workingDir: first,
    environment: Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined)),
    projectName: { name: LOAD_NAME, explicit: true },
    // docker creates every top-level secret and config, used or not.
    allResources: true,
    warn: (m) => process.stderr.write(`${m}\n`),
  });
  const spec = convertStack(project, stack);
  if (spec.notSupported.length) throw new StatusError(`berth stack deploy: secret drivers and templating are not supported (${spec.notSupported.join(', ')})`, 1);
  // `environment:` (compose's; docker's stack schema has no such key): an unset variable is
  // refused before any request rather than sent as empty data.
  for (const [kind, list] of [['secret', spec.secrets], ['config', spec.configs]] as const) {
    for (const o of list) if (o.file === undefined && objectContent(o) === undefined) throw new StatusError(`${kind} ${o.Name}: environment variable ${o.environment ?? ''} is not set`, 1);
  }
  if (spec.unsupported.length) process.stderr.write(`Ignoring unsupported options: ${spec.unsupported.join(', ')}\n\n`);
  if (spec.deprecated.length) {
    process.stderr.write('Ignoring deprecated options:\n\n');
    for (const [k, why] of spec.deprecated) process.stderr.write(`${k}: ${why}\n\n`);
  }
  const detach = o.detach ?? true;
  if (o.detach === undefined) {
    process.stderr.write('Since --detach=false was not specified, tasks will be created in the background.\nIn a future release, --detach=false will become the default.\n');
  }

  const c = ctx.client;
  const filters = nsFilter(stack);
  const wanted = new Set(Object.values(spec.services).map((s) => s.Name));
  if (o.prune) {
    for (const s of (await c.services.list({ filters })).sort((a, b) => (a.Spec.Name! < b.Spec.Name! ? -1 : 1))) {
      if (wanted.has(s.Spec.Name)) continue;
      process.stdout.write(`Removing service ${s.Spec.Name}\n`);
      try {
        await c.services.remove(s.ID);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        process.stderr.write(`Failed to remove service ${s.ID}: ${e.message}\n`);
      }
    }
  }

  for (const name of spec.externalNetworks) {
    let n: { Scope?: string };
    try {
      n = await c.networks.inspect<{ Scope?: string }>(name);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) throw new StatusError(`network "${name}" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed`, 1);
      throw e;
    }
    if (n.Scope !== 'swarm') throw new StatusError(`network "${name}" is declared as external, but it is not in the right scope: "${n.Scope}" instead of "swarm"`, 1);
  }

  const existingNets = new Set((await c.networks.list<{ Name: string }>({ filters })).map((n) => n.Name));
  for (const n of spec.networks) {
    if (existingNets.has(n.Name)) continue;
    process.stdout.write(`Creating network ${n.Name}\n`);
    try {
      await c.networks.create(n);
    } catch (e) {
      if (e instanceof ApiError) throw new StatusError(`failed to create network ${n.Name}: Error response from daemon: ${e.message}`, 1);
      throw e;
    }
  }

  await createObjects(ctx, 'secret', spec.secrets);
  await createObjects(ctx, 'config', spec.configs);
  // docker's convert.Services: the references' IDs, looked up now that the objects exist; an
  // external one that does not gets "service web: secret not found: x" before any service changes.
  for (const key of Object.keys(spec.services).sort()) {
    try {
      await resolveObjectRefs(ctx, spec.services[key]);
    } catch (e) {
      if (e instanceof StatusError) throw new StatusError(`service ${key}: ${e.message}`, 1);
      throw e;
    }
  }

  const existing = new Map((await c.services.list({ filters })).map((s) => [s.Spec.Name, s] as const));
  const netNames = existing.size ? new Map((await c.networks.list<{ Id: string; Name: string }>()).map((n) => [n.Id, n.Name] as const)) : new Map<string, string>();
  const touched: Array<{ id: string; name: string }> = [];
  for (const key of Object.keys(spec.services).sort()) {
    const s: ServiceSpec = spec.services[key];
    const name = s.Name!;
    const cur = existing.get(name);
    const container = s.TaskTemplate!.ContainerSpec as { Image: string };
    const headers = o.withRegistryAuth ? authHeaderFor(container.Image) : undefined;
    // docker's --resolve-image: `changed` keeps the pinned image of a service whose image the
    // file did not change (its com.docker.stack.image label).
    if (resolveImage === 'always' || (resolveImage === 'changed' && (!cur || cur.Spec.Labels?.[IMAGE_LABEL] !== s.Labels?.[IMAGE_LABEL]))) {
      container.Image = await pinImage(ctx, container.Image);
    } else if (resolveImage === 'changed' && cur) {
      container.Image = (cur.Spec.TaskTemplate?.ContainerSpec as { Image?: string } | undefined)?.Image ?? container.Image;
    }
    if (cur) {
      // docker keeps the service's force-update counter, and its replicas when the file sets none.
      s.TaskTemplate!.ForceUpdate = cur.Spec.TaskTemplate?.ForceUpdate ?? 0;
      if (s.Mode?.Replicated && s.Mode.Replicated.Replicas === undefined && cur.Spec.Mode?.Replicated?.Replicas !== undefined) {
        s.Mode.Replicated.Replicas = cur.Spec.Mode.Replicated.Replicas;
      }
      if (sameSpec(asPosted(s, netNames), asPosted(cur.Spec, netNames))) continue;
      process.stdout.write(`Updating service ${name} (id: ${cur.ID})\n`);
      let r;
      try {
        r = await c.services.update(cur.ID, { version: cur.Version.Index }, s, headers ? { headers } : {});
      } catch (e) {
        if (e instanceof ApiError) throw new StatusError(`failed to update service ${name}: Error response from daemon: ${e.message}`, 1);
        throw e;
      }
      for (const w of r?.Warnings ?? []) process.stderr.write(`${w}\n`);
      touched.push({ id: cur.ID, name });
    } else {
      process.stdout.write(`Creating service ${name}\n`);
      let r;
      try {
        r = await c.services.create(s, headers ? { headers } : {});
      } catch (e) {
        if (e instanceof ApiError) throw new StatusError(`failed to create service ${name}: Error response from daemon: ${e.message}`, 1);
        throw e;
      }
      for (const w of r.Warnings ?? []) process.stderr.write(`${w}\n`);
      touched.push({ id: r.ID, name });
    }
  }
  if (detach) return 0;
  const errors: string[] = [];
  for (const t of touched) {
    try {
      await waitOnService(ctx, t.id, t.name, { quiet: Boolean(o.quiet) });
    } catch (e) {
      if (!(e instanceof StatusError) && !(e instanceof ApiError)) throw e;
      errors.push(`${t.name}: ${e.message}`);
    }
  }
  if (errors.length) throw new StatusError(`failed to wait on services:\n${errors.join('\n')}`, 1);
  return 0;
}

/** The data given in the file (`content:`) or by the variable `environment:` names (the environment the loader read). */
function objectContent(o: ObjectCreate): string | undefined {
  return o.content ?? (o.environment !== undefined ? process.env[o.environment] : undefined);
}

/**
 * docker's createSecrets / createConfigs: inspect by name; a missing one is created ("Creating
 * secret x"), an existing one updated with the whole spec (silently, as docker: the manager takes
 * label changes and refuses a data change with "only updates to Labels are allowed").
 */
async function createObjects(ctx: Ctx, kind: 'secret' | 'config', objects: ObjectCreate[]): Promise<void> {
  const api = kind === 'secret' ? ctx.client.secrets : ctx.client.configs;
  for (const o of objects) {
    let data: Buffer;
    try {
      data = o.file !== undefined ? readFileSync(o.file) : Buffer.from(objectContent(o) ?? '');
    } catch (e) {
      throw new StatusError(`open ${o.file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`, 1);
    }
    const body = { Name: o.Name, Labels: o.Labels, Data: data.toString('base64') };
    let cur: { ID: string; Version: { Index: number } } | undefined;
    try {
      cur = await api.inspect(o.Name);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
    }
    try {
      if (cur) {
        await api.update(cur.ID, cur.Version.Index, body);
      } else {
        process.stdout.write(`Creating ${kind} ${o.Name}\n`);
        await api.create(body);
      }
    } catch (e) {
      if (e instanceof ApiError) throw new StatusError(`failed to ${cur ? 'update' : 'create'} ${kind} ${o.Name}: Error response from daemon: ${e.message}`, 1);
      throw e;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// ls, services, ps

export async function ls(ctx: Ctx, _args: string[], o: OptionsOf<typeof STACK_COMMANDS.ls>): Promise<number> {
  const services = await ctx.client.services.list({ filters: encodeFilters([`label=${NAMESPACE_LABEL}`]) });
  const counts = new Map<string, number>();
  for (const s of services) {
    const ns = s.Spec.Labels?.[NAMESPACE_LABEL];
    if (ns !== undefined) counts.set(ns, (counts.get(ns) ?? 0) + 1);
  }
  const rows = [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([Name, n]) => ({ Name, Services: String(n) }));
  let out: string;
  try {
    out = renderList(o.format, 'table {{.Name}}\t{{.Services}}', rows, { Name: 'NAME', Services: 'SERVICES' });
  } catch (e) {
    templateFailure(e);
  }
  process.stdout.write(out);
  return 0;
}

export async function services(ctx: Ctx, args: string[], o: OptionsOf<typeof STACK_COMMANDS.services>): Promise<number> {
  const stack = args[0];
  const filters = encodeFilters(withFilter(o.filter, 'label', `${NAMESPACE_LABEL}=${stack}`), ctx);
  const list: Service[] = await ctx.client.services.list({ filters, status: true });
  if (!list?.length) {
    if (!o.quiet) process.stderr.write(`Nothing found in stack: ${stack}\n`);
    return 0;
  }
  let out: string;
  try {
    out = renderServices(list, o.format, Boolean(o.quiet));
  } catch (e) {
    templateFailure(e);
  }
  process.stdout.write(out);
  return 0;
}

export async function ps(ctx: Ctx, args: string[], o: OptionsOf<typeof STACK_COMMANDS.ps>): Promise<number> {
  const stack = args[0];
  const filters = encodeFilters(withFilter(o.filter, 'label', `${NAMESPACE_LABEL}=${stack}`), ctx);
  const tasks: Task[] = await ctx.client.tasks.list({ filters });
  if (!tasks?.length) throw new StatusError(`nothing found in stack: ${stack}`, 1);
  process.stdout.write(await taskTable(ctx, tasks, o));
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rm

type Named = { ID: string; Spec: { Name?: string } };
const byName = (a: Named, b: Named) => ((a.Spec.Name ?? '') < (b.Spec.Name ?? '') ? -1 : 1);

/** docker's stack rm: each stack's services, then networks, secrets and configs, by the namespace label. */
export async function rm(ctx: Ctx, args: string[], o: OptionsOf<typeof STACK_COMMANDS.rm>): Promise<number> {
  if (o.detach === false) throw new StatusError('berth stack rm: --detach=false (waiting for the tasks to go) is not supported yet', 1);
  const c = ctx.client;
  const failed: string[] = [];
  for (const stack of args) {
    const filters = nsFilter(stack);
    const svcs = (await c.services.list({ filters })) as Named[];
    const nets = (await c.networks.list<{ Id: string; Name: string }>({ filters })).map((n) => ({ ID: n.Id, Spec: { Name: n.Name } }));
    const secrets = await c.secrets.list({ filters });
    const configs = await c.configs.list({ filters });
    if (svcs.length + nets.length + secrets.length + configs.length === 0) {
      process.stderr.write(`Nothing found in stack: ${stack}\n`);
      continue;
    }
    let ok = true;
    const each = async (kind: string, items: Named[], remove: (id: string) => Promise<void>) => {
      for (const x of [...items].sort(byName)) {
        process.stdout.write(`Removing ${kind} ${x.Spec.Name}\n`);
        try {
          await remove(x.ID);
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          process.stderr.write(`Failed to remove ${kind} ${x.ID}: Error response from daemon: ${e.message}\n`);
          ok = false;
        }
      }
    };
    await each('service', svcs, (id) => c.services.remove(id));
    await each('secret', secrets, (id) => c.secrets.remove(id));
    await each('config', configs, (id) => c.configs.remove(id));
    await each('network', nets, (id) => c.networks.remove(id));
    if (!ok) failed.push(stack);
  }
  if (failed.length) throw new StatusError(`failed to remove some resources from stack: ${failed.join(', ')}`, 1);
  return 0;
}
