// Attached output as compose prints it: `name  | line` padded to the longest name plus one, the
// rainbow colours in the order containers first print, status lines, line splitting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { LineSplitter, LogConsumer, RAINBOW, rfc3339NanoFixed } from './log-consumer.ts';

function sink() {
  const chunks: string[] = [];
  return { w: new Writable({ write(c, _e, cb) { chunks.push(c.toString()); cb(); } }), text: () => chunks.join('') };
}

test('prefixes padded to the longest name seen, monochrome', () => {
  const out = sink();
  const err = sink();
  const lc = new LogConsumer({ stdout: out.w, stderr: err.w, color: false, prefix: true });
  lc.log('db-1', 'ready');
  lc.log('web-1', 'GET /');
  lc.log('db-1', 'two\nlines');
  lc.err('web-1', 'oops');
  lc.status('web-1', 'exited with code 0');
  assert.equal(out.text(), 'db-1  | ready\nweb-1  | GET /\ndb-1   | two\ndb-1   | lines\n\r\x1b[Kweb-1 exited with code 0\n');
  assert.equal(err.text(), 'web-1  | oops\n');
});

test('colours rotate through compose\'s rainbow; no prefix with --no-log-prefix', () => {
  const out = sink();
  const lc = new LogConsumer({ stdout: out.w, stderr: out.w, color: true, prefix: true });
  lc.log('a-1', 'x');
  lc.log('b-1', 'y');
  assert.equal(out.text(), `${RAINBOW[0]('a-1  | ')}x\n${RAINBOW[1]('b-1  | ')}y\n`);
  assert.equal(RAINBOW[0]('s'), '\x1b[36ms\x1b[0m');
  assert.equal(RAINBOW[5]('s'), '\x1b[36;1ms\x1b[0m');
  const plain = sink();
  const np = new LogConsumer({ stdout: plain.w, stderr: plain.w, color: false, prefix: false });
  np.log('a-1', 'x');
  assert.equal(plain.text(), 'x\n');
  const ts = sink();
  const t = new LogConsumer({ stdout: ts.w, stderr: ts.w, color: false, prefix: true, timestamps: true, now: () => new Date(2024, 0, 2, 3, 4, 5, 6) });
  t.log('a-1', 'x');
  assert.match(ts.text(), /^a-1  \| 2024-01-02T03:04:05\.006000000(Z|[+-]\d\d:\d\d) x\n$/);
  assert.match(rfc3339NanoFixed(new Date(0)), /\.000000000/);
});

test('lines are split on newlines; a last partial line comes at the end', () => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  s.write('a\nb');
  s.write('c\n\nd');
  s.end();
  assert.deepEqual(lines, ['a', 'bc', '', 'd']);
});
