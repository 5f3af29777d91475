import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError, type ErrorKind } from '../../common/errors.ts';
import type { ServiceSpec } from '../../api/types/swarm.ts';
import { normalizeServiceSpec, normalizeServiceUpdate, withDefaults } from './service-spec.ts';

const base = (o: Record<string, unknown> = {}, task: Record<string, unknown> = {}): ServiceSpec =>
  ({ Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'nginx:1.27' }, ...task }, ...o });

/** The spec is refused with this kind and exact text. */
function refused(spec: unknown, kind: ErrorKind, message: string): void {
  assert.throws(() => normalizeServiceSpec(spec as ServiceSpec), (e) => isEngineError(e, kind) && e.message === message, message);
}

test('a minimal spec is stored with one replica, the container runtime and ForceUpdate 0; the input is not changed', () => {
  const input = base();
  assert.deepEqual(normalizeServiceSpec(input), {
    Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'nginx:1.27' }, Runtime: 'container', ForceUpdate: 0 }, Mode: { Replicated: { Replicas: 1 } },
  });
  assert.deepEqual(input, base());
  // The conversion names a nameless service (moby's random names), as docker does.
  assert.equal(normalizeServiceSpec({ TaskTemplate: { ContainerSpec: { Image: 'nginx' } } }, { generateName: () => 'eager_hopper' }).Name, 'eager_hopper');
  const g = normalizeServiceSpec(base({ Mode: { Global: {} }, UpdateConfig: { Parallelism: 2 }, EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }] } }, { RestartPolicy: { MaxAttempts: 3 } }));
  assert.deepEqual(g.Mode, { Global: {} });
  assert.deepEqual(g.UpdateConfig, { Parallelism: 2, FailureAction: 'pause', Order: 'stop-first' });
  assert.deepEqual(g.TaskTemplate?.RestartPolicy, { MaxAttempts: 3, Condition: 'any' });
  assert.equal((g.EndpointSpec as { Mode: string }).Mode, 'vip');
  assert.deepEqual(normalizeServiceSpec(base({ Mode: { Replicated: { Replicas: 0 } } })).Mode, { Replicated: { Replicas: 0 } });
});

test('names as swarmkit checks them, with the texts docker prints', () => {
  refused(base({ Name: 'my service' }), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = name must be valid as a DNS name component');
  refused(base({ Name: '-web' }), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = name must be valid as a DNS name component');
  refused(base({ Name: 'a'.repeat(64) }), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = name must be 63 characters or fewer');
  assert.equal(normalizeServiceSpec(base({ Name: 'a_b-c9' })).Name, 'a_b-c9');
});

test('image, runtime and container checks', () => {
  refused(base({}, { ContainerSpec: { Image: '' } }), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = ContainerSpec: image reference must be provided');
  refused(base({}, { ContainerSpec: { Image: 'Nginx' } }), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = ContainerSpec: "Nginx" is not a valid repository/tag');
  refused({ Name: 'web', TaskTemplate: {} }, 'InvalidParameter', 'mismatched Runtime and *Spec fields');
  refused(base({}, { Runtime: 'attachment' }), 'InvalidParameter', 'unsupported runtime');
  refused(base({}, { ContainerSpec: { Image: 'nginx', Mounts: [{ Target: '/d' }, { Target: '/d' }] } }), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = ContainerSpec: duplicate mount point: /d');
  refused(base({}, { ContainerSpec: { Image: 'nginx', Healthcheck: { Interval: 1000 } } }), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = ContainerSpec: Interval in HealthConfig cannot be less than 1ms');
  refused(base({}, { Resources: { Limits: { MemoryBytes: 1024 } } }), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = invalid memory value 1024: Must be at least 4MiB');
  refused(base({}, { Resources: { Reservations: { NanoCPUs: 500000 } } }), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = invalid cpu value 0.0005: Must be at least 0.001');
  refused(base({}, { Placement: { Constraints: ['node.role'] } }), 'InvalidParameter', 'rpc error: code = Unknown desc = constraint expected one operator from ==, !=');
});

test('mode: exactly one; replicas a non-negative integer (Go\'s decoder text); jobs not yet', () => {
  refused(base({ Mode: { Global: {}, Replicated: { Replicas: 1 } } }), 'InvalidParameter', 'must specify only one service mode');
  refused(base({ Mode: { Replicated: { Replicas: -1 } } }), 'InvalidParameter', 'json: cannot unmarshal number -1 into Go struct field ReplicatedService.Mode.Replicated.Replicas of type uint64');
  refused(base({ Mode: { Replicated: { Replicas: 1.5 } } }), 'InvalidParameter', 'json: cannot unmarshal number 1.5 into Go struct field ReplicatedService.Mode.Replicated.Replicas of type uint64');
  assert.throws(() => normalizeServiceSpec(base({ Mode: { ReplicatedJob: {} } })), (e) => isEngineError(e, 'NotImplemented'));
});

test('restart and update knobs: conversion texts for bad enums, swarmkit\'s for ranges', () => {
  refused(base({}, { RestartPolicy: { Condition: 'sometimes' } }), 'InvalidParameter', 'invalid RestartCondition: "sometimes"');
  refused(base({}, { RestartPolicy: { Delay: -1 } }), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = TaskSpec: restart-delay cannot be negative');
  refused(base({}, { RestartPolicy: { Window: -5 } }), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = TaskSpec: restart-window cannot be negative');
  refused(base({}, { RestartPolicy: { MaxAttempts: -1 } }), 'InvalidParameter', 'json: cannot unmarshal number -1 into Go struct field RestartPolicy.TaskTemplate.RestartPolicy.MaxAttempts of type uint64');
  refused(base({ UpdateConfig: { FailureAction: 'explode' } }), 'InvalidParameter', 'unrecognized update failure action explode');
  refused(base({ RollbackConfig: { Order: 'random' } }), 'InvalidParameter', 'unrecognized update order random');
  refused(base({ UpdateConfig: { Delay: -1 } }), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = TaskSpec: update-delay cannot be negative');
  refused(base({ UpdateConfig: { Monitor: -1 } }), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = TaskSpec: update-monitor cannot be negative');
  refused(base({ UpdateConfig: { MaxFailureRatio: 1.5 } }), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1');
  refused(base({ UpdateConfig: { Parallelism: -2 } }), 'InvalidParameter', 'json: cannot unmarshal number -2 into Go struct field UpdateConfig.UpdateConfig.Parallelism of type uint64');
  // swarmkit checks the ranges of the update config only.
  assert.equal(normalizeServiceSpec(base({ RollbackConfig: { Delay: -1 } })).Name, 'web');
});

test('ports: duplicates and dnsrr as swarmkit; ingress publishing and networks accepted', () => {
  const ep = (Ports: unknown[], Mode?: string) => base({ EndpointSpec: { Mode, Ports } });
  refused(ep([{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }, { TargetPort: 81, PublishedPort: 8080, PublishMode: 'host' }]), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = EndpointSpec: duplicate published ports provided');
  // Same port on another protocol is fine.
  normalizeServiceSpec(ep([{ TargetPort: 53, PublishedPort: 53, PublishMode: 'host' }, { TargetPort: 53, PublishedPort: 53, Protocol: 'udp', PublishMode: 'host' }]));
  refused(ep([{ TargetPort: 80 }], 'dnsrr'), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = EndpointSpec: port published with ingress mode can\'t be used with dnsrr mode');
  refused(ep([{ TargetPort: 80 }], 'round-robin'), 'InvalidParameter', 'invalid resolution mode: "round-robin"');
  assert.deepEqual(normalizeServiceSpec(ep([{ TargetPort: 80, PublishedPort: 8080 }])).EndpointSpec, { Mode: 'vip', Ports: [{ TargetPort: 80, PublishedPort: 8080 }] });
  normalizeServiceSpec(ep([{ TargetPort: 80, PublishMode: 'ingress' }]));
  assert.deepEqual(normalizeServiceSpec(base({}, { Networks: [{ Target: 'overlay1', Aliases: ['a'] }] })).TaskTemplate?.Networks, [{ Target: 'overlay1', Aliases: ['a'] }]);
  // A bad spec is refused for what dockerd refuses, before berth's "not yet".
  refused(base({ Name: 'bad name' }, { ContainerSpec: { Image: 'nginx', Secrets: [{ SecretID: 'x', SecretName: 'x' }] } }), 'InvalidParameter', 'rpc error: code = InvalidArgument desc = name must be valid as a DNS name component');
});

test('secret and config references: accepted when well formed, swarmkit\'s texts otherwise', () => {
  const c = (extra: Record<string, unknown>) => base({}, { ContainerSpec: { Image: 'nginx', ...extra } });
  const file = (Name: string) => ({ Name, UID: '0', GID: '0', Mode: 0o444 });
  const ok = normalizeServiceSpec(c({
    Secrets: [{ SecretID: 's1', SecretName: 'db', File: file('db') }, { SecretID: 's2', SecretName: 'api', File: file('/etc/api.key') }],
    Configs: [{ ConfigID: 'c1', ConfigName: 'nginx.conf', File: file('/etc/nginx/nginx.conf') }, { ConfigID: 'c2', ConfigName: 'cred', Runtime: {} }],
  }));
  assert.equal((ok.TaskTemplate?.ContainerSpec as { Secrets: unknown[] }).Secrets.length, 2);
  const rpc = (d: string) => `rpc error: code = InvalidArgument desc = ${d}`;
  refused(c({ Secrets: [{ SecretName: 'db', File: file('db') }] }), 'InvalidParameter', rpc('malformed secret reference'));
  refused(c({ Secrets: [{ SecretID: 's1', SecretName: 'db' }] }), 'InvalidParameter', rpc('malformed secret reference, no target provided'));
  // Runtime targets are for configs only.
  refused(c({ Secrets: [{ SecretID: 's1', SecretName: 'db', Runtime: {} }] }), 'InvalidParameter', rpc('malformed secret reference, no target provided'));
  refused(c({ Secrets: [{ SecretID: 's1', SecretName: 'db', File: file('') }] }), 'InvalidParameter', rpc('malformed file secret reference, invalid target file name provided'));
  refused(c({ Secrets: [{ SecretID: 's1', SecretName: 'a', File: file('x') }, { SecretID: 's2', SecretName: 'b', File: file('x') }] }), 'InvalidParameter',
    rpc("secret references 'a' and 'b' have a conflicting target: 'x'"));
  refused(c({ Configs: [{ ConfigID: 'c1', ConfigName: 'a' }] }), 'InvalidParameter', rpc('malformed config reference, no target provided'));
  refused(c({ Configs: [{ ConfigID: 'c1', ConfigName: 'a', File: file('/a') }, { ConfigID: 'c2', ConfigName: 'b', File: file('/a') }] }), 'InvalidParameter',
    rpc("config references 'a' and 'b' have a conflicting target: '/a'"));
  refused(c({ Secrets: [{ SecretID: 's1', SecretName: 'db', File: { Name: 'db', UID: 'root' } }] }), 'InvalidParameter', 'invalid UID for secret db: root (a numeric ID is required)');
});

test('updates: no renaming, no change of mode kind (swarmkit\'s Unimplemented texts)', () => {
  const current = { Spec: normalizeServiceSpec(base()) };
  assert.equal(normalizeServiceUpdate(current, base({ Mode: { Replicated: { Replicas: 5 } } })).Mode?.Replicated?.Replicas, 5);
  assert.throws(() => normalizeServiceUpdate(current, base({ Name: 'api' })), (e) => isEngineError(e, 'NotImplemented') && e.message === 'rpc error: code = Unimplemented desc = renaming services is not supported');
  assert.throws(() => normalizeServiceUpdate(current, base({ Mode: { Global: {} } })), (e) => isEngineError(e, 'NotImplemented') && e.message === 'rpc error: code = Unimplemented desc = service mode change is not allowed');
});

test('withDefaults: swarmkit\'s InterpolateService in the API shape; given values kept; a Monitor of 0 becomes 5s', () => {
  const stored = normalizeServiceSpec(base());
  assert.deepEqual(withDefaults(stored), {
    Name: 'web',
    TaskTemplate: {
      ContainerSpec: { Image: 'nginx:1.27', StopGracePeriod: 10e9, DNSConfig: {} },
      Resources: {}, RestartPolicy: { Condition: 'any', Delay: 5e9, MaxAttempts: 0 }, Placement: {}, ForceUpdate: 0, Runtime: 'container',
    },
    Mode: { Replicated: { Replicas: 1 } },
    UpdateConfig: { Parallelism: 1, Delay: 0, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'stop-first' },
    RollbackConfig: { Parallelism: 1, Delay: 0, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'stop-first' },
    EndpointSpec: { Mode: 'vip' },
  });
  const own = withDefaults(normalizeServiceSpec(base({ UpdateConfig: { Parallelism: 3, Monitor: 0 } }, { RestartPolicy: { Condition: 'none' }, ContainerSpec: { Image: 'x', StopGracePeriod: 1e9 } })));
  assert.deepEqual(own.UpdateConfig, { Parallelism: 3, Monitor: 5e9, FailureAction: 'pause', Order: 'stop-first' });
  assert.deepEqual(own.TaskTemplate?.RestartPolicy, { Condition: 'none', Delay: 5e9 });
  assert.equal((own.TaskTemplate?.ContainerSpec as { StopGracePeriod: number }).StopGracePeriod, 1e9);
  assert.equal(stored.UpdateConfig, undefined, 'the argument is not changed');
});
