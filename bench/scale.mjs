#!/usr/bin/env node
// bench/scale: hundreds of containers on one engine (issue 19's scale targets), berthd beside
// dockerd (BENCH_DOCKER_HOST, with busybox) measured in the same run:
//   - N containers (`run -d --network none busybox sleep`) started P at a time, total wall time,
//     through the docker CLI against each engine (and through berth's CLI against berthd);
//   - `ps -a` with them all there (median of 5);
//   - berthd's RSS growth per running container (1 s after the last start, and once berthd has
//     been quiet for 5 s: the steady state), and conmon's RSS per container;
//   - `events` from the N starts: every one delivered;
//   - berthd stopped (SIGTERM: containers keep running) and started again: time until it lists
//     all N as running (re-adopted);
//   - the start time of each tenth of the containers, to show whether it grows with the count.
// A failed command fails the run: it is never counted as a fast one.
// Usage: node bench/scale.mjs [N=200] [P=20]   (root; after `npm run build`)
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { startBerthd, median, time } from './lib/daemon.mjs';

const N = Number(process.argv[2] ?? 200);
const P = Number(process.argv[3] ?? 20);

/** Runs `argv` (async) and resolves with its exit status, stdout and stderr. */
const exec = (argv, env) => new Promise((resolve) => {
  const p = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { err += d; });
  p.on('close', (status) => resolve({ status, stdout: out, stderr: err }));
});

/** Starts N containers with `cli`, P at a time; returns the total ms, each tenth's ms and the IDs. */
async function startMany(cli, env, label) {
  const ids = [];
  const tenths = [];
  let next = 0;
  let tenthStart = performance.now();
  const t0 = performance.now();
  const worker = async () => {
    while (next < N) {
      const i = next++;
      const r = await exec([cli, 'run', '-d', '--network', 'none', '--label', 'bench.scale=1', 'busybox', 'sleep', '100000'], env);
      if (r.status !== 0) throw new Error(`${label}: run ${i} failed: ${r.stderr}`);
      ids.push(r.stdout.trim());
      if (ids.length % (N / 10) === 0) { const now = performance.now(); tenths.push(now - tenthStart); tenthStart = now; }
    }
  };
  await Promise.all(Array.from({ length: P }, worker));
  return { ms: performance.now() - t0, tenths, ids };
}

async function removeAll(cli, env, ids) {
  for (let i = 0; i < ids.length; i += 50) {
    const r = await exec([cli, 'rm', '-f', ...ids.slice(i, i + 50)], env);
    if (r.status !== 0) throw new Error(`rm -f failed: ${r.stderr}`);
  }
}

const psMs = (cli, env) => {
  const t = [];
  for (let i = 0; i < 6; i++) {
    let r;
    const ms = time(() => { r = spawnSync(cli, ['ps', '-a'], { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 }); });
    if (r.status !== 0) throw new Error(`ps -a failed: ${r.stderr}`);
    if (i > 0) t.push(ms);
  }
  return median(t);
};

const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const conmonRss = (execRoot) => {
  const pids = spawnSync('pgrep', ['-f', `conmon.*${execRoot}`]).stdout.toString().split('\n').filter(Boolean);
  const all = pids.map((p) => { try { return rssMiB(p); } catch { return 0; } });
  return { count: pids.length, each: all.reduce((a, b) => a + b, 0) / Math.max(1, pids.length) };
};

/** Counts container start events from `cli events` until stopped. */
function watchStarts(cli, env) {
  const p = spawn(cli, ['events', '--filter', 'type=container', '--filter', 'event=start', '--filter', 'label=bench.scale=1', '--format', '{{.ID}}'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  const seen = new Set();
  let buf = '';
  p.stdout.on('data', (d) => { buf += d; const lines = buf.split('\n'); buf = lines.pop(); for (const l of lines) if (l.trim()) seen.add(l.trim()); });
  return { seen, stop: () => p.kill() };
}

const running = (sock) => new Promise((resolve) => {
  const r = http.get({ socketPath: sock, path: '/containers/json?filters=' + encodeURIComponent(JSON.stringify({ label: ['bench.scale=1'], status: ['running'] })) }, (x) => {
    let b = '';
    x.on('data', (d) => { b += d; });
    x.on('end', () => { try { resolve(JSON.parse(b).length); } catch { resolve(-1); } });
  });
  r.on('error', () => resolve(-1));
});

const d = await startBerthd();
const out = [];
try {
  const env = { ...process.env, BERTH_HOST: d.host, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.tmp, 'docker-config') };
  const berth = join(import.meta.dirname, '..', 'bin', 'berth');
  const execRoot = join(d.tmp, 'exec');
  const rss0 = rssMiB(d.pid);

  // berth's CLI first, with events watched; then removal and the docker CLI against berthd.
  const ev = watchStarts(berth, env);
  await new Promise((r) => setTimeout(r, 300));
  const b = await startMany(berth, env, 'berth');
  await new Promise((r) => setTimeout(r, 1000));
  ev.stop();
  const missing = b.ids.filter((id) => !ev.seen.has(id)).length;
  const rss1 = rssMiB(d.pid);
  // Steady state: berthd gives back what a burst left in V8's heap once it has been quiet for
  // 3 s (src/daemon/idle-gc.ts); what stays is what the running containers hold.
  await new Promise((r) => setTimeout(r, 5000));
  const rssSettled = rssMiB(d.pid);
  const cm = conmonRss(execRoot);
  const bPs = psMs(berth, env);
  const dPsBerthd = psMs('docker', env);
  // Re-adoption: berthd stopped and started with every container running.
  const t0 = performance.now();
  await d.restart();
  let n = 0;
  for (let i = 0; i < 2000 && (n = await running(d.sock)) !== N; i++) await new Promise((r) => setTimeout(r, 10));
  const adoptMs = performance.now() - t0;
  if (n !== N) throw new Error(`after the restart berthd lists ${n} of ${N} containers running`);
  await removeAll(berth, env, b.ids);
  const dk = await startMany('docker', env, 'docker CLI → berthd');
  await removeAll('docker', env, dk.ids);

  out.push(`scale (${N} containers, ${P} at a time, --network none busybox sleep)`);
  out.push(`  start ${N}, berth CLI → berthd          : ${(b.ms / 1000).toFixed(2)} s`);
  out.push(`  start ${N}, docker CLI → berthd         : ${(dk.ms / 1000).toFixed(2)} s`);
  out.push(`  each tenth (berth CLI), s             : ${b.tenths.map((x) => (x / 1000).toFixed(2)).join(' ')}`);
  out.push(`  ps -a, berth CLI → berthd             : ${bPs.toFixed(1)} ms`);
  out.push(`  ps -a, docker CLI → berthd            : ${dPsBerthd.toFixed(1)} ms`);
  out.push(`  berthd RSS idle → ${N} running, 1 s after: ${rss0.toFixed(1)} → ${rss1.toFixed(1)} MiB (${((rss1 - rss0) / N).toFixed(3)} MiB per container)`);
  out.push(`  berthd RSS idle → ${N} running, quiet 5 s: ${rss0.toFixed(1)} → ${rssSettled.toFixed(1)} MiB (${((rssSettled - rss0) / N).toFixed(3)} MiB per container; target ≤ 0.2)`);
  out.push(`  conmon RSS per container              : ${cm.each.toFixed(2)} MiB (${cm.count} conmons; target ≤ 2)`);
  out.push(`  start events delivered                : ${N - missing} of ${N}`);
  out.push(`  restart: all ${N} re-adopted, running   : ${adoptMs.toFixed(0)} ms (target ≤ 2000)`);

  if (process.env.BENCH_DOCKER_HOST) {
    const denv = { ...process.env, DOCKER_HOST: process.env.BENCH_DOCKER_HOST };
    const dev = watchStarts('docker', denv);
    await new Promise((r) => setTimeout(r, 300));
    let r;
    try {
      r = await startMany('docker', denv, 'docker CLI → dockerd');
      await new Promise((res) => setTimeout(res, 1000));
      dev.stop();
      const dPs = psMs('docker', denv);
      out.push(`  start ${N}, docker CLI → dockerd        : ${(r.ms / 1000).toFixed(2)} s`);
      out.push(`  each tenth (dockerd), s               : ${r.tenths.map((x) => (x / 1000).toFixed(2)).join(' ')}`);
      out.push(`  ps -a, docker CLI → dockerd           : ${dPs.toFixed(1)} ms`);
      out.push(`  start events delivered (dockerd)      : ${r.ids.filter((id) => dev.seen.has(id)).length} of ${N}`);
      out.push(`  ratio start, berth CLI / dockerd      : ${(b.ms / r.ms).toFixed(2)}x (target ≤ 0.5)`);
      out.push(`  ratio start, engines (docker CLI)     : ${(dk.ms / r.ms).toFixed(2)}x`);
      out.push(`  ratio ps -a, berth CLI / dockerd      : ${(bPs / dPs).toFixed(2)}x (target ≤ 0.5)`);
      out.push(`  ratio ps -a, engines (docker CLI)     : ${(dPsBerthd / dPs).toFixed(2)}x`);
    } finally {
      dev.stop();
      if (r) await removeAll('docker', denv, r.ids);
    }
  } else {
    out.push('  dockerd: BENCH_DOCKER_HOST not set (no reference engine measured)');
  }
  console.log(out.join('\n'));
} catch (e) {
  console.log(out.join('\n'));
  console.error(e.message);
  process.exitCode = 1;
} finally {
  d.stop();
  process.exit();
}
