import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkViews } from './view.ts';
import type { ClusterNetwork, Node, Service, Task } from '../../api/types/swarm.ts';

const net = (id: string, name: string, subnet: string, ingress = false): ClusterNetwork => ({
  ID: id, Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '',
  Spec: { Name: name, ...(ingress ? { Ingress: true } : {}) },
  DriverState: { Name: 'overlay', Options: { 'com.docker.network.driver.overlay.vxlanid_list': ingress ? '4096' : '4097' } },
  IPAMOptions: { Driver: { Name: 'default' }, Configs: [{ Subnet: subnet, Gateway: subnet.replace(/0\/24$/, '1') }] },
});
const appnet = net('n1', 'appnet', '10.0.1.0/24');
const ingress = net('ing', 'ingress', '10.0.0.0/24', true);
const node = (id: string, addr: string, lb?: string): Node => ({
  ID: id, Spec: { Availability: 'active' }, Status: { State: 'ready', Addr: addr },
  ...(lb ? { Attachments: [{ Network: ingress, Addresses: [`${lb}/24`] }] } : {}),
});
const nodes = [node('A', '192.168.5.1', '10.0.0.2'), node('B', '192.168.5.2', '10.0.0.3'), node('C', '192.168.5.3', '10.0.0.4')];
const web: Service = {
  ID: 's1', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '',
  Spec: { Name: 'web', TaskTemplate: { Networks: [{ Target: 'n1', Aliases: ['www'] }] } },
  Endpoint: {
    Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }],
    VirtualIPs: [{ NetworkID: 'n1', Addr: '10.0.1.2/24' }, { NetworkID: 'ing', Addr: '10.0.0.5/24' }],
  },
};
const task = (id: string, nodeId: string, slot: number, ip: string, ingIp: string, state: Task['Status']['State'], desired: Task['DesiredState'] = 'running'): Task => ({
  ID: id, Version: { Index: 1 }, ServiceID: 's1', Slot: slot, NodeID: nodeId, Spec: {}, DesiredState: desired,
  Status: { Timestamp: '', State: state },
  NetworksAttachments: [{ Network: appnet, Addresses: [`${ip}/24`] }, { Network: ingress, Addresses: [`${ingIp}/24`] }],
});
const tasks = [
  task('t1', 'A', 1, '10.0.1.3', '10.0.0.6', 'running'),
  task('t2', 'B', 2, '10.0.1.4', '10.0.0.7', 'starting'),
  task('t0', 'B', 3, '10.0.1.9', '10.0.0.9', 'shutdown', 'shutdown'),
];

test('a node with a task on appnet gets its peers, names and the VIP with the running backends', () => {
  const [app, ing] = networkViews({ nodes, services: [web], tasks }, 'B').sort((a, b) => a.network.Spec.Name.localeCompare(b.network.Spec.Name));
  assert.equal(app.network.ID, 'n1');
  assert.deepEqual(app.endpoints, [
    { ip: '10.0.1.3', vtep: '192.168.5.1', names: ['web.1.t1'], service: 's1', running: true },
    { ip: '10.0.1.4', vtep: '192.168.5.2', names: ['web.2.t2'], service: 's1', running: false },
  ]);
  assert.deepEqual(app.services, [{ id: 's1', name: 'web', mode: 'vip', vip: '10.0.1.2', aliases: ['www'], backends: ['10.0.1.3'], ports: [] }]);
  assert.equal(app.lb, undefined);
  // ingress: the node's load balancer, every node's LB as a peer, the published port.
  assert.equal(ing.lb, '10.0.0.3');
  assert.deepEqual(ing.services[0].ports, [{ protocol: 'tcp', published: 8080, target: 80 }]);
  assert.deepEqual(ing.services[0].backends, ['10.0.0.6']);
  assert.deepEqual(ing.endpoints.filter((e) => !e.service).map((e) => e.ip).sort(), ['10.0.0.2', '10.0.0.3', '10.0.0.4']);
});

test('a node without a task on a network gets only ingress; one outside the mesh gets nothing', () => {
  const views = networkViews({ nodes, services: [web], tasks }, 'C');
  assert.deepEqual(views.map((v) => v.network.ID), ['ing']);
  assert.deepEqual(networkViews({ nodes: [node('D', '192.168.5.4')], services: [], tasks: [] }, 'D'), []);
});

test('a network the cluster has removed gets no view, though a task of a removed service still ends on it', () => {
  const networks = new Map([[ingress.ID, ingress]]);
  assert.deepEqual(networkViews({ nodes, services: [], tasks, networks }, 'B').map((v) => v.network.ID), ['ing']);
  assert.deepEqual(networkViews({ nodes, services: [], tasks, networks: new Map([...networks, [appnet.ID, appnet]]) }, 'B').map((v) => v.network.ID).sort(), ['ing', 'n1']);
});

test('dnsrr: no VIP, the name stands for the running tasks', () => {
  const rr: Service = { ...web, Spec: { ...web.Spec, EndpointSpec: { Mode: 'dnsrr' } }, Endpoint: { Spec: { Mode: 'dnsrr' } } };
  const app = networkViews({ nodes, services: [rr], tasks }, 'A').find((v) => v.network.ID === 'n1')!;
  assert.equal(app.services[0].mode, 'dnsrr');
  assert.equal(app.services[0].vip, undefined);
  assert.deepEqual(app.services[0].backends, ['10.0.1.3']);
});
