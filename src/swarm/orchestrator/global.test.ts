import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, RestartPolicy, Service, Task, TaskState } from '../../api/types/swarm.ts';
import type { OrchestratorAction } from './actions.ts';
import { isGlobal, reconcileGlobal } from './global.ts';

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const iso = (s: number) => new Date(NOW + s * 1000).toISOString();

function service(RestartPolicy?: RestartPolicy): Service {
  return {
    ID: 'g1', Version: { Index: 1 }, CreatedAt: iso(-1000), UpdatedAt: iso(-1000),
    Spec: { Name: 'agent', Mode: { Global: {} }, TaskTemplate: { RestartPolicy } },
  };
}

function task(id: string, nodeID: string, state: TaskState, o: { desired?: TaskState; at?: number } = {}): Task {
  return {
    ID: id, Version: { Index: 1 }, ServiceID: 'g1', NodeID: nodeID, Spec: {},
    Status: { Timestamp: iso(o.at ?? -10), State: state }, DesiredState: o.desired ?? 'running',
  };
}

function node(ID: string, state: Node['Status']['State'] = 'ready', Availability: Node['Spec']['Availability'] = 'active',
  Labels: Record<string, string> = {}): Node {
  return { ID, Spec: { Availability, Labels }, Status: { State: state } };
}

const creates = (a: OrchestratorAction[]) =>
  a.filter((x) => x.kind === 'create').map((x) => (x as { nodeID?: string }).nodeID).sort();
const ids = (a: OrchestratorAction[], kind: 'shutdown' | 'remove' | 'delete') =>
  a.filter((x) => x.kind === kind).map((x) => (x as { taskID: string }).taskID).sort();

test('one task per active node', () => {
  assert.equal(isGlobal(service()), true);
  const a = reconcileGlobal(service(), [], [node('n1'), node('n2'), node('n3')], { now: NOW });
  assert.deepEqual(a, ['n1', 'n2', 'n3'].map((nodeID) => ({ kind: 'create', nodeID, desiredState: 'running', reason: 'node eligible' })));
  assert.deepEqual(reconcileGlobal(service(), [task('a', 'n1', 'running')], [node('n1')], { now: NOW }), []);
});

test('a node joining gets a task; a paused node keeps its task and gets none; a down node\'s task is shut down', () => {
  const tasks = [task('a', 'n1', 'running'), task('b', 'n2', 'running'), task('p', 'n4', 'running')];
  const ns = [node('n1'), node('n2', 'down'), node('n3', 'down'), node('n4', 'ready', 'pause'),
    node('n5', 'ready', 'pause'), node('n6', 'unknown'), node('n7')];
  const a = reconcileGlobal(service(), tasks, ns, { now: NOW });
  // swarmkit adds to every node that is not down, drained or paused (the scheduler waits for it).
  assert.deepEqual(creates(a), ['n6', 'n7']);
  assert.deepEqual(a.filter((x) => x.kind !== 'create'), [{ kind: 'shutdown', taskID: 'b', reason: 'node is down' }]);
  // Back up: its newest task was shut down and the policy (any) restarts it → a new task.
  const back = reconcileGlobal(service(), [tasks[0], { ...tasks[1], DesiredState: 'shutdown' }], [node('n1'), node('n2')], { now: NOW });
  assert.deepEqual(creates(back), ['n2']);
});

test('a node that left loses its tasks (deleted, history too); removed tasks are reaped', () => {
  const tasks = [task('a', 'n1', 'running'), task('b', 'n2', 'running'), task('b0', 'n2', 'failed', { desired: 'shutdown' })];
  const a = reconcileGlobal(service(), tasks, [node('n1')], { now: NOW });
  assert.deepEqual(ids(a, 'delete'), ['b', 'b0']);
  assert.equal(a.length, 2);
  const removed = [task('a', 'n1', 'running'), task('r1', 'n1', 'complete', { desired: 'remove' }), task('r2', 'n1', 'running', { desired: 'remove' })];
  assert.deepEqual(reconcileGlobal(service(), removed, [node('n1')], { now: NOW }), [{ kind: 'delete', taskID: 'r1', reason: 'removed task ended' }]);
});

test('draining a node removes its task; the constraints predicate does the same', () => {
  const tasks = [task('a', 'n1', 'running'), task('b', 'n2', 'running'), task('c', 'n3', 'running')];
  const ns = [node('n1', 'ready', 'active', { zone: 'a' }), node('n2', 'ready', 'drain', { zone: 'a' }), node('n3', 'ready', 'active', { zone: 'b' })];
  const a = reconcileGlobal(service(), tasks, ns, { now: NOW, eligible: (n) => n.Spec.Labels?.zone === 'a' });
  assert.deepEqual(a, [
    { kind: 'shutdown', taskID: 'b', reason: 'node is drained' },
    { kind: 'shutdown', taskID: 'c', reason: 'node does not satisfy the constraints' },
  ]);
  // Once shut down they stay as history and no new task goes to those nodes.
  const later = [tasks[0], task('b', 'n2', 'shutdown', { desired: 'shutdown' }), task('c', 'n3', 'shutdown', { desired: 'shutdown' })];
  assert.deepEqual(reconcileGlobal(service(), later, ns, { now: NOW, eligible: (n) => n.Spec.Labels?.zone === 'a' }), []);
  // Back to active: a new task beside the old one.
  const c = reconcileGlobal(service(), later.slice(0, 2), [ns[0], node('n2', 'ready', 'active', { zone: 'a' })], { now: NOW });
  assert.deepEqual(creates(c), ['n2']);
  assert.deepEqual(c.length, 1);
});

test('an ended task is restarted on its node per the restart policy', () => {
  const failed = task('f', 'n1', 'failed');
  const a = reconcileGlobal(service({ Delay: 1e9 }), [failed], [node('n1')], { now: NOW });
  assert.deepEqual(a, [
    { kind: 'shutdown', taskID: 'f', reason: 'task failed' },
    { kind: 'create', nodeID: 'n1', desiredState: 'ready', startAt: NOW + 1000, replaces: 'f', restartedAt: NOW, reason: 'restart: task failed' },
  ]);
  const done = task('d', 'n1', 'complete');
  assert.deepEqual(reconcileGlobal(service({ Condition: 'on-failure' }), [done], [node('n1')], { now: NOW }),
    [{ kind: 'shutdown', taskID: 'd', reason: 'task complete' }]);
  // Next pass: the node keeps its completed task and gets no new one.
  assert.deepEqual(reconcileGlobal(service({ Condition: 'on-failure' }), [{ ...done, DesiredState: 'shutdown' }], [node('n1')], { now: NOW }), []);
  // Max attempts used up on this node.
  const h = new Map([['n1', [NOW - 2000]]]);
  assert.deepEqual(creates(reconcileGlobal(service({ MaxAttempts: 1 }), [failed], [node('n1')], { now: NOW, restartHistory: h })), []);
  assert.deepEqual(creates(reconcileGlobal(service({ MaxAttempts: 2 }), [failed], [node('n1')], { now: NOW, restartHistory: h })), ['n1']);
});

test('a duplicate task on a node is removed, keeping the most advanced', () => {
  const a = reconcileGlobal(service(), [task('x', 'n1', 'pending'), task('y', 'n1', 'running')], [node('n1')], { now: NOW });
  assert.deepEqual(a, [{ kind: 'shutdown', taskID: 'x', reason: 'duplicate task on node' }]);
});

test('history retention keeps 5 tasks per node', () => {
  const history = Array.from({ length: 6 }, (_, i) => task(`h${i}`, 'n1', 'failed', { desired: 'shutdown', at: -100 + i }));
  const a = reconcileGlobal(service(), [task('r', 'n1', 'running', { at: -500 }), ...history], [node('n1')], { now: NOW });
  assert.deepEqual(ids(a, 'delete'), ['h0', 'h1']);
});
