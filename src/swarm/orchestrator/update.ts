// The rolling update as a pure step function: swarmkit's updater (manager/orchestrator/update/
// updater.go) with its goroutines, timers and watches turned into a state the caller persists
// between steps. The caller runs updateStep on every change (service, task or timer), applies the
// actions in one transaction with the returned UpdateStatus, stores the returned state, and, when
// `rollbackTo` is set, also stores Spec = rollbackTo and PreviousSpec = undefined (swarmkit's
// rollbackUpdate). As in swarmkit, a new `docker service update` must clear UpdateStatus (the
// control API does), and a changed TaskTemplate starts a new update (the state's `target` no
// longer matches, as swarmkit cancels the running updater and starts another).
//
// "Outdated": a task is outdated when its Spec is not deep-equal to Spec.TaskTemplate (swarmkit's
// IsTaskDirty compares the task spec with the service's; there is no spec version in the API's
// Task, so the spec itself is compared). A slot (a node, for a global service) is outdated when one
// of its tasks wanted running is, or when it has more than one (swarmkit's isSlotDirty: the update
// keeps one up-to-date task, preferring one desired running, and shuts the others down).
// swarmkit's two exceptions are not made: a change of placement
// constraints alone that the current node still satisfies, and PullOptions (not in the API).
//
// The config is UpdateConfig, or RollbackConfig while UpdateStatus is rollback_started; absent, it
// is swarmkit's default (api/defaults/service.go): Parallelism 1, Delay 0, FailureAction pause,
// Monitor 5s, MaxFailureRatio 0, Order stop-first. Given but partial, absent fields are the API's
// zero values (Parallelism 0 = all at once, pause, stop-first), except Monitor: absent or 0 is 5s
// (moby's updateConfigToGRPC leaves a 0 Monitor unset, and swarmkit then takes its default).
//
// Each step, in order:
// 1. Paused (paused, rollback_paused) → nothing. No outdated slot and nothing in flight → an update
//    in progress completes at once ("update completed" / "rollback completed"); otherwise, if
//    UpdateStatus is unset, it becomes updating / "update in progress" / StartedAt now.
// 2. Failures (not with FailureAction continue, where swarmkit does not watch): a task this update
//    created that is past running, not yet counted, and either never seen running or seen running
//    at most Monitor ago counts. When failures / (outdated slots at the start) > MaxFailureRatio:
//    pause → paused, "update paused due to failure or early termination of task <id>";
//    rollback → rollback_started, "update rolled back due to failure or early termination of task
//    <id>", rollbackTo = PreviousSpec; during a rollback either → rollback_paused, "rollback paused
//    due to failure or early termination of task <id>" (never roll back a rollback). No previous
//    spec → the update stops where it is (swarmkit's rollbackUpdate fails and changes nothing).
// 3. Slots in flight: swarmkit's workers. A slot's new task is first seen at running (or later) →
//    with start-first its old tasks are shut down now; the slot stays in flight for Delay more,
//    then frees its place (swarmkit's worker sleeps Delay after each task: "batches" of Parallelism).
// 4. Start outdated slots, lowest slot (node ID) first, while fewer than Parallelism are in flight.
//    stop-first: shut the old tasks down and create the replacement desired 'ready' with
//    `afterStop` = those tasks (it runs once they stopped); start-first: create it desired
//    'running' (old tasks go in step 3). A slot already holding an up-to-date task reuses it
//    (swarmkit's useExistingTask) instead of creating one.
// 5. Nothing in flight nor left: watch for failures for Monitor more (Delay + 1s if Delay ≥
//    Monitor), then completed / "update completed" (rollback_completed / "rollback completed"),
//    CompletedAt now, and the state is dropped.
//
// Worked example: replicas 3 all outdated, UpdateConfig { Parallelism: 2, Delay: 10e9, Monitor:
// 5e9 }, no UpdateStatus, at T:
//   updateStep(svc, tasks, undefined, T) → status updating "update in progress";
//     shutdown(slot-1 old), create{slot 1, 'ready', afterStop [old1]}, same for slot 2.
//   At T+1s both new tasks run → nothing (their slots stay in flight until T+11s).
//   At T+11s → slot 3: shutdown + create. Its task runs at T+12s; at T+22s the slot is done and the
//   monitor runs Delay + 1s (Delay ≥ Monitor) until T+33s; a step then → completed "update completed".
import type { Service, ServiceSpec, Task, UpdateConfig, UpdateStatus } from '../../api/types/swarm.ts';
import type { OrchestratorAction } from './actions.ts';
import { isTerminal, wantsRunning } from './task-state.ts';

/** swarmkit's defaults.Service.Update and .Rollback (identical). */
export const DEFAULT_UPDATE_CONFIG: Readonly<Required<UpdateConfig>> = {
  Parallelism: 1, Delay: 0, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'stop-first',
};

export interface ResolvedUpdateConfig {
  /** 0 = all at once. */
  parallelism: number;
  delayMs: number;
  failureAction: 'continue' | 'pause' | 'rollback';
  monitorMs: number;
  maxFailureRatio: number;
  order: 'stop-first' | 'start-first';
}

export function resolveUpdateConfig(c: UpdateConfig | undefined): ResolvedUpdateConfig {
  const cfg = c ?? DEFAULT_UPDATE_CONFIG;
  return {
    parallelism: Math.max(0, Math.floor(cfg.Parallelism ?? 0)),
    delayMs: Math.max(0, cfg.Delay ?? 0) / 1e6,
    failureAction: cfg.FailureAction ?? 'pause',
    // moby sends swarmkit no Monitor for 0, so 0 is the default too (convert/service.go).
    monitorMs: (cfg.Monitor && cfg.Monitor > 0 ? cfg.Monitor : DEFAULT_UPDATE_CONFIG.Monitor) / 1e6,
    maxFailureRatio: cfg.MaxFailureRatio ?? 0,
    order: cfg.Order ?? 'stop-first',
  };
}

/** One slot being replaced (one of swarmkit's busy workers). */
export interface InFlightSlot {
  slot?: number;
  nodeID?: string;
  /** The outdated tasks being replaced. */
  old: string[];
  /** The replacement, once seen in the store (the caller assigns IDs to created tasks). */
  newTaskID?: string;
  startedAt: number;
  /** When the replacement was first seen at running or past it (ms). */
  runningAt?: number;
}

/** What the caller keeps between steps; plain JSON. */
export interface UpdateState {
  /** The canonical TaskTemplate this update rolls out; another one means a new update. */
  target: string;
  /** Outdated slots when the update started: the failure ratio's denominator. */
  total: number;
  inFlight: InFlightSlot[];
  /** Tasks this update created → when first seen running (ms), 0 before (swarmkit's updatedTasks). */
  updated: Record<string, number>;
  /** Tasks already counted as failures. */
  failures: string[];
  /** Set once nothing is left to start: the update completes at this time. */
  monitorUntil?: number;
  /** A rollback was asked for with no previous spec: the update stays where it is. */
  stopped?: boolean;
}

export interface UpdateStepResult {
  actions: OrchestratorAction[];
  /** Undefined when no update is running (finished, or about to restart towards rollbackTo). */
  state: UpdateState | undefined;
  /** The service's UpdateStatus after the step (the same object when unchanged). */
  updateStatus: UpdateStatus | undefined;
  /** A rollback started: store Spec = this, PreviousSpec = undefined. */
  rollbackTo?: ServiceSpec;
}

/** JSON with object keys sorted and undefined fields dropped, for deep comparison. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) => {
    if (val && typeof val === 'object' && !Array.isArray(val)) {
      const o = val as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
    }
    return val;
  }) ?? 'null';
}

/** The task's spec differs from the service's TaskTemplate (swarmkit's IsTaskDirty, see above). */
export function isOutdated(service: Service, t: Task): boolean {
  return canonical(t.Spec ?? {}) !== canonical(service.Spec.TaskTemplate ?? {});
}

const keyOf = (t: { Slot?: number; NodeID?: string }) => (t.Slot ? `s${t.Slot}` : `n${t.NodeID ?? ''}`);
const flightKey = (f: InFlightSlot) => (f.slot ? `s${f.slot}` : `n${f.nodeID ?? ''}`);

function failureMessage(verb: string, taskID: string): string {
  return `${verb} due to failure or early termination of task ${taskID}`;
}

export function updateStep(service: Service, tasks: readonly Task[], prev: UpdateState | undefined,
  now: number): UpdateStepResult {
  let status = service.UpdateStatus;
  const nowISO = new Date(now).toISOString();
  if (status?.State === 'paused' || status?.State === 'rollback_paused') {
    return { actions: [], state: prev, updateStatus: status };
  }
  const rollingBack = status?.State === 'rollback_started';
  const cfg = resolveUpdateConfig(rollingBack ? service.Spec.RollbackConfig : service.Spec.UpdateConfig);
  const reason = rollingBack ? 'rollback' : 'update';
  const target = canonical(service.Spec.TaskTemplate ?? {});

  // Live tasks (wanted running) by slot, or by node for a global service.
  const own = tasks.filter((t) => t.ServiceID === service.ID);
  const byID = new Map(own.map((t) => [t.ID, t]));
  const live = new Map<string, Task[]>();
  for (const t of own) {
    if (!wantsRunning(t) || (!t.Slot && !t.NodeID)) continue;
    const k = keyOf(t);
    live.set(k, [...(live.get(k) ?? []), t]);
  }
  // Tasks shut down earlier in this step no longer hold their slot outdated.
  const stopping = new Set<string>();
  const outdatedKeys = () => [...live.entries()]
    .filter(([, all]) => {
      const ts = all.filter((t) => !stopping.has(t.ID));
      return ts.length > 1 || ts.some((t) => isOutdated(service, t));
    })
    .map(([k]) => k)
    .sort((a, b) => {
      const na = Number(a.slice(1)); const nb = Number(b.slice(1));
      return a[0] === 's' && b[0] === 's' ? na - nb : a.localeCompare(b);
    });

  // 1. Start (or find nothing to do).
  let state = prev && prev.target === target ? structuredClone(prev) : undefined;
  if (!state) {
    const outdated = outdatedKeys();
    if (outdated.length === 0) {
      if (status?.State === 'updating' || rollingBack) status = complete(status, rollingBack, nowISO);
      return { actions: [], state: undefined, updateStatus: status };
    }
    state = { target, total: outdated.length, inFlight: [], updated: {}, failures: [] };
    if (!status) status = { State: 'updating', StartedAt: nowISO, Message: 'update in progress' };
  }
  if (state.stopped) return { actions: [], state, updateStatus: status };

  // The replacements created by earlier steps, now in the store (before counting failures, so a
  // replacement that failed before this step saw it still counts).
  for (const f of state.inFlight) {
    if (f.newTaskID) continue;
    const fresh = (live.get(flightKey(f)) ?? []).filter((t) => !f.old.includes(t.ID) && !isOutdated(service, t));
    if (fresh.length === 0) continue;
    f.newTaskID = fresh[0].ID;
    state.updated[f.newTaskID] ??= 0;
  }

  // 2. Failures.
  if (cfg.failureAction !== 'continue') {
    for (const [id, runningAt] of Object.entries(state.updated)) {
      const t = byID.get(id);
      if (!t || !isTerminal(t.Status.State) || state.failures.includes(id)) continue;
      if (runningAt !== 0 && now - runningAt > cfg.monitorMs) continue;
      state.failures.push(id);
      if (state.failures.length / state.total <= cfg.maxFailureRatio) continue;
      if (cfg.failureAction === 'pause' || rollingBack) {
        const State = rollingBack ? 'rollback_paused' : 'paused';
        const msg = failureMessage(rollingBack ? 'rollback paused' : 'update paused', id);
        return { actions: [], state, updateStatus: { ...status, State, Message: msg } };
      }
      if (!service.PreviousSpec) {
        state.stopped = true;
        return { actions: [], state, updateStatus: status };
      }
      return {
        actions: [], state: undefined, rollbackTo: service.PreviousSpec,
        updateStatus: { ...status, State: 'rollback_started', Message: failureMessage('update rolled back', id) },
      };
    }
  }

  const actions: OrchestratorAction[] = [];
  const shutdown = (ids: readonly string[]) => {
    for (const id of ids) {
      const t = byID.get(id);
      if (!t || !wantsRunning(t) || stopping.has(id)) continue;
      stopping.add(id);
      actions.push({ kind: 'shutdown', taskID: id, reason });
    }
  };

  // 3. Slots in flight.
  state.inFlight = state.inFlight.filter((f) => {
    if (!f.newTaskID) return true;
    if (f.runningAt === undefined) {
      const t = byID.get(f.newTaskID);
      if (!t || t.Status.State !== 'running' && !isTerminal(t.Status.State)) return true;
      f.runningAt = now;
      if (f.newTaskID in state.updated) state.updated[f.newTaskID] = now;
      // start-first: the old tasks go once the new one runs (not when it failed).
      if (t.Status.State === 'running') shutdown(f.old);
    }
    return now < f.runningAt + cfg.delayMs;
  });

  // 4. Start outdated slots.
  const limit = cfg.parallelism === 0 ? Infinity : cfg.parallelism;
  const busy = new Set(state.inFlight.map(flightKey));
  const waiting = outdatedKeys().filter((k) => !busy.has(k));
  while (state.inFlight.length < limit && waiting.length > 0) {
    const k = waiting.shift() as string;
    const slotTasks = (live.get(k) ?? []).filter((t) => !stopping.has(t.ID));
    const clean = slotTasks.filter((t) => !isOutdated(service, t));
    const existing = clean.find((t) => t.DesiredState === 'running') ?? clean[0];
    const old = slotTasks.filter((t) => t !== existing).map((t) => t.ID);
    const where = slotTasks[0].Slot ? { slot: slotTasks[0].Slot } : { nodeID: slotTasks[0].NodeID };
    const f: InFlightSlot = { ...where, old, startedAt: now };
    if (existing) {
      // useExistingTask: keep the up-to-date task; the old ones go now (stop-first) or once it runs.
      f.newTaskID = existing.ID;
      if (cfg.order === 'stop-first' || existing.Status.State === 'running') shutdown(old);
    } else if (cfg.order === 'stop-first') {
      shutdown(old);
      actions.push({ kind: 'create', ...where, desiredState: 'ready', afterStop: old, reason });
    } else {
      actions.push({ kind: 'create', ...where, desiredState: 'running', reason });
    }
    state.inFlight.push(f);
    state.monitorUntil = undefined;
  }

  // 5. Monitor, then complete.
  if (state.inFlight.length === 0 && waiting.length === 0) {
    state.monitorUntil ??= now + (cfg.delayMs >= cfg.monitorMs ? cfg.delayMs + 1000 : cfg.monitorMs);
    if (now >= state.monitorUntil) {
      return { actions, state: undefined, updateStatus: complete(status, rollingBack, nowISO) };
    }
  }
  return { actions, state, updateStatus: status };
}

function complete(status: UpdateStatus | undefined, rollingBack: boolean, nowISO: string): UpdateStatus {
  return rollingBack
    ? { ...status, State: 'rollback_completed', Message: 'rollback completed', CompletedAt: nowISO }
    : { ...status, State: 'completed', Message: 'update completed', CompletedAt: nowISO };
}
