import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, LogPrinter, Rainbow, RAINBOW_CODES, WATCH_LOGGER, rfc3339NanoFixed } from './log-printer.ts';

function sink() {
  const out: string[] = [];
  return { out, write: (s: string) => { out.push(s); } };
}

test('prefixes: name padded to the longest name + 1, the padding grows as longer names arrive', () => {
  const o = sink();
  const e = sink();
  const lp = new LogPrinter({ stdout: o, stderr: e, color: false, prefix: true });
  lp.log('db-1', 'ready');
  lp.log('web-1', 'up');
  lp.log('db-1', 'again');
  lp.err('db-1', 'oops');
  assert.deepEqual(o.out, ['db-1  | ready\n', 'web-1  | up\n', 'db-1   | again\n']);
  assert.deepEqual(e.out, ['db-1   | oops\n']);
});

test('registered names count for the width before they print; a message with newlines is several lines', () => {
  const o = sink();
  const lp = new LogPrinter({ stdout: o, stderr: o, color: false, prefix: true });
  for (const n of ['a-1', 'longer-name-1']) lp.register(n);
  lp.log('a-1', 'one\ntwo');
  assert.equal(o.out.join(''), 'a-1            | one\na-1            | two\n');
});

test('--no-log-prefix prints the bare lines; --no-color prints no escapes', () => {
  const o = sink();
  const lp = new LogPrinter({ stdout: o, stderr: o, color: true, prefix: false });
  lp.log('web-1', 'hello');
  assert.deepEqual(o.out, ['hello\n']);
  const m = sink();
  new LogPrinter({ stdout: m, stderr: m, color: false, prefix: true }).status('web-1', 'exited with code 0');
  assert.deepEqual(m.out, ['\r\x1b[Kweb-1 exited with code 0\n']);
});

test('colours: compose\'s rainbow in order of first output, wrapping after ten; sub-names share their parent\'s', () => {
  const o = sink();
  const lp = new LogPrinter({ stdout: o, stderr: o, color: true, prefix: true });
  const names = Array.from({ length: 11 }, (_, i) => `s${i}-1`);
  for (const n of names) lp.log(n, 'x');
  lp.log('s0-1 hook', 'y');
  const codes = o.out.map((l) => /^\x1b\[([0-9;]+)m/.exec(l)?.[1]);
  assert.deepEqual(codes.slice(0, 11), [...RAINBOW_CODES, RAINBOW_CODES[0]]);
  assert.equal(codes[11], RAINBOW_CODES[0]);
  assert.equal(o.out[0], '\x1b[36ms0-1  | \x1b[0mx\n');
  assert.equal(o.out[11], '\x1b[36ms0-1 hook  | \x1b[0my\n');
  // status lines are wholly in the container's colour
  lp.status('s1-1', 'exited with code 3');
  assert.equal(o.out.at(-1), '\x1b[33m\r\x1b[Ks1-1 exited with code 3\n\x1b[0m');
  // A shared rainbow continues where another printer left off.
  const r = new Rainbow();
  r.next();
  const o2 = sink();
  new LogPrinter({ stdout: o2, stderr: o2, color: true, prefix: true, rainbow: r }).log('x', 'y');
  assert.match(o2.out[0], /^\x1b\[33m/);
});

test('the watch logger: bright green, a ⦿ after the padding', () => {
  const o = sink();
  const lp = new LogPrinter({ stdout: o, stderr: o, color: true, prefix: true });
  lp.log(WATCH_LOGGER, 'Watch enabled');
  assert.equal(o.out[0], `\x1b[92m${' '.repeat(WATCH_LOGGER.length + 1)} ⦿ \x1b[0mWatch enabled\n`);
});

test('timestamps before the line; RFC3339 with nine fraction digits', () => {
  const d = new Date(2024, 0, 2, 3, 4, 5, 67);
  assert.match(rfc3339NanoFixed(d), /^2024-01-02T03:04:05\.067000000(Z|[+-]\d\d:\d\d)$/);
  const o = sink();
  new LogPrinter({ stdout: o, stderr: o, color: false, prefix: true, timestamps: true, now: () => d }).log('a', 'b');
  assert.equal(o.out[0], `a  | ${rfc3339NanoFixed(d)} b\n`);
});

test('LineSplitter: lines as they complete, a multi-byte character split across chunks, the rest at the end', () => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  const euro = Buffer.from('€');
  s.write(Buffer.concat([Buffer.from('a\nb'), euro.subarray(0, 1)]));
  s.write(Buffer.concat([euro.subarray(1), Buffer.from('c\n\nlast')]));
  assert.deepEqual(lines, ['a', 'b€c', '']);
  s.end();
  assert.deepEqual(lines, ['a', 'b€c', '', 'last']);
});
