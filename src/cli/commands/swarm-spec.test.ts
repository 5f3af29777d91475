// The swarm verbs' request bodies against the docker CLI 28's own: every `expected` below is the
// body `docker …` posted to a recording server (test/tools/swarm-recorder.mjs) for the same
// flags, pasted as a literal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SpecError, nodeUpdateSpec, parsePublish, parseScaleArg, serviceCreateSpec, serviceUpdateSpec, swarmInitBody, swarmJoinBody,
  swarmUpdateSpec, anySpecFlag, scaleSpec, type ServiceFlags,
  parseObjectRef,
} from './swarm-spec.ts';
import { StatusError } from '../context.ts';

const plain = (v: unknown) => JSON.parse(JSON.stringify(v));

const CREATE_CASES: Array<{ cmd: string; flags: ServiceFlags; args: string[]; expected: unknown }> = [
  {
    cmd: 'service create -d --no-resolve-image --name web --replicas 3 -p 8080:80 busybox httpd -f',
    flags: { name: 'web', replicas: '3', publish: ['8080:80'] },
    args: ['busybox', 'httpd', '-f'],
    expected: { Name: 'web', Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Args: ['httpd', '-f'], Init: false, DNSConfig: {} }, Resources: { Limits: {}, Reservations: {} }, Placement: {}, ForceUpdate: 0 }, Mode: { Replicated: { Replicas: 3 } }, EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] } },
  },
  {
    cmd: 'service create -d --no-resolve-image busybox',
    flags: {},
    args: ['busybox'],
    expected: { Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Init: false, DNSConfig: {} }, Resources: { Limits: {}, Reservations: {} }, Placement: {}, ForceUpdate: 0 }, Mode: { Replicated: {} }, EndpointSpec: { Mode: 'vip' } },
  },
  {
    cmd: 'service create -d --no-resolve-image --mode global --name g -p mode=host,target=80,published=8080,protocol=udp -e A=1 -e B --label l=1 --container-label c=2 --constraint node.role==manager --placement-pref spread=node.labels.dc nginx:1.25',
    flags: { mode: 'global', name: 'g', publish: ['mode=host,target=80,published=8080,protocol=udp'], env: ['A=1', 'B'], label: ['l=1'], containerLabel: ['c=2'], constraint: ['node.role==manager'], placementPref: ['spread=node.labels.dc'] },
    args: ['nginx:1.25'],
    expected: { Name: 'g', Labels: { l: '1' }, TaskTemplate: { ContainerSpec: { Image: 'nginx:1.25', Labels: { c: '2' }, Env: ['A=1', 'B'], Init: false, DNSConfig: {} }, Resources: { Limits: {}, Reservations: {} }, Placement: { Constraints: ['node.role==manager'], Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.dc' } }] }, ForceUpdate: 0 }, Mode: { Global: {} }, EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'udp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }] } },
  },
  {
    cmd: 'service create -d --no-resolve-image --replicas-max-per-node 2 --label x --env A=B=C myreg:5000/a/b@sha256:aaaa…',
    flags: { replicasMaxPerNode: '2', label: ['x'], env: ['A=B=C'] },
    args: [`myreg:5000/a/b@sha256:${'a'.repeat(64)}`],
    expected: { Labels: { x: '' }, TaskTemplate: { ContainerSpec: { Image: `myreg:5000/a/b@sha256:${'a'.repeat(64)}`, Env: ['A=B=C'], Init: false, DNSConfig: {} }, Resources: { Limits: {}, Reservations: {} }, Placement: { MaxReplicas: 2 }, ForceUpdate: 0 }, Mode: { Replicated: {} }, EndpointSpec: { Mode: 'vip' } },
  },
  {
    cmd: 'service create -d --no-resolve-image --reserve-cpu 0.5 --reserve-memory 64m --limit-cpu 1.5 --limit-memory 1g --restart-condition on-failure --restart-delay 3s --restart-max-attempts 4 --restart-window 1m busybox',
    flags: { reserveCpu: '0.5', reserveMemory: '64m', limitCpu: '1.5', limitMemory: '1g', restartCondition: 'on-failure', restartDelay: '3s', restartMaxAttempts: '4', restartWindow: '1m' },
    args: ['busybox'],
    expected: { Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Init: false, DNSConfig: {} }, Resources: { Limits: { NanoCPUs: 1500000000, MemoryBytes: 1073741824 }, Reservations: { NanoCPUs: 500000000, MemoryBytes: 67108864 } }, RestartPolicy: { Condition: 'on-failure', Delay: 3000000000, MaxAttempts: 4, Window: 60000000000 }, Placement: {}, ForceUpdate: 0 }, Mode: { Replicated: {} }, EndpointSpec: { Mode: 'vip' } },
  },
  {
    cmd: 'service create -d --no-resolve-image --update-parallelism 2 --update-delay 10s --update-failure-action rollback --update-monitor 20s --update-max-failure-ratio 0.25 --update-order start-first --rollback-parallelism 0 --rollback-delay 1s --rollback-failure-action continue --rollback-monitor 2s --rollback-max-failure-ratio 0.5 --rollback-order stop-first busybox',
    flags: { updateParallelism: '2', updateDelay: '10s', updateFailureAction: 'rollback', updateMonitor: '20s', updateMaxFailureRatio: '0.25', updateOrder: 'start-first', rollbackParallelism: '0', rollbackDelay: '1s', rollbackFailureAction: 'continue', rollbackMonitor: '2s', rollbackMaxFailureRatio: '0.5', rollbackOrder: 'stop-first' },
    args: ['busybox'],
    expected: { Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Init: false, DNSConfig: {} }, Resources: { Limits: {}, Reservations: {} }, Placement: {}, ForceUpdate: 0 }, Mode: { Replicated: {} }, UpdateConfig: { Parallelism: 2, Delay: 10000000000, FailureAction: 'rollback', Monitor: 20000000000, MaxFailureRatio: 0.25, Order: 'start-first' }, RollbackConfig: { Parallelism: 0, Delay: 1000000000, FailureAction: 'continue', Monitor: 2000000000, MaxFailureRatio: 0.5, Order: 'stop-first' }, EndpointSpec: { Mode: 'vip' } },
  },
  {
    cmd: 'service create -d --no-resolve-image --mount type=volume,source=v,target=/data --mount type=bind,src=/a,dst=/b,readonly --workdir /w --user 1000:1000 --hostname hh --entrypoint "/bin/sh -c" --health-cmd true --health-interval 5s --health-timeout 2s --health-retries 3 --health-start-period 1s --stop-grace-period 20s --stop-signal SIGTERM --init --read-only --tty busybox echo hi',
    flags: { mount: ['type=volume,source=v,target=/data', 'type=bind,src=/a,dst=/b,readonly'], workdir: '/w', user: '1000:1000', hostname: 'hh', entrypoint: '/bin/sh -c', healthCmd: 'true', healthInterval: '5s', healthTimeout: '2s', healthRetries: '3', healthStartPeriod: '1s', stopGracePeriod: '20s', stopSignal: 'SIGTERM', init: true, readOnly: true, tty: true },
    args: ['busybox', 'echo', 'hi'],
    expected: { Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Command: ['/bin/sh', '-c'], Args: ['echo', 'hi'], Hostname: 'hh', Dir: '/w', User: '1000:1000', Init: true, StopSignal: 'SIGTERM', TTY: true, ReadOnly: true, Mounts: [{ Type: 'volume', Source: 'v', Target: '/data' }, { Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true }], StopGracePeriod: 20000000000, Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 5000000000, Timeout: 2000000000, StartPeriod: 1000000000, Retries: 3 }, DNSConfig: {} }, Resources: { Limits: {}, Reservations: {} }, Placement: {}, ForceUpdate: 0 }, Mode: { Replicated: {} }, EndpointSpec: { Mode: 'vip' } },
  },
  {
    cmd: 'service create -d --no-resolve-image --no-healthcheck -p 80 -p 53:53/udp -p 9000-9001:9000-9001 busybox',
    flags: { healthcheck: false, publish: ['80', '53:53/udp', '9000-9001:9000-9001'] },
    args: ['busybox'],
    expected: { Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Init: false, Healthcheck: { Test: ['NONE'] }, DNSConfig: {} }, Resources: { Limits: {}, Reservations: {} }, Placement: {}, ForceUpdate: 0 }, Mode: { Replicated: {} }, EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishMode: 'ingress' }, { Protocol: 'udp', TargetPort: 53, PublishedPort: 53, PublishMode: 'ingress' }, { Protocol: 'tcp', TargetPort: 9000, PublishedPort: 9000, PublishMode: 'ingress' }, { Protocol: 'tcp', TargetPort: 9001, PublishedPort: 9001, PublishMode: 'ingress' }] } },
  },
  {
    cmd: 'service create -d --no-resolve-image --replicas 0 --mode replicated busybox',
    flags: { replicas: '0', mode: 'replicated' },
    args: ['busybox'],
    expected: { Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Init: false, DNSConfig: {} }, Resources: { Limits: {}, Reservations: {} }, Placement: {}, ForceUpdate: 0 }, Mode: { Replicated: { Replicas: 0 } }, EndpointSpec: { Mode: 'vip' } },
  },
  {
    cmd: 'service create -d --no-resolve-image --mount type=tmpfs,dst=/t,tmpfs-size=1m --env-file /dev/null busybox',
    flags: { mount: ['type=tmpfs,dst=/t,tmpfs-size=1m'], envFile: ['/dev/null'] },
    args: ['busybox'],
    expected: { Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Init: false, Mounts: [{ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576 } }], DNSConfig: {} }, Resources: { Limits: {}, Reservations: {} }, Placement: {}, ForceUpdate: 0 }, Mode: { Replicated: {} }, EndpointSpec: { Mode: 'vip' } },
  },
  {
    // docker then replaces each Target with the network's ID (GET /networks/{name}?scope=swarm): the caller's part.
    cmd: 'service create -d --no-resolve-image --network mynet --network name=other,alias=a1,alias=a2 --endpoint-mode dnsrr --limit-pids 5 --health-cmd "" busybox',
    flags: { network: ['mynet', 'name=other,alias=a1,alias=a2'], endpointMode: 'dnsrr', limitPids: '5', healthCmd: '' },
    args: ['busybox'],
    expected: { Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Init: false, DNSConfig: {} }, Resources: { Limits: { Pids: 5 }, Reservations: {} }, Placement: {}, Networks: [{ Target: 'mynet' }, { Target: 'other', Aliases: ['a1', 'a2'] }], ForceUpdate: 0 }, Mode: { Replicated: {} }, EndpointSpec: { Mode: 'dnsrr' } },
  },
];

for (const c of CREATE_CASES) {
  test(`serviceCreateSpec matches docker: ${c.cmd}`, () => {
    assert.deepStrictEqual(plain(serviceCreateSpec(c.flags, c.args)), c.expected);
  });
}

test('serviceCreateSpec refuses what docker refuses', () => {
  assert.throws(() => serviceCreateSpec({ mode: 'global', replicasMaxPerNode: '2' }, ['busybox']),
    (e: unknown) => e instanceof StatusError && e.message === 'replicas-max-per-node can only be used with replicated or replicated-job mode' && e.status === 1);
  assert.throws(() => serviceCreateSpec({ mode: 'global', replicas: '2' }, ['busybox']), /replicas can only be used with replicated or replicated-job mode/);
  assert.throws(() => serviceCreateSpec({ mode: 'weird' }, ['busybox']), /unknown mode: weird, only replicated and global supported/);
  assert.throws(() => serviceCreateSpec({ healthcheck: false, healthCmd: 'x' }, ['busybox']), /--no-healthcheck conflicts with --health-\* options/);
  assert.throws(() => serviceCreateSpec({ replicas: 'x' }, ['busybox']),
    (e: unknown) => e instanceof SpecError && e.flag === '--replicas' && e.message === 'strconv.ParseUint: parsing "x": invalid syntax');
  assert.throws(() => serviceCreateSpec({ updateFailureAction: 'explode' }, ['busybox']), /failure action must be one of "pause", "continue", or "rollback"/);
  assert.throws(() => serviceCreateSpec({ restartCondition: 'always' }, ['busybox']), /invalid restart condition/);
  assert.throws(() => serviceCreateSpec({ placementPref: ['binpack=x'] }, ['busybox']), /unsupported placement preference binpack \(only spread is supported\)/);
  assert.throws(() => serviceCreateSpec({ updateDelay: '10' }, ['busybox']), (e: unknown) => e instanceof SpecError && /missing unit/.test(e.message));
});

test('parsePublish: long form checks and short form host IPs, as docker PortOpt.Set', () => {
  assert.deepStrictEqual(parsePublish('target=80'), [{ Protocol: 'tcp', TargetPort: 80, PublishMode: 'ingress' }]);
  assert.throws(() => parsePublish('published=80'), /missing mandatory field 'target'/);
  assert.throws(() => parsePublish('target=80,protocol=icmp'), /invalid protocol value 'icmp'/);
  assert.throws(() => parsePublish('target=80,mode=vip'), /invalid publish mode value \(vip\): must be either 'ingress' or 'host'/);
  assert.throws(() => parsePublish('target=80,foo=1'), /invalid field key: foo/);
  assert.throws(() => parsePublish('127.0.0.1:80:80'), /hostip is not supported/);
});

// The service the recording server answered GET /services/{id} with (the update's starting point).
const CURRENT = {
  Name: 'web', Labels: { keep: '1', drop: '2' },
  TaskTemplate: {
    ContainerSpec: { Image: 'busybox:latest', Args: ['httpd', '-f'], Env: ['A=1', 'B=2'], Labels: { c: '1' } },
    Placement: { Constraints: ['node.role==manager', 'node.labels.x==y'] },
    ForceUpdate: 0, Runtime: 'container',
  },
  Mode: { Replicated: { Replicas: 2 } },
  EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] },
};

const UPDATE_CASES: Array<{ cmd: string; flags: ServiceFlags; expected: unknown }> = [
  {
    // docker's Env order here comes from a Go map (random); berth keeps the existing order.
    cmd: 'service update -d --no-resolve-image --env-add C=3 --env-rm A --label-add n=1 --label-rm drop --constraint-add node.hostname==h --constraint-rm node.labels.x==y --publish-add 9090:90 --publish-rm 8080 web',
    flags: { envAdd: ['C=3'], envRm: ['A'], labelAdd: ['n=1'], labelRm: ['drop'], constraintAdd: ['node.hostname==h'], constraintRm: ['node.labels.x==y'], publishAdd: ['9090:90'], publishRm: ['8080'] },
    expected: { Name: 'web', Labels: { keep: '1', n: '1' }, TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Labels: { c: '1' }, Args: ['httpd', '-f'], Env: ['B=2', 'C=3'] }, Placement: { Constraints: ['node.hostname==h', 'node.role==manager'] }, ForceUpdate: 0, Runtime: 'container' }, Mode: { Replicated: { Replicas: 2 } }, EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }, { Protocol: 'tcp', TargetPort: 90, PublishedPort: 9090, PublishMode: 'ingress' }] } },
  },
  {
    cmd: 'service update -d --no-resolve-image --image nginx --args "a b" --force web',
    flags: { image: 'nginx', args: 'a b', force: true },
    expected: { Name: 'web', Labels: { drop: '2', keep: '1' }, TaskTemplate: { ContainerSpec: { Image: 'nginx:latest', Labels: { c: '1' }, Args: ['a', 'b'], Env: ['A=1', 'B=2'] }, Placement: { Constraints: ['node.role==manager', 'node.labels.x==y'] }, ForceUpdate: 1, Runtime: 'container' }, Mode: { Replicated: { Replicas: 2 } }, EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] } },
  },
  {
    cmd: 'service update -d --no-resolve-image --replicas 4 --limit-memory 1g --update-parallelism 3 web',
    flags: { replicas: '4', limitMemory: '1g', updateParallelism: '3' },
    expected: { Name: 'web', Labels: { drop: '2', keep: '1' }, TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Labels: { c: '1' }, Args: ['httpd', '-f'], Env: ['A=1', 'B=2'] }, Resources: { Limits: { MemoryBytes: 1073741824 }, Reservations: {} }, Placement: { Constraints: ['node.role==manager', 'node.labels.x==y'] }, ForceUpdate: 0, Runtime: 'container' }, Mode: { Replicated: { Replicas: 4 } }, UpdateConfig: { Parallelism: 3, FailureAction: 'pause', Monitor: 5000000000, MaxFailureRatio: 0, Order: 'stop-first' }, EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] } },
  },
  {
    cmd: 'service update -d --no-resolve-image --mount-add type=volume,target=/x --mount-rm /y --container-label-add k=v --container-label-rm c --publish-rm 8080:80 web',
    flags: { mountAdd: ['type=volume,target=/x'], mountRm: ['/y'], containerLabelAdd: ['k=v'], containerLabelRm: ['c'], publishRm: ['8080:80'] },
    expected: { Name: 'web', Labels: { drop: '2', keep: '1' }, TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Labels: { k: 'v' }, Args: ['httpd', '-f'], Env: ['A=1', 'B=2'], Mounts: [{ Type: 'volume', Target: '/x' }] }, Placement: { Constraints: ['node.role==manager', 'node.labels.x==y'] }, ForceUpdate: 0, Runtime: 'container' }, Mode: { Replicated: { Replicas: 2 } }, EndpointSpec: { Mode: 'vip' } },
  },
];

for (const c of UPDATE_CASES) {
  test(`serviceUpdateSpec matches docker: ${c.cmd}`, () => {
    assert.deepStrictEqual(plain(serviceUpdateSpec(CURRENT, c.flags)), c.expected);
    // The service read from the daemon is not modified in place.
    assert.deepStrictEqual(CURRENT.TaskTemplate.ContainerSpec.Env, ['A=1', 'B=2']);
  });
}

test('anySpecFlag: --rollback may stand alone only (docker: "other flags may not be combined with --rollback")', () => {
  assert.equal(anySpecFlag({}), false);
  assert.equal(anySpecFlag({ image: 'x' }), true);
  assert.equal(anySpecFlag({ healthcheck: false }), true);
  assert.equal(anySpecFlag({ envAdd: ['A=1'] }), true);
});

test('parseScaleArg: NAME=REPLICAS', () => {
  assert.deepStrictEqual(parseScaleArg('web=5'), { service: 'web', replicas: 5 });
  assert.match((parseScaleArg('web') as { usage: string }).usage, /^invalid scale specifier 'web'\.\nSee 'berth service scale --help'\./);
  assert.ok('usage' in parseScaleArg('web='));
  assert.ok('usage' in parseScaleArg('=3'));
  assert.deepStrictEqual(parseScaleArg('web=x'), { service: 'web', error: 'invalid replicas value x: strconv.ParseUint: parsing "x": invalid syntax' });
});

test('scaleSpec sets Replicas; a global service cannot be scaled', () => {
  assert.deepStrictEqual(plain(scaleSpec(CURRENT, 5)).Mode, { Replicated: { Replicas: 5 } });
  assert.throws(() => scaleSpec({ Mode: { Global: {} } }, 2), /scale can only be used with replicated or replicated-job mode/);
});

const NODE = { Labels: { old: 'x' }, Role: 'worker' as const, Availability: 'active' as const };

test('nodeUpdateSpec matches docker: node update --label-add a=b --label-rm old --availability drain --role manager', () => {
  assert.deepStrictEqual(plain(nodeUpdateSpec(NODE, { labelAdd: ['a=b'], labelRm: ['old'], availability: 'drain', role: 'manager' })),
    { Labels: { a: 'b' }, Role: 'manager', Availability: 'drain' });
});

test('nodeUpdateSpec matches docker: node promote (role only)', () => {
  assert.deepStrictEqual(plain(nodeUpdateSpec(NODE, { role: 'manager' })), { Labels: { old: 'x' }, Role: 'manager', Availability: 'active' });
});

test('nodeUpdateSpec: values as typed, a missing label refused; swarm init checks --availability', () => {
  // docker sends these as typed (the daemon refuses them): `node update --role Boss --availability DRAIN`.
  assert.deepStrictEqual(plain(nodeUpdateSpec(NODE, { role: 'Boss', availability: 'DRAIN' })), { Labels: { old: 'x' }, Role: 'Boss', Availability: 'DRAIN' });
  assert.throws(() => swarmInitBody({ availability: 'gone' }), (e: unknown) => e instanceof StatusError && e.message === 'invalid availability "gone", only active, pause and drain are supported');
  assert.throws(() => nodeUpdateSpec(NODE, { labelRm: ['nope'] }), /key nope doesn't exist in node's labels/);
});

test('swarmInitBody matches docker: swarm init', () => {
  assert.deepStrictEqual(plain(swarmInitBody({})), { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: '', DataPathAddr: '', DataPathPort: 0, ForceNewCluster: false, Spec: { Labels: null, Orchestration: {}, Raft: { ElectionTick: 0, HeartbeatTick: 0 }, Dispatcher: {}, CAConfig: {}, TaskDefaults: {}, EncryptionConfig: { AutoLockManagers: false } }, AutoLockManagers: false, Availability: '', DefaultAddrPool: [], SubnetSize: 24 });
});

test('swarmInitBody matches docker: swarm init --advertise-addr 10.0.0.1 --listen-addr 0.0.0.0:2377 --autolock --task-history-limit 3 --cert-expiry 24h', () => {
  assert.deepStrictEqual(plain(swarmInitBody({ advertiseAddr: '10.0.0.1', listenAddr: '0.0.0.0:2377', autolock: true, taskHistoryLimit: '3', certExpiry: '24h' })),
    { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: '10.0.0.1', DataPathAddr: '', DataPathPort: 0, ForceNewCluster: false, Spec: { Labels: null, Orchestration: { TaskHistoryRetentionLimit: 3 }, Raft: { ElectionTick: 0, HeartbeatTick: 0 }, Dispatcher: {}, CAConfig: { NodeCertExpiry: 86400000000000 }, TaskDefaults: {}, EncryptionConfig: { AutoLockManagers: true } }, AutoLockManagers: true, Availability: '', DefaultAddrPool: [], SubnetSize: 24 });
});

test('swarmJoinBody matches docker: swarm join --token T 10.0.0.1:2377, and with --advertise-addr/--listen-addr/--availability', () => {
  assert.deepStrictEqual(plain(swarmJoinBody({ token: 'SWMTKN-1-x' }, '10.0.0.1:2377')), { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: '', DataPathAddr: '', RemoteAddrs: ['10.0.0.1:2377'], JoinToken: 'SWMTKN-1-x', Availability: '' });
  assert.deepStrictEqual(plain(swarmJoinBody({ token: 'SWMTKN-1-x', advertiseAddr: '10.0.0.2', listenAddr: '0.0.0.0:2377', availability: 'drain' }, '10.0.0.1')),
    { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: '10.0.0.2', DataPathAddr: '', RemoteAddrs: ['10.0.0.1'], JoinToken: 'SWMTKN-1-x', Availability: 'drain' });
});

test('swarmUpdateSpec matches docker: swarm update --task-history-limit 7 --autolock=true', () => {
  const current = { Name: 'default', Orchestration: { TaskHistoryRetentionLimit: 5 }, Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 }, Dispatcher: { HeartbeatPeriod: 5000000000 }, CAConfig: { NodeCertExpiry: 7776000000000000 }, TaskDefaults: {}, EncryptionConfig: { AutoLockManagers: false } };
  // docker also sends "Labels": null (a nil map in its struct); absent here, the same to the daemon.
  assert.deepStrictEqual(plain(swarmUpdateSpec(current, { taskHistoryLimit: '7', autolock: true })),
    { Name: 'default', Orchestration: { TaskHistoryRetentionLimit: 7 }, Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 }, Dispatcher: { HeartbeatPeriod: 5000000000 }, CAConfig: { NodeCertExpiry: 7776000000000000 }, TaskDefaults: {}, EncryptionConfig: { AutoLockManagers: true } });
});

test('--secret / --config as docker\'s SecretOpt and ConfigOpt; update\'s -rm by name then -add appended', () => {
  assert.deepEqual(parseObjectRef('secret', 'db'), { File: { Name: 'db', UID: '0', GID: '0', Mode: 0o444 }, SecretName: 'db' });
  assert.deepEqual(parseObjectRef('secret', 'source=db,target=pw,uid=1000,gid=1001,mode=0400'),
    { File: { Name: 'pw', UID: '1000', GID: '1001', Mode: 0o400 }, SecretName: 'db' });
  assert.deepEqual(parseObjectRef('config', 'src=app.conf,target=/etc/app.conf,mode=292'),
    { File: { Name: '/etc/app.conf', UID: '0', GID: '0', Mode: 292 }, ConfigName: 'app.conf' });
  const bad = (kind: 'secret' | 'config', v: string, reason: string) => assert.throws(() => parseObjectRef(kind, v), (e) => e instanceof SpecError && e.message === reason && e.flag === `--${kind}`);
  bad('secret', 'target=x', 'source is required');
  bad('secret', 'source=x,color=red', 'invalid field in secret request: color');
  bad('config', 'source=x,oops', "invalid field 'oops' must be a key=value pair");
  bad('secret', 'source=x,mode=rw', 'invalid mode specified: strconv.ParseUint: parsing "rw": invalid syntax');
  const current = serviceCreateSpec({ secret: ['db'], config: ['app.conf'] }, ['busybox']);
  const c = current.TaskTemplate!.ContainerSpec as any;
  c.Secrets[0].SecretID = 's1';
  c.Configs[0].ConfigID = 'c1';
  const next = serviceUpdateSpec(current, { secretRm: ['db'], secretAdd: ['source=db2,target=db'] }).TaskTemplate!.ContainerSpec as any;
  assert.deepEqual(next.Secrets, [{ File: { Name: 'db', UID: '0', GID: '0', Mode: 0o444 }, SecretName: 'db2' }]);
  assert.deepEqual(next.Configs, c.Configs);
  assert.equal(anySpecFlag({ configRm: ['x'] }), true);
});
