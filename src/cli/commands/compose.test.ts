// `berth compose config` / `version` through the built CLI (no daemon involved), compared with
// what docker compose v2.40 prints for the same files.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { formatWarning } from './compose.ts';

const ROOT = (() => {
  let dir = resolve(new URL('.', import.meta.url).pathname);
  while (!existsSync(join(dir, 'package.json')) && dir !== '/') dir = resolve(dir, '..');
  return dir;
})();
const BERTH = join(ROOT, 'dist', 'berth.cjs');

const roots: string[] = [];
after(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

function fixture(files: Record<string, string>, name = 'demo'): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-compose-cli-'));
  roots.push(root);
  const dir = join(root, name);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

function berth(args: string[], cwd: string, env: Record<string, string> = {}, input?: string) {
  // A clean environment: only what the test sets (and PATH), so the host's variables do not leak in.
  const r = spawnSync(process.execPath, [BERTH, ...args], { cwd, env: { PATH: process.env.PATH ?? '/bin', ...env }, encoding: 'utf8', input, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const DEMO = `name: demo
services:
  web:
    build:
      context: ./web
      args:
        VERSION: "1.0"
    image: demo/web:latest
    command: ["npm", "start"]
    environment:
      NODE_ENV: production
      DEBUG: "false"
      EMPTY: ""
      RATIO: 0.5
    env_file: web.env
    ports:
      - "8080:80"
      - target: 443
        published: "8443"
        host_ip: 127.0.0.1
    expose: ["9000"]
    volumes:
      - ./static:/srv/static:ro
      - uploads:/srv/uploads
      - type: tmpfs
        target: /tmp
        tmpfs:
          size: 1048576
    networks:
      front:
        aliases: [www]
      back:
        ipv4_address: 172.28.0.10
    depends_on:
      db:
        condition: service_healthy
        restart: true
      cache:
        condition: service_started
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost/health"]
      interval: 30s
      timeout: 10s
      retries: 3
      start_period: 40s
    restart: "no"
    labels:
      com.example.description: "Demo web app"
    extra_hosts:
      - "host.docker.internal:host-gateway"
    ulimits:
      nofile:
        soft: 20000
        hard: 40000
    logging:
      driver: json-file
      options:
        max-size: "10m"
    deploy:
      resources:
        limits:
          cpus: "0.50"
          memory: 512M
    stop_grace_period: 1m30s
    user: "1000:1000"
    working_dir: /srv
    init: true
    secrets: [api_key]
    configs:
      - source: app_config
        target: /etc/app.conf
        mode: 0440
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: example
    volumes:
      - db-data:/var/lib/postgresql/data
    networks: [back]
    healthcheck:
      test: pg_isready -U postgres
      interval: 5s
    shm_size: 128mb
  cache:
    image: redis:7-alpine
    networks: [back]
    sysctls:
      net.core.somaxconn: 1024
    cap_add: [NET_ADMIN]
    tmpfs: /data
  adminer:
    image: adminer
    profiles: [debug]
networks:
  front: {}
  back:
    driver: bridge
    ipam:
      config:
        - subnet: 172.28.0.0/16
volumes:
  db-data:
  uploads:
    driver: local
    labels:
      com.example.usage: uploads
  unused: {}
secrets:
  api_key:
    file: ./secrets/api_key.txt
configs:
  app_config:
    content: |
      debug=false
      port=80
`;

// What docker compose v2.40 prints for DEMO (worked out from compose-go 2.9.1's types and
// go-yaml's encoder; DIR is the project directory).
const DEMO_CONFIG = `name: demo
services:
  cache:
    cap_add:
      - NET_ADMIN
    image: redis:7-alpine
    networks:
      back: null
    sysctls:
      net.core.somaxconn: "1024"
    tmpfs:
      - /data
  db:
    environment:
      POSTGRES_PASSWORD: example
    healthcheck:
      test:
        - CMD-SHELL
        - pg_isready -U postgres
      interval: 5s
    image: postgres:16
    networks:
      back: null
    shm_size: "134217728"
    volumes:
      - type: volume
        source: db-data
        target: /var/lib/postgresql/data
        volume: {}
  web:
    build:
      context: DIR/web
      dockerfile: Dockerfile
      args:
        VERSION: "1.0"
    command:
      - npm
      - start
    configs:
      - source: app_config
        target: /etc/app.conf
        mode: "0440"
    depends_on:
      cache:
        condition: service_started
        required: true
      db:
        condition: service_healthy
        restart: true
        required: true
    deploy:
      resources:
        limits:
          cpus: 0.5
          memory: "536870912"
    environment:
      DEBUG: "false"
      EMPTY: ""
      NODE_ENV: production
      RATIO: "0.5"
      WEB_FILE: "1"
    expose:
      - "9000"
    extra_hosts:
      - host.docker.internal=host-gateway
    healthcheck:
      test:
        - CMD
        - curl
        - -f
        - http://localhost/health
      timeout: 10s
      interval: 30s
      retries: 3
      start_period: 40s
    image: demo/web:latest
    init: true
    labels:
      com.example.description: Demo web app
    logging:
      driver: json-file
      options:
        max-size: 10m
    networks:
      back:
        ipv4_address: 172.28.0.10
      front:
        aliases:
          - www
    ports:
      - mode: ingress
        target: 80
        published: "8080"
        protocol: tcp
      - mode: ingress
        host_ip: 127.0.0.1
        target: 443
        published: "8443"
        protocol: tcp
    restart: "no"
    secrets:
      - source: api_key
        target: /run/secrets/api_key
    stop_grace_period: 1m30s
    ulimits:
      nofile:
        soft: 20000
        hard: 40000
    user: 1000:1000
    volumes:
      - type: bind
        source: DIR/static
        target: /srv/static
        read_only: true
        bind:
          create_host_path: true
      - type: volume
        source: uploads
        target: /srv/uploads
        volume: {}
      - type: tmpfs
        target: /tmp
        tmpfs:
          size: "1048576"
    working_dir: /srv
networks:
  back:
    name: demo_back
    driver: bridge
    ipam:
      config:
        - subnet: 172.28.0.0/16
  front:
    name: demo_front
volumes:
  db-data:
    name: demo_db-data
  uploads:
    name: demo_uploads
    driver: local
    labels:
      com.example.usage: uploads
secrets:
  api_key:
    name: demo_api_key
    file: DIR/secrets/api_key.txt
configs:
  app_config:
    name: demo_app_config
    content: |
      debug=false
      port=80
`;

test('compose config prints the resolved model as docker compose v2 does', () => {
  const dir = fixture({ 'compose.yaml': DEMO, 'web.env': 'WEB_FILE=1\n' });
  const r = berth(['compose', 'config'], dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, DEMO_CONFIG.replaceAll('DIR', dir));
  // compose's own e2e check (config_test.go): the port shorthand expanded.
  const e2e = fixture({ 'compose.yaml': 'services:\n  test:\n    image: nginx\n    ports:\n      - ${PORT:-8080}:80\n' });
  assert.ok(berth(['compose', 'config'], e2e).stdout.includes('\n    ports:\n      - mode: ingress\n        target: 80\n        published: "8080"\n        protocol: tcp\n'));
  assert.ok(berth(['compose', 'config', '--format', 'json'], e2e).stdout.includes('"published": "8080"'));
});

test('config --format json, -o, -q, --services, --volumes, --networks, --images, --profiles, --hash, --environment', () => {
  const dir = fixture({ 'compose.yaml': DEMO, 'web.env': 'WEB_FILE=1\n' });
  const j = berth(['compose', 'config', '--format', 'json'], dir);
  assert.equal(j.status, 0, j.stderr);
  const model = JSON.parse(j.stdout);
  assert.deepEqual(Object.keys(model), ['configs', 'name', 'networks', 'secrets', 'services', 'volumes']);
  assert.deepEqual(Object.keys(model.services.db), ['command', 'entrypoint', 'environment', 'healthcheck', 'image', 'networks', 'shm_size', 'volumes']);
  assert.equal(model.services.db.command, null);

  const out = join(dir, 'out.yaml');
  const o = berth(['compose', 'config', '-o', out], dir);
  assert.deepEqual([o.status, o.stdout], [0, '']);
  assert.equal(readFileSync(out, 'utf8'), DEMO_CONFIG.replaceAll('DIR', dir));
  assert.deepEqual(berth(['compose', 'config', '-q'], dir), { status: 0, stdout: '', stderr: '' });

  assert.equal(berth(['compose', 'config', '--services'], dir).stdout, 'cache\ndb\nweb\n');
  assert.equal(berth(['compose', '--profile', 'debug', 'config', '--services'], dir).stdout, 'adminer\ncache\ndb\nweb\n');
  assert.equal(berth(['compose', 'config', '--volumes'], dir).stdout, 'db-data\nuploads\n');
  assert.equal(berth(['compose', 'config', '--networks'], dir).stdout, 'back\nfront\n');
  assert.equal(berth(['compose', 'config', '--images'], dir).stdout, 'redis:7-alpine\npostgres:16\ndemo/web:latest\n');
  assert.equal(berth(['compose', 'config', '--profiles'], dir).stdout, 'debug\n');
  const h = berth(['compose', 'config', '--hash', 'db,web'], dir);
  assert.match(h.stdout, /^db [0-9a-f]{64}\nweb [0-9a-f]{64}\n$/);
  assert.equal(berth(['compose', 'config', '--hash', '*'], dir).stdout.split('\n').length, 4);
  assert.match(berth(['compose', 'config', '--environment'], dir, { X: '1' }).stdout, /^COMPOSE_PROJECT_NAME=demo\nPATH=.*\nPWD=.*\nX=1\n$/);
  // Services named on the command line narrow the model to them and their dependencies.
  const sel = berth(['compose', 'config', 'db'], dir);
  assert.ok(sel.stdout.includes('  db:\n') && !sel.stdout.includes('  web:\n'));
  const bad = berth(['compose', 'config', '--format', 'toml'], dir);
  assert.deepEqual([bad.status, bad.stderr], [1, 'unsupported format "toml"\n']);
});

test('global flags: -f (and stdin), -p, --project-directory, --env-file, --profile; COMPOSE_FILE', () => {
  const dir = fixture({
    'a.yaml': 'services:\n  web:\n    image: "app:${TAG:-none}"\n',
    'b.yaml': 'services:\n  web:\n    user: nobody\n',
    'sub/.keep': '',
    'tags.env': 'TAG=fromfile\n',
  }, 'flags');
  const cfg = (args: string[], env: Record<string, string> = {}, input?: string) => berth(['compose', ...args, 'config'], dir, env, input);
  let r = cfg(['-f', 'a.yaml', '-f', 'b.yaml', '-p', 'named']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^name: named\n/);
  assert.ok(r.stdout.includes('    image: app:none\n    networks:\n      default: null\n    user: nobody\n'));
  r = cfg(['--file=a.yaml', '--env-file', 'tags.env']);
  assert.ok(r.stdout.includes('image: app:fromfile'), r.stdout + r.stderr);
  r = cfg(['-f', '-', '--project-directory', 'sub'], {}, 'services:\n  x:\n    image: y\n    volumes: [./d:/d]\n');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^name: sub\n/);
  assert.ok(r.stdout.includes(`source: ${join(dir, 'sub', 'd')}\n`));
  r = berth(['compose', 'config', '--services'], dir, { COMPOSE_FILE: 'a.yaml:b.yaml' });
  assert.deepEqual([r.status, r.stdout], [0, 'web\n']);
});

test('errors: a clear message on stderr, exit 1', () => {
  const dir = fixture({ 'compose.yaml': 'services:\n  web:\n    image: x\n    depends_on: [db]\n' });
  const r = berth(['compose', 'config'], dir);
  assert.deepEqual([r.status, r.stdout, r.stderr], [1, '', 'service "web" depends on undefined service "db": invalid compose project\n']);
  const bad = fixture({ 'compose.yaml': 'services:\n  web:\n    image: x\n    ports: ["80:http"]\n' });
  assert.deepEqual(berth(['compose', 'config'], bad).stderr, 'services.web.ports[0]: invalid containerPort: http\n');
  const none = fixture({}, 'empty');
  assert.deepEqual(berth(['compose', 'config'], none), { status: 1, stdout: '', stderr: 'no configuration file provided: not found\n' });
  const name = berth(['compose', '-p', 'Upper', 'config'], dir);
  assert.equal(name.status, 1);
  assert.match(name.stderr, /^invalid project name "Upper": must consist only of lowercase alphanumeric characters/);
  assert.deepEqual(berth(['compose', '--progress', 'fancy', 'config'], dir).stderr, 'unsupported --progress value "fancy"\n');
  const unk = berth(['compose', 'nope'], dir);
  assert.equal(unk.status, 1);
  assert.match(unk.stderr, /unknown command: berth compose nope/);
  const flag = berth(['compose', '--bogus', 'config'], dir);
  assert.equal(flag.status, 125);
  assert.match(flag.stderr, /^unknown flag: --bogus/);
});

test('warnings go to stderr in logrus\'s format', () => {
  const dir = fixture({ 'compose.yaml': 'version: "3"\nservices:\n  web:\n    image: "x${NOPE}"\n' });
  const r = berth(['compose', 'config', '--services'], dir);
  assert.equal(r.status, 0);
  assert.match(r.stderr, /^time="[0-9T:-]+Z" level=warning msg="The \\"NOPE\\" variable is not set\. Defaulting to a blank string\."\n/);
  assert.match(r.stderr, /level=warning msg=".*compose\.yaml: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion"\n$/);
  assert.equal(formatWarning('plain', false, new Date(0)), 'time="1970-01-01T00:00:00Z" level=warning msg=plain\n');
  assert.equal(formatWarning('a b', true), '\x1b[33mWARN\x1b[0m[0000] a b\n');
});

test('compose version, help', () => {
  const dir = fixture({}, 'v');
  assert.match(berth(['compose', 'version'], dir).stdout, /^Docker Compose version v2\.\d+\.\d+ \(berth [^)]+\)\n$/);
  assert.match(berth(['compose', 'version', '--short'], dir).stdout, /^2\.\d+\.\d+\n$/);
  assert.match(berth(['compose', 'version', '--format', 'json'], dir).stdout, /^\{"version":"v2\.\d+\.\d+"\}\n$/);
  assert.match(berth(['compose', '-v'], dir).stdout, /^Docker Compose version v2/);
  const h = berth(['compose', '--help'], dir);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /Usage: berth compose \[OPTIONS\] COMMAND/);
  assert.match(h.stdout, /-f, --file/);
  assert.match(h.stdout, /config \[options\]\s+Parse, resolve and render compose file/);
  assert.match(berth(['--help'], dir).stdout, /compose/);
  assert.match(berth(['compose', 'config', '--help'], dir).stdout, /--services/);
});
