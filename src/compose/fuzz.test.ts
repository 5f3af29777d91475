// Fuzzing the loader: every input gives a model or a ComposeError (a clear message), never
// another exception, never a hang. Seeded, so a run is repeatable; a failure prints the input.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { loadProject } from './load.ts';
import { ComposeError } from './errors.ts';
import { toJson, toYaml } from './render.ts';
import { serviceHash } from './hash.ts';
import { dependencyOrder } from './project.ts';

const dir = mkdtempSync(join(tmpdir(), 'berth-compose-fuzz-'));
writeFileSync(join(dir, 'base.yaml'), 'services:\n  base:\n    image: b\n    ports: ["80"]\n');
writeFileSync(join(dir, 'inc.yaml'), 'services:\n  inc:\n    image: i\n');
writeFileSync(join(dir, 'vars.env'), 'A=1\n');
after(() => rmSync(dir, { recursive: true, force: true }));

/** Loads `text` as the only compose file; returns what happened (a model, or a ComposeError). */
function run(text: string, profiles: string[] = []): void {
  const t0 = Date.now();
  try {
    const p = loadProject({
      files: [{ filename: join(dir, 'compose.yaml'), content: text }],
      workingDir: dir,
      environment: { A: 'a', PORT: '8080', EMPTY: '' },
      projectName: { name: 'fuzz', explicit: false },
      profiles,
    });
    // What commands do next must not crash either.
    toYaml(p);
    toJson(p);
    for (const s of Object.values(p.services)) serviceHash(s);
    dependencyOrder(p);
  } catch (e) {
    if (!(e instanceof ComposeError)) {
      throw new Error(`not a ComposeError for input:\n${text}\n---\n${(e as Error)?.stack ?? e}`);
    }
    assert.ok(e.message.length > 0);
  }
  assert.ok(Date.now() - t0 < 5000, `slow input (${Date.now() - t0} ms):\n${text}`);
}

const words = [
  'a', 'web', 'db', 'base', '80', '8080:80', '127.0.0.1:80:80/udp', '1-3:4-6', '[::1]:80:80', 'x:80', './d:/d:ro', 'v:/data',
  '/anon', 'a:b:c:d', '', ' ', '${A}', '${A:-x}', '${NOPE:?msg}', '$$', '${', '$A', '${A:+${EMPTY:-z}}', 'service:db',
  'container:x', 'host', 'none', 'CMD', 'CMD-SHELL', '1m30s', '10x', '512m', '1g', '0.5', 'true', 'no', 'service_healthy',
  'always', 'unless-stopped', 'default', 'base.yaml', 'inc.yaml', 'vars.env', 'missing.env', 'sh -c "echo hi"', 'a="',
  'nofile', 'json-file', 'host-gateway', 'h=1.2.3.4', 'h:::1', 'debug', '*', '0777', '-1', 'A=1', 'B', '__proto__',
];
const scalar = fc.oneof(
  fc.constantFrom(...words),
  fc.integer({ min: -2, max: 70000 }),
  fc.boolean(),
  fc.constant(null),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -10, max: 10 }),
);
/** Anything: the shapes the schema refuses must be refused cleanly too. */
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, scalar, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.constantFrom(...words), tie('v'), { maxKeys: 4 })),
})).v;

// Plausible values per key, so most files get past the schema into the later stages.
const names = fc.constantFrom('web', 'db', 'base', 'cache', 'inc', 'x.y');
const nets = fc.constantFrom('default', 'front', 'back', 'gone');
const str = (...xs: string[]) => fc.constantFrom(...xs);
const dur = str('10s', '1m30s', '1d', '500ms', '0', '10', 'x', '${A:-5s}');
const size = fc.oneof(str('512m', '1g', '64M', '1x', '${A}'), fc.integer({ min: -1, max: 1 << 30 }));
const cmd = fc.oneof(str('echo hi', 'sh -c "a; b"', 'a "unterminated', 'x;y', '', 'echo (x)'), fc.array(str('a', '-c', ''), { maxLength: 3 }));
const envList = fc.array(str('A=1', 'B', 'C=${A}', 'D=', ' E=1', 'F =1', '=x'), { maxLength: 4 });
const envMap = fc.dictionary(str('A', 'B', 'PATH', 'X Y'), fc.oneof(scalar, str('v')), { maxKeys: 3 });
const port = fc.oneof(
  str('80', '8080:80', '127.0.0.1:8080:80/udp', '9000-9001:90-91', '8000-8010:80', '[::1]::80', '::1:80:80', 'x:80', '80/xyz', '1-2:3-5', '8080:', ''),
  fc.integer({ min: 0, max: 70000 }),
  fc.record({ target: fc.oneof(fc.integer({ min: 0, max: 70000 }), str('80', '${PORT}', 'x')), published: fc.oneof(str('8080', '9000-9001', ''), fc.integer({ min: 0, max: 9 })), host_ip: str('127.0.0.1', '::1', 'nope'), protocol: str('tcp', 'udp'), mode: str('host', 'ingress') }, { requiredKeys: [] }),
);
const volume = fc.oneof(
  str('./data:/data', 'v:/data:ro,nocopy', '/anon', 'v:/x', '~/h:/h', '/a:/b:ro:x', 'a:b:c:d', '', 'c:\\x:/y', '${A}:/z', 'gone:/g', './x:/x:z,rshared'),
  fc.record({ type: str('bind', 'volume', 'tmpfs', 'npipe'), source: str('./s', 'v', ''), target: str('/t', '/t/', ''), read_only: fc.boolean(), bind: fc.record({ create_host_path: fc.boolean(), propagation: str('rshared') }, { requiredKeys: [] }), volume: fc.record({ nocopy: fc.boolean() }, { requiredKeys: [] }), tmpfs: fc.record({ size: size, mode: fc.integer({ min: 0, max: 0o1777 }) }, { requiredKeys: [] }) }, { requiredKeys: ['type'] }),
);
const serviceValues: Record<string, fc.Arbitrary<unknown>> = {
  image: str('nginx', 'busybox:1', '${A}', ''),
  build: fc.oneof(str('.', './app', 'https://x/y.git'), fc.record({ context: str('.', 'sub'), dockerfile: str('Df'), dockerfile_inline: str('FROM x'), args: fc.oneof(envList, envMap), target: str('t'), shm_size: size, cache_from: fc.array(str('a')) }, { requiredKeys: [] })),
  command: cmd,
  entrypoint: cmd,
  environment: fc.oneof(envList, envMap),
  env_file: fc.oneof(str('vars.env', 'missing.env'), fc.array(fc.oneof(str('vars.env'), fc.record({ path: str('missing.env', 'vars.env'), required: fc.boolean(), format: str('raw', '', 'toml') }, { requiredKeys: ['path'] })), { maxLength: 2 })),
  ports: fc.array(port, { maxLength: 3 }),
  expose: fc.array(fc.oneof(str('80', '90-91'), fc.integer({ min: 1, max: 9 })), { maxLength: 2 }),
  volumes: fc.array(volume, { maxLength: 3 }),
  volumes_from: fc.array(str('db', 'db:ro', 'container:c', 'gone'), { maxLength: 2 }),
  networks: fc.oneof(fc.array(nets, { maxLength: 2 }), fc.dictionary(nets, fc.oneof(fc.constant(null), fc.record({ aliases: fc.array(str('al')), ipv4_address: str('10.0.0.2'), priority: fc.integer({ min: -5, max: 5 }) }, { requiredKeys: [] })), { maxKeys: 2 })),
  network_mode: str('host', 'none', 'service:db', 'service:gone', 'container:x'),
  depends_on: fc.oneof(fc.array(names, { maxLength: 2 }), fc.dictionary(names, fc.record({ condition: str('service_started', 'service_healthy', 'service_completed_successfully', 'bad'), required: fc.boolean(), restart: fc.boolean() }, { requiredKeys: [] }), { maxKeys: 2 })),
  healthcheck: fc.record({ test: fc.oneof(str('curl x', ''), fc.array(str('CMD', 'CMD-SHELL', 'NONE', 'x'), { maxLength: 3 })), interval: dur, timeout: dur, retries: fc.integer({ min: -1, max: 5 }), start_period: dur, disable: fc.boolean() }, { requiredKeys: [] }),
  restart: str('no', 'always', 'on-failure:3', 'unless-stopped'),
  deploy: fc.record({ replicas: fc.integer({ min: -1, max: 3 }), resources: fc.record({ limits: fc.record({ cpus: fc.oneof(str('0.5', 'x'), fc.double({ min: 0, max: 4, noNaN: true })), memory: size, pids: fc.integer({ min: 0, max: 9 }) }, { requiredKeys: [] }), reservations: fc.record({ memory: size }, { requiredKeys: [] }) }, { requiredKeys: [] }), restart_policy: fc.record({ condition: str('on-failure'), delay: dur, max_attempts: fc.integer({ min: 0, max: 3 }) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
  scale: fc.integer({ min: -1, max: 3 }),
  container_name: str('fixed', '${A}'),
  labels: fc.oneof(envList, envMap),
  init: fc.boolean(),
  stop_grace_period: dur,
  tmpfs: fc.oneof(str('/run', '/data:size=1m'), fc.array(str('/t', '/u'))),
  cap_add: fc.array(str('NET_ADMIN', 'ALL')),
  devices: fc.array(str('/dev/fuse', '/dev/a:/dev/b:rw', 'a:b:c:d')),
  ulimits: fc.dictionary(str('nofile', 'nproc'), fc.oneof(fc.integer({ min: -1, max: 99 }), fc.record({ soft: fc.integer({ min: 0, max: 9 }), hard: fc.integer({ min: 0, max: 9 }) }, { requiredKeys: [] })), { maxKeys: 2 }),
  sysctls: fc.oneof(envList, envMap),
  mem_limit: size,
  shm_size: size,
  cpus: fc.oneof(str('0.5', 'x'), fc.double({ min: 0, max: 4, noNaN: true })),
  pids_limit: fc.integer({ min: -1, max: 9 }),
  extra_hosts: fc.oneof(fc.array(str('h=1.2.3.4', 'h:::1', 'h=[::1]', 'bad', '=x')), fc.dictionary(str('h', 'i'), fc.oneof(str('1.2.3.4'), fc.array(str('::1'))), { maxKeys: 2 })),
  dns: fc.oneof(str('8.8.8.8', ''), fc.array(str('1.1.1.1', ''))),
  logging: fc.record({ driver: str('json-file', 'syslog'), options: envMap }, { requiredKeys: [] }),
  secrets: fc.array(fc.oneof(str('s', 'gone'), fc.record({ source: str('s'), target: str('t'), mode: fc.oneof(fc.integer({ min: 0, max: 511 }), str('0440', '9')) }, { requiredKeys: [] })), { maxLength: 2 }),
  configs: fc.array(fc.oneof(str('c', 'gone'), fc.record({ source: str('c'), target: str('/c'), uid: str('1') }, { requiredKeys: [] })), { maxLength: 2 }),
  develop: fc.record({ watch: fc.array(fc.record({ path: str('./src', ''), action: str('sync', 'rebuild', 'sync+restart', 'bad'), target: str('/app'), ignore: fc.oneof(str('x'), fc.array(str('y'))) }, { requiredKeys: ['path'] }), { maxLength: 2 }) }, { requiredKeys: [] }),
  profiles: fc.array(str('debug', 'x'), { maxLength: 2 }),
  extends: fc.oneof(names, fc.record({ service: str('base', 'gone'), file: str('base.yaml', 'gone.yaml') }, { requiredKeys: ['service'] })),
  links: fc.array(str('db', 'db:alias', 'gone')),
  'x-custom': value,
  bogus: value,
};
const serviceKeys = Object.keys(serviceValues);
const service = fc.oneof(
  { weight: 9, arbitrary: fc.dictionary(fc.constantFrom(...serviceKeys), fc.constant(undefined), { maxKeys: 8 }).chain((keys) => fc.record(Object.fromEntries(Object.keys(keys).map((k) => [k, fc.oneof({ weight: 9, arbitrary: serviceValues[k] }, { weight: 1, arbitrary: value })])))) },
  { weight: 1, arbitrary: value },
);
const model = fc.record({
  name: fc.option(fc.constantFrom('Fuzz', 'my app', '${A}', ''), { nil: undefined }),
  version: fc.option(fc.constant('3'), { nil: undefined }),
  services: fc.option(fc.dictionary(names, service, { maxKeys: 4 }), { nil: undefined }),
  networks: fc.option(fc.dictionary(nets, fc.oneof(fc.constant(null), fc.record({ external: fc.boolean(), name: str('n'), driver: str('bridge'), ipam: fc.record({ config: fc.array(fc.record({ subnet: str('10.0.0.0/24') })) }) }, { requiredKeys: [] }), value), { maxKeys: 3 }), { nil: undefined }),
  volumes: fc.option(fc.dictionary(str('v', 'data'), fc.oneof(fc.constant(null), fc.record({ external: fc.boolean(), name: str('vv'), driver: str('local'), labels: envList }, { requiredKeys: [] }), value), { maxKeys: 2 }), { nil: undefined }),
  secrets: fc.option(fc.dictionary(str('s'), fc.oneof(fc.record({ file: str('./s.txt'), environment: str('A', 'NOPE'), external: fc.boolean() }, { requiredKeys: [] }), value), { maxKeys: 1 }), { nil: undefined }),
  configs: fc.option(fc.dictionary(str('c'), fc.oneof(fc.record({ file: str('./c.txt'), content: str('x', '${A}'), environment: str('A') }, { requiredKeys: [] }), value), { maxKeys: 1 }), { nil: undefined }),
  include: fc.option(fc.array(fc.oneof(str('inc.yaml', 'base.yaml', 'gone.yaml', 'compose.yaml'), fc.record({ path: str('inc.yaml'), env_file: str('vars.env', 'nope.env'), project_directory: str('.', 'sub') }, { requiredKeys: ['path'] })), { maxLength: 1 }), { nil: undefined }),
}, { requiredKeys: [] });

// A longer or different run: BERTH_FUZZ_RUNS=20000 BERTH_FUZZ_SEED=7 node --test dist/tests/src/compose/fuzz.test.js
const SEED = Number(process.env.BERTH_FUZZ_SEED ?? 20261206);
const RUNS = Number(process.env.BERTH_FUZZ_RUNS ?? 300);

test('structured compose files: a model or a ComposeError', () => {
  fc.assert(fc.property(model, fc.array(fc.constantFrom('debug', '*', 'x'), { maxLength: 2 }), (m, profiles) => {
    const clean = JSON.parse(JSON.stringify(m));
    run(stringify(clean), profiles);
  }), { seed: SEED, numRuns: RUNS });
});

test('mutated text (YAML syntax, tags, anchors): a model or a ComposeError', () => {
  const seedDocs = [
    'services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n    environment: [A=${A}]\n',
    'x-a: &a {image: a}\nservices:\n  web:\n    <<: *a\n    command: !reset []\n    labels: !override {a: b}\n',
    'services:\n  web:\n    extends: {file: base.yaml, service: base}\n    volumes: [./x:/x]\n---\nservices:\n  web:\n    ports: !reset\n',
    'include: [inc.yaml]\nservices:\n  web: {image: x, depends_on: {inc: {condition: service_healthy}}}\n',
  ];
  const fragment = fc.constantFrom(':', ' ', '\n', '- ', '&x ', '*x', '!reset ', '!override ', '<<: ', '[', ']', '{', '}', '"', "'", '#', '${', '$$', '\t', '? ', '|', '>', ',', '0x1', '~');
  const mutation = fc.tuple(fc.nat(), fc.oneof(fragment, fc.string({ maxLength: 3 })), fc.nat({ max: 3 }));
  fc.assert(fc.property(fc.constantFrom(...seedDocs), fc.array(mutation, { maxLength: 5 }), (doc, muts) => {
    let t = doc;
    for (const [at, ins, del] of muts) {
      const i = at % (t.length + 1);
      t = t.slice(0, i) + ins + t.slice(i + del);
    }
    run(t);
  }), { seed: SEED, numRuns: RUNS });
});
