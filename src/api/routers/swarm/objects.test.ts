import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from '../../../common/errors.ts';
import { Filters } from '../../../common/filters.ts';
import type { Node, Service, Task } from '../../types/swarm.ts';
import { filterServices, filterTasks, isUpToDate, parseObjectVersion, resolveService, serviceStatus, shortTaskName, taskName } from './objects.ts';

const TS = '2026-12-06T18:00:00Z';
const svc = (ID: string, Name: string, spec: Partial<Service['Spec']> = {}): Service =>
  ({ ID, Version: { Index: 1 }, CreatedAt: TS, UpdatedAt: TS, Spec: { Name, TaskTemplate: { ContainerSpec: { Image: 'a' }, ForceUpdate: 0 }, ...spec } });
const task = (ID: string, o: Partial<Task> = {}): Task =>
  ({ ID, Version: { Index: 1 }, ServiceID: 's1', Slot: 1, NodeID: 'n1', Spec: { ForceUpdate: 0, ContainerSpec: { Image: 'a' } }, Status: { Timestamp: TS, State: 'running' }, DesiredState: 'running', ...o });
const node = (ID: string, State: Node['Status']['State']): Node => ({ ID, Spec: { Availability: 'active' }, Status: { State } });

test('parseObjectVersion: decimal digits only, up to 2^64-1, with strconv.ParseUint\'s texts', () => {
  assert.equal(parseObjectVersion('42', 'service'), 42);
  assert.equal(parseObjectVersion('007', 'node'), 7);
  const bad = (raw: string | null, text: string) => assert.throws(() => parseObjectVersion(raw, 'swarm'), (e) => isEngineError(e, 'InvalidParameter') && e.message === text);
  bad(null, 'invalid swarm version \'\': strconv.ParseUint: parsing "": invalid syntax');
  bad('+1', 'invalid swarm version \'+1\': strconv.ParseUint: parsing "+1": invalid syntax');
  bad('1.0', 'invalid swarm version \'1.0\': strconv.ParseUint: parsing "1.0": invalid syntax');
  bad('18446744073709551616', 'invalid swarm version \'18446744073709551616\': strconv.ParseUint: parsing "18446744073709551616": value out of range');
  assert.equal(parseObjectVersion('18446744073709551615', 'swarm') > 0, true);
});

test('task names: swarmkit\'s service.slot.id (node ID for a global task); the short form the CLI prints', () => {
  assert.equal(taskName(task('t1'), 'web'), 'web.1.t1');
  assert.equal(taskName(task('t2', { Slot: undefined, NodeID: 'n9' }), 'db'), 'db.n9.t2');
  assert.equal(taskName(task('t3', { Name: 'custom' }), 'web'), 'custom');
  assert.equal(shortTaskName(task('t1', { Slot: 3 }), 'web'), 'web.3');
  // A task whose service is gone is named by the service ID.
  assert.equal(shortTaskName(task('t1'), undefined), 's1.1');
});

test('isUpToDate: the task runs its service\'s current template (key order aside) and is not superseded', () => {
  const s = svc('s1', 'web');
  assert.equal(isUpToDate(task('t1', { Spec: { ContainerSpec: { Image: 'a' }, ForceUpdate: 0 } }), s), true);
  assert.equal(isUpToDate(task('t1', { Spec: { ForceUpdate: 1, ContainerSpec: { Image: 'a' } } }), s), false);
  assert.equal(isUpToDate(task('t1', { DesiredState: 'shutdown' }), s), false);
  assert.equal(isUpToDate(task('t1', { DesiredState: 'ready' }), s), true);
  assert.equal(isUpToDate(task('t1'), undefined), false);
});

test('serviceStatus: running tasks on nodes not down; desired replicas, or for global the tasks meant to run on live nodes; completed', () => {
  const nodes = [node('n1', 'ready'), node('n2', 'down'), node('n3', 'ready')];
  const tasks = [
    task('a', { NodeID: 'n1' }), task('b', { NodeID: 'n2' }), task('c', { NodeID: 'n3', Status: { Timestamp: TS, State: 'complete' }, DesiredState: 'shutdown' }),
    task('d', { ServiceID: 'other' }),
  ];
  assert.deepEqual(serviceStatus(svc('s1', 'web', { Mode: { Replicated: { Replicas: 3 } } }), tasks, nodes), { RunningTasks: 1, DesiredTasks: 3, CompletedTasks: 1 });
  assert.deepEqual(serviceStatus(svc('s1', 'web', {}), tasks, nodes), { RunningTasks: 1, DesiredTasks: 1, CompletedTasks: 1 });
  assert.deepEqual(serviceStatus(svc('s1', 'web', { Mode: { Global: {} } }), tasks, nodes), { RunningTasks: 1, DesiredTasks: 1, CompletedTasks: 1 });
});

test('resolution prefers the full ID, then an exact name, over ID prefixes', () => {
  const all = [svc('abc123', 'web'), svc('web999', 'api'), svc('abd000', 'abc')];
  assert.equal(resolveService(all, 'web').ID, 'abc123');
  assert.equal(resolveService(all, 'abc').ID, 'abd000');
  assert.equal(resolveService(all, 'abc123').ID, 'abc123');
  assert.throws(() => resolveService(all, 'ab'), /service ab is ambiguous \(2 matches found\)/);
  assert.throws(() => resolveService(all, ''), (e) => isEngineError(e, 'InvalidParameter'));
  assert.throws(() => resolveService([], 'x'), (e) => isEngineError(e, 'NotFound') && e.message === 'service x not found');
});

test('label filters as swarmkit: `k` and `k=` ask for the key, `k=v` for the value; runtime defaults to container', () => {
  const all = [svc('s1', 'a', { Labels: { tier: 'front' } }), svc('s2', 'b', { Labels: { tier: '' } }), svc('s3', 'c', { TaskTemplate: { Runtime: 'plugin' } })];
  const ids = (f: Filters) => filterServices(all, f).map((s) => s.ID);
  assert.deepEqual(ids(new Filters({ label: ['tier'] })), ['s1', 's2']);
  assert.deepEqual(ids(new Filters({ label: ['tier='] })), ['s1', 's2']);
  assert.deepEqual(ids(new Filters({ label: ['tier=front'] })), ['s1']);
  assert.deepEqual(ids(new Filters()), ['s1', 's2']);
  assert.deepEqual(ids(new Filters({ runtime: ['plugin'] })), ['s3']);
  const tasks = [task('t1'), task('t2', { Spec: { Runtime: 'attachment' } })];
  assert.deepEqual(filterTasks(tasks, new Filters(), { services: [svc('s1', 'web')], nodes: [] }).map((t) => t.ID), ['t1']);
});
