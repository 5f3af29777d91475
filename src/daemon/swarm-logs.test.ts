import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { frame } from '../common/stdcopy.ts';
import { framesOf, merge, logBody, toWire, type LogEntry } from './swarm-logs.ts';

const e = (stream: 1 | 2, s: string): LogEntry => ({ stream, data: Buffer.from(s) });

test('merge: entries of every source, each whole, in arrival order; it ends when all have', async () => {
  const a = new PassThrough({ objectMode: true });
  const b = new PassThrough({ objectMode: true });
  const out: string[] = [];
  const done = (async () => { for await (const x of merge([a, b])) out.push(x.data.toString()); })();
  a.write(e(1, 'a1\n'));
  await new Promise((r) => setImmediate(r));
  b.write(e(2, 'b1\n'));
  await new Promise((r) => setImmediate(r));
  a.write(e(1, 'a2\n'));
  a.end(); b.end();
  await done;
  assert.deepEqual(out, ['a1\n', 'b1\n', 'a2\n']);
});

test('framesOf: a node\'s upload split anywhere reads back as whole frames', async () => {
  const wire = Buffer.concat([frame(1, 'one\n'), frame(2, 'two\n'), frame(1, 'three\n')]);
  const up = new PassThrough();
  const read = (async () => { const r: LogEntry[] = []; for await (const x of framesOf(up)) r.push(x); return r; })();
  for (let i = 0; i < wire.length; i += 5) up.write(wire.subarray(i, i + 5));
  up.end();
  assert.deepEqual((await read).map((x) => [x.stream, x.data.toString()]), [[1, 'one\n'], [2, 'two\n'], [1, 'three\n']]);
});

test('logBody: frames, or bare lines for a TTY service; toWire carries the bounds as strings', async () => {
  const read = async (tty: boolean) => { const c: Buffer[] = []; for await (const x of logBody((async function* () { yield e(2, 'x\n'); })(), tty)) c.push(x as Buffer); return Buffer.concat(c); };
  assert.deepEqual(await read(false), frame(2, 'x\n'));
  assert.equal((await read(true)).toString(), 'x\n');
  assert.deepEqual(toWire({ stdout: true, stderr: false, follow: true, tail: 5, sinceNs: 12n, timestamps: false, details: true }),
    { stdout: true, stderr: false, tail: 5, follow: true, timestamps: false, details: true, since: '12' });
});
