#!/usr/bin/env node
// bench/compose: `up -d` and `down` of a 6-service app (busybox httpd services on two networks,
// a named volume, a dependency waiting for a healthcheck), median of N rounds each, by:
//   - berth compose on berthd (berth's figure);
//   - Debian's docker-compose 1.29 on berthd;
//   - docker-compose 1.29 on a Docker engine, when BENCH_DOCKER_HOST names one (the anchor: the
//     issue's target is berth compose `up -d` ≤ 0.4× of it).
// Nothing is pulled (busybox is imported); traffic stays on the machine.
// Usage: node bench/compose.mjs [rounds]   (root; after `npm run build`)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBerthd, median, root } from './lib/daemon.mjs';

const ROUNDS = Number(process.argv[2] ?? 5);

// init: true so that a stop's SIGTERM ends httpd at once (as PID 1 it would ignore it and wait
// for the kill): `down` then measures compose and the engine, not the stop timeout.
const httpd = (name, nets) => `
  ${name}:
    image: busybox
    init: true
    command: ["sh", "-c", "mkdir -p /www && echo ${name} > /www/index.html && exec httpd -f -p 80 -h /www"]
    networks: [${nets}]`;
const YAML = `
services:${httpd('db', 'back')}
    volumes: [data:/data]
    healthcheck: { test: ["CMD", "test", "-f", "/www/index.html"], interval: 500ms, timeout: 2s, retries: 20 }${httpd('api', 'front, back')}
    depends_on: { db: { condition: service_healthy } }${httpd('web1', 'front')}${httpd('web2', 'front')}${httpd('web3', 'front')}${httpd('cache', 'back')}
networks: { front: {}, back: {} }
volumes: { data: {} }
`;

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-compose-'));
writeFileSync(join(dir, 'compose.yaml'), YAML);

function timed(cmd, args, env) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return ms;
}

function rounds(label, cmd, pre, env) {
  const up = [];
  const down = [];
  // One warm-up round (page cache, first network of the daemon), not counted.
  for (let i = 0; i <= ROUNDS; i++) {
    const u = timed(cmd, [...pre, 'up', '-d'], env);
    const d = timed(cmd, [...pre, 'down', '-v'], env);
    if (i > 0) { up.push(u); down.push(d); }
  }
  return { label, up: median(up), down: median(down) };
}

const results = [];
const d = await startBerthd();
try {
  const env = { BERTH_HOST: d.host, DOCKER_HOST: d.host };
  results.push(rounds('berth compose on berthd', join(root, 'bin/berth'), ['compose', '-f', 'compose.yaml', '-p', 'benchb'], env));
  if (spawnSync('docker-compose', ['version']).status === 0) {
    results.push(rounds('docker-compose 1.29 on berthd', 'docker-compose', ['-f', 'compose.yaml', '-p', 'benchc'], env));
  }
} finally {
  d.stop();
}
const anchorHost = process.env.BENCH_DOCKER_HOST;
let anchor;
if (anchorHost && spawnSync('docker-compose', ['version']).status === 0) {
  anchor = rounds('docker-compose 1.29 on dockerd', 'docker-compose', ['-f', 'compose.yaml', '-p', 'benchd'], { DOCKER_HOST: anchorHost });
  results.push(anchor);
}
rmSync(dir, { recursive: true, force: true });

console.log(`6 services, 2 networks, 1 volume, 1 healthcheck dependency; median of ${ROUNDS} rounds`);
for (const r of results) {
  const ratio = anchor ? `   up ${(r.up / anchor.up).toFixed(2)}x, down ${(r.down / anchor.down).toFixed(2)}x of the anchor` : '';
  console.log(`${r.label.padEnd(32)} up -d ${r.up.toFixed(0).padStart(6)} ms   down ${r.down.toFixed(0).padStart(6)} ms${ratio}`);
}
if (!anchor) console.log('(no anchor: set BENCH_DOCKER_HOST to a Docker engine with busybox imported)');
