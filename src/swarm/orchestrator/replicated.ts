// The replicated orchestrator's reconcile: from a service, its tasks and the nodes, the actions
// that bring the service to Spec.Mode.Replicated.Replicas slots, each with one task meant to run.
// It folds swarmkit's service-level reconcile (manager/orchestrator/replicated/services.go), its
// task-level restarts (replicated/tasks.go with restart/restart.go) and the task reaper
// (taskreaper/task_reaper.go) into one pure pass. Rolling updates (update/updater.go) are not here.
//
// One pass, in order:
// 1. Slots. Tasks group by Slot. A slot is occupied when a task of it is wanted running (desired
//    state not past running), or when its newest task ended and the restart policy says not to
//    replace it (swarmkit's UpdatableTasksInSlot: `--restart-condition none` leaves the slot filled
//    by its completed task). Tasks whose desired state is already remove do not occupy. The other
//    slots are dead.
// 2. Scale. Fewer occupied slots than replicas → new tasks in the lowest slot numbers not occupied
//    (a dead slot's number is reused and keeps its history). More → keep `replicas` slots in
//    swarmkit's order and remove the rest: a slot's rank is its task's count on its node (the nth
//    copy of the service there), so the nodes with the most copies lose theirs first; at equal
//    rank running tasks are kept before the others and lower slots before higher; slots whose task
//    is not yet on a node are removed before any other. A removed slot's occupying tasks get
//    desired state 'remove'. Dead slots not reused are deleted with their history, as swarmkit
//    does, except tasks still stopping after a 'remove' (the reaper deletes those once ended).
// 3. Restarts, in the kept slots. A task wanted running whose state ended, or whose node is down,
//    drained or gone, is shut down; if shouldRestart() agrees, a replacement in the same slot is
//    created desired 'ready' with `startAt` = now + the restart delay (no delay off a drained, down
//    or vanished node).
// 4. Reaper. Tasks desired 'remove' that never reached a node or have ended are deleted; then each
//    slot keeps at most `retention` tasks (default 5, running ones never deleted).
//
// Worked example: replicas 3; slot 1 running on n1, slot 2 running on n1, slot 4 failed on n2
// (desired running, policy default), n1 and n2 ready, now = T:
//   → shutdown(slot-4 task), create{slot 4, desired 'ready', startAt T+5000, restartedAt T}
//     (the slot is occupied by its restart, so 3 slots are filled and nothing scales).
// With replicas 1 instead, the keep order is slot 1 (1st copy on n1, running), slot 4 (1st copy
// on n2, not running), slot 2 (2nd copy on n1); slot 1 is kept:
//   → remove(slot-4 task), remove(slot-2 task).
import type { Node, Service, Task } from '../../api/types/swarm.ts';
import {
  DEFAULT_TASK_HISTORY_RETENTION, newest, overRetention, reapable, statusTime, type OrchestratorAction,
} from './actions.ts';
import { restartDelayMs, shouldRestart } from './restart.ts';
import { isTerminal, wantsRunning } from './task-state.ts';

export interface ReconcileOptions {
  /** The current time, ms since the epoch. */
  now: number;
  /** Per slot, the times (ms) of the restarts made under the current spec (see restart.ts). */
  restartHistory?: ReadonlyMap<number, readonly number[]>;
  /** The cluster's TaskHistoryRetentionLimit (default 5; negative keeps everything). */
  retention?: number;
}

/** Why a node can no longer hold a task, or undefined when it can (swarmkit's InvalidNode). */
export function nodeProblem(nodeID: string | undefined, nodes: ReadonlyMap<string, Node>): string | undefined {
  if (!nodeID) return undefined;
  const n = nodes.get(nodeID);
  if (!n) return 'node removed';
  if (n.Status.State === 'down') return 'node is down';
  if (n.Spec.Availability === 'drain') return 'node is drained';
  return undefined;
}

export function replicasOf(service: Service): number {
  const r = service.Spec.Mode?.Replicated?.Replicas;
  return typeof r === 'number' && r >= 0 ? Math.floor(r) : 1;
}

interface SlotInfo {
  slot: number;
  tasks: Task[];
  /** Tasks wanted running. */
  live: Task[];
  /** The tasks that occupy the slot: `live`, else the newest ended task not to restart. */
  occupying: Task[];
}

export function reconcileReplicated(service: Service, tasks: readonly Task[], nodes: readonly Node[],
  opts: ReconcileOptions): OrchestratorAction[] {
  const { now } = opts;
  const retention = opts.retention ?? DEFAULT_TASK_HISTORY_RETENTION;
  const nodeMap = new Map(nodes.map((n) => [n.ID, n]));
  const policy = service.Spec.TaskTemplate?.RestartPolicy;
  const history = (slot: number) => opts.restartHistory?.get(slot) ?? [];
  const actions: OrchestratorAction[] = [];

  // 1. Slots.
  const slots = new Map<number, SlotInfo>();
  for (const t of tasks) {
    if (t.ServiceID !== service.ID || !t.Slot || t.Slot < 1) continue;
    let s = slots.get(t.Slot);
    if (!s) slots.set(t.Slot, s = { slot: t.Slot, tasks: [], live: [], occupying: [] });
    s.tasks.push(t);
    if (wantsRunning(t)) s.live.push(t);
  }
  const occupied: SlotInfo[] = [];
  const dead: SlotInfo[] = [];
  for (const s of [...slots.values()].sort((a, b) => a.slot - b.slot)) {
    const last = newest(s.tasks.filter((t) => t.DesiredState !== 'remove'));
    if (s.live.length > 0) {
      s.occupying = s.live;
      occupied.push(s);
    } else if (last && !shouldRestart(policy, { state: last.Status.State, endedAt: statusTime(last) }, history(s.slot), now)) {
      s.occupying = [last];
      occupied.push(s);
    } else {
      dead.push(s);
    }
  }

  // 2. Scale.
  const want = replicasOf(service);
  const created = new Map<number, number>();
  const removeSlot = (s: SlotInfo) => {
    for (const t of s.occupying) actions.push({ kind: 'remove', taskID: t.ID, reason: 'scale down' });
  };
  const deleteDeadSlot = (s: SlotInfo) => {
    for (const t of s.tasks) {
      if (t.DesiredState === 'remove' && !reapable(t)) continue;
      deleted.add(t.ID);
      actions.push({ kind: 'delete', taskID: t.ID, reason: 'slot no longer used' });
    }
  };
  const deleted = new Set<string>();
  let kept = occupied;
  if (want > occupied.length) {
    const taken = new Set(occupied.map((s) => s.slot));
    for (let slot = 1, n = want - occupied.length; n > 0; slot++) {
      if (taken.has(slot)) continue;
      actions.push({ kind: 'create', slot, desiredState: 'running', reason: 'scale up' });
      created.set(slot, 1);
      taken.add(slot);
      n--;
    }
    for (const s of dead) if (!created.has(s.slot)) deleteDeadSlot(s);
  } else {
    for (const s of dead) deleteDeadSlot(s);
    if (want < occupied.length) {
      const order = scaleDownOrder(occupied);
      kept = order.slice(0, want);
      for (const s of order.slice(want)) removeSlot(s);
    }
  }

  // 3. Restarts in the kept slots.
  for (const s of kept) {
    for (const t of s.live) {
      const problem = nodeProblem(t.NodeID, nodeMap);
      if (!isTerminal(t.Status.State) && !problem) continue;
      const why = problem ?? `task ${t.Status.State}`;
      actions.push({ kind: 'shutdown', taskID: t.ID, reason: why });
      if (!shouldRestart(policy, { state: t.Status.State, endedAt: statusTime(t) || now }, history(s.slot), now)) continue;
      // Off a drained, down or vanished node the task did not fail: its replacement starts at once
      // (swarmkit waits the restart delay for a down node too; berth does not, so a node's loss is
      // repaired within about one heartbeat period, issue 17's target).
      actions.push({
        kind: 'create', slot: s.slot, desiredState: 'ready', startAt: now + restartDelayMs(policy, problem !== undefined),
        replaces: t.ID, restartedAt: now, reason: `restart: ${why}`,
      });
      created.set(s.slot, (created.get(s.slot) ?? 0) + 1);
    }
  }

  // 4. Reaper and history retention.
  for (const t of tasks) {
    if (t.ServiceID === service.ID && reapable(t) && !deleted.has(t.ID)) {
      deleted.add(t.ID);
      actions.push({ kind: 'delete', taskID: t.ID, reason: 'removed task ended' });
    }
  }
  for (const s of slots.values()) {
    if (dead.includes(s) && !created.has(s.slot)) continue;
    for (const t of overRetention(s.tasks, created.get(s.slot) ?? 0, retention, deleted)) {
      deleted.add(t.ID);
      actions.push({ kind: 'delete', taskID: t.ID, reason: 'task history retention' });
    }
  }
  // A task deleted here needs no other action in the same pass.
  return actions.filter((a) => a.kind === 'delete' || a.kind === 'create' || !deleted.has(a.taskID));
}

/**
 * Occupied slots in the order scale-down keeps them (first kept, last removed): swarmkit's
 * slotsByRunningState, then the per-node copy index with unassigned slots last, lower slots
 * first at a tie.
 */
export function scaleDownOrder<S extends { slot: number; occupying: readonly Task[] }>(
  slots: readonly S[]): S[] {
  const running = (s: S) => s.occupying.some((t) => t.Status.State === 'running');
  const base = [...slots].sort((a, b) => Number(running(b)) - Number(running(a)) || a.slot - b.slot);
  const perNode = new Map<string, number>();
  const ranked = base.map((s, pos) => {
    const t = s.occupying.length === 1 ? s.occupying[0] : undefined;
    let index = -1;
    if (t?.NodeID) {
      index = (perNode.get(t.NodeID) ?? 0) + 1;
      perNode.set(t.NodeID, index);
    }
    return { s, index, pos };
  });
  ranked.sort((a, b) => {
    if (a.index < 0 !== b.index < 0) return a.index < 0 ? 1 : -1;
    return a.index - b.index || a.pos - b.pos;
  });
  return ranked.map((r) => r.s);
}
