// The pure half of the swarm router: how dockerd (daemon/cluster) finds a node, service or task
// from what the user typed, the list filters as swarmkit's control API applies them, the
// services' status counts, and the `?version=` of the update calls. The router feeds these the
// backend's whole lists; the cluster stays small enough (tens of nodes, hundreds of tasks) that
// filtering in the router is cheaper than teaching the store every filter.
//
//   resolveService(services, 'web')  → the service named web (else ID prefix; else 404 "service web not found")
//   filterTasks(tasks, f, ctx)       → the tasks `docker service ps web` lists
import { isDeepStrictEqual } from 'node:util';
import { invalid, notFound } from '../../../common/errors.ts';
import type { Filters } from '../../../common/filters.ts';
import type { Node, SecretKind, SecretObject, Service, Task, TaskState } from '../../types/swarm.ts';

// ----- reference resolution (moby daemon/cluster/helpers.go getNode/getService/getTask) -----

type Kind = 'node' | 'service' | 'task' | SecretKind;

/**
 * dockerd's three tries: the full ID, then the name (exact), then an ID prefix. Nothing → 404
 * "<kind> X not found"; more than one match at the name or prefix step → 400
 * "<kind> X is ambiguous (N matches found)".
 */
function resolve<T extends { ID: string }>(kind: Kind, all: readonly T[], input: string, names: (o: T) => string[]): T {
  const byId = all.find((o) => o.ID === input);
  if (byId) return byId;
  let found = input === '' ? [] : all.filter((o) => names(o).includes(input));
  if (found.length === 0) found = all.filter((o) => o.ID.startsWith(input));
  if (found.length === 0) throw notFound(`${kind} ${input} not found`);
  if (found.length > 1) throw invalid(`${kind} ${input} is ambiguous (${found.length} matches found)`);
  return found[0];
}

/** A node's name as swarmkit lists it: its hostname (Spec.Name when set, as the store indexes it). */
export function nodeName(n: Node): string {
  return n.Description?.Hostname ?? '';
}

export function resolveNode(nodes: readonly Node[], input: string): Node {
  return resolve('node', nodes, input, (n) => [n.Spec.Name, nodeName(n)].filter((s): s is string => !!s));
}

export function resolveService(services: readonly Service[], input: string): Service {
  return resolve('service', services, input, (s) => (s.Spec.Name ? [s.Spec.Name] : []));
}

/** A secret or config by full ID, name, ID prefix (moby's getSecret / getConfig). */
export function resolveSecret(kind: SecretKind, all: readonly SecretObject[], input: string): SecretObject {
  return resolve(kind, all, input, (o) => (o.Spec.Name ? [o.Spec.Name] : []));
}

/**
 * swarmkit's naming.Task: `<service name>.<slot>.<task ID>` (a global task has its node ID in
 * the slot's place); the CLI prints the first two parts (`web.1`).
 */
export function taskName(t: Task, serviceName: string | undefined): string {
  const annotated = (t as { Name?: unknown }).Name;
  if (typeof annotated === 'string' && annotated !== '') return annotated;
  return `${shortTaskName(t, serviceName)}.${t.ID}`;
}

/** `web.1` (replicated) or `web.<node ID>` (global): what `docker service ps` shows. */
export function shortTaskName(t: Task, serviceName: string | undefined): string {
  return `${serviceName ?? t.ServiceID}.${t.Slot ? t.Slot : t.NodeID ?? ''}`;
}

/**
 * A task by full ID, full name (`web.1.<id>`, what dockerd matches), ID prefix; and, as berth's
 * addition, by the short name the CLI prints (`web.1`): among the tasks of that slot the one
 * still meant to run (older ones of the slot are history), else the only one.
 */
export function resolveTask(tasks: readonly Task[], services: readonly Service[], input: string): Task {
  const svcName = serviceNames(services);
  try {
    return resolve('task', tasks, input, (t) => [taskName(t, svcName.get(t.ServiceID))]);
  } catch (e) {
    const slot = tasks.filter((t) => shortTaskName(t, svcName.get(t.ServiceID)) === input);
    const current = slot.filter((t) => !isPast(t.DesiredState, 'running'));
    if (current.length === 1) return current[0];
    if (slot.length === 1) return slot[0];
    throw e;
  }
}

const serviceNames = (services: readonly Service[]) => new Map(services.map((s) => [s.ID, s.Spec.Name]));

// ----- list filters (moby daemon/cluster/filters.go + swarmkit controlapi) -----

export const NODE_FILTERS = ['name', 'id', 'label', 'role', 'membership', 'node.label'] as const;
export const SERVICE_FILTERS = ['name', 'id', 'label', 'mode', 'runtime'] as const;
export const SECRET_FILTERS = ['names', 'name', 'id', 'label'] as const;
export const TASK_FILTERS = ['name', 'id', 'label', 'service', 'node', 'desired-state', '_up-to-date', 'runtime'] as const;

/** Any of the values is a prefix of `s` (no values: true), swarmkit's filterContainsPrefix. */
function anyPrefix(f: Filters, key: string, s: string): boolean {
  const vals = f.get(key);
  return vals.length === 0 || vals.some((v) => s.startsWith(v));
}

/** `s` is one of the values (no values: true), swarmkit's filterContains. */
function anyOf(f: Filters, key: string, s: string): boolean {
  const vals = f.get(key);
  return vals.length === 0 || vals.includes(s);
}

/**
 * swarmkit's filterMatchLabels: every `k` / `k=v` given must hold (`k=` is like `k`: moby's
 * convertKVStringsToMap keeps an empty value, and an empty value only asks for the key).
 */
function labelsMatch(f: Filters, key: string, labels: Record<string, string> | undefined | null): boolean {
  for (const kv of f.get(key)) {
    const eq = kv.indexOf('=');
    const k = eq < 0 ? kv : kv.slice(0, eq);
    const v = eq < 0 ? '' : kv.slice(eq + 1);
    if (!labels || !Object.prototype.hasOwnProperty.call(labels, k)) return false;
    if (v !== '' && labels[k] !== v) return false;
  }
  return true;
}

/**
 * An enum filter (role, membership, desired-state): each value must be one of `allowed` (case
 * folded, as moby upper-cases it for the proto enum); an empty value is skipped; another one →
 * 400 with moby's text "Invalid <what> filter: 'x'".
 */
function enumValues(f: Filters, key: string, allowed: readonly string[], what: string): string[] {
  const out: string[] = [];
  for (const v of f.get(key)) {
    const l = v.toLowerCase();
    if (allowed.includes(l)) out.push(l);
    else if (v !== '') throw invalid(`Invalid ${what} filter: '${v}'`);
  }
  return out;
}

export function filterNodes(nodes: readonly Node[], f: Filters): Node[] {
  f.validate(NODE_FILTERS);
  const roles = enumValues(f, 'role', ['worker', 'manager'], 'role');
  const memberships = enumValues(f, 'membership', ['pending', 'accepted'], 'membership');
  return nodes.filter((n) => anyPrefix(f, 'name', nodeName(n))
    && anyPrefix(f, 'id', n.ID)
    && labelsMatch(f, 'label', n.Description?.Engine?.Labels)
    && labelsMatch(f, 'node.label', n.Spec.Labels)
    && (roles.length === 0 || roles.includes(n.Spec.Role ?? 'worker'))
    && (memberships.length === 0 || memberships.includes(String(n.Spec.Membership ?? 'accepted'))));
}

/** The mode a service's spec names (`mode` filter, `docker service ls`'s MODE). */
export function serviceMode(s: Service): string {
  const m = s.Spec.Mode ?? {};
  if (m.Global) return 'global';
  if (m.ReplicatedJob) return 'replicated-job';
  if (m.GlobalJob) return 'global-job';
  return 'replicated';
}

/** A task template's runtime: Runtime when set, else "container" (moby's default). */
const runtimeOf = (spec: { [k: string]: unknown } | undefined): string => (typeof spec?.Runtime === 'string' && spec.Runtime !== '' ? spec.Runtime : 'container');

export function filterServices(services: readonly Service[], f: Filters): Service[] {
  f.validate(SERVICE_FILTERS);
  // dockerd lists container services unless a runtime is asked for.
  const runtimes = f.has('runtime') && f.get('runtime').length > 0 ? f.get('runtime') : ['container'];
  return services.filter((s) => anyPrefix(f, 'name', s.Spec.Name ?? '')
    && anyPrefix(f, 'id', s.ID)
    && labelsMatch(f, 'label', s.Spec.Labels)
    && runtimes.includes(runtimeOf(s.Spec.TaskTemplate))
    && (!f.has('mode') || f.exactMatch('mode', serviceMode(s))));
}

/**
 * `GET /secrets` and `/configs` filters (moby's newListSecretsFilters, swarmkit's ListSecrets): an
 * object matching any of `names` (exact), `name` (prefix) or `id` (prefix) — they are or-ed — and
 * every label.
 */
export function filterSecrets(all: readonly SecretObject[], f: Filters): SecretObject[] {
  f.validate(SECRET_FILTERS);
  const names = f.get('names');
  const namePrefixes = f.get('name');
  const idPrefixes = f.get('id');
  const any = names.length + namePrefixes.length + idPrefixes.length > 0;
  return all.filter((o) => {
    const name = o.Spec.Name ?? '';
    if (any && !names.includes(name) && !namePrefixes.some((p) => name.startsWith(p)) && !idPrefixes.some((p) => o.ID.startsWith(p))) return false;
    return labelsMatch(f, 'label', o.Spec.Labels);
  });
}

const TASK_STATE_NAMES: readonly TaskState[] = [
  'new', 'allocated', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting',
  'running', 'complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned',
];
/** The state comes after `than` in the task lifecycle. */
function isPast(s: TaskState, than: TaskState): boolean {
  return TASK_STATE_NAMES.indexOf(s) > TASK_STATE_NAMES.indexOf(than);
}

/**
 * swarmkit's !IsTaskDirty, as the CLI's hidden `_up-to-date` filter uses it to follow a
 * create/update: the task runs its service's current TaskTemplate, and the orchestrator has not
 * superseded it (its desired state is not past running).
 */
export function isUpToDate(t: Task, s: Service | undefined): boolean {
  if (!s || isPast(t.DesiredState, 'running')) return false;
  return isDeepStrictEqual(plain(t.Spec ?? {}), plain(s.Spec.TaskTemplate ?? {}));
}

/** The JSON value of an object (undefined fields gone), for a comparison that ignores key order. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

/**
 * The tasks filters. `service` and `node` values are references (ID, name, prefix) resolved first
 * as dockerd does, so an unknown one is that object's 404; `label` matches the service's labels
 * (a task carries its service's annotations in swarmkit).
 */
export function filterTasks(tasks: readonly Task[], f: Filters, ctx: { services: readonly Service[]; nodes: readonly Node[] }): Task[] {
  f.validate(TASK_FILTERS);
  const serviceIds = f.get('service').map((r) => resolveService(ctx.services, r).ID);
  const nodeIds = f.get('node').map((r) => resolveNode(ctx.nodes, r).ID);
  const desired = enumValues(f, 'desired-state', TASK_STATE_NAMES, 'desired-state');
  const upToDate = f.get('_up-to-date').length > 0;
  // dockerd shows container tasks (and runtime-less ones) unless a runtime is asked for.
  const runtimes = f.get('runtime').length > 0 ? f.get('runtime') : ['container', ''];
  const byId = new Map(ctx.services.map((s) => [s.ID, s]));
  return tasks.filter((t) => {
    const s = byId.get(t.ServiceID);
    return anyPrefix(f, 'name', taskName(t, s?.Spec.Name))
      && anyPrefix(f, 'id', t.ID)
      && labelsMatch(f, 'label', s?.Spec.Labels)
      && (serviceIds.length === 0 || serviceIds.includes(t.ServiceID))
      && (nodeIds.length === 0 || nodeIds.includes(t.NodeID ?? ''))
      && (desired.length === 0 || desired.includes(t.DesiredState))
      && (runtimes.includes(runtimeOf(t.Spec)) || (runtimes.includes('') && t.Spec?.Runtime === undefined))
      && (!upToDate || isUpToDate(t, s));
  });
}

// ----- ServiceStatus (swarmkit controlapi ListServiceStatuses) -----

export interface ServiceStatus { RunningTasks: number; DesiredTasks: number; CompletedTasks: number }

/**
 * `GET /services?status=true`: RunningTasks counts the service's running tasks on nodes that are
 * not down; DesiredTasks is the replica count (replicated) or the number of tasks meant to run
 * (global: one per eligible node, which the orchestrator expresses as tasks); CompletedTasks the
 * tasks that completed (jobs).
 */
export function serviceStatus(s: Service, tasks: readonly Task[], nodes: readonly Node[]): ServiceStatus {
  const down = new Set(nodes.filter((n) => n.Status.State === 'down').map((n) => n.ID));
  const mine = tasks.filter((t) => t.ServiceID === s.ID);
  const running = mine.filter((t) => t.Status.State === 'running' && !down.has(t.NodeID ?? '')).length;
  const completed = mine.filter((t) => t.Status.State === 'complete').length;
  const mode = s.Spec.Mode ?? {};
  let desired: number;
  if (mode.Global || mode.GlobalJob) {
    desired = mine.filter((t) => !isPast(t.DesiredState, 'running') && !down.has(t.NodeID ?? '')).length;
  } else if (mode.ReplicatedJob) {
    const job = mode.ReplicatedJob as { MaxConcurrent?: number };
    desired = job.MaxConcurrent ?? 1;
  } else {
    desired = mode.Replicated?.Replicas ?? 1;
  }
  return { RunningTasks: running, DesiredTasks: desired, CompletedTasks: completed };
}

// ----- the `version` query of the update calls -----

const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * `?version=` as moby parses it (strconv.ParseUint base 10): required; anything but decimal
 * digits → 400 "invalid <what> version 'x': strconv.ParseUint: parsing "x": invalid syntax".
 */
export function parseObjectVersion(raw: string | null, what: 'service' | 'node' | 'swarm' | SecretKind): number {
  const s = raw ?? '';
  const fail = (why: string) => invalid(`invalid ${what} version '${s}': strconv.ParseUint: parsing ${JSON.stringify(s)}: ${why}`);
  if (!/^[0-9]+$/.test(s)) throw fail('invalid syntax');
  const n = BigInt(s);
  if (n > MAX_UINT64) throw fail('value out of range');
  // Versions are etcd revisions: far below 2^53; a bigger one cannot match any object.
  return Number(n);
}
