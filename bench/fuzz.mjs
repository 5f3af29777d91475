#!/usr/bin/env node
// bench/fuzz: the fuzz tests (every dist/tests/**/*.fuzz.test.js, see src/common/fuzz-testing.ts)
// run for longer than CI runs them: each property for a number of seconds with a random seed (or
// the one given), one test file at a time. Prints runs and runs/s per property, and for every
// failure its counterexample and the command that replays it. A case that hangs kills its file
// (the harness's watchdog); its line names the property, seed and case.
// Usage: node bench/fuzz.mjs [seconds per property, default 20] [seed, default random] [name filter]
//        (root: the extractor's property makes device nodes and sets owners; after `npm run build`)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.argv[2] ?? 20);
const SEED = process.argv[3] ?? 'random';
const FILTER = process.argv[4] ?? '';

function find(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) find(p, out);
    else if (e.name.endsWith('.fuzz.test.js')) out.push(p);
  }
  return out.sort();
}

const files = find(join(root, 'dist', 'tests')).filter((f) => relative(root, f).includes(FILTER));
if (files.length === 0) {
  console.error('no fuzz tests found: run `npm run build` first');
  process.exit(1);
}
const tmp = mkdtempSync(join(tmpdir(), 'berth-fuzz-bench-'));
const report = join(tmp, 'report.jsonl');
let failed = 0;
console.log(`fuzz: ${files.length} files, ${SECONDS} s per property, seed ${SEED}`);
console.log(`${'property'.padEnd(96)} ${'runs'.padStart(9)} ${'runs/s'.padStart(9)}  result`);
try {
  for (const file of files) {
    const before = readFileSync(report, { flag: 'a+' }).toString().split('\n').filter(Boolean).length;
    const { code, stderr, stdout } = await new Promise((resolve) => {
      const child = spawn(process.execPath, ['--test', file], {
        env: { ...process.env, BERTH_FUZZ_SECONDS: String(SECONDS), BERTH_FUZZ_SEED: SEED, BERTH_FUZZ_REPORT: report },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      let out = '';
      child.stderr.on('data', (d) => { err += d; });
      child.stdout.on('data', (d) => { out += d; });
      child.on('close', (c, signal) => resolve({ code: c ?? signal, stderr: err, stdout: out }));
    });
    const lines = readFileSync(report, 'utf8').split('\n').filter(Boolean).slice(before).map((l) => JSON.parse(l));
    for (const r of lines) {
      const rate = r.runs / (r.ms / 1000);
      console.log(`${r.name.slice(0, 96).padEnd(96)} ${String(r.runs).padStart(9)} ${rate.toFixed(0).padStart(9)}  ${r.failure ? 'FAILED' : 'ok'}`);
      if (r.failure) {
        failed++;
        console.log(`    counterexample: ${r.failure.counterexample.slice(0, 2000)}`);
        console.log(`    error: ${r.failure.error.split('\n')[0]}`);
        console.log(`    replay: BERTH_FUZZ_SEED=${r.seed} BERTH_FUZZ_PATH=${r.failure.path} node --test ${relative(root, r.file)}`);
      }
    }
    // A file killed by the watchdog (or failing outside a property) reports through its output.
    const hang = `${stderr}\n${stdout}`.split('\n').find((l) => l.includes('fuzz: HANG'));
    if (hang) { failed++; console.log(`    ${relative(root, file)}: ${hang.replace(/^#\s*/, '').replace(/\\#/g, '#')}`); }
    else if (code !== 0 && !lines.some((r) => r.failure)) { failed++; console.log(`    ${relative(root, file)}: exited with ${code}\n${stdout.slice(-2000)}`); }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(failed ? `${failed} failure(s)` : 'no failures');
process.exit(failed ? 1 : 0);
