// The real docker CLI (28.x) driving berthd: negotiation, import, images, run (foreground,
// -d, --rm, piped stdin), ps, logs, inspect, stop/start/restart/kill, rm, rmi, tag, rename,
// wait, events. Skipped with a visible message where no docker client is installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startDaemon, busyboxRootfsTar, hasDocker, type Daemon } from '../integration/harness.ts';

const skip = hasDocker ? false : 'no docker client installed on this machine';
let d: Daemon;
before(async () => { if (!skip) d = await startDaemon({ importBusybox: false }); });
after(async () => { await d?.stop(); });

test('docker version and info negotiate API 1.47', { skip }, () => {
  const v = d.docker(['version', '--format', '{{.Server.APIVersion}}|{{.Client.APIVersion}}']);
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout.trim(), '1.47|1.47');
  const i = d.docker(['info', '--format', '{{.Driver}}|{{.DefaultRuntime}}|{{.OSType}}']);
  assert.equal(i.status, 0, i.stderr);
  assert.equal(i.stdout.trim(), 'overlay2|runc|linux');
});

test('docker import, images, tag, inspect', { skip }, () => {
  const imp = d.docker(['import', '-c', 'CMD ["sh"]', '-', 'busybox:latest'], { input: busyboxRootfsTar() });
  assert.equal(imp.status, 0, imp.stderr);
  assert.match(imp.stdout.trim(), /^sha256:[a-f0-9]{64}$/);
  assert.equal(d.docker(['tag', 'busybox', 'mybusy:1.0']).status, 0);
  const imgs = d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.equal(imgs.status, 0, imgs.stderr);
  assert.deepEqual(imgs.stdout.trim().split('\n').sort(), ['busybox:latest', 'mybusy:1.0']);
  const table = d.docker(['images']);
  assert.match(table.stdout, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE/);
  const insp = d.docker(['image', 'inspect', '--format', '{{json .Config.Cmd}}', 'mybusy:1.0']);
  assert.equal(insp.stdout.trim(), '["sh"]');
});

test('docker run in the foreground prints output and returns the exit code', { skip }, () => {
  const r = d.docker(['run', '--rm', 'busybox', 'echo', 'Hello from berth']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'Hello from berth\n');
  const e = d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(e.status, 3);
  assert.equal(e.stdout, 'out\n');
  assert.equal(e.stderr, 'err\n');
  // --rm removed them.
  const ps = d.docker(['ps', '-a', '-q']);
  assert.equal(ps.stdout.trim(), '');
});

test('docker run -i with piped stdin', { skip }, () => {
  const r = d.docker(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'tr a-z A-Z; echo done'], { input: 'piped input\n' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'PIPED INPUT\ndone\n');
});

test('docker run of a missing command exits 127 and --rm does not hang', { skip }, () => {
  const r = d.docker(['run', '--rm', 'busybox', 'nosuchcommand'], { timeout: 20_000 });
  assert.equal(r.status, 127, r.stderr);
  assert.match(r.stderr, /executable file not found|no such file/);
  const r2 = d.docker(['run', '--name', 'keepme', 'busybox', 'nosuchcommand'], { timeout: 20_000 });
  assert.equal(r2.status, 127);
  const st = d.docker(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'keepme']);
  assert.equal(st.stdout.trim(), 'created 127');
  d.docker(['rm', 'keepme']);
});

test('docker run of an unknown image fails with 125', { skip }, () => {
  const r = d.docker(['run', '--rm', '--pull=never', 'nosuchimage']);
  assert.equal(r.status, 125);
  assert.match(r.stderr, /No such image/);
});

test('detached lifecycle: run -d, ps, logs, stop, start, restart, kill, rename, wait, rm', { skip }, () => {
  const r = d.docker(['run', '-d', '--name', 'web', 'busybox', 'sh', '-c', 'echo started; trap "exit 0" TERM; while true; do sleep 0.2; done']);
  assert.equal(r.status, 0, r.stderr);
  const id = r.stdout.trim();
  assert.match(id, /^[a-f0-9]{64}$/);
  const ps = d.docker(['ps', '--format', '{{.ID}} {{.Names}} {{.Status}} {{.Image}}']);
  assert.match(ps.stdout, new RegExp(`^${id.slice(0, 12)} web Up .* busybox$`, 'm'));
  const psTable = d.docker(['ps']);
  assert.match(psTable.stdout, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES/);
  for (let i = 0; i < 20 && !d.docker(['logs', 'web']).stdout.includes('started'); i++) spawnSyncSleep(100);
  assert.equal(d.docker(['logs', 'web']).stdout, 'started\n');
  assert.equal(d.docker(['stop', 'web']).stdout.trim(), 'web');
  assert.equal(d.docker(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'web']).stdout.trim(), 'exited 0');
  assert.equal(d.docker(['start', 'web']).status, 0);
  assert.equal(d.docker(['inspect', '--format', '{{.State.Running}}', 'web']).stdout.trim(), 'true');
  assert.equal(d.docker(['restart', '-t', '1', 'web']).status, 0);
  assert.equal(d.docker(['rename', 'web', 'web2']).status, 0);
  assert.equal(d.docker(['kill', '-s', 'KILL', 'web2']).status, 0);
  const w = d.docker(['wait', 'web2']);
  assert.equal(w.stdout.trim(), '137');
  const rm = d.docker(['rm', 'web2']);
  assert.equal(rm.status, 0, rm.stderr);
  assert.equal(d.docker(['inspect', 'web2']).status, 1);
});

test('docker rm of a running container needs -f; rmi of a used image needs -f', { skip }, () => {
  d.docker(['run', '-d', '--name', 'busy', 'busybox', 'sleep', '60']);
  const rm = d.docker(['rm', 'busy']);
  assert.notEqual(rm.status, 0);
  assert.match(rm.stderr, /stop the container before removing or force remove/);
  assert.equal(d.docker(['rm', '-f', 'busy']).status, 0);
  const rmi = d.docker(['rmi', 'mybusy:1.0']);
  assert.equal(rmi.status, 0, rmi.stderr);
  assert.match(rmi.stdout, /Untagged: mybusy:1.0/);
});

test('docker events streams container events', { skip }, async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  d.docker(['run', '--rm', '--name', 'evt', 'busybox', 'true']);
  const until = Math.floor(Date.now() / 1000) + 1;
  const ev = d.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'container=evt', '--format', '{{.Action}}']);
  assert.equal(ev.status, 0, ev.stderr);
  const actions = ev.stdout.trim().split('\n');
  for (const a of ['create', 'start', 'die', 'destroy']) assert.ok(actions.includes(a), `${a} in ${actions}`);
  // Live: an event arrives while the stream is open.
  const p = spawn('docker', ['events', '--filter', 'event=create', '--format', '{{.Actor.Attributes.name}}'], { env: { ...process.env, DOCKER_HOST: `unix://${d.sock}` } });
  let out = '';
  p.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  await new Promise((r) => setTimeout(r, 500));
  d.docker(['create', '--name', 'live-evt', 'busybox', 'true']);
  for (let i = 0; i < 30 && !out.includes('live-evt'); i++) await new Promise((r) => setTimeout(r, 100));
  p.kill();
  assert.match(out, /live-evt/);
  d.docker(['rm', 'live-evt']);
});

function spawnSyncSleep(ms: number): void { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); }
