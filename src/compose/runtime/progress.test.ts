// Progress lines as compose prints them: plain (Go's Println of the event), json, and the tty
// display's lines (mark, padding, coloured status, elapsed time on the right).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import * as P from './progress.ts';

function sink(o: { isTTY?: boolean; columns?: number } = {}) {
  const chunks: string[] = [];
  const w = new Writable({ write(c, _e, cb) { chunks.push(c.toString()); cb(); } }) as Writable & { isTTY?: boolean; columns?: number; rows?: number };
  Object.assign(w, o);
  return { w, text: () => chunks.join('') };
}

test('plain lines: a leading space, the resource, the (empty) text, the status', () => {
  assert.equal(P.plainLine(P.started('Container shop-web-1')), ' Container shop-web-1  Started\n');
  assert.equal(P.plainLine(P.creating('Network shop_default')), ' Network shop_default  Creating\n');
  assert.equal(P.plainLine({ id: 'web', status: 'working', text: 'Pulling' }), ' web Pulling \n');
  assert.equal(P.plainLine(P.skipped('Container a-1', 'optional dependency "x" failed to start')), ' Container a-1  Skipped: optional dependency "x" failed to start\n');
  const s = sink();
  const w = P.progressWriter({ mode: 'auto', out: s.w, title: 'Running' });
  w.events([P.stopping('Container a-1'), P.stopped('Container a-1')]);
  w.tail('done');
  w.stop();
  assert.equal(s.text(), ' Container a-1  Stopping\n Container a-1  Stopped\ndone\n');
});

test('json lines and quiet', () => {
  assert.equal(P.jsonLine(P.removed('Volume v')), '{"id":"Volume v","status":"Removed"}\n');
  assert.equal(P.jsonLine({ id: 'l1', parentId: 'web', status: 'working', text: 'Downloading', current: 5, total: 10, percent: 50 }),
    '{"id":"l1","parent_id":"web","text":"Downloading","current":5,"total":10,"percent":50}\n');
  assert.equal(P.jsonLine({ tail: 'x' }), '{"tail":true,"text":"x"}\n');
  const s = sink();
  const q = P.progressWriter({ mode: 'quiet', out: s.w, title: 'Running' });
  q.event(P.started('x'));
  q.stop();
  assert.equal(s.text(), '');
});

test('tty lines: mark, resource padded to the longest, coloured status, elapsed time right-aligned', () => {
  const line = P.ttyLine(P.started('Container shop-web-1'), { mark: '✔', width: 60, statusPadding: 25, elapsed: 0.53, colors: P.NO_COLORS });
  assert.equal(line, ` ✔ Container shop-web-1      Started${' '.repeat(60 - 36 - 5)}0.5s \n`);
  assert.equal(P.lenAnsi('\x1b[32mok\x1b[0m'), 2);
  const colored = P.ttyLine(P.errorMessage('Container x', 'boom'), { mark: '✘', width: 40, statusPadding: 0, elapsed: 1, colors: P.COLORS });
  assert.ok(colored.includes('\x1b[31;1mboom\x1b[0m'), JSON.stringify(colored));
  // A status too long for the terminal is cut.
  const long = P.ttyLine(P.errorMessage('Container x', 'y'.repeat(100)), { mark: '✘', width: 60, statusPadding: 12, elapsed: 1, colors: P.NO_COLORS });
  assert.ok(long.includes(`${'y'.repeat(60 - 12 - 12 - 15)}...`), long);
});

test('the tty display: a title with the count done, redrawn in place, the last frame at stop', () => {
  let now = 1000;
  const s = sink({ isTTY: true, columns: 50 });
  const w = new P.TtyWriter(s.w, 'Running', P.NO_COLORS, () => now);
  w.event(P.creating('Network n'));
  w.event(P.creating('Container c-1'));
  now += 300;
  w.event(P.created('Network n'));
  w.print();
  now += 200;
  w.event(P.started('Container c-1'));
  w.tail('after');
  w.stop();
  const out = s.text();
  assert.ok(out.includes('[+] Running 1/2\n'), JSON.stringify(out));
  assert.ok(out.includes('[+] Running 2/2\n'), JSON.stringify(out));
  assert.ok(out.includes(' ✔ Network n      Created'), JSON.stringify(out));
  assert.ok(out.includes('0.3s \n'), JSON.stringify(out));
  // The second frame moves up over the first (title + 2 lines + 1).
  assert.ok(out.includes('\x1b[1A\x1b[1A\x1b[1A\x1b[0G'), JSON.stringify(out));
  assert.ok(out.endsWith('\x1b[?25hafter\n'), JSON.stringify(out));
});
