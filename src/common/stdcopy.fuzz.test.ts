// Fuzz tests of the stdcopy framing (see src/common/fuzz-testing.ts): streams of valid frames,
// mutated (stream bytes, sizes up to 4 GiB, cut short) and split at arbitrary points. The
// decoder gives the same frames however the bytes are split, and fails only with
// "unrecognized input header" (a System EngineError).
import assert from 'node:assert/strict';
import { isEngineError } from './errors.ts';
import { chunked, expectError, fc, fuzz, mutatedBytes } from './fuzz-testing.ts';
import { Demuxer, demux, frame, type StdStream } from './stdcopy.ts';

const systemError = (e: Error) => isEngineError(e, 'System') && /^unrecognized input header: \d+$/.test(e.message);

const frames = fc.array(fc.tuple(fc.constantFrom<StdStream>(0, 1, 2, 3), fc.uint8Array({ maxLength: 300 })), { maxLength: 8 });
const wire = frames.map((fs) => Buffer.concat(fs.map(([s, p]) => frame(s, p))));
const input = fc.tuple(fc.oneof(wire, mutatedBytes(wire, 3), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b))), fc.array(fc.nat(), { maxLength: 12 }));

type Got = { frames: Array<[number, string]>; error?: string; pending: number };

function decode(chunks: Buffer[]): Got {
  const got: Got = { frames: [], pending: 0 };
  const d = new Demuxer((s, p) => got.frames.push([s, p.toString('hex')]));
  for (const c of chunks) {
    const ok = expectError(() => { d.push(c); return true; }, systemError);
    if (!ok) {
      got.error = 'framing';
      // The decoder cannot resynchronise: every later push is refused too.
      assert.throws(() => d.push(Buffer.from([1])), (e: Error) => isEngineError(e, 'System'));
      return got;
    }
  }
  got.pending = d.end();
  return got;
}

fuzz('stdcopy: any bytes split anywhere decode to the frames of the whole buffer, or a framing error', input, ([bytes, cuts]) => {
  const whole = decode([bytes]);
  const split = decode(chunked(bytes, cuts));
  assert.deepEqual(split, whole);
  if (!whole.error) {
    const viaDemux = demux(bytes).map((f): [number, string] => [f.stream, f.payload.toString('hex')]);
    assert.deepEqual(viaDemux, whole.frames);
  }
}, { runs: 3000 });

fuzz('stdcopy: valid frames come back exactly, whatever the split', fc.tuple(frames, fc.array(fc.nat(), { maxLength: 20 })), ([fs, cuts]) => {
  const bytes = Buffer.concat(fs.map(([s, p]) => frame(s, p)));
  const got = decode(chunked(bytes, cuts));
  assert.deepEqual(got, { frames: fs.map(([s, p]) => [s, Buffer.from(p).toString('hex')]), pending: 0 });
}, { runs: 2000 });
