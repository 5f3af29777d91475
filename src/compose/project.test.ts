import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCycle, dependencyOrder, dependents, withProfiles, withSelectedServices, withServicesEnabled, withoutUnnecessaryResources } from './project.ts';
import { containerName, imageName, networkName, oneOffContainerName, serviceScale, networksByPriority, extraHostsList, type Project, type Service } from './model.ts';

const dep = { condition: 'service_started' as const, restart: false, required: true };
function project(services: Record<string, Partial<Service>>): Project {
  return {
    name: 'shop', workingDir: '/shop', composeFiles: [], environment: {}, envFiles: [], disabledServices: {}, profiles: [],
    networks: { default: { name: 'shop_default' }, unused: { name: 'shop_unused' } }, volumes: { data: { name: 'shop_data' }, old: { name: 'shop_old' } },
    secrets: {}, configs: {},
    services: Object.fromEntries(Object.entries(services).map(([k, v]) => [k, { name: k, image: 'x', ...v }])),
  };
}

const p = project({
  web: { dependsOn: { api: dep, cache: dep }, networks: { default: null } },
  api: { dependsOn: { db: dep }, volumes: [{ type: 'volume', source: 'data', target: '/d' }] },
  db: {},
  cache: {},
  tool: { profiles: ['ops'], dependsOn: { db: dep } },
});

test('dependency order: dependencies first, ties by name; dependents', () => {
  assert.deepEqual(dependencyOrder(withProfiles(p, [])), ['db', 'api', 'cache', 'web']);
  assert.deepEqual(dependencyOrder(p, ['web']), ['db', 'api', 'cache', 'web']);
  assert.deepEqual(dependents(p, 'db'), ['api', 'tool']);
});

test('profiles and selection', () => {
  const active = withProfiles(p, []);
  assert.deepEqual(Object.keys(active.services).sort(), ['api', 'cache', 'db', 'web']);
  assert.deepEqual(Object.keys(active.disabledServices), ['tool']);
  assert.deepEqual(Object.keys(withServicesEnabled(active, ['tool']).services).sort(), ['api', 'cache', 'db', 'tool', 'web']);
  const sel = withSelectedServices(active, ['api']);
  assert.deepEqual(Object.keys(sel.services).sort(), ['api', 'db']);
  assert.deepEqual(Object.keys(withSelectedServices(active, ['c*']).services), ['cache']);
  assert.deepEqual(Object.keys(withSelectedServices(active, ['web'], { ignoreDependencies: true }).services), ['web']);
  // Dependencies on services left out are dropped from the selected ones.
  assert.deepEqual(Object.keys(withSelectedServices(active, ['web'], { ignoreDependencies: true }).services.web.dependsOn ?? {}), []);
  assert.throws(() => withSelectedServices(active, ['nope']), /^ComposeError: no such service: nope$|no such service: nope/);
});

test('unused resources are dropped', () => {
  const r = withoutUnnecessaryResources(withSelectedServices(withProfiles(p, []), ['web']));
  assert.deepEqual(Object.keys(r.networks), ['default']);
  assert.deepEqual(Object.keys(r.volumes), ['data']);
});

test('cycle detection messages', () => {
  assert.throws(() => checkCycle(project({ a: { dependsOn: { b: dep } }, b: { dependsOn: { a: dep } } })), /dependency cycle detected: a -> b -> a/);
  const disabled = withProfiles(project({ a: { dependsOn: { b: dep } }, b: { profiles: ['x'] } }), []);
  assert.throws(() => checkCycle(disabled), /service "b" is required by "a" but is disabled\. Can be enabled by profiles \[x\]/);
  checkCycle(withProfiles(project({ a: { dependsOn: { b: { ...dep, required: false } } }, b: { profiles: ['x'] } }), []));
});

test('names compose gives', () => {
  const s = p.services.web;
  assert.equal(containerName(p, s, 2), 'shop-web-2');
  assert.equal(containerName(p, { ...s, containerName: 'fixed' }, 1), 'fixed');
  assert.equal(oneOffContainerName(p, s, '0123456789abcdef'), 'shop-web-run-0123456789ab');
  assert.equal(imageName(p, { name: 'web' }), 'shop-web');
  assert.equal(imageName(p, s), 'x');
  assert.equal(networkName(p, 'default'), 'shop_default');
  assert.equal(networkName(p, 'other'), 'shop_other');
  assert.equal(serviceScale({}), 1);
  assert.equal(serviceScale({ deploy: { replicas: 3, resources: {} } }), 3);
  assert.equal(serviceScale({ scale: 2, deploy: { replicas: 3, resources: {} } }), 2);
  assert.deepEqual(networksByPriority({ networks: { b: null, a: null, c: { priority: 10 } } }), ['c', 'a', 'b']);
  assert.deepEqual(extraHostsList({ a: ['1.1.1.1', '::1'] }), ['a:1.1.1.1', 'a:::1']);
});
