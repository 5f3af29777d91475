import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { hashInput, serviceHash } from './hash.ts';
import type { Service } from './model.ts';

const base: Service = {
  name: 'plain',
  image: 'alpine',
  command: ['sleep', 'infinity'],
  networks: { default: null },
};

test('the hashed JSON is compose-go\'s ServiceConfig as encoding/json writes it', () => {
  // compose's e2e fixture config_hash/compose.yaml, service "plain", after loading: the JSON
  // json.Marshal gives for its types.ServiceConfig.
  assert.equal(hashInput(base), '{"command":["sleep","infinity"],"entrypoint":null,"image":"alpine","networks":{"default":null}}');
  assert.equal(serviceHash(base), createHash('sha256').update(hashInput(base)).digest('hex'));
  assert.match(serviceHash(base), /^[0-9a-f]{64}$/);
});

test('build, pull_policy, scale, deploy.replicas, depends_on and profiles do not change the hash', () => {
  const h = serviceHash({ ...base, deploy: { resources: {} } });
  for (const change of [
    { build: { context: '/x', dockerfile: 'Dockerfile' } },
    { pullPolicy: 'always' },
    { scale: 3 },
    { deploy: { replicas: 5, resources: {} } },
    { dependsOn: { db: { condition: 'service_healthy' as const, restart: true, required: true } } },
    { profiles: ['debug'] },
  ]) {
    assert.equal(serviceHash({ ...base, deploy: { resources: {} }, ...change }), h, JSON.stringify(change));
  }
});

test('anything else does', () => {
  const h = serviceHash(base);
  for (const change of [
    { image: 'alpine:3' }, { command: ['sleep', '1'] }, { environment: { A: '1' } }, { ports: [{ mode: 'ingress', target: 80, protocol: 'tcp' }] },
    { networks: { default: null, other: null } }, { labels: { a: 'b' } }, { cpus: 0.5 }, { deploy: { resources: { limits: { memory: 1 << 20 } } } },
    { volumes: [{ type: 'bind', source: '/a', target: '/b', bind: { createHostPath: true } }] }, { entrypoint: [] },
  ] as Array<Partial<Service>>) {
    assert.notEqual(serviceHash({ ...base, ...change }), h, JSON.stringify(change));
  }
});

test('environment order and map key order do not matter; float32 and bytes are encoded as compose does', () => {
  assert.equal(serviceHash({ ...base, environment: { B: '2', A: '1' } }), serviceHash({ ...base, environment: { A: '1', B: '2' } }));
  assert.equal(
    hashInput({ ...base, cpus: 0.1, memLimit: 1 << 20, stopGracePeriod: 90e9, volumes: [{ type: 'bind', source: '/a', target: '/b', bind: { createHostPath: true } }] }),
    '{"cpus":0.1,"command":["sleep","infinity"],"entrypoint":null,"image":"alpine","mem_limit":"1048576","networks":{"default":null},"stop_grace_period":"1m30s","volumes":[{"type":"bind","source":"/a","target":"/b","bind":{"create_host_path":true}}]}',
  );
});
