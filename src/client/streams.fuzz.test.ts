// Fuzz tests of what the CLI reads from a daemon's streams (see src/common/fuzz-testing.ts):
// JSON-message streams (pull, build, events) and multiplexed attach/logs streams, valid and
// mutated, split at arbitrary points. A stream is read to its end or fails with StreamError (or
// the framing's System EngineError); valid streams come back exactly, however they are split.
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { isEngineError } from '../common/errors.ts';
import { checkError, chunked, fc, fuzz, fuzzAsync, mutatedBytes, mutatedString } from '../common/fuzz-testing.ts';
import { frame, type StdStream } from '../common/stdcopy.ts';
import { JsonSplitter, StreamError, demuxTo, displayJsonMessages, jsonMessages } from './streams.ts';

const streamError = (e: Error) => e instanceof StreamError;

/**
 * Runs `fn`; a StreamError is fine whatever its text (that is the daemon's own words, blank
 * included, as docker prints them); anything else must be an expected, clear error.
 */
async function readOrFail(fn: () => Promise<unknown>, expected: (e: Error) => boolean): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof StreamError) return;
    checkError(e, expected);
  }
}

const message = fc.oneof(
  fc.record({ status: fc.string(), id: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }), progressDetail: fc.option(fc.record({ current: fc.nat(), total: fc.nat() }), { nil: undefined }), progress: fc.option(fc.string(), { nil: undefined }) }, { requiredKeys: ['status'] }),
  fc.record({ stream: fc.string() }),
  fc.record({ aux: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ error: fc.string(), errorDetail: fc.record({ message: fc.string() }) }, { requiredKeys: [] }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);
const sep = fc.constantFrom('', '\n', '\r\n', ' ', '\n\n');
const messages = fc.array(fc.tuple(message, sep), { maxLength: 6 });
const text = messages.map((ms) => ms.map(([m, s]) => JSON.stringify(m) + s).join(''));

fuzz('JSON messages: valid streams split anywhere give back every message', fc.tuple(messages, fc.array(fc.nat(), { maxLength: 10 })), ([ms, cuts]) => {
  const all = ms.map(([m, s]) => JSON.stringify(m) + s).join('');
  const split = new JsonSplitter();
  const got: unknown[] = [];
  // Cut in UTF-16 units, as the string decoder of a Readable with setEncoding never does,
  // and in bytes below; both must give the same messages.
  for (const c of chunked(Buffer.from(all, 'latin1'), cuts)) for (const t of split.push(c.toString('latin1'))) got.push(JSON.parse(t));
  assert.deepEqual(got, ms.map(([m]) => JSON.parse(JSON.stringify(m))));
}, { runs: 1500 });

const noisy = fc.oneof(text, mutatedString(text, '{}[]"\\:,ab \n\u00e9'), fc.string({ maxLength: 60 }));

fuzzAsync('JSON messages: any stream is displayed to its end or fails with StreamError', fc.tuple(noisy, fc.array(fc.nat(), { maxLength: 8 }), fc.boolean()), async ([s, cuts, tty]) => {
  const chunks = chunked(Buffer.from(s), cuts);
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  await readOrFail(() => displayJsonMessages(Readable.from(chunks), sink, { tty }), streamError);
  const seen: unknown[] = [];
  await readOrFail(async () => { for await (const m of jsonMessages(Readable.from(chunks))) seen.push(m); }, streamError);
  for (const m of seen) assert.equal(typeof m, 'object');
}, { runs: 800 });

const frames = fc.array(fc.tuple(fc.constantFrom<StdStream>(0, 1, 2, 3), fc.uint8Array({ maxLength: 200 })), { maxLength: 6 });
const wire = frames.map((fs) => Buffer.concat(fs.map(([st, p]) => frame(st, p))));

fuzzAsync('multiplexed streams: demuxTo ends, or fails with StreamError or a framing error', fc.tuple(fc.oneof(wire, mutatedBytes(wire, 3)), fc.array(fc.nat(), { maxLength: 8 })), async ([bytes, cuts]) => {
  let out = 0;
  const sink = () => new Writable({ write: (c: Buffer, _e, cb) => { out += c.length; cb(); } });
  await readOrFail(() => demuxTo(Readable.from(chunked(bytes, cuts)), sink(), sink()), (e) => isEngineError(e, 'System'));
  assert.ok(out <= bytes.length);
}, { runs: 800 });
