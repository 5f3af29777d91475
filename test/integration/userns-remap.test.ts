// `berthd --userns-remap`: containers' root is an unprivileged host user (the remap user's first
// subordinate ID), the store lives in <data-root>/<uid>.<gid>, and what leaves a container (cp,
// export, commit, build layers) carries the container's own IDs, with the berth and docker CLIs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startDaemon, hasDocker, BERTHD, type Daemon, type RunOut } from './harness.ts';
import { makeRemapUser, type RemapUser } from './userns-util.ts';
import { TarReader } from '../../src/archive/tar-reader.ts';

let d: Daemon;
let user: RemapUser;
let base: number;
before(async () => {
  user = makeRemapUser();
  base = user.start;
  d = await startDaemon({ importBusybox: true, extraArgs: ['--userns-remap', user.name] });
});
after(async () => {
  await d?.stop();
  user?.remove();
});

const ok = (r: RunOut) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };
const clis = () => [d.berth, ...(hasDocker ? [d.docker] : [])];
const store = () => join(d.dataRoot, `${base}.${base}`);

/** `path → uid:gid` of a tar's entries. */
async function owners(tar: Buffer): Promise<Map<string, string>> {
  const r = new TarReader(Readable.from([tar]));
  const out = new Map<string, string>();
  for (let e = await r.next(); e; e = await r.next()) out.set(e.name.replace(/\/$/, ''), `${e.uid}:${e.gid}`);
  return out;
}

function statusIds(pid: number): { uid: string; gid: string } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { uid: /^Uid:\s+(\d+)/m.exec(s)![1], gid: /^Gid:\s+(\d+)/m.exec(s)![1] };
}

test('containers run as the remapped root: /proc/<pid>/status shows the host ID; the store is <data-root>/<uid>.<gid>', async () => {
  const info = (await d.api('GET', '/info')).json();
  assert.ok(info.SecurityOptions.includes('name=userns'));
  assert.equal(info.DockerRootDir, store());
  // The store's directories: the remapped root's group passes, nobody else.
  assert.equal(statSync(d.dataRoot).mode & 0o777, 0o711);
  assert.equal(statSync(store()).mode & 0o777, 0o710);
  assert.equal(statSync(store()).gid, base);
  for (const [i, run] of clis().entries()) {
    const name = `st${i}`;
    ok(run(['run', '-d', '--name', name, 'busybox', 'sleep', '300']));
    const pid = (await d.api('GET', `/containers/${name}/json`)).json().State.Pid as number;
    assert.deepEqual(statusIds(pid), { uid: String(base), gid: String(base) });
    // Inside, it is root with the map in force; exec joins the same namespace.
    assert.equal(ok(run(['exec', name, 'cat', '/proc/self/uid_map'])).stdout.trim().split(/\s+/).join(' '), `0 ${base} 65536`);
    assert.equal(ok(run(['exec', name, 'id', '-u'])).stdout.trim(), '0');
    // Networking works from inside its own namespaces (the network namespace is the user namespace's).
    assert.match(ok(run(['exec', name, 'ip', '-4', 'addr', 'show', 'eth0'])).stdout, /inet \d+\.\d+\.\d+\.\d+/);
    ok(run(['rm', '-f', name]));
  }
  // Nothing of the namespaces is left mounted once the containers are gone.
  assert.deepEqual(readdirSync(join(d.execRoot, 'userns')), []);
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(join(d.execRoot, 'userns')), false);
});

test('a file written to a volume is owned on the host by the mapped IDs', async () => {
  ok(d.berth(['run', '--rm', '-v', 'uvol:/data', 'busybox', 'sh', '-c', 'echo hi > /data/root-file && echo u > /data/user-file && chown 1000:1001 /data/user-file']));
  const data = join(store(), 'volumes', 'uvol', '_data');
  assert.equal(lstatSync(data).uid, base, 'the volume root belongs to the remapped root');
  assert.deepEqual([lstatSync(join(data, 'root-file')).uid, lstatSync(join(data, 'root-file')).gid], [base, base]);
  assert.deepEqual([lstatSync(join(data, 'user-file')).uid, lstatSync(join(data, 'user-file')).gid], [base + 1000, base + 1001]);
  // A bind mount of a host directory owned by host root stays out of the container root's reach.
  const hostDir = mkdtempSync(join(tmpdir(), 'berth-userns-bind-'));
  try {
    writeFileSync(join(hostDir, 'secret'), 'host\n', { mode: 0o600 });
    const r = d.berth(['run', '--rm', '-v', `${hostDir}:/h`, 'busybox', 'cat', '/h/secret']);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /Permission denied/);
  } finally {
    rmSync(hostDir, { recursive: true, force: true });
  }
});

test('cp, export and commit carry the container\'s IDs both ways', async () => {
  ok(d.berth(['run', '-d', '--name', 'own', 'busybox', 'sh', '-c', 'mkdir -p /home/u && echo f > /home/u/f && chown -R 1000:1000 /home/u && touch /ready && sleep 300']));
  for (let i = 0; i < 50 && d.berth(['exec', 'own', 'test', '-e', '/ready']).status !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  const id = (await d.api('GET', '/containers/own/json')).json().Id as string;
  const upper = join(store(), 'overlay', 'rw', id, 'upper');
  assert.equal(lstatSync(join(upper, 'home', 'u', 'f')).uid, base + 1000, 'on disk: the host ID');
  // cp out: the container's IDs, through the API and both CLIs.
  for (const run of clis()) {
    const out = run(['cp', 'own:/home/u', '-']);
    assert.equal(out.status, 0, out.stderr);
    const m = await owners(Buffer.from(out.stdout, 'latin1'));
    assert.equal(m.get('u/f'), '1000:1000');
  }
  const g = await d.api('GET', `/containers/own/archive?path=${encodeURIComponent('/home/u')}`);
  assert.equal((await owners(g.body)).get('u/f'), '1000:1000');
  // cp in with -a: the source's IDs as the container's, on disk as host IDs.
  const src = mkdtempSync(join(tmpdir(), 'berth-userns-cp-'));
  try {
    writeFileSync(join(src, 'g'), 'g\n');
    chownSync(join(src, 'g'), 1234, 1235);
    for (const [i, run] of clis().entries()) {
      ok(run(['cp', '-a', join(src, 'g'), `own:/home/u/g${i}`]));
      assert.equal(ok(d.berth(['exec', 'own', 'stat', '-c', '%u:%g', `/home/u/g${i}`])).stdout.trim(), '1234:1235');
      assert.deepEqual([lstatSync(join(upper, 'home', 'u', `g${i}`)).uid, lstatSync(join(upper, 'home', 'u', `g${i}`)).gid], [base + 1234, base + 1235]);
    }
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
  // export: the container's IDs.
  const exp = await d.api('GET', '/containers/own/export');
  const em = await owners(exp.body);
  assert.equal(em.get('home/u/f'), '1000:1000');
  assert.equal(em.get('home/u/g0'), '1234:1235');
  assert.equal(em.get('bin/busybox'), '0:0');
  // commit: the layer holds the container's IDs; a container of the image sees them again.
  ok(d.berth(['commit', 'own', 'owned:1']));
  const img = (await d.api('GET', '/images/owned:1/json')).json();
  const tar = await d.api('GET', '/images/owned:1/get');
  assert.equal(tar.status, 200);
  const layerBlob = img.RootFS.Layers[img.RootFS.Layers.length - 1].replace('sha256:', '');
  const blob = await extractMember(tar.body, `blobs/sha256/${layerBlob}`);
  assert.equal((await owners(blob)).get('home/u/f'), '1000:1000');
  assert.equal(ok(d.berth(['run', '--rm', 'owned:1', 'stat', '-c', '%u:%g', '/home/u/f'])).stdout.trim(), '1000:1000');
  ok(d.berth(['rm', '-f', 'own']));
});

/** One member of a tar (uncompressed layers here: the diff ID names the blob). */
async function extractMember(tar: Buffer, name: string): Promise<Buffer> {
  const r = new TarReader(Readable.from([tar]));
  for (let e = await r.next(); e; e = await r.next()) {
    if (e.name !== name) continue;
    const parts: Buffer[] = [];
    for await (const c of r.body()) parts.push(Buffer.from(c));
    return Buffer.concat(parts);
  }
  throw new Error(`${name} not in the archive`);
}

test('builds: RUN as the remapped root, COPY --chown and WORKDIR; the layers carry the container\'s IDs', async () => {
  const ctx = mkdtempSync(join(tmpdir(), 'berth-userns-build-'));
  try {
    writeFileSync(join(ctx, 'file.txt'), 'data\n');
    writeFileSync(join(ctx, 'Dockerfile'), [
      'FROM busybox',
      'RUN mkdir /r && echo r > /r/x && chown 33:33 /r/x && id -u > /r/id && cat /proc/self/uid_map > /r/map',
      'COPY --chown=1000:1000 file.txt /c/',
      'COPY file.txt /c/root.txt',
      'WORKDIR /w',
      '',
    ].join('\n'));
    ok(d.berth(['build', '-q', '-t', 'ubuild', ctx]));
    if (hasDocker) ok(d.docker(['build', '-q', '-t', 'ubuild-docker', ctx], { env: { DOCKER_BUILDKIT: '0' } }));
    const inside = ok(d.berth(['run', '--rm', 'ubuild', 'sh', '-c', 'cat /r/id; cat /r/map; stat -c "%n %u:%g" /r/x /c/file.txt /c/root.txt /w'])).stdout;
    assert.match(inside, /^0\n/);
    assert.match(inside, new RegExp(`0\\s+${base}\\s+65536`));
    assert.match(inside, /\/r\/x 33:33/);
    assert.match(inside, /\/c\/file.txt 1000:1000/);
    assert.match(inside, /\/c\/root.txt 0:0/);
    assert.match(inside, /\/w 0:0/);
    const tar = (await d.api('GET', '/images/ubuild/get')).body;
    const img = (await d.api('GET', '/images/ubuild/json')).json();
    const all = new Map<string, string>();
    for (const l of img.RootFS.Layers as string[]) for (const [k, v] of await owners(await extractMember(tar, `blobs/sha256/${l.replace('sha256:', '')}`))) all.set(k, v);
    assert.equal(all.get('r/x'), '33:33');
    assert.equal(all.get('c/file.txt'), '1000:1000');
    assert.equal(all.get('c/root.txt'), '0:0');
    assert.equal(all.get('w'), '0:0');
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
});

test('--userns=host opts out; privileged and host namespaces need it, with Docker\'s words', async () => {
  for (const run of clis()) {
    assert.equal(ok(run(['run', '--rm', '--userns=host', 'busybox', 'cat', '/proc/self/uid_map'])).stdout.trim().split(/\s+/).join(' '), '0 0 4294967295');
    const p = run(['run', '--rm', '--privileged', 'busybox', 'true']);
    assert.equal(p.status, 125);
    assert.match(p.stderr, /privileged mode is incompatible with user namespaces\.  You must run the container in the host namespace when running privileged mode/);
    ok(run(['run', '--rm', '--privileged', '--userns=host', 'busybox', 'true']));
    for (const [flag, what] of [['--network=host', 'network'], ['--pid=host', 'PID'], ['--ipc=host', 'IPC'], ['--uts=host', 'UTS']]) {
      const r = run(['run', '--rm', flag, 'busybox', 'true']);
      assert.equal(r.status, 125, flag);
      assert.match(r.stderr, new RegExp(`Cannot share the host's ${what} namespace when user namespaces are enabled`));
    }
    ok(run(['run', '--rm', '--network=host', '--userns=host', 'busybox', 'true']));
  }
  // Joining another remapped container's network joins its user namespace too.
  ok(d.berth(['run', '-d', '--name', 'peer', 'busybox', 'sleep', '300']));
  const peerPid = (await d.api('GET', '/containers/peer/json')).json().State.Pid as number;
  ok(d.berth(['run', '-d', '--name', 'joiner', '--network', 'container:peer', 'busybox', 'sleep', '300']));
  const joinerPid = (await d.api('GET', '/containers/joiner/json')).json().State.Pid as number;
  const ns = (pid: number, k: string) => spawnSync('readlink', [`/proc/${pid}/ns/${k}`]).stdout.toString().trim();
  assert.equal(ns(joinerPid, 'net'), ns(peerPid, 'net'));
  assert.equal(ns(joinerPid, 'user'), ns(peerPid, 'user'));
  assert.equal(ok(d.berth(['exec', 'joiner', 'id', '-u'])).stdout.trim(), '0');
  ok(d.berth(['rm', '-f', 'joiner', 'peer']));
});

test('host users cannot walk into the remapped store', async () => {
  ok(d.berth(['run', '-d', '--name', 'walk', 'busybox', 'sh', '-c', 'cp /bin/busybox /tmp/sx && chmod 4755 /tmp/sx && sleep 300']));
  const id = (await d.api('GET', '/containers/walk/json')).json().Id as string;
  const merged = join(store(), 'overlay', 'rw', id, 'merged');
  for (let i = 0; i < 50 && !existsSync(join(merged, 'tmp', 'sx')); i++) await new Promise((r) => setTimeout(r, 100));
  const asNobody = (cmd: string[]) => spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', 'sh', '-c', 'exec "$@"', 'sh', ...cmd]);
  for (const cmd of [['ls', store()], ['ls', join(store(), 'overlay')], [join(merged, 'tmp', 'sx'), 'id']]) {
    const r = asNobody(cmd);
    assert.notEqual(r.status, 0, `nobody ran ${cmd.join(' ')}`);
    assert.match(r.stderr.toString(), /Permission denied/);
  }
  ok(d.berth(['rm', '-f', 'walk']));
});

test('a kill -9 of the daemon keeps remapped containers running and enterable; a bad remap spec stops the daemon with dockerd\'s words', async () => {
  ok(d.berth(['run', '-d', '--name', 'survivor', 'busybox', 'sleep', '300']));
  await d.restart({ kill9: true });
  assert.equal(ok(d.berth(['exec', 'survivor', 'id', '-u'])).stdout.trim(), '0');
  ok(d.berth(['rm', '-f', 'survivor']));
  assert.deepEqual(readdirSync(join(d.execRoot, 'userns')), []);
  // A user without subordinate IDs, and one that does not exist.
  const dir = mkdtempSync(join(tmpdir(), 'berth-userns-bad-'));
  try {
    for (const [spec, msg] of [['nosuchuser-xyz', /Can't create ID mappings: user "nosuchuser-xyz" not found/], ['nobody', /Can't create ID mappings: No subuid ranges found for user "nobody"/]] as const) {
      const r = spawnSync(process.execPath, [BERTHD, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '-H', `unix://${join(dir, 's.sock')}`, '-b', 'none', '--userns-remap', spec], { timeout: 20_000 });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr.toString(), msg);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--userns-remap default makes the berthremap user and its ranges when missing', async () => {
  const had = spawnSync('getent', ['passwd', 'berthremap']).status === 0;
  const other = await startDaemon({ importBusybox: false, extraArgs: ['--userns-remap', 'default', '-b', 'none'] });
  try {
    assert.equal(spawnSync('getent', ['passwd', 'berthremap']).status, 0);
    const sub = readFileSync('/etc/subuid', 'utf8');
    const m = /^berthremap:(\d+):65536$/m.exec(sub);
    assert.ok(m, sub);
    assert.match(readFileSync('/etc/subgid', 'utf8'), /^berthremap:\d+:65536$/m);
    assert.equal((await other.api('GET', '/info')).json().DockerRootDir, join(other.dataRoot, `${m[1]}.${readFileSync('/etc/subgid', 'utf8').match(/^berthremap:(\d+):/m)![1]}`));
  } finally {
    await other.stop();
    if (!had) {
      // Made by this test: its ranges and the user go again.
      for (const [file, flag] of [['/etc/subuid', '--del-subuids'], ['/etc/subgid', '--del-subgids']] as const) {
        const r = /^berthremap:(\d+):(\d+)$/m.exec(readFileSync(file, 'utf8'));
        if (r) spawnSync('usermod', [flag, `${r[1]}-${Number(r[1]) + Number(r[2]) - 1}`, 'berthremap']);
      }
      spawnSync('userdel', ['berthremap']);
    }
  }
});
