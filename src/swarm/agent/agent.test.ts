// The agent's own logic over an in-memory AgentContainers (the engine side is the lead's
// end-to-end tests against a real berthd): the state sequence, rejection and failure, the
// healthcheck wait, shutdown, removal, adoption after a restart, report retry and supersession.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerCreateBody } from '../../api/types/container.ts';
import type { Task, TaskSpec, TaskState, TaskStatus } from '../../api/types/swarm.ts';
import { Agent, type AgentContainer, type AgentContainers } from './agent.ts';
import { compareStates } from '../orchestrator/task-state.ts';

class FakeContainers implements AgentContainers {
  images = new Set<string>(['busybox:latest']);
  byId = new Map<string, AgentContainer & { body: ContainerCreateBody }>();
  calls: string[] = [];
  /** Resolves (or rejects) a pull; default: the image appears. */
  pullImpl: (ref: string, signal?: AbortSignal) => Promise<void> = async (ref) => { this.images.add(ref); };
  stopExitCode = 143;
  #listeners = new Set<(id: string, action: string) => void>();
  #seq = 0;

  async list(): Promise<AgentContainer[]> {
    return [...this.byId.values()].filter((c) => c.labels['com.docker.swarm.task.id'] !== undefined).map((c) => ({ ...c }));
  }
  async inspect(id: string): Promise<AgentContainer | undefined> {
    const c = this.byId.get(id);
    return c ? { ...c } : undefined;
  }
  async imageExists(ref: string): Promise<boolean> { return this.images.has(ref); }
  async pull(ref: string, signal?: AbortSignal): Promise<void> { this.calls.push(`pull ${ref}`); await this.pullImpl(ref, signal); }
  async create(name: string, body: ContainerCreateBody): Promise<string> {
    this.calls.push(`create ${name}`);
    if (!this.images.has(body.Image!)) throw new Error(`No such image: ${body.Image}`);
    if ([...this.byId.values()].some((c) => c.name === name)) throw new Error(`Conflict. The container name "/${name}" is already in use`);
    const id = `c${++this.#seq}`;
    this.byId.set(id, { id, name, labels: { ...(body.Labels ?? {}) }, state: 'created', exitCode: 0, pid: 0, error: '', health: body.Healthcheck ? 'starting' : 'none', body });
    return id;
  }
  async start(id: string): Promise<void> {
    this.calls.push(`start ${id}`);
    const c = this.byId.get(id)!;
    Object.assign(c, { state: 'running', pid: 4000 + Number(id.slice(1)) });
    this.emit(id, 'start');
  }
  async stop(id: string, timeoutSeconds?: number): Promise<void> {
    this.calls.push(`stop ${id} ${timeoutSeconds}`);
    const c = this.byId.get(id);
    if (c?.state === 'running') this.exit(id, this.stopExitCode);
  }
  async remove(id: string): Promise<void> { this.calls.push(`remove ${id}`); this.byId.delete(id); this.emit(id, 'destroy'); }
  onEvent(l: (id: string, action: string) => void): () => void { this.#listeners.add(l); return () => this.#listeners.delete(l); }

  emit(id: string, action: string): void { queueMicrotask(() => { for (const l of this.#listeners) l(id, action); }); }
  exit(id: string, code: number): void {
    Object.assign(this.byId.get(id)!, { state: 'exited', exitCode: code, pid: 0 });
    this.emit(id, 'die');
  }
  health(id: string, h: 'healthy' | 'unhealthy'): void { this.byId.get(id)!.health = h; this.emit(id, `health_status: ${h}`); }
  byName(prefix: string): (AgentContainer & { body: ContainerCreateBody }) | undefined {
    return [...this.byId.values()].find((c) => c.name.startsWith(prefix));
  }
}

class Reports {
  all: { taskId: string; status: TaskStatus }[] = [];
  failNext = 0;
  async report(taskId: string, status: TaskStatus): Promise<void> {
    if (this.failNext > 0) { this.failNext--; throw new Error('manager unreachable'); }
    this.all.push({ taskId, status });
  }
  states(taskId: string): TaskState[] { return this.all.filter((r) => r.taskId === taskId).map((r) => r.status.State); }
  last(taskId: string): TaskStatus | undefined { return this.all.filter((r) => r.taskId === taskId).at(-1)?.status; }
}

function task(id: string, o: { spec?: TaskSpec; desired?: TaskState; state?: TaskState; slot?: number } = {}): Task {
  return {
    ID: id, Version: { Index: 1 }, ServiceID: 's1', Slot: o.slot ?? 1, NodeID: 'n1',
    Spec: o.spec ?? { ContainerSpec: { Image: 'busybox', Args: ['sleep', '60'] } },
    Status: { Timestamp: '2026-12-06T00:00:00Z', State: o.state ?? 'assigned' }, DesiredState: o.desired ?? 'running',
  };
}

async function until(what: string, pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function setup(fc = new FakeContainers()) {
  const reports = new Reports();
  const agent = new Agent({ nodeId: 'n1', containers: fc, reporter: reports, retry: { initialMs: 5, maxMs: 20 } });
  return { fc, reports, agent };
}

test('a task goes assigned → running with docker\'s messages, then complete on exit 0', async () => {
  const { fc, reports, agent } = setup();
  await agent.start();
  agent.setAssignments([{ task: task('t1'), serviceName: 'web' }]);
  await until('running', () => reports.states('t1').includes('running'));
  assert.deepEqual(reports.states('t1'), ['accepted', 'preparing', 'ready', 'starting', 'running']);
  assert.deepEqual(reports.all.map((r) => r.status.Message), ['accepted', 'preparing', 'prepared', 'starting', 'started']);
  const c = fc.byName('web.1.t1')!;
  assert.equal(c.name, 'web.1.t1');
  assert.equal(c.labels['com.docker.swarm.task.id'], 't1');
  assert.deepEqual(c.body.HostConfig?.RestartPolicy, { Name: 'no' });
  const running = reports.last('t1')!;
  assert.deepEqual(running.ContainerStatus, { ContainerID: c.id, PID: c.pid, ExitCode: 0 });
  assert.ok(!Number.isNaN(Date.parse(running.Timestamp)));
  assert.deepEqual(fc.calls.filter((x) => x.startsWith('pull')), [], 'a present image is not pulled');
  fc.exit(c.id, 0);
  await until('complete', () => reports.last('t1')?.State === 'complete');
  assert.equal(reports.last('t1')!.Message, 'finished');
  assert.equal(reports.last('t1')!.Err, undefined);
  await agent.close();
});

test('a non-zero exit fails the task with docker\'s error and the exit code', async () => {
  const { fc, reports, agent } = setup();
  await agent.start();
  agent.setAssignments([{ task: task('t1'), serviceName: 'web' }]);
  await until('running', () => reports.last('t1')?.State === 'running');
  fc.exit(fc.byName('web.1.t1')!.id, 3);
  await until('failed', () => reports.last('t1')?.State === 'failed');
  const s = reports.last('t1')!;
  assert.equal(s.Message, 'failed');
  assert.equal(s.Err, 'task: non-zero exit (3)');
  assert.equal(s.ContainerStatus?.ExitCode, 3);
  await agent.close();
});

test('a missing image is pulled; one that cannot be pulled rejects the task in create\'s words', async () => {
  const { fc, reports, agent } = setup();
  await agent.start();
  fc.pullImpl = async (ref) => { if (ref === 'alpine:3') fc.images.add(ref); else throw new Error('dial tcp: lookup registry-1.docker.io: no such host'); };
  agent.setAssignments([
    { task: task('t1', { spec: { ContainerSpec: { Image: 'alpine:3' } } }), serviceName: 'a' },
    { task: task('t2', { spec: { ContainerSpec: { Image: 'nope' } } }), serviceName: 'b' },
  ]);
  await until('both settled', () => reports.last('t1')?.State === 'running' && reports.last('t2')?.State === 'rejected');
  assert.ok(fc.calls.includes('pull alpine:3'));
  assert.deepEqual(reports.states('t2'), ['accepted', 'preparing', 'rejected']);
  assert.equal(reports.last('t2')!.Err, 'No such image: nope:latest');
  assert.equal(fc.byName('b.1.t2'), undefined);
  await agent.close();
});

test('a task without an image is rejected', async () => {
  const { reports, agent } = setup();
  await agent.start();
  agent.setAssignments([{ task: task('t1', { spec: { ContainerSpec: {} } }), serviceName: 'web' }]);
  await until('rejected', () => reports.last('t1')?.State === 'rejected');
  assert.match(reports.last('t1')!.Err ?? '', /image reference must be provided/);
  await agent.close();
});

test('with a healthcheck the task stays starting until healthy; unhealthy fails it', async () => {
  const { fc, reports, agent } = setup();
  await agent.start();
  const spec = { ContainerSpec: { Image: 'busybox', HealthCheck: { Test: ['CMD', 'true'] }, StopGracePeriod: 2e9 } };
  agent.setAssignments([{ task: task('t1', { spec }), serviceName: 'ok' }, { task: task('t2', { spec }), serviceName: 'bad' }]);
  await until('both started', () => fc.byName('ok.')?.state === 'running' && fc.byName('bad.')?.state === 'running');
  await agent.settled();
  assert.equal(reports.last('t1')!.State, 'starting');
  assert.equal(reports.last('t2')!.State, 'starting');
  fc.health(fc.byName('ok.')!.id, 'healthy');
  fc.health(fc.byName('bad.')!.id, 'unhealthy');
  await until('ok running', () => reports.last('t1')?.State === 'running');
  await until('bad failed', () => reports.last('t2')?.State === 'failed');
  assert.equal(reports.last('t2')!.Err, 'task: non-zero exit (143): unhealthy container');
  assert.ok(fc.calls.includes(`stop ${fc.byName('bad.')!.id} 2`), 'stopped with its grace period');
  await agent.close();
});

test('a running task that turns unhealthy is stopped and fails', async () => {
  const { fc, reports, agent } = setup();
  await agent.start();
  agent.setAssignments([{ task: task('t1', { spec: { ContainerSpec: { Image: 'busybox', HealthCheck: { Test: ['CMD', 'true'] } } } }), serviceName: 'web' }]);
  await until('started', () => fc.byName('web.')?.state === 'running');
  fc.health(fc.byName('web.')!.id, 'healthy');
  await until('running', () => reports.last('t1')?.State === 'running');
  fc.health(fc.byName('web.')!.id, 'unhealthy');
  await until('failed', () => reports.last('t1')?.State === 'failed');
  assert.equal(reports.last('t1')!.Err, 'task: non-zero exit (143): unhealthy container');
  await agent.close();
});

test('desired ready stops at ready (created, not started); desired running then starts it', async () => {
  const { fc, reports, agent } = setup();
  await agent.start();
  agent.setAssignments([{ task: task('t1', { desired: 'ready' }), serviceName: 'web' }]);
  await until('ready', () => reports.last('t1')?.State === 'ready');
  await agent.settled();
  assert.deepEqual(reports.states('t1'), ['accepted', 'preparing', 'ready']);
  assert.equal(fc.byName('web.1.t1')!.state, 'created');
  agent.setAssignments([{ task: { ...task('t1'), Status: { Timestamp: '', State: 'ready' } }, serviceName: 'web' }]);
  await until('running', () => reports.last('t1')?.State === 'running');
  assert.equal(fc.calls.filter((c) => c.startsWith('create')).length, 1);
  await agent.close();
});

test('desired shutdown stops the container and keeps it; dropping the task removes it', async () => {
  const { fc, reports, agent } = setup();
  await agent.start();
  const spec = { ContainerSpec: { Image: 'busybox', StopGracePeriod: 7e9 } };
  agent.setAssignments([{ task: task('t1', { spec }), serviceName: 'web' }]);
  await until('running', () => reports.last('t1')?.State === 'running');
  const id = fc.byName('web.1.t1')!.id;
  agent.setAssignments([{ task: task('t1', { spec, desired: 'shutdown', state: 'running' }), serviceName: 'web' }]);
  await until('shutdown', () => reports.last('t1')?.State === 'shutdown');
  await agent.settled();
  assert.ok(fc.calls.includes(`stop ${id} 7`));
  assert.equal(reports.last('t1')!.Message, 'shutdown');
  assert.equal(reports.last('t1')!.ContainerStatus?.ExitCode, 143);
  // The die of the stop does not turn the shutdown into a failure.
  assert.deepEqual(reports.states('t1').slice(-1), ['shutdown']);
  assert.equal(reports.states('t1').filter((s) => s === 'failed').length, 0);
  assert.equal(fc.byId.get(id)?.state, 'exited', 'kept until the task is deleted');
  agent.setAssignments([]);
  await until('removed', () => !fc.byId.has(id));
  await agent.close();
});

test('shutdown while the image is still pulling aborts the pull and creates nothing', async () => {
  const { fc, reports, agent } = setup();
  await agent.start();
  let aborted = false;
  fc.pullImpl = (_ref, signal) => new Promise((_resolve, reject) => {
    signal?.addEventListener('abort', () => { aborted = true; reject(new Error('aborted')); });
  });
  const spec = { ContainerSpec: { Image: 'slow' } };
  agent.setAssignments([{ task: task('t1', { spec }), serviceName: 'web' }]);
  await until('pulling', () => fc.calls.includes('pull slow:latest'));
  agent.setAssignments([{ task: task('t1', { spec, desired: 'shutdown', state: 'preparing' }), serviceName: 'web' }]);
  await until('shutdown', () => reports.last('t1')?.State === 'shutdown');
  assert.ok(aborted);
  assert.equal(fc.calls.filter((c) => c.startsWith('create')).length, 0);
  await agent.close();
});

test('tasks proceed in parallel: a slow pull holds only its own task', async () => {
  const { fc, reports, agent } = setup();
  await agent.start();
  let release!: () => void;
  fc.pullImpl = (ref) => new Promise((resolve) => { release = () => { fc.images.add(ref); resolve(); }; });
  agent.setAssignments([
    { task: task('slow', { spec: { ContainerSpec: { Image: 'big' } } }), serviceName: 's' },
    { task: task('fast'), serviceName: 'f' },
  ]);
  await until('fast running', () => reports.last('fast')?.State === 'running');
  assert.equal(reports.last('slow')?.State, 'preparing');
  // Kicks while the pull runs neither overlap nor repeat the pull.
  for (let i = 0; i < 5; i++) {
    agent.setAssignments([
      { task: task('slow', { spec: { ContainerSpec: { Image: 'big' } } }), serviceName: 's' },
      { task: task('fast', { state: 'running' }), serviceName: 'f' },
    ]);
  }
  release();
  await until('slow running', () => reports.last('slow')?.State === 'running');
  assert.equal(fc.calls.filter((c) => c === 'pull big:latest').length, 1);
  assert.equal(fc.calls.filter((c) => c.startsWith('create s.')).length, 1);
  await agent.close();
});

test('after a restart: running containers are adopted, exited ones reported, unassigned ones removed', async () => {
  const fc = new FakeContainers();
  const mk = (name: string, taskId: string, state: string, exitCode: number) => {
    const id = `old-${taskId}`;
    fc.byId.set(id, { id, name, labels: { 'com.docker.swarm.task.id': taskId, 'com.docker.swarm.node.id': 'n1' }, state, exitCode, pid: state === 'running' ? 77 : 0, error: '', health: 'none', body: {} });
    return id;
  };
  const running = mk('web.1.t1', 't1', 'running', 0);
  const exited = mk('web.2.t2', 't2', 'exited', 2);
  const stale = mk('web.3.t3', 't3', 'running', 0);
  const calm = mk('web.4.t4', 't4', 'running', 0);
  const { reports, agent } = setup(fc);
  await agent.start();
  assert.ok(fc.byId.has(stale), 'nothing is removed before the first assignment set');
  agent.setAssignments([
    // The manager missed the running report (it has starting).
    { task: task('t1', { state: 'starting', slot: 1 }), serviceName: 'web' },
    { task: task('t2', { state: 'running', slot: 2 }), serviceName: 'web' },
    { task: task('t4', { state: 'running', slot: 4 }), serviceName: 'web' },
  ]);
  await until('t1 running, t2 failed, t3 removed', () => reports.last('t1')?.State === 'running'
    && reports.last('t2')?.State === 'failed' && !fc.byId.has(stale));
  await agent.settled();
  assert.deepEqual(reports.last('t1')!.ContainerStatus, { ContainerID: running, PID: 77, ExitCode: 0 });
  assert.equal(reports.last('t2')!.Err, 'task: non-zero exit (2)');
  assert.deepEqual(reports.states('t4'), [], 'a running task the manager knows as running needs no report');
  assert.ok(fc.byId.has(running) && fc.byId.has(exited) && fc.byId.has(calm));
  assert.deepEqual(fc.calls.filter((c) => c.startsWith('create') || c.startsWith('start')), [], 'adopted, not recreated');
  await agent.close();
});

test('failed reports are retried; a newer status supersedes a queued older one; order stays forward', async () => {
  const { fc, reports, agent } = setup();
  await agent.start();
  reports.failNext = 3;
  agent.setAssignments([{ task: task('t1'), serviceName: 'web' }]);
  await until('running delivered', () => reports.last('t1')?.State === 'running');
  const states = reports.states('t1');
  // The first report failed while later ones queued up: some intermediate states were never sent.
  assert.ok(states.length < 5, `superseded: ${states.join(',')}`);
  for (let i = 1; i < states.length; i++) assert.ok(compareStates(states[i - 1], states[i]) < 0, `forward: ${states.join(',')}`);
  fc.exit(fc.byName('web.')!.id, 0);
  reports.failNext = 2;
  await until('complete delivered after retries', () => reports.last('t1')?.State === 'complete');
  await agent.close();
});

test('close stops reporting and driving; containers are left running', async () => {
  const { fc, reports, agent } = setup();
  await agent.start();
  agent.setAssignments([{ task: task('t1'), serviceName: 'web' }]);
  await until('running', () => reports.last('t1')?.State === 'running');
  await agent.close();
  const n = reports.all.length;
  fc.exit(fc.byName('web.')!.id, 0);
  agent.setAssignments([]);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(reports.all.length, n);
  assert.ok(fc.byName('web.'), 'not removed after close');
});

test('an assignment set before start() finishes: its containers are adopted and the rest removed', async () => {
  const fc = new FakeContainers();
  for (const [taskId, name] of [['t1', 'web.1.t1'], ['t9', 'web.9.t9']]) {
    fc.byId.set(`old-${taskId}`, { id: `old-${taskId}`, name, labels: { 'com.docker.swarm.task.id': taskId }, state: 'running', exitCode: 0, pid: 5, error: '', health: 'none', body: {} });
  }
  const { reports, agent } = setup(fc);
  agent.setAssignments([{ task: task('t1', { state: 'starting' }), serviceName: 'web' }]);
  await agent.start();
  await until('t1 running, t9 removed', () => reports.last('t1')?.State === 'running' && !fc.byId.has('old-t9'));
  assert.equal(reports.last('t1')!.ContainerStatus?.ContainerID, 'old-t1');
  assert.deepEqual(fc.calls.filter((c) => c.startsWith('create')), []);
  await agent.close();
});

test('desired shutdown of a task the manager already ended still stops its container, without a report', async () => {
  const fc = new FakeContainers();
  fc.byId.set('old-t1', { id: 'old-t1', name: 'web.1.t1', labels: { 'com.docker.swarm.task.id': 't1' }, state: 'running', exitCode: 0, pid: 5, error: '', health: 'none', body: {} });
  const { reports, agent } = setup(fc);
  await agent.start();
  agent.setAssignments([{ task: task('t1', { state: 'orphaned', desired: 'shutdown' }), serviceName: 'web' }]);
  await until('stopped', () => fc.byId.get('old-t1')?.state === 'exited');
  await agent.settled();
  assert.deepEqual(reports.states('t1'), []);
  await agent.close();
});

/** FakeContainers with task secret tmpfs kept in memory. */
class SecretContainers extends FakeContainers {
  dirs = new Map<string, { target: string; data: string; uid: number; gid: number; mode: number }[]>();
  async writeTaskFiles(taskId: string, files: { target: string; data: Buffer; uid: number; gid: number; mode: number }[]): Promise<string[]> {
    this.dirs.set(taskId, files.map((f) => ({ target: f.target, data: f.data.toString(), uid: f.uid, gid: f.gid, mode: f.mode })));
    return files.map((_f, i) => `/x/${taskId}/${i}`);
  }
  async removeTaskFiles(taskId: string): Promise<void> { this.dirs.delete(taskId); }
  async pruneTaskFiles(keep: Set<string>): Promise<void> { for (const k of [...this.dirs.keys()]) if (!keep.has(k)) this.dirs.delete(k); }
}

test('secrets and configs: written for the task, bind-mounted read-only at their targets, gone when the container ends; data not sent → rejected', async () => {
  const fc = new SecretContainers();
  fc.dirs.set('stale', []);
  const { reports, agent } = setup(fc);
  await agent.start();
  assert.ok(!fc.dirs.has('stale'), 'a tmpfs without its container is removed at start');
  const spec = { ContainerSpec: {
    Image: 'busybox', Args: ['sleep', '60'],
    Secrets: [{ SecretID: 's1', SecretName: 'db', File: { Name: 'db', UID: '1000', GID: '1000', Mode: 0o400 } }],
    Configs: [{ ConfigID: 'c1', ConfigName: 'conf', File: { Name: '/etc/app.conf', UID: '0', GID: '0', Mode: 0o444 } }],
  } };
  agent.setMaterial({ secrets: [{ ID: 's1', Data: Buffer.from('pw').toString('base64') }], configs: [{ ID: 'c1', Data: Buffer.from('conf').toString('base64') }] });
  agent.setAssignments([{ task: task('t1', { spec }), serviceName: 'web' }]);
  await until('running', () => reports.states('t1').includes('running'));
  assert.deepEqual(fc.dirs.get('t1'), [
    { target: '/run/secrets/db', data: 'pw', uid: 1000, gid: 1000, mode: 0o400 }, { target: '/etc/app.conf', data: 'conf', uid: 0, gid: 0, mode: 0o444 },
  ]);
  const c = fc.byName('web.1.t1')!;
  assert.deepEqual(c.body.HostConfig?.Mounts, [
    { Type: 'bind', Source: '/x/t1/0', Target: '/run/secrets/db', ReadOnly: true }, { Type: 'bind', Source: '/x/t1/1', Target: '/etc/app.conf', ReadOnly: true },
  ]);
  fc.exit(c.id, 1);
  await until('failed', () => reports.last('t1')?.State === 'failed');
  assert.ok(!fc.dirs.has('t1'), 'the tmpfs goes when the container ends');
  // A task whose secret this node was not sent is rejected before anything is created.
  agent.setMaterial({});
  agent.setAssignments([{ task: task('t1', { spec, state: 'failed' }), serviceName: 'web' }, { task: task('t2', { spec, slot: 2 }), serviceName: 'web' }]);
  await until('rejected', () => reports.last('t2')?.State === 'rejected');
  assert.equal(reports.last('t2')!.Err, 'secret db, config conf: not sent to this node');
  assert.ok(!fc.byName('web.2.t2') && !fc.dirs.has('t2'));
  await agent.close();
});
