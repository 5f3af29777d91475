import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batcher, type Timers } from './batcher.ts';

/** A clock the test moves: timers fire when their time is reached. */
class FakeClock implements Timers {
  t = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #id = 0;
  now(): number { return this.t; }
  setTimeout(fn: () => void, ms: number): number { this.#timers.set(++this.#id, { at: this.t + ms, fn }); return this.#id; }
  clearTimeout(id: unknown): void { this.#timers.delete(id as number); }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.#timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.t = due[1].at;
      this.#timers.delete(due[0]);
      due[1].fn();
      await new Promise((r) => setImmediate(r));
    }
    this.t = end;
    await new Promise((r) => setImmediate(r));
  }
}

test('a burst of changes is one batch after the quiet period; a path is in it once', async () => {
  const clock = new FakeClock();
  const got: string[][] = [];
  const b = new Batcher((p) => { got.push(p); }, { quietMs: 500, maxWaitMs: 5000, timers: clock });
  for (let i = 0; i < 100; i++) { b.push(`/f${i % 10}`); await clock.advance(10); }
  assert.deepEqual(got, []);
  // The last change came at 990 ms; the clock is at 1000.
  await clock.advance(489);
  assert.deepEqual(got, []);
  await clock.advance(1);
  assert.equal(got.length, 1);
  assert.deepEqual([...(got as string[][])[0]].sort(), Array.from({ length: 10 }, (_, i) => `/f${i}`).sort());
});

test('changes that never stop are still handed over, at most every maxWait', async () => {
  const clock = new FakeClock();
  const got: number[] = [];
  const b = new Batcher(() => { got.push(clock.now()); }, { quietMs: 500, maxWaitMs: 2000, timers: clock });
  for (let i = 0; i < 1000; i++) { b.push(`/f${i}`); await clock.advance(100); }
  // 100 s of a change every 100 ms: a batch every 2 s, not one per change, none left waiting long.
  assert.ok(got.length >= 45 && got.length <= 51, String(got.length));
  for (let i = 1; i < got.length; i++) assert.ok(got[i] - got[i - 1] >= 2000, `${got[i]} - ${got[i - 1]}`);
});

test('one batch at a time: changes during a slow handler make up the next batch, after it', async () => {
  const clock = new FakeClock();
  const got: string[][] = [];
  let release!: () => void;
  let running = 0;
  let maxRunning = 0;
  const b = new Batcher(async (p) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    got.push(p);
    if (got.length === 1) await new Promise<void>((r) => { release = r; });
    running--;
  }, { quietMs: 100, maxWaitMs: 1000, timers: clock });
  b.push('/a');
  await clock.advance(100);
  assert.equal(got.length, 1);
  b.push('/b');
  b.push('/c');
  await clock.advance(5000);
  assert.equal(got.length, 1, 'the second batch waits for the first');
  release();
  await clock.advance(0);
  await clock.advance(100);
  assert.deepEqual(got, [['/a'], ['/b', '/c']]);
  assert.equal(maxRunning, 1);
});

test('close hands over what is pending, then takes nothing more', async () => {
  const clock = new FakeClock();
  const got: string[][] = [];
  const b = new Batcher((p) => { got.push(p); }, { quietMs: 500, timers: clock });
  b.push('/x');
  await b.close();
  assert.deepEqual(got, [['/x']]);
  b.push('/y');
  await clock.advance(10_000);
  assert.deepEqual(got, [['/x']]);
});
