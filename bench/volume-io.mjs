#!/usr/bin/env node
// bench/volume-io: sequential write then read of 1 GiB (busybox dd, 1 MiB blocks; the write ends
// with fsync) in three places: a named volume (`-v benchvol:/data`), the container's own rw
// layer (/work inside the container), and a host directory on the same filesystem as the data
// root (the same busybox binary run on the host). The page cache is dropped on the host between
// write and read (`sync; echo 3 > /proc/sys/vm/drop_caches`), so reads come from the disk.
// Prints MB/s (10^6 bytes per second) and the ratio to the host directory, medians of N runs.
//
// Container runs are `berth run --rm -i busybox sh -c …`: the script prints a marker before and
// after each dd and waits on stdin between write and read, so the host times each dd from the
// markers (container start-up is not counted) and drops the cache while the file is still there.
// Uses a private berthd (own data/exec root and socket) under a temporary directory.
// Usage: node bench/volume-io.mjs [runs]   (root; after `npm run build`)
//        BENCH_MIB=256 node bench/volume-io.mjs 1   (a smaller file, for a quick check)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, openSync, existsSync, statfsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 3);
const MIB = Number(process.env.BENCH_MIB ?? 1024);
const BYTES = MIB * 1024 * 1024;
/** Bound on one container run (write + drop + read): a stuck run fails instead of hanging. */
const RUN_TIMEOUT_MS = 15 * 60_000;
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const ping = (sock) => new Promise((res) => { const r = http.get({ socketPath: sock, path: '/_ping' }, (x) => { x.resume(); res(x.statusCode === 200); }); r.on('error', () => res(false)); });
const now = () => Number(process.hrtime.bigint()) / 1e9;
const mbps = (sec) => BYTES / 1e6 / sec;

if (!Number.isInteger(N) || N < 1 || !Number.isInteger(MIB) || MIB < 1) {
  console.error('usage: node bench/volume-io.mjs [runs]   (BENCH_MIB: file size in MiB, default 1024)');
  process.exit(2);
}

const tmp = mkdtempSync(join(tmpdir(), 'berth-bench-volio-'));
let daemon;
let cleaned = false;
const children = new Set();
const cleanup = () => {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
  if (daemon) {
    daemon.kill('SIGTERM');
    // Synchronous and bounded: berthd must be gone before its directories are removed.
    spawnSync('sh', ['-c', `for i in $(seq 1 100); do kill -0 ${daemon.pid} 2>/dev/null || exit 0; sleep 0.05; done`]);
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
  }
  // Containers outlive the daemon by design: kill what runc still knows under our exec root.
  const rtRoot = join(tmp, 'exec', 'runtimes');
  if (existsSync(rtRoot)) {
    spawnSync('sh', ['-c', `for r in ${rtRoot}/*; do b=runc; [ "$(basename "$r")" = crun ] && b=crun; for id in $($b --root "$r" list -q 2>/dev/null); do $b --root "$r" kill "$id" KILL; $b --root "$r" delete --force "$id"; done; done`], { timeout: 30_000 });
  }
  spawnSync('sh', ['-c', `grep -o '${tmp}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`], { timeout: 30_000 });
  rmSync(tmp, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

/** `sync; echo 3 > drop_caches`, bounded. Returns whether the cache was dropped. */
let dropWarned = false;
function dropCaches() {
  const r = spawnSync('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches'], { timeout: 120_000, stdio: ['ignore', 'ignore', 'pipe'] });
  const ok = r.status === 0;
  if (!ok && !dropWarned) {
    dropWarned = true;
    console.error(`warning: could not drop the page cache (${r.error?.message ?? r.stderr.toString().trim()}): reads may come from memory`);
  }
  return ok;
}

/** The host's static busybox (the one scripts/busybox-rootfs puts in the image). */
function hostBusybox() {
  for (const b of ['/bin/busybox', '/usr/bin/busybox']) {
    if (existsSync(b) && spawnSync('file', ['-L', b]).stdout?.toString().includes('statically linked')) return b;
  }
  for (const b of ['/bin/busybox', '/usr/bin/busybox']) if (existsSync(b)) return b;
  return undefined;
}

const DD_WRITE = (f, dd = 'dd') => `${dd} if=/dev/zero of=${f} bs=1M count=${MIB} conv=fsync`;
const DD_READ = (f, dd = 'dd') => `${dd} if=${f} of=/dev/null bs=1M`;

/** One write+read on the host, in `dir`. */
function hostRun(dir, bb) {
  const f = join(dir, 'bench.dat');
  const dd = bb ? `${bb} dd` : 'dd';
  const sh = (cmd) => {
    const t = now();
    const r = spawnSync('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'], timeout: RUN_TIMEOUT_MS });
    if (r.status !== 0) throw new Error(`host: ${cmd}: ${r.error?.message ?? r.stderr.toString().trim()}`);
    return now() - t;
  };
  try {
    const w = sh(DD_WRITE(f, dd));
    dropCaches();
    const rd = sh(DD_READ(f, dd));
    return { w, r: rd };
  } finally {
    rmSync(f, { force: true });
  }
}

/**
 * One write+read in a container: `berth run --rm -i [-v …] busybox sh -c SCRIPT`, timed from the
 * markers the script prints; between write and read it waits for a line on stdin while the host
 * drops the cache.
 */
function containerRun(berthArgs, env, runArgs, dir) {
  const f = `${dir}/bench.dat`;
  const script = [
    'set -e', `mkdir -p ${dir}`,
    'echo W', `${DD_WRITE(f)} 2>/dev/null`, 'echo WD',
    'read go',
    'echo R', `${DD_READ(f)} 2>/dev/null`, 'echo RD',
    `rm -f ${f}`,
  ].join('; ');
  return new Promise((resolve, reject) => {
    const child = spawn(join(root, 'bin/berth'), [...berthArgs, 'run', '--rm', '-i', ...runArgs, 'busybox', 'sh', '-c', script], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    const marks = {};
    let buf = '';
    let err = '';
    const timer = setTimeout(() => { err += '\n(timed out)'; child.kill('SIGKILL'); }, RUN_TIMEOUT_MS);
    child.stdout.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        marks[line] = now();
        if (line === 'WD') {
          dropCaches();
          child.stdin.write('go\n');
        }
        if (line === 'RD') child.stdin.end();
      }
    });
    child.stderr.on('data', (d) => { err += d.toString(); });
    child.stdin.on('error', () => { /* the container is gone; reported by the exit status */ });
    child.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      if (code !== 0 || !marks.RD) reject(new Error(`berth run ${runArgs.join(' ')} exited ${code}: ${err.trim()}`));
      else resolve({ w: marks.WD - marks.W, r: marks.RD - marks.R });
    });
  });
}

try {
  // Room for one file (and some slack) on the filesystem under test.
  const fs = statfsSync(tmp);
  const free = fs.bavail * fs.bsize;
  if (free < BYTES * 1.2 + 256 * 1024 * 1024) throw new Error(`not enough space under ${tmp}: ${(free / 2 ** 30).toFixed(1)} GiB free, ${(BYTES * 1.2 / 2 ** 30 + 0.25).toFixed(1)} GiB needed`);

  const sock = join(tmp, 'b.sock');
  const log = openSync(join(tmp, 'berthd.log'), 'a');
  daemon = spawn(join(root, 'bin/berthd'), ['--data-root', join(tmp, 'data'), '--exec-root', join(tmp, 'exec'), '-H', `unix://${sock}`, '-b', 'none'], { stdio: ['ignore', log, log] }); // no bridge: not what this measures, and nothing left on the host
  for (let i = 0; i < 100 && !(await ping(sock)); i++) await new Promise((r) => setTimeout(r, 50));
  if (!(await ping(sock))) throw new Error(`berthd did not start: ${readFileSync(join(tmp, 'berthd.log'), 'utf8').slice(-2000)}`);
  const host = `unix://${sock}`;
  const berthArgs = ['-H', host];
  const env = { ...process.env };
  delete env.BERTH_HOST;
  delete env.DOCKER_HOST;
  const berth = (args, o = {}) => spawnSync(join(root, 'bin/berth'), [...berthArgs, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: 120_000, ...o });
  const tar = spawnSync('bash', [join(root, 'scripts/busybox-rootfs')], { maxBuffer: 64 << 20 }).stdout;
  const imp = berth(['import', '-c', 'CMD ["sh"]', '-', 'busybox:latest'], { input: tar });
  if (imp.status !== 0) throw new Error(`import failed: ${imp.stderr}`);

  const hostDir = join(tmp, 'host-io');
  mkdirSync(hostDir);
  const bb = hostBusybox();
  const targets = [
    { key: 'volume', label: 'named volume (-v benchvol:/data)', run: () => containerRun(berthArgs, env, ['-v', 'benchvol:/data'], '/data') },
    { key: 'rw', label: 'container rw layer (/work)', run: () => containerRun(berthArgs, env, [], '/work') },
    { key: 'host', label: `host directory (${bb ? 'busybox ' : ''}dd)`, run: async () => hostRun(hostDir, bb) },
  ];
  const results = Object.fromEntries(targets.map((t) => [t.key, { w: [], r: [], error: undefined }]));
  // Warm-up: the first container start and overlay mount are not what is measured here.
  berth(['run', '--rm', 'busybox', 'true']);
  for (let i = 0; i < N; i++) {
    // Interleaved, so drift (other load, a filling disk) touches every target alike.
    for (const t of targets) {
      const res = results[t.key];
      if (res.error) continue;
      try {
        const { w, r } = await t.run();
        res.w.push(w);
        res.r.push(r);
        process.stderr.write(`  run ${i + 1}/${N} ${t.key}: write ${mbps(w).toFixed(0)} MB/s, read ${mbps(r).toFixed(0)} MB/s\n`);
      } catch (e) {
        res.error = e.message.split('\n')[0];
        process.stderr.write(`  ${t.key}: ${res.error}\n`);
      }
    }
  }
  berth(['volume', 'rm', '-f', 'benchvol']);

  const hostW = results.host.w.length ? mbps(median(results.host.w)) : undefined;
  const hostR = results.host.r.length ? mbps(median(results.host.r)) : undefined;
  const pad = (s, n) => String(s).padEnd(n);
  const num = (v) => (v === undefined ? 'n/a' : v.toFixed(0));
  const ratio = (v, h) => (v === undefined || h === undefined ? 'n/a' : `${(v / h).toFixed(2)}x`);
  console.log(`volume-io (${MIB} MiB sequential, bs=1M, ${N} run${N === 1 ? '' : 's'} each, medians; page cache ${dropWarned ? 'NOT dropped' : 'dropped'} before each read)`);
  console.log(`  ${pad('', 34)}${pad('write MB/s', 12)}${pad('read MB/s', 12)}${pad('write/host', 12)}read/host`);
  for (const t of targets) {
    const res = results[t.key];
    const w = res.w.length ? mbps(median(res.w)) : undefined;
    const r = res.r.length ? mbps(median(res.r)) : undefined;
    const line = `  ${pad(t.label, 34)}${pad(num(w), 12)}${pad(num(r), 12)}${pad(ratio(w, hostW), 12)}${ratio(r, hostR)}`;
    console.log(res.error && !res.w.length ? `${line}   (failed: ${res.error})` : line);
  }
  if (Object.values(results).some((r) => r.error)) process.exitCode = 1;
} catch (e) {
  console.error(e.message);
  process.exitCode = 1;
} finally {
  // The berthd child keeps the event loop alive: clean up and leave explicitly.
  cleanup();
  process.exit();
}
