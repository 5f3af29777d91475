#!/usr/bin/env node
// bench/registry: push and pull of a 200 MB image of random data in 4 layers through berthd to a
// loopback registry, against two servers: berth's own (`berth registry serve`) and the
// distribution registry (Debian's docker-registry 2.8) when installed. Printed beside the Docker
// anchor recorded on this machine (docker 20.10 engine → distribution: push 3.24 s, pull 1.87 s),
// or, when the docker CLI reaches a Docker engine named by BENCH_DOCKER_HOST, beside that engine's
// own push and pull of the same image to and from the same kind of registry in the same runs
// (Docker is never started here). Pull is timed after `rmi` of the image and a restart-free
// store: every layer is downloaded, verified and unpacked.
// Usage: node bench/registry.mjs [sizeMB] [runs]   (root; after `npm run build`)
import { spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startBerthd, time, median, root, randomImageContext } from './lib/daemon.mjs';

const MB = Number(process.argv[2] ?? 200);
const RUNS = Number(process.argv[3] ?? 3);
const ANCHOR = { push: 3.24, pull: 1.87 };
const DOCKER = process.env.BENCH_DOCKER_HOST;
const docker = (args) => spawnSync('docker', args, { env: { ...process.env, DOCKER_HOST: DOCKER }, stdio: ['ignore', 'pipe', 'pipe'] });
const d = await startBerthd([], { importBusybox: false });
const procs = [];
const check = (r, what) => { if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr}`); return r; };
const freePort = () => new Promise((res) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
const waitUp = async (port) => {
  for (let i = 0; i < 100; i++) {
    if (await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.status < 500, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`registry on ${port} not up`);
};
try {
  const ctx = join(d.tmp, 'ctx');
  randomImageContext(ctx, MB);
  check(d.berth(['build', '-q', '-t', 'bench/reg:1', ctx]), 'build');
  rmSync(ctx, { recursive: true, force: true });
  // The build cache would keep the layers after rmi (pull would say "Already exists").
  check(d.berth(['builder', 'prune', '-af']), 'builder prune');

  // Each run gets a fresh, empty registry (new port, new storage): every blob is uploaded, none
  // can be mounted from an earlier push.
  const kinds = [{ name: "berth's registry", start: async (port, dir) => {
    procs.push(spawn(join(root, 'bin/berth'), ['registry', 'serve', '--addr', `127.0.0.1:${port}`, '--root', dir], { stdio: 'ignore' }));
  } }];
  if (spawnSync('docker-registry', ['--version']).status === 0) {
    kinds.push({ name: 'distribution 2.8', start: async (port, dir) => {
      writeFileSync(`${dir}.yml`, `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${dir}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
      procs.push(spawn('docker-registry', ['serve', `${dir}.yml`], { stdio: 'ignore' }));
    } });
  }
  console.log(`registry (${MB} MB in 4 layers of random data, loopback, medians of ${RUNS})`);
  let n = 0;
  for (const k of kinds) {
    const push = [];
    const pull = [];
    const dpush = [];
    const dpull = [];
    for (let i = 0; i < RUNS; i++) {
      const port = await freePort();
      await k.start(port, join(d.tmp, `reg${n++}`));
      await waitUp(port);
      const ref = `127.0.0.1:${port}/bench/reg:1`;
      check(d.berth(['tag', 'bench/reg:1', ref]), 'tag');
      push.push(time(() => check(d.berth(['push', '-q', ref]), 'push')) / 1000);
      // Pull into a store without these layers: every image holding them goes first.
      for (const r of ['bench/reg:1', ref]) check(d.berth(['rmi', r]), 'rmi');
      let out;
      pull.push(time(() => { out = check(d.berth(['pull', ref]), 'pull'); }) / 1000);
      if (/Already exists/.test(out.stdout)) throw new Error('pull found layers still present: not a full pull');
      check(d.berth(['tag', ref, 'bench/reg:1']), 'retag');
      check(d.berth(['rmi', ref]), 'rmi');
      if (DOCKER) {
        // The Docker engine pulls what berth pushed, then pushes it to a fresh registry of the
        // same kind; its store is emptied after (rmi of both names removes the layers).
        dpull.push(time(() => check(docker(['pull', '-q', ref]), 'docker pull')) / 1000);
        const port2 = await freePort();
        await k.start(port2, join(d.tmp, `reg${n++}`));
        await waitUp(port2);
        const ref2 = `127.0.0.1:${port2}/bench/reg:1`;
        check(docker(['tag', ref, ref2]), 'docker tag');
        dpush.push(time(() => check(docker(['push', '-q', ref2]), 'docker push')) / 1000);
        check(docker(['rmi', ref, ref2]), 'docker rmi');
      }
    }
    const p = median(push);
    const q = median(pull);
    if (DOCKER) {
      const dp = median(dpush);
      const dq = median(dpull);
      console.log(`  → ${k.name.padEnd(17)} push ${p.toFixed(2)} s (${(MB / p).toFixed(0)} MB/s; Docker ${dp.toFixed(2)} s, ${(p / dp).toFixed(2)}×)   pull ${q.toFixed(2)} s (${(MB / q).toFixed(0)} MB/s; Docker ${dq.toFixed(2)} s, ${(q / dq).toFixed(2)}×)`);
    } else {
      console.log(`  → ${k.name.padEnd(17)} push ${p.toFixed(2)} s (${(MB / p).toFixed(0)} MB/s, ${(p / ANCHOR.push).toFixed(2)}× Docker's ${ANCHOR.push} s)   pull ${q.toFixed(2)} s (${(MB / q).toFixed(0)} MB/s, ${(q / ANCHOR.pull).toFixed(2)}× Docker's ${ANCHOR.pull} s)`);
    }
  }
} finally {
  for (const p of procs) p.kill('SIGKILL');
  d.stop();
}
