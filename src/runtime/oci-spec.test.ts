import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEngineError } from '../common/errors.ts';
import type { ContainerConfig, HostConfig } from '../api/types/container.ts';
import { DEFAULT_CAPABILITIES, capsFromMask } from './capabilities.ts';
import { parseCgroupMounts, type CgroupHost } from './cgroups.ts';
import {
  RLIM_INFINITY, buildEnv, buildRlimits, buildSpec, buildSpecWith, composeArgs, hostFacts, mergeTmpfsOptions, parseDeviceCgroupRules,
  parseProcLimits, parseSecurityOpts, parseUintList, specDefaultsOf, specToJson,
  type HostFacts, type OciSpec, type SpecInput,
} from './oci-spec.ts';

const invalidWith = (msg: string | RegExp) => (e: unknown) =>
  isEngineError(e, 'InvalidParameter') && (typeof msg === 'string' ? (e as Error).message === msg : msg.test((e as Error).message));

const ALL_FEATURES = { memory: true, swap: true, swappiness: true, oomKillDisable: true, cpuShares: true, cpuCfs: true, cpuRealtime: true, cpuset: true, pids: true, blkioWeight: true };
const CGROUPS_V1: CgroupHost = { ...parseCgroupMounts(''), features: ALL_FEATURES, defaultCgroupns: 'host' };

/** Host facts as on these machines: no CAP_SYS_RESOURCE, nofile 20000, 2 CPUs, hybrid cgroups. */
const FACTS: HostFacts = {
  caps: { available: capsFromMask('000001fffeffffff') },
  cgroups: CGROUPS_V1,
  limits: parseProcLimits(`Limit                     Soft Limit           Hard Limit           Units
Max open files            20000                20000                files
Max core file size        0                    unlimited            bytes
Max processes             96365                96365                processes
`),
  oomScoreAdj: 0,
  ncpu: 2,
  cpuset: { cpus: '0-1', mems: '0' },
  sysctls: ['net.ipv4.ping_group_range', 'net.ipv4.ip_unprivileged_port_start'],
  thermalPaths: [],
  arch: 'amd64',
  kernel: '6.1.0',
};

let rootfs = '';
test.before(async () => {
  rootfs = await mkdtemp(join(tmpdir(), 'berth-spec-'));
  await mkdir(join(rootfs, 'etc'));
  await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
  await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\nstaff:x:50:\n');
});
test.after(async () => {
  await rm(rootfs, { recursive: true, force: true });
});

function input(config: ContainerConfig = {}, hostConfig: HostConfig = {}, more: Partial<SpecInput> = {}): SpecInput {
  const cfg = { Hostname: 'abcdef012345', Cmd: ['sh'], ...config };
  return {
    id: 'a'.repeat(64), rootfs, config: cfg, hostConfig, args: composeArgs(cfg),
    cgroupsPath: '/berth-test/' + 'a'.repeat(64), namespaces: {}, extraMounts: [], ...more,
  };
}
const spec = (config?: ContainerConfig, hostConfig?: HostConfig, more?: Partial<SpecInput>, facts = FACTS) => buildSpecWith(input(config, hostConfig, more), facts);
const mount = (s: OciSpec, dest: string) => s.mounts.find((m) => m.destination === dest);

test("composeArgs: Docker's Entrypoint + Cmd rule", () => {
  assert.deepEqual(composeArgs({ Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hi'] }), ['/bin/sh', '-c', 'echo hi']);
  assert.deepEqual(composeArgs({ Entrypoint: null, Cmd: ['ls', '-l'] }), ['ls', '-l']);
  assert.deepEqual(composeArgs({ Entrypoint: ['top'] }), ['top']);
  assert.deepEqual(composeArgs({ Entrypoint: [''], Cmd: ['ls'] }), ['ls']);
  assert.throws(() => composeArgs({}), invalidWith('No command specified'));
  assert.throws(() => composeArgs({ Entrypoint: [], Cmd: [] }), invalidWith('No command specified'));
});

test("environment: Docker's defaults, replaced or removed by Config.Env", () => {
  assert.deepEqual(buildEnv({ Hostname: 'h' }), ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=h']);
  assert.deepEqual(buildEnv({ Hostname: 'h', Tty: true, Env: ['PATH=/x', 'A=1', 'HOSTNAME', 'B', 'A=2'] }), ['PATH=/x', 'TERM=xterm', 'A=2']);
});

test('the default spec', async () => {
  const s = await spec();
  assert.equal(s.ociVersion, '1.0.2');
  assert.deepEqual(s.root, { path: rootfs, readonly: false });
  assert.equal(s.hostname, 'abcdef012345');
  assert.equal(s.process.cwd, '/');
  assert.equal(s.process.terminal, false);
  assert.deepEqual(s.process.user, { uid: 0, gid: 0, additionalGids: [0] });
  assert.deepEqual(s.process.capabilities!.bounding, [...DEFAULT_CAPABILITIES]);
  assert.deepEqual(s.process.capabilities!.effective, [...DEFAULT_CAPABILITIES]);
  assert.equal(s.process.capabilities!.inheritable, undefined);
  assert.equal(s.process.noNewPrivileges, undefined);
  assert.equal(s.process.oomScoreAdj, 0);
  assert.equal(s.process.rlimits, undefined);
  assert.equal(s.process.apparmorProfile, undefined);
  assert.deepEqual(s.mounts.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
  assert.deepEqual(mount(s, '/dev/shm')!.options, ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864']);
  assert.deepEqual(mount(s, '/sys')!.options, ['nosuid', 'noexec', 'nodev', 'ro']);
  assert.deepEqual(mount(s, '/dev/pts')!.options, ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']);
  assert.deepEqual(s.linux.namespaces, [{ type: 'mount' }, { type: 'network' }, { type: 'uts' }, { type: 'pid' }, { type: 'ipc' }]);
  assert.equal(s.linux.cgroupsPath, '/berth-test/' + 'a'.repeat(64));
  assert.ok(s.linux.maskedPaths!.includes('/proc/kcore') && s.linux.maskedPaths!.includes('/sys/firmware'));
  assert.deepEqual(s.linux.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  assert.deepEqual(s.linux.sysctl, { 'net.ipv4.ping_group_range': '0 2147483647', 'net.ipv4.ip_unprivileged_port_start': '0' });
  assert.deepEqual(s.linux.devices, []);
  const rules = s.linux.resources.devices!;
  assert.deepEqual(rules[0], { allow: false, access: 'rwm' });
  assert.ok(rules.some((r) => r.allow && r.type === 'c' && r.major === 1 && r.minor === 3));
  assert.ok(rules.some((r) => !r.allow && r.major === 10 && r.minor === 229));
  assert.equal(s.linux.resources.memory, undefined);
  assert.equal(s.linux.resources.pids, undefined);
  assert.equal(s.linux.seccomp!.defaultAction, 'SCMP_ACT_ERRNO');
  assert.ok(!s.linux.seccomp!.syscalls!.some((r) => r.names.includes('mount') && r.action === 'SCMP_ACT_ALLOW'));
});

test('process: user, workdir, tty, no-new-privileges, oom score, console size', async () => {
  const s = await spec(
    { User: 'nobody', WorkingDir: '/srv/app/', Tty: true, Env: ['A=b'] },
    { SecurityOpt: ['no-new-privileges'], OomScoreAdj: 500, GroupAdd: ['staff'], ConsoleSize: [40, 120] },
  );
  assert.deepEqual(s.process.user, { uid: 65534, gid: 65534, additionalGids: [65534, 50] });
  assert.equal(s.process.cwd, '/srv/app');
  assert.equal(s.process.terminal, true);
  assert.ok(s.process.env.includes('TERM=xterm') && s.process.env.includes('A=b'));
  assert.equal(s.process.noNewPrivileges, true);
  assert.equal(s.process.oomScoreAdj, 500);
  assert.deepEqual(s.process.consoleSize, { height: 40, width: 120 });
  assert.equal((await spec({}, { SecurityOpt: ['no-new-privileges:true'] })).process.noNewPrivileges, true);
  assert.equal((await spec({}, { SecurityOpt: ['no-new-privileges=false'] })).process.noNewPrivileges, undefined);
  await assert.rejects(spec({ User: 'ghost' }), invalidWith('unable to find user ghost: no matching entries in passwd file'));
});

test('init: tini bound read-only at /sbin/docker-init, only with a private PID namespace', async () => {
  const s = await spec({ Cmd: ['sleep', '1'] }, { Init: true }, { initPath: '/usr/bin/tini-static' });
  assert.deepEqual(s.process.args, ['/sbin/docker-init', '--', 'sleep', '1']);
  assert.deepEqual(mount(s, '/sbin/docker-init'), { destination: '/sbin/docker-init', type: 'bind', source: '/usr/bin/tini-static', options: ['bind', 'ro'] });
  const h = await spec({ Cmd: ['sleep', '1'] }, { Init: true }, { initPath: '/usr/bin/tini-static', namespaces: { pid: 'host' } });
  assert.deepEqual(h.process.args, ['sleep', '1']);
  assert.equal(mount(h, '/sbin/docker-init'), undefined);
});

test('capabilities and privileged', async () => {
  const s = await spec({}, { CapAdd: ['SYS_ADMIN'], CapDrop: ['CAP_NET_RAW'] });
  assert.ok(s.process.capabilities!.bounding.includes('CAP_SYS_ADMIN'));
  assert.ok(!s.process.capabilities!.bounding.includes('CAP_NET_RAW'));
  // the seccomp profile follows: mount is allowed with CAP_SYS_ADMIN
  assert.ok(s.linux.seccomp!.syscalls!.some((r) => r.names.includes('mount') && r.action === 'SCMP_ACT_ALLOW'));
  await assert.rejects(spec({}, { CapAdd: ['SYS_RESOURCE'] }), invalidWith(/not available in the current environment: "CAP_SYS_RESOURCE"/));

  const p = await spec({}, { Privileged: true, CapDrop: ['ALL'] });
  assert.equal(p.process.capabilities!.bounding.length, 40);
  assert.equal(p.linux.seccomp, undefined);
  assert.equal(p.linux.maskedPaths, undefined);
  assert.equal(p.linux.readonlyPaths, undefined);
  assert.deepEqual(mount(p, '/sys')!.options, ['nosuid', 'noexec', 'nodev']);
  assert.deepEqual(mount(p, '/sys/fs/cgroup')!.options, ['nosuid', 'noexec', 'nodev']);
  assert.deepEqual(p.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
  assert.ok(p.linux.devices.some((d) => d.path === '/dev/null' && d.type === 'c' && d.major === 1 && d.minor === 3));
  assert.ok(!p.linux.devices.some((d) => d.path === '/dev/console' || d.path.startsWith('/dev/pts/')));
  // an explicit profile still applies to a privileged container (Docker's rule)
  const ps = await spec({}, { Privileged: true, SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}'] });
  assert.deepEqual(ps.linux.seccomp, { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  assert.equal((await spec({}, { SecurityOpt: ['seccomp=unconfined'] })).linux.seccomp, undefined);
  // explicit masked/read-only paths replace the defaults
  const mp = await spec({}, { MaskedPaths: ['/proc/x'], ReadonlyPaths: [] });
  assert.deepEqual(mp.linux.maskedPaths, ['/proc/x']);
  assert.equal(mp.linux.readonlyPaths, undefined);
  assert.equal((await spec({}, { SecurityOpt: ['systempaths=unconfined'] })).linux.maskedPaths, undefined);
});

test('security options: dockerd texts', () => {
  assert.deepEqual(parseSecurityOpts(['label=disable', 'apparmor=unconfined', 'seccomp=unconfined']), { noNewPrivileges: false, seccomp: 'unconfined', unmaskSystemPaths: false, apparmor: 'unconfined' });
  assert.throws(() => parseSecurityOpts(['bogus']), invalidWith('invalid --security-opt 1: "bogus"'));
  assert.throws(() => parseSecurityOpts(['foo=bar']), invalidWith('invalid --security-opt 2: "foo=bar"'));
  assert.throws(() => parseSecurityOpts(['no-new-privileges=maybe']), invalidWith('invalid --security-opt 2: "no-new-privileges=maybe"'));
});

test('AppArmor: a profile is applied where AppArmor is on (create refuses it where it is off: host-config.test.ts)', async () => {
  assert.equal((await spec({}, { SecurityOpt: ['apparmor=unconfined'] })).process.apparmorProfile, undefined);
  assert.equal((await spec({})).process.apparmorProfile, undefined);
  const on = { ...FACTS, apparmor: true };
  assert.equal((await spec({}, { SecurityOpt: ['apparmor=my-profile'] }, {}, on)).process.apparmorProfile, 'my-profile');
  assert.equal((await spec({}, { SecurityOpt: ['apparmor=unconfined'] }, {}, on)).process.apparmorProfile, 'unconfined');
});

test('mounts: user mounts override defaults, tmpfs, shm size, ipc modes, read-only rootfs', async () => {
  const s = await spec({}, { ShmSize: 1 << 20, Tmpfs: { '/run': '', '/tmp': 'size=64m,mode=1777,exec' }, ReadonlyRootfs: true }, {
    extraMounts: [
      { destination: '/data/sub', type: 'bind', source: '/srv/b', options: ['rbind'] },
      { destination: '/data', type: 'bind', source: '/srv/a', options: ['rbind'] },
      { destination: '/etc/hosts', type: 'bind', source: '/x/hosts', options: ['rbind', 'rprivate'] },
    ],
  });
  assert.deepEqual(s.root, { path: rootfs, readonly: true });
  assert.equal(mount(s, '/dev/shm')!.options!.at(-1), 'size=1048576');
  assert.deepEqual(mount(s, '/run'), { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'rprivate'] });
  assert.deepEqual(mount(s, '/tmp')!.options, ['nosuid', 'nodev', 'rprivate', 'size=64m', 'mode=1777', 'exec']);
  // parents before children, user mounts after the defaults and untouched by read-only
  const dests = s.mounts.map((m) => m.destination);
  assert.ok(dests.indexOf('/data') < dests.indexOf('/data/sub'));
  assert.ok(dests.indexOf('/dev/shm') < dests.indexOf('/data'));
  assert.deepEqual(mount(s, '/etc/hosts')!.options, ['rbind', 'rprivate']);
  assert.deepEqual(mount(s, '/proc')!.options, ['nosuid', 'noexec', 'nodev']);

  const shm = await spec({}, {}, { extraMounts: [{ destination: '/dev/shm/', type: 'bind', source: '/host/shm', options: ['rbind'] }] });
  assert.equal(shm.mounts.filter((m) => m.destination.startsWith('/dev/shm')).length, 1);
  const dev = await spec({}, {}, { extraMounts: [{ destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] }] });
  assert.deepEqual(dev.mounts.map((m) => m.destination), ['/proc', '/sys', '/sys/fs/cgroup', '/dev']);
  assert.equal(mount(await spec({}, { IpcMode: 'none' }), '/dev/shm'), undefined);
  assert.deepEqual(mount(await spec({}, { IpcMode: 'host' }, { namespaces: { ipc: 'host' } }), '/dev/shm'), { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
});

test('tmpfs options', () => {
  assert.deepEqual(mergeTmpfsOptions(['noexec', 'nosuid', 'rprivate', 'exec', 'size=1m', 'size=2m', 'shared', 'defaults']), ['nosuid', 'exec', 'size=2m', 'shared']);
  assert.throws(() => mergeTmpfsOptions(['bogus']), invalidWith('invalid tmpfs option ["bogus"]'));
  assert.throws(() => mergeTmpfsOptions(['foo=bar']), invalidWith('invalid tmpfs option ["foo" "bar"]'));
});

test('namespaces: private, shared with the host, joined', async () => {
  const s = await spec({}, { CgroupnsMode: 'private' }, { namespaces: { network: '/proc/42/ns/net', pid: 'host', ipc: '', uts: 'host' } });
  assert.deepEqual(s.linux.namespaces, [{ type: 'mount' }, { type: 'network', path: '/proc/42/ns/net' }, { type: 'ipc' }, { type: 'cgroup' }]);
  assert.equal(s.hostname, undefined); // runc refuses a hostname without a UTS namespace
  // A joined UTS namespace keeps its owner's names: runc would otherwise rename that container.
  const joined = await spec({ Hostname: 'mine', Domainname: 'example.org' }, {}, { namespaces: { uts: '/proc/42/ns/uts' } });
  assert.deepEqual(joined.linux.namespaces.find((n) => n.type === 'uts'), { type: 'uts', path: '/proc/42/ns/uts' });
  assert.equal(joined.hostname, undefined);
  assert.equal(joined.domainname, undefined);
  assert.equal(joined.linux.sysctl?.['kernel.domainname'], undefined);
  // Docker's default network sysctls only go with a network namespace of the container's own
  assert.equal(s.linux.sysctl, undefined);
  const v2 = await spec({}, {}, {}, { ...FACTS, cgroups: { ...CGROUPS_V1, version: 'v2', defaultCgroupns: 'private' } });
  assert.ok(v2.linux.namespaces.some((n) => n.type === 'cgroup'));
  assert.ok(!(await spec({}, { CgroupnsMode: 'host' }, {}, { ...FACTS, cgroups: { ...CGROUPS_V1, defaultCgroupns: 'private' } })).linux.namespaces.some((n) => n.type === 'cgroup'));
});

test('sysctls: namespaced ones only, in a namespace of their own', async () => {
  const s = await spec({ Domainname: 'example.org' }, { Sysctls: { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1000', 'net.ipv4.ping_group_range': '1 1' } });
  assert.deepEqual(s.linux.sysctl, {
    'net.ipv4.ping_group_range': '1 1',
    'net.ipv4.ip_unprivileged_port_start': '0',
    'kernel.domainname': 'example.org',
    'net.ipv4.ip_forward': '1',
    'kernel.shmmax': '1000',
  });
  assert.equal(s.domainname, 'example.org');
});

test('resources: memory, swap, cpu, cpuset, pids, blkio', async () => {
  const s = await spec({}, { Memory: 64 << 20, MemoryReservation: 32 << 20, NanoCpus: 1.5e9, CpuShares: 512, CpusetCpus: '1', CpusetMems: '0', PidsLimit: 20, BlkioWeight: 300, MemorySwappiness: 10, OomKillDisable: true });
  assert.deepEqual(s.linux.resources.memory, { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20, swappiness: 10, disableOOMKiller: true });
  assert.deepEqual(s.linux.resources.cpu, { shares: 512, cpus: '1', mems: '0', period: 100000, quota: 150000 });
  assert.deepEqual(s.linux.resources.pids, { limit: 20 });
  assert.deepEqual(s.linux.resources.blockIO, { weight: 300 });
  assert.deepEqual((await spec({}, { Memory: 64 << 20, MemorySwap: -1 })).linux.resources.memory, { limit: 64 << 20 });
  assert.deepEqual((await spec({}, { Memory: 64 << 20, MemorySwap: 96 << 20 })).linux.resources.memory, { limit: 64 << 20, swap: 96 << 20 });
  assert.deepEqual((await spec({}, { PidsLimit: 0 })).linux.resources.pids, { limit: -1 });
  assert.deepEqual((await spec({}, { PidsLimit: -1 })).linux.resources.pids, { limit: -1 });
  assert.deepEqual((await spec({}, { CpuPeriod: 50000, CpuQuota: 25000 })).linux.resources.cpu, { period: 50000, quota: 25000 });
  // what the host cannot enforce stays out (no swap accounting, no BFQ weight file, ...)
  const poor = { ...FACTS, cgroups: { ...CGROUPS_V1, features: { ...ALL_FEATURES, swap: false, blkioWeight: false, pids: false } } };
  const p = await spec({}, { Memory: 64 << 20, BlkioWeight: 300, PidsLimit: 5 }, {}, poor);
  assert.deepEqual(p.linux.resources.memory, { limit: 64 << 20 });
  assert.equal(p.linux.resources.blockIO, undefined);
  assert.equal(p.linux.resources.pids, undefined);
});

test('cpuset lists', () => {
  assert.deepEqual([...parseUintList('0-2,5')], [0, 1, 2, 5]);
});

test('ulimits: rlimits, -1 as unlimited (the checks are host-config.test.ts)', () => {
  assert.deepEqual(buildRlimits([{ Name: 'nofile', Soft: 1024, Hard: 2048 }, { Name: 'core', Soft: -1, Hard: -1 }]), [
    { type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 },
    { type: 'RLIMIT_CORE', soft: RLIM_INFINITY, hard: RLIM_INFINITY },
  ]);
  assert.deepEqual(parseProcLimits('Limit Soft Hard Units\nMax open files            1024                 4096                 files     \n'), { nofile: { soft: 1024, hard: 4096 } });
});

test('config.json: an unlimited rlimit is written as uint64 max', async () => {
  const s = await spec({}, { Ulimits: [{ Name: 'core', Soft: 0, Hard: -1 }] });
  const text = specToJson(s);
  assert.match(text, /"rlimits":\[\{"type":"RLIMIT_CORE","soft":0,"hard":18446744073709551615\}\]/);
  assert.deepEqual(JSON.parse(specToJson(await spec())), JSON.parse(JSON.stringify(await spec())));
});

test('devices: host nodes mapped with their numbers and permissions', async () => {
  const s = await spec({}, {
    Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rw' }],
    DeviceCgroupRules: ['c 13:* rwm', 'b 8:0 r'],
  });
  assert.deepEqual(s.linux.devices.map(({ path, type, major, minor }) => ({ path, type, major, minor })), [{ path: '/dev/mynull', type: 'c', major: 1, minor: 3 }]);
  const rules = s.linux.resources.devices!.slice(-3);
  assert.deepEqual(rules, [
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
    { allow: true, type: 'c', major: 13, minor: -1, access: 'rwm' },
    { allow: true, type: 'b', major: 8, minor: 0, access: 'r' },
  ]);
  await assert.rejects(spec({}, { Devices: [{ PathOnHost: '/dev/nonexistent', PathInContainer: '/dev/x', CgroupPermissions: 'rwm' }] }),
    invalidWith('error gathering device information while adding custom device "/dev/nonexistent": no such file or directory'));
  await assert.rejects(spec({}, { Devices: [{ PathOnHost: '/etc/hostname', PathInContainer: '/dev/x', CgroupPermissions: 'rwm' }] }), invalidWith(/not a device node$/));
  await assert.rejects(spec({}, { Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/x', CgroupPermissions: 'rwx' }] }), invalidWith('bad mode specified: rwx'));
  assert.throws(() => parseDeviceCgroupRules(['c 1:3']), invalidWith("invalid device cgroup rule format: 'c 1:3'"));
});

test('host facts of this machine, and buildSpec over them', async () => {
  const f = await hostFacts();
  assert.ok(f.ncpu >= 1);
  assert.ok(f.limits.nofile && f.limits.nofile.hard > 0);
  const s = await buildSpec(input());
  assert.ok(s.linux.seccomp);
  assert.deepEqual(s.process.capabilities!.bounding, [...DEFAULT_CAPABILITIES].filter((c) => !f.caps.available || f.caps.available.includes(c)));
});

test('userns-remap: a joined user namespace with the map; a user namespace runc makes beside a given network namespace binds /sys', async () => {
  const { IdMap, rangesToMap } = await import('../common/idmap.ts');
  const map = new IdMap(rangesToMap([{ start: 100000, count: 65536 }]), rangesToMap([{ start: 200000, count: 65536 }]));
  const joined = await spec({}, {}, { idMap: map, namespaces: { network: '/run/netns/x', user: '/run/berth/userns/abc' } });
  assert.deepEqual(joined.linux.namespaces.find((n) => n.type === 'user'), { type: 'user', path: '/run/berth/userns/abc' });
  assert.deepEqual(joined.linux.uidMappings, [{ containerID: 0, hostID: 100000, size: 65536 }]);
  assert.deepEqual(joined.linux.gidMappings, [{ containerID: 0, hostID: 200000, size: 65536 }]);
  assert.equal(joined.mounts.find((m) => m.destination === '/sys')?.type, 'sysfs');
  // A build step: runc makes the user namespace, the network namespace was made before it.
  const made = await spec({}, {}, { idMap: map, namespaces: { network: '/run/netns/x' } });
  assert.deepEqual(made.linux.namespaces.find((n) => n.type === 'user'), { type: 'user' });
  assert.deepEqual(made.mounts.find((m) => m.destination === '/sys'), { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
  assert.equal(made.mounts.find((m) => m.type === 'cgroup')?.options?.includes('ro'), false);
  // Without a map: no user namespace at all.
  const plain = await spec();
  assert.equal(plain.linux.namespaces.some((n) => n.type === 'user'), false);
  assert.equal(plain.linux.uidMappings, undefined);
});

test('specDefaultsOf: what inspect shows for unset fields is what the spec applies', async () => {
  const facts = { ...FACTS, thermalPaths: ['/sys/devices/system/cpu/cpu0/thermal_throttle'] };
  const d = specDefaultsOf(facts);
  assert.equal(d.shmSize, 64 * 1024 * 1024);
  assert.equal(d.ipcMode, 'private');
  assert.equal(d.cgroupnsMode, 'host');
  assert.equal(specDefaultsOf({ ...facts, cgroups: { ...CGROUPS_V1, defaultCgroupns: 'private' } }).cgroupnsMode, 'private');
  const s = await spec({}, {}, {}, facts);
  assert.deepEqual(s.linux.maskedPaths, d.maskedPaths);
  assert.deepEqual(s.linux.readonlyPaths, d.readonlyPaths);
  assert.equal(d.maskedPaths.at(-1), '/sys/devices/system/cpu/cpu0/thermal_throttle');
  assert.equal(mount(s, '/dev/shm')?.options?.includes(`size=${d.shmSize}`), true);
});
