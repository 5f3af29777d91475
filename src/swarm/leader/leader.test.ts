import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Service, ServiceSpec, Task, TaskSpec, TaskState } from '../../api/types/swarm.ts';
import { isTerminal } from '../orchestrator/task-state.ts';
import { Leader } from './leader.ts';
import { MemoryLeaderStore } from './memory-store.ts';
import { newMemory, runPass } from './pass.ts';

// Generous bounds: the machine may be loaded; every wait polls and stops at its bound.
const BOUND_MS = 15_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, boundMs = BOUND_MS): Promise<void> {
  const end = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await sleep(10);
  }
}

const V1: TaskSpec = { ContainerSpec: { Image: 'web:1' }, RestartPolicy: { Condition: 'any', Delay: 5e7 } };
const V2: TaskSpec = { ContainerSpec: { Image: 'web:2' }, RestartPolicy: { Condition: 'any', Delay: 5e7 } };
const BAD: TaskSpec = { ContainerSpec: { Image: 'bad' }, RestartPolicy: { Condition: 'any', Delay: 5e7 } };

function node(id: string, extra: Partial<Node['Spec']> = {}): Node {
  return {
    ID: id, Version: { Index: 1 }, CreatedAt: '2026-12-06T00:00:00Z', UpdatedAt: '2026-12-06T00:00:00Z',
    Spec: { Availability: 'active', Role: 'worker', Labels: {}, ...extra },
    Description: { Hostname: id, Resources: { NanoCPUs: 4e9, MemoryBytes: 8 * 2 ** 30 } },
    Status: { State: 'ready', Addr: '10.0.0.1' },
  };
}

function service(id: string, spec: ServiceSpec): Service {
  return {
    ID: id, Version: { Index: 1 }, CreatedAt: '2026-12-06T00:00:00Z', UpdatedAt: '2026-12-06T00:00:00Z',
    Spec: { Name: id, ...spec },
  };
}

const replicated = (replicas: number, TaskTemplate: TaskSpec = V1, more: ServiceSpec = {}): ServiceSpec =>
  ({ Mode: { Replicated: { Replicas: replicas } }, TaskTemplate, ...more });

/**
 * The agents of every live node: each change, each task on a live node moves one step as berth's
 * agent would move it: assigned (wanted running) → running, or → failed when `fails` says so;
 * wanted stopped while not ended → shutdown.
 */
class Agents {
  private timer?: NodeJS.Timeout;
  private off: () => void;
  constructor(private store: MemoryLeaderStore, private fails: (t: Task) => boolean = () => false) {
    this.off = store.onChange(() => this.soon());
    this.soon();
  }

  private soon(): void {
    this.timer ??= setTimeout(() => { this.timer = undefined; this.tick(); }, 5);
  }

  private tick(): void {
    for (const t of [...this.store.tasks.values()]) {
      if (!t.NodeID || !this.store.alive.has(t.NodeID)) continue;
      const s = t.Status.State;
      let to: TaskState | undefined;
      let err: string | undefined;
      if (isTerminal(t.DesiredState) && !isTerminal(s) && s !== 'pending') to = 'shutdown';
      else if (t.DesiredState === 'running' && (s === 'assigned' || s === 'ready')) {
        if (this.fails(t)) { to = 'failed'; err = 'task: non-zero exit (1)'; } else to = 'running';
      }
      if (!to) continue;
      const state = to;
      this.store.updateTask(t.ID, (x) => ({
        ...x, Status: { ...x.Status, Timestamp: new Date().toISOString(), State: state, Message: state, ...(err ? { Err: err } : {}) },
      }));
    }
  }

  stop(): void {
    this.off();
    clearTimeout(this.timer);
  }
}

const tasksOf = (s: MemoryLeaderStore, svc: string) => [...s.tasks.values()].filter((t) => t.ServiceID === svc);
const runningOf = (s: MemoryLeaderStore, svc: string) => tasksOf(s, svc).filter((t) => t.Status.State === 'running');
const image = (t: Task) => (t.Spec.ContainerSpec as { Image: string }).Image;

function perNode(ts: readonly Task[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of ts) out[t.NodeID ?? ''] = (out[t.NodeID ?? ''] ?? 0) + 1;
  return out;
}

/** A store with ready, live nodes, a leader and the agents; `fn` runs, then everything stops. */
async function withCluster(nodeIDs: string[], fn: (c: { store: MemoryLeaderStore; leader: Leader; agents: Agents }) => Promise<void>,
  o: { fails?: (t: Task) => boolean; heartbeatNs?: number } = {}): Promise<void> {
  const store = new MemoryLeaderStore();
  if (o.heartbeatNs) store.cluster.Spec.Dispatcher = { HeartbeatPeriod: o.heartbeatNs };
  for (const id of nodeIDs) {
    store.putNode(node(id));
    store.setAlive(id, true);
  }
  const logs: string[] = [];
  const leader = new Leader({ store, log: (l, m) => logs.push(`${l} ${m}`) });
  const agents = new Agents(store, o.fails);
  leader.start();
  try {
    await fn({ store, leader, agents });
  } finally {
    agents.stop();
    await leader.stop();
  }
}

test('3 replicas over 3 nodes spread 1/1/1, assigned, with the task fields the agent needs', async () => {
  const store = new MemoryLeaderStore();
  for (const id of ['n1', 'n2', 'n3']) { store.putNode(node(id)); store.setAlive(id, true); }
  const leader = new Leader({ store });
  leader.start();
  try {
    store.putService(service('web', replicated(3, V1, { EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }] } })));
    await leader.settle();
    const ts = tasksOf(store, 'web');
    assert.equal(ts.length, 3);
    assert.deepEqual(perNode(ts), { n1: 1, n2: 1, n3: 1 });
    assert.deepEqual(ts.map((t) => t.Slot).sort(), [1, 2, 3]);
    for (const t of ts) {
      assert.match(t.ID, /^[0-9a-z]{25}$/);
      assert.equal(t.Status.State, 'assigned');
      assert.equal(t.Status.Message, 'scheduler assigned task to node');
      assert.equal(t.DesiredState, 'running');
      assert.deepEqual(t.Spec, V1);
      assert.deepEqual(t.Labels, {});
      assert.deepEqual(t.Endpoint, { Spec: { Ports: [{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }] } });
      assert.ok(t.CreatedAt && t.UpdatedAt);
    }
  } finally {
    await leader.stop();
  }
});

test('scale 3 → 6 spreads 2/2/2; scale to 2 removes from the busiest nodes and reaps the removed tasks', async () => {
  await withCluster(['n1', 'n2', 'n3'], async ({ store }) => {
    store.putService(service('web', replicated(3)));
    await until('3 running', () => runningOf(store, 'web').length === 3);
    store.updateService('web', (s) => ({ ...s, Spec: replicated(6) }));
    await until('6 running', () => runningOf(store, 'web').length === 6);
    assert.deepEqual(perNode(runningOf(store, 'web')), { n1: 2, n2: 2, n3: 2 });
    store.updateService('web', (s) => ({ ...s, Spec: replicated(2) }));
    await until('2 tasks left, both running', () => tasksOf(store, 'web').length === 2 && runningOf(store, 'web').length === 2);
    const nodes = Object.values(perNode(runningOf(store, 'web')));
    assert.deepEqual(nodes, [1, 1], 'the two kept tasks are on different nodes');
  });
});

test('a node whose heartbeat lapses goes down, its tasks are replaced elsewhere, and shut down when it returns', async () => {
  // Heartbeat period 100ms: the leader's grace is 300ms.
  await withCluster(['n1', 'n2', 'n3'], async ({ store }) => {
    store.putService(service('web', replicated(3)));
    await until('3 running', () => runningOf(store, 'web').length === 3);
    const lost = tasksOf(store, 'web').filter((t) => t.NodeID === 'n3').map((t) => t.ID);
    assert.equal(lost.length, 1);
    const t0 = Date.now();
    store.setAlive('n3', false);
    await until('n3 down', () => store.nodes.get('n3')?.Status.State === 'down');
    assert.equal(store.nodes.get('n3')?.Status.Message, 'heartbeat failure');
    await until('3 running on n1, n2', () => runningOf(store, 'web').filter((t) => t.NodeID !== 'n3').length === 3);
    // Within the bound: the grace has long passed, then the restart delay (50ms) and the agents.
    assert.ok(Date.now() - t0 < 5000, `replaced after ${Date.now() - t0}ms`);
    assert.equal(store.tasks.get(lost[0])?.DesiredState, 'shutdown');
    assert.equal(store.tasks.get(lost[0])?.Status.State, 'running', 'nobody could stop it yet');

    store.setAlive('n3', true);
    await until('n3 ready', () => store.nodes.get('n3')?.Status.State === 'ready');
    await until('the old task shut down', () => store.tasks.get(lost[0])?.Status.State === 'shutdown');
    assert.equal(runningOf(store, 'web').length, 3);
    assert.ok(runningOf(store, 'web').every((t) => t.NodeID !== 'n3'));
  }, { heartbeatNs: 1e8 });
});

test('a new leader gives nodes 3 heartbeat periods before marking them down', async () => {
  const store = new MemoryLeaderStore();
  store.cluster.Spec.Dispatcher = { HeartbeatPeriod: 2e8 }; // grace 600ms
  store.putNode(node('n1'));
  store.putNode(node('n2'));
  store.setAlive('n1', true);
  const leader = new Leader({ store });
  const t0 = Date.now();
  leader.start();
  try {
    await leader.settle();
    if (Date.now() - t0 < 500) assert.equal(store.nodes.get('n2')?.Status.State, 'ready', 'still in its grace');
    await until('n2 down', () => store.nodes.get('n2')?.Status.State === 'down');
    assert.ok(Date.now() - t0 >= 600, `marked down after ${Date.now() - t0}ms`);
    assert.equal(store.nodes.get('n1')?.Status.State, 'ready');
  } finally {
    await leader.stop();
  }
});

test('within the grace, a node the leader has seen alive is down as soon as its heartbeat lapses', async () => {
  const store = new MemoryLeaderStore();
  store.cluster.Spec.Dispatcher = { HeartbeatPeriod: 10e9 }; // grace 30 s: far longer than this test
  store.putNode(node('n1'));
  store.putNode(node('n2'));
  store.setAlive('n1', true);
  store.setAlive('n2', true);
  const leader = new Leader({ store });
  leader.start();
  try {
    await leader.settle();
    store.setAlive('n2', false);
    await until('n2 down', () => store.nodes.get('n2')?.Status.State === 'down', 3000);
    assert.equal(store.nodes.get('n1')?.Status.State, 'ready');
  } finally {
    await leader.stop();
  }
});

test('restart policy: on-failure with a delay and max attempts 2 runs the task 3 times, then stops', async () => {
  const tpl: TaskSpec = { ContainerSpec: { Image: 'bad' }, RestartPolicy: { Condition: 'on-failure', Delay: 3e8, MaxAttempts: 2 } };
  await withCluster(['n1'], async ({ store, leader }) => {
    const t0 = Date.now();
    store.putService(service('job', replicated(1, tpl)));
    await until('3 failed tasks', () => tasksOf(store, 'job').filter((t) => t.Status.State === 'failed').length === 3);
    assert.ok(Date.now() - t0 >= 600, `two restarts of 300ms took ${Date.now() - t0}ms`);
    await sleep(800);
    await leader.settle();
    const ts = tasksOf(store, 'job');
    assert.equal(ts.length, 3, 'no fourth attempt');
    assert.ok(ts.every((t) => t.Status.State === 'failed' && t.Slot === 1));
    assert.equal(ts.filter((t) => t.DesiredState === 'shutdown').length, 3);
  }, { fails: (t) => image(t) === 'bad' });
});

async function rollingUpdate(order: 'stop-first' | 'start-first'): Promise<number> {
  let min = Infinity;
  await withCluster(['n1', 'n2', 'n3'], async ({ store }) => {
    const update = { Parallelism: 2, Order: order, Monitor: 1e8, Delay: 0 };
    store.putService(service('web', replicated(6, V1, { UpdateConfig: update })));
    await until('6 running', () => runningOf(store, 'web').length === 6);
    const off = store.onChange(() => { min = Math.min(min, runningOf(store, 'web').length); });
    try {
      store.updateService('web', (s) => ({ ...s, PreviousSpec: s.Spec, Spec: replicated(6, V2, { UpdateConfig: update }) }));
      await until('update completed', () => store.services.get('web')?.UpdateStatus?.State === 'completed');
    } finally {
      off();
    }
    const st = store.services.get('web')!.UpdateStatus!;
    assert.equal(st.Message, 'update completed');
    assert.ok(st.StartedAt && st.CompletedAt);
    const running = runningOf(store, 'web');
    assert.equal(running.length, 6);
    assert.ok(running.every((t) => image(t) === 'web:2'));
    assert.deepEqual(running.map((t) => t.Slot).sort((a, b) => a! - b!), [1, 2, 3, 4, 5, 6]);
  });
  return min;
}

test('rolling update, parallelism 2, stop-first: never fewer than replicas − 2 running', async () => {
  const min = await rollingUpdate('stop-first');
  assert.ok(min >= 4, `${min} running at the lowest`);
  assert.ok(min < 6, 'stop-first did stop tasks before starting their replacements');
});

test('rolling update, parallelism 2, start-first: never fewer than replicas running', async () => {
  const min = await rollingUpdate('start-first');
  assert.equal(min, 6);
});

test('a failing update with failure action rollback rolls back to the previous spec', async () => {
  await withCluster(['n1', 'n2'], async ({ store }) => {
    const more = { UpdateConfig: { Parallelism: 1, FailureAction: 'rollback' as const, Monitor: 2e9 }, RollbackConfig: { Parallelism: 0, Monitor: 1e8 } };
    store.putService(service('web', replicated(2, V1, more)));
    await until('2 running', () => runningOf(store, 'web').length === 2);
    const seen: string[] = [];
    const off = store.onChange(() => {
      const s = store.services.get('web')?.UpdateStatus?.State;
      if (s && seen.at(-1) !== s) seen.push(s);
    });
    try {
      store.updateService('web', (s) => ({ ...s, PreviousSpec: s.Spec, Spec: replicated(2, BAD, more) }));
      await until('rollback completed', () => store.services.get('web')?.UpdateStatus?.State === 'rollback_completed');
    } finally {
      off();
    }
    assert.deepEqual(seen, ['updating', 'rollback_started', 'rollback_completed']);
    const svc = store.services.get('web')!;
    assert.equal(svc.UpdateStatus?.Message, 'rollback completed');
    assert.deepEqual(svc.Spec.TaskTemplate, V1);
    assert.equal(svc.PreviousSpec, undefined);
    await until('2 running web:1', () => runningOf(store, 'web').filter((t) => image(t) === 'web:1').length === 2);
    const failed = tasksOf(store, 'web').find((t) => image(t) === 'bad' && t.Status.State === 'failed');
    assert.ok(failed, 'the bad task is kept as history');
  }, { fails: (t) => image(t) === 'bad' });
});

test('a failing update with the default failure action pauses with docker\'s message', async () => {
  await withCluster(['n1'], async ({ store }) => {
    store.putService(service('web', replicated(2, V1)));
    await until('2 running', () => runningOf(store, 'web').length === 2);
    store.updateService('web', (s) => ({ ...s, PreviousSpec: s.Spec, Spec: replicated(2, BAD) }));
    await until('paused', () => store.services.get('web')?.UpdateStatus?.State === 'paused');
    const bad = tasksOf(store, 'web').filter((t) => image(t) === 'bad').map((t) => t.ID);
    const msg = store.services.get('web')!.UpdateStatus!.Message!;
    const m = /^update paused due to failure or early termination of task ([0-9a-z]{25})$/.exec(msg);
    assert.ok(m && bad.includes(m[1]), msg);
  }, { fails: (t) => image(t) === 'bad' });
});

test('an API rollback (rollback_started with the previous spec) uses RollbackConfig and completes', async () => {
  await withCluster(['n1', 'n2'], async ({ store }) => {
    const more = { RollbackConfig: { Parallelism: 0, Monitor: 1e8 } };
    store.putService(service('web', replicated(2, V2, more)));
    await until('2 running', () => runningOf(store, 'web').length === 2);
    store.updateService('web', (s) => ({
      ...s, Spec: replicated(2, V1, more), PreviousSpec: s.Spec,
      UpdateStatus: { State: 'rollback_started', StartedAt: new Date().toISOString(), Message: 'manually requested rollback' },
    }));
    await until('rollback completed', () => store.services.get('web')?.UpdateStatus?.State === 'rollback_completed');
    await until('2 running web:1', () => runningOf(store, 'web').filter((t) => image(t) === 'web:1').length === 2);
  });
});

test('a global service runs one task per eligible node, and on nodes that join', async () => {
  await withCluster(['n1', 'n2', 'n3'], async ({ store }) => {
    store.putNode({ ...node('n3'), Spec: { ...node('n3').Spec, Labels: { disk: 'hdd' } } });
    store.putService(service('mon', {
      Mode: { Global: {} }, TaskTemplate: { ...V1, Placement: { Constraints: ['node.labels.disk!=hdd'] } },
    }));
    await until('2 running', () => runningOf(store, 'mon').length === 2);
    assert.deepEqual(perNode(runningOf(store, 'mon')), { n1: 1, n2: 1 });
    assert.ok(tasksOf(store, 'mon').every((t) => t.Slot === undefined));
    store.putNode(node('n4'));
    store.setAlive('n4', true);
    await until('3 running', () => runningOf(store, 'mon').length === 3);
    assert.deepEqual(perNode(runningOf(store, 'mon')), { n1: 1, n2: 1, n4: 1 });
    assert.equal(tasksOf(store, 'mon').length, 3);
  });
});

test('a version conflict in apply is retried on a fresh view', async () => {
  const store = new MemoryLeaderStore();
  for (const id of ['n1', 'n2']) { store.putNode(node(id)); store.setAlive(id, true); }
  const leader = new Leader({ store });
  leader.start();
  try {
    await leader.settle();
    store.failNext = 2;
    store.putService(service('web', replicated(2)));
    await leader.settle();
    const outcomes = store.applied.map((a) => a.ok);
    assert.deepEqual(outcomes.slice(-3), [false, false, true], 'two conflicts, then the retry commits');
    assert.equal(tasksOf(store, 'web').length, 2);
    assert.deepEqual(perNode(tasksOf(store, 'web')), { n1: 1, n2: 1 });
  } finally {
    await leader.stop();
  }
});

test('a real conflict (the object changed meanwhile) makes nothing half-written', async () => {
  const store = new MemoryLeaderStore();
  store.putNode(node('n1'));
  store.setAlive('n1', true);
  store.putService(service('web', replicated(1)));
  const view = await store.view();
  const r = runPass(view, newMemory(0), Date.now());
  assert.ok(r.writes.some((w) => w.kind === 'putTask'));
  store.updateService('web', (s) => s); // bumps its version
  const staleService = { ...view.services[0], UpdateStatus: { State: 'updating' as const } };
  assert.equal(await store.apply([...r.writes, { kind: 'putService', service: staleService }]), false);
  assert.equal(store.tasks.size, 0);
});

test('the reconcile unschedulable: tasks stay pending with the scheduler\'s reason', async () => {
  const store = new MemoryLeaderStore();
  for (const id of ['n1', 'n2', 'n3']) { store.putNode(node(id)); store.setAlive(id, true); }
  const leader = new Leader({ store });
  leader.start();
  try {
    store.putService(service('db', replicated(1, { ...V1, Placement: { Constraints: ['node.role==manager'] } })));
    await leader.settle();
    const [t] = tasksOf(store, 'db');
    assert.equal(t.Status.State, 'pending');
    assert.equal(t.Status.Message, 'pending task scheduling');
    assert.equal(t.Status.Err, 'no suitable node (scheduling constraints not satisfied on 3 nodes)');
    assert.equal(t.NodeID, undefined);
    store.putNode(node('n1', { Role: 'manager' }));
    await leader.settle();
    assert.equal(store.tasks.get(t.ID)?.NodeID, 'n1');
    assert.equal(store.tasks.get(t.ID)?.Status.State, 'assigned');
  } finally {
    await leader.stop();
  }
});

test('the tasks of a removed service are stopped, then deleted', async () => {
  await withCluster(['n1', 'n2'], async ({ store }) => {
    store.putService(service('web', replicated(2)));
    await until('2 running', () => runningOf(store, 'web').length === 2);
    store.removeService('web');
    await until('all deleted', () => tasksOf(store, 'web').length === 0);
  });
});

test('stop() stops the timers: a pending restart delay fires no pass after it', async () => {
  const tpl: TaskSpec = { ContainerSpec: { Image: 'bad' }, RestartPolicy: { Condition: 'any', Delay: 4e8 } };
  const store = new MemoryLeaderStore();
  store.putNode(node('n1'));
  store.setAlive('n1', true);
  const leader = new Leader({ store });
  const agents = new Agents(store, () => true);
  leader.start();
  try {
    store.putService(service('job', replicated(1, tpl)));
    await until('a restart waits for its delay', () =>
      tasksOf(store, 'job').some((t) => t.DesiredState === 'ready'));
    await leader.stop();
    const applies = store.applied.length;
    await sleep(800);
    assert.equal(store.applied.length, applies, 'no pass ran after stop()');
    assert.ok(tasksOf(store, 'job').some((t) => t.DesiredState === 'ready'), 'the delayed task never started');
  } finally {
    agents.stop();
    await leader.stop();
  }
});

test('passes are idempotent: a pass over the result of the last one writes nothing', async () => {
  const store = new MemoryLeaderStore();
  for (const id of ['n1', 'n2', 'n3']) { store.putNode(node(id)); store.setAlive(id, true); }
  store.putNode(node('n4')); // not alive: marked down
  store.putService(service('web', replicated(4, V1, { UpdateConfig: { Parallelism: 1 } })));
  store.putService(service('mon', { Mode: { Global: {} }, TaskTemplate: V1 }));
  let memory = newMemory(0);
  // One pass with its writes applied, then a second pass over the result: it must write nothing.
  const twice = async () => {
    const r = runPass(await store.view(), memory, Date.now());
    if (r.writes.length > 0) assert.ok(await store.apply(r.writes));
    memory = r.memory;
    const again = runPass(await store.view(), memory, Date.now());
    assert.deepEqual(again.writes, []);
    return r.writes;
  };
  assert.ok((await twice()).length > 0);
  assert.equal(store.nodes.get('n4')?.Status.State, 'down');
  assert.equal(tasksOf(store, 'web').length, 4);
  assert.equal(tasksOf(store, 'mon').length, 3);
  // Agents run everything; then an update starts and the same holds at each step.
  for (const t of store.tasks.values()) store.updateTask(t.ID, (x) => ({ ...x, Status: { ...x.Status, State: 'running' } }));
  assert.deepEqual(await twice(), []);
  store.updateService('web', (s) => ({ ...s, PreviousSpec: s.Spec, Spec: replicated(4, V2, { UpdateConfig: { Parallelism: 1 } }) }));
  assert.ok((await twice()).length > 0);
  assert.equal(store.services.get('web')?.UpdateStatus?.State, 'updating');
  assert.equal(tasksOf(store, 'web').filter((t) => t.DesiredState === 'shutdown').length, 1);
});

test('draining a node moves its tasks to the other nodes', async () => {
  await withCluster(['n1', 'n2', 'n3'], async ({ store }) => {
    store.putService(service('web', replicated(3, { ...V1, RestartPolicy: { Condition: 'any', Delay: 5e9 } })));
    await until('3 running', () => runningOf(store, 'web').length === 3);
    const t0 = Date.now();
    store.putNode({ ...store.nodes.get('n2')!, Spec: { ...store.nodes.get('n2')!.Spec, Availability: 'drain' } });
    await until('3 running off n2', () => runningOf(store, 'web').filter((t) => t.NodeID !== 'n2').length === 3
      && runningOf(store, 'web').length === 3);
    // No restart delay off a drained node (the policy's 5s is not waited).
    assert.ok(Date.now() - t0 < 4000, `moved after ${Date.now() - t0}ms`);
    assert.deepEqual(perNode(runningOf(store, 'web')), { n1: 2, n3: 1 });
  });
});

test('the cluster\'s task history limit bounds the tasks kept per slot', async () => {
  const store = new MemoryLeaderStore();
  store.cluster.Spec.Orchestration = { TaskHistoryRetentionLimit: 2 };
  store.putNode(node('n1'));
  store.setAlive('n1', true);
  const seen = new Set<string>();
  let most = 0;
  const off = store.onChange(() => {
    for (const t of store.tasks.values()) seen.add(t.ID);
    most = Math.max(most, store.tasks.size);
  });
  const leader = new Leader({ store });
  const agents = new Agents(store, () => true);
  leader.start();
  try {
    store.putService(service('job', replicated(1, { ContainerSpec: { Image: 'bad' }, RestartPolicy: { Condition: 'any', Delay: 1e7 } })));
    await until('5 attempts', () => seen.size >= 5);
    assert.ok(most <= 2, `${most} tasks at once`);
  } finally {
    off();
    agents.stop();
    await leader.stop();
  }
});

test('a global service rolls an update node by node', async () => {
  await withCluster(['n1', 'n2', 'n3'], async ({ store }) => {
    const more = { UpdateConfig: { Parallelism: 1, Monitor: 1e8 } };
    store.putService(service('mon', { Mode: { Global: {} }, TaskTemplate: V1, ...more }));
    await until('3 running', () => runningOf(store, 'mon').length === 3);
    let min = Infinity;
    const off = store.onChange(() => { min = Math.min(min, runningOf(store, 'mon').length); });
    try {
      store.updateService('mon', (s) => ({ ...s, PreviousSpec: s.Spec, Spec: { ...s.Spec, TaskTemplate: V2 } }));
      await until('update completed', () => store.services.get('mon')?.UpdateStatus?.State === 'completed');
    } finally {
      off();
    }
    assert.ok(min >= 2, `${min} running at the lowest`);
    const running = runningOf(store, 'mon');
    assert.deepEqual(perNode(running), { n1: 1, n2: 1, n3: 1 });
    assert.ok(running.every((t) => image(t) === 'web:2'));
  });
});

test('after a leader change, a task left desired ready starts once the old task of its slot stopped', () => {
  const n1 = { ...node('n1'), Version: { Index: 2 } };
  const base = { Version: { Index: 3 }, ServiceID: 'web', Slot: 1, NodeID: 'n1', Spec: V2 };
  const old: Task = { ...base, ID: 'old', Spec: V1, DesiredState: 'shutdown', Status: { Timestamp: '2026-12-06T00:00:00Z', State: 'running' } };
  const fresh: Task = { ...base, ID: 'new', DesiredState: 'ready', Status: { Timestamp: '2026-12-06T00:00:01Z', State: 'assigned' } };
  const store = new MemoryLeaderStore();
  const view = (tasks: Task[]) => ({
    cluster: store.cluster, nodes: [n1], alive: new Set(['n1']), tasks,
    services: [{ ...service('web', replicated(1, V2)), Version: { Index: 4 } }],
  });
  const first = runPass(view([old, fresh]), newMemory(0), Date.now());
  assert.deepEqual(first.writes, [], 'the old task still runs: the new one waits');
  const stopped = { ...old, Status: { ...old.Status, State: 'shutdown' as const } };
  const second = runPass(view([stopped, fresh]), first.memory, Date.now());
  assert.deepEqual(second.writes.map((w) => w.kind === 'putTask' && [w.task.ID, w.task.DesiredState]), [['new', 'running']]);
});
