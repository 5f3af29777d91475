import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from '../../common/errors.ts';
import { STATUSES, TRANSITIONS, createdState, transition, withHealth, type ContainerState, type ContainerStatus } from './state.ts';

/** A consistent State in `status` (built through the table's own legal paths). */
function stateIn(status: ContainerStatus): ContainerState {
  const s = createdState();
  const running = transition(s, 'running', { Pid: 42, StartedAt: '2024-01-01T00:00:00Z' });
  const exited = transition(running, 'exited', { ExitCode: 3, FinishedAt: '2024-01-01T00:00:01Z' });
  switch (status) {
    case 'created': return s;
    case 'running': return running;
    case 'paused': return transition(running, 'paused');
    case 'exited': return exited;
    case 'restarting': return transition(exited, 'restarting');
    case 'removing': return transition(exited, 'removing');
    case 'dead': return transition(transition(exited, 'removing'), 'dead');
  }
}

const ALLOWED: Record<ContainerStatus, ContainerStatus[]> = {
  created: ['running', 'created', 'removing'],
  running: ['running', 'paused', 'exited'],
  paused: ['running', 'exited'],
  restarting: ['running', 'exited', 'removing'],
  removing: ['dead'],
  exited: ['running', 'exited', 'restarting', 'removing'],
  dead: ['removing'],
};

test('the table is the one the engine uses (7×7 pairs)', () => {
  for (const from of STATUSES) assert.deepEqual([...TRANSITIONS[from]].sort(), [...ALLOWED[from]].sort(), from);
});

for (const from of STATUSES) {
  for (const to of STATUSES) {
    const legal = ALLOWED[from].includes(to);
    test(`${from} → ${to}: ${legal ? 'allowed, flags consistent' : 'Conflict'}`, () => {
      const s = stateIn(from);
      const before = structuredClone(s);
      if (!legal) {
        assert.throws(() => transition(s, to), (e: unknown) => isEngineError(e, 'Conflict') && e.message.includes(`from ${from} to ${to}`));
        assert.deepEqual(s, before, 'the state is left as it was');
        return;
      }
      const fields = to === 'running' ? { Pid: 77 } : to === 'exited' ? { ExitCode: 9, Error: 'x' } : {};
      const n = transition(s, to, fields);
      assert.equal(n.Status, to);
      assert.equal(n.Running, to === 'running' || to === 'paused');
      assert.equal(n.Paused, to === 'paused');
      assert.equal(n.Restarting, to === 'restarting');
      assert.equal(n.Dead, to === 'dead');
      if (to === 'running') assert.equal(n.Pid, 77);
      else if (to === 'paused') assert.equal(n.Pid, s.Pid, 'a pause keeps the process');
      else assert.equal(n.Pid, 0, 'no process, no pid');
      if (to === 'exited') { assert.equal(n.ExitCode, 9); assert.equal(n.Error, 'x'); } else {
        assert.equal(n.ExitCode, s.ExitCode, 'fields not given are kept');
        assert.equal(n.Error, s.Error);
      }
      assert.equal(n.StartedAt, s.StartedAt);
      assert.deepEqual(s, before, 'a new State, the old one untouched');
    });
  }
}

test('withHealth sets only the health', () => {
  const s = stateIn('running');
  const h = { Status: 'healthy' as const, FailingStreak: 0, Log: [] };
  assert.deepEqual(withHealth(s, h), { ...s, Health: h });
});
