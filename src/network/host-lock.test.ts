import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { withHostLock } from './host-lock.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('holders of the host lock run one at a time, and the lock is gone after', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostlock-'));
  try {
    const lock = join(dir, 'subnet.lock');
    const order: string[] = [];
    let inside = 0;
    const job = (n: string) => withHostLock(lock, async () => {
      inside++;
      assert.equal(inside, 1, 'two holders at once');
      order.push(`${n}+`);
      await sleep(30);
      order.push(`${n}-`);
      inside--;
      return n;
    });
    assert.deepEqual(await Promise.all([job('a'), job('b'), job('c')]), ['a', 'b', 'c']);
    assert.equal(order.length, 6);
    for (let i = 0; i < 6; i += 2) assert.equal(order[i].slice(0, 1), order[i + 1].slice(0, 1));
    assert.equal(existsSync(lock), false);
    // A failing holder releases it too.
    await assert.rejects(withHostLock(lock, async () => { throw new Error('boom'); }), /boom/);
    assert.equal(existsSync(lock), false);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a lock left by a dead process is taken over; a live owner is waited for, then not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostlock-'));
  try {
    const lock = join(dir, 'subnet.lock');
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), '999999999');
    const t0 = Date.now();
    assert.equal(await withHostLock(lock, async () => 'took'), 'took');
    assert.ok(Date.now() - t0 < 1000);
    // pid 1 lives: the wait is bounded and the work still runs; the other's lock stays.
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), '1');
    const t1 = Date.now();
    assert.equal(await withHostLock(lock, async () => 'late', 200), 'late');
    assert.ok(Date.now() - t1 >= 200);
    assert.equal(existsSync(lock), true);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
