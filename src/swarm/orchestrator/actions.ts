// What the orchestrators ask the cluster store to do, and the parts both of them share: the
// task reaper's rules and the task history retention (swarmkit manager/orchestrator/taskreaper/
// task_reaper.go). The orchestrators never write: they return actions; the caller applies them
// in one transaction and runs the reconcile again on the next change.
//
// The four verbs follow swarmkit's use of the desired state:
// - create: a new task (desired 'running', or 'ready' for a restart that must wait `startAt`,
//   as swarmkit's restart supervisor creates it READY and moves it to RUNNING after the delay,
//   or for a stop-first update's replacement that must wait until `afterStop` tasks stopped);
// - shutdown: desired state → shutdown (the agent stops it; the task stays as history);
// - remove: desired state → remove (scale-down, drain: stop it, then the reaper deletes it);
// - delete: drop the task from the store (history past the retention limit, reaped tasks).
//
// Worked example: a slot holding seven ended tasks and a running one with the default limit of 5
// gives three `delete` actions for its three oldest ended tasks (8 − 3 = 5 kept).
import type { Task } from '../../api/types/swarm.ts';
import { compareStates, isTerminal, wantsRunning } from './task-state.ts';

export type OrchestratorAction =
  | {
    kind: 'create';
    /** Replicated tasks: the slot the task fills. */
    slot?: number;
    /** Global tasks: the node the task belongs to. */
    nodeID?: string;
    desiredState: 'ready' | 'running';
    /** A restart's replacement may move to desired 'running' from this time (ms since the epoch). */
    startAt?: number;
    /**
     * A stop-first update's replacement (desired 'ready') may move to desired 'running' only once
     * these tasks have stopped (swarmkit's restart supervisor DelayStart with waitStop).
     */
    afterStop?: string[];
    /** The task this one replaces (a restart). */
    replaces?: string;
    /** Set on restarts: the time to append to the slot's (node's) restart history. */
    restartedAt?: number;
    reason: string;
  }
  | { kind: 'shutdown' | 'remove' | 'delete'; taskID: string; reason: string };

/** swarmkit's default cluster TaskHistoryRetentionLimit (docker swarm init --task-history-limit). */
export const DEFAULT_TASK_HISTORY_RETENTION = 5;

export function statusTime(t: Task): number {
  const ms = Date.parse(t.Status.Timestamp);
  return Number.isNaN(ms) ? 0 : ms;
}

/** Oldest status first; a task without a timestamp counts as oldest, as in swarmkit's reaper. */
export function byStatusTime(a: Task, b: Task): number {
  return statusTime(a) - statusTime(b) || a.ID.localeCompare(b.ID);
}

/** Newest first among tasks; undefined for none. */
export function newest(tasks: readonly Task[]): Task | undefined {
  return [...tasks].sort(byStatusTime).at(-1);
}

/**
 * The reaper's immediate deletions: tasks whose desired state is remove and that either never got
 * to a node (state before assigned) or have ended (complete or later).
 */
export function reapable(t: Task): boolean {
  return t.DesiredState === 'remove'
    && (compareStates(t.Status.State, 'assigned') < 0 || compareStates(t.Status.State, 'complete') >= 0);
}

/** A task the retention never deletes: wanted running and not yet past running. */
function protectedFromReaper(t: Task): boolean {
  return wantsRunning(t) && !isTerminal(t.Status.State);
}

/**
 * History retention for one slot (or one node of a global service): the tasks to delete, oldest
 * first, so that at most `limit` tasks remain, counting `created` tasks about to be added.
 * Running tasks are never deleted; a negative limit keeps everything (swarmkit's meaning).
 */
export function overRetention(tasks: readonly Task[], created: number, limit: number,
  skip: ReadonlySet<string>): Task[] {
  if (limit < 0) return [];
  const kept = tasks.filter((t) => !skip.has(t.ID));
  let count = kept.length + created;
  const out: Task[] = [];
  for (const t of [...kept].sort(byStatusTime)) {
    if (count <= limit) break;
    if (protectedFromReaper(t)) continue;
    out.push(t);
    count--;
  }
  return out;
}
