import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from './errors.ts';
import { frame, Demuxer, demux, HEADER_LENGTH, STDOUT, STDERR, SYSTEMERR, type StdStream } from './stdcopy.ts';

function collect() {
  const frames: Array<[StdStream, string]> = [];
  const d = new Demuxer((s, p) => frames.push([s, p.toString()]));
  return { d, frames };
}

test('frame writes the 8-byte header: stream, three zeros, big-endian length', () => {
  const f = frame(STDERR, Buffer.from('hello'));
  assert.deepEqual([...f.subarray(0, HEADER_LENGTH)], [2, 0, 0, 0, 0, 0, 0, 5]);
  assert.equal(f.subarray(HEADER_LENGTH).toString(), 'hello');
  assert.deepEqual([...frame(1, '')], [1, 0, 0, 0, 0, 0, 0, 0]);
  const big = frame(STDOUT, Buffer.alloc(0x01020304));
  assert.deepEqual([...big.subarray(0, 8)], [1, 0, 0, 0, 1, 2, 3, 4]);
  assert.equal(frame(0, new Uint8Array([7, 8]))[8], 7);
});

test('demux of a whole buffer', () => {
  const wire = Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(3, 'boom'), frame(0, 'in')]);
  assert.deepEqual(demux(wire).map((f) => [f.stream, f.payload.toString()]),
    [[1, 'out\n'], [2, 'err\n'], [3, 'boom'], [0, 'in']]);
  assert.deepEqual(demux(Buffer.alloc(0)), []);
});

test('frames split at every possible position, including inside the header', () => {
  const wire = Buffer.concat([frame(1, 'abc'), frame(2, ''), frame(1, 'defgh')]);
  for (let i = 0; i <= wire.length; i++) {
    for (let j = i; j <= wire.length; j++) {
      const { d, frames } = collect();
      d.push(wire.subarray(0, i));
      d.push(wire.subarray(i, j));
      d.push(wire.subarray(j));
      assert.equal(d.end(), 0);
      assert.deepEqual(frames, [[1, 'abc'], [2, ''], [1, 'defgh']], `split at ${i},${j}`);
    }
  }
});

test('byte-at-a-time delivery', () => {
  const wire = Buffer.concat([frame(1, 'x'.repeat(300)), frame(2, 'y')]);
  const { d, frames } = collect();
  for (const b of wire) d.push(Buffer.from([b]));
  assert.deepEqual(frames, [[1, 'x'.repeat(300)], [2, 'y']]);
  assert.equal(d.pending, 0);
});

test('a large frame in many chunks arrives intact', () => {
  const payload = Buffer.alloc(5_000_000);
  for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
  const wire = frame(STDOUT, payload);
  let got: Buffer | undefined;
  const d = new Demuxer((_s, p) => { got = p; });
  for (let off = 0; off < wire.length; off += 65536) d.push(wire.subarray(off, off + 65536));
  assert.ok(got && got.equals(payload));
});

test('an incomplete trailing frame is reported by end() and dropped', () => {
  const { d, frames } = collect();
  d.push(Buffer.concat([frame(1, 'ok'), frame(1, 'partial').subarray(0, 10)]));
  assert.deepEqual(frames, [[1, 'ok']]);
  assert.equal(d.pending, 10);
  assert.equal(d.end(), 10);
  assert.equal(d.pending, 0);
  assert.deepEqual(demux(Buffer.from([1, 0, 0])), []);
});

test('an unknown stream byte is a framing error', () => {
  const { d } = collect();
  const bad = frame(1, 'x');
  bad[0] = 9;
  assert.throws(() => d.push(bad),
    (e: unknown) => isEngineError(e, 'System') && (e as Error).message === 'unrecognized input header: 9');
  assert.throws(() => d.push(frame(1, 'y')), /push after a framing error/);
});

test('the callback may push re-entrantly', () => {
  const seen: string[] = [];
  let inner = false;
  const d: Demuxer = new Demuxer((s, p) => {
    seen.push(`${s}:${p}`);
    if (!inner) { inner = true; d.push(frame(SYSTEMERR, 'nested')); }
  });
  d.push(Buffer.concat([frame(1, 'a'), frame(2, 'b')]));
  assert.deepEqual(seen, ['1:a', '2:b', '3:nested'], 'bytes stay in arrival order');
});
