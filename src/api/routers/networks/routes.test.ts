// The networks router against a fake backend (src/api/inject.ts).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { conflict, EngineError, notFound } from '../../../common/errors.ts';
import type { NetworkInfo } from '../../../engine/engine.ts';
import type { NetworkCreateRequest } from '../../types/network.ts';
import { VXLANID_OPTION, type ClusterNetwork } from '../../types/swarm.ts';
import { injector } from '../../inject.ts';
import type { NetworksBackend } from './backend.ts';
import { networkRoutes } from './routes.ts';

const net = (name: string, o: Partial<NetworkInfo> = {}): NetworkInfo => ({
  name, id: `${name}-id`.padEnd(64, '0'), driver: 'bridge', created: '2026-01-01T00:00:00.000Z', predefined: false, internal: false,
  attachable: false, enableIPv6: false, labels: {}, options: {}, ipamOptions: null, ipamConfig: [], containers: [], ...o,
});
const NETS = [
  net('bridge', { predefined: true, containers: [{ id: 'c'.repeat(64), name: 'web', endpointId: 'e', mac: 'm', ipv4: '172.17.0.2/16', ipv6: '' }] }),
  net('host', { predefined: true, driver: 'host' }),
  net('front', { labels: { tier: 'web' } }),
];
const created: NetworkCreateRequest[] = [];
const connects: unknown[][] = [];
const backend: NetworksBackend = {
  list: () => NETS,
  get: (ref) => { const n = NETS.find((x) => x.name === ref || x.id.startsWith(ref)); if (!n) throw notFound(`network ${ref} not found`); return n; },
  create: async (req) => { if (NETS.some((n) => n.name === req.Name)) throw conflict(`network with name ${req.Name} already exists`); created.push(req); return { Id: 'n'.repeat(64), Warning: '' }; },
  remove: async (ref) => { if (ref === 'bridge') throw new EngineError('Forbidden', 'bridge is a pre-defined network and cannot be removed'); backend.get(ref); },
  prune: async () => [],
  connect: async (ref, c, cfg) => { backend.get(ref); connects.push([c, cfg]); },
  disconnect: async (ref) => { backend.get(ref); },
};

const api = await injector(networkRoutes(backend));
after(() => api.close());
const names = (r: { json: () => { Name: string }[] }) => r.json().map((n) => n.Name);
const f = (x: unknown) => 'filters=' + encodeURIComponent(JSON.stringify(x));

test('GET /networks: filters (type, dangling, label, driver); bad values 400; containers listed only before API 1.28', async () => {
  assert.deepEqual(names(await api.request('GET', `/networks?${f({ type: ['custom'] })}`)), ['front']);
  assert.deepEqual(names(await api.request('GET', `/networks?${f({ dangling: ['1'] })}`)), ['front']);
  assert.deepEqual(names(await api.request('GET', `/networks?${f({ dangling: ['false'] })}`)), ['bridge', 'host']);
  assert.deepEqual(names(await api.request('GET', `/networks?${f({ label: ['tier=web'] })}`)), ['front']);
  assert.deepEqual(names(await api.request('GET', `/networks?${f({ driver: ['host'] })}`)), ['host']);
  let r = await api.request('GET', `/networks?${f({ type: ['weird'] })}`);
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: "invalid filter: 'type'='weird'" });
  assert.equal((await api.request('GET', `/networks?${f({ dangling: ['yes'] })}`)).status, 400);
  assert.equal((await api.request('GET', `/networks?${f({ colour: ['red'] })}`)).status, 400);
  r = await api.request('GET', '/v1.27/networks');
  assert.deepEqual(Object.keys(r.json()[0].Containers), ['c'.repeat(64)]);
  r = await api.request('GET', '/v1.47/networks');
  assert.deepEqual(r.json()[0].Containers, {});
});

test('GET /networks/{id}: 200 with containers; 404 unknown or in another scope; 400 bad verbose', async () => {
  const r = await api.request('GET', '/networks/bridge?verbose=false');
  assert.equal(r.status, 200);
  assert.equal(r.json().Containers['c'.repeat(64)].IPv4Address, '172.17.0.2/16');
  assert.equal((await api.request('GET', '/networks/nope')).status, 404);
  assert.equal((await api.request('GET', '/networks/bridge?scope=swarm')).status, 404);
  assert.equal((await api.request('GET', '/networks/bridge?verbose=perhaps')).status, 400);
});

test('POST /networks/create 201 (409 taken, 400 not an object); DELETE 204 (403 pre-defined); connect 200 (400 without a container)', async () => {
  let r = await api.request('POST', '/networks/create', { body: { name: 'back', labels: { a: 'b' } } });
  assert.equal(r.status, 201);
  // Field names matched case-insensitively, as Go's decoder matches them.
  assert.deepEqual(created, [{ Name: 'back', Labels: { a: 'b' } }]);
  assert.equal((await api.request('POST', '/networks/create', { body: { Name: 'front' } })).status, 409);
  assert.equal((await api.request('POST', '/networks/create', { body: 'front' })).status, 400);
  assert.equal((await api.request('DELETE', '/networks/front')).status, 204);
  assert.equal((await api.request('DELETE', '/networks/bridge')).status, 403);
  assert.equal((await api.request('DELETE', '/networks/nope')).status, 404);
  r = await api.request('POST', '/networks/front/connect', { body: { Container: 'web', EndpointConfig: { Aliases: ['w'] } } });
  assert.equal(r.status, 200);
  assert.deepEqual(connects, [['web', { Aliases: ['w'] }]]);
  r = await api.request('POST', '/networks/front/connect', { body: {} });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: 'no container specified' });
  assert.equal((await api.request('POST', '/networks/front/disconnect', { body: { Container: 'web', Force: true } })).status, 200);
  r = await api.request('POST', '/networks/prune');
  assert.deepEqual(r.json(), { NetworksDeleted: null });
});

test('cluster networks: listed and inspected beside local ones as dockerd shows them (Scope swarm), scope filters', async () => {
  const appnet: ClusterNetwork = {
    ID: 'appnetid0123456789abcdefg', Version: { Index: 9 }, CreatedAt: '2026-12-06T10:00:00.500000000Z', UpdatedAt: '2026-12-06T10:00:00Z',
    Spec: { Name: 'appnet', Labels: { team: 'a' }, Attachable: true, DriverConfiguration: { Name: 'overlay' } },
    DriverState: { Name: 'overlay', Options: { [VXLANID_OPTION]: '4097' } },
    IPAMOptions: { Driver: { Name: 'default' }, Configs: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }] },
  };
  const ingress: ClusterNetwork = { ...appnet, ID: 'ingressid0123456789abcdef', Spec: { Name: 'ingress', Ingress: true, Labels: {} },
    DriverState: { Name: 'overlay', Options: { [VXLANID_OPTION]: '4096' } }, IPAMOptions: { Driver: { Name: 'default' }, Configs: [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }] } };
  const c = await injector(networkRoutes({ ...backend, clusterNetworks: async () => [ingress, appnet] }));
  try {
    assert.deepEqual(names(await c.request('GET', '/networks')), ['bridge', 'host', 'front', 'ingress', 'appnet']);
    assert.deepEqual(names(await c.request('GET', `/networks?${f({ scope: ['swarm'] })}`)), ['ingress', 'appnet']);
    assert.deepEqual(names(await c.request('GET', `/networks?${f({ driver: ['overlay'], label: ['team=a'] })}`)), ['appnet']);
    const r = await c.request('GET', '/networks/appnet');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), {
      Name: 'appnet', Id: appnet.ID, Created: '2026-12-06T10:00:00.5Z', Scope: 'swarm', Driver: 'overlay', EnableIPv4: true, EnableIPv6: false,
      IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }] },
      Internal: false, Attachable: true, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: null,
      Options: { [VXLANID_OPTION]: '4097' }, Labels: { team: 'a' },
    });
    assert.equal((await c.request('GET', '/networks/ingress?scope=swarm')).json().Ingress, true);
    assert.equal((await c.request('GET', '/networks/appnetid?scope=swarm')).json().Name, 'appnet', 'a unique ID prefix');
    assert.equal((await c.request('GET', '/networks/appnet?scope=local')).status, 404);
    assert.equal((await c.request('GET', '/networks/front?scope=swarm')).status, 404);
    assert.equal((await c.request('GET', '/networks/front')).json().Scope, 'local');
  } finally {
    await c.close();
  }
});
