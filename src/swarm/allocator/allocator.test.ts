import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterNetwork, NetworkAttachment, Node, Service, ServiceEndpoint, ServiceSpec, Task } from '../../api/types/swarm.ts';
import { VXLANID_OPTION } from '../../api/types/swarm.ts';
import { AllocationError, Allocator, allocateNetwork, defaultAddrPoolError, ingressNetwork, portConflict, vniOf, type StandaloneAttachment } from './allocator.ts';
import { cidrString, overlaps, parseCidr } from './ipv4.ts';

const NOW = '2026-12-06T00:00:00Z';
const POOL = { DefaultAddrPool: ['10.0.0.0/8'], SubnetSize: 24 };

function network(id: string, name: string, existing: ClusterNetwork[], spec: Partial<ClusterNetwork['Spec']> = {}): ClusterNetwork {
  const s: ClusterNetwork['Spec'] = { Name: name, DriverConfiguration: { Name: 'overlay' }, ...spec };
  return { ID: id, Version: { Index: 1 }, CreatedAt: NOW, UpdatedAt: NOW, Spec: s, ...allocateNetwork(s, existing, POOL) };
}

function service(id: string, spec: ServiceSpec, endpoint?: ServiceEndpoint, created = NOW): Service {
  return { ID: id, Version: { Index: 1 }, CreatedAt: created, UpdatedAt: created, Spec: { Name: id, ...spec }, ...(endpoint ? { Endpoint: endpoint } : {}) };
}

function task(id: string, atts: NetworkAttachment[], state: Task['Status']['State'] = 'running', desired: Task['DesiredState'] = 'running'): Task {
  return { ID: id, Version: { Index: 1 }, ServiceID: 's', Spec: {}, Status: { Timestamp: NOW, State: state }, DesiredState: desired, NetworksAttachments: atts };
}

const node = (id: string, atts?: NetworkAttachment[]): Node => ({ ID: id, Spec: { Availability: 'active' }, Status: { State: 'ready' }, ...(atts ? { Attachments: atts } : {}) });

test('networks: ingress gets VNI 4096 and the first pool subnet; others 4097 up and the next free /24, never overlapping', () => {
  const ingress = ingressNetwork('ing', NOW, POOL);
  assert.equal(vniOf(ingress), 4096);
  assert.deepEqual(ingress.IPAMOptions.Configs, [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }]);
  assert.equal(ingress.Spec.Ingress, true);
  const a = network('a', 'a', [ingress]);
  assert.equal(a.DriverState.Options[VXLANID_OPTION], '4097');
  assert.deepEqual(a.IPAMOptions.Configs, [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }]);
  // A user subnet (and gateway) is honoured; the pool skips it.
  const u = network('u', 'u', [ingress, a], { IPAMOptions: { Configs: [{ Subnet: '10.0.2.0/23', Gateway: '10.0.3.254' }] } });
  assert.deepEqual(u.IPAMOptions.Configs, [{ Subnet: '10.0.2.0/23', Gateway: '10.0.3.254' }]);
  assert.equal(vniOf(u), 4098);
  const b = network('b', 'b', [ingress, a, u]);
  assert.equal(b.IPAMOptions.Configs[0]!.Subnet, '10.0.4.0/24');
  // Freed VNIs and subnets are given out again (lowest first).
  const c = network('c', 'c', [ingress, u, b]);
  assert.equal(vniOf(c), 4097);
  assert.equal(c.IPAMOptions.Configs[0]!.Subnet, '10.0.1.0/24');
  // An overlapping user subnet is refused.
  assert.throws(() => network('x', 'x', [ingress, a], { IPAMOptions: { Configs: [{ Subnet: '10.0.1.128/25' }] } }),
    (e) => e instanceof AllocationError && /Pool overlaps with other one/.test(e.message));
  // swarm init's DefaultAddrPool and SubnetSize are the pool.
  const own = ingressNetwork('i2', NOW, { DefaultAddrPool: ['10.77.0.0/16'], SubnetSize: 26 });
  assert.equal(own.IPAMOptions.Configs[0]!.Subnet, '10.77.0.0/26');
  const next = allocateNetwork({ Name: 'n' }, [own], { DefaultAddrPool: ['10.77.0.0/16'], SubnetSize: 26 });
  assert.equal(next.IPAMOptions.Configs[0]!.Subnet, '10.77.0.64/26');
  const all = [ingress, a, u, b].map((n) => parseCidr(n.IPAMOptions.Configs[0]!.Subnet)!);
  for (const [i, x] of all.entries()) for (const y of all.slice(i + 1)) assert.ok(!overlaps(x, y), `${cidrString(x)} overlaps ${cidrString(y)}`);
  // A full pool says so.
  assert.throws(() => allocateNetwork({ Name: 'n' }, [own], { DefaultAddrPool: ['10.77.0.0/26'], SubnetSize: 26 }), /could not find an available, non-overlapping IPv4 address pool/);
});

test('addresses: lowest free, never the network, gateway or broadcast address; the IP range when given; reuse after free', () => {
  const ingress = ingressNetwork('ing', NOW, POOL);
  const small = network('s', 's', [ingress], { IPAMOptions: { Configs: [{ Subnet: '10.9.0.0/29' }] } });
  const a = Allocator.from({ networks: [ingress, small], services: [], tasks: [], nodes: [], attachments: [] });
  // 10.9.0.0/29: .0 network, .1 gateway, .7 broadcast → .2-.6.
  assert.deepEqual([1, 2, 3, 4, 5].map(() => a.address('s')), ['10.9.0.2/29', '10.9.0.3/29', '10.9.0.4/29', '10.9.0.5/29', '10.9.0.6/29']);
  assert.throws(() => a.address('s'), /no available IPv4 addresses on network s/);
  a.release('s', '10.9.0.4/29');
  assert.equal(a.address('s'), '10.9.0.4/29');
  const ranged = network('r', 'r', [ingress], { IPAMOptions: { Configs: [{ Subnet: '10.8.0.0/24', Range: '10.8.0.128/25' }] } });
  assert.equal(Allocator.from({ networks: [ranged], services: [], tasks: [], nodes: [], attachments: [] }).address('r'), '10.8.0.128/24');
});

test('recompute: every live object\'s address is claimed from the store; dead tasks\' and deleted objects\' are free again', () => {
  const ingress = ingressNetwork('ing', NOW, POOL);
  const app = network('app', 'app', [ingress]);
  const at = (n: ClusterNetwork, addr: string): NetworkAttachment => ({ Network: n, Addresses: [addr] });
  const attach: StandaloneAttachment = { ID: 'x', NodeID: 'n1', ContainerID: 'c', NetworkID: 'app', CreatedAt: NOW, Addresses: ['10.0.1.6/24'] };
  const a = Allocator.from({
    networks: [ingress, app],
    nodes: [node('n1', [at(ingress, '10.0.0.2/24')])],
    services: [service('web', {}, { VirtualIPs: [{ NetworkID: 'app', Addr: '10.0.1.2/24' }, { NetworkID: 'ing', Addr: '10.0.0.3/24' }] })],
    tasks: [task('t1', [at(app, '10.0.1.3/24')]), task('t2', [at(app, '10.0.1.4/24')], 'shutdown', 'shutdown'), task('t3', [at(app, '10.0.1.5/24')], 'failed', 'running')],
    attachments: [attach],
  });
  // t2 is dead (wanted and actually stopped): its .4 is free; t3 failed but is still wanted running: .5 stays.
  assert.equal(a.address('app'), '10.0.1.4/24');
  assert.equal(a.address('app'), '10.0.1.7/24');
  assert.equal(a.address('ing'), '10.0.0.4/24');
  assert.equal(a.claim('app', '10.0.1.1/24'), false, 'the gateway is never claimed');
  assert.equal(a.claim('app', '10.0.2.9/24'), false, 'an address outside the subnet is not');
});

test('service endpoints: ingress ports published (given or 30000 up), VIPs ingress first, kept across passes, released when no longer wanted', () => {
  const ingress = ingressNetwork('ing', NOW, POOL);
  const app = network('app', 'app', [ingress]);
  const web = service('web', {
    TaskTemplate: { Networks: [{ Target: 'app', Aliases: ['www'] }] },
    EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }, { TargetPort: 81 }, { TargetPort: 22, PublishedPort: 2222, PublishMode: 'host' }] },
  });
  const input = { networks: [ingress, app], services: [web], tasks: [], nodes: [], attachments: [] };
  const ep = Allocator.from(input).endpoint(web);
  assert.deepEqual(ep.Ports, [
    { TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp', PublishMode: 'ingress' },
    { TargetPort: 81, PublishedPort: 30000, Protocol: 'tcp', PublishMode: 'ingress' },
    { TargetPort: 22, PublishedPort: 2222, Protocol: 'tcp', PublishMode: 'host' },
  ]);
  assert.deepEqual(ep.VirtualIPs, [{ NetworkID: 'ing', Addr: '10.0.0.2/24' }, { NetworkID: 'app', Addr: '10.0.1.2/24' }]);
  // The next pass, from the stored endpoint: the same.
  const stored = { ...web, Endpoint: ep };
  const again = Allocator.from({ ...input, services: [stored] });
  assert.deepEqual(again.endpoint(stored), ep);
  // Another service cannot take 8080 and gets the next dynamic port.
  const api = service('api', { EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] } });
  assert.throws(() => again.endpoint(api), /port '8080' is already in use by service web as an ingress port/);
  assert.deepEqual(again.endpoint(service('api2', { EndpointSpec: { Ports: [{ TargetPort: 9 }] } })).Ports?.[0]?.PublishedPort, 30001);
  // An update without ports and networks: no VIPs; its ports and addresses are free again.
  const bare = { ...stored, Spec: { Name: 'web' } };
  const c = Allocator.from({ ...input, services: [stored] });
  assert.deepEqual(c.endpoint(bare), { Spec: { Mode: 'vip' } });
  assert.equal(c.address('app'), '10.0.1.2/24');
  assert.equal(c.portOwner('tcp', 8080), undefined);
  // dnsrr: no VIP.
  const dns = service('dns', { TaskTemplate: { Networks: [{ Target: 'app' }] }, EndpointSpec: { Mode: 'dnsrr' } });
  assert.equal(Allocator.from(input).endpoint(dns).VirtualIPs, undefined);
});

test('task attachments: ingress when publishing, then the service\'s networks with their aliases, each a new address', () => {
  const ingress = ingressNetwork('ing', NOW, POOL);
  const app = network('app', 'app', [ingress]);
  const a = Allocator.from({ networks: [ingress, app], services: [], tasks: [], nodes: [], attachments: [] });
  const spec: ServiceSpec = { TaskTemplate: { Networks: [{ Target: 'app', Aliases: ['www'] }] }, EndpointSpec: { Ports: [{ TargetPort: 80 }] } };
  const t1 = a.taskAttachments(spec);
  assert.deepEqual(t1.map((x) => [x.Network.ID, x.Addresses, x.Aliases]), [['ing', ['10.0.0.2/24'], undefined], ['app', ['10.0.1.2/24'], ['www']]]);
  assert.deepEqual(a.taskAttachments(spec).map((x) => x.Addresses[0]), ['10.0.0.3/24', '10.0.1.3/24']);
  // The deprecated Spec.Networks when the task template has none; no ingress without ingress ports.
  assert.deepEqual(a.taskAttachments({ Networks: [{ Target: 'app' }], EndpointSpec: { Ports: [{ TargetPort: 80, PublishMode: 'host' }] } })
    .map((x) => x.Network.ID), ['app']);
});

test('port conflicts on create and update: swarmkit\'s texts', () => {
  const web = service('web', { EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] } });
  const host = service('h', { EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 9090, PublishMode: 'host' }] } });
  const dyn = service('d', {}, { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 30000, PublishMode: 'ingress' }] });
  const spec = (p: object[]): ServiceSpec => ({ EndpointSpec: { Ports: p } });
  assert.equal(portConflict(spec([{ TargetPort: 1, PublishedPort: 8080 }]), '', [web, host, dyn]), "port '8080' is already in use by service 'web' (web) as an ingress port");
  assert.equal(portConflict(spec([{ TargetPort: 1, PublishedPort: 8080, PublishMode: 'host' }]), '', [web]), "port '8080' is already in use by service 'web' (web) as an ingress port");
  assert.equal(portConflict(spec([{ TargetPort: 1, PublishedPort: 9090 }]), '', [host]), "port '9090' is already in use by service 'h' (h) as a host-published port");
  assert.equal(portConflict(spec([{ TargetPort: 1, PublishedPort: 30000 }]), '', [dyn]), "port '30000' is already in use by service 'd' (d) as an ingress port");
  // Host against host is the scheduler's business; udp is another port; a service does not conflict with itself.
  assert.equal(portConflict(spec([{ TargetPort: 1, PublishedPort: 9090, PublishMode: 'host' }]), '', [host]), undefined);
  assert.equal(portConflict(spec([{ TargetPort: 1, PublishedPort: 8080, Protocol: 'udp' }]), '', [web]), undefined);
  assert.equal(portConflict(spec([{ TargetPort: 1, PublishedPort: 8080 }]), 'web', [web]), undefined);
});

test('swarm init\'s default address pools: dockerd\'s checks', () => {
  assert.equal(defaultAddrPoolError([], 0), undefined);
  assert.equal(defaultAddrPoolError(['10.20.0.0/16'], 26), undefined);
  assert.equal(defaultAddrPoolError(['10.20.0.0/16'], 30), 'subnet size is out of range: 30');
  assert.equal(defaultAddrPoolError(['10.20.0.0/33'], 24), 'invalid base pool 10.20.0.0/33: invalid CIDR address: 10.20.0.0/33');
  assert.equal(defaultAddrPoolError(['10.20.0.0/16'], 8), 'invalid CIDR: "10.20.0.0/16". Subnet size is too small for pool: 8');
});
