import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, RestartPolicy, Service, Task, TaskState } from '../../api/types/swarm.ts';
import type { OrchestratorAction } from './actions.ts';
import { reconcileReplicated, scaleDownOrder } from './replicated.ts';

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const iso = (s: number) => new Date(NOW + s * 1000).toISOString();

function service(replicas: number, RestartPolicy?: RestartPolicy): Service {
  return {
    ID: 's1', Version: { Index: 1 }, CreatedAt: iso(-1000), UpdatedAt: iso(-1000),
    Spec: { Name: 'web', Mode: { Replicated: { Replicas: replicas } }, TaskTemplate: { RestartPolicy } },
  };
}

let seq = 0;
function task(slot: number, nodeID: string | undefined, state: TaskState,
  o: { desired?: TaskState; at?: number; id?: string } = {}): Task {
  return {
    ID: o.id ?? `t${++seq}`, Version: { Index: 1 }, ServiceID: 's1', Slot: slot, NodeID: nodeID, Spec: {},
    Status: { Timestamp: iso(o.at ?? -10), State: state }, DesiredState: o.desired ?? 'running',
  };
}

function node(ID: string, state: Node['Status']['State'] = 'ready', Availability: Node['Spec']['Availability'] = 'active'): Node {
  return { ID, Spec: { Availability }, Status: { State: state } };
}
const nodes = [node('n1'), node('n2'), node('n3')];

const kinds = (a: OrchestratorAction[], kind: OrchestratorAction['kind']) => a.filter((x) => x.kind === kind);
const ids = (a: OrchestratorAction[], kind: 'shutdown' | 'remove' | 'delete') =>
  kinds(a, kind).map((x) => (x as { taskID: string }).taskID).sort();
const slotsCreated = (a: OrchestratorAction[]) =>
  kinds(a, 'create').map((x) => (x as { slot?: number }).slot);

test('a new service gets one task per slot, numbered from 1', () => {
  const a = reconcileReplicated(service(3), [], nodes, { now: NOW });
  assert.deepEqual(a, [1, 2, 3].map((slot) => ({ kind: 'create', slot, desiredState: 'running', reason: 'scale up' })));
});

test('a converged service needs nothing', () => {
  const tasks = [task(1, 'n1', 'running'), task(2, 'n2', 'running')];
  assert.deepEqual(reconcileReplicated(service(2), tasks, nodes, { now: NOW }), []);
});

test('scale up fills the lowest free slot numbers', () => {
  const tasks = [task(2, 'n1', 'running'), task(4, 'n2', 'running')];
  assert.deepEqual(slotsCreated(reconcileReplicated(service(5), tasks, nodes, { now: NOW })), [1, 3, 5]);
});

test('scale up reuses a dead slot with its history and deletes the dead slots it does not reuse', () => {
  // Slot 1 was scaled down (desired remove, still stopping); slot 2's task was shut down and
  // would be restarted (policy any), so both slots are dead; slot 3 runs.
  const old1 = task(1, 'n1', 'running', { desired: 'remove', id: 'old1' });
  const old2 = task(2, 'n2', 'shutdown', { desired: 'shutdown', id: 'old2' });
  const old2b = task(2, 'n2', 'failed', { desired: 'shutdown', id: 'old2b', at: -50 });
  const tasks = [old1, old2, old2b, task(3, 'n3', 'running')];
  const a = reconcileReplicated(service(2), tasks, nodes, { now: NOW });
  assert.deepEqual(slotsCreated(a), [1]);
  assert.deepEqual(ids(a, 'delete'), ['old2', 'old2b']);
  assert.deepEqual(ids(a, 'remove'), []);
  // With three replicas slot 2 is reused and keeps its history; the stopping task stays for the reaper.
  const b = reconcileReplicated(service(3), tasks, nodes, { now: NOW });
  assert.deepEqual(slotsCreated(b), [1, 2]);
  assert.deepEqual(b.filter((x) => x.kind !== 'create'), []);
});

test('scale down of ended tasks that are not restarted marks them removed; they then stop counting', () => {
  const policy = { Condition: 'none' as const };
  const tasks = [1, 2, 3].map((slot) => task(slot, `n${slot}`, 'complete', { desired: 'shutdown', id: `c${slot}` }));
  const a = reconcileReplicated(service(1, policy), tasks, nodes, { now: NOW });
  assert.deepEqual(ids(a, 'remove'), ['c2', 'c3']);
  const applied = tasks.map((t) => (t.ID === 'c1' ? t : { ...t, DesiredState: 'remove' as const }));
  assert.deepEqual(ids(reconcileReplicated(service(1, policy), applied, nodes, { now: NOW }), 'delete'), ['c2', 'c3']);
  assert.deepEqual(reconcileReplicated(service(1, policy), [tasks[0]], nodes, { now: NOW }), []);
});

test('scale down removes copies from the node with the most tasks of the service, highest slot first', () => {
  const tasks = [
    task(1, 'n1', 'running', { id: 'a' }), task(2, 'n1', 'running', { id: 'b' }), task(3, 'n1', 'running', { id: 'c' }),
    task(4, 'n2', 'running', { id: 'd' }), task(5, 'n3', 'running', { id: 'e' }),
  ];
  const a = reconcileReplicated(service(3), tasks, nodes, { now: NOW });
  // Keep one per node (a, d, e): n1's 2nd and 3rd copies go.
  assert.deepEqual(ids(a, 'remove'), ['b', 'c']);
  assert.equal(kinds(a, 'create').length, 0);
  assert.deepEqual(ids(reconcileReplicated(service(4), tasks, nodes, { now: NOW }), 'remove'), ['c']);
  assert.deepEqual(ids(reconcileReplicated(service(0), tasks, nodes, { now: NOW }), 'remove'), ['a', 'b', 'c', 'd', 'e']);
});

test('scale down prefers tasks that are not running, then unassigned ones', () => {
  const tasks = [
    task(1, 'n1', 'running', { id: 'a' }), task(2, 'n2', 'preparing', { id: 'b' }),
    task(3, 'n3', 'running', { id: 'c' }), task(4, undefined, 'pending', { id: 'd' }),
  ];
  assert.deepEqual(ids(reconcileReplicated(service(3), tasks, nodes, { now: NOW }), 'remove'), ['d']);
  assert.deepEqual(ids(reconcileReplicated(service(2), tasks, nodes, { now: NOW }), 'remove'), ['b', 'd']);
  const order = scaleDownOrder([
    { slot: 1, occupying: [tasks[0]] }, { slot: 2, occupying: [tasks[1]] },
    { slot: 3, occupying: [tasks[2]] }, { slot: 4, occupying: [tasks[3]] },
  ]).map((s) => s.slot);
  assert.deepEqual(order, [1, 3, 2, 4]);
});

test('a failed task is shut down and replaced in its slot after the restart delay', () => {
  const failed = task(2, 'n2', 'failed', { id: 'f' });
  const a = reconcileReplicated(service(2, { Condition: 'on-failure', Delay: 3e9 }),
    [task(1, 'n1', 'running'), failed], nodes, { now: NOW });
  assert.deepEqual(a, [
    { kind: 'shutdown', taskID: 'f', reason: 'task failed' },
    { kind: 'create', slot: 2, desiredState: 'ready', startAt: NOW + 3000, replaces: 'f', restartedAt: NOW, reason: 'restart: task failed' },
  ]);
});

test('restart conditions: none leaves the slot filled by its ended task, on-failure skips clean exits', () => {
  const done = task(1, 'n1', 'complete', { id: 'c' });
  for (const [cond, restarted] of [['none', false], ['on-failure', false], ['any', true]] as const) {
    const a = reconcileReplicated(service(1, { Condition: cond }), [done], nodes, { now: NOW });
    assert.deepEqual(ids(a, 'shutdown'), ['c'], cond);
    assert.deepEqual(slotsCreated(a), restarted ? [1] : [], cond);
    // Next pass, with the shutdown applied: the slot stays occupied, no new task, no scale up.
    const after = reconcileReplicated(service(1, { Condition: cond }), [{ ...done, DesiredState: 'shutdown' }],
      nodes, { now: NOW, restartHistory: new Map(restarted ? [[1, [NOW]]] : []) });
    assert.deepEqual(slotsCreated(after), restarted ? [1] : [], `${cond}, next pass`);
  }
});

test('max attempts: the slot is not refilled once its restarts are used up', () => {
  const policy = { Condition: 'any' as const, MaxAttempts: 2 };
  const failed = task(1, 'n1', 'failed', { id: 'f' });
  const one = reconcileReplicated(service(1, policy), [failed], nodes, { now: NOW, restartHistory: new Map([[1, [NOW - 9000]]]) });
  assert.deepEqual(slotsCreated(one), [1]);
  const two = reconcileReplicated(service(1, policy), [failed], nodes,
    { now: NOW, restartHistory: new Map([[1, [NOW - 9000, NOW - 5000]]]) });
  assert.deepEqual(two, [{ kind: 'shutdown', taskID: 'f', reason: 'task failed' }]);
  // Within a window of 6s before the failure (at NOW-10s): no restart was in it → allowed again.
  const windowed = reconcileReplicated(service(1, { ...policy, Window: 6e9 }), [failed], nodes,
    { now: NOW, restartHistory: new Map([[1, [NOW - 30000, NOW - 20000]]]) });
  assert.deepEqual(slotsCreated(windowed), [1]);
});

test('tasks on a node that is down, drained or gone are replaced; without the restart delay (the task did not fail)', () => {
  const tasks = [
    task(1, 'n1', 'running', { id: 'a' }), task(2, 'n2', 'running', { id: 'b' }),
    task(3, 'n3', 'running', { id: 'c' }), task(4, 'gone', 'running', { id: 'd' }),
  ];
  const ns = [node('n1'), node('n2', 'down'), node('n3', 'ready', 'drain')];
  const a = reconcileReplicated(service(4), tasks, ns, { now: NOW });
  assert.deepEqual(ids(a, 'shutdown'), ['b', 'c', 'd']);
  const creates = kinds(a, 'create') as Extract<OrchestratorAction, { kind: 'create' }>[];
  assert.deepEqual(creates.map((c) => [c.slot, c.replaces, c.startAt! - NOW]),
    [[2, 'b', 0], [3, 'c', 0], [4, 'd', 0]]);
  // Nodes 'unknown' or 'disconnected' are not down: their tasks stay.
  assert.deepEqual(reconcileReplicated(service(2), tasks.slice(0, 2), [node('n1', 'unknown'), node('n2', 'disconnected')], { now: NOW }), []);
});

test('an orphaned task (its node down too long) is replaced like a failed one', () => {
  const o = task(1, 'n1', 'orphaned', { id: 'o' });
  const a = reconcileReplicated(service(1, { Condition: 'on-failure' }), [o], nodes, { now: NOW });
  assert.deepEqual(ids(a, 'shutdown'), ['o']);
  assert.deepEqual(slotsCreated(a), [1]);
});

test('history retention keeps 5 tasks per slot, deleting the oldest ended ones', () => {
  const history = Array.from({ length: 7 }, (_, i) => task(1, 'n1', 'failed', { desired: 'shutdown', at: -100 + i, id: `h${i}` }));
  const running = task(1, 'n1', 'running', { id: 'r', at: -200 });
  const a = reconcileReplicated(service(1), [running, ...history], nodes, { now: NOW });
  // 8 tasks → 5: the three oldest ended ones go; the running one, though oldest, stays.
  assert.deepEqual(ids(a, 'delete'), ['h0', 'h1', 'h2']);
  assert.deepEqual(ids(reconcileReplicated(service(1), [running, ...history], nodes, { now: NOW, retention: 2 }), 'delete'),
    ['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
  assert.deepEqual(ids(reconcileReplicated(service(1), [running, ...history], nodes, { now: NOW, retention: -1 }), 'delete'), []);
});

test('history retention counts the replacement created in the same pass', () => {
  const history = Array.from({ length: 4 }, (_, i) => task(1, 'n1', 'failed', { desired: 'shutdown', at: -100 + i, id: `h${i}` }));
  const failing = task(1, 'n1', 'failed', { id: 'f', at: -1 });
  const a = reconcileReplicated(service(1), [...history, failing], nodes, { now: NOW });
  assert.deepEqual(slotsCreated(a), [1]);
  assert.deepEqual(ids(a, 'delete'), ['h0']);
});

test('the reaper deletes removed tasks once ended or never assigned, and nothing else is done to them', () => {
  const stopped = task(3, 'n1', 'shutdown', { desired: 'remove', id: 'x' });
  const unassigned = task(4, undefined, 'pending', { desired: 'remove', id: 'y' });
  const stopping = task(5, 'n2', 'running', { desired: 'remove', id: 'z' });
  const a = reconcileReplicated(service(2), [task(1, 'n1', 'running'), task(2, 'n2', 'running'), stopped, unassigned, stopping],
    nodes, { now: NOW });
  assert.deepEqual(a.map((x) => [x.kind, 'taskID' in x ? x.taskID : x.slot]).sort(), [['delete', 'x'], ['delete', 'y']]);
});

test('the worked example of the header holds', () => {
  const tasks = [task(1, 'n1', 'running', { id: 's1' }), task(2, 'n1', 'running', { id: 's2' }), task(4, 'n2', 'failed', { id: 's4' })];
  const a = reconcileReplicated(service(3), tasks, nodes, { now: NOW });
  assert.deepEqual(a.map((x) => x.kind), ['shutdown', 'create']);
  const b = reconcileReplicated(service(1), tasks, nodes, { now: NOW });
  assert.deepEqual(b.map((x) => [x.kind, 'taskID' in x ? x.taskID : '']), [['remove', 's4'], ['remove', 's2']]);
});

test('tasks of other services and slotless tasks are ignored; the inputs are not changed', () => {
  const other = { ...task(1, 'n1', 'failed'), ServiceID: 's2' };
  const slotless = { ...task(1, 'n1', 'running'), Slot: undefined };
  const input = [other, slotless];
  const copy = structuredClone(input);
  assert.deepEqual(slotsCreated(reconcileReplicated(service(1), input, nodes, { now: NOW })), [1]);
  assert.deepEqual(input, copy);
});
