// The docker CLI (28) running berth's compose as its `compose` plugin (bin/docker-compose),
// installed in the test's own DOCKER_CONFIG/cli-plugins (the docker CLI searches there first),
// never system-wide: the metadata call, `docker compose` commands on a real app (build, run,
// ps, logs, exec, images, port, ls, cp), and the engine named by DOCKER_HOST, -H or a docker
// context.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { startDaemon, hasDocker, httpGet, ROOT, type Daemon, type RunOut } from '../integration/harness.ts';
import { composeDown, composeUp, writeProject } from './compose-util.ts';

const skip = hasDocker ? false : 'the docker CLI is not installed on this machine';
let d: Daemon;
let dir: string;
let port: number;
const P = 'plug';
const PLUGIN = join(ROOT, 'bin', 'docker-compose');

before(async () => {
  if (skip) return;
  d = await startDaemon();
  const plugins = join(d.dir, 'docker-config', 'cli-plugins');
  mkdirSync(plugins, { recursive: true });
  symlinkSync(PLUGIN, join(plugins, 'docker-compose'));
  dir = mkdtempSync(join(d.dir, 'plug-'));
  port = await new Promise<number>((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); }); });
  writeProject(dir, {
    'compose.yaml': [
      'services:',
      '  web:',
      '    build: ./web',
      `    ports: ["127.0.0.1:${port}:80"]`,
      '    depends_on: [db]',
      '  db:',
      '    image: busybox',
      `    command: sh -c "trap 'exit 0' TERM; echo db-up; while true; do sleep 0.2; done"`,
      '    volumes: [data:/data]',
      'volumes:',
      '  data:',
      '',
    ].join('\n'),
    'web/Dockerfile': 'FROM busybox\nRUN mkdir /www && echo plugin-web > /www/index.html\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n',
  });
});
after(async () => {
  if (d) await composeDown(d, dir, P).catch(() => {});
  await d?.stop();
});

/** `docker compose ...` with the test daemon as DOCKER_HOST (the harness's docker runner). */
const dc = (args: string[], o: { env?: Record<string, string>; input?: string } = {}): RunOut => d.docker(['compose', '-f', join(dir, 'compose.yaml'), '-p', P, ...args], { timeout: 120_000, ...o });
const ok = (r: RunOut) => { assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`); return r; };

test('the plugin answers the docker CLI\'s metadata call, and docker lists it', { skip }, () => {
  const meta = JSON.parse(spawnSync(PLUGIN, ['docker-cli-plugin-metadata']).stdout.toString());
  const version = ok(d.berth(['compose', 'version', '--short'])).stdout.trim();
  assert.deepEqual(meta, { SchemaVersion: '0.1.0', Vendor: 'berth', Version: `v${version}`, ShortDescription: 'Docker Compose (berth)', URL: 'https://github.com/docker/compose' });
  assert.match(ok(d.docker(['--help'])).stdout, /compose\*\s+Docker Compose \(berth\)/);
  assert.match(ok(d.docker(['compose', 'version'])).stdout, new RegExp(`^Docker Compose version v${version.replace(/\./g, '\\.')}`));
});

test('docker compose build, run, ps, logs, exec, images, port, ls, cp on berthd', { skip }, async () => {
  const b = ok(dc(['build']));
  assert.match(b.stdout, /Successfully tagged plug-web:latest/);
  await composeUp(d, dir, P);
  assert.equal(await httpGet('127.0.0.1', port), 'plugin-web\n');
  const ps = ok(dc(['ps', '--format', '{{.Name}} {{.Service}} {{.State}}'])).stdout;
  assert.equal(ps, 'plug-db-1 db running\nplug-web-1 web running\n');
  assert.match(ok(dc(['logs', '--no-color', 'db'])).stdout, /^db-1  \| db-up$/m);
  const ex = dc(['exec', '-T', 'db', 'sh', '-c', 'echo in-db; exit 4']);
  assert.equal(ex.status, 4);
  assert.equal(ex.stdout, 'in-db\n');
  const run = dc(['run', '--rm', 'db', 'sh', '-c', 'echo one-off $(nslookup web >/dev/null && echo resolves); exit 2']);
  assert.equal(run.status, 2, run.stderr);
  assert.equal(run.stdout, 'one-off resolves\n');
  assert.match(ok(dc(['images'])).stdout, /plug-web-1\s+plug-web\s+latest/);
  assert.equal(ok(dc(['port', 'web', '80'])).stdout, `127.0.0.1:${port}\n`);
  assert.match(ok(d.docker(['compose', 'ls'])).stdout, /^plug\s+running\(2\)\s/m);
  const out = join(dir, 'index.out');
  ok(dc(['cp', 'web:/www/index.html', out]));
  assert.equal(readFileSync(out, 'utf8'), 'plugin-web\n');
});

test('the engine is the one the docker CLI names: DOCKER_HOST, -H, a context', { skip }, () => {
  const sock = `unix://${d.sock}`;
  // -H, DOCKER_HOST unset.
  assert.match(ok(d.docker(['-H', sock, 'compose', 'ls', '-q'], { env: { DOCKER_HOST: '' } })).stdout, /^plug$/m);
  // A context of the docker CLI (in the test's DOCKER_CONFIG), by --context and as the current one.
  ok(d.docker(['context', 'create', 'berth-test', '--docker', `host=${sock}`], { env: { DOCKER_HOST: '' } }));
  try {
    assert.match(ok(d.docker(['--context', 'berth-test', 'compose', 'ls', '-q'], { env: { DOCKER_HOST: '' } })).stdout, /^plug$/m);
    ok(d.docker(['context', 'use', 'berth-test'], { env: { DOCKER_HOST: '' } }));
    assert.match(ok(d.docker(['compose', 'ls', '-q'], { env: { DOCKER_HOST: '' } })).stdout, /^plug$/m);
  } finally {
    d.docker(['context', 'use', 'default'], { env: { DOCKER_HOST: '' } });
    d.docker(['context', 'rm', '-f', 'berth-test'], { env: { DOCKER_HOST: '' } });
  }
  // An engine that is not there: the docker CLI's host in the error, not berth's default.
  const gone = d.docker(['-H', `unix://${join(d.dir, 'nothing.sock')}`, 'compose', 'ls'], { env: { DOCKER_HOST: '' } });
  assert.equal(gone.status, 1);
  assert.match(gone.stderr, new RegExp(`unix://${join(d.dir, 'nothing.sock').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});
