#!/usr/bin/env node
// bench/save-load: throughput of image archives through berthd. A 200 MB image of random data in
// 4 layers (built FROM scratch with 4 COPY steps) is saved to a file (`berth save -o`), removed,
// loaded back (`berth load -i`: digest checks; the build cache still holds the image's layers and
// blobs, so nothing is unpacked or stored again), loaded into a second, empty berthd (`load -i`,
// fresh daemon: every layer unpacked and stored, as Docker's `load -i` after `rmi` does) and
// removed there, then piped `berth save | berth load` into that empty berthd (a full round trip:
// everything unpacked again) and into the same daemon (image present: the archive is still read
// and every layer checked against its diff ID).
// MB/s = archive bytes / wall time. When the docker CLI reaches a Docker engine named by
// BENCH_DOCKER_HOST, the same steps run there (the image loaded from berth's archive) and the
// berth/docker time ratios are printed. Docker is never started here.
// Usage: node bench/save-load.mjs [sizeMB]   (root; after `npm run build`)
import { spawnSync } from 'node:child_process';
import { statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startBerthd, time, root, randomImageContext } from './lib/daemon.mjs';

const MB = Number(process.argv[2] ?? 200);
const IMG = 'bench/saveload:1';
const d1 = await startBerthd([], { importBusybox: false });
const d2 = await startBerthd([], { importBusybox: false });
const check = (r, what) => { if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr}`); return r; };
try {
  const ctx = join(d1.tmp, 'ctx');
  randomImageContext(ctx, MB);
  check(d1.berth(['build', '-q', '-t', IMG, ctx]), 'build');
  rmSync(ctx, { recursive: true, force: true });
  const file = join(d1.tmp, 'img.tar');
  const sh = (cmd, env) => spawnSync('bash', ['-o', 'pipefail', '-c', cmd], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const B = (h) => `BERTH_HOST=${h} ${join(root, 'bin/berth')}`;

  const saveMs = time(() => check(d1.berth(['save', '-o', file, IMG]), 'save'));
  const bytes = statSync(file).size;
  check(d1.berth(['rmi', IMG]), 'rmi');
  const loadMs = time(() => check(d1.berth(['load', '-q', '-i', file]), 'load'));
  const loadFreshMs = time(() => check(d2.berth(['load', '-q', '-i', file]), 'load (fresh daemon)'));
  check(d2.berth(['rmi', IMG]), 'rmi (fresh daemon)');
  const rtFreshMs = time(() => check(sh(`${B(d1.host)} save ${IMG} | ${B(d2.host)} load -q`), 'save | load (fresh daemon)'));
  const rtSameMs = time(() => check(sh(`${B(d1.host)} save ${IMG} | ${B(d1.host)} load -q`), 'save | load (same daemon)'));
  const rate = (ms) => (bytes / 1e6 / (ms / 1000)).toFixed(1);
  console.log(`archive: ${(bytes / 1e6).toFixed(1)} MB, 4 layers of random data`);
  console.log(`berth save -o:                       ${saveMs.toFixed(0)} ms  ${rate(saveMs)} MB/s`);
  console.log(`berth load -i (image absent):        ${loadMs.toFixed(0)} ms  ${rate(loadMs)} MB/s`);
  console.log(`berth load -i (fresh daemon):        ${loadFreshMs.toFixed(0)} ms  ${rate(loadFreshMs)} MB/s`);
  console.log(`berth save | berth load (fresh):     ${rtFreshMs.toFixed(0)} ms  ${rate(rtFreshMs)} MB/s`);
  console.log(`berth save | berth load (present):   ${rtSameMs.toFixed(0)} ms  ${rate(rtSameMs)} MB/s`);

  const dh = process.env.BENCH_DOCKER_HOST;
  if (dh && spawnSync('docker', ['version'], { env: { ...process.env, DOCKER_HOST: dh } }).status === 0) {
    const denv = { ...process.env, DOCKER_HOST: dh };
    const dk = (a) => spawnSync('docker', a, { env: denv, stdio: ['ignore', 'pipe', 'pipe'] });
    check(dk(['load', '-q', '-i', file]), 'docker load (setup)');
    const dfile = join(d1.tmp, 'docker.tar');
    const dSave = time(() => check(dk(['save', '-o', dfile, IMG]), 'docker save'));
    check(dk(['rmi', IMG]), 'docker rmi');
    const dLoad = time(() => check(dk(['load', '-q', '-i', dfile]), 'docker load'));
    const dRt = time(() => check(sh(`docker save ${IMG} | docker load -q`, { DOCKER_HOST: dh }), 'docker save | load'));
    const dBytes = statSync(dfile).size;
    const drate = (ms) => (dBytes / 1e6 / (ms / 1000)).toFixed(1);
    console.log(`docker save -o:                      ${dSave.toFixed(0)} ms  ${drate(dSave)} MB/s  (berth/docker time ${(saveMs / dSave).toFixed(2)})`);
    console.log(`docker load -i (image absent):       ${dLoad.toFixed(0)} ms  ${drate(dLoad)} MB/s  (berth/docker time ${(loadMs / dLoad).toFixed(2)}; fresh daemon ${(loadFreshMs / dLoad).toFixed(2)})`);
    console.log(`docker save | docker load (present): ${dRt.toFixed(0)} ms  ${drate(dRt)} MB/s  (berth/docker time ${(rtSameMs / dRt).toFixed(2)})`);
    dk(['rmi', IMG]);
  } else {
    console.log('docker: skipped (set BENCH_DOCKER_HOST to a reachable Docker engine to compare)');
  }
} finally {
  d1.stop();
  d2.stop();
}
