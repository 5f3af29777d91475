import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StepTracker, TtyProgress, displayable } from './build-progress.ts';

// What berthd's legacy builder streams for a four-step build with one cache hit.
const LEGACY = [
  'Step 1/4 : FROM busybox\n',
  ' ---> 3f57d9401f8d\n',
  'Step 2/4 : WORKDIR /app\n',
  ' ---> Using cache\n ---> 0a1b2c3d4e5f\n',
  'Step 3/4 : RUN echo building && echo done\n',
  ' ---> Running in 9e8d7c6b5a49\n',
  'build', 'ing\n', // output split across messages
  'done\n',
  'Removing intermediate container 9e8d7c6b5a49\n',
  ' ---> 5d9c0e8e1b2a\n',
  'Step 4/4 : CMD ["./app"]\n',
  ' ---> Running in 1234567890ab\n',
  'Removing intermediate container 1234567890ab\n',
  ' ---> 77aa88bb99cc\n',
  'Successfully built 77aa88bb99cc\n',
  'Successfully tagged app:latest\n',
];

test('StepTracker: steps, cache hits, output, timings, result', () => {
  const t = new StepTracker();
  let now = 1000;
  for (const chunk of LEGACY) { t.feed(chunk, now); now += 100; }
  assert.deepEqual(t.steps.map((s) => [s.n, s.total, s.name, s.cached, s.error]), [
    [1, 4, 'FROM busybox', false, false],
    [2, 4, 'WORKDIR /app', true, false],
    [3, 4, 'RUN echo building && echo done', false, false],
    [4, 4, 'CMD ["./app"]', false, false],
  ]);
  assert.deepEqual(t.steps[2].logs, ['building', 'done']);
  assert.deepEqual(t.steps[0].logs, []);
  assert.equal(t.steps[0].started, 1000);
  assert.equal(t.steps[0].ended, 1100);
  assert.equal(t.steps[2].started, 1400);
  assert.equal(t.steps[2].ended, 2000);
  assert.equal(t.builtId, '77aa88bb99cc');
  assert.deepEqual(t.tags, ['app:latest']);
  assert.equal(t.current, undefined);
});

test('StepTracker: partial output, output running into builder lines, warnings, failure', () => {
  const t = new StepTracker();
  t.feed('Sending build context to Docker daemon  2.048kB\n', 0); // before any step: ignored
  t.feed('Step 1/2 : FROM busybox\n ---> 3f57d9401f8d\nStep 2/2 : RUN printf half; exit 3\n ---> Running in abcabcabcabc\n', 1);
  t.feed('ha', 2);
  assert.equal(t.current?.partial, 'ha');
  t.feed('lf', 3);
  assert.equal(t.current?.partial, 'half');
  t.feed('Removing intermediate container abcabcabcabc\n', 4);
  assert.deepEqual(t.current?.logs, ['half']);
  t.feed('[Warning] One or more build-args [X] were not consumed\n', 5);
  const failed = t.fail(6);
  assert.equal(failed?.name, 'RUN printf half; exit 3');
  assert.equal(failed?.error, true);
  assert.equal(failed?.ended, 6);
  assert.deepEqual(t.warnings, ['[Warning] One or more build-args [X] were not consumed']);
  // A step that gets a cached result line is done and not failed.
  const c = new StepTracker();
  c.feed('Step 1/1 : COPY . /src\n', 0);
  assert.equal(c.current?.name, 'COPY . /src');
  c.feed(' ---> Using cache\n', 1);
  assert.equal(c.current?.cached, true);
  c.feed(' ---> 0123456789ab\n', 2);
  assert.equal(c.current, undefined);
});

test('displayable: carriage returns, colours and controls', () => {
  assert.equal(displayable('10%\r50%\r100%'), '100%');
  assert.equal(displayable('\x1b[31mred\x1b[0m and\tplain'), 'red and    plain');
  assert.equal(displayable('bell\x07'), 'bell');
});

function fakeTerm(columns = 70, rows = 40) {
  const writes: string[] = [];
  return { out: { columns, rows, write: (s: string) => { writes.push(s); return true; } }, writes };
}

test('TtyProgress: frames with header, steps, timers, running output, export lines', () => {
  let now = 10_000;
  const { out } = fakeTerm();
  const p = new TtyProgress(out, { now: () => now, color: false });
  p.contextProgress(2048, false);
  now += 100;
  p.contextProgress(4096, true);
  for (const chunk of LEGACY.slice(0, 7)) { p.stream(chunk); now += 200; }
  // Step 3 is running, with its output so far.
  const running = p.frame(false);
  assert.equal(running[0], '[+] Building 1.5s (3/5)');
  assert.equal(running[1], `${' => [internal] load build context'.padEnd(64)} 0.1s`);
  assert.equal(running[2], ' => => transferring context: 4.096kB');
  assert.match(running[3], /^ => \[1\/4\] FROM busybox +0\.2s$/);
  assert.match(running[4], /^ => CACHED \[2\/4\] WORKDIR \/app +0\.2s$/);
  assert.match(running[5], /^ => \[3\/4\] RUN echo building && echo done +0\.6s$/);
  assert.deepEqual(running.slice(6), [' => => # build'], 'a partial line shows as it is');
  for (const l of running) assert.ok(l.length <= 69, l);
  for (const chunk of LEGACY.slice(7)) { p.stream(chunk); now += 200; }
  p.aux('sha256:77aa88bb99cc00112233445566778899aabbccddeeff00112233445566778899');
  const done = p.frame(true);
  assert.equal(done[0], '[+] Building 3.5s (5/5) FINISHED');
  assert.ok(!done.some((l) => l.includes('# building')), 'finished steps hide their output');
  assert.match(done[done.length - 3], /^ => exporting to image +0\.0s$/);
  assert.equal(done[done.length - 2], ' => => writing image sha256:77aa88bb99cc00112233445566778899aabbccddeeff00112233445566778899'.slice(0, 69));
  assert.equal(done[done.length - 1], ' => => naming to app:latest');
});

test('TtyProgress: redraws in place, truncates to the terminal, leaves an error box', async () => {
  let now = 0;
  const { out, writes } = fakeTerm(50, 10);
  const p = new TtyProgress(out, { now: () => now, color: true });
  p.start();
  p.stream(`Step 1/2 : FROM busybox\n ---> 3f57d9401f8d\nStep 2/2 : RUN ${'x'.repeat(80)}\n ---> Running in abcabcabcabc\n`);
  for (let i = 0; i < 12; i++) p.stream(`line ${i}\n`);
  now = 1500;
  await new Promise((r) => setTimeout(r, 250)); // a few timer redraws
  p.finish({ ok: false });
  const all = writes.join('');
  assert.ok(all.startsWith('\x1b[?25l'), 'cursor hidden');
  assert.ok(all.endsWith('\x1b[?25h'), 'cursor shown again');
  assert.match(all, /\x1b\[\d+A\r/, 'moves up to redraw');
  const last = writes[writes.length - 2];
  assert.match(last, /\x1b\[31m => ERROR \[2\/2\] RUN x+ 1\.5s\x1b\[0m/);
  const box = writes[writes.length - 1];
  assert.ok(box.startsWith(`------\n > [2/2] RUN ${'x'.repeat(80)}:\nline 2\n`), box);
  assert.ok(box.includes('line 11\n------\n'));
  // While running, the block was cut to the terminal's height.
  const frames = writes.filter((w) => w.includes('[+] Building'));
  for (const f of frames.slice(0, -1)) assert.ok(f.split('\n').length - 1 <= 9, 'fits in 10 rows');
  for (const f of frames) for (const l of f.split('\n')) assert.ok(l.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace('\r', '').length <= 49, l);
});
