// Attached `berth compose up` on a real berthd: `Attaching to ...`, every line prefixed
// `<service>-<n>  | ` and padded to the longest name, `exited with code N`, the exit when all
// containers are done; --abort-on-container-exit and --exit-code-from; Ctrl-C stopping the
// project gracefully (exit 130); the tty progress display and its modes.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { BERTH, type Daemon, type RunOut } from './harness.ts';
import { composeFixture } from '../compat/compose-util.ts';

const fx = composeFixture('at');
const { write, compose } = fx;
let d: Daemon;
before(async () => { d = await fx.ready; });

const ok = (r: RunOut) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };

async function states(project: string): Promise<Record<string, string>> {
  const f = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
  const list = (await d.api('GET', `/containers/json?all=1&filters=${f}`)).json() as Array<{ Names: string[]; State: string }>;
  return Object.fromEntries(list.map((c) => [c.Names[0].slice(1), c.State]));
}

test('attached up: prefixed, padded output from every container, exit statuses, the end when all have exited', async () => {
  const p = write('att', `
services:
  short:
    image: busybox
    command: ["sh", "-c", "sleep 0.5; echo one; echo two >&2; echo three"]
  longername:
    image: busybox
    command: ["sh", "-c", "sleep 1; echo done; exit 2"]
  instant:
    image: busybox
    command: ["echo", "at once"]
`);
  const r = ok(compose(p, ['up']));
  const out = r.stdout;
  assert.match(out, /^Attaching to instant-1, longername-1, short-1\n/);
  // A container that exits as soon as it starts is neither missed nor waited for forever.
  assert.ok(out.includes('instant-1     | at once\n') && out.includes('\r\x1b[Kinstant-1 exited with code 0\n'), JSON.stringify(out));
  assert.ok(out.includes('short-1       | one\n') && out.includes('short-1       | three\n'), out);
  assert.ok(out.includes('longername-1  | done\n'), out);
  assert.ok(r.stderr.includes('short-1       | two\n'), r.stderr);
  assert.ok(out.includes('\r\x1b[Kshort-1 exited with code 0\n'), JSON.stringify(out));
  assert.ok(out.includes('\r\x1b[Klongername-1 exited with code 2\n'), JSON.stringify(out));
  assert.ok(out.indexOf('short-1       | three') < out.indexOf('short-1 exited'), out);
  // Progress: created, not started (the output shows the rest).
  assert.ok(r.stderr.includes(' Container att-short-1  Created\n'), r.stderr);
  assert.ok(!r.stderr.includes('Started'), r.stderr);
  // --no-log-prefix, --attach restricts what is shown.
  const np = ok(compose(p, ['up', '--no-log-prefix', '--attach', 'short']));
  assert.match(np.stdout, /^Attaching to short-1\none\nthree\n/);
  assert.ok(!np.stdout.includes('done'), np.stdout);
  ok(compose(p, ['down']));
});

test('--abort-on-container-exit stops the rest when one exits; --exit-code-from returns that service\'s status', async () => {
  const p = write('abort', `
services:
  quick:
    image: busybox
    command: ["sh", "-c", "sleep 0.5; echo bye; exit 3"]
  server:
    image: busybox
    init: true
    command: ["sleep", "600"]
`);
  const r = compose(p, ['up', '--abort-on-container-exit']);
  assert.equal(r.status, 3, r.stdout + r.stderr);
  // compose colours it whatever the output is (only NO_COLOR turns its colours off).
  assert.ok(r.stderr.includes('\x1b[31;1mAborting on container exit...\x1b[0m\n'), r.stderr);
  assert.ok(r.stderr.includes(' Container abort-server-1  Stopped\n'), r.stderr);
  assert.deepEqual(await states('abort'), { 'abort-quick-1': 'exited', 'abort-server-1': 'exited' });
  const e = compose(p, ['up', '--exit-code-from', 'server']);
  assert.equal(e.status, 143, e.stdout + e.stderr);
  assert.equal(compose(p, ['up', '-d', '--abort-on-container-exit']).stderr, '--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch\n');
  assert.equal(compose(p, ['up', '--exit-code-from', 'nope']).stderr, 'no such service: nope\n');
  ok(compose(p, ['down']));
});

test('Ctrl-C stops the project gracefully and exits 130', async () => {
  const p = write('sig', `
services:
  a:
    image: busybox
    init: true
    command: ["sh", "-c", "echo ready; exec sleep 600"]
  b:
    image: busybox
    init: true
    command: ["sleep", "600"]
`);
  const child = spawn(process.execPath, ['--', BERTH, 'compose', '--project-directory', p, 'up'], {
    env: { ...process.env, BERTH_HOST: `unix://${d.sock}`, DOCKER_HOST: '' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => { out += c; });
  child.stderr.on('data', (c) => { err += c; });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    for (let i = 0; i < 300 && !out.includes('a-1  | ready'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(out.includes('a-1  | ready'), out + err);
    child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise((r) => { timer = setTimeout(() => r('timeout'), 60_000); })]);
    clearTimeout(timer);
    assert.equal(code, 130, out + err);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  assert.ok(out.includes('Gracefully Stopping... press Ctrl+C again to force\n'), out);
  assert.ok(err.includes(' Container sig-a-1  Stopped\n') && err.includes(' Container sig-b-1  Stopped\n'), err);
  assert.deepEqual(await states('sig'), { 'sig-a-1': 'exited', 'sig-b-1': 'exited' });
  ok(compose(p, ['down']));
});

test('progress modes: the tty display (--progress tty, --ansi always), json, quiet, bad values', async () => {
  const p = write('prog', 'services:\n  a:\n    image: busybox\n    init: true\n    command: ["sleep", "600"]\n');
  const tty = ok(compose(p, ['--progress', 'tty', 'up', '-d']));
  assert.ok(tty.stderr.includes('[+] Running 2/2'), JSON.stringify(tty.stderr));
  assert.match(tty.stderr, /\x1b\[32m✔\x1b\[0m Container prog-a-1 +\x1b\[32mStarted\x1b\[0m +\x1b\[34m\d+\.\ds \x1b\[0m\n/);
  const nc = ok(compose(p, ['--ansi', 'always', 'stop'], { NO_COLOR: '1' }));
  assert.match(nc.stderr, /\[\+\] Stopping 1\/1\n ✔ Container prog-a-1 +Stopped +\d+\.\ds \n/);
  const json = ok(compose(p, ['--progress', 'json', 'start']));
  assert.deepEqual(json.stderr.trim().split('\n').map((l) => JSON.parse(l)), [{ id: 'Container prog-a-1', status: 'Starting' }, { id: 'Container prog-a-1', status: 'Started' }]);
  const q = ok(compose(p, ['--progress', 'quiet', 'down']));
  assert.equal(q.stderr, '');
  assert.equal(compose(p, ['--progress', 'fancy', 'up']).stderr, 'unsupported --progress value "fancy"\n');
  assert.equal(compose(p, ['--ansi', 'never', '--progress', 'tty', 'up']).stderr, "can't use --progress tty while ANSI support is disabled\n");
});
