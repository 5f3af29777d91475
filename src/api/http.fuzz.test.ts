// Fuzz tests of the hijack handshake's request body (see src/common/fuzz-testing.ts): an upgraded
// exec-start or attach request hands its socket over with part of the JSON body (`head`); the
// rest arrives in odd pieces, followed by the client's own stream. Any Content-Length and body
// gives the JSON value or an InvalidParameter, and exactly the bytes after the body stay on the
// socket for the stream.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { isEngineError } from '../common/errors.ts';
import { chunked, expectErrorAsync, fc, fuzzAsync, mutatedString } from '../common/fuzz-testing.ts';
import { readJsonBody, type Ctx } from './http.ts';

const invalidParam = (e: Error) => isEngineError(e, 'InvalidParameter');

const json = fc.oneof(
  fc.record({ Detach: fc.boolean(), Tty: fc.boolean(), ConsoleSize: fc.option(fc.tuple(fc.nat(), fc.nat()), { nil: undefined }) }).map((o) => JSON.stringify(o)),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
);
const body = fc.oneof({ weight: 3, arbitrary: json }, { weight: 1, arbitrary: mutatedString(json, '{}[]":, \u00e9\n') }, { weight: 1, arbitrary: fc.constant('') });
const lengthKind = fc.constantFrom('exact', 'short', 'long', 'none', 'bad', 'negative', 'huge', 'float');
const input = fc.record({
  body,
  lengthKind,
  delta: fc.integer({ min: 1, max: 8 }),
  contentType: fc.constantFrom(undefined, 'application/json', 'application/json; charset=utf-8', 'text/plain'),
  headCut: fc.nat(),
  cuts: fc.array(fc.nat(), { maxLength: 4 }),
  stream: fc.uint8Array({ maxLength: 40 }),
});

fuzzAsync('hijack: an upgraded request body gives its JSON or InvalidParameter, and the stream after it stays on the socket', input, async (v) => {
  const bodyBytes = Buffer.from(v.body);
  const len = {
    exact: String(bodyBytes.length), short: String(Math.max(0, bodyBytes.length - v.delta)), long: String(bodyBytes.length + v.delta),
    none: undefined, bad: 'x', negative: '-1', huge: String(2 ** 40), float: '1.5',
  }[v.lengthKind];
  const all = Buffer.concat([bodyBytes, Buffer.from(v.stream)]);
  const headLen = all.length ? v.headCut % (all.length + 1) : 0;
  const socket = new PassThrough();
  socket.pause();
  for (const c of chunked(all.subarray(headLen), v.cuts)) if (c.length) socket.write(c);
  socket.end();
  const headers: Record<string, string> = {};
  if (len !== undefined) headers['content-length'] = len;
  if (v.contentType) headers['content-type'] = v.contentType;
  const ctx: Ctx = {
    req: { headers } as unknown as IncomingMessage,
    upgrade: { socket, head: all.subarray(0, headLen) },
    params: {}, query: new URLSearchParams(), apiVersion: '1.47', signal: new AbortController().signal,
  };
  const got = await expectErrorAsync(() => readJsonBody<unknown>(ctx, { optional: false }), invalidParam);
  const n = Number(len);
  if (got === undefined || !Number.isInteger(n) || n < 0 || n > all.length) return;
  // Exactly Content-Length bytes were the body; the rest is the client's stream.
  assert.deepEqual(got, JSON.parse(all.subarray(0, n).toString('utf8')));
  const rest: Buffer[] = [];
  if (ctx.upgrade!.head.length) rest.push(ctx.upgrade!.head);
  socket.resume();
  for await (const c of socket) rest.push(c as Buffer);
  assert.deepEqual(Buffer.concat(rest), all.subarray(n));
}, { runs: 1000 });
