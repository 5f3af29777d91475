// OverlaySnapshotter's layers: createLayer, and unpackLayer (a layer unpacked before its parent is
// known, as `load` does while the archive arrives) named later by commit. Runs as root (whiteouts
// are 0/0 character devices, opaque directories a trusted.* xattr).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import * as sys from '../../sys/index.ts';
import { OverlaySnapshotter } from './overlay.ts';
import { chainIdOf } from './snapshotter.ts';

async function withSnap(fn: (s: OverlaySnapshotter, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'berth-overlay-'));
  try {
    const s = new OverlaySnapshotter(root);
    await s.init();
    await fn(s, root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function tarOf(entries: { name: string; body?: string; type?: 'file' | 'directory' | 'symlink'; linkname?: string }[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const e of entries) {
    await new Promise<void>((res, rej) => {
      if (e.type === 'directory' || e.type === 'symlink') p.entry({ name: e.name, type: e.type, linkname: e.linkname, mode: 0o755 }, (err) => (err ? rej(err) : res()));
      else p.entry({ name: e.name, mode: 0o644 }, Buffer.from(e.body ?? ''), (err) => (err ? rej(err) : res()));
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const temps = async (root: string) => (await readdir(join(root, 'l'))).filter((n) => n.startsWith('.tmp-'));

test('unpackLayer: a layer with whiteouts and an opaque dir is unpacked before its parent is known, then named by commit', async () => {
  await withSnap(async (s, root) => {
    const base = await tarOf([{ name: 'etc/', type: 'directory' }, { name: 'etc/a', body: 'a' }, { name: 'var/', type: 'directory' }, { name: 'var/x', body: 'x' }]);
    const top = await tarOf([{ name: 'etc/.wh.a' }, { name: 'var/.wh..wh..opq' }, { name: 'var/y', body: 'y' }]);
    // The upper layer first, while the base does not exist yet.
    const u = await s.unpackLayer(Readable.from([top]));
    assert.equal(u.diffId, sha(top));
    const b = await s.createLayer(undefined, Readable.from([base]), sha(base));
    const info = await u.commit(b.chainId, u.diffId!);
    assert.equal(info.chainId, chainIdOf(b.chainId, sha(top)));
    assert.equal(info.parent, b.chainId);
    assert.deepEqual(await s.layer(info.chainId), info);
    const [diff] = await s.layerPaths(info.chainId);
    const wh = await lstat(join(diff, 'etc', 'a'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'a whiteout is a 0/0 device');
    assert.equal((await sys.getxattrs(join(diff, 'var'), 'trusted.overlay'))['trusted.overlay.opaque']?.toString(), 'y');
    assert.deepEqual(await temps(root), []);
    await assert.rejects(u.commit(b.chainId, u.diffId!), /already committed/);
  });
});

test('unpackLayer: discard leaves nothing; digest:false skips the hash; a bad tar removes its own temp dir', async () => {
  await withSnap(async (s, root) => {
    const t = await tarOf([{ name: 'f', body: 'f' }]);
    const u = await s.unpackLayer(Readable.from([t]), { digest: false });
    assert.equal(u.diffId, undefined);
    assert.equal((await temps(root)).length, 1);
    await u.discard();
    assert.deepEqual(await readdir(join(root, 'l')), []);
    await assert.rejects(s.unpackLayer(Readable.from([await tarOf([{ name: 'a', type: 'symlink', linkname: '/' }, { name: 'a/etc/evil', body: 'x' }])])), /breakout/);
    assert.deepEqual(await readdir(join(root, 'l')), []);
    // createLayer's diff ID check: a mismatch leaves nothing either.
    await assert.rejects(s.createLayer(undefined, Readable.from([t]), `sha256:${'0'.repeat(64)}`), /layer digest mismatch/);
    assert.deepEqual(await readdir(join(root, 'l')), []);
  });
});

test('createLayer verified: the caller vouches for the diff ID (a checked, uncompressed blob), so it is taken without a second hash; without it the same claim is checked', async () => {
  await withSnap(async (s, root) => {
    const t = await tarOf([{ name: 'f', body: 'f' }]);
    const claimed = `sha256:${'1'.repeat(64)}`;
    // Without `verified` the claim is checked and refused...
    await assert.rejects(s.createLayer(undefined, Readable.from([t]), claimed), /layer digest mismatch/);
    assert.deepEqual(await temps(root), []);
    // ...with it, the bytes are not hashed again: the layer is named by the diff ID given.
    const info = await s.createLayer(undefined, Readable.from([t]), claimed, { verified: true });
    assert.equal(info.diffId, claimed);
    assert.equal(info.chainId, chainIdOf(undefined, claimed));
    const [diff] = await s.layerPaths(info.chainId);
    assert.ok((await lstat(join(diff, 'f'))).isFile());
    // `verified` without an expected diff ID means nothing: the tar is hashed.
    const plain = await s.createLayer(undefined, Readable.from([await tarOf([{ name: 'g', body: 'g' }])]), undefined, { verified: true });
    assert.match(plain.diffId, /^sha256:[0-9a-f]{64}$/);
  });
});
