// The swarm scheduler as pure logic: given the cluster's nodes (with the tasks already on them) and
// tasks waiting for a node, decide where each task goes, or why it cannot go anywhere. It follows
// swarmkit's manager/scheduler: a pipeline of filters decides which nodes may take a task, and among
// those the spread rule picks one; nothing here touches the store or the network.
//
// Filters, in swarmkit's pipeline order (a node is counted against the FIRST filter it fails):
//   ready        node state is ready and availability is active   "N nodes not available for new tasks"
//   resources    reservations fit what the node has left          "insufficient resources on N nodes"
//   constraints  every placement constraint holds (constraint.ts) "scheduling constraints not satisfied on N nodes"
//   maxReplicas  fewer than maxReplicas tasks of the service here "max replicas per node limit exceed"
// A filter only runs when the task asks for it (non-zero reservations, constraints, maxReplicas > 0).
// A task no node accepts gets swarmkit's error "no suitable node (<explanations>)", the
// explanations ordered by how many nodes each filter refused ("; "-separated, ties in pipeline
// order), or just "no suitable node" when there are no nodes at all.
//
// Choice (swarmkit's nodeLess): the accepted node with the fewest tasks of this service, then the
// fewest tasks in total; berth breaks the remaining ties by node ID so decisions are reproducible
// (swarmkit leaves them to its heap's order). Tasks are placed one after another and every
// placement counts for the next (tasks, service tasks, resources), so a batch spreads evenly.
// Spread preferences (`spread: node.labels.<k>` or `engine.labels.<k>`, nested in order) first pick
// the label value whose nodes hold the fewest tasks of the service, counting every node with that
// value, as swarmkit's decision tree does, among values that still have an accepting node.
//
// Worked example: three active, ready nodes n1 n2 n3, n3 already running one task of service "web";
// three new "web" tasks t1 t2 t3 with the constraint node.role==worker (all are workers):
//   schedule(nodes, [t1, t2, t3])
//     t1 → n1 (n1, n2 hold 0 "web" tasks, n3 holds 1; n1 < n2 by ID)
//     t2 → n2 (now n2 holds 0, n1 and n3 hold 1)
//     t3 → n1 (all hold 1 "web" task; n1 and n2 hold 1 task in total, n3 too, so ID order)
// Had n2 been drained and n3 a manager, all three would land on n1; with maxReplicas: 1 as well,
// t1 lands on n1 and t2, t3 fail with (each filter refused one node, so pipeline order)
//   "no suitable node (1 node not available for new tasks; scheduling constraints not satisfied
//    on 1 node; max replicas per node limit exceed)"
import {
  type Constraint, type ConstraintNode, parseConstraints, nodeMatches, labelValue, NODE_LABEL_PREFIX, ENGINE_LABEL_PREFIX,
} from './constraint.ts';

export type NodeAvailability = 'active' | 'pause' | 'drain';
export type NodeState = 'unknown' | 'down' | 'ready' | 'disconnected';

/** CPU in billionths of a CPU and memory in bytes, as swarmkit's api.Resources. */
export interface Resources {
  nanoCPUs: number;
  memoryBytes: number;
}

/** A task already on a node: it counts for spreading and its reservations are taken from the node. */
export interface AssignedTask {
  serviceId: string;
  reservations?: Resources;
  /** Host-mode published ports ("tcp/8080") it holds on its node. */
  hostPorts?: readonly string[];
}

export interface SchedulerNode extends ConstraintNode {
  availability: NodeAvailability;
  state: NodeState;
  /** What the node offers in total (its description's resources); absent means nothing. */
  resources?: Resources;
  /** Active tasks on the node (tasks whose desired state is running or earlier). */
  tasks?: readonly AssignedTask[];
}

export interface SpreadPreference {
  /** `node.labels.<name>` or `engine.labels.<name>`; other descriptors are ignored, as in swarmkit. */
  spread: string;
}

export interface TaskToPlace {
  id: string;
  serviceId: string;
  /** Placement constraints ("node.role==manager", ...); validate them with parseConstraints first. */
  constraints?: readonly string[];
  preferences?: readonly SpreadPreference[];
  reservations?: Resources;
  /** Placement.MaxReplicas: at most this many tasks of the service per node; 0 or absent = no limit. */
  maxReplicas?: number;
  /** Host-mode published ports ("tcp/8080"): only nodes where none is taken (swarmkit's HostPortFilter). */
  hostPorts?: readonly string[];
}

export type Decision =
  | { taskId: string; nodeId: string }
  | { taskId: string; nodeId?: undefined; error: string };

/** What the scheduler tracks per node while it places a batch (swarmkit's NodeInfo). */
interface NodeInfo {
  node: SchedulerNode;
  available: Resources;
  activeTasks: number;
  byService: Map<string, number>;
  usedHostPorts: Set<string>;
}

interface Filter {
  name: string;
  /** Whether the filter applies to this task (swarmkit's SetTask). */
  enabled(t: PreparedTask): boolean;
  check(t: PreparedTask, n: NodeInfo): boolean;
  explain(nodes: number): string;
}

interface PreparedTask {
  task: TaskToPlace;
  constraints: Constraint[] | undefined;
}

const plural = (n: number, one: string, many: (n: number) => string) => (n === 1 ? one : many(n));

// swarmkit's defaultFilters minus the plugin, platform and CSI volume filters, whose inputs
// (plugins, image platforms, cluster volumes) berth's swarm has not yet.
const FILTERS: Filter[] = [
  {
    name: 'ready',
    enabled: () => true,
    check: (_t, n) => n.node.state === 'ready' && n.node.availability === 'active',
    explain: (k) => plural(k, '1 node not available for new tasks', (k) => `${k} nodes not available for new tasks`),
  },
  {
    name: 'resources',
    enabled: (t) => !!t.task.reservations && (t.task.reservations.nanoCPUs !== 0 || t.task.reservations.memoryBytes !== 0),
    check: (t, n) => {
      const r = t.task.reservations!;
      return r.nanoCPUs <= n.available.nanoCPUs && r.memoryBytes <= n.available.memoryBytes;
    },
    explain: (k) => plural(k, 'insufficient resources on 1 node', (k) => `insufficient resources on ${k} nodes`),
  },
  {
    name: 'constraints',
    enabled: (t) => t.constraints !== undefined && t.constraints.length > 0,
    check: (t, n) => nodeMatches(t.constraints!, n.node),
    explain: (k) => plural(k, 'scheduling constraints not satisfied on 1 node', (k) => `scheduling constraints not satisfied on ${k} nodes`),
  },
  {
    name: 'hostPort',
    enabled: (t) => (t.task.hostPorts?.length ?? 0) > 0,
    check: (t, n) => !t.task.hostPorts!.some((p) => n.usedHostPorts.has(p)),
    explain: (k) => plural(k, 'host-mode port already in use on 1 node', (k) => `host-mode port already in use on ${k} nodes`),
  },
  {
    name: 'maxReplicas',
    enabled: (t) => (t.task.maxReplicas ?? 0) > 0,
    check: (t, n) => (n.byService.get(t.task.serviceId) ?? 0) < t.task.maxReplicas!,
    explain: () => 'max replicas per node limit exceed',
  },
];

function prepare(task: TaskToPlace): PreparedTask {
  let constraints: Constraint[] | undefined;
  try {
    constraints = parseConstraints(task.constraints ?? []);
  } catch {
    // As swarmkit's ConstraintFilter: constraints are validated when the service is created, and a
    // task whose constraints somehow do not parse is scheduled as if it had none.
    constraints = undefined;
  }
  return { task, constraints };
}

function newNodeInfo(node: SchedulerNode): NodeInfo {
  const info: NodeInfo = {
    node,
    available: { nanoCPUs: node.resources?.nanoCPUs ?? 0, memoryBytes: node.resources?.memoryBytes ?? 0 },
    activeTasks: 0,
    byService: new Map(),
    usedHostPorts: new Set(),
  };
  for (const t of node.tasks ?? []) addTask(info, t);
  return info;
}

function addTask(info: NodeInfo, t: AssignedTask): void {
  info.available.nanoCPUs -= t.reservations?.nanoCPUs ?? 0;
  info.available.memoryBytes -= t.reservations?.memoryBytes ?? 0;
  info.activeTasks++;
  info.byService.set(t.serviceId, (info.byService.get(t.serviceId) ?? 0) + 1);
  for (const p of t.hostPorts ?? []) info.usedHostPorts.add(p);
}

/** swarmkit's nodeLess (fewest tasks of the service, then fewest tasks), then node ID. */
function nodeLess(serviceId: string): (a: NodeInfo, b: NodeInfo) => number {
  return (a, b) =>
    (a.byService.get(serviceId) ?? 0) - (b.byService.get(serviceId) ?? 0) ||
    a.activeTasks - b.activeTasks ||
    (a.node.id < b.node.id ? -1 : a.node.id > b.node.id ? 1 : 0);
}

/** Which labels a spread descriptor reads, or undefined for a descriptor swarmkit ignores. */
function spreadLabel(descriptor: string): { engine: boolean; name: string } | undefined {
  const lower = descriptor.toLowerCase();
  for (const [prefix, engine] of [[NODE_LABEL_PREFIX, false], [ENGINE_LABEL_PREFIX, true]] as const) {
    if (descriptor.length > prefix.length && lower.startsWith(prefix)) return { engine, name: descriptor.slice(prefix.length) };
  }
  return undefined;
}

/**
 * Narrows the accepted nodes level by level through the spread preferences: at each level, the
 * label value whose nodes (all of them, accepted or not) hold the fewest tasks of the service,
 * among values with at least one accepted node; ties go to the smaller value. A node without the
 * label reads "", so it forms a branch of its own, as in swarmkit.
 */
function applyPreferences(t: TaskToPlace, all: readonly NodeInfo[], accepted: NodeInfo[]): NodeInfo[] {
  let pool = all;
  let candidates = accepted;
  for (const pref of t.preferences ?? []) {
    const label = spreadLabel(pref.spread);
    if (!label) continue;
    const value = (n: NodeInfo) => labelValue(label.engine ? n.node.engineLabels : n.node.labels, label.name);
    const load = new Map<string, number>();
    for (const n of pool) load.set(value(n), (load.get(value(n)) ?? 0) + (n.byService.get(t.serviceId) ?? 0));
    let best: string | undefined;
    for (const n of candidates) {
      const v = value(n);
      if (best === undefined || load.get(v)! < load.get(best)! || (load.get(v) === load.get(best) && v < best)) best = v;
    }
    pool = pool.filter((n) => value(n) === best);
    candidates = candidates.filter((n) => value(n) === best);
  }
  return candidates;
}

/** Why no node accepts the task: swarmkit's Pipeline.Explain, wrapped as noSuitableNode does. */
function explain(failures: number[]): string {
  const order = FILTERS.map((f, i) => ({ f, count: failures[i] }))
    .filter((e) => e.count > 0)
    // Array.prototype.sort is stable: equal counts keep the pipeline order, as Go's insertion sort
    // does for swarmkit's seven filters.
    .sort((a, b) => b.count - a.count);
  const text = order.map((e) => e.f.explain(e.count)).join('; ');
  return text ? `no suitable node (${text})` : 'no suitable node';
}

/**
 * Places the tasks, in order, on the nodes. Returns one decision per task, in the same order:
 * `{ taskId, nodeId }` or `{ taskId, error }`. The inputs are not modified.
 */
export function schedule(nodes: readonly SchedulerNode[], tasks: readonly TaskToPlace[]): Decision[] {
  const infos = nodes.map(newNodeInfo);
  const decisions: Decision[] = [];
  for (const task of tasks) {
    const p = prepare(task);
    const active = FILTERS.map((f) => f.enabled(p));
    const failures = FILTERS.map(() => 0);
    const accepted: NodeInfo[] = [];
    for (const n of infos) {
      const failed = FILTERS.findIndex((f, i) => active[i] && !f.check(p, n));
      if (failed < 0) accepted.push(n);
      else failures[failed]++;
    }
    const candidates = applyPreferences(task, infos, accepted);
    if (candidates.length === 0) {
      decisions.push({ taskId: task.id, error: explain(failures) });
      continue;
    }
    const best = candidates.reduce((a, b) => (nodeLess(task.serviceId)(b, a) < 0 ? b : a));
    addTask(best, { serviceId: task.serviceId, reservations: task.reservations, hostPorts: task.hostPorts });
    decisions.push({ taskId: task.id, nodeId: best.node.id });
  }
  return decisions;
}
