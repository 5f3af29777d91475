import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeMappings, enforceUnicity, toSequence } from './merge.ts';
import { parseYaml } from './parse.ts';
import type { Dict } from './tree.ts';

const y = (text: string) => parseYaml(text, 'f')[0].value as Dict;
const plain = (v: unknown) => JSON.parse(JSON.stringify(v));
/** Merges the later file into the earlier one, then removes duplicates, as the loader does. */
const merge = (a: string, b: string) => plain(enforceUnicity(mergeMappings(y(a), y(b), [])));
const web = (a: string, b: string) => merge(`services:\n  web:\n${a}`, `services:\n  web:\n${b}`).services.web;

test('mappings merge, scalars replace, sequences append', () => {
  assert.deepEqual(web('    image: a\n    user: u\n    devices: [/dev/a]\n', '    image: b\n    devices: [/dev/b]\n'),
    { image: 'b', user: 'u', devices: ['/dev/a', '/dev/b'] });
  assert.deepEqual(merge('x-a: {k: [1]}\n', 'x-a: {k: [2], j: 3}\n'), { 'x-a': { k: [1, 2], j: 3 } });
});

test('command, entrypoint and healthcheck.test replace', () => {
  assert.deepEqual(web('    command: [a, b]\n    entrypoint: x\n    healthcheck: {test: [CMD, a], retries: 1}\n',
    '    command: [c]\n    entrypoint: [y]\n    healthcheck: {test: [CMD, b]}\n'),
  { command: ['c'], entrypoint: ['y'], healthcheck: { test: ['CMD', 'b'], retries: 1 } });
});

test('environment, labels, sysctls: list and mapping forms merge by key, the later value wins', () => {
  assert.deepEqual(web('    environment: {A: "1", B: "2", C: null}\n', '    environment: [B=3, D=4, C]\n').environment,
    ['A=1', 'B=3', 'C', 'D=4']);
  assert.deepEqual(web('    labels: [x=1, y=2]\n', '    labels: {y: "3", z: 4}\n').labels, ['x=1', 'y=3', 'z=4']);
  assert.deepEqual(web('    sysctls: {net.a: 1}\n', '    sysctls: [net.a=2]\n').sysctls, ['net.a=2']);
  assert.deepEqual(toSequence({ B: 2, A: [1, 2], C: null }), ['A=1', 'A=2', 'B=2', 'C']);
});

test('ports by published/target/protocol, volumes by target, secrets by target, expose by value', () => {
  assert.deepEqual(web('    ports: ["80", "8080:80"]\n', '    ports: ["8080:80", "9090:90"]\n').ports, ['80', '8080:80', '9090:90']);
  assert.deepEqual(web('    volumes: [vol_a:/data, /x:/logs]\n', '    volumes: [vol_b:/data]\n').volumes, ['vol_b:/data', '/x:/logs']);
  assert.deepEqual(web('    secrets: [s1, {source: s2, target: /run/secrets/s1}]\n', '    secrets: [s3]\n').secrets,
    [{ source: 's2', target: '/run/secrets/s1' }, 's3']);
  assert.deepEqual(web('    expose: [80, "81"]\n', '    expose: ["80", 82]\n').expose, ['80', '81', 82]);
  assert.deepEqual(web('    cap_add: [A, B]\n', '    cap_add: [B, C]\n').cap_add, ['A', 'B', 'C']);
});

test('networks and depends_on: list and mapping forms merge as mappings', () => {
  assert.deepEqual(web('    networks: [a, b]\n', '    networks: {b: {aliases: [x]}, c: null}\n').networks, { a: null, b: { aliases: ['x'] }, c: null });
  assert.deepEqual(web('    depends_on: [db]\n', '    depends_on: {db: {condition: service_healthy}, cache: {condition: service_started}}\n').depends_on, {
    db: { condition: 'service_healthy', required: true },
    cache: { condition: 'service_started' },
  });
});

test('build: a string is the context; logging options merge only for the same driver', () => {
  assert.deepEqual(web('    build: ./app\n', '    build: {target: prod}\n').build, { context: './app', target: 'prod' });
  assert.deepEqual(web('    logging: {driver: json-file, options: {max-size: 1m}}\n', '    logging: {options: {max-file: "3"}}\n').logging,
    { driver: 'json-file', options: { 'max-size': '1m', 'max-file': '3' } });
  assert.deepEqual(web('    logging: {driver: json-file, options: {max-size: 1m}}\n', '    logging: {driver: syslog, options: {tag: x}}\n').logging,
    { driver: 'syslog', options: { tag: 'x' } });
});

test('extra_hosts: both forms, duplicates dropped', () => {
  assert.deepEqual(web('    extra_hosts: [a=1.1.1.1, b=2.2.2.2]\n', '    extra_hosts: {a: 1.1.1.1, c: 3.3.3.3}\n').extra_hosts,
    ['a=1.1.1.1', 'b=2.2.2.2', 'c=3.3.3.3']);
});

test('a sequence cannot be overridden by a mapping, nor a mapping by a sequence', () => {
  assert.throws(() => merge('x-a: [1]\n', 'x-a: {b: 1}\n'), /^ComposeError: cannot override x-a$|cannot override x-a/);
  assert.throws(() => merge('x-a: {b: 1}\n', 'x-a: [1]\n'), /cannot override x-a/);
});

test('de-duplication errors name the item', () => {
  assert.throws(() => enforceUnicity(y('services:\n  web:\n    environment: [1]\n')), /services\.web\.environment\.\[0\]: unexpected type int/);
  assert.throws(() => enforceUnicity(y('services:\n  web:\n    ports: [{published: 80}]\n')), /service ports services\.web\.ports\.\[0\] is missing a target port/);
  assert.throws(() => enforceUnicity(y('services:\n  web:\n    volumes: ["/a:/b:ro:x"]\n')), /services\.web\.volumes\[0\]: invalid spec: \/a:\/b:ro:x: too many colons/);
});
