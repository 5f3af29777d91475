#!/usr/bin/env node
// bench/compose: median wall time of `up -d` (no build) and `down` of a 6-service app (busybox
// httpd services on two networks, a named volume, depends_on with a healthcheck), for
//   berth compose on berthd,
//   Debian's docker-compose 1.29 on berthd,
//   docker-compose 1.29 on dockerd, when BENCH_DOCKER_HOST names a Docker engine (with busybox),
// all in the same run, and the ratios (target: berth compose up -d ≤ 0.4× docker-compose 1.29
// on dockerd). Uses a private berthd (bench/lib/daemon.mjs).
// Usage: node bench/compose.mjs [iterations]   (root; after `npm run build`)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBerthd, median, time, root } from './lib/daemon.mjs';

const N = Number(process.argv[2] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-compose-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// Every service serves a page; db's health decides when api and worker may start. The shell
// stays PID 1 and exits on TERM (httpd as PID 1 would ignore it: every stop would take the 10 s
// grace period, on any engine).
const serve = (prep) => `sh -c "trap 'exit 0' TERM; ${prep} && httpd -f -p 80 -h /www & wait"`;
const httpd = (name) => serve(`mkdir -p /www && echo ${name} > /www/index.html`);
writeFileSync(join(dir, 'compose.yaml'), [
  'services:',
  '  db:',
  `    image: busybox`,
  `    command: ${serve('mkdir -p /data /www && touch /data/ok')}`,
  '    volumes: [data:/data]',
  '    networks: [back]',
  '    healthcheck: {test: ["CMD", "test", "-f", "/data/ok"], interval: 200ms, timeout: 2s, retries: 50}',
  '  cache:',
  '    image: busybox',
  `    command: ${httpd('cache')}`,
  '    networks: [back]',
  '  api:',
  '    image: busybox',
  `    command: ${httpd('api')}`,
  '    networks: [front, back]',
  '    depends_on:',
  '      db: {condition: service_healthy}',
  '      cache: {condition: service_started}',
  '  worker:',
  '    image: busybox',
  `    command: ${httpd('worker')}`,
  '    networks: [back]',
  '    depends_on:',
  '      db: {condition: service_healthy}',
  '  web:',
  '    image: busybox',
  `    command: ${httpd('web')}`,
  '    networks: [front]',
  '    depends_on: [api]',
  '  static:',
  '    image: busybox',
  `    command: ${httpd('static')}`,
  '    networks: [front]',
  'networks:',
  '  front:',
  '  back:',
  'volumes:',
  '  data:',
  '',
].join('\n'));

const file = join(dir, 'compose.yaml');
const berthCompose = (host) => (args) => spawnSync(join(root, 'bin/berth'), ['-H', host, 'compose', '-f', file, '-p', 'benchb', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
const dockerCompose = (host, project) => (args) => spawnSync('docker-compose', ['-f', file, '-p', project, ...args], {
  stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DOCKER_HOST: host, COMPOSE_INTERACTIVE_NO_CLI: '1' },
});

/** Median `up -d` and `down` times over N cycles (after one warm-up cycle), or why it could not run. */
function measure(name, run) {
  const check = (r, what) => { if (r.status !== 0) throw new Error(`${name} ${what}: ${r.stderr.toString().trim().split('\n').slice(-3).join(' | ')}`); };
  check(run(['up', '-d']), 'up -d');
  check(run(['down']), 'down');
  const up = [];
  const down = [];
  for (let i = 0; i < N; i++) {
    let r;
    up.push(time(() => { r = run(['up', '-d']); }));
    check(r, 'up -d');
    down.push(time(() => { r = run(['down']); }));
    check(r, 'down');
  }
  run(['down', '-v']);
  return { up: median(up), down: median(down) };
}

const hasDockerCompose = spawnSync('docker-compose', ['version', '--short']).status === 0;
const b = await startBerthd();
const results = {};
const fmt = (x) => (x === undefined ? '—' : `${x.toFixed(0)} ms`);
try {
  if (spawnSync(join(root, 'bin/berth'), ['-H', b.host, 'compose', 'up', '--help']).status === 0) {
    results['berth compose on berthd'] = measure('berth compose', berthCompose(b.host));
  } else {
    console.log('berth compose up is not in this build: its figure is left out');
  }
  if (hasDockerCompose) results['docker-compose 1.29 on berthd'] = measure('docker-compose (berthd)', dockerCompose(b.host, 'benchp'));
  else console.log('docker-compose is not installed: its figures are left out');
  if (process.env.BENCH_DOCKER_HOST && hasDockerCompose) {
    results['docker-compose 1.29 on dockerd'] = measure('docker-compose (dockerd)', dockerCompose(process.env.BENCH_DOCKER_HOST, 'benchd'));
  }
} finally {
  b.stop();
}

console.log(`compose up -d / down of a 6-service app, median of ${N}:`);
for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(32)} up -d ${fmt(v.up).padStart(8)}   down ${fmt(v.down).padStart(8)}`);
const ours = results['berth compose on berthd'];
for (const anchor of ['docker-compose 1.29 on dockerd', 'docker-compose 1.29 on berthd']) {
  const a = results[anchor];
  if (ours && a) console.log(`  berth compose / ${anchor}: up -d ${(ours.up / a.up).toFixed(2)}x, down ${(ours.down / a.down).toFixed(2)}x${anchor.endsWith('dockerd') ? ' (target: up -d ≤ 0.40x)' : ''}`);
}
