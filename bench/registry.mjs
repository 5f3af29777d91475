#!/usr/bin/env node
// bench/registry: push and pull of a 200 MB image of random data in 4 layers through berthd to a
// loopback registry, against two servers: berth's own (`berth registry serve`) and the
// distribution registry (Debian's docker-registry 2.8) when installed. Printed beside the Docker
// anchor measured on this machine (docker 20.10 engine → distribution: push 3.24 s, pull 1.87 s;
// targets push ≤ 0.7×, pull ≤ 0.8×). A live Docker engine is not driven by this script. Pull is timed after `rmi` of the image and a
// restart-free store: every layer is downloaded, verified and unpacked.
// Usage: node bench/registry.mjs [sizeMB] [runs]   (root; after `npm run build`)
import { spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startBerthd, time, median, root, randomImageContext } from './lib/daemon.mjs';

const MB = Number(process.argv[2] ?? 200);
const RUNS = Number(process.argv[3] ?? 3);
const ANCHOR = { push: 3.24, pull: 1.87 };
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
    }
    const p = median(push);
    const q = median(pull);
    console.log(`  → ${k.name.padEnd(17)} push ${p.toFixed(2)} s (${(MB / p).toFixed(0)} MB/s, ${(p / ANCHOR.push).toFixed(2)}× Docker's ${ANCHOR.push} s)   pull ${q.toFixed(2)} s (${(MB / q).toFixed(0)} MB/s, ${(q / ANCHOR.pull).toFixed(2)}× Docker's ${ANCHOR.pull} s)`);
  }
} finally {
  for (const p of procs) p.kill('SIGKILL');
  d.stop();
}
