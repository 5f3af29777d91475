import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Task, TaskState } from '../../api/types/swarm.ts';
import {
  NODE_DOWN_ORPHAN_PERIOD_MS, TASK_STATES, advance, compareStates, isFailure, isLive, isSuccess, isTaskState, isTerminal,
  orphanTasksOfDownNode, rank, wantsRunning,
} from './task-state.ts';

const T0 = '2026-12-06T10:00:00.000Z';
const now = new Date('2026-12-06T10:00:05.000Z');

function task(state: TaskState, message = 'm'): Task {
  return {
    ID: 't1', Version: { Index: 1 }, ServiceID: 's1', Slot: 1, NodeID: 'n1', Spec: {},
    Status: { Timestamp: T0, State: state, Message: message }, DesiredState: 'running',
  };
}

test('the states are in swarmkit order, with the API-only "allocated" between new and pending', () => {
  assert.deepEqual(TASK_STATES, ['new', 'allocated', 'pending', 'assigned', 'accepted', 'preparing', 'ready',
    'starting', 'running', 'complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);
  for (let i = 1; i < TASK_STATES.length; i++) {
    assert.ok(compareStates(TASK_STATES[i - 1], TASK_STATES[i]) < 0);
    assert.ok(compareStates(TASK_STATES[i], TASK_STATES[i - 1]) > 0);
    assert.equal(compareStates(TASK_STATES[i], TASK_STATES[i]), 0);
  }
  assert.equal(isTaskState('running'), true);
  assert.equal(isTaskState('Running'), false);
  assert.throws(() => rank('bogus' as TaskState), /unknown task state/);
});

test('advance: every forward pair moves the task, every backward pair is ignored', () => {
  let forward = 0;
  let backward = 0;
  for (const from of TASK_STATES) {
    for (const to of TASK_STATES) {
      if (from === to) continue;
      const before = task(from);
      const frozen = structuredClone(before);
      const r = advance(before, to, 'report', { now });
      assert.deepEqual(before, frozen, 'advance never mutates its input');
      if (rank(to) > rank(from)) {
        forward++;
        assert.equal(r.changed, true, `${from} → ${to} is allowed`);
        assert.equal(r.task.Status.State, to);
        assert.equal(r.task.Status.Message, 'report');
        assert.equal(r.task.Status.Timestamp, now.toISOString());
        assert.equal(r.task.UpdatedAt, now.toISOString());
      } else {
        backward++;
        assert.equal(r.changed, false, `${from} → ${to} is refused`);
        assert.equal(r.ignored, 'backward');
        assert.equal(r.task, before);
      }
    }
  }
  const n = TASK_STATES.length;
  assert.equal(forward, (n * (n - 1)) / 2);
  assert.equal(backward, (n * (n - 1)) / 2);
});

test('advance: an identical report is ignored, the same state with news is taken', () => {
  const t = task('running', 'started');
  assert.deepEqual(advance(t, 'running', 'started', { now }), { task: t, changed: false, ignored: 'identical' });
  const r = advance(t, 'running', 'healthy', { now });
  assert.equal(r.changed, true);
  assert.equal(r.task.Status.Message, 'healthy');
  const f = advance(t, 'failed', 'task: non-zero exit (1)', { now, err: 'exit 1', containerStatus: { ExitCode: 1 } });
  assert.equal(f.task.Status.Err, 'exit 1');
  assert.deepEqual(f.task.Status.ContainerStatus, { ExitCode: 1 });
  assert.equal(advance(f.task, 'failed', 'task: non-zero exit (1)', { now, err: 'exit 1' }).ignored, 'identical');
});

test('advance keeps the container status already known when the report carries none', () => {
  const t = { ...task('starting'), Status: { ...task('starting').Status, ContainerStatus: { ContainerID: 'c1', PID: 42 } } };
  assert.deepEqual(advance(t, 'running', 'started', { now }).task.Status.ContainerStatus, { ContainerID: 'c1', PID: 42 });
});

test('terminal helpers', () => {
  const terminal = TASK_STATES.filter(isTerminal);
  assert.deepEqual(terminal, ['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);
  assert.deepEqual(TASK_STATES.filter(isLive), TASK_STATES.filter((s) => !terminal.includes(s)));
  assert.deepEqual(TASK_STATES.filter(isSuccess), ['complete']);
  assert.deepEqual(TASK_STATES.filter(isFailure), ['failed', 'rejected', 'orphaned']);
  assert.equal(wantsRunning({ DesiredState: 'ready' }), true);
  assert.equal(wantsRunning({ DesiredState: 'running' }), true);
  assert.equal(wantsRunning({ DesiredState: 'shutdown' }), false);
  assert.equal(wantsRunning({ DesiredState: 'remove' }), false);
});

test('a node down for 24h orphans its tasks between assigned and running, and only those', () => {
  const down = Date.parse(T0);
  const tasks = TASK_STATES.map((s, i) => ({ ...task(s), ID: `t${i}` }));
  assert.deepEqual(orphanTasksOfDownNode(tasks, down, down + NODE_DOWN_ORPHAN_PERIOD_MS - 1), []);
  const out = orphanTasksOfDownNode(tasks, down, down + NODE_DOWN_ORPHAN_PERIOD_MS);
  assert.deepEqual(out.map((t) => tasks.find((x) => x.ID === t.ID)!.Status.State),
    ['assigned', 'accepted', 'preparing', 'ready', 'starting', 'running']);
  assert.ok(out.every((t) => t.Status.State === 'orphaned' && t.Status.Message === 'm'));
  assert.equal(tasks[8].Status.State, 'running', 'inputs unchanged');
});
