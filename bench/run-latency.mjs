#!/usr/bin/env node
// bench/run-latency: median wall time of `berth run --rm busybox true` (the whole CLI round
// trip: create, attach, wait, start, remove) beside bare `runc run` of an equivalent bundle,
// measured in the same run; the berth/docker ratio too when BENCH_DOCKER_HOST names a Docker
// engine (with a busybox image). Also idle berthd RSS and conmon RSS per running container.
// Uses a private berthd (own data/exec root and socket) unless BERTH_HOST is given.
// Usage: node bench/run-latency.mjs [iterations]   (root; after `npm run build`)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, mkdirSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { createHash } from 'node:crypto';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 20);
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const time = (fn) => { const t = process.hrtime.bigint(); fn(); return Number(process.hrtime.bigint() - t) / 1e6; };
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const ping = (sock) => new Promise((res) => { const r = http.get({ socketPath: sock, path: '/_ping' }, (x) => { x.resume(); res(x.statusCode === 200); }); r.on('error', () => res(false)); });

const tmp = mkdtempSync(join(tmpdir(), 'berth-bench-'));
let daemon;
let host = process.env.BERTH_HOST;
let cleaned = false;
let bridge = '';
const cleanup = () => {
  if (cleaned) return;
  cleaned = true;
  if (daemon) {
    daemon.kill('SIGTERM');
    // The exit handler is synchronous: wait (bounded) for berthd to finish its shutdown, or it
    // recreates parts of the directory we are about to remove.
    spawnSync('sh', ['-c', `for i in $(seq 1 100); do kill -0 ${daemon.pid} 2>/dev/null || exit 0; sleep 0.05; done`]);
  }
  spawnSync('runc', ['--root', join(tmp, 'runc'), 'delete', '--force', 'benchctr']);
  if (bridge) {
    const inst = createHash('sha256').update(join(tmp, 'exec')).digest('hex').slice(0, 8);
    spawnSync('sh', ['-c', `ls /run/netns 2>/dev/null | grep '^berth-${inst}-' | xargs -r -n1 ip netns del`]);
    spawnSync('ip', ['link', 'del', 'dev', bridge]);
    spawnSync('nft', ['delete', 'table', 'ip', `berth-${inst}`]);
  }
  if (!process.env.BERTH_HOST) spawnSync('sh', ['-c', `grep -o '${tmp}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
  rmSync(tmp, { recursive: true, force: true });
};
process.on('exit', cleanup);
try {
  if (!host) {
    const sock = join(tmp, 'b.sock');
    const log = openSync(join(tmp, 'berthd.log'), 'a');
    // The default bridge as a user gets it, on a bridge of this run's own (removed afterwards).
    bridge = `bb${Math.random().toString(16).slice(2, 10)}`;
    daemon = spawn(join(root, 'bin/berthd'), ['--data-root', join(tmp, 'data'), '--exec-root', join(tmp, 'exec'), '-H', `unix://${sock}`, '-b', bridge], { stdio: ['ignore', log, log] });
    for (let i = 0; i < 100 && !(await ping(sock)); i++) await new Promise((r) => setTimeout(r, 50));
    host = `unix://${sock}`;
    const tar = spawnSync('bash', [join(root, 'scripts/busybox-rootfs')], { maxBuffer: 64 << 20 }).stdout;
    const imp = spawnSync(join(root, 'bin/berth'), ['-H', host, 'import', '-c', 'CMD ["sh"]', '-', 'busybox:latest'], { input: tar });
    if (imp.status !== 0) throw new Error(`import failed: ${imp.stderr}`);
  }
  const env = { ...process.env, BERTH_HOST: host };
  const berth = (args) => spawnSync(join(root, 'bin/berth'), args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  // Warm-up (page cache, first overlay mount).
  for (let i = 0; i < 3; i++) berth(['run', '--rm', 'busybox', 'true']);
  const denv = process.env.BENCH_DOCKER_HOST ? { ...process.env, DOCKER_HOST: process.env.BENCH_DOCKER_HOST } : undefined;
  if (denv) for (let i = 0; i < 3; i++) spawnSync('docker', ['run', '--rm', '--network', 'none', 'busybox', 'true'], { env: denv });
  // Interleaved, so the machine's drift touches all three alike: berth on its default bridge (a
  // veth, an address, DNS), berth with --network none, and Docker with --network none (with the
  // reference dockerd's --bridge=none, a network namespace made by libnetwork, as for a bridge).
  const berthT = [];
  const berthNoneT = [];
  const dockerT = denv ? [] : undefined;
  for (let i = 0; i < N; i++) {
    for (const [args, into] of [[['run', '--rm', 'busybox', 'true'], berthT], [['run', '--rm', '--network', 'none', 'busybox', 'true'], berthNoneT]]) {
      let r;
      into.push(time(() => { r = berth(args); }));
      if (r.status !== 0) throw new Error(`berth ${args.join(' ')} failed: ${r.stderr}`);
    }
    if (denv) {
      let r;
      dockerT.push(time(() => { r = spawnSync('docker', ['run', '--rm', '--network', 'none', 'busybox', 'true'], { env: denv, stdio: 'ignore' }); }));
      if (r.status !== 0) throw new Error('docker run failed');
    }
  }

  // Bare runc on an equivalent bundle (same rootfs, default spec, no terminal).
  const bundle = join(tmp, 'bundle');
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  spawnSync('sh', ['-c', `bash ${join(root, 'scripts/busybox-rootfs')} | tar -C ${join(bundle, 'rootfs')} -xf -`]);
  spawnSync('runc', ['spec'], { cwd: bundle });
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['true'];
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  const runcT = [];
  for (let i = 0; i < N; i++) {
    runcT.push(time(() => spawnSync('runc', ['--root', join(tmp, 'runc'), 'run', '-b', bundle, 'benchctr'], { stdio: 'ignore' })));
  }

  // Memory: idle daemon, then conmon per running container.
  let daemonRss = 'n/a';
  let conmonRss = 'n/a';
  if (daemon) {
    await new Promise((r) => setTimeout(r, 500));
    daemonRss = `${(rssKiB(daemon.pid) / 1024).toFixed(1)} MiB`;
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(berth(['run', '-d', 'busybox', 'sleep', '60']).stdout.toString().trim());
    const pids = spawnSync('pgrep', ['-f', `conmon.*${tmp}`]).stdout.toString().split('\n').filter(Boolean).map(Number);
    if (pids.length) conmonRss = `${(pids.reduce((a, p) => a + rssKiB(p), 0) / pids.length / 1024).toFixed(2)} MiB (${pids.length} conmon)`;
    for (const id of ids) berth(['rm', '-f', id]);
  }

  const b = median(berthT);
  const bn = median(berthNoneT);
  const rc = median(runcT);
  console.log(`run-latency (${N} runs each, medians)`);
  console.log(`  berth run --rm busybox true                 : ${b.toFixed(1)} ms`);
  console.log(`  berth run --rm --network none busybox true  : ${bn.toFixed(1)} ms`);
  console.log(`  runc run (bare, same rootfs)                : ${rc.toFixed(1)} ms`);
  console.log(`  ratio berth/runc                            : ${(b / rc).toFixed(2)}x`);
  if (dockerT) {
    const dk = median(dockerT);
    console.log(`  docker run --rm --network none busybox true : ${dk.toFixed(1)} ms`);
    console.log(`  ratio berth (bridge)/docker                 : ${(b / dk).toFixed(2)}x (target <= 0.45x)`);
    console.log(`  ratio berth/docker, both --network none     : ${(bn / dk).toFixed(2)}x (target <= 0.45x)`);
  } else {
    console.log('  docker: BENCH_DOCKER_HOST not set (no ratio)');
  }
  console.log(`  idle berthd RSS             : ${daemonRss} (target <= 70 MiB)`);
  console.log(`  conmon RSS per container    : ${conmonRss}`);
} catch (e) {
  console.error(e.message);
  process.exitCode = 1;
} finally {
  // The berthd child keeps the event loop alive: clean up and leave explicitly.
  cleanup();
  process.exit();
}
