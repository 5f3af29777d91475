// The data root and exec root keep host users out (CVE-2021-41091 in Docker): a container plants
// a setuid-root binary (the host's own `id`, and busybox), a world-writable device node, a file,
// and the same in a volume; host user `nobody` then tries what the security review did: list the
// layers, read the container's file, run the setuid binaries from the container's merged rootfs
// and from the volume, write to the device nodes, read the bundle's config (its environment).
// Everything must be refused, also after a restart over modes an earlier berthd left.
//
// The harness's directory (the data root's parent) is a 0700 mkdtemp: it is opened to 0755 here,
// as /var/lib is, so only berthd's own modes stand between `nobody` and the files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from './harness.ts';

// Through a shell: setpriv itself execs its program before its capabilities are gone (it could
// run a file `nobody` cannot reach); the shell it starts has none left, as a real login would.
const NOBODY = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', 'sh', '-c', 'exec "$@"', 'sh'];
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const skip = hasSetpriv ? false : 'setpriv (util-linux) is not installed';

interface Out { status: number | null; stdout: string; stderr: string }
function run(argv: string[], asNobody: boolean): Out {
  const cmd = asNobody ? [...NOBODY, ...argv] : argv;
  const r = spawnSync(cmd[0], cmd.slice(1), { timeout: 20_000 });
  return { status: r.status, stdout: r.stdout?.toString() ?? '', stderr: r.stderr?.toString() ?? '' };
}

let d: Daemon;
let id: string;
/** The attacks, each one a command that must fail as `nobody` and succeed as root. */
let attacks: { what: string; argv: string[]; rootSees?: RegExp }[];

const PLANT = [
  'cp /hostbin/id /tmp/id && chmod 4755 /tmp/id',
  'cp /bin/busybox /tmp/busybox && chmod 4755 /tmp/busybox',
  'mknod -m 666 /tmp/null c 1 3',
  'echo container-secret > /tmp/secret.txt && chmod 644 /tmp/secret.txt',
  'cp /hostbin/id /vol/id && chmod 4755 /vol/id && mknod -m 666 /vol/null c 1 3',
  'touch /tmp/ready',
  'exec sleep 1000',
].join(' && ');

before(async () => {
  if (skip) return;
  d = await startDaemon();
  chmodSync(d.dir, 0o755);
  // The host's coreutils `id` shows the effective uid (busybox drops setuid rights for most applets).
  const r = d.berth(['run', '-d', '--name', 'planter', '-e', 'SECRET_TOKEN=s3cr3t', '-v', '/usr/bin:/hostbin:ro', '-v', 'plantvol:/vol', 'busybox', 'sh', '-c', PLANT]);
  assert.equal(r.status, 0, r.stderr);
  id = r.stdout.trim();
  const merged = join(d.dataRoot, 'overlay', 'rw', id, 'merged');
  for (let i = 0; i < 200 && !existsSync(join(merged, 'tmp', 'ready')); i++) await new Promise((res) => setTimeout(res, 100));
  assert.ok(existsSync(join(merged, 'tmp', 'ready')), `the container did not plant its files: ${d.berth(['logs', 'planter']).stderr}`);
  const vol = join(d.dataRoot, 'volumes', 'plantvol', '_data');
  attacks = [
    { what: 'list the layers', argv: ['ls', join(d.dataRoot, 'overlay', 'l')] },
    { what: 'list the blobs', argv: ['ls', join(d.dataRoot, 'content', 'blobs', 'sha256')] },
    { what: 'list the containers', argv: ['ls', join(d.dataRoot, 'containers')] },
    { what: "read a container's file (merged)", argv: ['cat', join(merged, 'tmp', 'secret.txt')], rootSees: /container-secret/ },
    { what: "read a container's file (upper layer)", argv: ['cat', join(d.dataRoot, 'overlay', 'rw', id, 'upper', 'tmp', 'secret.txt')], rootSees: /container-secret/ },
    { what: 'run the planted setuid id', argv: [join(merged, 'tmp', 'id')], rootSees: /uid=0/ },
    { what: 'run the planted setuid busybox', argv: [join(merged, 'tmp', 'busybox'), 'true'] },
    { what: 'write to the planted device node', argv: ['sh', '-c', `echo x > ${join(merged, 'tmp', 'null')}`] },
    { what: 'run the setuid id planted in a volume', argv: [join(vol, 'id')], rootSees: /uid=0/ },
    { what: 'write to the device node planted in a volume', argv: ['sh', '-c', `echo x > ${join(vol, 'null')}`] },
    { what: "read the bundle's config.json (the environment)", argv: ['cat', join(d.execRoot, 'bundles', id, 'config.json')], rootSees: /SECRET_TOKEN=s3cr3t/ },
  ];
});

after(async () => { await d?.stop(); });

/** Every attack fails for nobody; root, doing the same, proves the path is the right one. */
function replay(): void {
  for (const a of attacks) {
    const asRoot = run(a.argv, false);
    assert.equal(asRoot.status, 0, `${a.what}: as root: ${asRoot.stderr}`);
    if (a.rootSees) assert.match(asRoot.stdout, a.rootSees, a.what);
    const r = run(a.argv, true);
    assert.notEqual(r.status, 0, `${a.what}: nobody succeeded: ${r.stdout}`);
    assert.doesNotMatch(r.stdout, /euid=0|container-secret|s3cr3t/, a.what);
    assert.match(r.stderr, /Permission denied/, `${a.what}: ${r.stderr}`);
  }
}

function modeOf(p: string): { mode: number; uid: number; gid: number } {
  const st = statSync(p);
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

function assertModes(): void {
  assert.deepEqual(modeOf(d.dataRoot), { mode: 0o710, uid: 0, gid: 0 }, 'data root');
  for (const dir of ['overlay', 'containers', 'content', 'images', 'network', 'buildcache']) {
    assert.equal(modeOf(join(d.dataRoot, dir)).mode, 0o700, dir);
  }
  assert.equal(modeOf(join(d.dataRoot, 'volumes')).mode, 0o701, 'volumes (Docker keeps 0701)');
  assert.deepEqual(modeOf(d.execRoot), { mode: 0o700, uid: 0, gid: 0 }, 'exec root');
  for (const dir of ['bundles', 'runtimes', 's', 'exits', 'execs']) assert.equal(modeOf(join(d.execRoot, dir)).mode, 0o700, `exec root ${dir}`);
}

test('a host user reaches no layer, container file, setuid binary or device node', { skip }, () => {
  replay();
  assertModes();
});

test('a build leaves its scratch directory root-only', { skip }, () => {
  const r = d.berth(['build', '-q', '-t', 'perm-build', '-'], { input: 'FROM busybox\nRUN echo hi > /f\n' });
  assert.equal(r.status, 0, r.stderr);
  // build-tmp is removed at every start and made again by the first build.
  assert.equal(modeOf(join(d.dataRoot, 'build-tmp')).mode, 0o700);
});

test('modes and owners an earlier berthd left are fixed at the next start', { skip }, async () => {
  // What berthd made before: data root 0711 with 0755 directories, and worse.
  chmodSync(d.dataRoot, 0o711);
  chownSync(d.dataRoot, 65534, 65534);
  for (const dir of ['overlay', 'containers', 'content', 'images', 'network', 'buildcache', 'volumes']) chmodSync(join(d.dataRoot, dir), 0o755);
  // A directory of berthd's that this start does not know by name (an earlier version's, or build-tmp).
  mkdirSync(join(d.dataRoot, 'old-things'), { mode: 0o755 });
  chmodSync(d.execRoot, 0o755);
  for (const dir of ['bundles', 'runtimes', 's', 'exits', 'execs']) if (existsSync(join(d.execRoot, dir))) chmodSync(join(d.execRoot, dir), 0o755);
  // The hole is open now (the replay's own check that it can see it):
  const open = run(attacks.find((a) => a.what === 'run the planted setuid id')!.argv, true);
  assert.match(open.stdout, /euid=0/, 'the loosened modes should let nobody in; the test would prove nothing');
  await d.restart();
  // The container lived through the restart; its files are out of reach again.
  assert.equal(d.berth(['inspect', '-f', '{{.State.Running}}', 'planter']).stdout.trim(), 'true');
  replay();
  assertModes();
  assert.equal(modeOf(join(d.dataRoot, 'old-things')).mode, 0o700);
});
