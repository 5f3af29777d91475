// The container state machine: which `State.Status` may follow which, and what the other fields
// of State say in each. `transition` is the only code that changes a record's State (besides
// `withHealth`, which only sets the healthcheck result); the callers check first and give
// Docker's texts ("Container x is not running", ...), so an illegal pair reaching the table is a
// bug in the engine, refused as a Conflict rather than written to disk.
//
// The pairs are those the engine makes (see TRANSITIONS): `start` (created, exited, or a restart
// waiting its delay) → running ⇄ paused (pause/unpause, a non-KILL `kill` of a paused container
// resumes it); the process ends (running or paused) → exited → restarting (restart policy) →
// running or exited (a `stop` of a container waiting to restart); a failed start stays created
// (never started) or exited; reconcile at daemon start re-adopts what the runtime still runs
// (→ running, then → paused when frozen); removal from a stopped container (→ removing), and
// Docker's dead for a removal that failed half-way.
import { EngineError } from '../../common/errors.ts';
import type { HealthState } from '../health.ts';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export const STATUSES: readonly ContainerStatus[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  /** Present once a healthcheck has run its monitor (src/engine/health.ts). */
  Health?: HealthState;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** What a transition may set besides the flags (which follow from the new status). */
export type StateFields = Partial<Pick<ContainerState, 'Pid' | 'ExitCode' | 'Error' | 'StartedAt' | 'FinishedAt' | 'OOMKilled'>>;

/** from → the statuses it may become. */
export const TRANSITIONS: Readonly<Record<ContainerStatus, readonly ContainerStatus[]>> = {
  // start; a failed first start stays created (with its Error and ExitCode); remove.
  created: ['running', 'created', 'removing'],
  // reconcile re-adopts a running container (its pid); pause; the process ends.
  running: ['running', 'paused', 'exited'],
  // unpause (or kill with another signal than KILL, or reconcile); the process ends (kill -9).
  paused: ['running', 'exited'],
  // the delay ends (or `start`); `stop` cancels it, or the restart fails, or the daemon restarts
  // and finds the process gone; `rm -f`.
  restarting: ['running', 'exited', 'removing'],
  // a removal that fails half-way (Docker's dead).
  removing: ['dead'],
  // start again; a failed start stays exited; the restart policy; remove.
  exited: ['running', 'exited', 'restarting', 'removing'],
  dead: ['removing'],
};

export function canTransition(from: ContainerStatus, to: ContainerStatus): boolean {
  return TRANSITIONS[from]?.includes(to) ?? false;
}

/** The State of a new container. */
export function createdState(): ContainerState {
  return { Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME };
}

/**
 * The State after going to `to`: Running/Paused/Restarting/Dead follow from the status, Pid is 0
 * unless a process is alive (running, paused), and the other fields are those given, else kept.
 * Throws a Conflict for a pair the table does not allow.
 */
export function transition(s: ContainerState, to: ContainerStatus, fields: StateFields = {}): ContainerState {
  if (!canTransition(s.Status, to)) {
    throw new EngineError('Conflict', `cannot change the state of a container from ${s.Status} to ${to}`, { code: 'IllegalStateTransition' });
  }
  const alive = to === 'running' || to === 'paused';
  const next: ContainerState = {
    ...s,
    ...fields,
    Status: to,
    Running: alive,
    Paused: to === 'paused',
    Restarting: to === 'restarting',
    Dead: to === 'dead',
  };
  if (!alive) next.Pid = 0;
  return next;
}

/** The State with a healthcheck result (the status is not changed). */
export function withHealth(s: ContainerState, h: HealthState): ContainerState {
  return { ...s, Health: h };
}
