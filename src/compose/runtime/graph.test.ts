// Dependency-order walks: dependencies first (or last), independent services at the same time,
// the first failure stops what has not started, `only` and the concurrency limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eachLimited, inDependencyOrder, inReverseDependencyOrder } from './graph.ts';

const dep = (...names: string[]) => ({ dependsOn: Object.fromEntries(names.map((n) => [n, { condition: 'service_started' as const, restart: false, required: true }])) });
const services = { web: dep('db', 'cache'), db: {}, cache: {}, worker: dep('db'), extra: dep('ghost') };
const tick = () => new Promise((r) => setTimeout(r, 5));

test('up: each after what it depends on, independent ones overlapping', async () => {
  const log: string[] = [];
  let running = 0;
  let maxRunning = 0;
  await inDependencyOrder(services, async (n) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    log.push(`+${n}`);
    await tick();
    log.push(`-${n}`);
    running--;
  });
  const at = (s: string) => log.indexOf(s);
  assert.ok(at('+web') > at('-db') && at('+web') > at('-cache'), log.join(' '));
  assert.ok(at('+worker') > at('-db'), log.join(' '));
  // cache, db and extra (whose dependency is not in the project) start together.
  assert.ok(maxRunning >= 3, `max ${maxRunning}: ${log.join(' ')}`);
  assert.equal(log.length, 10);
});

test('down: each after what depends on it', async () => {
  const log: string[] = [];
  await inReverseDependencyOrder(services, async (n) => { log.push(`+${n}`); await tick(); log.push(`-${n}`); });
  const at = (s: string) => log.indexOf(s);
  assert.ok(at('+db') > at('-web') && at('+db') > at('-worker'), log.join(' '));
  assert.ok(at('+cache') > at('-web'), log.join(' '));
  // only db: db and what depends on it, nothing else
  const only: string[] = [];
  await inReverseDependencyOrder(services, async (n) => { only.push(n); }, { only: ['db'] });
  assert.deepEqual(only.sort(), ['db', 'web', 'worker']);
});

test('a failure stops the walk; the limit bounds concurrency', async () => {
  const seen: string[] = [];
  await assert.rejects(inDependencyOrder(services, async (n) => {
    seen.push(n);
    await tick();
    if (n === 'db') throw new Error('db failed');
  }), /db failed/);
  assert.ok(!seen.includes('web') && !seen.includes('worker'), seen.join(' '));
  let running = 0;
  let max = 0;
  await inDependencyOrder({ a: {}, b: {}, c: {}, d: {} }, async () => { running++; max = Math.max(max, running); await tick(); running--; }, { limit: 2 });
  assert.equal(max, 2);
  await inDependencyOrder({}, async () => { throw new Error('never'); });
});

test('eachLimited: at most the limit at once (none with -1), every item tried, the first error after all settle', async () => {
  for (const [limit, want] of [[2, 2], [-1, 5]] as const) {
    let running = 0;
    let maxRunning = 0;
    const seen: number[] = [];
    await eachLimited([1, 2, 3, 4, 5], limit, async (x) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await tick();
      seen.push(x);
      running--;
    });
    assert.equal(maxRunning, want);
    assert.deepEqual(seen.sort(), [1, 2, 3, 4, 5]);
  }
  const tried: number[] = [];
  await assert.rejects(eachLimited([1, 2, 3], 1, async (x) => {
    tried.push(x);
    if (x !== 3) throw new Error(`failed ${x}`);
  }), /failed 1/);
  assert.deepEqual(tried, [1, 2, 3]);
});
