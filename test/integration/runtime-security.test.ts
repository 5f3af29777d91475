// Security settings end to end: what the container's own process sees in /proc/self/status,
// /proc/mounts and when it tries what it should not be able to do.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { startDaemon, type Daemon } from './harness.ts';
import { Runner, assertBadRequest } from './runtime-util.ts';
import { capsFromMask } from '../../src/runtime/capabilities.ts';

let d: Daemon;
let r: Runner;
before(async () => { d = await startDaemon(); r = new Runner(d); });
after(async () => { await d?.stop(); });

/** `Name:\tvalue` lines of /proc/self/status (as the container printed them). */
function statusFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of text.split('\n')) {
    const i = l.indexOf(':');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1).trim();
  }
  return out;
}

const DOCKER_DEFAULT_CAPS = [
  'CAP_AUDIT_WRITE', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_MKNOD',
  'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT',
];

/** The capability names of this test process (berthd runs with the same set). */
const hostCaps = () => capsFromMask(statusFields(readFileSync('/proc/self/status', 'utf8')).CapEff).sort();

test("default capabilities are Docker's 14, in every set but the inheritable and ambient ones", async () => {
  const s = statusFields(await r.out('cat /proc/self/status'));
  assert.equal(s.CapEff, '00000000a80425fb');
  assert.deepEqual(capsFromMask(s.CapEff).sort(), DOCKER_DEFAULT_CAPS);
  assert.equal(s.CapPrm, s.CapEff);
  assert.equal(s.CapBnd, s.CapEff);
  assert.equal(s.CapInh, '0000000000000000');
  assert.equal(s.CapAmb, '0000000000000000');
});

test('CapAdd and CapDrop change what the process may do', async () => {
  // Without CAP_CHOWN, root cannot give a file away.
  const drop = await r.run('touch /tmp/f && chown nobody /tmp/f; echo rc=$?; grep CapEff /proc/self/status', { HostConfig: { CapDrop: ['CHOWN'] } });
  assert.match(drop.stdout, /rc=1/);
  assert.match(drop.stderr, /Operation not permitted/);
  assert.ok(!capsFromMask(statusFields(drop.stdout).CapEff).includes('CAP_CHOWN'));
  const keep = await r.out('touch /tmp/f && chown nobody /tmp/f; echo rc=$?');
  assert.match(keep, /rc=0/);
  // CAP_NET_ADMIN lets it take its own loopback down; by default that is refused.
  const added = await r.run('ip link set lo down; echo rc=$?; grep CapEff /proc/self/status', { HostConfig: { CapAdd: ['NET_ADMIN'] } });
  assert.match(added.stdout, /rc=0/);
  assert.ok(capsFromMask(statusFields(added.stdout).CapEff).includes('CAP_NET_ADMIN'));
  const without = await r.run('ip link set lo down; echo rc=$?');
  assert.match(without.stdout, /rc=[1-9]/);
  // Names in any case, with or without the prefix; ALL drops everything.
  const only = statusFields(await r.out('grep CapEff /proc/self/status', { HostConfig: { CapDrop: ['all'], CapAdd: ['chown', 'cap_kill'] } }));
  assert.deepEqual(capsFromMask(only.CapEff).sort(), ['CAP_CHOWN', 'CAP_KILL']);
});

test('capabilities the daemon lacks or that do not exist are refused at create', async () => {
  if (!hostCaps().includes('CAP_SYS_RESOURCE')) {
    assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { CapAdd: ['SYS_RESOURCE'] } }), /not available in the current environment: "CAP_SYS_RESOURCE"/);
  }
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { CapAdd: ['BOGUS'] } }), /unknown capability: "CAP_BOGUS"/);
});

test('Privileged: every capability the daemon has, no seccomp, writable /sys, host devices, nothing masked', async () => {
  const out = await r.out('cat /proc/self/status; grep " /sys " /proc/mounts; ls /dev; wc -c < /proc/keys', { HostConfig: { Privileged: true } });
  const s = statusFields(out);
  assert.deepEqual(capsFromMask(s.CapEff).sort(), hostCaps());
  assert.equal(s.Seccomp, '0');
  assert.match(out, /^sysfs \/sys sysfs rw[, ]/m);
  assert.match(out, /^loop0$/m, 'host block devices are there');
  if (readFileSync('/proc/keys', 'utf8').length > 0) assert.notEqual(out.trim().split('\n').pop(), '0', '/proc/keys is not masked');
  // And it may mount.
  assert.match(await r.out('mount -t tmpfs t /tmp && grep " /tmp " /proc/mounts', { HostConfig: { Privileged: true } }), /^t \/tmp tmpfs/m);
});

test('seccomp: the default profile refuses unshare and mount; unconfined allows them', async () => {
  const def = await r.run('grep "^Seccomp:" /proc/self/status; unshare -U true; echo unshare=$?');
  assert.match(def.stdout, /Seccomp:\s+2/);
  assert.match(def.stdout, /unshare=1/);
  assert.match(def.stderr, /Operation not permitted/);
  const unconfined = await r.out('grep "^Seccomp:" /proc/self/status; unshare -U true; echo unshare=$?', { HostConfig: { SecurityOpt: ['seccomp=unconfined'] } });
  assert.match(unconfined, /Seccomp:\s+0/);
  assert.match(unconfined, /unshare=0/);
  // The default profile follows the capabilities: with CAP_SYS_ADMIN, mount is allowed.
  const noCap = await r.run('mount -t tmpfs t /tmp; echo rc=$?');
  assert.match(noCap.stdout, /rc=[1-9]/);
  const sysAdmin = await r.out('mount -t tmpfs t /tmp; echo rc=$?; grep "^Seccomp:" /proc/self/status', { HostConfig: { CapAdd: ['SYS_ADMIN'] } });
  assert.match(sysAdmin, /rc=0/);
  assert.match(sysAdmin, /Seccomp:\s+2/);
});

test('seccomp: a custom profile given inline applies', async () => {
  const profile = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] });
  const res = await r.run('mkdir /tmp/a; echo rc=$?; touch /tmp/b && echo touched', { HostConfig: { SecurityOpt: [`seccomp=${profile}`] } });
  assert.match(res.stdout, /rc=1/);
  assert.match(res.stdout, /touched/);
  assert.match(res.stderr, /Operation not permitted/);
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { SecurityOpt: ['bogus'] } }), /invalid --security-opt 1: "bogus"/);
});

test('no-new-privileges sets NoNewPrivs', async () => {
  assert.match(await r.out('grep NoNewPrivs /proc/self/status'), /NoNewPrivs:\s+0/);
  assert.match(await r.out('grep NoNewPrivs /proc/self/status', { HostConfig: { SecurityOpt: ['no-new-privileges'] } }), /NoNewPrivs:\s+1/);
  assert.match(await r.out('grep NoNewPrivs /proc/self/status', { HostConfig: { SecurityOpt: ['no-new-privileges=true'] } }), /NoNewPrivs:\s+1/);
});

test('ReadonlyRootfs: writes fail, a Tmpfs /tmp is writable, /dev/shm stays writable', async () => {
  const res = await r.run('touch /x; echo root=$?; touch /tmp/y; echo tmp=$?; touch /dev/shm/z; echo shm=$?; grep " /tmp " /proc/mounts', { HostConfig: { ReadonlyRootfs: true, Tmpfs: { '/tmp': 'size=1m' } } });
  assert.equal(res.exitCode, 0);
  assert.match(res.stdout, /root=1/);
  assert.match(res.stderr, /Read-only file system/);
  assert.match(res.stdout, /tmp=0/);
  assert.match(res.stdout, /shm=0/);
  assert.match(res.stdout, /^tmpfs \/tmp tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k/m);
  // Without the option the root is writable.
  assert.match(await r.out('touch /x; echo root=$?'), /root=0/);
});

test('Devices: a mapped device works with its cgroup permissions; others stay denied', async () => {
  assert.ok(existsSync('/dev/loop0') && statSync('/dev/loop0').isBlockDevice(), 'this host has /dev/loop0');
  const res = await r.run([
    'ls -l /dev/xloop /dev/mynull',
    'echo hi > /dev/mynull; echo null=$?',
    'dd if=/dev/xloop of=/dev/null count=1 2>/dev/null; echo read=$?',
    'dd if=/dev/zero of=/dev/xloop count=1; echo write=$?',
    // mknod is allowed (any node), opening a device outside the rules is not.
    'mknod /tmp/loop1 b 7 1 && dd if=/tmp/loop1 of=/dev/null count=1; echo other=$?',
  ].join('\n'), {
    HostConfig: {
      Devices: [
        { PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rwm' },
        { PathOnHost: '/dev/loop0', PathInContainer: '/dev/xloop', CgroupPermissions: 'r' },
      ],
    },
  });
  assert.match(res.stdout, /^brw-------\s+1 root\s+root\s+7,\s+0 .* \/dev\/xloop$/m);
  assert.match(res.stdout, /^crw-rw-rw-\s+1 root\s+root\s+1,\s+3 .* \/dev\/mynull$/m);
  assert.match(res.stdout, /null=0/);
  assert.match(res.stdout, /read=0/);
  assert.match(res.stdout, /write=1/);
  assert.match(res.stdout, /other=1/);
  assert.match(res.stderr, /can't open '\/dev\/xloop': Operation not permitted/);
  // Without the mapping there is no such node.
  assert.match(await r.out('ls /dev/xloop 2>&1; true'), /No such file or directory/);
  // A missing host device: Docker gathers devices when it builds the spec, so the start fails
  // (refusing it at create would be as good); either way with Docker's text.
  const missing = /error gathering device information while adding custom device "\/dev\/nonexistent-dev": no such file or directory/;
  const c = await r.createRaw({ Cmd: ['true'], HostConfig: { Devices: [{ PathOnHost: '/dev/nonexistent-dev', PathInContainer: '/dev/x', CgroupPermissions: 'rwm' }] } });
  if (c.status !== 201) assertBadRequest(c, missing);
  else {
    const id = c.json().Id as string;
    try {
      const s = await r.api('POST', `/containers/${id}/start`);
      assert.ok(s.status >= 400, `start: ${s.status}`);
      assert.match(s.json().message, missing);
      assert.equal((await r.inspect(id)).State.Running, false);
    } finally {
      await r.remove(id);
    }
  }
});

test('Ulimits: below the hard limit they apply; above it is a clear 400, never raised', async () => {
  const own = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!.trim().split(/\s{2,}/);
  const hard = own[2] === 'unlimited' ? Infinity : Number(own[2]);
  const want = Math.min(2048, hard);
  const out = await r.out('ulimit -Sn; ulimit -Hn', { HostConfig: { Ulimits: [{ Name: 'nofile', Soft: Math.floor(want / 2), Hard: want }] } });
  assert.deepEqual(out.trim().split('\n'), [String(Math.floor(want / 2)), String(want)]);
  if (hard !== Infinity) {
    const res = await r.createRaw({ Cmd: ['true'], HostConfig: { Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: hard + 1 }] } });
    assertBadRequest(res, new RegExp(`ulimit nofile: hard limit ${hard + 1} is above the daemon's own hard limit ${hard}`));
    assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { Ulimits: [{ Name: 'nofile', Soft: -1, Hard: -1 }] } }), /ulimit nofile: hard limit unlimited is above/);
  }
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { Ulimits: [{ Name: 'nofile', Soft: 20, Hard: 10 }] } }), /soft limit must be less than or equal to hard limit/);
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] } }), /invalid ulimit type: bogus/);
});

test('Ulimits: unlimited where the daemon is unlimited (uint64 max reaches runc intact)', async (t) => {
  const core = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max core file size'))!.trim().split(/\s{2,}/);
  if (core[2] !== 'unlimited') { t.skip('core hard limit is not unlimited here'); return; }
  const out = await r.out('ulimit -c; ulimit -Hc', { HostConfig: { Ulimits: [{ Name: 'core', Soft: -1, Hard: -1 }] } });
  assert.deepEqual(out.trim().split('\n'), ['unlimited', 'unlimited']);
});

test('Sysctls: namespaced ones apply, others are refused at create', async () => {
  const out = await r.out('cat /proc/sys/net/core/somaxconn /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_unprivileged_port_start', {
    HostConfig: { NetworkMode: 'none', Sysctls: { 'net.core.somaxconn': '1234', 'kernel.shmmax': '65536000' } },
  });
  // Docker's default (unprivileged ports from 0) is there too, in the container's own netns.
  assert.deepEqual(out.trim().split('\n'), ['1234', '65536000', '0']);
  // That default lets an unprivileged user listen on port 80 (in a network namespace holding only lo).
  const low = await r.out('(nc -l -p 80 -w 1 &); sleep 0.3; netstat -ltn | grep -c ":80 "', { User: 'nobody', HostConfig: { NetworkMode: 'none' } });
  assert.equal(low.trim(), '1');
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { Sysctls: { 'kernel.panic': '1' } } }), /sysctl "kernel.panic" is not in a separate kernel namespace/);
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { Sysctls: { 'vm.swappiness': '1' } } }), /sysctl "vm.swappiness" is not in a separate kernel namespace/);
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { NetworkMode: 'host', Sysctls: { 'net.core.somaxconn': '1' } } }), /sysctl "net.core.somaxconn" not allowed in host network namespace/);
  assertBadRequest(await r.createRaw({ Cmd: ['true'], HostConfig: { IpcMode: 'host', Sysctls: { 'kernel.shmmax': '1' } } }), /sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace/);
});

test('GroupAdd adds supplementary groups (names from the image, numbers as given)', async () => {
  const out = await r.out('id; id -G', { User: 'nobody', HostConfig: { GroupAdd: ['staff', '1234'] } });
  const [idLine, gids] = out.trim().split('\n');
  assert.match(idLine, /^uid=65534\(nobody\) gid=65534\(nogroup\) groups=/);
  assert.deepEqual(gids.split(' ').map(Number).sort((a, b) => a - b), [50, 1234, 65534]);
  // An unknown group name fails the start, with Docker's text, and the record says why.
  const id = await r.create({ Cmd: ['true'], HostConfig: { GroupAdd: ['nosuchgroup'] } });
  try {
    const s = await r.api('POST', `/containers/${id}/start`);
    assert.ok(s.status >= 400, `start: ${s.status}`);
    assert.match(s.json().message, /unable to find group nosuchgroup: no matching entries in group file/);
    assert.match((await r.inspect(id)).State.Error, /unable to find group nosuchgroup/);
  } finally {
    await r.remove(id);
  }
});

test('masked paths read empty; /proc/sys and /sys are read-only', async () => {
  // Only paths this kernel has: masking a missing one is a no-op.
  const files = ['/proc/keys', '/proc/timer_list', '/proc/kcore', '/proc/sched_debug', '/proc/latency_stats', '/proc/timer_stats'].filter((p) => existsSync(p));
  const dirs = ['/proc/acpi', '/proc/scsi', '/sys/firmware', '/proc/asound'].filter((p) => existsSync(p) && statSync(p).isDirectory());
  assert.ok(files.includes('/proc/keys'), 'this host has /proc/keys');
  assert.ok(readFileSync('/proc/keys', 'utf8').length > 0, '/proc/keys is not empty on the host');
  const script = [
    ...files.map((f) => `echo "${f} $(cat ${f} | wc -c)"`),
    ...dirs.map((f) => `echo "${f} $(ls -A ${f} | wc -l)"`),
    'echo 1 > /proc/sys/kernel/panic; echo procsys=$?',
    'touch /sys/x; echo sys=$?',
    'echo x > /sys/fs/cgroup/memory/memory.limit_in_bytes; echo cgroup=$?',
    'grep -E " /sys | /proc/sys " /proc/mounts',
  ].join('\n');
  const res = await r.run(script);
  assert.equal(res.exitCode, 0, res.stderr);
  for (const p of [...files, ...dirs]) assert.match(res.stdout, new RegExp(`^${p} 0$`, 'm'), `${p} is masked: ${res.stdout}`);
  assert.match(res.stdout, /procsys=1/);
  assert.match(res.stdout, /sys=1/);
  assert.match(res.stdout, /cgroup=1/);
  assert.match(res.stdout, /^sysfs \/sys sysfs ro[, ]/m);
  assert.match(res.stdout, /^proc \/proc\/sys proc ro[, ]/m);
  assert.match(res.stderr, /Read-only file system/);
  // systempaths=unconfined lifts the masks (what `docker run --security-opt systempaths=unconfined` asks).
  const open = await r.out('cat /proc/keys | wc -c', { HostConfig: { SecurityOpt: ['systempaths=unconfined'] } });
  assert.notEqual(open.trim(), '0');
});
