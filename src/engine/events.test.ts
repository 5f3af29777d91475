import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus } from './events.ts';

test('event times strictly increase, in ns, near the wall clock; time is their second', () => {
  const bus = new EventBus();
  const seen: number[] = [];
  bus.subscribe((e) => seen.push(e.timeNano));
  const before = Date.now();
  for (let i = 0; i < 5000; i++) bus.emit('container', 'die', `c${i}`);
  const after = Date.now();
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], `event ${i} at ${seen[i]} after ${seen[i - 1]}`);
  assert.ok(seen[0] / 1e6 >= before - 1000 && seen[seen.length - 1] / 1e6 <= after + 1000);
  const last = bus.history(0, Number.POSITIVE_INFINITY).pop()!;
  assert.equal(last.time, Math.floor(last.timeNano / 1e9));
  assert.equal(last.Actor.ID, 'c4999');
});
