import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Task, TaskSpec } from '../../api/types/swarm.ts';
import { containerCreateBody, portStatusOf, stopTimeoutSeconds, taskContainerName, taskImage, taskLabels } from './spec.ts';

function task(spec: TaskSpec, o: Partial<Task> = {}): Task {
  return {
    ID: 'tid1', Version: { Index: 1 }, ServiceID: 'sid1', Slot: 2, NodeID: 'nid1', Spec: spec,
    Status: { Timestamp: '2026-12-06T00:00:00Z', State: 'assigned' }, DesiredState: 'running', ...o,
  };
}

const SYSTEM = {
  'com.docker.swarm.node.id': 'nid1', 'com.docker.swarm.service.id': 'sid1', 'com.docker.swarm.service.name': 'web',
  'com.docker.swarm.task': '', 'com.docker.swarm.task.id': 'tid1', 'com.docker.swarm.task.name': 'web.2.tid1',
};

test('container names: service.slot.task, a global task takes its node ID for the slot', () => {
  assert.equal(taskContainerName(task({}), 'web'), 'web.2.tid1');
  assert.equal(taskContainerName(task({}, { Slot: undefined }), 'web'), 'web.nid1.tid1');
  assert.equal(taskContainerName(task({}, { Slot: 0 }), 'web'), 'web.nid1.tid1');
});

test('labels: the spec, then the task, then the system labels, which win', () => {
  const t = task({ ContainerSpec: { Image: 'busybox', Labels: { a: '1', b: '1', 'com.docker.swarm.task.id': 'forged' } } }, { Labels: { b: '2' } });
  assert.deepEqual(taskLabels(t, 'web'), { a: '1', b: '2', ...SYSTEM });
});

test('images: the familiar name with :latest when neither tag nor digest is given', () => {
  const d = 'sha256:' + 'a'.repeat(64);
  const table: [string, string][] = [
    ['busybox', 'busybox:latest'], ['busybox:1.36', 'busybox:1.36'], ['docker.io/library/busybox', 'busybox:latest'],
    ['localhost:5000/app', 'localhost:5000/app:latest'], [`busybox@${d}`, `busybox@${d}`], ['Bad:Ref!', 'Bad:Ref!'],
  ];
  for (const [raw, want] of table) assert.equal(taskImage(raw), want, raw);
});

test('stop grace: nanoseconds to whole seconds (rounded up), 10 s by default', () => {
  assert.equal(stopTimeoutSeconds(undefined), 10);
  assert.equal(stopTimeoutSeconds(5e9), 5);
  assert.equal(stopTimeoutSeconds(1), 1);
  assert.equal(stopTimeoutSeconds(0), 0);
});

test('ContainerSpec → create body, field by field', () => {
  const base = { Image: 'busybox:latest', Labels: SYSTEM, HostConfig: { RestartPolicy: { Name: 'no' } } };
  const table: { name: string; spec: TaskSpec; task?: Partial<Task>; want: Record<string, unknown> }[] = [
    { name: 'bare', spec: { ContainerSpec: { Image: 'busybox' } }, want: base },
    { name: 'Command replaces the entrypoint, Args are its Cmd',
      spec: { ContainerSpec: { Image: 'busybox', Command: ['sh', '-c'], Args: ['echo hi'] } },
      want: { ...base, Entrypoint: ['sh', '-c'], Cmd: ['echo hi'] } },
    { name: 'Command alone clears the image Cmd', spec: { ContainerSpec: { Image: 'busybox', Command: ['top'] } },
      want: { ...base, Entrypoint: ['top'], Cmd: [] } },
    { name: 'Args alone', spec: { ContainerSpec: { Image: 'busybox', Args: ['sleep', '1'] } }, want: { ...base, Cmd: ['sleep', '1'] } },
    { name: 'process fields',
      spec: { ContainerSpec: { Image: 'busybox', Env: ['A=1'], Dir: '/w', User: 'nobody', Hostname: 'h', TTY: true, OpenStdin: true, StopSignal: 'SIGUSR1', StopGracePeriod: 3e9 } },
      want: { ...base, Env: ['A=1'], WorkingDir: '/w', User: 'nobody', Hostname: 'h', Tty: true, OpenStdin: true, StopSignal: 'SIGUSR1', StopTimeout: 3 } },
    { name: 'HealthCheck becomes Healthcheck',
      spec: { ContainerSpec: { Image: 'busybox', HealthCheck: { Test: ['CMD', 'true'], Interval: 1e9, Retries: 2 } } },
      want: { ...base, Healthcheck: { Test: ['CMD', 'true'], Interval: 1e9, Retries: 2 } } },
    { name: 'host settings',
      spec: { ContainerSpec: {
        Image: 'busybox', ReadOnly: true, Init: true, Groups: ['audio'], Sysctls: { 'net.ipv4.ip_forward': '1' },
        CapabilityAdd: ['CAP_NET_ADMIN'], CapabilityDrop: ['CAP_CHOWN'], Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 20 }],
        Mounts: [{ Type: 'volume', Source: 'v', Target: '/data' }],
        Hosts: ['10.0.0.1 db alias', 'bogus'], DNSConfig: { Nameservers: ['1.1.1.1'], Search: ['x'], Options: ['ndots:1'] },
      } },
      want: { ...base, HostConfig: {
        RestartPolicy: { Name: 'no' }, ReadonlyRootfs: true, Init: true, GroupAdd: ['audio'], Sysctls: { 'net.ipv4.ip_forward': '1' },
        CapAdd: ['CAP_NET_ADMIN'], CapDrop: ['CAP_CHOWN'], Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 20 }],
        Mounts: [{ Type: 'volume', Source: 'v', Target: '/data' }], ExtraHosts: ['db:10.0.0.1'],
        Dns: ['1.1.1.1'], DnsSearch: ['x'], DnsOptions: ['ndots:1'],
      } } },
    { name: 'Init false is kept (it overrides the daemon default)', spec: { ContainerSpec: { Image: 'busybox', Init: false } },
      want: { ...base, HostConfig: { RestartPolicy: { Name: 'no' }, Init: false } } },
    { name: 'resource limits',
      spec: { ContainerSpec: { Image: 'busybox' }, Resources: { Limits: { NanoCPUs: 5e8, MemoryBytes: 64 << 20, Pids: 100 }, Reservations: { MemoryBytes: 1 } } },
      want: { ...base, HostConfig: { RestartPolicy: { Name: 'no' }, NanoCpus: 5e8, Memory: 64 << 20, PidsLimit: 100 } } },
    { name: 'log driver', spec: { ContainerSpec: { Image: 'busybox' }, LogDriver: { Name: 'json-file', Options: { 'max-size': '1m' } } },
      want: { ...base, HostConfig: { RestartPolicy: { Name: 'no' }, LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } } } } },
    { name: 'host-mode ports publish; ingress ones do not',
      spec: { ContainerSpec: { Image: 'busybox' } },
      task: { Endpoint: { Spec: { Ports: [
        { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' },
        { Protocol: 'udp', TargetPort: 53, PublishMode: 'host' },
        { Protocol: 'tcp', TargetPort: 443, PublishedPort: 443, PublishMode: 'ingress' },
      ] } } },
      want: { ...base, ExposedPorts: { '80/tcp': {}, '53/udp': {} }, HostConfig: {
        RestartPolicy: { Name: 'no' }, PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostIp: '', HostPort: '' }] },
      } } },
  ];
  for (const row of table) assert.deepEqual(containerCreateBody(task(row.spec, row.task), 'web'), row.want, row.name);
});

test('PortStatus: the host ports really bound, once per port', () => {
  const t = task({ ContainerSpec: { Image: 'busybox' } }, { Endpoint: { Spec: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishMode: 'host' }] } } });
  assert.deepEqual(portStatusOf(t, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '32768' }, { HostIp: '::', HostPort: '32768' }] }),
    { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 32768, PublishMode: 'host' }] });
  assert.equal(portStatusOf(t, {}), undefined);
  assert.equal(portStatusOf(task({}), { '80/tcp': [{ HostPort: '1' }] }), undefined);
});
