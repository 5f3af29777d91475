import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { foldName, normalizeBody, normalizeFields } from './json-fields.ts';

const types = {
  Outer: { Name: '', name: '', Inner: 'Inner', List: '[]Inner', Labels: '{}', ByNet: '{}Inner', Ports: '{}[]Inner' },
  Inner: { Key: '', DetachKeys: '' },
};

test('an exact match wins over a case-insensitive one', () => {
  assert.deepEqual(normalizeFields({ name: 'a', NAME: 'b' }, 'Outer', types), { name: 'a', Name: 'b' });
  assert.deepEqual(normalizeFields({ Name: 'x' }, 'Outer', types), { Name: 'x' });
});

test('otherwise the first field equal under case folding', () => {
  assert.deepEqual(normalizeFields({ inner: { key: 1, detachkeys: 'ctrl-x' } }, 'Outer', types), { Inner: { Key: 1, DetachKeys: 'ctrl-x' } });
  // Go's folding: the Kelvin sign is k.
  assert.equal(foldName('\u212aey'), 'key');
  assert.deepEqual(normalizeFields({ '\u212aEY': 2 }, 'Inner', types), { Key: 2 });
});

test('two keys for one field: the later one wins, as Go decodes them in order', () => {
  assert.deepEqual(normalizeFields({ key: 1, Key: 2 }, 'Inner', types), { Key: 2 });
  assert.deepEqual(normalizeFields({ Key: 2, key: 1 }, 'Inner', types), { Key: 1 });
});

test('map keys are data: kept as sent; map values of a known type are normalised', () => {
  const v = normalizeFields({
    labels: { Key: 'v', key: 'w', 'com.Example': 'x' },
    bynet: { MyNet: { key: 'a' }, mynet: { KEY: 'b' } },
    ports: { '80/tcp': [{ key: '1' }], '80/TCP': null },
  }, 'Outer', types);
  assert.deepEqual(v, {
    Labels: { Key: 'v', key: 'w', 'com.Example': 'x' },
    ByNet: { MyNet: { Key: 'a' }, mynet: { Key: 'b' } },
    Ports: { '80/tcp': [{ Key: '1' }], '80/TCP': null },
  });
});

test('arrays of objects, nulls, wrong shapes and unknown keys pass through unharmed', () => {
  assert.deepEqual(normalizeFields({ list: [{ key: 1 }, null, 'x', [{ key: 2 }]] }, 'Outer', types), { List: [{ Key: 1 }, null, 'x', [{ key: 2 }]] });
  assert.deepEqual(normalizeFields({ inner: null, list: null, labels: null, other: { key: 1 } }, 'Outer', types), { Inner: null, List: null, Labels: null, other: { key: 1 } });
  assert.deepEqual(normalizeFields({ inner: [1, 2], bynet: [{ key: 1 }] }, 'Outer', types), { Inner: [1, 2], ByNet: [{ key: 1 }] });
  assert.equal(normalizeFields('str', 'Outer', types), 'str');
  assert.deepEqual(normalizeFields([1], 'Outer', types), [1]);
  // Names of Object.prototype are not fields.
  assert.deepEqual(normalizeFields({ constructor: { key: 1 }, toString: 1 }, 'Inner', types), { constructor: { key: 1 }, toString: 1 });
});

test('__proto__ from JSON stays an own key and never becomes a prototype', () => {
  const v = normalizeFields(JSON.parse('{"labels": {"__proto__": {"polluted": 1}}, "__proto__": {"x": 1}}'), 'Outer', types) as Record<string, any>;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.equal(({} as any).polluted, undefined);
  assert.deepEqual(Object.keys(v), ['Labels', '__proto__']);
  assert.deepEqual(Object.getOwnPropertyDescriptor(v.Labels, '__proto__')?.value, { polluted: 1 });
  const mapped = normalizeFields(JSON.parse('{"bynet": {"__proto__": {"key": 1}}}'), 'Outer', types) as Record<string, any>;
  assert.deepEqual(Object.getOwnPropertyDescriptor(mapped.ByNet, '__proto__')?.value, { Key: 1 });
});

test('the Engine API bodies: container create, exec create and start, update, network connect', () => {
  const create = normalizeBody<Record<string, any>>({
    image: 'busybox', cmd: ['sh'], env: ['A=b'], labels: { 'Com.x': 'y' }, exposedports: { '80/TCP': {} }, volumes: { '/Data': {} },
    healthcheck: { test: ['CMD', 'true'], interval: 1 },
    hostconfig: {
      restartpolicy: { name: 'always' }, portbindings: { '80/tcp': [{ hostip: '127.0.0.1', hostport: '8080' }] },
      sysctls: { 'net.ipv4.ip_forward': '1' }, tmpfs: { '/Run': 'size=1m' }, storageopt: { Size: '1G' },
      logconfig: { type: 'json-file', config: { 'Max-Size': '1m' } }, mounts: [{ type: 'volume', target: '/v', volumeoptions: { labels: { A: 'b' }, driverconfig: { options: { O: 'p' } } } }],
      ulimits: [{ name: 'nofile', soft: 1, hard: 2 }], annotations: { 'X.y': 'z' },
    },
    networkingconfig: { endpointsconfig: { MyNet: { aliases: ['a'], ipamconfig: { ipv4address: '10.0.0.2' }, driveropts: { K: 'v' } } } },
  }, 'ContainerCreate');
  assert.deepEqual(create, {
    Image: 'busybox', Cmd: ['sh'], Env: ['A=b'], Labels: { 'Com.x': 'y' }, ExposedPorts: { '80/TCP': {} }, Volumes: { '/Data': {} },
    Healthcheck: { Test: ['CMD', 'true'], Interval: 1 },
    HostConfig: {
      RestartPolicy: { Name: 'always' }, PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] },
      Sysctls: { 'net.ipv4.ip_forward': '1' }, Tmpfs: { '/Run': 'size=1m' }, StorageOpt: { Size: '1G' },
      LogConfig: { Type: 'json-file', Config: { 'Max-Size': '1m' } }, Mounts: [{ Type: 'volume', Target: '/v', VolumeOptions: { Labels: { A: 'b' }, DriverConfig: { Options: { O: 'p' } } } }],
      Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 2 }], Annotations: { 'X.y': 'z' },
    },
    NetworkingConfig: { EndpointsConfig: { MyNet: { Aliases: ['a'], IPAMConfig: { IPv4Address: '10.0.0.2' }, DriverOpts: { K: 'v' } } } },
  });
  assert.deepEqual(normalizeBody({ detachKeys: 'ctrl-x', attachstdout: true, cmd: ['true'], consoleSize: [1, 2] }, 'ContainerExec'),
    { DetachKeys: 'ctrl-x', AttachStdout: true, Cmd: ['true'], ConsoleSize: [1, 2] });
  assert.deepEqual(normalizeBody({ tty: true, detach: false }, 'ExecStart'), { Tty: true, Detach: false });
  assert.deepEqual(normalizeBody({ cpushares: 512, restartpolicy: { name: 'no' } }, 'ContainerUpdate'), { CpuShares: 512, RestartPolicy: { Name: 'no' } });
  assert.deepEqual(normalizeBody({ container: 'c', endpointconfig: { aliases: ['x'] } }, 'NetworkConnect'), { Container: 'c', EndpointConfig: { Aliases: ['x'] } });
  assert.deepEqual(normalizeBody({ name: 'n', driveropts: { Size: '1' }, labels: { L: 'v' } }, 'VolumeCreate'), { Name: 'n', DriverOpts: { Size: '1' }, Labels: { L: 'v' } });
  assert.deepEqual(normalizeBody({ name: 'n', ipam: { config: [{ subnet: '10.1.0.0/24' }], options: { O: '1' } }, options: { 'com.docker.X': '1' } }, 'NetworkCreate'),
    { Name: 'n', IPAM: { Config: [{ Subnet: '10.1.0.0/24' }], Options: { O: '1' } }, Options: { 'com.docker.X': '1' } });
});

/** The checkout's root, and the spec when the checkout sits where it can see it (../shared). */
const root = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dir !== '/') dir = resolve(dir, '..');
  return dir;
})();
const hasSpec = (() => {
  for (let dir = root; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'shared', 'spec', 'docker-engine-api-v1.47.yaml'))) return true;
    if (dirname(dir) === dir) return false;
  }
})();

test('the committed api-body-schema.gen.ts is what the spec generates', { skip: hasSpec ? false : 'the Engine API spec is not above this checkout' }, () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'gen-body-schema.mjs'), '--check'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stderr}${r.stdout}`);
});
