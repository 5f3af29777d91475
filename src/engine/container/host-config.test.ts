import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from '../../common/errors.ts';
import type { ContainerConfig, HostConfig } from '../../api/types/container.ts';
import { capsFromMask } from '../../runtime/capabilities.ts';
import { parseProcLimits } from '../../runtime/oci-spec.ts';
import {
  parseBind, parseMount, parseMountRequests, validateHostConfig, validateResources, validateRestartPolicy, validateRunConfig, validateSysctls,
  validateTmpfs, validateUlimits, type HostConfigFacts,
} from './host-config.ts';

const invalidWith = (msg: string | RegExp) => (e: unknown) =>
  isEngineError(e, 'InvalidParameter') && (typeof msg === 'string' ? (e as Error).message === msg : msg.test((e as Error).message));
const notFoundWith = (msg: string) => (e: unknown) => isEngineError(e, 'NotFound') && (e as Error).message === msg;

/** The daemon as on these machines: no CAP_SYS_RESOURCE, nofile 20000, 2 CPUs, no AppArmor. */
const FACTS: HostConfigFacts = {
  userNetworks: true,
  usernsRemap: false,
  caps: { available: capsFromMask('000001fffeffffff') },
  limits: parseProcLimits(`Limit                     Soft Limit           Hard Limit           Units
Max open files            20000                20000                files
Max core file size        0                    unlimited            bytes
`),
  oomScoreAdj: 0,
  ncpu: 2,
  cpuset: { cpus: '0-1', mems: '0' },
};

const check = (hostConfig: HostConfig, config: ContainerConfig = {}, facts: Partial<HostConfigFacts> = {}, endpoints?: string[]) =>
  () => validateHostConfig({ config, hostConfig, endpoints }, { ...FACTS, ...facts });

test('a valid HostConfig: recorded as Docker shows it, with its log settings and mount requests', () => {
  const v = validateHostConfig({
    config: { Hostname: 'web' },
    hostConfig: { PortBindings: { '80/tcp': [{ HostPort: '8080' }], '81/tcp': null }, Binds: ['/srv:/data:ro'], LogConfig: { Type: 'local', Config: {} } },
  }, FACTS);
  assert.deepEqual(v.hostConfig.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '81/tcp': null });
  assert.deepEqual(v.hostConfig.LogConfig, { Type: 'local', Config: {} });
  assert.equal(v.log.driver, 'local');
  assert.deepEqual(validateHostConfig({ config: {}, hostConfig: {} }, FACTS).hostConfig.LogConfig, { Type: 'json-file', Config: {} });
  assert.deepEqual(v.mounts, {
    volumesFrom: [],
    mounts: [{ Type: 'bind', Source: '/srv', Destination: '/data', Mode: 'ro', RW: false, Propagation: 'rprivate', ifMissing: 'create', createSource: true }],
  });
  assert.throws(check({ PortBindings: { '80/tcp': {} as never } }), invalidWith('json: cannot unmarshal into Go struct field HostConfig.PortBindings of type []nat.PortBinding'));
});

test('restart policy: at create and at update', () => {
  assert.throws(check({ RestartPolicy: { Name: 'sometimes' as 'no' } }), invalidWith("invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"));
  assert.throws(check({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } }), invalidWith('invalid restart policy: maximum retry count must be a positive integer'));
  assert.throws(check({ RestartPolicy: { Name: 'always', MaximumRetryCount: 3 } }), invalidWith("invalid restart policy: maximum retry count can only be used with 'on-failure'"));
  assert.throws(check({ AutoRemove: true, RestartPolicy: { Name: 'always' } }), invalidWith("can't create 'AutoRemove' container with restart policy"));
  check({ AutoRemove: true, RestartPolicy: { Name: 'no' } })();
  validateRestartPolicy({ Name: 'on-failure', MaximumRetryCount: 3 }, false);
  assert.throws(() => validateRestartPolicy({ Name: 'bogus' as 'no' }, false), invalidWith(/^invalid restart policy: unknown policy 'bogus'/));
});

test('user namespace modes, with and without userns-remap', () => {
  assert.throws(check({ UsernsMode: 'private' }), invalidWith(/^invalid userns mode "private": this daemon has no user namespace remapping/));
  assert.throws(check({ UsernsMode: 'private' }, {}, { usernsRemap: true }), invalidWith(/^invalid userns mode "private": use "host" to opt out/));
  assert.throws(check({ Privileged: true }, {}, { usernsRemap: true }), invalidWith(/^privileged mode is incompatible with user namespaces\. {2}You must run/));
  assert.throws(check({ PidMode: 'host' }, {}, { usernsRemap: true }), invalidWith(/^Cannot share the host's PID namespace when user namespaces are enabled/));
  check({ UsernsMode: 'host', Privileged: true, NetworkMode: 'host' }, {}, { usernsRemap: true })();
});

test('log config: the driver, then its options (log-rotation.test.ts has every option rule)', () => {
  assert.throws(check({ LogConfig: { Type: 'syslogx', Config: { mode: 'fast' } } }), invalidWith("logger: no log driver named 'syslogx' is registered"));
  assert.throws(check({ LogConfig: { Type: 'json-file', Config: { foo: 'x' } } }), invalidWith("unknown log opt 'foo' for json-file log driver"));
  assert.equal(validateHostConfig({ config: {}, hostConfig: { LogConfig: { Type: 'none', Config: { anything: '1' } } } }, FACTS).log.driver, 'none');
});

test('network mode: built-in modes without a network service; host, none and container: take no other network', () => {
  assert.throws(check({ NetworkMode: 'mynet' }, {}, { userNetworks: false }), notFoundWith('network mynet not found'));
  check({ NetworkMode: 'container:abc' }, {}, { userNetworks: false })();
  check({ NetworkMode: 'mynet' })(); // whether it exists is the network service's question
  assert.throws(check({ NetworkMode: 'host' }, {}, {}, ['host', 'mynet']), invalidWith('Container cannot be connected to network endpoints: host, mynet'));
  assert.throws(check({ NetworkMode: 'container:abc' }, {}, {}, ['mynet']), invalidWith("conflicting options: container type network can't be used with other networks"));
  check({ NetworkMode: 'none' }, {}, {}, ['none'])();
  assert.throws(check({ UTSMode: 'host' }, { Hostname: 'mine' }), invalidWith('conflicting options: hostname and the UTS mode'));
});

test('config the spec is built from: hostname, working directory, cgroup namespace, OOM score, capabilities, device rules', () => {
  const run = (hc: HostConfig, c: ContainerConfig = {}, f: Partial<HostConfigFacts> = {}) => () => validateRunConfig(c, hc, { ...FACTS, ...f });
  assert.throws(run({}, { WorkingDir: 'rel' }), invalidWith("the working directory 'rel' is invalid, it needs to be an absolute path"));
  assert.throws(run({}, { Hostname: 'x'.repeat(65) }), invalidWith(/is too long \(maximum 64 bytes\)$/));
  assert.throws(run({ CgroupnsMode: 'weird' as 'host' }), invalidWith('invalid cgroup namespace mode: weird'));
  // below the daemon's own score needs CAP_SYS_RESOURCE, which these machines lack
  assert.throws(run({ OomScoreAdj: -10 }), invalidWith(/needs CAP_SYS_RESOURCE/));
  assert.throws(run({ OomScoreAdj: 1001 }), invalidWith('Invalid value 1001, range for oom score adj is [-1000, 1000]'));
  assert.throws(run({ CapAdd: ['nope'] }), invalidWith('unknown capability: "CAP_NOPE"'));
  assert.throws(run({ CapAdd: ['SYS_RESOURCE'] }), invalidWith(/not available in the current environment: "CAP_SYS_RESOURCE"/));
  assert.throws(run({ DeviceCgroupRules: ['c 1:3'] }), invalidWith("invalid device cgroup rule format: 'c 1:3'"));
  assert.throws(run({ SecurityOpt: ['bogus'] }), invalidWith('invalid --security-opt 1: "bogus"'));
  assert.throws(run({ NetworkMode: 'host', Sysctls: { 'net.ipv4.ip_forward': '1' } }), invalidWith(/not allowed in host network namespace/));
  assert.throws(run({ Memory: 1 }), invalidWith('Minimum memory limit allowed is 6MB'));
  assert.throws(run({ Tmpfs: { '/': '' } }), invalidWith("invalid specification: destination can't be '/'"));
  assert.throws(run({ Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] }), invalidWith('invalid ulimit type: bogus'));
  run({ Memory: 64 << 20, CapAdd: ['SYS_ADMIN'], Sysctls: { 'net.ipv4.ip_forward': '1' }, OomScoreAdj: 500 }, { WorkingDir: '/srv', Hostname: 'web' })();
  // the whole create goes through the same checks
  assert.throws(check({ Memory: 1 }), invalidWith('Minimum memory limit allowed is 6MB'));
});

test('AppArmor: a profile is refused where AppArmor is off (not ignored)', () => {
  assert.throws(check({ SecurityOpt: ['apparmor=my-profile'] }),
    invalidWith('invalid --security-opt: "apparmor=my-profile": AppArmor is not enabled on this host, so the profile cannot be applied (only apparmor=unconfined is accepted)'));
  assert.throws(check({ SecurityOpt: ['apparmor:docker-default'] }), invalidWith(/"apparmor=docker-default": AppArmor is not enabled/));
  check({ SecurityOpt: ['apparmor=unconfined'] })();
  check({ SecurityOpt: ['apparmor=my-profile'] }, {}, { apparmor: true })();
});

test('sysctls: namespaced ones only, in a namespace of their own', () => {
  const priv = { network: 'private', ipc: 'private', uts: 'private' } as const;
  assert.throws(() => validateSysctls({ 'kernel.pid_max': '1' }, priv), invalidWith('sysctl "kernel.pid_max" is not in a separate kernel namespace'));
  assert.throws(() => validateSysctls({ 'net.core.somaxconn': '1' }, { ...priv, network: 'host' }), invalidWith('sysctl "net.core.somaxconn" not allowed in host network namespace'));
  assert.throws(() => validateSysctls({ 'fs.mqueue.msg_max': '1' }, { ...priv, ipc: 'host' }), invalidWith('sysctl "fs.mqueue.msg_max" is not allowed in the hosts ipc namespace'));
  assert.throws(() => validateSysctls({ 'kernel.hostname': 'x' }, priv), invalidWith(/conflicts with the OCI "hostname" field/));
  assert.throws(() => validateSysctls({ 'kernel.domainname': 'x' }, { ...priv, uts: 'host' }), invalidWith(/not in a separate kernel namespace/));
  validateSysctls({ 'net/ipv4/ip_forward': '1', 'net.core.somaxconn': '1', 'kernel.domainname': 'x' }, { ...priv, network: 'joined' });
  assert.throws(check({ IpcMode: 'host', Sysctls: { 'kernel.shmmax': '1' } }), invalidWith('sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace'));
});

test("resource validation: Docker's texts (create and update)", () => {
  const v = (hc: HostConfig) => () => validateResources(hc, FACTS);
  assert.throws(v({ Memory: 1000 }), invalidWith('Minimum memory limit allowed is 6MB'));
  assert.throws(v({ Memory: 64 << 20, MemorySwap: 32 << 20 }), invalidWith('Minimum memoryswap limit should be larger than memory limit, see usage'));
  assert.throws(v({ MemorySwap: 64 << 20 }), invalidWith('You should always set the Memory limit when using Memoryswap limit, see usage'));
  assert.throws(v({ MemoryReservation: 1 }), invalidWith('Minimum memory reservation allowed is 6MB'));
  assert.throws(v({ Memory: 8 << 20, MemoryReservation: 16 << 20 }), invalidWith('Minimum memory limit can not be less than memory reservation limit, see usage'));
  assert.throws(v({ MemorySwappiness: 101 }), invalidWith('Invalid value: 101, valid memory swappiness range is 0-100'));
  assert.throws(v({ NanoCpus: 1e9, CpuPeriod: 100000 }), invalidWith('Conflicting options: Nano CPUs and CPU Period cannot both be set'));
  assert.throws(v({ NanoCpus: 1e9, CpuQuota: 100000 }), invalidWith('Conflicting options: Nano CPUs and CPU Quota cannot both be set'));
  assert.throws(v({ NanoCpus: 3e9 }), invalidWith('range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available'));
  assert.throws(v({ CpuShares: -1 }), invalidWith('invalid CPU shares (-1): value must be a positive integer'));
  assert.throws(v({ CpuPeriod: 10 }), invalidWith('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)'));
  assert.throws(v({ CpuQuota: 10 }), invalidWith('CPU cfs quota can not be less than 1ms (i.e. 1000)'));
  assert.throws(v({ CpuRealtimePeriod: 1000, CpuRealtimeRuntime: 2000 }), invalidWith('cpu real-time runtime cannot be higher than cpu real-time period'));
  assert.throws(v({ CpusetCpus: '3' }), invalidWith('Requested CPUs are not available - requested 3, available: 0-1'));
  assert.throws(v({ CpusetCpus: '1-0' }), invalidWith('Invalid value 1-0 for cpuset cpus: invalid format: 1-0'));
  assert.throws(v({ CpusetMems: '1' }), invalidWith('Requested memory nodes are not available - requested 1, available: 0'));
  assert.throws(v({ BlkioWeight: 5 }), invalidWith('Range of blkio weight is from 10 to 1000'));
  assert.throws(v({ ShmSize: -1 }), invalidWith('SHM size can not be less than 0'));
  v({ Memory: 6 << 20, MemorySwap: -1, MemorySwappiness: -1, CpusetCpus: '0,1', NanoCpus: 1e7 })();
});

test('ulimits: known names, soft under hard, never above the daemon hard limit', () => {
  validateUlimits([{ Name: 'nofile', Soft: 1024, Hard: 2048 }, { Name: 'core', Soft: -1, Hard: -1 }], FACTS.limits);
  assert.throws(() => validateUlimits([{ Name: 'nofile', Soft: 1024, Hard: 40000 }], FACTS.limits), invalidWith(/^ulimit nofile: hard limit 40000 is above the daemon's own hard limit 20000/));
  assert.throws(() => validateUlimits([{ Name: 'nofile', Soft: -1, Hard: -1 }], FACTS.limits), invalidWith(/hard limit unlimited is above/));
  assert.throws(() => validateUlimits([{ Name: 'nofile', Soft: 10, Hard: 5 }], FACTS.limits), invalidWith('ulimit soft limit must be less than or equal to hard limit: 10 > 5'));
  assert.throws(() => validateUlimits([{ Name: 'bogus', Soft: 1, Hard: 1 }], FACTS.limits), invalidWith('invalid ulimit type: bogus'));
});

test('tmpfs destinations and options', () => {
  validateTmpfs({ '/run': '', '/tmp': 'size=64m,mode=1777,exec' });
  assert.throws(() => validateTmpfs({ '/': '' }), invalidWith("invalid specification: destination can't be '/'"));
  assert.throws(() => validateTmpfs({ 'run': '' }), invalidWith("invalid mount path: 'run' mount path must be absolute"));
  assert.throws(() => validateTmpfs({ '/run': 'bogus' }), invalidWith('invalid tmpfs option ["bogus"]'));
});

test('-v specs: binds, named volumes, modes', () => {
  assert.deepEqual(parseBind('/srv/a/:/data/:rw,rshared'), { Type: 'bind', Source: '/srv/a/', Destination: '/data', Mode: 'rw,rshared', RW: true, Propagation: 'rshared', ifMissing: 'create', createSource: true });
  assert.deepEqual(parseBind('data:/var/lib/db:nocopy'), { Type: 'volume', Name: 'data', Destination: '/var/lib/db', Mode: 'nocopy', RW: true, noCopy: true });
  assert.deepEqual(parseBind('data:/db'), { Type: 'volume', Name: 'data', Destination: '/db', Mode: 'z', RW: true });
  assert.throws(() => parseBind('/only'), invalidWith("invalid volume specification: '/only'"));
  assert.throws(() => parseBind('a:b:c:d'), invalidWith("invalid volume specification: 'a:b:c:d'"));
  assert.throws(() => parseBind('/srv:rel'), invalidWith(`invalid volume specification: '/srv:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`));
  assert.throws(() => parseBind('data:rel'), invalidWith(`invalid volume specification: 'data:rel': invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute`));
  assert.throws(() => parseBind('/srv:/data:rx'), invalidWith('invalid mode: rx'));
  assert.throws(() => parseBind('/srv:/data:nocopy'), invalidWith('invalid mode: nocopy'));
  assert.throws(() => parseBind('a/b:/data'), invalidWith(/^create a\/b: "a\/b" includes invalid characters for a local volume name/));
});

test('--mount specs: Docker\'s texts per type', () => {
  assert.deepEqual(parseMount({ Type: 'bind', Source: '/srv', Target: '/data', ReadOnly: true }), { Type: 'bind', Source: '/srv', Destination: '/data', Mode: '', RW: false, Propagation: 'rprivate', ifMissing: 'fail' });
  assert.equal((parseMount({ Type: 'bind', Source: '/srv', Target: '/data', BindOptions: { CreateMountpoint: true } }) as { ifMissing: string }).ifMissing, 'create');
  assert.deepEqual(parseMount({ Type: 'volume', Target: '/v', VolumeOptions: { Subpath: 'sub/dir', NoCopy: true } }),
    { Type: 'volume', Destination: '/v', Mode: 'z', RW: true, Driver: undefined, DriverOpts: undefined, Labels: {}, noCopy: true, subpath: 'sub/dir' });
  assert.deepEqual(parseMount({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1024, Mode: 0o700 } }), { Type: 'tmpfs', Destination: '/t', RW: true, tmpfsOptions: ['nosuid', 'nodev', 'noexec', 'size=1024', 'mode=700'] });
  const bad: [Parameters<typeof parseMount>[0], string][] = [
    [{ Type: 'bind', Source: '/srv', Target: '' }, 'invalid mount config for type "bind": field Target must not be empty'],
    [{ Type: 'bind', Source: '/srv', Target: 'rel' }, `invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`],
    [{ Type: 'bind', Target: '/d' }, 'invalid mount config for type "bind": field Source must not be empty'],
    [{ Type: 'bind', Source: 'rel', Target: '/d' }, `invalid mount config for type "bind": invalid mount path: 'rel' bind source path must be absolute`],
    [{ Type: 'bind', Source: '/srv', Target: '/d', VolumeOptions: {} }, 'invalid mount config for type "bind": field VolumeOptions must not be specified'],
    [{ Type: 'bind', Source: '/srv', Target: '/d', BindOptions: { Propagation: 'sideways' as 'shared' } }, 'invalid mount config for type "bind": invalid propagation mode: sideways'],
    [{ Type: 'volume', Target: '/d', BindOptions: {} }, 'invalid mount config for type "volume": field BindOptions must not be specified'],
    [{ Type: 'volume', Target: '/d', VolumeOptions: { Subpath: '../x' } }, 'invalid mount config for type "volume": subpath must be a relative path within the volume'],
    [{ Type: 'volume', Target: '/d', VolumeOptions: { Subpath: '/abs' } }, 'invalid mount config for type "volume": subpath must be a relative path within the volume'],
    [{ Type: 'tmpfs', Source: 'x', Target: '/d' }, 'invalid mount config for type "tmpfs": field Source must not be specified'],
    [{ Type: 'npipe' as 'bind', Target: '/d' }, 'mount type unknown: "npipe"'],
  ];
  for (const [m, msg] of bad) assert.throws(() => parseMount(m), invalidWith(msg), msg);
});

test('--volumes-from modes and duplicate mount points', () => {
  assert.deepEqual(parseMountRequests({ VolumesFrom: ['web', 'db:ro'] }).volumesFrom, [{ ref: 'web', mode: '' }, { ref: 'db', mode: 'ro' }]);
  assert.throws(() => parseMountRequests({ VolumesFrom: ['db:rx'] }), invalidWith('invalid mode for volumes-from: rx'));
  assert.throws(() => parseMountRequests({ Binds: ['/a:/data', 'vol:/data/'] }), invalidWith('Duplicate mount point: /data'));
  assert.throws(() => parseMountRequests({ Binds: ['/a:/data'], Mounts: [{ Type: 'tmpfs', Target: '/data' }] }), invalidWith('Duplicate mount point: /data'));
  assert.throws(check({ Binds: ['/a:/data', '/b:/data'] }), invalidWith('Duplicate mount point: /data'));
});
