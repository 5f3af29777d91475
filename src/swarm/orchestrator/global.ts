// The global orchestrator's reconcile: one task of the service on every eligible node, after
// swarmkit's manager/orchestrator/global/global.go, as one pure pass like replicated.ts.
//
// Per node (every node given, plus every node a task of the service names), as swarmkit's
// reconcileServices and reconcileOneNode do:
// - gone (not in `nodes`): its tasks are deleted (swarmkit's EventDeleteNode); nothing can stop
//   them any more.
// - drained, down, or no longer matching the service's constraints (`eligible`, the caller's
//   predicate): its tasks wanted running are shut down (desired 'shutdown'), and it gets no new
//   one. When it comes back, its newest task is a shut-down one the policy would restart, so it
//   gets a fresh task.
// - paused: keeps what it has, gets nothing new.
// - otherwise: a task wanted running whose state ended is shut down and, if shouldRestart()
//   agrees, replaced on the same node (desired 'ready', startAt = now + delay). A node without a
//   task wanted running gets a new one, unless its newest task ended and the policy says not to
//   restart it (as a replicated slot stays filled). Extra tasks wanted running on one node (a
//   duplicate) are shut down, keeping the most advanced.
// Then the reaper and the history retention of replicated.ts, per node.
//
// Worked example: nodes n1 (ready, active), n2 (ready, drain), n3 (ready, active, labels missing
// the constraint), tasks: t1 running on n1, t2 running on n2; eligible = (n) => n.ID !== 'n3':
//   → shutdown(t2) 'node is drained'; n3 gets nothing; n1 keeps t1.
// Adding n4 (ready, active) → create{nodeID n4, desired 'running'}.
import type { Node, Service, Task } from '../../api/types/swarm.ts';
import {
  DEFAULT_TASK_HISTORY_RETENTION, byStatusTime, newest, overRetention, reapable, statusTime,
  type OrchestratorAction,
} from './actions.ts';
import { restartDelayMs, shouldRestart } from './restart.ts';
import { compareStates, isTerminal, wantsRunning } from './task-state.ts';

export interface GlobalReconcileOptions {
  /** The current time, ms since the epoch. */
  now: number;
  /** Whether the service's placement constraints accept the node (the scheduler's matcher). */
  eligible?: (node: Node) => boolean;
  /** Per node ID, the times (ms) of the restarts made under the current spec. */
  restartHistory?: ReadonlyMap<string, readonly number[]>;
  /** The cluster's TaskHistoryRetentionLimit (default 5; negative keeps everything). */
  retention?: number;
}

export function isGlobal(service: Service): boolean {
  return service.Spec.Mode?.Global !== undefined;
}

export function reconcileGlobal(service: Service, tasks: readonly Task[], nodes: readonly Node[],
  opts: GlobalReconcileOptions): OrchestratorAction[] {
  const { now } = opts;
  const eligible = opts.eligible ?? (() => true);
  const retention = opts.retention ?? DEFAULT_TASK_HISTORY_RETENTION;
  const policy = service.Spec.TaskTemplate?.RestartPolicy;
  const nodeMap = new Map(nodes.map((n) => [n.ID, n]));
  const actions: OrchestratorAction[] = [];
  const deleted = new Set<string>();

  const byNode = new Map<string, Task[]>();
  for (const n of nodes) byNode.set(n.ID, []);
  for (const t of tasks) {
    if (t.ServiceID !== service.ID || !t.NodeID) continue;
    const list = byNode.get(t.NodeID);
    if (list) list.push(t); else byNode.set(t.NodeID, [t]);
  }

  const created = new Map<string, number>();
  for (const [nodeID, list] of [...byNode].sort(([a], [b]) => a.localeCompare(b))) {
    const node = nodeMap.get(nodeID);
    if (!node) {
      for (const t of list) {
        deleted.add(t.ID);
        actions.push({ kind: 'delete', taskID: t.ID, reason: 'node removed' });
      }
      continue;
    }
    const reason = node.Spec.Availability === 'drain' ? 'node is drained'
      : node.Status.State === 'down' ? 'node is down'
        : !eligible(node) ? 'node does not satisfy the constraints' : undefined;
    if (reason) {
      for (const t of list) if (wantsRunning(t)) actions.push({ kind: 'shutdown', taskID: t.ID, reason });
      continue;
    }

    // Most advanced first; the rest of the tasks wanted running are duplicates.
    const live = list.filter(wantsRunning)
      .sort((a, b) => compareStates(b.Status.State, a.Status.State) || byStatusTime(b, a));
    for (const t of live.slice(1)) actions.push({ kind: 'shutdown', taskID: t.ID, reason: 'duplicate task on node' });
    const history = opts.restartHistory?.get(nodeID) ?? [];
    const t = live[0];
    if (t) {
      if (!isTerminal(t.Status.State)) continue;
      const why = `task ${t.Status.State}`;
      actions.push({ kind: 'shutdown', taskID: t.ID, reason: why });
      if (shouldRestart(policy, { state: t.Status.State, endedAt: statusTime(t) || now }, history, now)) {
        actions.push({
          kind: 'create', nodeID, desiredState: 'ready', startAt: now + restartDelayMs(policy),
          replaces: t.ID, restartedAt: now, reason: `restart: ${why}`,
        });
        created.set(nodeID, 1);
      }
      continue;
    }
    const last = newest(list.filter((x) => x.DesiredState !== 'remove'));
    if (last && !shouldRestart(policy, { state: last.Status.State, endedAt: statusTime(last) }, history, now)) continue;
    if (node.Spec.Availability === 'active') {
      actions.push({ kind: 'create', nodeID, desiredState: 'running', reason: 'node eligible' });
      created.set(nodeID, 1);
    }
  }

  for (const t of tasks) {
    if (t.ServiceID === service.ID && reapable(t) && !deleted.has(t.ID)) {
      deleted.add(t.ID);
      actions.push({ kind: 'delete', taskID: t.ID, reason: 'removed task ended' });
    }
  }
  for (const [nodeID, list] of byNode) {
    if (!nodeMap.has(nodeID)) continue;
    for (const t of overRetention(list, created.get(nodeID) ?? 0, retention, deleted)) {
      deleted.add(t.ID);
      actions.push({ kind: 'delete', taskID: t.ID, reason: 'task history retention' });
    }
  }
  return actions.filter((a) => a.kind === 'delete' || a.kind === 'create' || !deleted.has(a.taskID));
}
