import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyProbe, goDuration, probeCommand, MAX_LOG_ENTRIES, type HealthState } from './health.ts';

const S = 1_000_000_000;

test('probeCommand: CMD, CMD-SHELL (with the container SHELL), NONE and empty', () => {
  assert.deepEqual(probeCommand({ Test: ['CMD', 'test', '-f', '/x'] }), ['test', '-f', '/x']);
  assert.deepEqual(probeCommand({ Test: ['CMD-SHELL', 'curl -f x || exit 1'] }), ['/bin/sh', '-c', 'curl -f x || exit 1']);
  assert.deepEqual(probeCommand({ Test: ['CMD-SHELL', 'x'] }, ['/bin/bash', '-ec']), ['/bin/bash', '-ec', 'x']);
  assert.equal(probeCommand({ Test: ['NONE'] }), undefined);
  assert.equal(probeCommand({ Test: [] }), undefined);
  assert.equal(probeCommand(undefined), undefined);
  assert.equal(probeCommand({ Test: ['CMD'] }), undefined);
});

test("goDuration prints Go's time.Duration", () => {
  assert.equal(goDuration(30 * S), '30s');
  assert.equal(goDuration(1.5 * S), '1.5s');
  assert.equal(goDuration(300_000_000), '300ms');
  assert.equal(goDuration(90 * S), '1m30s');
  assert.equal(goDuration(3600 * S), '1h0m0s');
});

test('applyProbe: streak, Retries, start period, log of 5', () => {
  const started = '2026-01-01T00:00:00.000Z';
  const at = (s: number, code: number) => ({ Start: new Date(Date.parse(started) + s * 1000).toISOString(), End: '', ExitCode: code, Output: '' });
  let h: HealthState = { Status: 'starting', FailingStreak: 0, Log: [] };
  // Inside a 10 s start period failures do not count.
  h = applyProbe(h, at(1, 1), { Retries: 2, StartPeriod: 10 * S }, started);
  assert.deepEqual([h.Status, h.FailingStreak], ['starting', 0]);
  h = applyProbe(h, at(11, 1), { Retries: 2, StartPeriod: 10 * S }, started);
  assert.deepEqual([h.Status, h.FailingStreak], ['starting', 1]);
  h = applyProbe(h, at(12, 1), { Retries: 2, StartPeriod: 10 * S }, started);
  assert.deepEqual([h.Status, h.FailingStreak], ['unhealthy', 2]);
  h = applyProbe(h, at(13, 0), { Retries: 2 }, started);
  assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 0]);
  // Once healthy, the start period no longer shields failures; default Retries is 3.
  h = applyProbe({ ...h, Log: [] }, at(2, 1), { StartPeriod: 10 * S }, started);
  assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 1]);
  for (let i = 0; i < 2; i++) h = applyProbe(h, at(3 + i, 1), {}, started);
  assert.deepEqual([h.Status, h.FailingStreak], ['unhealthy', 3]);
  for (let i = 0; i < 10; i++) h = applyProbe(h, at(20 + i, 0), {}, started);
  assert.equal(h.Log.length, MAX_LOG_ENTRIES);
  assert.equal(h.Log.at(-1)!.Start, at(29, 0).Start);
});
