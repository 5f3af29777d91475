// The loader end to end on small projects in temporary directories: merging files, reset tags,
// include, extends, names, interpolation sources, profiles, environment resolution, and every
// bad-input case with its message.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { loadComposeProject, type LoadFlags } from './index.ts';
import type { ProjectFlags } from './options.ts';
import { ComposeError } from './errors.ts';
import { toYaml } from './render.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Writes `files` under a fresh directory (named `name`) and returns it. */
function fixture(files: Record<string, string>, name = 'proj'): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-compose-'));
  dirs.push(root);
  const dir = join(root, name);
  mkdirSync(dir);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

interface Run {
  flags?: Partial<ProjectFlags>;
  env?: Record<string, string>;
  cwd?: string;
  load?: LoadFlags;
}

function load(dir: string, o: Run = {}) {
  const warnings: string[] = [];
  const p = loadComposeProject(
    { files: [], envFiles: [], profiles: [], ...o.flags },
    { cwd: o.cwd ?? dir, env: { PATH: '/bin', ...o.env }, warn: (m) => warnings.push(m) },
    o.load,
  );
  return { p, warnings };
}

function fails(dir: string, msg: string | RegExp, o: Run = {}) {
  assert.throws(() => load(dir, o), (e: Error) => {
    assert.ok(e instanceof ComposeError, `not a ComposeError: ${e.stack}`);
    if (typeof msg === 'string') assert.equal(e.message, msg);
    else assert.match(e.message, msg);
    return true;
  });
}

test('override files merge by the spec rules', () => {
  const dir = fixture({
    'compose.yaml': 'services:\n  web:\n    image: nginx\n    ports: ["80:80"]\n    environment: [A=1, B=2]\n    command: [a]\n    networks: [front]\nnetworks:\n  front: {}\n  back: {}\n',
    'compose.override.yaml': 'services:\n  web:\n    ports: ["443:443"]\n    environment: {B: "3"}\n    command: b c\n    networks: {back: {aliases: [w]}}\n',
  });
  const { p } = load(dir);
  const web = p.services.web;
  assert.deepEqual(p.composeFiles, [join(dir, 'compose.yaml'), join(dir, 'compose.override.yaml')]);
  assert.deepEqual(web.ports?.map((x) => `${x.published}:${x.target}`), ['80:80', '443:443']);
  assert.deepEqual(web.environment, { A: '1', B: '3' });
  assert.deepEqual(web.command, ['b', 'c']);
  assert.deepEqual(web.networks, { front: null, back: { aliases: ['w'] } });
});

test('!reset and !override across files', () => {
  const dir = fixture({
    'base.yaml': 'services:\n  web:\n    image: nginx\n    ports: ["80:80"]\n    environment: {A: "1"}\n    labels: [x=1]\n    volumes: [data:/data]\nvolumes:\n  data: {}\n',
    'over.yaml': 'services:\n  web:\n    ports: !reset []\n    environment: !override {B: "2"}\n    labels: !reset null\n',
  });
  const { p } = load(dir, { flags: { files: ['base.yaml', 'over.yaml'] } });
  const web = p.services.web;
  assert.equal(web.ports, undefined);
  assert.deepEqual(web.environment, { B: '2' });
  assert.equal(web.labels, undefined);
  assert.equal(web.volumes?.[0].source, 'data');
});

test('extends: within a file, from another file (paths relative to it), recursively', () => {
  const dir = fixture({
    'compose.yaml': [
      'services:',
      '  base:',
      '    image: busybox',
      '    environment: {A: "1"}',
      '  mid:',
      '    extends: base',
      '    environment: {B: "2"}',
      '  web:',
      '    extends: mid',
      '    environment: {C: "3"}',
      '  remote:',
      '    extends: {file: lib/common.yaml, service: tool}',
      '    command: run',
    ].join('\n'),
    'lib/common.yaml': 'services:\n  tool:\n    image: alpine\n    volumes: [./conf:/conf]\n    build: .\n    extends: {file: deeper/x.yaml, service: x}\n',
    'lib/deeper/x.yaml': 'services:\n  x:\n    env_file: [{path: vars.env, required: false}]\n    labels: {deep: "yes"}\n',
  });
  const { p } = load(dir);
  assert.deepEqual(p.services.web.environment, { A: '1', B: '2', C: '3' });
  assert.equal(p.services.web.image, 'busybox');
  const r = p.services.remote;
  assert.equal(r.image, 'alpine');
  assert.deepEqual(r.command, ['run']);
  assert.equal(r.volumes?.[0].source, join(dir, 'lib/conf'));
  assert.equal(r.build?.context, join(dir, 'lib'));
  assert.deepEqual(r.labels, { deep: 'yes' });
});

test('extends: unknown service, missing file, cycles', () => {
  fails(fixture({ 'compose.yaml': 'services:\n  web:\n    extends: nope\n' }), /^cannot extend service "web" in .*compose\.yaml: service "nope" not found$/);
  fails(fixture({ 'compose.yaml': 'services:\n  web:\n    extends: {file: other.yaml, service: x}\n', 'other.yaml': 'services:\n  y: {image: a}\n' }),
    /^cannot extend service "web" in .*compose\.yaml: service "x" not found in other\.yaml$/);
  fails(fixture({ 'compose.yaml': 'services:\n  web:\n    extends: {file: gone.yaml, service: x}\n' }), /^open .*gone\.yaml: no such file or directory$/);
  fails(fixture({ 'compose.yaml': 'services:\n  a:\n    extends: b\n  b:\n    extends: a\n' }), /^Circular reference:\n {2}(a|b) in .*compose\.yaml\n {2}extends (b|a) in .*\n {2}extends (a|b) in /);
  fails(fixture({ 'compose.yaml': 'services:\n  a:\n    extends: {file: b.yaml, service: b}\n', 'b.yaml': 'services:\n  b:\n    extends: {file: compose.yaml, service: a}\n' }), /^Circular reference:/);
});

test('include: its own directory and .env, resources imported, conflicts and cycles refused', () => {
  const dir = fixture({
    'compose.yaml': 'include:\n  - sub/compose.yaml\nservices:\n  web:\n    image: nginx\n    depends_on: [db]\n',
    'sub/compose.yaml': 'services:\n  db:\n    image: postgres:${PG}\n    volumes: [./data:/var/lib/postgresql/data, dbdata:/x]\nvolumes:\n  dbdata: {}\n',
    'sub/.env': 'PG=16\n',
  });
  const { p } = load(dir);
  assert.equal(p.services.db.image, 'postgres:16');
  assert.equal(p.services.db.volumes?.[0].source, join(dir, 'sub/data'));
  assert.equal(p.volumes.dbdata.name, 'proj_dbdata');
  // The parent's environment wins over the included project's .env.
  assert.equal(load(dir, { env: { PG: '15' } }).p.services.db.image, 'postgres:15');

  fails(fixture({ 'compose.yaml': 'include: [sub.yaml]\nservices:\n  db:\n    image: mine\n', 'sub.yaml': 'services:\n  db:\n    image: theirs\n' }),
    'services.db conflicts with imported resource');
  fails(fixture({ 'compose.yaml': 'include: [a.yaml]\nservices: {}\n', 'a.yaml': 'include: [compose.yaml]\nservices: {}\n' }), /^include cycle detected:\n.*compose\.yaml\n include .*a\.yaml\n include .*compose\.yaml$/);
  // An include with its own env_file and project_directory.
  const d2 = fixture({
    'compose.yaml': 'include:\n  - path: [lib/a.yaml, lib/b.yaml]\n    project_directory: other\n    env_file: lib/vars.env\n',
    'lib/a.yaml': 'services:\n  s:\n    image: "img:${V}"\n    volumes: [./x:/x]\n',
    'lib/b.yaml': 'services:\n  s:\n    user: u\n',
    'lib/vars.env': 'V=9\n',
  });
  const s = load(d2).p.services.s;
  assert.equal(s.image, 'img:9');
  assert.equal(s.user, 'u');
  assert.equal(s.volumes?.[0].source, join(d2, 'other/x'));
});

test('project name: -p, COMPOSE_PROJECT_NAME, name:, directory; validity', () => {
  const dir = fixture({ 'compose.yaml': 'services:\n  web:\n    image: x\n' }, 'My.Dir_1');
  assert.equal(load(dir).p.name, 'mydir_1');
  assert.equal(load(dir, { env: { COMPOSE_PROJECT_NAME: 'fromenv' } }).p.name, 'fromenv');
  assert.equal(load(dir, { flags: { projectName: 'flag' }, env: { COMPOSE_PROJECT_NAME: 'fromenv' } }).p.name, 'flag');
  const named = fixture({ 'compose.yaml': 'name: "${PFX:-My}_App"\nservices:\n  web:\n    image: x\n' });
  assert.equal(load(named).p.name, 'my_app');
  assert.equal(load(named, { env: { COMPOSE_PROJECT_NAME: 'env' } }).p.name, 'env');
  // The name is interpolated into ${COMPOSE_PROJECT_NAME}.
  const uses = fixture({ 'compose.yaml': 'services:\n  web:\n    image: x\n    container_name: ${COMPOSE_PROJECT_NAME}-web\n' }, 'shop');
  assert.equal(load(uses).p.services.web.containerName, 'shop-web');
  const msg = (n: string) => `invalid project name "${n}": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`;
  fails(dir, msg('Bad'), { flags: { projectName: 'Bad' } });
  fails(dir, msg('_x'), { flags: { projectName: '_x' } });
  fails(dir, msg('a.b'), { env: { COMPOSE_PROJECT_NAME: 'a.b' } });
  fails(fixture({ 'compose.yaml': 'services:\n  web:\n    image: x\n' }, '__'), 'project name must not be empty');
});

test('interpolation sources: environment over .env; --env-file replaces .env; env_file/environment do not feed it', () => {
  const dir = fixture({
    'compose.yaml': 'services:\n  web:\n    image: "app:${TAG}"\n    env_file: [svc.env]\n    environment:\n      - FROM_DOT=${DOT}\n      - HOME\n      - UNSET_HERE\n      - SVC\n    labels:\n      svc: "${SVC:-not from env_file}"\n',
    '.env': 'TAG=dot\nDOT="quoted ${TAG}"\nexport HOME_DOT=1\n',
    'alt.env': 'TAG=alt\n',
    'svc.env': 'SVC=from-file\nFILEONLY=${TAG}\n',
  });
  let { p } = load(dir, { env: { HOME: '/home/u' } });
  const web = p.services.web;
  assert.equal(web.image, 'app:dot');
  // A bare name in `environment:` that the environment does not set wins over env_file, unset
  // (compose's OverrideBy), like any other `environment:` entry.
  assert.deepEqual(web.environment, { FROM_DOT: 'quoted dot', HOME: '/home/u', UNSET_HERE: null, SVC: null, FILEONLY: 'dot' });
  assert.deepEqual(web.labels, { svc: 'not from env_file' });
  assert.deepEqual(p.envFiles, []);
  assert.equal(load(dir, { env: { TAG: 'env' } }).p.services.web.image, 'app:env');
  ({ p } = load(dir, { flags: { envFiles: ['alt.env'] } }));
  assert.equal(p.services.web.image, 'app:alt');
  assert.deepEqual(p.envFiles, [join(dir, 'alt.env')]);
  assert.equal(p.environment.DOT, undefined);
});

test('env_file: required and optional files, raw format', () => {
  const dir = fixture({ 'compose.yaml': 'services:\n  web:\n    image: x\n    env_file:\n      - path: opt.env\n        required: false\n      - path: raw.env\n        format: raw\n', 'raw.env': 'A=${kept}\n' });
  assert.deepEqual(load(dir).p.services.web.environment, { A: '${kept}' });
  const missing = fixture({ 'compose.yaml': 'services:\n  web:\n    image: x\n    env_file: gone.env\n' });
  fails(missing, /^env file .*gone\.env not found: stat .*gone\.env: no such file or directory$/);
  // Commands that do not need the environment (config --services) do not read env files.
  assert.deepEqual(Object.keys(load(missing, { load: { resolveEnvironment: false } }).p.services), ['web']);
});

test('secrets and configs: file, environment and content sources', () => {
  const dir = fixture({
    'compose.yaml': [
      'services:',
      '  web:',
      '    image: x',
      '    secrets: [s_file, {source: s_env, target: custom}]',
      '    configs: [c_content]',
      'secrets:',
      '  s_file: {file: ./secret.txt}',
      '  s_env: {environment: TOKEN}',
      '  s_ext: {external: true}',
      'configs:',
      '  c_content: {content: "hello $${NOT} ${WHO}"}',
    ].join('\n'),
  });
  const { p } = load(dir, { env: { TOKEN: 't0k', WHO: 'you' } });
  assert.deepEqual(p.services.web.secrets, [{ source: 's_file', target: '/run/secrets/s_file' }, { source: 's_env', target: 'custom' }]);
  assert.deepEqual(p.secrets.s_file, { name: 'proj_s_file', file: join(dir, 'secret.txt') });
  assert.deepEqual(p.secrets.s_env, { name: 'proj_s_env', environment: 'TOKEN', content: 't0k' });
  assert.equal(p.secrets.s_ext, undefined, 'unused resources are dropped');
  assert.equal(p.configs.c_content.content, 'hello ${NOT} you');
  fails(fixture({ 'compose.yaml': 'services:\n  web:\n    image: x\nsecrets:\n  s: {file: a, environment: B}\n' }), 'secrets.s: file|environment attributes are mutually exclusive');
});

test('names of networks and volumes; external ones as given', () => {
  const dir = fixture({
    'compose.yaml': [
      'services:',
      '  web:',
      '    image: x',
      '    networks: [front, ext, named]',
      '    volumes: [data:/d, extv:/e, namedv:/n, /anon]',
      'networks:',
      '  front: {}',
      '  ext: {external: true}',
      '  named: {name: custom-net}',
      'volumes:',
      '  data: {}',
      '  extv: {external: true, name: real-vol}',
      '  namedv: {name: my-vol}',
    ].join('\n'),
  }, 'shop');
  const { p } = load(dir);
  assert.deepEqual(Object.fromEntries(Object.entries(p.networks).map(([k, v]) => [k, v.name])), { front: 'shop_front', ext: 'ext', named: 'custom-net' });
  assert.deepEqual(Object.fromEntries(Object.entries(p.volumes).map(([k, v]) => [k, v.name])), { data: 'shop_data', extv: 'real-vol', namedv: 'my-vol' });
  assert.equal(p.volumes.extv.external, true);
  assert.deepEqual(p.services.web.volumes?.[3], { type: 'volume', target: '/anon', volume: {} });
  // The implicit default network exists only when a service uses it.
  const def = load(fixture({ 'compose.yaml': 'services:\n  a:\n    image: x\n  b:\n    image: x\n    network_mode: host\n' }, 'p2')).p;
  assert.deepEqual(def.networks, { default: { name: 'p2_default' } });
  assert.deepEqual(def.services.a.networks, { default: null });
  assert.equal(def.services.b.networks, undefined);
});

test('profiles: inactive unless enabled or named; COMPOSE_PROFILES; dependencies', () => {
  const dir = fixture({
    'compose.yaml': [
      'services:',
      '  web: {image: web}',
      '  test_lib: {image: t, profiles: [test]}',
      '  coverage_lib: {image: c, depends_on: [test_lib], profiles: [test]}',
      '  debug_lib: {image: d, depends_on: [test_lib], profiles: [debug]}',
    ].join('\n'),
  });
  const names = (r: Run) => Object.keys(load(dir, r).p.services).sort();
  assert.deepEqual(names({}), ['web']);
  assert.deepEqual(names({ flags: { profiles: ['test'] } }), ['coverage_lib', 'test_lib', 'web']);
  assert.deepEqual(names({ env: { COMPOSE_PROFILES: 'test, x' } }), ['coverage_lib', 'test_lib', 'web']);
  assert.deepEqual(names({ flags: { profiles: ['*'] } }), ['coverage_lib', 'debug_lib', 'test_lib', 'web']);
  // Naming a service enables its profiles (so its dependency in the same profile too), and the
  // project narrows to it and what it depends on.
  assert.deepEqual(names({ load: { services: ['coverage_lib'] } }), ['coverage_lib', 'test_lib']);
  fails(dir, 'service "debug_lib" depends on undefined service "test_lib": invalid compose project', { flags: { profiles: ['debug'] } });
  fails(dir, 'no such service: nope', { load: { services: ['nope'] } });
});

test('the typed model: durations, sizes, commands, healthchecks, deploy, ulimits, extra_hosts, develop', () => {
  const dir = fixture({
    'compose.yaml': [
      'services:',
      '  web:',
      '    build:',
      '      context: app',
      '      dockerfile_inline: FROM busybox',
      '      args: [A=1, FROM_ENV, NOT_SET]',
      '      cache_from: [x]',
      '      shm_size: 1g',
      '      target: prod',
      '      network: host',
      '      labels: {l: v}',
      '    command: sh -c "echo hi; sleep 1"',
      '    entrypoint: []',
      '    healthcheck: {test: curl -f localhost, interval: 1m30s, timeout: 1d, retries: 3, start_period: 500ms}',
      '    stop_grace_period: 1m',
      '    mem_limit: 1g',
      '    shm_size: 64M',
      '    cpus: 0.5',
      '    pids_limit: 100',
      '    deploy: {replicas: 2, resources: {limits: {cpus: "0.5", memory: 1g, pids: 100}, reservations: {memory: 10M}}, restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3}}',
      '    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}',
      '    extra_hosts: ["a:1.2.3.4", "b=::1", "c=[fe80::1]"]',
      '    sysctls: [net.core.somaxconn=1024]',
      '    tmpfs: /run',
      '    dns: 8.8.8.8',
      '    logging: {driver: json-file, options: {max-size: 10m}}',
      '    init: true',
      '    restart: unless-stopped',
      '    depends_on:',
      '      db: {condition: service_completed_successfully, restart: true}',
      '      opt: {condition: service_started, required: false}',
      '    volumes:',
      '      - {type: bind, source: ./src, target: /src, read_only: true, bind: {create_host_path: true}}',
      '      - {type: volume, source: data, target: /data, volume: {nocopy: true}}',
      '      - {type: tmpfs, target: /tmp, tmpfs: {size: 10m, mode: 1777}}',
      '    develop:',
      '      watch:',
      '        - {path: ./src, action: sync, target: /src, ignore: node_modules/}',
      '        - {path: package.json, action: rebuild}',
      '  db: {image: x}',
      // required: false lets a dependency be disabled by its profile (not undefined).
      '  opt: {image: x, profiles: [extra]}',
      'volumes: {data: {}}',
    ].join('\n'),
  });
  const { p } = load(dir, { env: { FROM_ENV: 'e' } });
  const w = p.services.web;
  assert.deepEqual(w.build, { context: join(dir, 'app'), dockerfileInline: 'FROM busybox', args: { A: '1', FROM_ENV: 'e' }, cacheFrom: ['x'], shmSize: 1 << 30, target: 'prod', network: 'host', labels: { l: 'v' } });
  assert.deepEqual(w.command, ['sh', '-c', 'echo hi; sleep 1']);
  assert.deepEqual(w.entrypoint, []);
  assert.deepEqual(w.healthcheck, { test: ['CMD-SHELL', 'curl -f localhost'], interval: 90e9, timeout: 86400e9, retries: 3, startPeriod: 5e8 });
  assert.equal(w.stopGracePeriod, 60e9);
  assert.equal(w.memLimit, 1 << 30);
  assert.equal(w.shmSize, 64 * 1024 * 1024);
  assert.equal(w.cpus, 0.5);
  assert.equal(w.pidsLimit, 100);
  assert.deepEqual(w.deploy, { replicas: 2, resources: { limits: { cpus: 0.5, memory: 1 << 30, pids: 100 }, reservations: { memory: 10 * 1024 * 1024 } }, restartPolicy: { condition: 'on-failure', delay: 5e9, maxAttempts: 3 } });
  assert.deepEqual(w.ulimits, { nofile: { soft: 1024, hard: 2048 }, nproc: { single: 512 } });
  assert.deepEqual(w.extraHosts, { a: ['1.2.3.4'], b: ['::1'], c: ['fe80::1'] });
  assert.deepEqual(w.sysctls, { 'net.core.somaxconn': '1024' });
  assert.deepEqual(w.tmpfs, ['/run']);
  assert.deepEqual(w.dns, ['8.8.8.8']);
  assert.deepEqual(w.logging, { driver: 'json-file', options: { 'max-size': '10m' } });
  assert.equal(w.init, true);
  assert.equal(w.restart, 'unless-stopped');
  assert.deepEqual(w.dependsOn, { db: { condition: 'service_completed_successfully', restart: true, required: true }, opt: { condition: 'service_started', restart: false, required: false } });
  assert.deepEqual(w.volumes, [
    { type: 'bind', source: join(dir, 'src'), target: '/src', readOnly: true, bind: { createHostPath: true } },
    { type: 'volume', source: 'data', target: '/data', volume: { nocopy: true } },
    { type: 'tmpfs', target: '/tmp', tmpfs: { size: 10 * 1024 * 1024, mode: 1777 } },
  ]);
  assert.deepEqual(w.develop, { watch: [{ path: join(dir, 'src'), action: 'sync', target: '/src', ignore: ['node_modules/'] }, { path: join(dir, 'package.json'), action: 'rebuild' }] });
});

test('network_mode and volumes_from imply dependencies; network_mode excludes networks', () => {
  const dir = fixture({ 'compose.yaml': 'services:\n  app: {image: x}\n  side:\n    image: x\n    network_mode: service:app\n    volumes_from: [app:ro, container:other]\n' });
  assert.deepEqual(load(dir).p.services.side.dependsOn, { app: { condition: 'service_started', restart: true, required: true } });
  fails(fixture({ 'compose.yaml': 'services:\n  a:\n    image: x\n    network_mode: host\n    networks: [n]\nnetworks: {n: {}}\n' }), 'service a declares mutually exclusive `network_mode` and `networks`: invalid compose project');
  fails(fixture({ 'compose.yaml': 'services:\n  a:\n    image: x\n    network_mode: service:gone\n' }), 'service "a" depends on undefined service "gone": invalid compose project');
});

test('version: accepted, ignored, with compose\'s warning', () => {
  const dir = fixture({ 'compose.yaml': 'version: "3.9"\nservices:\n  web:\n    image: x\n' });
  const { p, warnings } = load(dir);
  assert.equal(p.services.web.image, 'x');
  assert.deepEqual(warnings, [`${join(dir, 'compose.yaml')}: the attribute \`version\` is obsolete, it will be ignored, please remove it to avoid potential confusion`]);
});

test('bad input: each a clear error naming the place', () => {
  const f = (text: string) => fixture({ 'compose.yaml': text });
  const file = (d: string) => join(d, 'compose.yaml');
  let d = f('services:\n  web:\n    image: x\n    depends_on: [db]\n');
  fails(d, 'service "web" depends on undefined service "db": invalid compose project');
  d = f('services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [c]}\n  c: {image: x, depends_on: [a]}\n');
  fails(d, 'dependency cycle detected: a -> b -> c -> a');
  d = f('services:\n  a: {image: x, depends_on: [a]}\n');
  fails(d, 'dependency cycle detected: a -> a');
  fails(f('services:\n  web:\n    image: x\n    ports: ["80:abc"]\n'), 'services.web.ports[0]: invalid containerPort: abc');
  fails(f('services:\n  web:\n    image: x\n    ports: ["80", "1.2.3:80:80"]\n'), 'services.web.ports[1]: invalid IP address: 1.2.3');
  fails(f('services:\n  web:\n    image: x\n    ports: [{target: 80, host_ip: nope}]\n'), 'services.web.ports.[]: invalid ip address: nope');
  fails(f('services:\n  web:\n    image: x\n    volumes: ["/a:/b:ro:x"]\n'), 'services.web.volumes[0]: invalid spec: /a:/b:ro:x: too many colons');
  fails(f('services:\n  web:\n    image: x\n    volumes: [{type: bind, target: /x}]\n'), 'invalid mount config for type "bind": field Source must not be empty');
  fails(f('services:\n  web:\n    image: ${IMAGE:?set IMAGE to the image to run}\n'), 'error while interpolating services.web.image: required variable IMAGE is missing a value: set IMAGE to the image to run');
  d = f('services:\n  web:\n    image: x\n    foo: bar\n');
  fails(d, `validating ${file(d)}: services.web additional properties 'foo' not allowed`);
  d = f('services:\n  web:\n    image: x\nvolume:\n  data: {}\n');
  fails(d, `validating ${file(d)}:  additional properties 'volume' not allowed`);
  d = f('services:\n  web: {build: {context: ., dockerfile: x, dockerfile_inline: y}}\n');
  fails(d, 'service "web" declares mutualy exclusive dockerfile and dockerfile_inline: invalid compose project');
  fails(f('services:\n  web: {image: x, volumes: [gone:/x]}\n'), 'service "web" refers to undefined volume gone: invalid compose project');
  fails(f('services:\n  web: {image: x, networks: [gone]}\n'), 'service "web" refers to undefined network gone: invalid compose project');
  fails(f('services:\n  web: {image: x, secrets: [gone]}\n'), 'service "web" refers to undefined secret gone: invalid compose project');
  fails(f('services:\n  web: {image: x, healthcheck: {test: [curl, x]}}\n'), 'healthcheck.test must start either by "CMD", "CMD-SHELL" or "NONE"');
  fails(f('services:\n  web: {image: x, scale: 2, deploy: {replicas: 3}}\n'), "services.web: can't set distinct values on 'scale' and 'deploy.replicas': invalid compose project");
  fails(f('services:\n  web: {image: x, cpus: 1.5, deploy: {resources: {limits: {cpus: "0.5"}}}}\n'), "services.web: can't set distinct values on 'cpus' and 'deploy.resources.limits.cpus': invalid compose project");
  fails(f('services:\n  web: {image: x, mem_limit: 1x}\n'), "services.web.mem_limit: invalid suffix: 'x'");
  fails(f('services:\n  web: {image: x, stop_grace_period: 10}\n'), /^validating .*: services\.web\.stop_grace_period must be a string$/);
  fails(f('services:\n  web: {image: x, command: "echo \\"open"}\n'), 'services.web.command: invalid command line string');
  fails(f('services:\n  web: {image: x, tmpfs: [/t], volumes: [/t]}\n'), 'services.web.volumes[0]: target /t already mounted as services.web.tmpfs[0]');
  fails(f('services:\n  web:\n    image: x\n    image: y\n'), /^failed to parse .*compose\.yaml: line 4: mapping key "image" already defined at line 3$/);
  fails(f('services: [\n'), /^failed to parse .*compose\.yaml: yaml: line 2: /);
  fails(f('- a\n'), 'top-level object must be a mapping');
  fails(f(''), 'empty compose file');
  fails(fixture({}), 'no configuration file provided: not found');
});

test('the whole model renders back to a file that loads to the same model', () => {
  const dir = fixture({
    'compose.yaml': 'services:\n  web:\n    image: "nginx:$${TAG}"\n    ports: ["127.0.0.1:8080:80"]\n    environment: {A: "yes", B: "1", C: ""}\n    volumes: [./x:/x:ro, data:/data]\nvolumes: {data: {}}\n',
  });
  const first = load(dir).p;
  const again = fixture({ 'compose.yaml': toYaml(first) });
  const second = load(again, { flags: { projectName: first.name } }).p;
  assert.deepEqual(second.services, first.services);
  assert.equal(second.services.web.image, 'nginx:${TAG}');
});
