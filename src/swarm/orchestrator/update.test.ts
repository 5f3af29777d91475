import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service, ServiceSpec, Task, TaskSpec, TaskState, UpdateConfig, UpdateStatus } from '../../api/types/swarm.ts';
import type { OrchestratorAction } from './actions.ts';
import { isTerminal } from './task-state.ts';
import { isOutdated, resolveUpdateConfig, updateStep, type UpdateState } from './update.ts';

const S = 1e9; // one second in the API's nanoseconds
const T = Date.UTC(2026, 11, 6, 12, 0, 0);
const at = (s: number) => T + s * 1000;
const iso = (s: number) => new Date(at(s)).toISOString();

const V1 = { ContainerSpec: { Image: 'web:1' } };
const V2 = { ContainerSpec: { Image: 'web:2' } };

function spec(replicas: number, TaskTemplate: TaskSpec, UpdateConfig?: UpdateConfig, RollbackConfig?: UpdateConfig): ServiceSpec {
  return { Name: 'web', Mode: { Replicated: { Replicas: replicas } }, TaskTemplate, UpdateConfig, RollbackConfig };
}

/** A tiny cluster: applies the actions as the store would and moves tasks as agents would. */
class Cluster {
  tasks: Task[] = [];
  service: Service;
  state: UpdateState | undefined;
  private seq = 0;
  private waits = new Map<string, string[]>();

  constructor(replicas: number, update?: UpdateConfig, rollback?: UpdateConfig) {
    this.service = {
      ID: 's1', Version: { Index: 2 }, CreatedAt: iso(-100), UpdatedAt: iso(-1),
      Spec: spec(replicas, V2, update, rollback), PreviousSpec: spec(replicas, V1, update, rollback),
    };
    for (let slot = 1; slot <= replicas; slot++) this.add(slot, V1, 'running', 'running', -50);
  }

  add(slot: number, Spec: TaskSpec, desired: TaskState, state: TaskState, s: number): Task {
    const t: Task = {
      ID: `t${++this.seq}`, Version: { Index: 1 }, ServiceID: 's1', Slot: slot, NodeID: `n${slot % 3}`,
      Spec: structuredClone(Spec), DesiredState: desired, Status: { Timestamp: iso(s), State: state },
    };
    this.tasks.push(t);
    return t;
  }

  get(id: string): Task {
    const t = this.tasks.find((x) => x.ID === id);
    assert.ok(t, `task ${id}`);
    return t;
  }

  /** One updateStep, its result applied. */
  step(s: number): { actions: OrchestratorAction[]; status: UpdateStatus | undefined } {
    const r = updateStep(this.service, this.tasks, this.state, at(s));
    this.state = r.state;
    this.service = { ...this.service, UpdateStatus: r.updateStatus };
    if (r.rollbackTo) this.service = { ...this.service, Spec: r.rollbackTo, PreviousSpec: undefined };
    for (const a of r.actions) {
      if (a.kind === 'create') {
        const t = this.add(a.slot as number, this.service.Spec.TaskTemplate ?? {}, a.desiredState, 'new', s);
        if (a.afterStop) this.waits.set(t.ID, a.afterStop);
      } else if (a.kind === 'shutdown') {
        this.get(a.taskID).DesiredState = 'shutdown';
      } else {
        assert.fail(`unexpected ${a.kind}`);
      }
    }
    return { actions: r.actions, status: r.updateStatus };
  }

  /** Agents: shut-down tasks stop, waiting replacements start, new tasks run. */
  settle(s: number): void {
    for (const t of this.tasks) {
      if (t.DesiredState === 'shutdown' && !isTerminal(t.Status.State)) this.set(t, 'shutdown', s);
    }
    for (const t of this.tasks) {
      const w = this.waits.get(t.ID);
      if (t.DesiredState === 'ready' && w?.every((id) => isTerminal(this.get(id).Status.State))) t.DesiredState = 'running';
      if (t.DesiredState === 'running' && t.Status.State === 'new') this.set(t, 'running', s);
    }
  }

  set(t: Task, state: TaskState, s: number): void {
    t.Status = { Timestamp: iso(s), State: state };
  }

  /** Tasks running and meant to keep running: what serves traffic. */
  serving(): number {
    return this.tasks.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running').length;
  }

  newTasks(): Task[] {
    return this.tasks.filter((t) => !isOutdated(this.service, t));
  }
}

const creates = (a: OrchestratorAction[]) => a.filter((x) => x.kind === 'create');
const shutdowns = (a: OrchestratorAction[]) => a.filter((x) => x.kind === 'shutdown').map((x) => (x as { taskID: string }).taskID);
const createdSlots = (a: OrchestratorAction[]) => creates(a).map((x) => (x as { slot?: number }).slot);

test('config defaults are swarmkit\'s when UpdateConfig is absent, API zero values when it is partial', () => {
  assert.deepEqual(resolveUpdateConfig(undefined), {
    parallelism: 1, delayMs: 0, failureAction: 'pause', monitorMs: 5000, maxFailureRatio: 0, order: 'stop-first',
  });
  assert.equal(resolveUpdateConfig({ Monitor: 0 }).monitorMs, 5000, 'moby does not pass a 0 Monitor on');
  assert.deepEqual(resolveUpdateConfig({ Delay: 2 * S }), {
    parallelism: 0, delayMs: 2000, failureAction: 'pause', monitorMs: 5000, maxFailureRatio: 0, order: 'stop-first',
  });
});

test('outdated compares the task spec with TaskTemplate, ignoring key order', () => {
  const c = new Cluster(1);
  assert.equal(isOutdated(c.service, c.tasks[0]), true);
  const t = { ...c.tasks[0], Spec: { ContainerSpec: { Image: 'web:2' } } };
  assert.equal(isOutdated(c.service, t), false);
  const svc = { ...c.service, Spec: { ...c.service.Spec, TaskTemplate: { Resources: {}, ContainerSpec: { Image: 'web:2' } } } };
  assert.equal(isOutdated(svc, { ...t, Spec: { ContainerSpec: { Image: 'web:2' }, Resources: {} } }), false);
});

test('nothing outdated: no status, no actions; an update in progress with nothing left completes', () => {
  const c = new Cluster(2);
  c.service.Spec.TaskTemplate = V1;
  assert.deepEqual(updateStep(c.service, c.tasks, undefined, at(0)), { actions: [], state: undefined, updateStatus: undefined });
  const r = updateStep({ ...c.service, UpdateStatus: { State: 'updating', StartedAt: iso(-5) } }, c.tasks, undefined, at(0));
  assert.deepEqual(r.updateStatus, {
    State: 'completed', StartedAt: iso(-5), Message: 'update completed', CompletedAt: iso(0),
  });
});

test('batches of Parallelism, Delay between them, then Monitor, then "update completed"', () => {
  const c = new Cluster(4, { Parallelism: 2, Delay: 10 * S, Monitor: 5 * S });
  let r = c.step(0);
  assert.deepEqual(r.status, { State: 'updating', StartedAt: iso(0), Message: 'update in progress' });
  assert.deepEqual(createdSlots(r.actions), [1, 2]);
  assert.deepEqual(shutdowns(r.actions), ['t1', 't2']);
  c.settle(1);
  assert.deepEqual(c.step(1).actions, [], 'the new tasks run: their slots now wait Delay');
  assert.deepEqual(c.step(10).actions, [], 'still within Delay of running (1s + 10s)');
  r = c.step(11);
  assert.deepEqual(createdSlots(r.actions), [3, 4]);
  assert.deepEqual(shutdowns(r.actions), ['t3', 't4']);
  c.settle(12);
  assert.deepEqual(c.step(12).actions, []);
  // Slots 3 and 4 are done at 22s; Delay (10s) ≥ Monitor (5s) → monitor Delay + 1s = until 33s.
  r = c.step(22);
  assert.equal(r.status?.State, 'updating');
  assert.equal(c.step(32).status?.State, 'updating');
  r = c.step(33);
  assert.deepEqual(r.status, {
    State: 'completed', StartedAt: iso(0), Message: 'update completed', CompletedAt: iso(33),
  });
  assert.equal(c.state, undefined);
  assert.deepEqual(c.step(40), { actions: [], status: r.status }, 'a finished update stays finished');
  assert.equal(c.newTasks().length, 4);
});

test('Parallelism 0 replaces every slot at once; Delay ≥ Monitor monitors Delay + 1s, as swarmkit does', () => {
  const c = new Cluster(3, { Parallelism: 0, Monitor: 1 * S, Delay: 2 * S });
  assert.deepEqual(createdSlots(c.step(0).actions), [1, 2, 3]);
  c.settle(1);
  assert.equal(c.step(1).status?.State, 'updating', 'running at 1s: in flight until 3s');
  assert.equal(c.step(3).status?.State, 'updating', 'monitor from 3s for Delay + 1s');
  assert.equal(c.step(5).status?.State, 'updating');
  assert.equal(c.step(6).status?.State, 'completed');
});

test('absent UpdateConfig: one slot at a time', () => {
  const c = new Cluster(2);
  assert.deepEqual(createdSlots(c.step(0).actions), [1]);
  c.settle(1);
  assert.deepEqual(createdSlots(c.step(1).actions), [2]);
});

test('stop-first shuts the old task down and holds the new one until it stopped', () => {
  const c = new Cluster(1, { Order: 'stop-first' });
  const r = c.step(0);
  assert.deepEqual(r.actions, [
    { kind: 'shutdown', taskID: 't1', reason: 'update' },
    { kind: 'create', slot: 1, desiredState: 'ready', afterStop: ['t1'], reason: 'update' },
  ]);
});

test('start-first starts the new task and shuts the old one down only once the new one runs', () => {
  const c = new Cluster(1, { Order: 'start-first' });
  let r = c.step(0);
  assert.deepEqual(r.actions, [{ kind: 'create', slot: 1, desiredState: 'running', reason: 'update' }]);
  assert.deepEqual(c.step(1).actions, [], 'the new task is not running yet');
  c.settle(2);
  r = c.step(2);
  assert.deepEqual(r.actions, [{ kind: 'shutdown', taskID: 't1', reason: 'update' }]);
});

test('a slot already holding an up-to-date task reuses it (useExistingTask)', () => {
  const c = new Cluster(1, { Order: 'start-first' });
  c.add(1, V2, 'running', 'running', -1);
  const r = c.step(0);
  assert.deepEqual(r.actions, [{ kind: 'shutdown', taskID: 't1', reason: 'update' }]);
});

test('a slot with two up-to-date tasks keeps the one desired running and shuts the other down', () => {
  const c = new Cluster(1, { Order: 'stop-first' });
  c.tasks[0].Spec = structuredClone(V2);
  const extra = c.add(1, V2, 'ready', 'new', -1);
  const r = c.step(0);
  assert.deepEqual(r.actions, [{ kind: 'shutdown', taskID: extra.ID, reason: 'update' }]);
  c.settle(1);
  assert.equal(c.step(1).status?.State, 'updating');
  assert.equal(c.step(7).status?.State, 'completed');
});

test('a new task failing within Monitor pauses the update with swarmkit\'s message', () => {
  const c = new Cluster(3, { Parallelism: 1, Monitor: 30 * S });
  c.step(0);
  c.settle(1);
  c.step(1);
  const fresh = c.newTasks()[0];
  assert.ok(fresh);
  c.set(fresh, 'failed', 20);
  const r = c.step(20);
  assert.deepEqual(r.actions, []);
  assert.deepEqual(r.status, {
    State: 'paused', StartedAt: iso(0),
    Message: `update paused due to failure or early termination of task ${fresh.ID}`,
  });
  assert.deepEqual(c.step(100).actions, [], 'a paused update does nothing');
});

test('a new task failing before it ever ran counts too', () => {
  const c = new Cluster(2, { Parallelism: 1 });
  c.step(0);
  c.settle(1);
  // Delay 0: slot 1's task runs, so slot 2 starts in the same step; its replacement is rejected.
  assert.deepEqual(createdSlots(c.step(1).actions), [2]);
  const second = c.newTasks().find((t) => t.Slot === 2) as Task;
  c.set(second, 'rejected', 3);
  assert.equal(c.step(3).status?.State, 'paused');
});

test('a failure after the Monitor period is not counted', () => {
  const c = new Cluster(2, { Parallelism: 1, Monitor: 5 * S, Delay: 20 * S });
  c.step(0);
  c.settle(1);
  c.step(1);
  c.set(c.newTasks()[0], 'failed', 10);
  const r = c.step(10);
  assert.equal(r.status?.State, 'updating');
});

test('FailureAction continue: failures do not stop the update', () => {
  const c = new Cluster(2, { Parallelism: 1, FailureAction: 'continue', Monitor: 1 * S });
  c.step(0);
  c.settle(1);
  assert.deepEqual(createdSlots(c.step(1).actions), [2]);
  c.set(c.newTasks()[0], 'failed', 1);
  c.settle(2);
  assert.equal(c.step(2).status?.State, 'updating');
  assert.equal(c.step(3).status?.State, 'completed', 'after 1s of monitor');
});

test('MaxFailureRatio: the action waits until failures / outdated slots exceed it', () => {
  const c = new Cluster(4, { Parallelism: 0, MaxFailureRatio: 0.5, Monitor: 60 * S });
  c.step(0);
  c.settle(1);
  c.step(1);
  const fresh = c.newTasks();
  assert.equal(fresh.length, 4);
  c.set(fresh[0], 'failed', 2);
  c.set(fresh[1], 'failed', 2);
  assert.equal(c.step(2).status?.State, 'updating', '2/4 is not above 0.5');
  c.set(fresh[2], 'failed', 3);
  const r = c.step(3);
  assert.equal(r.status?.State, 'paused');
  assert.equal(r.status?.Message, `update paused due to failure or early termination of task ${fresh[2].ID}`);
});

test('FailureAction rollback: back to PreviousSpec with RollbackConfig, then "rollback completed"', () => {
  const c = new Cluster(3, { Parallelism: 1, FailureAction: 'rollback', Monitor: 30 * S }, { Parallelism: 0, Monitor: 1 * S });
  c.step(0);
  c.settle(1);
  c.step(1);
  const bad = c.newTasks()[0];
  c.set(bad, 'failed', 5);
  let r = c.step(5);
  assert.deepEqual(r.status, {
    State: 'rollback_started', StartedAt: iso(0),
    Message: `update rolled back due to failure or early termination of task ${bad.ID}`,
  });
  assert.deepEqual(c.service.Spec.TaskTemplate, V1, 'the caller stored rollbackTo as the spec');
  assert.equal(c.service.PreviousSpec, undefined);
  assert.equal(c.state, undefined);
  // Slot 1 holds web:2 (failed, still desired running), slot 2 its web:2 replacement (started at
  // 1s as slot 1's ran, Delay 0); slot 3 still runs web:1. RollbackConfig Parallelism 0 → at once.
  r = c.step(6);
  assert.deepEqual(createdSlots(r.actions), [1, 2]);
  assert.equal(r.status?.State, 'rollback_started');
  c.settle(7);
  assert.equal(c.step(7).status?.State, 'rollback_started', 'RollbackConfig Monitor: 1s');
  r = c.step(8);
  assert.deepEqual(r.status, {
    State: 'rollback_completed', StartedAt: iso(0), Message: 'rollback completed', CompletedAt: iso(8),
  });
});

test('a failure during a rollback pauses it: rollback_paused, never a rollback of the rollback', () => {
  const c = new Cluster(2, { Parallelism: 1, FailureAction: 'rollback' }, { Parallelism: 1, FailureAction: 'rollback' });
  c.service = { ...c.service, UpdateStatus: { State: 'rollback_started', StartedAt: iso(-1), Message: 'manually requested rollback' } };
  c.service.Spec.TaskTemplate = V1;
  for (const t of c.tasks) t.Spec = structuredClone(V2);
  c.step(0);
  c.settle(1);
  c.step(1);
  const fresh = c.newTasks().find((t) => t.Slot === 1) as Task;
  c.set(fresh, 'failed', 2);
  const r = c.step(2);
  assert.deepEqual(r.status, {
    State: 'rollback_paused', StartedAt: iso(-1),
    Message: `rollback paused due to failure or early termination of task ${fresh.ID}`,
  });
});

test('rollback without a previous spec stops the update where it is', () => {
  const c = new Cluster(2, { Parallelism: 1, FailureAction: 'rollback' });
  c.service.PreviousSpec = undefined;
  c.step(0);
  c.settle(1);
  c.step(1);
  c.set(c.newTasks()[0], 'failed', 2);
  const r = c.step(2);
  assert.equal(r.status?.State, 'updating');
  assert.deepEqual(c.step(3).actions, []);
  assert.equal(c.state?.stopped, true);
});

test('a new TaskTemplate mid-update starts over towards it', () => {
  const c = new Cluster(2, { Parallelism: 1 });
  c.step(0);
  c.settle(1);
  c.service = { ...c.service, UpdateStatus: undefined, Spec: { ...c.service.Spec, TaskTemplate: { ContainerSpec: { Image: 'web:3' } } } };
  const r = c.step(1);
  assert.equal(c.state?.total, 2);
  assert.deepEqual(r.status, { State: 'updating', StartedAt: iso(1), Message: 'update in progress' });
});

for (const order of ['stop-first', 'start-first'] as const) {
  test(`simulation, replicas 6, parallelism 2, ${order}: never fewer than ${order === 'stop-first' ? 'replicas − parallelism' : 'replicas'} serving`, () => {
    const replicas = 6;
    const parallelism = 2;
    const floor = order === 'stop-first' ? replicas - parallelism : replicas;
    const c = new Cluster(replicas, { Parallelism: parallelism, Delay: 3 * S, Monitor: 2 * S, Order: order });
    let status: UpdateStatus | undefined;
    let maxInFlight = 0;
    for (let s = 0; s < 200 && status?.State !== 'completed'; s++) {
      status = c.step(s).status;
      maxInFlight = Math.max(maxInFlight, c.state?.inFlight.length ?? 0);
      assert.ok(c.serving() >= floor, `at ${s}s after the step: ${c.serving()} serving < ${floor}`);
      c.settle(s);
      assert.ok(c.serving() >= floor, `at ${s}s after the agents: ${c.serving()} serving < ${floor}`);
    }
    assert.equal(status?.State, 'completed');
    assert.equal(maxInFlight, parallelism);
    assert.equal(c.serving(), replicas);
    assert.equal(c.tasks.filter((t) => t.DesiredState === 'running' && !isOutdated(c.service, t)).length, replicas);
  });
}
