// `berth node ls|inspect|ps|promote|demote|update|rm`: docker CLI 28's requests, texts and exit
// codes. promote/demote/update read the node and POST its edited spec with ?version= (the
// node's Version.Index), as docker does, so a concurrent change is refused by the daemon.
//
//   berth node ls                       the nodes, the current one starred
//   berth node update --availability drain --label-add zone=a node2
//   berth node promote node2            → Node node2 promoted to a manager in the swarm.
import type { NODE_COMMANDS, OptionsOf } from '../spec.ts';
import type { Node, SwarmInfo, Task } from '../../api/types/swarm.ts';
import { ApiError } from '../../client/client.ts';
import { StatusError, removeEach, type Ctx, templateFailure } from '../context.ts';
import { encodeFilters } from '../filters.ts';
import { normalizeFormat } from '../format/formatter.ts';
import { indentJson } from '../format/json-indent.ts';
import { goJsonMarshal, parseTemplate, type Template } from '../format/template.ts';
import { build } from './swarm.ts';
import { nodeUpdateSpec, type NodeFlags } from './swarm-spec.ts';
import { renderNodes, renderTasks } from './swarm-display.ts';

async function selfId(ctx: Ctx): Promise<string> {
  const info = await ctx.client.system.info<{ Swarm?: SwarmInfo }>();
  return info.Swarm?.NodeID ?? '';
}

/** `self` is the current node (docker's node.Reference). */
async function resolveRef(ctx: Ctx, ref: string): Promise<string> {
  if (ref !== 'self') return ref;
  const id = await selfId(ctx);
  if (!id) throw new StatusError('This node is not a swarm manager. Use "berth swarm init" or "berth swarm join" to connect this node to swarm and try again.', 1);
  return id;
}

/**
 * docker's inspect output for swarm objects: the JSON list indented with 4 spaces, or one
 * template result per object; objects that fail are reported after, with exit 1.
 */
export async function inspectObjects(ctx: Ctx, refs: string[], format: string | undefined, get: (ref: string) => Promise<unknown>): Promise<number> {
  const f = format ?? '';
  let tmpl: Template | undefined;
  if (f !== '' && f !== 'json') {
    try {
      tmpl = parseTemplate(normalizeFormat(f));
    } catch (e) {
      templateFailure(e, 64);
    }
  }
  const found: unknown[] = [];
  const errors: string[] = [];
  let out = '';
  for (const ref of refs) {
    let obj: unknown;
    try {
      obj = await get(ref);
    } catch (e) {
      if (e instanceof ApiError) { errors.push(`Error response from daemon: ${e.message}`); continue; }
      throw e;
    }
    if (!tmpl) { found.push(obj); continue; }
    try {
      out += `${tmpl.execute(obj)}\n`;
    } catch (e) {
      templateFailure(e, 1);
    }
  }
  if (tmpl) process.stdout.write(out);
  else process.stdout.write(found.length ? `${f === 'json' ? goJsonMarshal(found) : indentJson(goJsonMarshal(found), '    ')}\n` : '[]\n');
  if (errors.length) throw new StatusError(errors.join('\n'), 1);
  return 0;
}

export async function ls(ctx: Ctx, _args: string[], o: OptionsOf<typeof NODE_COMMANDS.ls>): Promise<number> {
  const nodes = await ctx.client.nodes.list({ filters: encodeFilters(o.filter, ctx) });
  const self = await selfId(ctx);
  let out: string;
  try {
    out = renderNodes(nodes ?? [], self, o.format, Boolean(o.quiet));
  } catch (e) {
    templateFailure(e, 1);
  }
  process.stdout.write(out);
  return 0;
}

export async function inspect(ctx: Ctx, args: string[], o: OptionsOf<typeof NODE_COMMANDS.inspect>): Promise<number> {
  if (o.pretty) throw new StatusError('berth node inspect: --pretty is not supported; use --format', 1);
  return inspectObjects(ctx, args, o.format, async (ref) => ctx.client.nodes.inspect(await resolveRef(ctx, ref)));
}

/**
 * Reads each node, lets `merge` edit its spec (or say there is nothing to change), posts the
 * spec with the node's version and reports success, stopping at the first error (docker's
 * updateNodes).
 */
async function updateNodes(ctx: Ctx, refs: string[], merge: (n: Node) => boolean, success: (ref: string) => void): Promise<void> {
  for (const ref of refs) {
    const node = await ctx.client.nodes.inspect(await resolveRef(ctx, ref));
    if (!merge(node)) continue;
    await ctx.client.nodes.update(node.ID, node.Version?.Index ?? 0, node.Spec);
    success(ref);
  }
}

export async function promote(ctx: Ctx, args: string[]): Promise<number> {
  await updateNodes(ctx, args, (n) => {
    if (n.Spec.Role === 'manager') { process.stdout.write(`Node ${n.ID} is already a manager.\n`); return false; }
    n.Spec = nodeUpdateSpec(n.Spec, { role: 'manager' });
    return true;
  }, (ref) => process.stdout.write(`Node ${ref} promoted to a manager in the swarm.\n`));
  return 0;
}

export async function demote(ctx: Ctx, args: string[]): Promise<number> {
  await updateNodes(ctx, args, (n) => {
    if (n.Spec.Role === 'worker') { process.stdout.write(`Node ${n.ID} is already a worker.\n`); return false; }
    n.Spec = nodeUpdateSpec(n.Spec, { role: 'worker' });
    return true;
  }, (ref) => process.stdout.write(`Manager ${ref} demoted in the swarm.\n`));
  return 0;
}

export async function update(ctx: Ctx, args: string[], o: OptionsOf<typeof NODE_COMMANDS.update>): Promise<number> {
  await updateNodes(ctx, args, (n) => {
    n.Spec = build(ctx, () => nodeUpdateSpec(n.Spec, o as NodeFlags));
    return true;
  }, (ref) => process.stdout.write(`${ref}\n`));
  return 0;
}

export function rm(ctx: Ctx, args: string[], o: OptionsOf<typeof NODE_COMMANDS.rm>): Promise<number> {
  return removeEach(args, (ref) => ctx.client.nodes.remove(ref, { force: Boolean(o.force) }));
}

/** The ID → name maps `service ps` and `node ps` show (unless --no-resolve). */
/** The task table of `node ps`, `service ps` and `stack ps`: names resolved unless --no-resolve. */
export async function taskTable(ctx: Ctx, tasks: Task[], o: { resolve?: boolean; trunc?: boolean; format?: string; quiet?: boolean }): Promise<string> {
  const names = await taskNames(ctx, tasks, o.resolve !== false);
  try {
    return renderTasks(tasks, names.services, names.nodes, { trunc: o.trunc !== false, format: o.format, quiet: Boolean(o.quiet) });
  } catch (e) {
    templateFailure(e);
  }
}

export async function taskNames(ctx: Ctx, tasks: Task[], resolve: boolean): Promise<{ services: Map<string, string>; nodes: Map<string, string> }> {
  const services = new Map<string, string>();
  const nodes = new Map<string, string>();
  if (!resolve) return { services, nodes };
  for (const id of new Set(tasks.map((t) => t.ServiceID))) {
    try {
      const s = await ctx.client.services.inspect(id);
      services.set(id, s.Spec.Name ?? id);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
  }
  for (const id of new Set(tasks.map((t) => t.NodeID).filter((x): x is string => Boolean(x)))) {
    try {
      const n = await ctx.client.nodes.inspect(id);
      if (n.Description?.Hostname) nodes.set(id, n.Description.Hostname);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
  }
  return { services, nodes };
}

/** Adds `key=value` to a --filter list as docker's filters.Args.Add does. */
export function withFilter(filters: string[] | undefined, key: string, value: string): string[] {
  return [...(filters ?? []).filter((f) => f !== ''), `${key}=${value}`];
}

export async function ps(ctx: Ctx, args: string[], o: OptionsOf<typeof NODE_COMMANDS.ps>): Promise<number> {
  const refs = args.length ? args : ['self'];
  const tasks: Task[] = [];
  const errors: string[] = [];
  for (const ref of refs) {
    try {
      const node = await ctx.client.nodes.inspect(await resolveRef(ctx, ref));
      tasks.push(...await ctx.client.tasks.list({ filters: encodeFilters(withFilter(o.filter, 'node', node.ID), ctx) }));
    } catch (e) {
      if (e instanceof ApiError) { errors.push(`Error response from daemon: ${e.message}`); continue; }
      throw e;
    }
  }
  const out = await taskTable(ctx, tasks, o);
  if (tasks.length || !errors.length) process.stdout.write(out);
  if (errors.length) throw new StatusError(errors.join('\n'), 1);
  return 0;
}
