// `berth compose watch` on a real project and real file changes: sync (new, changed, nested and
// deleted files in the running container; ignored ones left out), sync+restart, rebuild, and the
// bounded rate (a burst of changes is a batch or two, not one sync per file); Ctrl-C ends it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../integration/harness.ts';
import { composeAsync, composeDown, composeUp, until, writeProject } from './compose-util.ts';

let d: Daemon;
let dir: string;
const P = 'wp';
before(async () => {
  d = await startDaemon();
  dir = mkdtempSync(join(d.dir, 'watch-'));
  writeProject(dir, {
    'compose.yaml': [
      'services:',
      '  app:',
      '    image: busybox',
      `    command: sh -c "trap 'exit 0' TERM; while true; do sleep 0.2; done"`,
      '    develop:',
      '      watch:',
      '        - {path: ./src, target: /app, action: sync, ignore: [node_modules/, "*.tmp"]}',
      '        - {path: ./conf, target: /etc/app, action: sync+restart}',
      '  built:',
      '    build: ./built',
      `    command: sh -c "trap 'exit 0' TERM; while true; do sleep 0.2; done"`,
      '    develop:',
      '      watch:',
      '        - {path: ./built/version.txt, action: rebuild}',
      '',
    ].join('\n'),
    'src/index.txt': 'v1\n',
    'conf/app.conf': 'setting=1\n',
    'built/Dockerfile': 'FROM busybox\nCOPY version.txt /version.txt\n',
    'built/version.txt': 'one\n',
  });
  // The image, as up would build it.
  const b = d.berth(['compose', '-f', join(dir, 'compose.yaml'), '-p', P, 'build']);
  if (b.status !== 0) throw new Error(b.stderr);
  await composeUp(d, dir, P);
});
after(async () => {
  if (d) await composeDown(d, dir, P).catch(() => {});
  await d?.stop();
});

const inApp = (cmd: string) => d.docker(['exec', 'wp-app-1', 'sh', '-c', cmd]).stdout;

test('watch: sync, deletions, ignore rules, sync+restart, rebuild, a bounded rate; Ctrl-C ends it', { timeout: 300_000 }, async (t) => {
  const w = composeAsync(d, dir, P, ['watch', '--no-up']);
  const syncs = () => (w.out.stdout.match(/Syncing service "app"/g) ?? []).length;
  try {
    await until(() => /Watch enabled/.test(w.out.stdout), 'watch to start');
    // New and changed files, a nested directory made after the watch started; ignored ones not.
    writeFileSync(join(dir, 'src/index.txt'), 'v2\n');
    writeFileSync(join(dir, 'src/new.txt'), 'new\n');
    mkdirSync(join(dir, 'src/a/b'), { recursive: true });
    writeFileSync(join(dir, 'src/a/b/deep.txt'), 'deep\n');
    writeFileSync(join(dir, 'src/skip.tmp'), 'tmp\n');
    mkdirSync(join(dir, 'src/node_modules/x'), { recursive: true });
    writeFileSync(join(dir, 'src/node_modules/x/i.js'), 'x\n');
    writeFileSync(join(dir, 'src/.index.txt.swp'), 'swap\n');
    await until(() => inApp('cat /app/index.txt /app/new.txt /app/a/b/deep.txt 2>/dev/null') === 'v2\nnew\ndeep\n', 'the sync', 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(inApp('ls -A /app | sort'), 'a\nindex.txt\nnew.txt\n', 'ignored files stay out');
    // A deletion is removed in the container.
    rmSync(join(dir, 'src/new.txt'));
    await until(() => inApp('ls /app') === 'a\nindex.txt\n', 'the deletion');

    // A burst: 60 files within ~1 s make one or two batches, all of them synced.
    const n0 = syncs();
    for (let i = 0; i < 60; i++) {
      writeFileSync(join(dir, `src/burst-${i}.txt`), `${i}\n`);
      await new Promise((r) => setTimeout(r, 15));
    }
    await until(() => inApp('ls /app | grep -c burst') === '60\n', 'the burst');
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(syncs() - n0 <= 3, `a burst of 60 changes was ${syncs() - n0} syncs`);

    // sync+restart: the file is there and the container was restarted.
    const started = async () => (await d.api('GET', '/containers/wp-app-1/json')).json().State.StartedAt as string;
    const before = await started();
    writeFileSync(join(dir, 'conf/app.conf'), 'setting=2\n');
    await until(() => /service\(s\) \["app"\] restarted/.test(w.out.stdout), 'the restart');
    assert.notEqual(await started(), before);
    assert.equal(inApp('cat /etc/app/app.conf'), 'setting=2\n');

    // rebuild: a new image; the container recreated with it (the runtime's up).
    const img = async () => (await d.api('GET', '/images/wp-built/json')).json().Id as string;
    const oldImage = await img();
    writeFileSync(join(dir, 'built/version.txt'), 'two\n');
    await until(() => /Rebuilding service\(s\) \["built"\] after changes were detected/.test(w.out.stdout), 'the rebuild');
    await until(() => /service\(s\) \["built"\] successfully built/.test(w.out.stdout), 'the build', 60_000);
    assert.notEqual(await img(), oldImage);
    await until(() => d.docker(['exec', 'wp-built-1', 'cat', '/version.txt']).stdout === 'two\n', 'the recreated container', 60_000);
  } finally {
    w.proc.kill('SIGINT');
  }
  assert.equal(await Promise.race([w.exited, new Promise((r) => setTimeout(() => r('running'), 20_000))]), 0, w.out.stderr);
  assert.match(w.out.stdout, /Watch disabled\n$/);
});

test('watch refuses a project without develop.watch, and an unknown service', () => {
  const bare = mkdtempSync(join(d.dir, 'bare-'));
  writeFileSync(join(bare, 'compose.yaml'), 'services:\n  x:\n    image: busybox\n');
  const r = d.berth(['compose', '-f', join(bare, 'compose.yaml'), 'watch', '--no-up']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /none of the selected services is configured for watch/);
  const u = d.berth(['compose', '-f', join(dir, 'compose.yaml'), '-p', P, 'watch', '--no-up', 'nosuch']);
  assert.equal(u.status, 1);
  assert.match(u.stderr, /no such service: nosuch/);
});
