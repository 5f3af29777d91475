// Users, namespaces, /dev/shm, init, runtimes, identity files and network modes, end to end:
// what the container's own process observes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { hasDocker, startDaemon, type Daemon } from './harness.ts';
import { Runner, assertBadRequest, hostMountsUnder, within } from './runtime-util.ts';

let d: Daemon;
let r: Runner;
before(async () => { d = await startDaemon(); r = new Runner(d); });
after(async () => { await d?.stop(); });

const ns = (pid: number | 'self', kind: string) => readlinkSync(`/proc/${pid}/ns/${kind}`);
const lexists = (p: string) => { try { lstatSync(p); return true; } catch { return false; } };

// ------------------------------------------------------------------ users

test('User: a name, a uid, uid:gid and name:group resolve against the image', async () => {
  assert.equal((await r.out('id')).trim(), 'uid=0(root) gid=0(root) groups=0(root),10(wheel)');
  assert.equal((await r.out('id', { User: 'nobody' })).trim(), 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)');
  // A uid not in /etc/passwd is fine (Docker's rule); its group is 0.
  assert.equal((await r.out('id -u; id -g', { User: '1000' })).trim(), '1000\n0');
  assert.equal((await r.out('id -u; id -g; id -G', { User: '1000:1000' })).trim(), '1000\n1000\n1000');
  // An explicit group replaces the primary one and suppresses /etc/group memberships.
  assert.equal((await r.out('id', { User: 'www-data:staff' })).trim(), 'uid=33(www-data) gid=50(staff) groups=50(staff)');
  assert.equal((await r.out('id', { User: '33:50' })).trim(), 'uid=33(www-data) gid=50(staff) groups=50(staff)');
});

test('User: an unknown name fails the start with a clear error; the record keeps it', async () => {
  for (const [user, re] of [
    ['nosuchuser', /unable to find user nosuchuser: no matching entries in passwd file/],
    ['root:nosuchgroup', /unable to find group nosuchgroup: no matching entries in group file/],
    ['99999999999', /uids and gids must be in range 0-2147483647/],
  ] as const) {
    const id = await r.create({ Cmd: ['id'], User: user });
    try {
      const s = await r.api('POST', `/containers/${id}/start`);
      assert.ok(s.status >= 400 && s.status < 600, `start: ${s.status}`);
      assert.match(s.json().message, re);
      const i = await r.inspect(id);
      assert.equal(i.State.Running, false);
      assert.equal(i.State.Status, 'created');
      assert.match(i.State.Error, re);
      assert.equal(hostMountsUnder(d.dataRoot).filter((m) => m.includes(id)).length, 0, 'rootfs unmounted');
    } finally {
      await r.remove(id);
    }
  }
});

// ------------------------------------------------------------------ namespaces

test("PidMode, IpcMode and UTSMode 'host' share the host's namespaces", async () => {
  const out = await r.out('echo $$; for n in pid ipc uts; do readlink /proc/self/ns/$n; done; hostname', { HostConfig: { PidMode: 'host', IpcMode: 'host', UTSMode: 'host' } });
  const [pid, pidNs, ipcNs, utsNs, host] = out.trim().split('\n');
  assert.notEqual(pid, '1', 'not PID 1 in the host pid namespace');
  assert.equal(pidNs, ns('self', 'pid'));
  assert.equal(ipcNs, ns('self', 'ipc'));
  assert.equal(utsNs, ns('self', 'uts'));
  assert.equal(host, hostname());
  // And by default none of them is shared.
  const priv = (await r.out('echo $$; for n in pid ipc uts; do readlink /proc/self/ns/$n; done')).trim().split('\n');
  assert.equal(priv[0], '1');
  assert.notEqual(priv[1], ns('self', 'pid'));
  assert.notEqual(priv[2], ns('self', 'ipc'));
  assert.notEqual(priv[3], ns('self', 'uts'));
});

test("PidMode 'host' sees host processes", async () => {
  const out = await r.out('ps -o pid,args', { HostConfig: { PidMode: 'host' } });
  // This test runner itself is a host process.
  assert.match(out, new RegExp(`^\\s*${process.pid}\\s`, 'm'), out);
});

test("PidMode/IpcMode/UTSMode 'container:<id>' join the other container's namespaces", async () => {
  const a = await r.background(['sleep', '29'], { Hostname: 'other-box', HostConfig: { IpcMode: 'shareable' } });
  try {
    const out = await r.out('ps -o pid,args; for n in pid ipc uts; do readlink /proc/self/ns/$n; done; hostname', {
      HostConfig: { PidMode: `container:${a.id}`, IpcMode: `container:${a.id.slice(0, 12)}`, UTSMode: `container:${a.id}` },
    });
    // The other container's process is PID 1 here.
    assert.match(out, /^\s*1 sleep 29$/m, out);
    const lines = out.trim().split('\n');
    const [pidNs, ipcNs, utsNs, host] = lines.slice(-4);
    assert.equal(pidNs, ns(a.pid, 'pid'));
    assert.equal(ipcNs, ns(a.pid, 'ipc'));
    assert.equal(utsNs, ns(a.pid, 'uts'));
    assert.equal(host, 'other-box');
    // Joining did not rename the container whose namespace it is.
    const own = spawnSync('nsenter', ['-t', String(a.pid), '-u', 'hostname']);
    assert.equal(own.stdout.toString().trim(), 'other-box', own.stderr.toString());
  } finally {
    await r.remove(a.id);
  }
});

test("IpcMode 'container:<id>' shares a shareable container's /dev/shm (POSIX shared memory)", async () => {
  const a = await r.background('echo hello > /dev/shm/marker; exec sleep 29', { HostConfig: { IpcMode: 'shareable' } });
  try {
    await new Promise((res) => setTimeout(res, 200));
    const out = await r.out('cat /dev/shm/marker', { HostConfig: { IpcMode: `container:${a.id}` } });
    assert.equal(out, 'hello\n');
  } finally {
    await r.remove(a.id);
  }
});

test("IpcMode private (the default): the runtime's own /dev/shm, nothing on the host, and no container may join it", async () => {
  const a = await r.background('echo mine > /dev/shm/marker; exec sleep 29');
  try {
    const i = await r.inspect(a.id);
    assert.equal(i.HostConfig.IpcMode, 'private');
    // dockerd mounts a host tmpfs only for a shareable container.
    assert.deepEqual(hostMountsUnder(join(d.dataRoot, 'containers', a.id)), []);
    const shm = readFileSync(`/proc/${a.pid}/mounts`, 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f[1] === '/dev/shm');
    assert.deepEqual(shm.map((f) => f[2]), ['tmpfs']);
    assert.match(shm[0][3], /size=65536k/);
    assert.equal(readFileSync(`/proc/${a.pid}/root/dev/shm/marker`, 'utf8'), 'mine\n');
    // dockerd's refusal, at start, as a bad parameter.
    const b = await r.create({ Cmd: ['true'], HostConfig: { IpcMode: `container:${a.id}` } });
    try {
      const s = await r.api('POST', `/containers/${b}/start`);
      assert.equal(s.status, 400, s.body.toString());
      assert.equal(s.json().message, `container ${a.id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
      assert.equal((await r.inspect(b)).State.Status, 'created');
    } finally {
      await r.remove(b);
    }
    // Through both CLIs, as dockerd answers them.
    const msg = `Error response from daemon: container ${a.id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`;
    const viaBerth = d.berth(['run', '--rm', '--network', 'none', '--ipc', `container:${a.id}`, 'busybox', 'true']);
    assert.equal(viaBerth.status, 125);
    assert.ok(viaBerth.stderr.includes(msg), viaBerth.stderr);
    if (hasDocker) {
      const viaDocker = d.docker(['run', '--rm', '--network', 'none', '--ipc', `container:${a.id}`, 'busybox', 'true']);
      assert.equal(viaDocker.status, 125);
      assert.ok(viaDocker.stderr.includes(msg), viaDocker.stderr);
    }
  } finally {
    await r.remove(a.id);
  }
});

test('joining the namespaces of a container that is not running is refused', async () => {
  const a = await r.create({ Cmd: ['true'] });
  const b = await r.create({ Cmd: ['true'], HostConfig: { PidMode: `container:${a}` } });
  try {
    const s = await r.api('POST', `/containers/${b}/start`);
    assert.equal(s.status, 409, s.body.toString());
    assert.match(s.json().message, /cannot join namespace of a non running container/);
  } finally {
    await r.remove(b);
    await r.remove(a);
  }
});

// ------------------------------------------------------------------ /dev/shm and init

test('ShmSize sets the size of /dev/shm (64 MiB by default)', async () => {
  const size = async (extra: Record<string, unknown>) => (await r.out("df -k /dev/shm | tail -1 | awk '{print $2}'", extra)).trim();
  assert.equal(await size({ HostConfig: { ShmSize: 128 * 1024 * 1024 } }), '131072');
  assert.equal(await size({}), '65536');
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { ShmSize: -1 } }), /SHM size can not be less than 0/);
  // IpcMode none: no /dev/shm at all.
  assert.match(await r.out('ls /dev/shm 2>&1; true', { HostConfig: { IpcMode: 'none' } }), /No such file or directory/);
});

test('Init: true runs tini as PID 1, which reaps orphaned zombies; without it they stay', async () => {
  // An orphan (sleep 0.1) is re-parented to PID 1. PID 1 then becomes `sleep 2`, which never
  // waits, while a background shell counts zombies at 1 s.
  const script = '(sleep 0.1 &); (sleep 1; ps -o stat,args | grep -c "^Z") & exec sleep 2';
  assert.equal((await r.out(script)).trim(), '1', 'without init the orphan stays a zombie');
  assert.equal((await r.out(script, { HostConfig: { Init: true } })).trim(), '0', 'tini reaped it');
  // The brief's form: the shell is not PID 1 under init.
  const out = await r.out("(sleep 0.1 &) ; sleep 1; ps -o stat | grep -c Z; tr '\\0' ' ' < /proc/1/cmdline", { HostConfig: { Init: true } });
  const [zombies, pid1] = out.trim().split('\n');
  assert.equal(zombies, '0');
  assert.match(pid1, /^\/sbin\/docker-init -- sh -c /);
});

test('Init with the host PID namespace: no init is added (there is a PID 1 that reaps already)', async () => {
  const out = await r.out("echo $$; tr '\\0' ' ' < /proc/$$/cmdline", { HostConfig: { Init: true, PidMode: 'host' } });
  const [pid, cmdline] = out.trim().split('\n');
  assert.notEqual(pid, '1');
  assert.doesNotMatch(cmdline, /docker-init/);
});

// ------------------------------------------------------------------ runtimes

test("Runtime 'crun' fails promptly on this host and leaves nothing behind", async () => {
  const id = await r.create({ Cmd: ['true'], HostConfig: { Runtime: 'crun' } });
  try {
    assert.equal((await r.inspect(id)).HostConfig.Runtime, 'crun');
    const t0 = Date.now();
    const s = await within(10_000, 'start with crun', d.api('POST', `/containers/${id}/start`));
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(s.status, 500, s.body.toString());
    assert.match(s.json().message, /OCI runtime create failed: .*cgroups in hybrid mode not supported/);
    // The record stays, with the error.
    const i = await r.inspect(id);
    assert.equal(i.State.Status, 'created');
    assert.equal(i.State.Running, false);
    assert.equal(i.State.Pid, 0);
    assert.match(i.State.Error, /cgroups in hybrid mode not supported/);
    // No rootfs mount, no bundle, no runtime state, no conmon, no cgroup, no conmon sockets.
    assert.deepEqual(hostMountsUnder(d.dir).filter((m) => m.includes(id)), []);
    assert.equal(existsSync(join(d.execRoot, 'bundles', id)), false, 'bundle removed');
    const state = spawnSync('crun', ['--root', join(d.execRoot, 'runtimes', 'crun'), 'state', id]);
    assert.notEqual(state.status, 0, `crun still knows ${id}: ${state.stdout}`);
    const conmons = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try { return /conmon/.test(readFileSync(`/proc/${p}/cmdline`, 'utf8')) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(id); } catch { return false; }
    });
    assert.deepEqual(conmons, [], 'no conmon left for it');
    const parent = `berth-${createHash('sha256').update(d.execRoot).digest('hex').slice(0, 8)}`;
    for (const ctrl of ['memory', 'pids', 'cpu', 'devices']) assert.equal(existsSync(join('/sys/fs/cgroup', ctrl, parent, id)), false, `${ctrl} cgroup removed`);
    // conmon's socket dir entry is a symlink to the (removed) bundle: look at the link itself.
    assert.equal(lexists(join(d.execRoot, 's', id.slice(0, 12))), false, 'conmon socket link removed');
    // A second try fails the same way (nothing stale in the way), and the daemon still runs runc containers.
    const again = await within(10_000, 'second start with crun', d.api('POST', `/containers/${id}/start`));
    assert.equal(again.status, 500);
    assert.match(again.json().message, /cgroups in hybrid mode not supported/);
    assert.equal((await r.out('echo ok')).trim(), 'ok');
  } finally {
    await r.remove(id);
  }
  assert.equal((await r.api('GET', `/containers/${id}/json`)).status, 404);
});

test('an unknown runtime is refused at create', async () => {
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { Runtime: 'x' } }), /^Unknown runtime specified x$/);
});

// ------------------------------------------------------------------ identity, env, files

test('Hostname and Domainname', async () => {
  const out = await r.out('hostname; cat /etc/hostname; echo $HOSTNAME; cat /proc/sys/kernel/domainname', { Hostname: 'web1', Domainname: 'example.test' });
  assert.deepEqual(out.trim().split('\n'), ['web1', 'web1', 'web1', 'example.test']);
  // The default hostname is the short container ID.
  const res = await r.run('hostname; cat /etc/hostname');
  assert.deepEqual(res.stdout.trim().split('\n'), [res.id.slice(0, 12), res.id.slice(0, 12)]);
  assertBadRequest(await r.createRaw({ Cmd: ['true'], Hostname: 'h'.repeat(65) }), /is too long/);
});

test("Hostname with UTSMode 'host' is refused at create (Docker's conflicting options)", async () => {
  const res = await r.createRaw({ Cmd: ['true'], Hostname: 'x1', HostConfig: { UTSMode: 'host' } });
  if (res.status === 201) await r.remove(res.json().Id);
  assertBadRequest(res, /^conflicting options: hostname and the UTS mode$/);
});

test('Env: the given variables, PATH and HOSTNAME defaults, and a PATH override', async () => {
  const out = await r.out('env | sort', { Env: ['A=1', 'B=x y', 'EMPTY='], Hostname: 'envbox' });
  const env = out.trim().split('\n');
  for (const e of ['A=1', 'B=x y', 'EMPTY=', 'HOSTNAME=envbox', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root']) assert.ok(env.includes(e), `${e} in ${out}`);
  const p = await r.out('echo $PATH', { Env: ['PATH=/bin'] });
  assert.equal(p, '/bin\n');
});

test("WorkingDir: used as the cwd, created when it doesn't exist (even with a read-only root)", async () => {
  assert.equal(await r.out('pwd', { WorkingDir: '/tmp' }), '/tmp\n');
  assert.equal(await r.out('pwd; ls -ld . | cut -c1-10', { WorkingDir: '/does/not/exist' }), '/does/not/exist\ndrwxr-xr-x\n');
  assert.equal(await r.out('pwd', { WorkingDir: '/new/dir', User: 'nobody' }), '/new/dir\n');
  assert.equal(await r.out('pwd', { WorkingDir: '/ro/dir', HostConfig: { ReadonlyRootfs: true } }), '/ro/dir\n');
  assertBadRequest(await r.createRaw({ Cmd: ['pwd'], WorkingDir: 'relative' }), /the working directory 'relative' is invalid, it needs to be an absolute path/);
});

test('/etc/hosts, /etc/resolv.conf and /etc/hostname are bind mounts of per-container files', async () => {
  const res = await r.run('cat /proc/self/mountinfo; echo ---; cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/hostname', { Hostname: 'files1' }, { keep: true });
  try {
    assert.equal(res.exitCode, 0, res.stderr);
    const [mountinfo, hosts, resolv, hostnameFile] = res.stdout.split('---\n');
    const i = res.inspect;
    for (const [dest, file] of [['/etc/hosts', i.HostsPath], ['/etc/resolv.conf', i.ResolvConfPath], ['/etc/hostname', i.HostnamePath]] as const) {
      assert.ok((file as string).includes(res.id), `${file} is per container`);
      // mountinfo: field 4 is the path inside the source filesystem, field 5 the mount point.
      const line = mountinfo.split('\n').find((l) => l.split(' ')[4] === dest);
      assert.ok(line, `${dest} is a mount point: ${mountinfo}`);
      assert.ok((file as string).endsWith(line!.split(' ')[3]), `${dest} comes from ${file}: ${line}`);
    }
    assert.equal(hosts, readFileSync(i.HostsPath, 'utf8'));
    assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
    assert.equal(resolv, readFileSync(i.ResolvConfPath, 'utf8'));
    assert.equal(hostnameFile, 'files1\n');
    assert.equal(readFileSync(i.HostnamePath, 'utf8'), 'files1\n');
  } finally {
    await r.remove(res.id);
  }
});

// ------------------------------------------------------------------ network modes

/** Interface names as a netns-aware file lists them (the container's own /proc/net/dev). */
const ifaces = (devText: string) => devText.trim().split('\n').slice(2).map((l) => l.split(':')[0].trim()).sort();

test("NetworkMode 'host' sees the host's interfaces; 'none' only lo", async () => {
  const hostIfaces = ifaces(readFileSync('/proc/net/dev', 'utf8'));
  assert.ok(hostIfaces.length > 1, 'the host has more than lo');
  const inHost = await r.out('cat /proc/net/dev; readlink /proc/self/ns/net', { HostConfig: { NetworkMode: 'host' } });
  const netLine = inHost.trim().split('\n').pop()!;
  assert.deepEqual(ifaces(inHost.trim().split('\n').slice(0, -1).join('\n')), hostIfaces);
  assert.equal(netLine, ns('self', 'net'));
  const [devText, addrs] = (await r.out('cat /proc/net/dev; echo ---; ip -o addr', { HostConfig: { NetworkMode: 'none' } })).split('---\n');
  assert.deepEqual(ifaces(devText), ['lo']);
  // lo is up and has the loopback address (containers may talk to themselves).
  assert.match(addrs, /^1: lo\s+inet 127\.0\.0\.1\/8 /m);
});

test("NetworkMode 'host': the container's hostname is the host's", async () => {
  const res = await r.run('hostname; cat /etc/hostname; echo $HOSTNAME', { HostConfig: { NetworkMode: 'host' } });
  assert.deepEqual(res.stdout.trim().split('\n'), [hostname(), hostname(), hostname()]);
  assert.equal(res.inspect.Config.Hostname, hostname());
});
