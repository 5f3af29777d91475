import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { decompressedLayer, firstBytes } from './streams.ts';

/** Descriptors this process holds on files under `dir`. */
function fdsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const t = readlinkSync(`/proc/self/fd/${fd}`);
      if (t.startsWith(dir)) out.push(t);
    } catch { /* closed meanwhile */ }
  }
  return out;
}

test('a layer\'s file is closed when its decompression fails or is abandoned (found by the fuzz test)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-streams-test-'));
  try {
    const big = Buffer.alloc(4 << 20, 7);
    const cases: Array<[string, Buffer, number | undefined]> = [
      // gzip's magic, then an unknown method: zlib fails before the file is read to its end.
      ['bad gzip header', Buffer.concat([Buffer.from([0x1f, 0x8b, 0, 0]), Buffer.alloc(200_000)]), undefined],
      ['gzip abandoned', gzipSync(big), 0],
      ['zstd abandoned', spawnSync('zstd', ['-cq', '-1'], { input: big }).stdout, 0],
    ];
    for (const [what, bytes, stopAfter] of cases) {
      const path = join(dir, what.replace(/ /g, '-'));
      writeFileSync(path, bytes);
      const out = decompressedLayer(createReadStream(path, { highWaterMark: 1 << 16 }), await firstBytes(path));
      try {
        for await (const _c of out) if (stopAfter !== undefined) { out.destroy(); break; }
      } catch { /* the bad header */ }
      for (let i = 0; i < 500 && fdsUnder(dir).length; i++) await new Promise((r) => setTimeout(r, 2));
      assert.deepEqual(fdsUnder(dir), [], what);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
