import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { LocalContentStore } from '../store/content/local.ts';
import { OverlaySnapshotter } from '../store/snapshots/overlay.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { isEngineError } from '../common/errors.ts';
import { archivePath, planSave, prepareLoad, type ArchiveDeps } from './image-archive.ts';
import type { ImageRecord } from './images.ts';

test('archive entry names: normalised; absolute or escaping names refused', () => {
  assert.equal(archivePath('./blobs/sha256/ab'), 'blobs/sha256/ab');
  assert.equal(archivePath('manifest.json'), 'manifest.json');
  assert.equal(archivePath('a//b/./c'), 'a/b/c');
  assert.throws(() => archivePath('../x'), /outside the archive/);
  assert.throws(() => archivePath('a/../../x'), /outside the archive/);
  assert.throws(() => archivePath('/etc/passwd'), /absolute path/);
});

test('save plan: an ID untagged, repo:tag that tag, a bare repository all its tags, each image once', () => {
  const a = { id: `sha256:${'a'.repeat(64)}` } as ImageRecord;
  const b = { id: `sha256:${'b'.repeat(64)}` } as ImageRecord;
  const refs: Record<string, string[]> = {
    [a.id]: ['docker.io/library/app:1', 'docker.io/library/app:latest', 'docker.io/library/other:x'],
    [b.id]: ['docker.io/library/app:2'],
  };
  const byName: Record<string, ImageRecord> = { 'app:1': a, app: a, 'other:x': a, 'app:2': b, aaaa: a };
  const images = {
    resolve: (n: string) => { const r = byName[n]; if (!r) throw new Error(`No such image: ${n}`); return r; },
    refsOf: (id: string) => refs[id] ?? [],
    all: () => [a, b],
  };
  assert.deepEqual(planSave(images, ['aaaa']).map((i) => [i.rec.id, i.refs]), [[a.id, []]]);
  assert.deepEqual(planSave(images, ['app:1', 'other:x']).map((i) => i.refs), [['docker.io/library/app:1', 'docker.io/library/other:x']]);
  assert.deepEqual(planSave(images, ['app']).map((i) => [i.rec.id, i.refs]), [
    [a.id, ['docker.io/library/app:1', 'docker.io/library/app:latest']],
    [b.id, ['docker.io/library/app:2']],
  ]);
  assert.throws(() => planSave(images, ['nope']), /No such image/);
});

/** A tar of these files, as `docker save` would write them. */
async function tarOf(files: Record<string, string | Buffer>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const [name, body] of Object.entries(files)) {
    await new Promise<void>((res, rej) => p.entry({ name, mode: 0o644 }, Buffer.from(body), (e) => (e ? rej(e) : res())));
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Real stores under `root` (apart from the data root, which a refused load must leave empty). */
async function storesIn(root: string): Promise<Pick<ArchiveDeps, 'content' | 'snap' | 'hold'>> {
  const content = new LocalContentStore(join(root, 'content'));
  await content.init();
  const snap = new OverlaySnapshotter(join(root, 'overlay'));
  await snap.init();
  return { content, snap, hold: () => () => {} };
}

/** prepareLoad's answer for an archive: the error message, or 'ok'; the staging is always cleaned. */
async function load(archive: Buffer): Promise<string> {
  const dataRoot = await mkdtemp(join(tmpdir(), 'berth-load-test-'));
  const storeRoot = await mkdtemp(join(tmpdir(), 'berth-load-stores-'));
  try {
    const prepared = await prepareLoad({ dataRoot, ...(await storesIn(storeRoot)) } as ArchiveDeps, Readable.from([archive]));
    await prepared.cleanup();
    return 'ok';
  } catch (e) {
    assert.ok(isEngineError(e, 'InvalidParameter'), `${(e as Error).constructor.name}: ${(e as Error).message}`);
    assert.deepEqual(await readdir(dataRoot), [], 'a refused archive leaves nothing');
    return (e as Error).message;
  } finally {
    // Nothing unpacked or stored is left either way: the load was not committed.
    assert.deepEqual(await readdir(join(storeRoot, 'overlay', 'l')), []);
    assert.deepEqual(await readdir(join(storeRoot, 'content', 'blobs', 'sha256')), []);
    await rm(dataRoot, { recursive: true, force: true });
    await rm(storeRoot, { recursive: true, force: true });
  }
}

test('load: malformed manifest.json and index.json documents are refused, not TypeErrors (found by the fuzz test)', async () => {
  const config = JSON.stringify({ rootfs: { type: 'layers', diff_ids: [] } });
  const cd = createHash('sha256').update(config).digest('hex');
  const blobs = { [`blobs/sha256/${cd}`]: config };
  const docker = (entry: unknown) => tarOf({ ...blobs, 'manifest.json': JSON.stringify([entry]) });
  assert.equal(await load(await docker({ Config: `blobs/sha256/${cd}`, Layers: [] })), 'ok');
  for (const bad of [null, { Config: `blobs/sha256/${cd}`, Layers: [1] }, { Config: `blobs/sha256/${cd}`, Layers: [], RepoTags: 'a:1' }, { Config: `blobs/sha256/${cd}`, Layers: [], RepoTags: [1] }]) {
    assert.equal(await load(await docker(bad)), 'invalid archive: malformed manifest.json entry', JSON.stringify(bad));
  }
  const oci = (index: unknown, extra: Record<string, string> = {}) => tarOf({ ...blobs, ...extra, 'index.json': JSON.stringify(index), 'oci-layout': '{"imageLayoutVersion":"1.0.0"}' });
  for (const bad of [null, [], { manifests: 'x' }, { manifests: [null] }]) {
    assert.equal(await load(await oci(bad)), 'invalid archive: malformed index.json', JSON.stringify(bad));
  }
  const nul = 'null';
  const nd = createHash('sha256').update(nul).digest('hex');
  assert.equal(await load(await oci({ manifests: [{ digest: `sha256:${nd}`, size: 4 }] }, { [`blobs/sha256/${nd}`]: nul })), `invalid archive: sha256:${nd} is not an image manifest`);
  const idx = JSON.stringify({ mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [7] });
  const id = createHash('sha256').update(idx).digest('hex');
  assert.equal(await load(await oci({ manifests: [{ digest: `sha256:${id}`, size: idx.length, annotations: { 'io.containerd.image.name': 5 } }] }, { [`blobs/sha256/${id}`]: idx })), `invalid archive: malformed index sha256:${id}`);
});

test('load: a corrupt gzip stream is an invalid archive, not zlib\'s bare error (found by the fuzz test)', async () => {
  const { gzipSync } = await import('node:zlib');
  const gz = gzipSync(await tarOf({ 'manifest.json': '[]' }));
  // A damaged deflate block (the first byte after the 10-byte header), and a wrong CRC at the end.
  for (const at of [10, gz.length - 8]) {
    const bad = Buffer.from(gz);
    bad[at] ^= 0xff;
    const msg = await load(bad);
    assert.match(msg, /^(invalid archive: gzip: |unexpected EOF)/, msg);
  }
});
