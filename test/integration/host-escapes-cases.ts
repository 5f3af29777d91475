// The host escapes a security review found (issue 13), each replayed as the review ran it
// (host-escapes.test.ts on a plain daemon, host-escapes-userns.test.ts under --userns-remap): a
// container (or a second one sharing a volume) swaps a directory or a file for a symlink to a host
// path in a tight loop while the daemon works on its files. Before the fixes each of these read
// or wrote host files within a few attempts; now the daemon reaches container files by descriptor
// only (src/sys/dirfd.ts), freezes for export, binds volume subpaths by descriptor, reads
// /etc/passwd by descriptor with a size cap, and thaws a freeze it did not live to undo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startDaemon, hasDocker, type Daemon, type RunOut } from './harness.ts';
import { encodeTarHeader, tarPad } from '../../src/archive/tar-header.ts';

/** Registers the tests on a daemon started with `extraArgs`. */
export function hostEscapeTests(o: { extraArgs?: () => string[]; label?: string } = {}): void {
  const label = o.label ? ` (${o.label})` : '';
  let d: Daemon;
  /** The host's secrets: what no container may ever read or overwrite through the daemon. */
  let secretDir: string;
  let putDir: string;
  const TOKEN = `HOSTSECRET-${randomBytes(6).toString('hex')}`;
  // Enough names that the walk is still going when a swap lands (the race the review won).
  const N = 4000;
  const names = Array.from({ length: N }, (_, i) => `f${String(i).padStart(5, '0')}`);

  before(async () => {
    d = await startDaemon({ importBusybox: true, extraArgs: o.extraArgs?.() });
    secretDir = join(d.dir, 'host-secret');
    putDir = join(d.dir, 'host-put');
    mkdirSync(secretDir, { mode: 0o700 });
    mkdirSync(putDir, { mode: 0o700 });
    for (const n of names) writeFileSync(join(secretDir, n), `${TOKEN}\n`, { mode: 0o600 });
    writeFileSync(join(secretDir, 'marker'), `${TOKEN}\n`, { mode: 0o600 });
    writeFileSync(join(secretDir, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nhostonly:x:4242:4242::/:/bin/sh\n', { mode: 0o600 });
  });
  after(async () => { await d?.stop(); });

  const ok = (r: RunOut) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  function tar(entries: { name: string; type?: string; body?: string }[]): Buffer {
    const parts: Buffer[] = [];
    for (const e of entries) {
      const body = Buffer.from(e.body ?? '');
      const type = e.type ?? '0';
      parts.push(encodeTarHeader({ name: e.name, type, mode: type === '5' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 1_700_000_000, size: body.length }));
      if (body.length) parts.push(body, Buffer.alloc(tarPad(body.length)));
    }
    parts.push(Buffer.alloc(1024));
    return Buffer.concat(parts);
  }

  /** A directory `d` with the same names as the host's secret directory, holding harmless content. */
  const twinTar = (top: string) => tar([{ name: `${top}/`, type: '5' }, ...names.map((n) => ({ name: `${top}/${n}`, body: 'inside\n' }))]);

  /**
   * The attacker's loop, run in a container: `dir` is a real directory most of the time and, for a
   * moment in every round, a symlink to `target` (a path of the host, meaningless inside).
   */
  const swapLoop = (dir: string, target: string) =>
    `while :; do mv ${dir} ${dir}.real; ln -s ${target} ${dir}; rm ${dir}; mv ${dir}.real ${dir}; done`;

  async function put(ctr: string, path: string, body: Buffer): Promise<number> {
    return (await d.api('PUT', `/containers/${ctr}/archive?path=${encodeURIComponent(path)}`, body, { 'Content-Type': 'application/x-tar' })).status;
  }

  /** Waits until `ctr` has `path` (the loop's start signal), bounded. */
  async function waitFor(ctr: string, path: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (d.berth(['exec', ctr, 'test', '-e', path]).status === 0) return;
      await sleep(100);
    }
    throw new Error(`${ctr}: ${path} never appeared`);
  }

  test(`export of a running container swapping a directory for a host symlink mid-walk never holds a host file${label}`, async () => {
    ok(d.berth(['run', '-d', '--name', 'exp', 'busybox', 'sleep', '600']));
    assert.equal(await put('exp', '/', twinTar('d')), 200);
    ok(d.berth(['exec', '-d', 'exp', 'sh', '-c', `touch /looping; ${swapLoop('/d', secretDir)}`]));
    await waitFor('exp', '/looping');
    for (let i = 0; i < 10; i++) {
      const r = await d.api('GET', '/containers/exp/export');
      assert.equal(r.status, 200);
      assert.ok(r.body.length > 100_000, 'a whole filesystem');
      assert.equal(r.body.includes(TOKEN), false, `export ${i} held a host file`);
    }
    // The docker CLI's export goes the same way.
    if (hasDocker) {
      const r = spawnSync('docker', ['export', 'exp'], { env: { ...process.env, DOCKER_HOST: `unix://${d.sock}` }, maxBuffer: 256 << 20 });
      assert.equal(r.status, 0, r.stderr?.toString());
      assert.equal(r.stdout.includes(TOKEN), false);
    }
    // Thawed after every export: the loop still runs.
    const st = (await d.api('GET', '/containers/exp/json')).json().State;
    assert.equal(st.Paused, false);
    ok(d.berth(['rm', '-f', 'exp']));
  });

  test(`cp out of a container while a second one, sharing the volume, swaps a directory for a host symlink${label}`, async () => {
    ok(d.berth(['volume', 'create', 'shared']));
    ok(d.berth(['run', '-d', '--name', 'target', '-v', 'shared:/vol', 'busybox', 'sleep', '600']));
    ok(d.berth(['run', '-d', '--name', 'racer', '-v', 'shared:/vol', 'busybox', 'sleep', '600']));
    assert.equal(await put('target', '/vol', twinTar('d')), 200);
    ok(d.berth(['exec', '-d', 'racer', 'sh', '-c', `touch /vol/looping; cd /vol && ${swapLoop('d', secretDir)}`]));
    await waitFor('target', '/vol/looping');
    for (let i = 0; i < 10; i++) {
      const r = await d.api('GET', `/containers/target/archive?path=${encodeURIComponent(i % 2 ? '/vol' : '/vol/d.real')}`);
      // The path may be mid-swap (404) or there; what matters is what comes back.
      assert.ok(r.status === 200 || r.status === 404, `status ${r.status}: ${r.body}`);
      assert.equal(r.body.includes(TOKEN), false, `GET ${i} returned a host file`);
    }
    for (const run of [d.berth, ...(hasDocker ? [d.docker] : [])]) {
      const r = run(['cp', 'target:/vol', '-']);
      assert.equal(r.stdout.includes(TOKEN), false, 'a CLI cp returned a host file');
    }
  });

  test(`cp into a container while a second one swaps the destination directory for a host symlink writes nothing on the host${label}`, async () => {
    // The racer from the test above keeps swapping /vol/d; now also /vol/p, made first, for a
    // symlink to the host's put dir.
    assert.equal(await put('target', '/vol', tar([{ name: 'p/', type: '5' }])), 200);
    ok(d.berth(['exec', '-d', 'racer', 'sh', '-c', `cd /vol && ${swapLoop('p', putDir)}`]));
    await sleep(300);
    const payload = tar([{ name: 'p/', type: '5' }, ...names.map((n) => ({ name: `p/${n}`, body: 'planted\n' }))]);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      // A swap seen on the way is refused ("layer breakout"); nothing may land on the host either way.
      statuses.push(await put('target', '/vol', payload));
      assert.deepEqual(readdirSync(putDir), [], `PUT ${i} wrote on the host`);
    }
    assert.ok(statuses.includes(200), `some PUT went through: ${statuses}`);
    const host = join(d.dir, 'cp-src');
    mkdirSync(join(host, 'p'), { recursive: true });
    for (const n of names.slice(0, 200)) writeFileSync(join(host, 'p', n), 'planted\n');
    for (const run of [d.berth, ...(hasDocker ? [d.docker] : [])]) {
      run(['cp', join(host, 'p'), 'target:/vol/']);
      assert.deepEqual(readdirSync(putDir), [], 'a CLI cp wrote on the host');
    }
    ok(d.berth(['rm', '-f', 'target', 'racer']));
  });

  test(`a volume subpath swapped for a host symlink in a loop is never mounted from the host${label}`, async () => {
    ok(d.berth(['volume', 'create', 'subvol']));
    ok(d.berth(['run', '-d', '--name', 'subracer', '-v', 'subvol:/vol', 'busybox', 'sh', '-c', `mkdir -p /vol/sub && echo inside > /vol/sub/marker && touch /vol/looping && cd /vol && ${swapLoop('sub', secretDir)}`]));
    await waitFor('subracer', '/vol/looping');
    const spec = (name: string) => ({
      Image: 'busybox', Cmd: ['sh', '-c', 'cat /data/marker 2>&1; ls /data | head -3'],
      HostConfig: { Mounts: [{ Type: 'volume', Source: 'subvol', Target: '/data', VolumeOptions: { Subpath: 'sub' } }] },
      name,
    });
    let mountedInside = 0;
    // 14 attempts at least; more (bounded) while none has landed between two swaps, which a
    // loaded machine can make happen: the check that a mount does happen needs one.
    for (let i = 0; i < 40 && (i < 14 || mountedInside === 0); i++) {
      const name = `sub${i}`;
      const c = await d.api('POST', `/containers/create?name=${name}`, spec(name));
      assert.equal(c.status, 201, c.body.toString());
      const s = await d.api('POST', `/containers/${name}/start`);
      if (s.status === 204) {
        await d.api('POST', `/containers/${name}/wait`);
        const logs = (await d.api('GET', `/containers/${name}/logs?stdout=1&stderr=1`)).body.toString();
        assert.equal(logs.includes(TOKEN), false, `attempt ${i}: the host directory was mounted into the container`);
        if (logs.includes('inside')) mountedInside++;
      } else {
        // The swap was seen: a clear refusal, never the host's directory.
        assert.match(s.json().message, /cannot access path sub in volume subvol/);
      }
      await d.api('DELETE', `/containers/${name}?force=1`);
    }
    assert.ok(mountedInside > 0, 'the subpath was mounted at least once');
    // The CLIs' --mount volume-subpath= goes the same way; and no staging mount is left behind.
    for (const run of [d.berth, ...(hasDocker ? [d.docker] : [])]) {
      const r = run(['run', '--rm', '--mount', 'type=volume,src=subvol,dst=/data,volume-subpath=sub', 'busybox', 'cat', '/data/marker']);
      assert.equal(`${r.stdout}${r.stderr}`.includes(TOKEN), false);
    }
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes('/subpaths/'), false, 'a subpath staging mount was left');
    ok(d.berth(['rm', '-f', 'subracer']));
  });

  test(`exec -u NAME reads /etc/passwd by descriptor: a racing swap for a host symlink never finds a host user; a huge one is refused${label}`, async () => {
    ok(d.berth(['run', '-d', '--name', 'pw', 'busybox', 'sleep', '600']));
    const hostPasswd = join(secretDir, 'passwd');
    // Atomic renames: /etc/passwd is in turn the image's file and a symlink to the host's passwd.
    ok(d.berth(['exec', '-d', 'pw', 'sh', '-c',
      `cp /etc/passwd /etc/pw.file; touch /looping; while :; do ln -s ${hostPasswd} /etc/pw.link; mv -f /etc/pw.link /etc/passwd; cp /etc/pw.file /etc/pw.tmp; mv -f /etc/pw.tmp /etc/passwd; done`]));
    await waitFor('pw', '/looping');
    // The user exists only in the host's file: any exec that finds it has read a host file.
    for (let i = 0; i < 200; i++) {
      const c = await d.api('POST', '/containers/pw/exec', { Cmd: ['id', '-u'], User: 'hostonly', AttachStdout: true, AttachStderr: true });
      assert.notEqual(c.status, 201, `attempt ${i}: the user was found in the host's passwd`);
    }
    const r = await d.api('POST', '/containers/pw/exec', { Cmd: ['id', '-u'], User: 'hostonly' });
    assert.match(r.json().message, /unable to find user hostonly: no matching entries in passwd file/);
    ok(d.berth(['rm', '-f', 'pw']));
    // A 17 MiB /etc/passwd is refused with a clear error instead of being read into the daemon.
    ok(d.berth(['run', '-d', '--name', 'bigpw', 'busybox', 'sh', '-c', 'yes "u:x:1:1::/:/bin/sh" | head -c 17825792 > /etc/passwd; touch /ready; sleep 600']));
    await waitFor('bigpw', '/ready');
    for (const run of [d.berth, ...(hasDocker ? [d.docker] : [])]) {
      const r = run(['exec', '-u', 'someone', 'bigpw', 'true']);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /\/etc\/passwd in the container's root filesystem is too large/);
    }
    ok(d.berth(['rm', '-f', 'bigpw']));
  });

  /** The freezer state of a container (cgroup v1 freezer, as on these machines). */
  function freezerState(id: string): string {
    const found = spawnSync('find', ['/sys/fs/cgroup/freezer', '-type', 'd', '-name', id]).stdout.toString().trim().split('\n')[0];
    assert.ok(found, 'freezer cgroup of the container');
    return readFileSync(join(found, 'freezer.state'), 'utf8').trim();
  }

  test(`a daemon killed while a cp or a commit holds a container frozen thaws it at start${label}`, async () => {
    ok(d.berth(['run', '-d', '--name', 'frz', 'busybox', 'sh', '-c', 'dd if=/dev/urandom of=/big bs=1M count=150 2>/dev/null; touch /ready; sleep 600']));
    await waitFor('frz', '/ready');
    const id = (await d.api('GET', '/containers/frz/json')).json().Id as string;
    for (const how of ['cp', 'commit'] as const) {
      assert.equal(freezerState(id), 'THAWED');
      let req: http.ClientRequest;
      if (how === 'cp') {
        // A PUT whose body never ends: the container stays frozen while the daemon waits for it.
        req = http.request({ socketPath: d.sock, method: 'PUT', path: '/containers/frz/archive?path=/tmp', headers: { 'Content-Type': 'application/x-tar', 'Transfer-Encoding': 'chunked' } });
        req.write(tar([{ name: 'x', body: 'x' }]).subarray(0, 512));
      } else {
        // A commit of a 150 MB layer: paused (Docker's default) while the layer is written.
        req = http.request({ socketPath: d.sock, method: 'POST', path: '/commit?container=frz&repo=frozen&pause=1', headers: { 'Content-Type': 'application/json' } });
        req.end('{}');
      }
      req.on('error', () => { /* the daemon dies under it */ });
      let frozen = false;
      for (let i = 0; i < 100 && !frozen; i++) { frozen = freezerState(id) === 'FROZEN'; if (!frozen) await sleep(20); }
      assert.ok(frozen, `${how}: the container was frozen`);
      await d.restart({ kill9: true });
      req.destroy();
      assert.equal(freezerState(id), 'THAWED', `${how}: thawed at start`);
      const st = (await d.api('GET', '/containers/frz/json')).json().State;
      assert.equal(st.Status, 'running', how);
      assert.equal(st.Paused, false, how);
      // The store is <data-root>/<uid>.<gid> under --userns-remap: as the daemon reports it.
      const store = (await d.api('GET', '/info')).json().DockerRootDir as string;
      assert.equal(readdirSync(join(store, 'containers', id)).includes('daemon-frozen'), false, 'marker removed');
      // A user's pause survives a restart as it is: no marker, so it stays paused.
      ok(d.berth(['pause', 'frz']));
      await d.restart({ kill9: true });
      assert.equal((await d.api('GET', '/containers/frz/json')).json().State.Paused, true);
      ok(d.berth(['unpause', 'frz']));
    }
    ok(d.berth(['rm', '-f', 'frz']));
  });
}
