// One pass of the leader's control loops, as a function of the cluster view, the leader's memory
// (what swarmkit keeps in its goroutines: restart histories, rolling-update states, delayed starts)
// and the time. It composes the pure orchestrator modules and the scheduler and returns the writes
// for one transaction plus the memory to keep if that transaction commits. leader.ts runs it.
//
// The pass, in order (each step sees the previous steps' changes):
// 1. Node liveness: a live heartbeat → Status.State 'ready'; none → 'down' "heartbeat failure",
//    but only once 3 heartbeat periods have passed since this leader started (a new leader must
//    not mark every node down before their agents found it).
// 2. Per service (by ID): the rolling update (update.ts updateStep) first, then the replicated or
//    global reconcile (replicas per slot, scale down, replacement off down/drained nodes, restarts
//    with their delay, the reaper, history retention). A rollback that updateStep starts writes
//    Spec = PreviousSpec (PreviousSpec dropped, as swarmkit's updater does) and skips the reconcile
//    until the next pass sees the rolled-back spec.
// 3. Delayed starts: a task created desired 'ready' moves to desired 'running' once its restart
//    delay passed and the tasks it waits for have stopped (ended, or on a node that is down or
//    gone): swarmkit's restart supervisor DelayStart. After a leader change the delays are not
//    known, so such a task only waits for the other tasks of its slot being shut down.
// 4. Tasks of services no longer in the store: desired 'remove'; deleted once they ended, never
//    reached a node, or their node is down or gone.
// 5. Network allocation (allocator.ts), through all of the above: the allocator is rebuilt from the
//    view; every node gets its load-balancer address on ingress (Node.Attachments), every service
//    its Endpoint (published ports, VIPs) before its tasks are made, every new task its
//    NetworksAttachments, every standalone attachment its address (and is deleted with its node or
//    network).
// 6. Scheduling: pending tasks wanted running go through schedule(); placed → NodeID and state
//    'assigned'; otherwise they stay pending with the scheduler's "no suitable node (...)" in Err.
//    Global tasks are created with their NodeID and only checked against that node.
//
// A pass on a view that already reflects an earlier pass's writes writes nothing (idempotent):
// every write is made only when it changes something.
//
// Worked example: view with service s (replicas 2, no tasks) and nodes n1, n2 ready and alive:
//   runPass(view, memory, now, newId).writes →
//     putTask{create, Slot 1, NodeID n1, assigned}, putTask{create, Slot 2, NodeID n2, assigned}
import { randomBytes } from 'node:crypto';
import type { NetworkAttachment, Node, Service, ServiceEndpoint, Task, TaskSpec } from '../../api/types/swarm.ts';
import { AllocationError, Allocator } from '../allocator/allocator.ts';
import type { StandaloneAttachment } from '../allocator/allocator.ts';
import { DEFAULT_TASK_HISTORY_RETENTION, type OrchestratorAction } from '../orchestrator/actions.ts';
import { isGlobal, reconcileGlobal } from '../orchestrator/global.ts';
import { reconcileReplicated } from '../orchestrator/replicated.ts';
import { pruneRestartHistory } from '../orchestrator/restart.ts';
import { compareStates, isTerminal, wantsRunning } from '../orchestrator/task-state.ts';
import { canonical, isOutdated, resolveUpdateConfig, updateStep, type UpdateState } from '../orchestrator/update.ts';
import { nodeMatches, parseConstraints } from '../scheduler/constraint.ts';
import { schedule, type SchedulerNode, type TaskToPlace } from '../scheduler/scheduler.ts';
import type { ClusterView, Write } from './store.ts';

/** swarmkit's default dispatcher heartbeat period (docker swarm init --dispatcher-heartbeat). */
export const DEFAULT_HEARTBEAT_PERIOD_NS = 5e9;
/** Node grace after a leader starts, in heartbeat periods. */
export const NODE_GRACE_PERIODS = 3;
/** While an update runs, the leader looks again at least this often (its deadlines are also timers). */
const UPDATE_TICK_MS = 5000;

/** What the leader remembers between passes (plain data: structuredClone copies it). */
export interface LeaderMemory {
  /** When this leader started (ms): the nodes' grace runs from here. */
  startedAt: number;
  /**
   * Nodes this leader has seen alive. Their grace is over: once their heartbeat lapses they are
   * down at once. The grace is for the others, whose dispatcher session may still be moving to
   * another manager after a change of leader.
   */
  seen: Set<string>;
  /** Per service: the TaskTemplate the history belongs to, and restart times per slot ("1") or node ID. */
  restarts: Map<string, { template: string; byKey: Map<string, number[]> }>;
  /** Per service: the rolling update in progress. */
  updates: Map<string, UpdateState>;
  /** Tasks created desired 'ready': when they may start and which tasks they wait for. */
  starts: Map<string, { startAt?: number; waitFor?: string[] }>;
}

export function newMemory(startedAt: number): LeaderMemory {
  return { startedAt, seen: new Set(), restarts: new Map(), updates: new Map(), starts: new Map() };
}

export interface PassResult {
  writes: Write[];
  /** The memory to keep once the writes committed (or at once when there are none). */
  memory: LeaderMemory;
  /** The earliest time (ms) a pass has something to do without any change in the store. */
  wakeAt?: number;
  /** What the pass did worth a log line. */
  log: string[];
}

/** swarmkit's identity.NewID: 128 random bits in base 36, 25 characters. */
export function newTaskId(): string {
  return BigInt(`0x${randomBytes(16).toString('hex')}`).toString(36).padStart(25, '0');
}

const iso = (ms: number) => new Date(ms).toISOString();

export function runPass(view: ClusterView, memory: LeaderMemory, now: number,
  newId: () => string = newTaskId): PassResult {
  const m = structuredClone(memory);
  const nowISO = iso(now);
  const log: string[] = [];
  let wake = Infinity;
  const wakeAt = (t: number) => { wake = Math.min(wake, t); };

  // The working set: every change goes here first, so later steps see it.
  const tasks = new Map(view.tasks.map((t) => [t.ID, t]));
  const created = new Set<string>();
  const changed = new Set<string>();
  const deleted = new Set<string>();
  const putTask = (t: Task) => {
    tasks.set(t.ID, t);
    if (!created.has(t.ID)) changed.add(t.ID);
  };
  const deleteTask = (id: string) => {
    if (!tasks.delete(id)) return;
    if (created.delete(id)) return;
    changed.delete(id);
    deleted.add(id);
  };
  const serviceWrites: Service[] = [];
  const nodeWrites: Node[] = [];

  // 1. Node liveness.
  const hbMs = (view.cluster.Spec.Dispatcher?.HeartbeatPeriod || DEFAULT_HEARTBEAT_PERIOD_NS) / 1e6;
  const graceEnd = m.startedAt + NODE_GRACE_PERIODS * hbMs;
  const nodes = view.nodes.map((n) => {
    if (view.alive.has(n.ID)) {
      m.seen.add(n.ID);
      if (n.Status.State === 'ready') return n;
      const { Message: _gone, ...status } = n.Status;
      const up: Node = { ...n, UpdatedAt: nowISO, Status: { ...status, State: 'ready' } };
      nodeWrites.push(up);
      log.push(`node ${n.ID} is ready`);
      return up;
    }
    if (n.Status.State === 'down') return n;
    if (now < graceEnd && !m.seen.has(n.ID)) {
      wakeAt(graceEnd);
      return n;
    }
    const down: Node = { ...n, UpdatedAt: nowISO, Status: { ...n.Status, State: 'down', Message: 'heartbeat failure' } };
    nodeWrites.push(down);
    log.push(`node ${n.ID} is down: heartbeat failure`);
    return down;
  });

  // 5. Network allocation, from what the view says is in use.
  const alloc = Allocator.from({
    networks: view.networks ?? [], services: view.services, tasks: view.tasks, nodes: view.nodes, attachments: view.attachments ?? [],
  });
  const allocating = <T>(what: string, f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof AllocationError)) throw e;
      log.push(`${what}: ${e.message}`);
      return undefined;
    }
  };
  const ingress = alloc.ingress;
  for (const [i, n] of nodes.entries()) {
    const atts = (n.Attachments ?? []) as NetworkAttachment[];
    if (!ingress || atts.some((a) => a.Network?.ID === ingress.ID)) continue;
    const addr = allocating(`node ${n.ID}: ingress address`, () => alloc.address(ingress.ID));
    if (!addr) continue;
    const up: Node = { ...n, Attachments: [...atts, { Network: ingress, Addresses: [addr] }] };
    nodes[i] = up;
    const w = nodeWrites.findIndex((x) => x.ID === n.ID);
    if (w >= 0) nodeWrites[w] = up; else nodeWrites.push(up);
  }
  const nodeMap = new Map(nodes.map((n) => [n.ID, n]));
  const nodeGoneOrDown = (id: string | undefined) => {
    const n = id ? nodeMap.get(id) : undefined;
    return !n || n.Status.State === 'down';
  };

  const newTask = (svc: Service, a: Extract<OrchestratorAction, { kind: 'create' }>): Task => {
    const t: Task = {
      ID: newId(),
      Version: { Index: 0 },
      CreatedAt: nowISO,
      UpdatedAt: nowISO,
      Labels: {},
      Spec: structuredClone(svc.Spec.TaskTemplate ?? {}) as TaskSpec,
      ServiceID: svc.ID,
      Status: { Timestamp: nowISO, State: 'pending', Message: 'pending task scheduling' },
      DesiredState: a.desiredState,
      Endpoint: { Spec: structuredClone(svc.Spec.EndpointSpec ?? {}) },
    };
    const atts = allocating(`task of service ${svc.ID}: addresses`, () => alloc.taskAttachments(svc.Spec));
    if (atts?.length) t.NetworksAttachments = atts;
    if (a.slot !== undefined) t.Slot = a.slot;
    if (a.nodeID !== undefined) t.NodeID = a.nodeID;
    return t;
  };

  const applyActions = (svc: Service, actions: readonly OrchestratorAction[]) => {
    for (const a of actions) {
      if (a.kind === 'create') {
        const t = newTask(svc, a);
        tasks.set(t.ID, t);
        created.add(t.ID);
        if (a.desiredState === 'ready') {
          const waitFor = a.afterStop ?? (a.replaces ? [a.replaces] : undefined);
          m.starts.set(t.ID, { startAt: a.startAt, waitFor });
        }
        if (a.restartedAt !== undefined) {
          const key = a.slot !== undefined ? String(a.slot) : a.nodeID ?? '';
          const hist = m.restarts.get(svc.ID)!.byKey;
          hist.set(key, [...(hist.get(key) ?? []), a.restartedAt]);
        }
        continue;
      }
      if (a.kind === 'delete') {
        deleteTask(a.taskID);
        continue;
      }
      const t = tasks.get(a.taskID);
      if (!t || compareStates(t.DesiredState, a.kind) >= 0) continue;
      putTask({ ...t, DesiredState: a.kind, UpdatedAt: nowISO });
    }
  };

  // 2. Services.
  const retention = view.cluster.Spec.Orchestration?.TaskHistoryRetentionLimit ?? DEFAULT_TASK_HISTORY_RETENTION;
  const serviceIDs = new Set(view.services.map((s) => s.ID));
  const ofService = (id: string) => [...tasks.values()].filter((t) => t.ServiceID === id);
  for (const svc of [...view.services].sort((a, b) => a.ID.localeCompare(b.ID))) {
    const template = canonical(svc.Spec.TaskTemplate ?? {});
    let restarts = m.restarts.get(svc.ID);
    if (!restarts || restarts.template !== template) {
      // swarmkit clears a service's restart history when the service is updated.
      m.restarts.set(svc.ID, restarts = { template, byKey: new Map() });
    }
    const policy = svc.Spec.TaskTemplate?.RestartPolicy;
    for (const [k, times] of restarts.byKey) {
      const kept = pruneRestartHistory(policy, times, now);
      if (kept.length === 0) restarts.byKey.delete(k); else restarts.byKey.set(k, kept);
    }

    // The rolling update. A finished update's status stays on the service until the API clears
    // it with the next `service update`; if it did not, a new outdated spec still starts one.
    let forUpdate = svc;
    const st = svc.UpdateStatus?.State;
    if ((st === 'completed' || st === 'rollback_completed') && !m.updates.has(svc.ID)
      && ofService(svc.ID).some((t) => wantsRunning(t) && isOutdated(svc, t))) {
      forUpdate = { ...svc, UpdateStatus: undefined };
    }
    const up = updateStep(forUpdate, ofService(svc.ID), m.updates.get(svc.ID), now);
    if (up.state) {
      m.updates.set(svc.ID, up.state);
      const rollingBack = up.updateStatus?.State === 'rollback_started';
      const cfg = resolveUpdateConfig(rollingBack ? svc.Spec.RollbackConfig : svc.Spec.UpdateConfig);
      for (const f of up.state.inFlight) if (f.runningAt !== undefined) wakeAt(f.runningAt + cfg.delayMs);
      if (up.state.monitorUntil !== undefined) wakeAt(up.state.monitorUntil);
      const resting = up.state.stopped || up.updateStatus?.State === 'paused' || up.updateStatus?.State === 'rollback_paused';
      if (!resting) wakeAt(now + UPDATE_TICK_MS);
    } else {
      m.updates.delete(svc.ID);
    }
    let next: Service = svc;
    const endpoint = allocating(`service ${svc.ID}: endpoint`, () => alloc.endpoint(svc));
    // Only what the allocator decides is compared (the API writes the Spec part).
    const allocated = (e: unknown) => { const x = (e ?? {}) as ServiceEndpoint; return canonical([x.Ports ?? [], x.VirtualIPs ?? []]); };
    if (endpoint && allocated(endpoint) !== allocated(svc.Endpoint)) next = { ...next, Endpoint: endpoint };
    if (canonical(up.updateStatus ?? null) !== canonical(svc.UpdateStatus ?? null)) {
      next = { ...next, UpdatedAt: nowISO, UpdateStatus: up.updateStatus };
      log.push(`service ${svc.ID}: ${up.updateStatus?.State ?? 'no update'}${up.updateStatus?.Message ? `: ${up.updateStatus.Message}` : ''}`);
    }
    if (up.rollbackTo) {
      const { PreviousSpec: _previous, ...rest } = next;
      next = { ...rest, Spec: up.rollbackTo };
    }
    if (next !== svc) serviceWrites.push(next);
    if (up.rollbackTo) continue;
    applyActions(svc, up.actions);

    const history = restarts.byKey;
    const actions = isGlobal(svc)
      ? reconcileGlobal(svc, ofService(svc.ID), nodes, {
        now, retention, restartHistory: history, eligible: eligibleFor(svc),
      })
      : reconcileReplicated(svc, ofService(svc.ID), nodes, {
        now, retention, restartHistory: new Map([...history].map(([k, v]) => [Number(k), v])),
      });
    applyActions(svc, actions);
  }

  // 3. Delayed starts.
  for (const t of [...tasks.values()]) {
    if (t.DesiredState !== 'ready' || !serviceIDs.has(t.ServiceID)) continue;
    const e = m.starts.get(t.ID);
    if (e?.startAt !== undefined && now < e.startAt) {
      wakeAt(e.startAt);
      continue;
    }
    const waitFor = e?.waitFor ?? [...tasks.values()]
      .filter((o) => o.ID !== t.ID && o.ServiceID === t.ServiceID && !wantsRunning(o)
        && (t.Slot ? o.Slot === t.Slot : o.NodeID === t.NodeID))
      .map((o) => o.ID);
    const stillRunning = waitFor.some((id) => {
      const o = tasks.get(id);
      return !!o && !isTerminal(o.Status.State) && compareStates(o.Status.State, 'assigned') >= 0
        && !nodeGoneOrDown(o.NodeID);
    });
    if (stillRunning) continue;
    putTask({ ...t, DesiredState: 'running', UpdatedAt: nowISO });
  }
  for (const id of m.starts.keys()) {
    if (tasks.get(id)?.DesiredState !== 'ready') m.starts.delete(id);
  }

  // 4. Tasks of removed services.
  for (const t of [...tasks.values()]) {
    if (serviceIDs.has(t.ServiceID)) continue;
    const s = t.Status.State;
    if (isTerminal(s) || compareStates(s, 'assigned') < 0 || nodeGoneOrDown(t.NodeID)) {
      deleteTask(t.ID);
    } else if (t.DesiredState !== 'remove') {
      putTask({ ...t, DesiredState: 'remove', UpdatedAt: nowISO });
    }
  }
  for (const id of [...m.updates.keys()]) if (!serviceIDs.has(id)) m.updates.delete(id);
  for (const id of [...m.restarts.keys()]) if (!serviceIDs.has(id)) m.restarts.delete(id);

  // Standalone containers' attachments: an address for the new ones; gone with their node or network.
  const attachmentWrites: Write[] = [];
  for (const a of view.attachments ?? []) {
    if (!nodeMap.has(a.NodeID) || !alloc.network(a.NetworkID)) {
      attachmentWrites.push({ kind: 'deleteAttachment', id: a.ID });
      continue;
    }
    if (a.Addresses?.length) continue;
    const addr = allocating(`attachment ${a.ID}`, () => alloc.address(a.NetworkID));
    if (addr) attachmentWrites.push({ kind: 'putAttachment', attachment: { ...a, Addresses: [addr] } satisfies StandaloneAttachment });
  }

  // 6. Scheduling.
  const services = new Map(view.services.map((s) => [s.ID, s]));
  const waiting = [...tasks.values()]
    .filter((t) => t.Status.State === 'pending' && wantsRunning(t) && services.has(t.ServiceID))
    .sort((a, b) => a.ServiceID.localeCompare(b.ServiceID) || (a.Slot ?? 0) - (b.Slot ?? 0) || a.ID.localeCompare(b.ID));
  const onNodes = [...tasks.values()].filter((t) => t.NodeID && wantsRunning(t) && !isTerminal(t.Status.State));
  const schedNodes = nodes.map((n) => toSchedulerNode(n, onNodes.filter((t) => t.NodeID === n.ID)));
  const place = (t: Task, decision: { nodeId?: string; error?: string }) => {
    if (decision.nodeId) {
      putTask({
        ...t, NodeID: decision.nodeId, UpdatedAt: nowISO,
        Status: { Timestamp: nowISO, State: 'assigned', Message: 'scheduler assigned task to node' },
      });
    } else if (decision.error && t.Status.Err !== decision.error) {
      putTask({ ...t, UpdatedAt: nowISO, Status: { ...t.Status, Timestamp: nowISO, Err: decision.error } });
    }
  };
  const free = waiting.filter((t) => !t.NodeID);
  const decisions = schedule(schedNodes, free.map((t) => toPlace(t)));
  free.forEach((t, i) => place(t, decisions[i]));
  for (const t of waiting.filter((x) => x.NodeID)) {
    const sn = schedNodes.filter((n) => n.id === t.NodeID);
    place(t, schedule(sn, [toPlace(t)])[0]);
  }

  // The transaction.
  const writes: Write[] = [
    ...nodeWrites.map((node): Write => ({ kind: 'putNode', node })),
    ...serviceWrites.map((service): Write => ({ kind: 'putService', service })),
    ...[...deleted].map((id): Write => ({ kind: 'deleteTask', id })),
    ...[...created].map((id): Write => ({ kind: 'putTask', task: tasks.get(id)!, create: true })),
    ...[...changed].map((id): Write => ({ kind: 'putTask', task: tasks.get(id)! })),
    ...attachmentWrites,
  ];
  return { writes, memory: m, wakeAt: Number.isFinite(wake) ? wake : undefined, log };
}

/** The scheduler's (and constraints') picture of a node. */
export function toSchedulerNode(n: Node, tasksOnNode: readonly Task[] = []): SchedulerNode {
  const res = n.Description?.Resources;
  return {
    id: n.ID,
    hostname: n.Description?.Hostname,
    role: n.Spec.Role ?? 'worker',
    addr: n.Status.Addr,
    platform: { os: n.Description?.Platform?.OS, architecture: n.Description?.Platform?.Architecture },
    labels: n.Spec.Labels,
    engineLabels: n.Description?.Engine?.Labels,
    availability: n.Spec.Availability,
    state: n.Status.State,
    resources: res ? { nanoCPUs: res.NanoCPUs ?? 0, memoryBytes: res.MemoryBytes ?? 0 } : undefined,
    tasks: tasksOnNode.map((t) => ({ serviceId: t.ServiceID, reservations: reservationsOf(t.Spec), hostPorts: hostPortsOf(t) })),
  };
}

/** The host-mode ports a task publishes ("tcp/8080"): no two tasks on a node may share one. */
export function hostPortsOf(t: Task): string[] {
  const ports = ((t.Endpoint as { Spec?: { Ports?: { Protocol?: string; PublishedPort?: number; PublishMode?: string }[] } } | undefined)?.Spec?.Ports) ?? [];
  return ports.filter((p) => p.PublishMode === 'host' && (p.PublishedPort ?? 0) > 0).map((p) => `${p.Protocol ?? 'tcp'}/${p.PublishedPort}`);
}

interface PlacementFields {
  Constraints?: string[];
  Preferences?: { Spread?: { SpreadDescriptor?: string } }[];
  MaxReplicas?: number;
}

function reservationsOf(spec: TaskSpec): { nanoCPUs: number; memoryBytes: number } | undefined {
  const r = (spec.Resources as { Reservations?: { NanoCPUs?: number; MemoryBytes?: number } } | undefined)?.Reservations;
  if (!r) return undefined;
  return { nanoCPUs: r.NanoCPUs ?? 0, memoryBytes: r.MemoryBytes ?? 0 };
}

function toPlace(t: Task): TaskToPlace {
  const p = (t.Spec.Placement ?? {}) as PlacementFields;
  return {
    id: t.ID,
    serviceId: t.ServiceID,
    constraints: p.Constraints,
    preferences: (p.Preferences ?? [])
      .map((x) => x.Spread?.SpreadDescriptor)
      .filter((s): s is string => typeof s === 'string')
      .map((spread) => ({ spread })),
    reservations: reservationsOf(t.Spec),
    maxReplicas: p.MaxReplicas,
    hostPorts: hostPortsOf(t),
  };
}

/** A global service's node predicate: its placement constraints (unparsable ones accept all). */
function eligibleFor(svc: Service): (n: Node) => boolean {
  let constraints;
  try {
    constraints = parseConstraints((svc.Spec.TaskTemplate?.Placement?.Constraints ?? []) as string[]);
  } catch {
    return () => true;
  }
  return (n) => nodeMatches(constraints, toSchedulerNode(n));
}
