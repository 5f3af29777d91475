// The system router against a fake backend (src/api/inject.ts): ping, version, df (assembled by
// the engine's systemDf over fakes) and the events stream.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineEvent } from '../../../engine/events.ts';
import type { ImageRecord } from '../../../engine/images.ts';
import { systemDf } from '../../../engine/system-df.ts';
import { containerRecord } from '../../../engine/testing/container-record.ts';
import type { ImageConfigFile } from '../../types/image.ts';
import type { Volume } from '../../types/volume.ts';
import type { SwarmInfo } from '../../types/swarm.ts';
import { injector } from '../../inject.ts';
import type { SystemBackend, SystemInfo } from './backend.ts';
import { systemRoutes } from './routes.ts';

const IMG: ImageRecord = { id: 'sha256:' + '1'.repeat(64), manifest: 'sha256:m', layers: [], size: 100 };
const CTR = containerRecord('web', { Image: IMG.id });
const VOL: Volume = { Name: 'data', Driver: 'local', Mountpoint: '/v/data/_data', CreatedAt: '2026-01-01T00:00:00Z', Labels: null, Scope: 'local', Options: null };
const now = Date.now();
const ev = (action: string, secondsAgo: number): EngineEvent => {
  const ns = (now - secondsAgo * 1000) * 1e6;
  return { Type: 'container', Action: action, Actor: { ID: CTR.ID, Attributes: { name: 'web', image: 'busybox' } }, scope: 'local', time: Math.floor(ns / 1e9), timeNano: ns };
};
const HISTORY = [ev('create', 30), ev('start', 20), ev('die', 10)];

const backend: SystemBackend = {
  info: async () => ({ kernelVersion: '6.1.0', version: '0.1.0', defaultRuntime: 'runc' } as SystemInfo),
  df: (types) => systemDf({
    diskUsage: async () => ({ layersSize: 100, sharedSize: new Map([[IMG.id, 40]]) }),
    images: {
      all: () => [IMG], config: async () => ({ created: '2026-01-01T00:00:00Z', config: {} } as ImageConfigFile),
      refsOf: () => ['docker.io/library/busybox:latest'], has: () => true, resolve: () => IMG,
    },
    containersUsing: () => 1,
    containers: { list: () => [CTR], sizeRw: async () => 5 },
    volumes: { list: () => [VOL], size: async () => 12, usedBy: () => [CTR.ID] },
    buildCacheUsage: () => [],
  }, types),
  events: {
    history: (since, until) => HISTORY.filter((e) => e.timeNano >= since && e.timeNano <= until),
    subscribe: () => () => {},
  },
};

const api = await injector(systemRoutes(backend));
after(() => api.close());

test('GET and HEAD /_ping: OK; /version: the API range', async () => {
  let r = await api.request('GET', '/_ping');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'OK');
  assert.equal(r.headers['api-version'], '1.47');
  r = await api.request('HEAD', '/_ping');
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 0);
  r = await api.request('GET', '/v1.24/version');
  assert.equal(r.json().ApiVersion, '1.47');
  assert.equal(r.json().MinAPIVersion, '1.24');
  assert.equal(r.json().KernelVersion, '6.1.0');
});

test('GET /system/df: every kind, in Docker\'s shape; `type` from API 1.42 (older clients get all); VirtualSize before 1.44', async () => {
  let r = await api.request('GET', '/v1.47/system/df');
  assert.equal(r.status, 200);
  const du = r.json();
  assert.deepEqual(Object.keys(du), ['LayersSize', 'Images', 'Containers', 'Volumes', 'BuildCache']);
  assert.equal(du.LayersSize, 100);
  assert.deepEqual(du.Images[0], {
    Id: IMG.id, ParentId: '', RepoTags: ['busybox:latest'], RepoDigests: [], Created: Math.floor(Date.parse('2026-01-01T00:00:00Z') / 1000),
    Size: 100, SharedSize: 40, Labels: {}, Containers: 1,
  });
  assert.equal(du.Containers[0].Id, CTR.ID);
  assert.equal(du.Containers[0].SizeRw, 5);
  assert.equal(du.Containers[0].SizeRootFs, 105);
  assert.deepEqual(du.Volumes, [{ ...VOL, UsageData: { Size: 12, RefCount: 1 } }]);
  r = await api.request('GET', '/v1.47/system/df?type=volume&type=container');
  assert.deepEqual(Object.keys(r.json()), ['Containers', 'Volumes']);
  r = await api.request('GET', '/v1.41/system/df?type=volume');
  assert.deepEqual(Object.keys(r.json()), ['LayersSize', 'Images', 'Containers', 'Volumes', 'BuildCache']);
  assert.equal(r.json().Images[0].VirtualSize, 100);
  r = await api.request('GET', '/v1.47/system/df?type=disk');
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: 'unknown object type: disk' });
});

test('GET /events with since and until in the past: the matching history as JSON lines, then the end', async () => {
  const since = Math.floor(now / 1000) - 60;
  const until = Math.floor(now / 1000) - 5;
  let r = await api.request('GET', `/events?since=${since}&until=${until}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.lines().map((e) => [e.status, e.Action]), [['create', 'create'], ['start', 'start'], ['die', 'die']]);
  r = await api.request('GET', `/events?since=${since}&until=${until}&filters=` + encodeURIComponent(JSON.stringify({ event: ['die'] })));
  assert.deepEqual(r.lines().map((e) => e.Action), ['die']);
  assert.equal((await api.request('GET', '/events?filters=' + encodeURIComponent('{"colour":["red"]}'))).status, 400);
});

test('the swarm state: /_ping\'s Swarm header and /info\'s Swarm section come from backend.swarm; without it, no header and the inactive section', async () => {
  const info = async () => ({ kernelVersion: '6.1.0', version: '0.1.0', defaultRuntime: 'runc', containers: { total: 0, running: 0, paused: 0, stopped: 0 } } as SystemInfo);
  let r = await api.request('GET', '/_ping');
  assert.equal(r.headers.swarm, undefined);
  const plain = await injector(systemRoutes({ ...backend, info }));
  try {
    assert.deepEqual((await plain.request('GET', '/info')).json().Swarm, { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null });
  } finally {
    await plain.close();
  }
  let state: SwarmInfo = { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };
  const withSwarm = await injector(systemRoutes({ ...backend, info, swarm: () => state }));
  try {
    const header = async (method = 'GET') => (await withSwarm.request(method, '/_ping')).headers.swarm;
    assert.equal(await header(), 'inactive');
    state = { NodeID: 'n1', NodeAddr: '10.0.0.1', LocalNodeState: 'active', ControlAvailable: true, Error: '', RemoteManagers: [{ NodeID: 'n1', Addr: '10.0.0.1:2377' }], Nodes: 2, Managers: 1 };
    assert.equal(await header(), 'active/manager');
    assert.equal(await header('HEAD'), 'active/manager');
    r = await withSwarm.request('GET', '/info');
    assert.deepEqual(r.json().Swarm, state);
    // A manager that cannot serve yet is still a manager; a node not among the managers a worker.
    state = { ...state, ControlAvailable: false };
    assert.equal(await header(), 'active/manager');
    state = { ...state, NodeID: 'n2', RemoteManagers: [{ NodeID: 'n1', Addr: '10.0.0.1:2377' }] };
    assert.equal(await header(), 'active/worker');
    for (const s of ['pending', 'error', 'locked'] as const) {
      state = { ...state, LocalNodeState: s };
      assert.equal(await header(), s);
    }
  } finally {
    await withSwarm.close();
  }
});
