// The leader's network allocation (pass.ts step 5 over allocator.ts) through the Leader and its
// fenced write path, on the in-memory store: nodes' ingress addresses, service endpoints, task
// attachments, standalone attachments; freed with their objects; recomputed by a new leader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkAttachment, Node, Service, ServiceEndpoint, ServiceSpec, Task } from '../../api/types/swarm.ts';
import { allocateNetwork, ingressNetwork } from '../allocator/allocator.ts';
import { Leader } from './leader.ts';
import { MemoryLeaderStore } from './memory-store.ts';

const NOW = '2026-12-06T00:00:00Z';
const POOL = { DefaultAddrPool: ['10.0.0.0/8'], SubnetSize: 24 };

const node = (id: string): Node => ({
  ID: id, Version: { Index: 1 }, CreatedAt: NOW, UpdatedAt: NOW, Spec: { Availability: 'active', Role: 'worker', Labels: {} },
  Description: { Hostname: id, Resources: { NanoCPUs: 4e9, MemoryBytes: 8 * 2 ** 30 } }, Status: { State: 'ready', Addr: '192.0.2.1' },
});
const service = (id: string, spec: ServiceSpec): Service => ({
  ID: id, Version: { Index: 1 }, CreatedAt: NOW, UpdatedAt: NOW,
  Spec: { Name: id, Mode: { Replicated: { Replicas: 2 } }, ...spec, TaskTemplate: { ContainerSpec: { Image: 'web' }, ...spec.TaskTemplate } },
});

function setup(): { store: MemoryLeaderStore; leader: Leader } {
  const store = new MemoryLeaderStore();
  const ingress = ingressNetwork('ing', NOW, POOL);
  store.putNetwork(ingress);
  const spec = { Name: 'app', Attachable: true };
  store.putNetwork({ ID: 'app', Version: { Index: 0 }, CreatedAt: NOW, UpdatedAt: NOW, Spec: spec, ...allocateNetwork(spec, [ingress], POOL) });
  for (const id of ['n1', 'n2']) { store.putNode(node(id)); store.setAlive(id, true); }
  return { store, leader: new Leader({ store }) };
}

/** Every address the store's objects hold, per network: none twice, none the gateway. */
function addresses(store: MemoryLeaderStore): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (net: string, addr: string) => out.set(net, [...(out.get(net) ?? []), addr]);
  for (const n of store.nodes.values()) for (const a of (n.Attachments ?? []) as NetworkAttachment[]) for (const x of a.Addresses) add(a.Network.ID, x);
  for (const s of store.services.values()) for (const v of (s.Endpoint as ServiceEndpoint | undefined)?.VirtualIPs ?? []) add(v.NetworkID, v.Addr);
  for (const t of store.tasks.values()) for (const a of (t.NetworksAttachments ?? []) as NetworkAttachment[]) for (const x of a.Addresses) add(a.Network.ID, x);
  for (const a of store.attachments.values()) for (const x of a.Addresses ?? []) add(a.NetworkID, x);
  for (const [net, list] of out) {
    assert.equal(new Set(list).size, list.length, `an address used twice on ${net}: ${list.join(' ')}`);
    const gw = store.networks.get(net)!.IPAMOptions.Configs[0]!.Gateway;
    assert.ok(!list.includes(`${gw}/24`), `the gateway ${gw} handed out on ${net}`);
  }
  return out;
}

test('the leader allocates nodes\' ingress addresses, a service\'s endpoint, its tasks\' attachments; all distinct; freed on removal', async () => {
  const { store, leader } = setup();
  leader.start();
  try {
    store.putService(service('web', {
      TaskTemplate: { Networks: [{ Target: 'app', Aliases: ['www'] }] },
      EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }, { TargetPort: 81 }] },
    }));
    await leader.settle();
    for (const n of store.nodes.values()) {
      const atts = n.Attachments as NetworkAttachment[];
      assert.equal(atts.length, 1);
      assert.equal(atts[0]!.Network.ID, 'ing');
    }
    const ep = store.services.get('web')!.Endpoint as ServiceEndpoint;
    assert.deepEqual(ep.Ports?.map((p) => [p.PublishMode, p.TargetPort, p.PublishedPort]), [['ingress', 80, 8080], ['ingress', 81, 30000]]);
    assert.deepEqual(ep.VirtualIPs?.map((v) => v.NetworkID), ['ing', 'app']);
    const tasks = [...store.tasks.values()];
    assert.equal(tasks.length, 2);
    for (const t of tasks) {
      const atts = t.NetworksAttachments as NetworkAttachment[];
      assert.deepEqual(atts.map((a) => a.Network.ID), ['ing', 'app']);
      assert.deepEqual(atts[1]!.Aliases, ['www']);
      assert.match(atts[1]!.Addresses[0]!, /^10\.0\.1\.\d+\/24$/);
    }
    const used = addresses(store);
    assert.equal(used.get('ing')!.length, 2 + 1 + 2, 'two nodes, one VIP, two tasks on ingress');
    assert.equal(used.get('app')!.length, 1 + 2);

    // A new leader (nothing in memory) recomputes from the objects: its passes change nothing.
    await leader.stop();
    const before = store.applied.length;
    const next = new Leader({ store });
    next.start();
    await next.settle();
    assert.deepEqual(store.applied.slice(before).filter((a) => a.ok).map((a) => JSON.stringify(a.writes).slice(0, 300)), [], 'nothing to write');
    // The service removed: once its tasks are gone, a second service gets the freed port and addresses.
    store.removeService('web');
    await next.settle();
    // The agents stop the tasks (their containers gone): the leader deletes them.
    for (const id of [...store.tasks.keys()]) store.updateTask(id, (t) => ({ ...t, Status: { ...t.Status, State: 'shutdown' } }));
    await next.settle();
    assert.equal(store.tasks.size, 0);
    store.putService(service('api', { TaskTemplate: { Networks: [{ Target: 'app' }] }, EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] } }));
    await next.settle();
    const ep2 = store.services.get('api')!.Endpoint as ServiceEndpoint;
    assert.equal(ep2.Ports?.[0]?.PublishedPort, 8080);
    assert.deepEqual(ep2.VirtualIPs, ep.VirtualIPs, 'the lowest free addresses: the old VIPs');
    addresses(store);
    await next.stop();
  } finally {
    await leader.stop();
  }
});

test('service update: a network added gets a VIP, one removed gives its VIP back; new tasks follow the new spec', async () => {
  const { store, leader } = setup();
  leader.start();
  try {
    store.putService(service('web', { Mode: { Replicated: { Replicas: 1 } } }));
    await leader.settle();
    assert.equal((store.services.get('web')!.Endpoint as ServiceEndpoint | undefined)?.VirtualIPs, undefined);
    store.updateService('web', (s) => ({ ...s, Spec: { ...s.Spec, TaskTemplate: { ...s.Spec.TaskTemplate, Networks: [{ Target: 'app' }] } } }));
    await leader.settle();
    assert.deepEqual((store.services.get('web')!.Endpoint as ServiceEndpoint).VirtualIPs, [{ NetworkID: 'app', Addr: '10.0.1.2/24' }]);
    const fresh = [...store.tasks.values()].filter((t: Task) => t.DesiredState === 'running' || t.DesiredState === 'ready');
    assert.ok(fresh.some((t) => ((t.NetworksAttachments ?? []) as NetworkAttachment[]).some((a) => a.Network.ID === 'app')), 'the updated task is on app');
    store.updateService('web', (s) => ({ ...s, Spec: { ...s.Spec, TaskTemplate: { ...s.Spec.TaskTemplate, Networks: [] } } }));
    await leader.settle();
    assert.equal((store.services.get('web')!.Endpoint as ServiceEndpoint).VirtualIPs, undefined);
    addresses(store);
  } finally {
    await leader.stop();
  }
});

test('standalone attachments get an address; are deleted with their node', async () => {
  const { store, leader } = setup();
  leader.start();
  try {
    store.putAttachment({ ID: 'a1', NodeID: 'n1', ContainerID: 'c1', NetworkID: 'app', CreatedAt: NOW });
    store.putAttachment({ ID: 'a2', NodeID: 'n2', ContainerID: 'c2', NetworkID: 'app', CreatedAt: NOW });
    await leader.settle();
    assert.deepEqual([store.attachments.get('a1')?.Addresses, store.attachments.get('a2')?.Addresses], [['10.0.1.2/24'], ['10.0.1.3/24']]);
    store.nodes.delete('n2');
    store.setAlive('n2', false);
    await leader.settle();
    assert.deepEqual([...store.attachments.keys()], ['a1']);
    addresses(store);
  } finally {
    await leader.stop();
  }
});
