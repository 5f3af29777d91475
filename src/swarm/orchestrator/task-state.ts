// A task's observed state only ever moves forward. swarmkit (api/types.proto, TaskState) numbers
// its states so that "of two observations, the greater is the true one" — a lamport clock — and
// its dispatcher (manager/dispatcher/dispatcher.go, processUpdates) drops an agent's report whose
// state is lower than the stored one ("task status invalid transition") and one identical to the
// stored status, silently: the agent is not told off, the store just keeps the newer truth. A
// report of the same state with a new message or error is taken. advance() does exactly that,
// as a pure function returning the task to store (or the same object when nothing changes).
//
// Worked example:
//   advance(t /* running */, 'failed', 'task: non-zero exit (1)', { now, err: 'exit 1' })
//     → { task: {...t, Status: { State: 'failed', Message: ..., Err: 'exit 1', Timestamp: now }}, changed: true }
//   advance(t /* failed */, 'running', 'started', { now })
//     → { task: t, changed: false, ignored: 'backward' }
//
// The API's enum also has 'allocated' (moby api/types/swarm/task.go). swarmkit's proto once had
// ALLOCATED = 64 between NEW = 0 and PENDING = 128; today's has no ALLOCATED (PENDING = 64), so
// nothing produces it, but it keeps its rank between new and pending here, as the API lists it.
import type { Task, TaskState, TaskStatus } from '../../api/types/swarm.ts';

/** Every state, lowest first: the order is the comparison. */
export const TASK_STATES: readonly TaskState[] = [
  'new', 'allocated', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting',
  'running', 'complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned',
];

const RANK = new Map<TaskState, number>(TASK_STATES.map((s, i) => [s, i]));

export function isTaskState(s: unknown): s is TaskState {
  return typeof s === 'string' && RANK.has(s as TaskState);
}

/** The state's position; throws on a name that is not a task state (a programming error). */
export function rank(s: TaskState): number {
  const r = RANK.get(s);
  if (r === undefined) throw new TypeError(`unknown task state ${JSON.stringify(s)}`);
  return r;
}

/** Negative if a is before b, 0 if equal, positive if after (a sort comparator). */
export function compareStates(a: TaskState, b: TaskState): number {
  return rank(a) - rank(b);
}

/** Past running: the task's container has ended or never will run (complete..orphaned). */
export function isTerminal(s: TaskState): boolean {
  return rank(s) > rank('running');
}

/** Not yet past running: the task is, or may still become, running. */
export function isLive(s: TaskState): boolean {
  return !isTerminal(s);
}

/** Ended on its own without error (swarmkit's on-failure condition does not restart these). */
export function isSuccess(s: TaskState): boolean {
  return s === 'complete';
}

/** Ended badly: failed, rejected by the node, or orphaned with its node. */
export function isFailure(s: TaskState): boolean {
  return s === 'failed' || s === 'rejected' || s === 'orphaned';
}

/** The orchestrator wants the task to run (or get ready to): desired state not past running. */
export function wantsRunning(t: Pick<Task, 'DesiredState'>): boolean {
  return !isTerminal(t.DesiredState);
}

export interface AdvanceResult {
  task: Task;
  changed: boolean;
  /** Why nothing changed: a report older than what is stored, or an identical one. */
  ignored?: 'backward' | 'identical';
}

export interface AdvanceOptions {
  /** The time of the change (the manager's clock, as swarmkit prefers it). */
  now: Date;
  err?: string;
  containerStatus?: TaskStatus['ContainerStatus'];
}

/** The task with its observed state moved to `to`, unless that would move it backward. */
export function advance(task: Task, to: TaskState, message: string, opts: AdvanceOptions): AdvanceResult {
  const from = task.Status.State;
  const d = compareStates(to, from);
  if (d < 0) return { task, changed: false, ignored: 'backward' };
  const cur = task.Status;
  if (d === 0 && (cur.Message ?? '') === message && (cur.Err ?? '') === (opts.err ?? '')
    && opts.containerStatus === undefined) {
    return { task, changed: false, ignored: 'identical' };
  }
  const Status: TaskStatus = { Timestamp: opts.now.toISOString(), State: to, Message: message };
  if (opts.err) Status.Err = opts.err;
  const cs = opts.containerStatus ?? cur.ContainerStatus;
  if (cs) Status.ContainerStatus = cs;
  return { task: { ...task, Status, UpdatedAt: opts.now.toISOString() }, changed: true };
}

/** swarmkit's dispatcher defaultNodeDownPeriod: how long a node stays down before its tasks are orphaned. */
export const NODE_DOWN_ORPHAN_PERIOD_MS = 24 * 3600_000;

/**
 * The tasks of a node down since `downSince` (ms) to mark orphaned at `now`, with their new status:
 * once the node has been down for the period, every task that could have made progress without
 * the manager seeing it (assigned through running) is orphaned — nobody knows whether it still
 * runs; tasks already ended keep their state (swarmkit's moveTasksToOrphaned). The replicated
 * orchestrator has long since replaced them (a down node's tasks are restarted elsewhere); the
 * orphaned state lets the history retention reap them.
 */
export function orphanTasksOfDownNode(tasks: readonly Task[], downSince: number, now: number,
  period = NODE_DOWN_ORPHAN_PERIOD_MS): Task[] {
  if (now - downSince < period) return [];
  return tasks
    .filter((t) => compareStates(t.Status.State, 'assigned') >= 0 && compareStates(t.Status.State, 'running') <= 0)
    .map((t) => ({ ...t, Status: { ...t.Status, State: 'orphaned' as const } }));
}
