// `top` (the host's ps over the container's cgroup), `container prune` and `image prune` (-a,
// filters) through the API, berth and the docker CLI, with docker's reclaimed-space reports.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startDaemon, hasDocker, until, type Daemon } from './harness.ts';
import { build } from './build-util.ts';

let d: Daemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

const ok = (r: { status: number | null; stdout: string; stderr: string }) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };

test('top: the container\'s processes only, ps options passed through; 409 when stopped', async () => {
  const id = ok(d.berth(['run', '-d', '--name', 'tops', 'busybox', 'sh', '-c', 'sleep 301 & sleep 302; true'])).stdout.trim();
  const r = (await d.api('GET', `/containers/${id}/top`)).json();
  assert.deepEqual(r.Titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  const cmds = r.Processes.map((p: string[]) => p[7]).sort();
  assert.deepEqual(cmds, ['sh -c sleep 301 & sleep 302; true', 'sleep 301', 'sleep 302']);
  const aux = (await d.api('GET', `/containers/${id}/top?ps_args=${encodeURIComponent('-o pid,comm')}`)).json();
  assert.deepEqual(aux.Titles, ['PID', 'COMMAND']);
  assert.equal(aux.Processes.length, 3);
  const b = ok(d.berth(['top', 'tops']));
  assert.match(b.stdout, /^UID\s+PID\s+PPID/);
  assert.equal(b.stdout.split('\n').filter((l) => /sleep 30[12]$/.test(l)).length, 2);
  if (hasDocker) assert.equal(ok(d.docker(['top', 'tops', '-o', 'pid,comm'])).stdout.split('\n').filter(Boolean).length, 4);
  ok(d.berth(['stop', '-t', '0', 'tops']));
  const st = await d.api('GET', `/containers/${id}/top`);
  assert.equal(st.status, 409);
  ok(d.berth(['rm', 'tops']));
});

test('container prune: stopped containers go (label filter honoured), running ones stay; docker\'s report', async () => {
  ok(d.berth(['run', '--name', 'p1', 'busybox', 'sh', '-c', 'head -c 100000 /dev/zero > /f']));
  ok(d.berth(['create', '--name', 'p2', '--label', 'keep=1', 'busybox']));
  const live = ok(d.berth(['run', '-d', '--name', 'p3', 'busybox', 'sleep', '60'])).stdout.trim();
  const p1 = (await d.api('GET', '/containers/p1/json')).json().Id as string;
  const r = ok(d.berth(['container', 'prune', '-f', '--filter', 'label!=keep=1']));
  assert.match(r.stdout, new RegExp(`^Deleted Containers:\\n${p1}\\n\\nTotal reclaimed space: \\d+(\\.\\d+)?kB\\n$`));
  assert.equal((await d.api('GET', '/containers/p2/json')).status, 200);
  assert.equal((await d.api('GET', `/containers/${live}/json`)).status, 200);
  const p2 = (await d.api('GET', '/containers/p2/json')).json().Id as string;
  const api = (await d.api('POST', '/containers/prune')).json();
  assert.deepEqual(api.ContainersDeleted, [p2]);
  assert.equal((await d.api('GET', '/containers/p2/json')).status, 404);
  if (hasDocker) assert.equal(ok(d.docker(['container', 'prune', '-f'])).stdout, 'Total reclaimed space: 0B\n');
  ok(d.berth(['rm', '-f', 'p3']));
});

test('image prune: dangling only by default, -a takes unused tagged images (untagged first), used ones stay', async () => {
  const b1 = await build(d, { Dockerfile: 'FROM busybox\nRUN echo one > /one\n' }, { t: 'prune-me:1' });
  assert.equal(b1.error, undefined, b1.output);
  // Rebuilding another image under the same tag leaves the first one dangling.
  const b2 = await build(d, { Dockerfile: 'FROM busybox\nRUN echo two > /two\n' }, { t: 'prune-me:1' });
  assert.equal(b2.error, undefined, b2.output);
  const r = (await d.api('POST', '/images/prune')).json();
  assert.deepEqual(r.ImagesDeleted.map((x: { Deleted?: string }) => x.Deleted).filter(Boolean)[0], `sha256:${b1.id!.replace(/^sha256:/, '')}`);
  assert.equal(typeof r.SpaceReclaimed, 'number'); // its layers may stay held by the build cache
  ok(d.berth(['run', '--name', 'user', 'busybox', 'true'])); // busybox is used by a container
  const all = ok(d.berth(['image', 'prune', '-a', '-f']));
  assert.match(all.stdout, /^Deleted Images:\nuntagged: prune-me:1\ndeleted: sha256:[0-9a-f]{64}\n/);
  assert.match(all.stdout, /Total reclaimed space: /);
  assert.equal((await d.api('GET', '/images/busybox/json')).status, 200, 'used by a container: kept');
  assert.equal((await d.api('GET', '/images/prune-me:1/json')).status, 404);
  const bad = await d.api('POST', `/images/prune?filters=${encodeURIComponent(JSON.stringify({ dangling: ['maybe'] }))}`);
  assert.equal(bad.status, 400);
  ok(d.berth(['rm', 'user']));
});

test('diff (GET /containers/{id}/changes): A/C/D from the rw layer, runtime mount targets left out; berth and docker print the same', async () => {
  ok(d.berth(['run', '--name', 'differ', 'busybox', 'sh', '-c', 'mkdir -p /data/sub && echo x > /data/sub/f && echo y >> /etc/passwd && rm /bin/vi']));
  const r = (await d.api('GET', '/containers/differ/changes')).json();
  assert.deepEqual(r, [
    { Path: '/bin', Kind: 0 }, { Path: '/bin/vi', Kind: 2 },
    { Path: '/data', Kind: 1 }, { Path: '/data/sub', Kind: 1 }, { Path: '/data/sub/f', Kind: 1 },
    { Path: '/etc', Kind: 0 }, { Path: '/etc/passwd', Kind: 0 },
  ]);
  const b = ok(d.berth(['diff', 'differ'])).stdout;
  assert.equal(b, 'C /bin\nD /bin/vi\nA /data\nA /data/sub\nA /data/sub/f\nC /etc\nC /etc/passwd\n');
  if (hasDocker) assert.equal(ok(d.docker(['diff', 'differ'])).stdout, b);
  // a fresh container has no changes at all (its hosts/resolv.conf/hostname mount targets are not changes)
  ok(d.berth(['create', '--name', 'fresh', 'busybox']));
  ok(d.berth(['start', '-a', 'fresh']));
  assert.equal((await d.api('GET', '/containers/fresh/changes')).json(), null);
  assert.equal(ok(d.berth(['diff', 'fresh'])).stdout, '');
  assert.equal((await d.api('GET', '/containers/nosuch/changes')).status, 404);
  ok(d.berth(['rm', 'differ', 'fresh']));
});

test('export: the flattened filesystem as a tar (running or stopped), by berth -o and docker to stdout', async () => {
  const { spawnSync } = await import('node:child_process');
  const { join } = await import('node:path');
  ok(d.berth(['run', '-d', '--name', 'exp', 'busybox', 'sh', '-c', 'echo kept > /kept && rm /bin/vi && sleep 60']));
  await new Promise((r) => setTimeout(r, 300));
  const names = (file: string) => spawnSync('tar', ['-tf', file]).stdout.toString().split('\n').filter(Boolean);
  const running = join(d.dir, 'running.tar');
  ok(d.berth(['export', '-o', running, 'exp']));
  const list = names(running);
  assert.ok(list.includes('kept'), list.slice(0, 20).join(' '));
  assert.ok(list.includes('bin/busybox'));
  assert.ok(!list.includes('bin/vi'), 'deleted in the container: not exported');
  ok(d.berth(['stop', '-t', '0', 'exp']));
  const stopped = join(d.dir, 'stopped.tar');
  ok(d.berth(['export', '-o', stopped, 'exp']));
  assert.deepEqual(names(stopped).sort(), list.sort());
  assert.equal(spawnSync('tar', ['-xOf', stopped, 'kept']).stdout.toString(), 'kept\n');
  if (hasDocker) {
    const r = spawnSync('docker', ['export', 'exp'], { env: { ...process.env, DOCKER_HOST: `unix://${d.sock}` }, maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr?.toString());
    assert.ok(r.stdout.length > 100_000);
  }
  assert.equal((await d.api('GET', '/containers/nosuch/export')).status, 404);
  // The export's overlay is released once the response has been sent, so the client can finish
  // a moment before the unmount: wait (bounded) for it rather than race it.
  await until('no export mount left', () => !readFileSyncSafe('/proc/self/mountinfo').includes('/export-'), 5_000);
  ok(d.berth(['rm', 'exp']));
});

function readFileSyncSafe(p: string): string {
  try { return readFileSync(p, 'utf8'); } catch { return ''; }
}
