// The recreate decision and the order containers are kept or removed in when scaling, and the
// `service:x` references resolved before hashing (what makes a dependant follow its parent).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mustRecreate, orderForScale, resolveServiceReferences, type Expected } from './convergence.ts';
import type { ContainerSummary } from './api.ts';
import type { Service } from '../model.ts';

const c = (id: string, labels: Record<string, string>, more: Partial<ContainerSummary> = {}): ContainerSummary => ({
  Id: id, Names: [`/${id}`], State: 'running', Labels: labels, ...more,
});

const expected: Expected = { hash: 'h1', imageId: 'sha256:i1', networks: ['net1'], volumes: ['p_data'] };
const current = () => c('a', { 'com.docker.compose.config-hash': 'h1', 'com.docker.compose.image': 'sha256:i1' }, {
  NetworkSettings: { Networks: { p_default: { NetworkID: 'net1' } } },
  Mounts: [{ Type: 'volume', Name: 'p_data', Source: '/x', Destination: '/data', RW: true }],
});

test('an up-to-date container is kept; the hash, the image ID, a network or a named volume make it obsolete', () => {
  assert.equal(mustRecreate(expected, current(), 'diverged'), false);
  assert.equal(mustRecreate({ ...expected, hash: 'h2' }, current(), 'diverged'), true);
  assert.equal(mustRecreate({ ...expected, imageId: 'sha256:i2' }, current(), 'diverged'), true);
  assert.equal(mustRecreate({ ...expected, networks: ['net1', 'net2'] }, current(), 'diverged'), true);
  // A stopped container's networks are not compared (it has no endpoints to compare).
  assert.equal(mustRecreate({ ...expected, networks: ['net2'] }, { ...current(), State: 'exited' }, 'diverged'), false);
  assert.equal(mustRecreate({ ...expected, volumes: ['p_other'] }, current(), 'diverged'), true);
  // --force-recreate / --no-recreate.
  assert.equal(mustRecreate(expected, current(), 'force'), true);
  assert.equal(mustRecreate({ ...expected, hash: 'h2' }, current(), 'never'), false);
  // An image not known then and now ('' both) is no difference.
  const noImage = c('b', { 'com.docker.compose.config-hash': 'h1' });
  assert.equal(mustRecreate({ hash: 'h1', imageId: '', networks: [], volumes: [] }, noImage, 'diverged'), false);
});

test('scaling order: up-to-date containers by number (the lowest kept), obsolete ones last (removed first)', () => {
  const n = (id: string, num: string) => c(id, { 'com.docker.compose.container-number': num });
  const cs = [n('x3', '3'), n('x1', '1'), n('x2', '2'), n('x4', '4')];
  assert.deepEqual(orderForScale(cs, () => false).map((x) => x.Id), ['x1', 'x2', 'x3', 'x4']);
  assert.deepEqual(orderForScale(cs, (x) => x.Id === 'x1').map((x) => x.Id), ['x2', 'x3', 'x4', 'x1']);
  // Without numbers: the newest first.
  const t = [c('old', {}, { Created: 1 }), c('new', {}, { Created: 2 })];
  assert.deepEqual(orderForScale(t, () => false).map((x) => x.Id), ['new', 'old']);
});

test('service:x in network_mode, ipc, pid and volumes_from become x\'s first container; a missing one is an error', () => {
  const svc: Service = { name: 'side', networkMode: 'service:main', ipc: 'service:main', pid: 'host', volumesFrom: ['main:ro', 'container:other'] };
  const observed = (name: string) => (name === 'main' ? [c('id2', {}, { Names: ['/p-main-2'] }), c('id1', {}, { Names: ['/p-main-1'] })] : []);
  const r = resolveServiceReferences(svc, observed);
  assert.equal(r.networkMode, 'container:id1');
  assert.equal(r.ipc, 'container:id1');
  assert.equal(r.pid, 'host');
  assert.deepEqual(r.volumesFrom, ['id1:ro', 'other']);
  assert.equal(svc.networkMode, 'service:main', 'the model is not changed');
  assert.throws(() => resolveServiceReferences({ name: 'x', networkMode: 'service:gone' }, observed), /cannot share network namespace with service gone: container missing/);
  assert.throws(() => resolveServiceReferences({ name: 'x', volumesFrom: ['gone'] }, observed), /cannot share volume with service gone: container missing/);
});
