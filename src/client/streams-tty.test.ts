// The terminal form of JSON-message streams (pull/push progress): the escape sequences written
// are replayed on a small screen model, and the screen must read as docker's does at each step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { displayJsonMessages, StreamError } from './streams.ts';

/** Enough of a VT100 for the CLI's output: CR, LF, cursor up/down (CSI n A/B), clear line (CSI 2K). */
class Screen {
  lines: string[] = [''];
  row = 0;
  col = 0;
  feed(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c === '\x1b') {
        const m = /^\x1b\[(\d*)([ABK])/.exec(s.slice(i));
        assert.ok(m, `unexpected escape at ${JSON.stringify(s.slice(i, i + 8))}`);
        const n = m[1] === '' ? 1 : Number(m[1]);
        if (m[2] === 'A') this.row = Math.max(0, this.row - n);
        else if (m[2] === 'B') this.row = Math.min(this.lines.length - 1, this.row + n);
        else { assert.equal(n, 2); this.lines[this.row] = ''; }
        i += m[0].length - 1;
      } else if (c === '\r') this.col = 0;
      else if (c === '\n') {
        this.row++;
        this.col = 0;
        if (this.row === this.lines.length) this.lines.push('');
      } else {
        const l = this.lines[this.row].padEnd(this.col);
        this.lines[this.row] = l.slice(0, this.col) + c + l.slice(this.col + 1);
        this.col++;
      }
    }
  }
  text(): string[] {
    const t = this.lines.map((l) => l.trimEnd());
    while (t.length && t[t.length - 1] === '') t.pop();
    return t;
  }
}

function sink(screen: Screen): Writable {
  return new Writable({ write(c: Buffer, _e, cb) { screen.feed(c.toString()); cb(); } });
}

const bar = (n: number, total: number) => `[${'='.repeat(Math.floor((50 * n) / total) - 1)}>${' '.repeat(50 - Math.floor((50 * n) / total))}]  ${n}B/${total}B`;

test('pull progress: one line per layer, updated in place, in first-seen order', async () => {
  const msgs = [
    { status: 'Pulling from lib/app', id: 'v1' },
    { status: 'Pulling fs layer', progressDetail: {}, id: 'aaaaaaaaaaaa' },
    { status: 'Pulling fs layer', progressDetail: {}, id: 'bbbbbbbbbbbb' },
    { status: 'Downloading', progressDetail: { current: 5, total: 10 }, progress: bar(5, 10), id: 'bbbbbbbbbbbb' },
    { status: 'Downloading', progressDetail: { current: 4, total: 10 }, progress: bar(4, 10), id: 'aaaaaaaaaaaa' },
  ];
  const screen = new Screen();
  await displayJsonMessages(Readable.from([msgs.map((m) => JSON.stringify(m)).join('\r\n')]), sink(screen), { tty: true });
  assert.deepEqual(screen.text(), [
    'v1: Pulling from lib/app',
    `aaaaaaaaaaaa: Downloading ${bar(4, 10)}`,
    `bbbbbbbbbbbb: Downloading ${bar(5, 10)}`,
  ]);
  // The cursor is back below the layer lines, where the next plain line goes.
  assert.equal(screen.row, 3);

  const more = [
    ...msgs,
    { status: 'Pull complete', progressDetail: {}, id: 'bbbbbbbbbbbb' },
    { status: 'Pull complete', progressDetail: {}, id: 'aaaaaaaaaaaa' },
    { status: 'Digest: sha256:0123' },
    { status: 'Status: Downloaded newer image for 127.0.0.1:5000/lib/app:v1' },
  ];
  const s2 = new Screen();
  await displayJsonMessages(Readable.from(more.map((m) => JSON.stringify(m) + '\n')), sink(s2), { tty: true });
  assert.deepEqual(s2.text(), [
    'v1: Pulling from lib/app',
    'aaaaaaaaaaaa: Pull complete',
    'bbbbbbbbbbbb: Pull complete',
    'Digest: sha256:0123',
    'Status: Downloaded newer image for 127.0.0.1:5000/lib/app:v1',
  ]);
});

test('a line without progress starts a new block: a later tag (pull -a) gets its own lines', async () => {
  const msgs = [
    { status: 'Pulling fs layer', progressDetail: {}, id: 'aaaaaaaaaaaa' },
    { status: 'Pull complete', progressDetail: {}, id: 'aaaaaaaaaaaa' },
    { status: 'Digest: sha256:1' },
    { status: 'Already exists', progressDetail: {}, id: 'aaaaaaaaaaaa' },
  ];
  const screen = new Screen();
  await displayJsonMessages(Readable.from(msgs.map((m) => JSON.stringify(m))), sink(screen), { tty: true });
  assert.deepEqual(screen.text(), ['aaaaaaaaaaaa: Pull complete', 'Digest: sha256:1', 'aaaaaaaaaaaa: Already exists']);
});

test('push progress with aux: aux values are returned, not printed; an error in the stream throws', async () => {
  const msgs = [
    { status: 'The push refers to repository [127.0.0.1:5000/x]' },
    { status: 'Preparing', progressDetail: {}, id: 'cccccccccccc' },
    { status: 'Pushed', progressDetail: {}, id: 'cccccccccccc' },
    { status: 'v1: digest: sha256:9 size: 528' },
    { progressDetail: {}, aux: { Tag: 'v1', Digest: 'sha256:9', Size: 528 } },
  ];
  const screen = new Screen();
  const aux = await displayJsonMessages(Readable.from(msgs.map((m) => JSON.stringify(m))), sink(screen), { tty: true });
  assert.deepEqual(aux, [{ Tag: 'v1', Digest: 'sha256:9', Size: 528 }]);
  assert.deepEqual(screen.text(), ['The push refers to repository [127.0.0.1:5000/x]', 'cccccccccccc: Pushed', 'v1: digest: sha256:9 size: 528']);

  const bad = [{ status: 'Preparing', progressDetail: {}, id: 'cccccccccccc' }, { errorDetail: { message: 'denied: no' }, error: 'denied: no' }];
  const s2 = new Screen();
  await assert.rejects(displayJsonMessages(Readable.from(bad.map((m) => JSON.stringify(m))), sink(s2), { tty: true }),
    (e: unknown) => e instanceof StreamError && e.message === 'denied: no');
  assert.deepEqual(s2.text(), ['cccccccccccc: Preparing']);
});
