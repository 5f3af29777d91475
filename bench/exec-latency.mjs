#!/usr/bin/env node
// bench/exec-latency: median wall time of `berth exec <id> true` (the whole CLI round trip:
// POST /containers/{id}/exec, hijacked POST /exec/{id}/start — conmon, `runc exec` — and
// GET /exec/{id}/json) beside bare `runc exec <id> true` on the same running container, measured
// in the same run. Also the docker CLI against berthd (same daemon path, Go client), and the
// berth/docker ratio when BENCH_DOCKER_HOST names a Docker engine with a busybox image.
// Uses a private berthd (bench/lib/daemon.mjs).
// Usage: node bench/exec-latency.mjs [iterations]   (root; after `npm run build`)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startBerthd, median, time } from './lib/daemon.mjs';

const N = Number(process.argv[2] ?? 30);
const d = await startBerthd();
try {
  const run = d.berth(['run', '-d', '--name', 'benchexec', 'busybox', 'sleep', '100000']);
  if (run.status !== 0) throw new Error(`berth run failed: ${run.stderr}`);
  const id = run.stdout.toString().trim();
  const measure = (fn, check) => {
    for (let i = 0; i < 3; i++) fn(); // warm-up
    const t = [];
    for (let i = 0; i < N; i++) {
      let r;
      t.push(time(() => { r = fn(); }));
      if (r.status !== 0) throw new Error(`${check} failed: ${r.stderr}`);
    }
    return median(t);
  };

  const berthMs = measure(() => d.berth(['exec', id, 'true']), 'berth exec');
  const runcRoot = join(d.tmp, 'exec', 'runtimes', 'runc');
  const runcMs = measure(() => spawnSync('runc', ['--root', runcRoot, 'exec', id, 'true'], { stdio: ['ignore', 'pipe', 'pipe'] }), 'runc exec');
  const hasDocker = spawnSync('docker', ['--version']).status === 0;
  const dockerCliMs = hasDocker
    ? measure(() => spawnSync('docker', ['exec', id, 'true'], { env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.tmp, 'docker-config') }, stdio: ['ignore', 'pipe', 'pipe'] }), 'docker exec (berthd)')
    : undefined;
  let dockerMs;
  if (process.env.BENCH_DOCKER_HOST) {
    const denv = { ...process.env, DOCKER_HOST: process.env.BENCH_DOCKER_HOST };
    const c = spawnSync('docker', ['run', '-d', '--network', 'none', 'busybox', 'sleep', '100000'], { env: denv }).stdout.toString().trim();
    try {
      dockerMs = measure(() => spawnSync('docker', ['exec', c, 'true'], { env: denv, stdio: ['ignore', 'pipe', 'pipe'] }), 'docker exec (dockerd)');
    } finally {
      spawnSync('docker', ['rm', '-f', c], { env: denv, stdio: 'ignore' });
    }
  }

  console.log(`exec-latency (${N} runs each, medians, same running busybox container)`);
  console.log(`  berth exec <id> true            : ${berthMs.toFixed(1)} ms`);
  console.log(`  runc exec <id> true (bare)      : ${runcMs.toFixed(1)} ms`);
  console.log(`  ratio berth/runc                : ${(berthMs / runcMs).toFixed(2)}x`);
  if (dockerCliMs !== undefined) console.log(`  docker exec <id> true (berthd)  : ${dockerCliMs.toFixed(1)} ms`);
  if (dockerMs !== undefined) {
    console.log(`  docker exec <id> true (dockerd) : ${dockerMs.toFixed(1)} ms`);
    console.log(`  ratio berth/docker              : ${(berthMs / dockerMs).toFixed(2)}x`);
  } else {
    console.log('  dockerd: BENCH_DOCKER_HOST not set (no reference engine measured)');
  }
  d.berth(['rm', '-f', id]);
} catch (e) {
  console.error(e.message);
  process.exitCode = 1;
} finally {
  d.stop();
  process.exit();
}
