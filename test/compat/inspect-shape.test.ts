// The shape of what berthd answers to inspect and list calls, against the field lists of moby's
// Go structs (API 1.47, dockerd 27): container inspect (ContainerJSON, HostConfig, Config, State,
// NetworkSettings, EndpointSettings), the container list (types.Container), networks
// (network.Inspect), volumes and exec inspect. Every field is there with Docker's value, zero
// values and daemon defaults included, as dockerode, `docker inspect` and docker-py read them.
// The lists are committed here; a test checks them against the spec's schemas when the spec
// (../shared/spec) sits above the checkout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import Docker from 'dockerode';
import YAML from 'yaml';
import { ROOT, startDaemon, hasDocker, type Daemon } from '../integration/harness.ts';

// ------------------------------------------------------------------ the field lists (Go's order)

const INSPECT = ['Id', 'Created', 'Path', 'Args', 'State', 'Image', 'ResolvConfPath', 'HostnamePath', 'HostsPath', 'LogPath', 'Name',
  'RestartCount', 'Driver', 'Platform', 'MountLabel', 'ProcessLabel', 'AppArmorProfile', 'ExecIDs', 'HostConfig', 'GraphDriver',
  'Mounts', 'Config', 'NetworkSettings'];
/** Only with `size=1`. */
const INSPECT_SIZE = ['SizeRw', 'SizeRootFs'];
/** HostConfig's fields in Go's order (Resources embedded after Isolation). */
const HOST_CONFIG_ORDER = ['Binds', 'ContainerIDFile', 'LogConfig', 'NetworkMode', 'PortBindings', 'RestartPolicy', 'AutoRemove', 'VolumeDriver',
  'VolumesFrom', 'ConsoleSize', 'Annotations', 'CapAdd', 'CapDrop', 'CgroupnsMode', 'Dns', 'DnsOptions', 'DnsSearch', 'ExtraHosts', 'GroupAdd',
  'IpcMode', 'Cgroup', 'Links', 'OomScoreAdj', 'PidMode', 'Privileged', 'PublishAllPorts', 'ReadonlyRootfs', 'SecurityOpt', 'StorageOpt',
  'Tmpfs', 'UTSMode', 'UsernsMode', 'ShmSize', 'Sysctls', 'Runtime', 'Isolation', 'CpuShares', 'Memory', 'NanoCpus', 'CgroupParent',
  'BlkioWeight', 'BlkioWeightDevice', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps',
  'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'CpusetCpus', 'CpusetMems', 'Devices', 'DeviceCgroupRules',
  'DeviceRequests', 'KernelMemoryTCP', 'MemoryReservation', 'MemorySwap', 'MemorySwappiness', 'OomKillDisable', 'PidsLimit', 'Ulimits',
  'CpuCount', 'CpuPercent', 'IOMaximumIOps', 'IOMaximumBandwidth', 'Mounts', 'MaskedPaths', 'ReadonlyPaths', 'Init'];
/** Left out when empty (Go's omitempty); Runtime is omitempty too, and always set. */
const HOST_CONFIG_OMITEMPTY = ['Annotations', 'StorageOpt', 'Tmpfs', 'Sysctls', 'KernelMemoryTCP', 'Mounts', 'Init'];
const HOST_CONFIG = HOST_CONFIG_ORDER.filter((k) => !HOST_CONFIG_OMITEMPTY.includes(k));
const CONFIG = ['Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce', 'Env', 'Cmd',
  'Image', 'Volumes', 'WorkingDir', 'Entrypoint', 'OnBuild', 'Labels'];
const CONFIG_OMITEMPTY = ['ExposedPorts', 'Healthcheck', 'ArgsEscaped', 'NetworkDisabled', 'MacAddress', 'StopSignal', 'StopTimeout', 'Shell'];
const STATE = ['Status', 'Running', 'Paused', 'Restarting', 'OOMKilled', 'Dead', 'Pid', 'ExitCode', 'Error', 'StartedAt', 'FinishedAt'];
/** Only with a healthcheck. */
const STATE_HEALTH = ['Health'];
const NETWORK_SETTINGS = ['Bridge', 'SandboxID', 'SandboxKey', 'Ports', 'HairpinMode', 'LinkLocalIPv6Address', 'LinkLocalIPv6PrefixLen',
  'SecondaryIPAddresses', 'SecondaryIPv6Addresses', 'EndpointID', 'Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'IPAddress',
  'IPPrefixLen', 'IPv6Gateway', 'MacAddress', 'Networks'];
const ENDPOINT = ['IPAMConfig', 'Links', 'Aliases', 'MacAddress', 'DriverOpts', 'NetworkID', 'EndpointID', 'Gateway', 'IPAddress',
  'IPPrefixLen', 'IPv6Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'DNSNames'];
const SUMMARY = ['Id', 'Names', 'Image', 'ImageID', 'Command', 'Created', 'Ports', 'Labels', 'State', 'Status', 'HostConfig', 'NetworkSettings', 'Mounts'];
const SUMMARY_SIZE = ['SizeRw', 'SizeRootFs'];
const NETWORK = ['Name', 'Id', 'Created', 'Scope', 'Driver', 'EnableIPv4', 'EnableIPv6', 'IPAM', 'Internal', 'Attachable', 'Ingress',
  'ConfigFrom', 'ConfigOnly', 'Containers', 'Options', 'Labels'];
/** Overlay networks only. */
const NETWORK_PEERS = ['Peers'];
const VOLUME = ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope'];
/** Cluster volumes, driver status, and `system df`'s usage. */
const VOLUME_OMITEMPTY = ['ClusterVolume', 'Status', 'UsageData'];
const EXEC = ['ID', 'Running', 'ExitCode', 'ProcessConfig', 'OpenStdin', 'OpenStderr', 'OpenStdout', 'CanRemove', 'ContainerID', 'DetachKeys', 'Pid'];
const MOUNT_POINT = ['Type', 'Name', 'Source', 'Destination', 'Driver', 'Mode', 'RW', 'Propagation'];

// ------------------------------------------------------------------ against the spec

/** shared/spec above the checkout, when it is there. */
const specFile = (() => {
  for (let dir = ROOT; ; dir = dirname(dir)) {
    const f = join(dir, 'shared', 'spec', 'docker-engine-api-v1.47.yaml');
    if (existsSync(f)) return f;
    if (dirname(dir) === dir) return undefined;
  }
})();

test('the committed field lists are the spec\'s schemas', { skip: specFile ? false : 'the Engine API spec is not above this checkout' }, () => {
  const spec = YAML.parse(readFileSync(specFile!, 'utf8'));
  const defs = spec.definitions;
  const props = (s: any): string[] => {
    if (!s) return [];
    if (s.$ref) return props(defs[s.$ref.split('/').pop()]);
    return [...(s.allOf ?? []).flatMap(props), ...Object.keys(s.properties ?? {})];
  };
  const same = (name: string, schema: unknown, ours: string[]) => assert.deepEqual(new Set(props(schema)), new Set(ours), name);
  same('ContainerInspectResponse', spec.paths['/containers/{id}/json'].get.responses['200'].schema, [...INSPECT, ...INSPECT_SIZE]);
  same('HostConfig', defs.HostConfig, [...HOST_CONFIG, ...HOST_CONFIG_OMITEMPTY]);
  same('ContainerConfig', defs.ContainerConfig, [...CONFIG, ...CONFIG_OMITEMPTY]);
  same('ContainerState', defs.ContainerState, [...STATE, ...STATE_HEALTH]);
  same('NetworkSettings', defs.NetworkSettings, NETWORK_SETTINGS);
  same('EndpointSettings', defs.EndpointSettings, ENDPOINT);
  same('ContainerSummary', defs.ContainerSummary, [...SUMMARY, ...SUMMARY_SIZE]);
  same('Network', defs.Network, [...NETWORK, ...NETWORK_PEERS]);
  same('Volume', defs.Volume, [...VOLUME, ...VOLUME_OMITEMPTY]);
  same('ExecInspectResponse', spec.paths['/exec/{id}/json'].get.responses['200'].schema, EXEC);
  same('MountPoint', defs.MountPoint, MOUNT_POINT);
});

// ------------------------------------------------------------------ against berthd

const skip = hasDocker ? false : 'no docker client installed on this machine';
const T = { skip, timeout: 180_000 };
let d: Daemon;
let docker: Docker;
before(async () => {
  if (skip) return;
  d = await startDaemon();
  docker = new Docker({ socketPath: d.sock });
});
after(async () => { await d?.stop(); });

/** cgroup v2 hosts default to a private cgroup namespace, v1 (and hybrid) ones to the host's. */
const CGROUPNS_DEFAULT = existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'private' : 'host';

function dockerOk(args: string[]): string {
  const r = d.docker(args, { timeout: 120_000 });
  assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** The object's keys are exactly `always` plus those of `optional` that are given. */
function keysAre(o: object, always: string[], optional: string[] = [], what = '') {
  const keys = Object.keys(o);
  for (const k of always) assert.ok(keys.includes(k), `${what}: ${k} missing`);
  for (const k of keys) assert.ok(always.includes(k) || optional.includes(k), `${what}: ${k} is not a field of Docker's`);
}

/** Keys in Go's order: the given list's order, omitempty ones left out. */
function inOrder(o: object, order: string[], what: string) {
  const keys = Object.keys(o);
  assert.deepEqual(keys, order.filter((k) => keys.includes(k)), what);
}

test('docker run -d busybox sleep: every field, in Go\'s order, with dockerd\'s defaults (dockerode and docker inspect)', T, async () => {
  const id = dockerOk(['run', '-d', '--name', 'plain', 'busybox', 'sleep', '300']);
  try {
    const i = await docker.getContainer(id).inspect() as unknown as Record<string, any>;
    keysAre(i, INSPECT, [], 'inspect');
    inOrder(i, [...INSPECT.slice(0, 20), ...INSPECT_SIZE, ...INSPECT.slice(20)], 'inspect');
    assert.match(i.Created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/);
    assert.equal(i.Platform, 'linux');
    assert.deepEqual(i.Args, ['300']);
    assert.equal(i.ExecIDs, null);
    assert.deepEqual(Object.keys(i.GraphDriver), ['Data', 'Name']);

    const h = i.HostConfig;
    keysAre(h, HOST_CONFIG, [], 'HostConfig');
    inOrder(h, HOST_CONFIG_ORDER, 'HostConfig');
    assert.deepEqual(h.LogConfig, { Type: 'json-file', Config: {} });
    assert.equal(h.NetworkMode, 'bridge');
    assert.deepEqual(h.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
    assert.deepEqual(h.ConsoleSize, [0, 0]);
    assert.equal(h.ShmSize, 67108864);
    assert.equal(h.IpcMode, 'private');
    assert.equal(h.CgroupnsMode, CGROUPNS_DEFAULT);
    assert.equal(h.Runtime, 'runc');
    assert.equal(h.Isolation, '');
    assert.equal(h.BlkioWeight, 0);
    assert.equal(h.OomKillDisable, false);
    assert.equal(h.PidsLimit, null);
    assert.equal(h.Links, null);
    assert.equal(h.SecurityOpt, null);
    assert.ok(h.MaskedPaths.includes('/proc/kcore') && h.MaskedPaths.includes('/sys/firmware'), JSON.stringify(h.MaskedPaths));
    assert.deepEqual(h.ReadonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);

    keysAre(i.Config, CONFIG, [], 'Config');
    inOrder(i.Config, [...CONFIG, ...CONFIG_OMITEMPTY], 'Config');
    assert.equal(i.Config.Image, 'busybox');
    assert.deepEqual(i.Config.Cmd, ['sleep', '300']);
    assert.equal(i.Config.Hostname, id.slice(0, 12));
    keysAre(i.State, STATE, [], 'State');
    assert.equal(i.State.Status, 'running');

    const ns = i.NetworkSettings;
    keysAre(ns, NETWORK_SETTINGS, [], 'NetworkSettings');
    inOrder(ns, NETWORK_SETTINGS, 'NetworkSettings');
    assert.deepEqual(Object.keys(ns.Networks), ['bridge']);
    const br = ns.Networks.bridge;
    keysAre(br, ENDPOINT, [], 'Networks.bridge');
    inOrder(br, ENDPOINT, 'Networks.bridge');
    assert.match(br.IPAddress, /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(ns.IPAddress, br.IPAddress, 'the deprecated top-level address is the default bridge\'s');
    assert.equal(ns.Gateway, br.Gateway);
    assert.equal(br.Aliases, null);
    assert.deepEqual(ns.Ports, {});

    // The docker CLI prints the daemon's bytes: the same keys through `docker inspect`.
    const viaCli = JSON.parse(dockerOk(['inspect', '--format', '{{json .HostConfig}}', 'plain']));
    assert.deepEqual(Object.keys(viaCli), Object.keys(h));
    assert.equal(dockerOk(['inspect', '--format', '{{.HostConfig.NetworkMode}} {{.HostConfig.IpcMode}} {{.HostConfig.ShmSize}} {{.HostConfig.RestartPolicy.Name}}', 'plain']),
      'bridge private 67108864 no');
    const all = JSON.parse(dockerOk(['inspect', 'plain']))[0];
    assert.deepEqual(Object.keys(all), Object.keys(i));

    // size=1 adds the two sizes, after GraphDriver.
    const sized = await docker.getContainer(id).inspect({ size: true } as never) as unknown as Record<string, unknown>;
    keysAre(sized, [...INSPECT, ...INSPECT_SIZE], [], 'inspect size=1');
    inOrder(sized, [...INSPECT.slice(0, 20), ...INSPECT_SIZE, ...INSPECT.slice(20)], 'inspect size=1');
    assert.equal(typeof sized.SizeRw, 'number');

    // The list: types.Container, NetworkMode "bridge", the endpoint in full.
    const [s] = await docker.listContainers({ filters: { id: [id] } }) as unknown as Record<string, any>[];
    keysAre(s, SUMMARY, [], 'list item');
    inOrder(s, SUMMARY, 'list item');
    assert.deepEqual(s.HostConfig, { NetworkMode: 'bridge' });
    keysAre(s.NetworkSettings.Networks.bridge, ENDPOINT, [], 'list item endpoint');
    assert.equal(s.NetworkSettings.Networks.bridge.IPAddress, br.IPAddress);
    assert.equal(s.Command, 'sleep 300');
    const [sizedItem] = await docker.listContainers({ size: true, filters: { id: [id] } }) as unknown as Record<string, any>[];
    keysAre(sizedItem, [...SUMMARY, 'SizeRw'], ['SizeRootFs'], 'list item size=1');

    // An exec's inspect.
    const exec = await docker.getContainer(id).exec({ Cmd: ['true'], AttachStdout: true });
    const e = await exec.inspect() as unknown as Record<string, any>;
    keysAre(e, EXEC, [], 'exec');
    inOrder(e, EXEC, 'exec');
    assert.deepEqual(e.ProcessConfig, { tty: false, entrypoint: 'true', arguments: [], privileged: false });
    assert.equal(e.ExitCode, null);
    assert.equal(e.DetachKeys, '');
  } finally {
    d.docker(['rm', '-f', 'plain']);
  }
});

test('a richly configured container: what was given, dockerd\'s forms of it, and the omitempty fields it set', T, async () => {
  dockerOk(['network', 'create', 'richnet']);
  try {
    dockerOk(['run', '-d', '--name', 'child', 'busybox', 'sleep', '300']);
    const childId = dockerOk(['inspect', '--format', '{{.Id}}', 'child']);
    const id = dockerOk(['run', '-d', '--name', 'rich', '--hostname', 'richhost', '--domainname', 'example.org', '--user', '0',
      '--workdir', '/tmp', '-e', 'A=1', '--label', 'k=v', '--restart', 'on-failure:2', '--memory', '64m', '--pids-limit', '50',
      '--shm-size', '8m', '--init', '--tmpfs', '/run', '--sysctl', 'net.ipv4.ip_forward=1', '--cap-add', 'NET_ADMIN', '--dns', '192.0.2.53',
      '--add-host', 'h:192.0.2.1', '--health-cmd', 'true', '--health-interval', '1s', '--stop-signal', 'SIGINT', '--stop-timeout', '3',
      '-p', '127.0.0.1::80', '--expose', '81', '-v', 'richvol:/data', '--network', 'richnet', '--network-alias', 'web', '--pid', 'container:child',
      'busybox', 'sleep', '300']);
    const parent = dockerOk(['run', '-d', '--name', 'parent', '--link', 'child:db', '--ipc', 'host', 'busybox', 'sleep', '300']);
    const joined = dockerOk(['create', '--name', 'joined', '--network', 'container:child', 'busybox', 'true']);

    const i = await docker.getContainer(id).inspect() as unknown as Record<string, any>;
    const h = i.HostConfig;
    keysAre(h, [...HOST_CONFIG, 'Init', 'Tmpfs', 'Sysctls'], [], 'HostConfig');
    inOrder(h, HOST_CONFIG_ORDER, 'HostConfig');
    assert.deepEqual(h.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
    assert.equal(h.Memory, 64 << 20);
    assert.equal(h.MemorySwap, 128 << 20, 'twice the memory, as dockerd records it');
    assert.equal(h.PidsLimit, 50);
    assert.equal(h.ShmSize, 8 << 20);
    assert.equal(h.Init, true);
    assert.deepEqual(h.Tmpfs, { '/run': '' });
    assert.deepEqual(h.Sysctls, { 'net.ipv4.ip_forward': '1' });
    assert.deepEqual(h.CapAdd, ['CAP_NET_ADMIN'], 'as the docker CLI sends it');
    assert.deepEqual(h.Dns, ['192.0.2.53']);
    assert.deepEqual(h.ExtraHosts, ['h:192.0.2.1']);
    assert.equal(h.NetworkMode, 'richnet');
    assert.equal(h.PidMode, `container:${childId}`, 'a joined namespace names the container by ID');
    assert.deepEqual(h.PortBindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });

    const c = i.Config;
    keysAre(c, [...CONFIG, 'ExposedPorts', 'Healthcheck', 'StopSignal', 'StopTimeout'], [], 'Config');
    assert.deepEqual([c.Hostname, c.Domainname, c.User, c.WorkingDir], ['richhost', 'example.org', '0', '/tmp']);
    assert.ok(c.Env.includes('A=1'));
    assert.deepEqual(c.Labels, { k: 'v' });
    assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '81/tcp': {} });
    assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 1_000_000_000 });
    assert.deepEqual([c.StopSignal, c.StopTimeout], ['SIGINT', 3]);

    // State.Health appears with the check's first status.
    let state = i.State;
    for (let n = 0; n < 100 && !state.Health; n++) {
      await new Promise((r) => setTimeout(r, 200));
      state = ((await docker.getContainer(id).inspect()) as unknown as Record<string, any>).State;
    }
    keysAre(state, [...STATE, ...STATE_HEALTH], [], 'State');
    assert.deepEqual(Object.keys(state.Health), ['Status', 'FailingStreak', 'Log']);

    const ns = i.NetworkSettings;
    keysAre(ns, NETWORK_SETTINGS, [], 'NetworkSettings');
    assert.deepEqual(Object.keys(ns.Networks), ['richnet']);
    const ep = ns.Networks.richnet;
    keysAre(ep, ENDPOINT, [], 'Networks.richnet');
    assert.deepEqual(ep.Aliases, ['web']);
    assert.ok(ep.DNSNames.includes('rich') && ep.DNSNames.includes('web') && ep.DNSNames.includes(id.slice(0, 12)), JSON.stringify(ep.DNSNames));
    assert.match(ep.IPAddress, /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(ns.IPAddress, '', 'not on the default bridge: the deprecated top-level fields stay empty');
    assert.ok(Array.isArray(ns.Ports['80/tcp']) && ns.Ports['81/tcp'] === null, JSON.stringify(ns.Ports));
    assert.deepEqual(i.Mounts.map((m: object) => Object.keys(m)), [['Type', 'Name', 'Source', 'Destination', 'Driver', 'Mode', 'RW', 'Propagation']]);

    // Before API 1.45 the short ID and the hostname were aliases too.
    const old = (await d.api('GET', `/v1.44/containers/${id}/json`)).json();
    assert.deepEqual(old.NetworkSettings.Networks.richnet.Aliases, ['web', id.slice(0, 12), 'richhost']);

    const p = await docker.getContainer(parent).inspect() as unknown as Record<string, any>;
    assert.deepEqual(p.HostConfig.Links, ['/child:/parent/db']);
    assert.equal(p.HostConfig.IpcMode, 'host');
    assert.deepEqual(p.HostConfig.SecurityOpt, ['label=disable'], 'the host\'s IPC namespace turns SELinux labels off, as dockerd records it');
    // The link names the linked container in the list too (the docker CLI shows them with --no-trunc).
    const [childItem] = await docker.listContainers({ filters: { id: [childId] } }) as unknown as Record<string, any>[];
    assert.deepEqual(childItem.Names, ['/child', '/parent/db']);
    assert.equal(dockerOk(['ps', '--filter', `id=${childId}`, '--format', '{{.Names}}']), 'child');
    assert.equal(dockerOk(['ps', '--no-trunc', '--filter', `id=${childId}`, '--format', '{{.Names}}']), 'child,parent/db');
    const j = await docker.getContainer(joined).inspect() as unknown as Record<string, any>;
    assert.equal(j.HostConfig.NetworkMode, `container:${childId}`);
    assert.deepEqual(j.NetworkSettings.Networks, {});
    const list = await docker.listContainers({ all: true, filters: { name: ['joined'] } }) as unknown as Record<string, any>[];
    assert.deepEqual(list[0].HostConfig, { NetworkMode: `container:${childId}` });
    assert.deepEqual(list[0].NetworkSettings.Networks, {});

    // A container recreated from another's inspect (as update tools do) is accepted with its links.
    const copy = await docker.createContainer({ ...p.Config, name: 'parent-copy', HostConfig: p.HostConfig });
    await copy.remove();
  } finally {
    d.docker(['rm', '-f', 'rich', 'parent', 'joined', 'child', 'parent-copy']);
    d.docker(['volume', 'rm', 'richvol']);
    d.docker(['network', 'rm', 'richnet']);
  }
});

test('the list\'s Image: the reference as given while it names the container\'s image, then the image ID (moby\'s refreshImage)', T, async () => {
  dockerOk(['tag', 'busybox', 'shape:1']);
  const id = dockerOk(['create', 'shape:1', 'true']);
  try {
    const item = async () => ((await docker.listContainers({ all: true, filters: { id: [id] } })) as unknown as Record<string, any>[])[0];
    assert.equal((await item()).Image, 'shape:1');
    dockerOk(['rmi', 'shape:1']);
    const imageId = dockerOk(['inspect', '--format', '{{.Image}}', id]);
    assert.equal((await item()).Image, imageId);
    assert.equal((await docker.getContainer(id).inspect()).Config.Image, 'shape:1', 'inspect keeps the reference as given');
  } finally {
    d.docker(['rm', '-f', id]);
    d.docker(['rmi', 'shape:1']);
  }
});

test('networks and volumes: every field of network.Inspect and volume.Volume', T, async () => {
  const bridge = await docker.getNetwork('bridge').inspect() as Record<string, any>;
  keysAre(bridge, NETWORK, [], 'network bridge');
  inOrder(bridge, [...NETWORK, ...NETWORK_PEERS], 'network bridge');
  assert.equal(bridge.Scope, 'local');
  assert.deepEqual(Object.keys(bridge.IPAM), ['Driver', 'Options', 'Config']);
  assert.deepEqual(bridge.ConfigFrom, { Network: '' });
  assert.match(bridge.Created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/);
  for (const n of await docker.listNetworks() as Record<string, any>[]) {
    keysAre(n, NETWORK, [], `network ${n.Name}`);
    assert.deepEqual(n.Containers, {}, 'the list leaves the containers out');
  }
  // Before API 1.28 the list was detailed.
  const id = dockerOk(['run', '-d', 'busybox', 'sleep', '300']);
  try {
    const old = (await d.api('GET', '/v1.27/networks')).json() as Record<string, any>[];
    assert.ok(Object.keys(old.find((n) => n.Name === 'bridge')!.Containers).includes(id));
  } finally {
    d.docker(['rm', '-f', id]);
  }

  dockerOk(['volume', 'create', 'shapevol']);
  try {
    const v = await docker.getVolume('shapevol').inspect() as unknown as Record<string, unknown>;
    keysAre(v, VOLUME, [], 'volume');
    inOrder(v, ['ClusterVolume', ...VOLUME, 'Status', 'UsageData'], 'volume');
    assert.equal(v.Scope, 'local');
    const { Volumes } = await docker.listVolumes() as unknown as { Volumes: Record<string, unknown>[] };
    for (const x of Volumes) keysAre(x, VOLUME, [], 'volume list');
  } finally {
    d.docker(['volume', 'rm', 'shapevol']);
  }
});

// docker-py: what scripts read from `container.attrs` (Debian's python3-docker, docker-compose 1.29's client).
const PY = '/usr/bin/python3';
const pyVersion = spawnSync(PY, ['-c', 'import docker; print(docker.__version__)']).stdout?.toString().trim();

test(`docker-py ${pyVersion ?? ''}: container.attrs reads of common fields`, { skip: skip || (pyVersion ? false : 'python3-docker is not installed on this machine'), timeout: 120_000 }, () => {
  const prog = `
import docker, json
c = docker.DockerClient(base_url='unix://${d.sock}')
ctr = c.containers.run('busybox', 'sleep 300', detach=True, environment={'A': '1'}, labels={'k': 'v'}, ports={'80/tcp': None}, name='dpyshape')
try:
    ctr.reload()
    a = ctr.attrs
    out = {
        'mode': a['HostConfig']['NetworkMode'],
        'env': a['Config']['Env'],
        'ip': a['NetworkSettings']['Networks']['bridge']['IPAddress'],
        'ipc': a['HostConfig']['IpcMode'],
        'restart': a['HostConfig']['RestartPolicy'],
        'status': ctr.status,
        'labels': ctr.labels,
        'ports': ctr.ports,
        'name': ctr.name,
        'image': ctr.image.tags,
        'health': ctr.health if hasattr(ctr, 'health') else None,
        'listed': c.containers.list(filters={'name': 'dpyshape'})[0].attrs['HostConfig']['NetworkMode'],
    }
finally:
    ctr.remove(force=True)
print(json.dumps(out))
`;
  const r = spawnSync(PY, ['-c', prog], { timeout: 100_000 });
  assert.equal(r.status, 0, r.stderr.toString());
  const out = JSON.parse(r.stdout.toString().trim().split('\n').pop()!);
  assert.equal(out.mode, 'bridge');
  assert.ok(out.env.includes('A=1'), JSON.stringify(out.env));
  assert.match(out.ip, /^\d+\.\d+\.\d+\.\d+$/);
  assert.equal(out.ipc, 'private');
  assert.deepEqual(out.restart, { Name: 'no', MaximumRetryCount: 0 });
  assert.equal(out.status, 'running');
  assert.deepEqual(out.labels, { k: 'v' });
  assert.ok(Array.isArray(out.ports['80/tcp']) && out.ports['80/tcp'].length > 0, JSON.stringify(out.ports));
  assert.equal(out.name, 'dpyshape');
  assert.deepEqual(out.image, ['busybox:latest']);
  if (out.health !== null) assert.equal(out.health, 'unknown');
  assert.equal(out.listed, 'bridge');
});
