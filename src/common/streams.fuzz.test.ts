// Fuzz tests of compressed layer intake (see src/common/fuzz-testing.ts): what pull and load do
// with a blob's bytes. Blobs are gzip and zstd streams of generated data (zstd made by the
// `zstd` program itself), mutated, cut short, behind a correct or a forged magic number, or raw
// bytes; each is sniffed by firstBytes and read through decompressedLayer, to its end or
// abandoned half-way. Reading ends or fails with an Error (zlib's, or an EngineError), never
// hangs, and no zstd process outlives its stream.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expectErrorAsync, fc, fuzzAsync, mutatedBytes } from './fuzz-testing.ts';
import { decompressedLayer, firstBytes } from './streams.ts';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'berth-streams-fuzz-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const zstd = (b: Buffer): Buffer => {
  const r = spawnSync('zstd', ['-cq', '-1'], { input: b });
  if (r.status !== 0) throw new Error(`zstd: ${r.stderr}`);
  return r.stdout;
};

/** Child processes of this process that are still alive. */
function children(): string[] {
  const out: string[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid && fields[0] !== 'Z') out.push(stat.slice(0, stat.lastIndexOf(')') + 1));
    } catch { /* gone */ }
  }
  return out;
}

/** Descriptors this process holds on the blobs' files. */
function blobFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch { /* closed meanwhile */ }
  }
  return out;
}

async function noChildrenLeft(): Promise<void> {
  for (let i = 0; i < 1000 && children().length; i++) await new Promise((r) => setTimeout(r, 2));
  assert.deepEqual(children(), []);
}

const data = fc.oneof(fc.uint8Array({ maxLength: 4000 }).map((b) => Buffer.from(b)), fc.tuple(fc.integer({ min: 0, max: 255 }), fc.nat({ max: 300_000 })).map(([v, n]) => Buffer.alloc(n, v)));
const blob = fc.oneof(
  { weight: 3, arbitrary: data.map((d) => gzipSync(d)) },
  { weight: 3, arbitrary: data.map(zstd) },
  { weight: 2, arbitrary: mutatedBytes(data.map((d) => gzipSync(d)), 3) },
  { weight: 2, arbitrary: mutatedBytes(data.map(zstd), 3) },
  // A forged magic number in front of anything.
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(Buffer.from([0x1f, 0x8b]), Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.from([0x1f]), Buffer.from([0x28, 0xb5])), fc.uint8Array({ maxLength: 200 })).map(([m, b]) => Buffer.concat([m, b])) },
  { weight: 1, arbitrary: data },
);

let n = 0;
fuzzAsync('layer intake: any blob decompresses to its end or fails with an Error, read whole or abandoned, and leaves no process', fc.tuple(blob, fc.option(fc.nat({ max: 3 }), { nil: undefined })), async ([bytes, stopAfter]) => {
  const path = join(dir, String(n++));
  writeFileSync(path, bytes);
  const head = await firstBytes(path);
  assert.deepEqual(head, bytes.subarray(0, 4));
  const out = decompressedLayer(createReadStream(path, { highWaterMark: 1 << 16 }), head);
  try {
    await expectErrorAsync(async () => {
      let chunks = 0;
      for await (const _c of out) {
        if (stopAfter !== undefined && ++chunks > stopAfter) { out.destroy(); break; }
      }
    }, () => true);
  } finally {
    rmSync(path, { force: true });
  }
  await noChildrenLeft();
  // The blob's file is closed too, however the reading ended.
  for (let i = 0; i < 500 && blobFds().length; i++) await new Promise((r) => setTimeout(r, 2));
  assert.deepEqual(blobFds(), [], 'a file descriptor left open');
}, { runs: 150, caseMs: 10_000 });
