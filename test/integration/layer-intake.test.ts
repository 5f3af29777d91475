// A layer that fails half-way through a load (a corrupt gzip stream, a breakout entry) must not
// leave its blob's file open in the daemon: nothing reads it again, and every failed layer
// used to keep one descriptor for good.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { startDaemon, type Daemon } from './harness.ts';

let d: Daemon;
before(async () => { d = await startDaemon({ importBusybox: false }); });
after(async () => { await d?.stop(); });

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function tarOf(entries: Array<{ name: string; body?: Buffer; type?: 'file' | 'symlink'; linkname?: string }>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const e of entries) {
    await new Promise<void>((res, rej) => {
      const h = { name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: 0o644 };
      if (e.type === 'symlink') p.entry(h, (err) => (err ? rej(err) : res()));
      else p.entry(h, e.body ?? Buffer.alloc(0), (err) => (err ? rej(err) : res()));
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A docker-archive of one image whose only layer blob is `layer` (its diff ID claimed as `diffId`). */
async function archiveOf(layer: Buffer, diffId: string): Promise<Buffer> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] } }));
  return tarOf([
    { name: `blobs/sha256/${sha(config)}`, body: config },
    { name: `blobs/sha256/${sha(layer)}`, body: layer },
    { name: 'manifest.json', body: Buffer.from(JSON.stringify([{ Config: `blobs/sha256/${sha(config)}`, RepoTags: ['intake/x:1'], Layers: [`blobs/sha256/${sha(layer)}`] }])) },
  ]);
}

/** What berthd holds open under its data root. */
function daemonFiles(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync(`/proc/${d.proc.pid}/fd`)) {
    try {
      const t = readlinkSync(`/proc/${d.proc.pid}/fd/${fd}`);
      if (t.startsWith(d.dataRoot)) out.push(t);
    } catch { /* closed meanwhile */ }
  }
  return out;
}

test('load: a layer that fails half-way leaves no file open in the daemon', async () => {
  const filler = Buffer.alloc(8 << 20, 0x61);
  const plain = await tarOf([{ name: 'a', type: 'symlink', linkname: '/' }, { name: 'a/etc/evil', body: Buffer.from('x') }, { name: 'big', body: filler }]);
  const gz = gzipSync(await tarOf([{ name: 'big', body: filler }, { name: 'more', body: filler }]));
  gz[gz.length >> 1] ^= 0xff; // the deflate stream breaks in the middle
  const before = daemonFiles();
  for (const [what, layer, re] of [['breakout', plain, /layer breakout/], ['corrupt gzip', gz, /invalid|corrupt|incorrect|unexpected|digest/i]] as const) {
    const r = await d.api('POST', '/images/load?quiet=0', await archiveOf(layer, `sha256:${'0'.repeat(64)}`), { 'Content-Type': 'application/x-tar' });
    assert.match(r.body.toString(), re, what);
    let left = daemonFiles();
    for (let i = 0; i < 100 && left.length > before.length; i++) { await new Promise((x) => setTimeout(x, 50)); left = daemonFiles(); }
    assert.deepEqual(left, before, what);
  }
  assert.equal((await d.api('GET', '/images/intake/x:1/json')).status, 404);
});
