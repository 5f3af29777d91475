// Whether a task that ended (or whose node went away) gets a replacement, and when that
// replacement may start: swarmkit's restart supervisor (manager/orchestrator/restart/restart.go)
// as pure functions. The supervisor's in-memory history becomes an input: the times at which this
// slot (or, for a global service, this node) was restarted under the current spec; the caller
// keeps it and appends each `restartedAt` the orchestrators return.
//
// swarmkit's rules, kept here:
// - condition none → never; on-failure → not after a clean exit (state complete); any → always.
//   A task on a node that went down is still "running" as far as its status says, so on-failure
//   and any both replace it.
// - MaxAttempts 0 → unlimited. Window 0 → at most MaxAttempts restarts in all. Otherwise count only
//   restarts after (ended − Window) and before the task ended, and allow one more while that count
//   is below MaxAttempts.
// - The delay (default 5s) is not applied when the old task's node is drained, down or gone.
//
// Worked example: policy { Condition: 'on-failure', MaxAttempts: 2, Window: 60e9 }, a task that
// failed at 12:00:30 after restarts at 11:58:00 and 12:00:00:
//   shouldRestart(policy, { state: 'failed', endedAt: Date.parse('…12:00:30') },
//                 [Date.parse('…11:58:00'), Date.parse('…12:00:00')], now)
//   → true: only the 12:00:00 restart is in the minute before the failure (1 < 2).
//   restartDelayMs(policy) → 5000 (Delay unset: swarmkit's default).
import type { RestartPolicy, TaskState } from '../../api/types/swarm.ts';

/** swarmkit api/defaults: Restart { Condition: any, Delay: 5s, MaxAttempts: 0, Window: 0 }. */
export const DEFAULT_RESTART_DELAY_NS = 5_000_000_000;

export interface ResolvedRestartPolicy {
  condition: 'none' | 'on-failure' | 'any';
  delayMs: number;
  maxAttempts: number;
  windowMs: number;
}

/** The policy with Docker's defaults filled in and durations in milliseconds. */
export function resolvePolicy(p: RestartPolicy | undefined): ResolvedRestartPolicy {
  return {
    condition: p?.Condition ?? 'any',
    delayMs: Math.max(0, p?.Delay ?? DEFAULT_RESTART_DELAY_NS) / 1e6,
    maxAttempts: Math.max(0, p?.MaxAttempts ?? 0),
    windowMs: Math.max(0, p?.Window ?? 0) / 1e6,
  };
}

export interface EndedTask {
  /** The task's observed state when the decision is made. */
  state: TaskState;
  /** When it ended (its status timestamp), ms since the epoch; undefined → `now`. */
  endedAt?: number;
}

/**
 * Whether the ended task gets a replacement. `restarts` are the times (ms) of earlier restarts
 * of the same slot/node under the current spec version.
 */
export function shouldRestart(policy: RestartPolicy | undefined, ended: EndedTask,
  restarts: readonly number[], now: number): boolean {
  const p = resolvePolicy(policy);
  if (p.condition === 'none') return false;
  if (p.condition === 'on-failure' && ended.state === 'complete') return false;
  if (p.maxAttempts === 0) return true;
  if (p.windowMs === 0) return restarts.length < p.maxAttempts;
  const at = ended.endedAt ?? now;
  const lookback = at - p.windowMs;
  const inWindow = restarts.filter((r) => r > lookback && r < at).length;
  return inWindow < p.maxAttempts;
}

/** Milliseconds the replacement waits before it may start; none when the task left with its node (drained, down, gone). */
export function restartDelayMs(policy: RestartPolicy | undefined, nodeDrained = false): number {
  return nodeDrained ? 0 : resolvePolicy(policy).delayMs;
}

/** The restart times still worth keeping for `policy` (drops those the window can never see). */
export function pruneRestartHistory(policy: RestartPolicy | undefined, restarts: readonly number[],
  now: number): number[] {
  const p = resolvePolicy(policy);
  if (p.maxAttempts === 0) return [];
  if (p.windowMs === 0) return [...restarts];
  return restarts.filter((r) => r > now - p.windowMs);
}
