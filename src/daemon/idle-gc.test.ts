import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idleGc } from './idle-gc.ts';

test('idle gc: one last-resort collection after the quiet period that follows requests, none while busy or without gc', async () => {
  const calls: unknown[] = [];
  const g = idleGc({ quietMs: 30, gc: (o) => { calls.push(o); } });
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(calls.length, 0, 'no requests: nothing to give back');
  for (let i = 0; i < 5; i++) { g.touch(); await new Promise((r) => setTimeout(r, 10)); }
  assert.equal(calls.length, 0, 'requests 10 ms apart keep it waiting');
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(calls, [{ type: 'major', execution: 'sync', flavor: 'last-resort' }]);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(calls.length, 1, 'once per burst');
  g.touch();
  g.stop();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(calls.length, 1, 'stopped: the pending collection is dropped');
  const none = idleGc({ quietMs: 1, gc: undefined });
  none.touch(); // no gc exposed: nothing happens, nothing throws
  none.stop();
});
