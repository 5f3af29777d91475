import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RESTART_DELAY_NS, pruneRestartHistory, resolvePolicy, restartDelayMs, shouldRestart } from './restart.ts';

const S = 1e9; // one second in the API's nanoseconds
const t = (s: number) => Date.UTC(2026, 11, 6, 12, 0, 0) + s * 1000;

test('defaults are Docker\'s: any, 5s, unlimited', () => {
  assert.deepEqual(resolvePolicy(undefined), { condition: 'any', delayMs: 5000, maxAttempts: 0, windowMs: 0 });
  assert.equal(DEFAULT_RESTART_DELAY_NS, 5 * S);
  assert.equal(restartDelayMs(undefined), 5000);
  assert.equal(restartDelayMs({ Delay: 0 }), 0);
  assert.equal(restartDelayMs({ Delay: 2.5 * S }), 2500);
  assert.equal(restartDelayMs({ Delay: 10 * S }, true), 0, 'no delay off a drained node');
});

test('condition none never restarts, on-failure skips clean exits, any always restarts', () => {
  for (const state of ['complete', 'failed', 'rejected', 'shutdown', 'orphaned', 'running'] as const) {
    assert.equal(shouldRestart({ Condition: 'none' }, { state }, [], t(0)), false, `none/${state}`);
    assert.equal(shouldRestart({ Condition: 'on-failure' }, { state }, [], t(0)), state !== 'complete', `on-failure/${state}`);
    assert.equal(shouldRestart({ Condition: 'any' }, { state }, [], t(0)), true, `any/${state}`);
    assert.equal(shouldRestart(undefined, { state }, [], t(0)), true, `default/${state}`);
  }
});

test('max attempts without a window counts every restart', () => {
  const p = { Condition: 'on-failure' as const, MaxAttempts: 2 };
  assert.equal(shouldRestart(p, { state: 'failed', endedAt: t(100) }, [], t(100)), true);
  assert.equal(shouldRestart(p, { state: 'failed', endedAt: t(100) }, [t(1)], t(100)), true);
  assert.equal(shouldRestart(p, { state: 'failed', endedAt: t(100) }, [t(1), t(2)], t(100)), false);
  assert.equal(shouldRestart({ ...p, MaxAttempts: 0 }, { state: 'failed' }, [t(1), t(2), t(3)], t(100)), true);
});

test('max attempts within a window counts only restarts in the window before the task ended', () => {
  const p = { Condition: 'any' as const, MaxAttempts: 2, Window: 60 * S };
  // Restarts at 0s and 30s; the task ends at 50s: both in (−10s, 50s) → exhausted.
  assert.equal(shouldRestart(p, { state: 'failed', endedAt: t(50) }, [t(0), t(30)], t(50)), false);
  // Ends at 70s: the restart at 0s fell out of (10s, 70s) → one more allowed.
  assert.equal(shouldRestart(p, { state: 'failed', endedAt: t(70) }, [t(0), t(30)], t(70)), true);
  // A restart after the task ended does not count against it.
  assert.equal(shouldRestart(p, { state: 'failed', endedAt: t(50) }, [t(30), t(55)], t(60)), true);
  // No end time: `now` stands in.
  assert.equal(shouldRestart(p, { state: 'failed' }, [t(0), t(30)], t(50)), false);
  assert.equal(shouldRestart(p, { state: 'failed' }, [t(0), t(30)], t(61)), true);
});

test('pruneRestartHistory keeps only what the policy can still count', () => {
  assert.deepEqual(pruneRestartHistory({ MaxAttempts: 0 }, [t(0)], t(10)), []);
  assert.deepEqual(pruneRestartHistory({ MaxAttempts: 3 }, [t(0), t(5)], t(1000)), [t(0), t(5)]);
  assert.deepEqual(pruneRestartHistory({ MaxAttempts: 3, Window: 10 * S }, [t(0), t(5), t(9)], t(12)), [t(5), t(9)]);
});
