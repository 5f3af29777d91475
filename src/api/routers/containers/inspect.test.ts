import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerRecord, HostConfigDefaults } from '../../../engine/container/service.ts';
import { commandText, containerInspectJson, containerSummaryJson, hostConfigJson, linkNames, networksJson, type ContainerLookup } from './inspect.ts';
import { goTime } from '../../types/go-json.ts';

const ID = 'a'.repeat(12) + 'b'.repeat(52);
const DEFAULTS: HostConfigDefaults = {
  shmSize: 67108864, ipcMode: 'private', cgroupnsMode: 'host',
  maskedPaths: ['/proc/acpi', '/sys/firmware'], readonlyPaths: ['/proc/bus', '/proc/sys'], apparmor: false,
};
const others: Record<string, { id: string; name: string }> = {
  db: { id: 'd'.repeat(64), name: '/db' },
  ['d'.repeat(12)]: { id: 'd'.repeat(64), name: '/db' },
};
const lookup: ContainerLookup = (ref) => others[ref.replace(/^\//, '')];

/** A container as `docker run -d busybox sleep 60` leaves it in berth's record (the API body only). */
function plain(over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    ID, Created: '2026-01-02T03:04:05.120Z', Path: 'sleep', Args: ['60'],
    State: { Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: '0001-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z' },
    Image: 'sha256:' + 'c'.repeat(64), Name: '/plain', RestartCount: 0, Driver: 'overlay2', Platform: 'linux',
    Config: { Hostname: ID.slice(0, 12), Image: 'busybox', Cmd: ['sleep', '60'], Env: ['PATH=/bin'], name: 'from-dockerode' },
    HostConfig: { Runtime: 'runc', LogConfig: { Type: 'json-file', Config: {} } },
    LogPath: '/l', HostnamePath: '/h', HostsPath: '/hs', ResolvConfPath: '/r', Mounts: [],
    berth: { runtime: 'runc', manuallyStopped: false, hasBeenStarted: false, networks: { bridge: { NetworkID: 'n'.repeat(64) } } },
    ...over,
  };
}

const inspect = (c: ContainerRecord, apiVersion = '1.47') =>
  containerInspectJson(c, { defaults: DEFAULTS, apiVersion, lookup, execIds: [], graphDriver: { MergedDir: '/m' } });

test('Go times: the fraction without trailing zeros, zero time and offsets kept', () => {
  assert.equal(goTime('2026-01-02T03:04:05.120Z'), '2026-01-02T03:04:05.12Z');
  assert.equal(goTime('2026-01-02T03:04:05.000Z'), '2026-01-02T03:04:05Z');
  assert.equal(goTime('2026-01-02T03:04:05.123456789+01:00'), '2026-01-02T03:04:05.123456789+01:00');
  assert.equal(goTime('0001-01-01T00:00:00Z'), '0001-01-01T00:00:00Z');
  assert.equal(goTime('not a time'), 'not a time');
});

test('HostConfig of a container created with no HostConfig fields: dockerd\'s defaults, every field', () => {
  const h = hostConfigJson(plain(), DEFAULTS, lookup);
  assert.deepEqual(h.LogConfig, { Type: 'json-file', Config: {} });
  assert.equal(h.NetworkMode, 'bridge');
  assert.deepEqual(h.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
  assert.deepEqual(h.ConsoleSize, [0, 0]);
  assert.equal(h.CgroupnsMode, 'host');
  assert.equal(h.IpcMode, 'private');
  assert.equal(h.ShmSize, 67108864);
  assert.equal(h.Runtime, 'runc');
  assert.equal(h.Isolation, '');
  assert.equal(h.OomKillDisable, false);
  assert.equal(h.PidsLimit, null);
  assert.equal(h.MemorySwap, 0);
  assert.equal(h.BlkioWeight, 0);
  assert.deepEqual(h.MaskedPaths, DEFAULTS.maskedPaths);
  assert.deepEqual(h.ReadonlyPaths, DEFAULTS.readonlyPaths);
  for (const k of ['Binds', 'PortBindings', 'VolumesFrom', 'CapAdd', 'CapDrop', 'Dns', 'DnsOptions', 'DnsSearch', 'ExtraHosts', 'GroupAdd',
    'Links', 'SecurityOpt', 'BlkioWeightDevice', 'Devices', 'DeviceCgroupRules', 'DeviceRequests', 'MemorySwappiness', 'Ulimits']) {
    assert.equal(h[k], null, k);
  }
  // omitempty fields stay out; the order is Go's (Resources after Isolation, the paths last).
  for (const k of ['Annotations', 'StorageOpt', 'Tmpfs', 'Sysctls', 'Mounts', 'Init', 'KernelMemory', 'KernelMemoryTCP']) assert.ok(!(k in h), k);
  const keys = Object.keys(h);
  assert.equal(keys[0], 'Binds');
  assert.ok(keys.indexOf('Isolation') < keys.indexOf('CpuShares'));
  assert.deepEqual(keys.slice(-2), ['MaskedPaths', 'ReadonlyPaths']);
});

test('HostConfig as given is kept; joined namespaces name the container by ID; links in the link graph\'s form', () => {
  const c = plain({
    HostConfig: {
      Runtime: 'runc', NetworkMode: 'container:db', PidMode: 'container:db', IpcMode: 'host', Privileged: true,
      Links: ['db:database', 'gone:x'], Memory: 64 << 20, PidsLimit: 0, ShmSize: 1 << 20, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
      Init: false, Tmpfs: { '/run': '' }, Sysctls: {}, ConsoleSize: [24, 80], CgroupnsMode: 'private', SecurityOpt: ['no-new-privileges'],
      KernelMemory: 1, Bogus: 'dropped',
    },
  });
  const h = hostConfigJson(c, DEFAULTS, lookup);
  assert.equal(h.NetworkMode, `container:${'d'.repeat(64)}`);
  assert.equal(h.PidMode, `container:${'d'.repeat(64)}`);
  assert.equal(h.IpcMode, 'host');
  assert.deepEqual(h.Links, ['/db:/plain/database']);
  assert.equal(h.MemorySwap, 128 << 20);
  assert.equal(h.PidsLimit, null);
  assert.equal(h.ShmSize, 1 << 20);
  assert.deepEqual(h.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.equal(h.Init, false, 'a pointer to false is kept');
  assert.deepEqual(h.Tmpfs, { '/run': '' });
  assert.ok(!('Sysctls' in h), 'an empty map is omitted');
  assert.deepEqual(h.ConsoleSize, [24, 80]);
  assert.equal(h.CgroupnsMode, 'private');
  // Privileged and host namespaces: SELinux labelling off, and no default masked paths.
  assert.deepEqual(h.SecurityOpt, ['no-new-privileges', 'label=disable']);
  assert.equal(h.MaskedPaths, null);
  assert.equal(h.ReadonlyPaths, null);
  assert.ok(!('KernelMemory' in h) && !('Bogus' in h));
  // A label option of the client's own is left alone; explicit (even empty) masked paths are kept.
  const own = hostConfigJson(plain({ HostConfig: { PidMode: 'host', SecurityOpt: ['label=type:x'], MaskedPaths: [], Memory: 10, MemorySwap: -1 } }), DEFAULTS, lookup);
  assert.deepEqual(own.SecurityOpt, ['label=type:x']);
  assert.deepEqual(own.MaskedPaths, []);
  assert.equal(own.MemorySwap, -1);
  assert.equal(own.PidMode, 'host');
});

test('inspect: the top level in Go\'s order, Config in full without unknown fields, State without Health', () => {
  const j = inspect(plain());
  assert.deepEqual(Object.keys(j), ['Id', 'Created', 'Path', 'Args', 'State', 'Image', 'ResolvConfPath', 'HostnamePath', 'HostsPath', 'LogPath',
    'Name', 'RestartCount', 'Driver', 'Platform', 'MountLabel', 'ProcessLabel', 'AppArmorProfile', 'ExecIDs', 'HostConfig', 'GraphDriver',
    'Mounts', 'Config', 'NetworkSettings']);
  assert.equal(j.Created, '2026-01-02T03:04:05.12Z');
  assert.equal(j.ExecIDs, null);
  assert.deepEqual(j.GraphDriver, { Data: { MergedDir: '/m' }, Name: 'overlay2' });
  assert.deepEqual(j.Config, {
    Hostname: ID.slice(0, 12), Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false,
    OpenStdin: false, StdinOnce: false, Env: ['PATH=/bin'], Cmd: ['sleep', '60'], Image: 'busybox', Volumes: null, WorkingDir: '',
    Entrypoint: null, OnBuild: null, Labels: null,
  });
  assert.deepEqual(Object.keys(j.State as object), ['Status', 'Running', 'Paused', 'Restarting', 'OOMKilled', 'Dead', 'Pid', 'ExitCode', 'Error', 'StartedAt', 'FinishedAt']);
  const sized = containerInspectJson(plain(), { defaults: DEFAULTS, apiVersion: '1.47', lookup, execIds: ['e1'], graphDriver: {}, size: { rw: 1, rootFs: 5 } });
  assert.deepEqual([sized.SizeRw, sized.SizeRootFs, sized.ExecIDs], [1, 5, ['e1']]);
  assert.deepEqual(Object.keys(sized).slice(19, 22), ['GraphDriver', 'SizeRw', 'SizeRootFs']);
});

test('inspect: healthcheck, stop signal and the configured MAC address in Config; State.Health with the check', () => {
  const c = plain({
    Config: { Image: 'busybox', Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 0, Timeout: 0, Retries: 0, StartPeriod: 0, StartInterval: 0 }, StopSignal: 'SIGINT', StopTimeout: 0 },
    berth: { runtime: 'runc', manuallyStopped: false, hasBeenStarted: false, networks: { bridge: { MacAddress: '02:42:ac:11:00:09' } } },
  });
  c.State.Health = { Status: 'healthy', FailingStreak: 0, Log: [{ Start: '2026-01-01T00:00:00.500Z', End: '2026-01-01T00:00:01.000Z', ExitCode: 0, Output: '' }] };
  const j = inspect(c);
  const cfg = j.Config as Record<string, unknown>;
  assert.deepEqual(cfg.Healthcheck, { Test: ['CMD-SHELL', 'true'] });
  assert.equal(cfg.StopSignal, 'SIGINT');
  assert.equal(cfg.StopTimeout, 0, 'a pointer to 0 is kept');
  assert.equal(cfg.MacAddress, '02:42:ac:11:00:09');
  const health = (j.State as Record<string, { Log: { Start: string; End: string }[] }>).Health;
  assert.equal(health.Log[0].Start, '2026-01-01T00:00:00.5Z');
  assert.equal(health.Log[0].End, '2026-01-01T00:00:01Z');
  // Until the first start the configured MAC shows on the endpoint too; after a run, the live one or nothing.
  assert.equal((networksJson(c).bridge).MacAddress, '02:42:ac:11:00:09');
  c.berth.hasBeenStarted = true;
  assert.equal((networksJson(c).bridge).MacAddress, '');
});

test('NetworkSettings: every field, the default bridge\'s endpoint at the top level, Aliases by API version', () => {
  const running = plain({
    HostConfig: { NetworkMode: 'app' },
    berth: {
      runtime: 'runc', manuallyStopped: false, hasBeenStarted: true,
      networks: { app: { Aliases: ['web'], NetworkID: 'n1' }, bridge: { NetworkID: 'n0' } },
      endpoints: [
        { network: 'app', networkId: 'n1', endpointId: 'e1', ip: '10.1.0.2', prefixLen: 24, gateway: '10.1.0.1', mac: 'm1', aliases: ['web'], dnsNames: ['plain', 'web', ID.slice(0, 12)], portMap: { '80/tcp': null } },
        { network: 'bridge', networkId: 'n0', endpointId: 'e0', ip: '172.17.0.2', prefixLen: 16, gateway: '172.17.0.1', mac: 'm0', aliases: [], dnsNames: [] },
      ],
    },
  });
  const ns = inspect(running).NetworkSettings as Record<string, any>;
  assert.deepEqual(Object.keys(ns), ['Bridge', 'SandboxID', 'SandboxKey', 'Ports', 'HairpinMode', 'LinkLocalIPv6Address', 'LinkLocalIPv6PrefixLen',
    'SecondaryIPAddresses', 'SecondaryIPv6Addresses', 'EndpointID', 'Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'IPAddress',
    'IPPrefixLen', 'IPv6Gateway', 'MacAddress', 'Networks']);
  assert.deepEqual(ns.Ports, { '80/tcp': null });
  assert.deepEqual([ns.IPAddress, ns.Gateway, ns.EndpointID, ns.MacAddress, ns.IPPrefixLen], ['172.17.0.2', '172.17.0.1', 'e0', 'm0', 16]);
  assert.deepEqual(ns.Networks.app, {
    IPAMConfig: null, Links: null, Aliases: ['web'], MacAddress: 'm1', DriverOpts: null, NetworkID: 'n1', EndpointID: 'e1', Gateway: '10.1.0.1',
    IPAddress: '10.1.0.2', IPPrefixLen: 24, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: ['plain', 'web', ID.slice(0, 12)],
  });
  // Before 1.45 the short ID and the hostname are aliases on user-defined networks (not on the default bridge).
  const old = inspect(running, '1.44').NetworkSettings as Record<string, any>;
  assert.deepEqual(old.Networks.app.Aliases, ['web', ID.slice(0, 12)]);
  assert.equal(old.Networks.bridge.Aliases, null);
  // Stopped: no operational data, an empty port map (never null).
  const stopped = inspect(plain()).NetworkSettings as Record<string, any>;
  assert.deepEqual(stopped.Ports, {});
  assert.deepEqual([stopped.IPAddress, stopped.Networks.bridge.NetworkID, stopped.Networks.bridge.DNSNames], ['', 'n'.repeat(64), null]);
  assert.deepEqual(networksJson(plain({ HostConfig: { NetworkMode: 'container:db' } })), {});
});

test('the list\'s item: types.Container, NetworkMode "bridge", Networks as the container view copies them, command quoting', () => {
  const c = plain({
    Args: ['-c', 'echo a b'], Path: 'sh',
    berth: {
      runtime: 'runc', manuallyStopped: false, hasBeenStarted: true,
      networks: { bridge: { IPAMConfig: { IPv4Address: '', LinkLocalIPs: ['169.254.0.9'] }, Links: ['x'], NetworkID: 'n0' } },
      endpoints: [{ network: 'bridge', networkId: 'n0', endpointId: 'e0', ip: '172.17.0.2', prefixLen: 16, gateway: '172.17.0.1', mac: 'm0', aliases: [], dnsNames: [],
        portMap: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '81/udp': null } }],
    },
  });
  const s = containerSummaryJson(c, 'Up 1 second', lookup);
  assert.deepEqual(Object.keys(s), ['Id', 'Names', 'Image', 'ImageID', 'Command', 'Created', 'Ports', 'Labels', 'State', 'Status', 'HostConfig', 'NetworkSettings', 'Mounts']);
  assert.equal(s.Command, "sh -c 'echo a b'");
  assert.equal(commandText(plain({ Args: [] })), 'sleep');
  assert.deepEqual(s.HostConfig, { NetworkMode: 'bridge' });
  assert.deepEqual(s.Ports, [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { PrivatePort: 81, Type: 'udp' }]);
  assert.deepEqual((s.NetworkSettings as any).Networks.bridge, {
    IPAMConfig: {}, Links: null, Aliases: null, MacAddress: 'm0', DriverOpts: null, NetworkID: 'n0', EndpointID: 'e0', Gateway: '172.17.0.1',
    IPAddress: '172.17.0.2', IPPrefixLen: 16, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
  });
  assert.deepEqual((containerSummaryJson(plain({ HostConfig: { NetworkMode: 'container:db' } }), 'Created', lookup).HostConfig as any).NetworkMode, `container:${'d'.repeat(64)}`);
});

test('the list\'s Names: a legacy link on the default bridge names the linked container `/<parent>/<alias>` too', () => {
  const parent = plain({ Name: '/web', HostConfig: { Links: ['db:database', '/db:/web/store', 'gone'] } });
  const onUserNet = plain({ Name: '/other', HostConfig: { NetworkMode: 'app', Links: ['db:x'] } });
  const names = linkNames([parent, onUserNet], lookup);
  assert.deepEqual([...names.entries()], [['d'.repeat(64), ['/web/database', '/web/store']]]);
  const child = plain({ ID: 'd'.repeat(64), Name: '/db' });
  assert.deepEqual(containerSummaryJson(child, 'Up', lookup, names.get(child.ID)).Names, ['/db', '/web/database', '/web/store']);
});
