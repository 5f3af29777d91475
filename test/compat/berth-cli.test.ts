// The berth CLI against a real berthd: docker's verbs, flags, output and exit codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, busyboxRootfsTar, type Daemon } from '../integration/harness.ts';

let d: Daemon;
before(async () => { d = await startDaemon({ importBusybox: false }); });
after(async () => { await d?.stop(); });

test('import from stdin and from a file (2 MB streamed bodies), images, tag, inspect --format', () => {
  const a = d.berth(['import', '-c', 'CMD ["sh"]', '-', 'busybox:latest'], { input: busyboxRootfsTar() });
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stdout.trim(), /^sha256:[a-f0-9]{64}$/);
  const f = join(d.dir, 'bb.tar');
  writeFileSync(f, busyboxRootfsTar());
  for (let i = 0; i < 3; i++) {
    const b = d.berth(['import', f, `fromfile:${i}`]);
    assert.equal(b.status, 0, b.stderr);
  }
  assert.equal(d.berth(['tag', 'busybox', 'other/box:v2']).status, 0);
  const imgs = d.berth(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.deepEqual(imgs.stdout.trim().split('\n').sort(), ['busybox:latest', 'fromfile:0', 'fromfile:1', 'fromfile:2', 'other/box:v2']);
  assert.match(d.berth(['images']).stdout, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
  assert.equal(d.berth(['image', 'inspect', '--format', '{{json .Config.Cmd}}', 'busybox']).stdout.trim(), '["sh"]');
  assert.equal(d.berth(['images', '-q', 'busybox']).stdout.trim().length, 12);
  const rmi = d.berth(['rmi', 'fromfile:0', 'fromfile:1']);
  assert.equal(rmi.status, 0, rmi.stderr);
  assert.match(rmi.stdout, /Untagged: fromfile:0/);
});

test('run: output, exit codes (container, 125, 126, 127), --rm, -i, --env-file, -e, -w, -u', () => {
  const r = d.berth(['run', '--rm', 'busybox', 'echo', 'Hello from berth']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'Hello from berth\n');
  const e = d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'echo o; echo e >&2; exit 4']);
  assert.deepEqual([e.status, e.stdout, e.stderr], [4, 'o\n', 'e\n']);
  const i = d.berth(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'wc -c'], { input: 'x'.repeat(100_000) });
  assert.equal(i.stdout.trim(), '100000');
  const envf = join(d.dir, 'env');
  writeFileSync(envf, 'FROMFILE=yes\n# comment\n');
  const env = d.berth(['run', '--rm', '--env-file', envf, '-e', 'B=2', '-w', '/tmp', '-u', 'nobody', 'busybox', 'sh', '-c', 'echo $FROMFILE $B $(pwd) $(id -u)']);
  assert.equal(env.stdout, 'yes 2 /tmp 65534\n', env.stderr);
  const nf = d.berth(['run', '--rm', 'busybox', 'nosuchcmd']);
  assert.equal(nf.status, 127);
  const ni = d.berth(['run', '--rm', 'nosuchimage']);
  assert.equal(ni.status, 125);
  assert.match(ni.stderr, /Unable to find image 'nosuchimage:latest' locally/);
  const nx = d.berth(['run', '--rm', 'busybox', '/etc/passwd']);
  assert.equal(nx.status, 126, nx.stderr);
  const bad = d.berth(['run', '--nosuchflag', 'busybox']);
  assert.equal(bad.status, 125);
  assert.equal(d.berth(['ps', '-aq']).stdout.trim(), '', 'every --rm container is gone');
});

test('detached lifecycle: run -d, ps, logs, inspect, stop, start, restart, kill, rename, wait, rm', () => {
  const r = d.berth(['run', '-d', '--name', 'svc', '-l', 'tier=web', 'busybox', 'sh', '-c', 'echo up; trap "exit 0" TERM; while true; do sleep 0.1; done']);
  assert.equal(r.status, 0, r.stderr);
  const id = r.stdout.trim();
  assert.match(id, /^[a-f0-9]{64}$/);
  const ps = d.berth(['ps', '--format', '{{.ID}} {{.Names}} {{.Image}} {{.Label "tier"}}']);
  assert.equal(ps.stdout.trim(), `${id.slice(0, 12)} svc busybox web`);
  assert.match(d.berth(['ps']).stdout, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n/);
  assert.equal(d.berth(['ps', '-q', '--filter', 'label=tier=web']).stdout.trim(), id.slice(0, 12));
  for (let i = 0; i < 30 && d.berth(['logs', 'svc']).stdout !== 'up\n'; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  assert.equal(d.berth(['logs', 'svc']).stdout, 'up\n');
  assert.equal(d.berth(['inspect', '--format', '{{.State.Status}} {{.Name}}', 'svc']).stdout.trim(), 'running /svc');
  assert.equal(d.berth(['stop', 'svc']).stdout.trim(), 'svc');
  assert.equal(d.berth(['inspect', '-f', '{{.State.ExitCode}}', 'svc']).stdout.trim(), '0');
  assert.equal(d.berth(['start', 'svc']).status, 0);
  assert.equal(d.berth(['restart', '-t', '1', 'svc']).status, 0);
  assert.equal(d.berth(['rename', 'svc', 'svc2']).status, 0);
  assert.equal(d.berth(['kill', '-s', 'KILL', 'svc2']).status, 0);
  assert.equal(d.berth(['wait', 'svc2']).stdout.trim(), '137');
  const rmRunning = d.berth(['run', '-d', '--name', 'busy', 'busybox', 'sleep', '30']);
  assert.equal(rmRunning.status, 0);
  const no = d.berth(['rm', 'busy']);
  assert.notEqual(no.status, 0);
  assert.match(no.stderr, /stop the container before removing or force remove/);
  assert.equal(d.berth(['rm', '-f', 'busy', 'svc2']).status, 0);
  const gone = d.berth(['inspect', 'svc2']);
  assert.notEqual(gone.status, 0);
  assert.match(gone.stderr, /No such object: svc2/);
});

test('version, info and events', () => {
  const v = d.berth(['version', '--format', '{{.Server.APIVersion}}']);
  assert.equal(v.stdout.trim(), '1.47', v.stderr);
  assert.equal(d.berth(['info', '--format', '{{.Driver}}']).stdout.trim(), 'overlay2');
  const since = String(Math.floor(Date.now() / 1000) - 1);
  d.berth(['run', '--rm', '--name', 'evt', 'busybox', 'true']);
  const ev = d.berth(['events', '--since', since, '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=evt', '--format', '{{.Action}}']);
  assert.deepEqual(ev.stdout.trim().split('\n').filter((a) => ['create', 'start', 'die', 'destroy'].includes(a)), ['create', 'start', 'die', 'destroy']);
});
