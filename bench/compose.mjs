#!/usr/bin/env node
// bench/compose: median wall time of `up -d` (no build) and `down` of a 6-service app (busybox
// httpd services on two networks, a named volume, depends_on with a healthcheck), for
//   - berth compose on berthd (berth's figure);
//   - Debian's docker-compose 1.29 on berthd;
//   - docker-compose 1.29 on a Docker engine, when BENCH_DOCKER_HOST names one with busybox (the
//     anchor: the target is berth compose `up -d` ≤ 0.4× of it),
// all in the same run, with the ratios. Nothing is pulled (busybox is imported); traffic stays on
// the machine. Uses a private berthd (bench/lib/daemon.mjs).
// Usage: node bench/compose.mjs [rounds]   (root; after `npm run build`)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBerthd, median, time, root } from './lib/daemon.mjs';

const N = Number(process.argv[2] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-compose-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// db's health decides when api and worker may start; web waits for api; cache and static are
// independent (they start at once, in parallel). The shell stays PID 1 and exits on TERM (httpd
// as PID 1 would ignore it: every stop would take the 10 s grace period, on any engine), so
// `down` measures compose and the engine, not a stop timeout.
const serve = (prep) => `sh -c "trap 'exit 0' TERM; ${prep} && httpd -f -p 80 -h /www & wait"`;
const httpd = (name) => serve(`mkdir -p /www && echo ${name} > /www/index.html`);
const service = (name, nets, extra = []) => [`  ${name}:`, '    image: busybox', `    command: ${httpd(name)}`, `    networks: [${nets}]`, ...extra];
writeFileSync(join(dir, 'compose.yaml'), [
  'services:',
  '  db:',
  '    image: busybox',
  `    command: ${serve('mkdir -p /data /www && touch /data/ok')}`,
  '    volumes: [data:/data]',
  '    networks: [back]',
  '    healthcheck: {test: ["CMD", "test", "-f", "/data/ok"], interval: 200ms, timeout: 2s, retries: 50}',
  ...service('cache', 'back'),
  ...service('api', 'front, back', ['    depends_on:', '      db: {condition: service_healthy}', '      cache: {condition: service_started}']),
  ...service('worker', 'back', ['    depends_on:', '      db: {condition: service_healthy}']),
  ...service('web', 'front', ['    depends_on: [api]']),
  ...service('static', 'front'),
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

/** Median `up -d` and `down` times over N cycles after one warm-up cycle (page cache, first networks). */
function measure(name, run) {
  const check = (r, what) => { if (r.status !== 0) throw new Error(`${name} ${what}: ${r.stderr.toString().trim().split('\n').slice(-3).join(' | ')}`); };
  check(run(['up', '-d']), 'up -d');
  check(run(['down']), 'down');
  const up = [];
  const down = [];
  try {
    for (let i = 0; i < N; i++) {
      let r;
      up.push(time(() => { r = run(['up', '-d']); }));
      check(r, 'up -d');
      down.push(time(() => { r = run(['down']); }));
      check(r, 'down');
    }
  } finally {
    run(['down', '-v']);
  }
  return { up: median(up), down: median(down) };
}

const hasDockerCompose = spawnSync('docker-compose', ['version', '--short']).status === 0;
const results = {};
const b = await startBerthd();
try {
  results['berth compose on berthd'] = measure('berth compose', berthCompose(b.host));
  if (hasDockerCompose) results['docker-compose 1.29 on berthd'] = measure('docker-compose (berthd)', dockerCompose(b.host, 'benchp'));
  else console.log('docker-compose is not installed: its figures are left out');
} finally {
  b.stop();
}
if (process.env.BENCH_DOCKER_HOST && hasDockerCompose) {
  results['docker-compose 1.29 on dockerd'] = measure('docker-compose (dockerd)', dockerCompose(process.env.BENCH_DOCKER_HOST, 'benchd'));
}
// berth compose is a client of any engine: the same app on the Docker engine (beside the anchor,
// not instead of it: this is the client's share of the difference).
if (process.env.BENCH_DOCKER_HOST) results['berth compose on dockerd'] = measure('berth compose (dockerd)', berthCompose(process.env.BENCH_DOCKER_HOST));

console.log(`compose up -d / down of a 6-service app (2 networks, a volume, a healthcheck dependency), median of ${N}:`);
const anchor = results['docker-compose 1.29 on dockerd'];
for (const [k, v] of Object.entries(results)) {
  const ratio = anchor ? `   up -d ${(v.up / anchor.up).toFixed(2)}x, down ${(v.down / anchor.down).toFixed(2)}x of the anchor` : '';
  console.log(`  ${k.padEnd(32)} up -d ${v.up.toFixed(0).padStart(6)} ms   down ${v.down.toFixed(0).padStart(6)} ms${ratio}`);
}
const ours = results['berth compose on berthd'];
const py = results['docker-compose 1.29 on berthd'];
if (py) console.log(`  berth compose / docker-compose 1.29, both on berthd: up -d ${(ours.up / py.up).toFixed(2)}x, down ${(ours.down / py.down).toFixed(2)}x`);
if (anchor) console.log(`  target: berth compose up -d ≤ 0.40x of docker-compose 1.29 on dockerd: ${(ours.up / anchor.up).toFixed(2)}x`);
else console.log('  (no anchor: set BENCH_DOCKER_HOST to a Docker engine with busybox to measure docker-compose 1.29 on dockerd)');
