// How load takes in layers. A layer that fails half-way through a load (a corrupt gzip stream, a
// breakout entry) must not leave its blob's file open in the daemon: nothing reads it again, and
// every failed layer used to keep one descriptor for good. Layers are unpacked while the archive
// streams, before the config naming their diff IDs has arrived: a mismatch found then, or a
// failure in a later image, leaves no image, blob, layer, unnamed snapshot or staging behind;
// blobs may come before or after index.json; blobs the store has are not written again, and
// garbage collection keeps them while the load streams.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
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

const layerTar = (files: Record<string, string>) => tarOf(Object.entries(files).map(([name, body]) => ({ name, body: Buffer.from(body) })));

interface Img { layers: Buffer[]; diffIds?: string[]; tag?: string }

/** The blobs (config, layers, manifest) of an image and its manifest.json entry. */
function blobsOf(img: Img): { blobs: { name: string; body: Buffer }[]; entry: object; manifestDesc: object } {
  const diffIds = img.diffIds ?? img.layers.map((l) => `sha256:${sha(l)}`);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const blob = (b: Buffer) => ({ name: `blobs/sha256/${sha(b)}`, body: b });
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length },
    layers: img.layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${sha(l)}`, size: l.length })),
  }));
  return {
    blobs: [blob(config), ...img.layers.map(blob), blob(manifest)],
    entry: { Config: `blobs/sha256/${sha(config)}`, RepoTags: img.tag ? [img.tag] : null, Layers: img.layers.map((l) => `blobs/sha256/${sha(l)}`) },
    manifestDesc: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha(manifest)}`, size: manifest.length, annotations: img.tag ? { 'io.containerd.image.name': `docker.io/${img.tag}` } : {} },
  };
}

/** A docker-archive (manifest.json last) of `imgs`, in that order. */
async function dockerArchive(imgs: Img[]): Promise<Buffer> {
  const parts = imgs.map(blobsOf);
  return tarOf([...parts.flatMap((p) => p.blobs), { name: 'manifest.json', body: Buffer.from(JSON.stringify(parts.map((p) => p.entry))) }]);
}

/** An OCI layout of `imgs`, index.json before or after the blobs. */
async function ociArchive(imgs: Img[], indexFirst: boolean): Promise<Buffer> {
  const parts = imgs.map(blobsOf);
  const top = [
    { name: 'oci-layout', body: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'index.json', body: Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: parts.map((p) => p.manifestDesc) })) },
  ];
  const blobs = parts.flatMap((p) => p.blobs);
  return tarOf(indexFirst ? [...top, ...blobs] : [...blobs, ...top]);
}

/** Everything a load can leave: images, blobs, layers (named or not), ingests, staging. */
async function everything(): Promise<object> {
  const ls = (...p: string[]) => (existsSync(join(d.dataRoot, ...p)) ? readdirSync(join(d.dataRoot, ...p)).sort() : []);
  return {
    images: (await d.api('GET', '/images/json?all=1')).json().map((i: { Id: string; RepoTags: string[] }) => [i.Id, i.RepoTags]).sort(),
    blobs: ls('content', 'blobs', 'sha256'), ingest: ls('content', 'ingest'), layers: ls('overlay', 'l'), staging: ls('load-staging'),
  };
}

async function loadError(archive: Buffer): Promise<string> {
  const r = await d.api('POST', '/images/load', archive, { 'Content-Type': 'application/x-tar' });
  assert.equal(r.status, 200);
  const last = JSON.parse(r.body.toString().trim().split('\n').pop()!);
  assert.ok(last.error, r.body.toString());
  return last.error as string;
}

test('load: a layer unpacked as it streams whose diff ID does not match leaves nothing (plain, gzip\'d, in a second image)', async () => {
  const st0 = await everything();
  const l1 = await layerTar({ 'one/a': 'a' });
  const l2 = await layerTar({ 'two/b': 'b', '.wh.gone': '' });
  const wrong = `sha256:${'1'.repeat(64)}`;
  assert.match(await loadError(await dockerArchive([{ layers: [l1, l2], diffIds: [`sha256:${sha(l1)}`, wrong], tag: 'intake/bad:1' }])), new RegExp(`layer digest mismatch: expected ${wrong}, got sha256:${sha(l2)}`));
  assert.deepEqual(await everything(), st0);
  const gz = gzipSync(l2);
  assert.match(await loadError(await dockerArchive([{ layers: [gz], diffIds: [wrong], tag: 'intake/bad:2' }])), /layer digest mismatch/);
  assert.deepEqual(await everything(), st0);
  // The first image is good and committed (its layers named, its blobs stored) before the second
  // fails: all of it goes again.
  const l3 = await layerTar({ 'three/c': 'c' });
  assert.match(await loadError(await dockerArchive([{ layers: [l1, l2], tag: 'intake/good:1' }, { layers: [l3], diffIds: [wrong], tag: 'intake/bad:3' }])), /layer digest mismatch/);
  assert.deepEqual(await everything(), st0);
});

test('load: an OCI layout loads with its blobs before or after index.json, and again when the store has its blobs', async () => {
  const l1 = await layerTar({ 'oci/a': 'a' });
  const l2 = await layerTar({ 'oci/b': 'b' });
  for (const [tag, indexFirst] of [['intake/oci:first', true], ['intake/oci:last', false]] as const) {
    const r = await d.api('POST', '/images/load', await ociArchive([{ layers: [l1, l2], tag }], indexFirst), { 'Content-Type': 'application/x-tar' });
    assert.match(r.body.toString(), new RegExp(`Loaded image: ${tag}`), r.body.toString());
    const ins = (await d.api('GET', `/images/${tag}/json`)).json();
    assert.deepEqual(ins.RootFS.Layers, [`sha256:${sha(l1)}`, `sha256:${sha(l2)}`]);
  }
  // A blob the store has, named by its digest but with other bytes: refused, the store's intact.
  const st0 = await everything();
  const parts = blobsOf({ layers: [l1, l2], tag: 'intake/oci:tampered' });
  const forged = parts.blobs.map((b) => (b.name === `blobs/sha256/${sha(l2)}` ? { ...b, body: Buffer.from(b.body).fill(0x61, 600, 601) } : b));
  const bad = await tarOf([...forged, { name: 'manifest.json', body: Buffer.from(JSON.stringify([parts.entry])) }]);
  assert.match(await loadError(bad), new RegExp(`invalid archive: digest mismatch for blobs/sha256/${sha(l2)}`));
  assert.deepEqual(await everything(), st0);
});

test('load: blobs the store has stay while the archive streams, even when their image is removed meanwhile (GC is held)', async () => {
  const l1 = await layerTar({ 'held/a': 'a'.repeat(100_000) });
  const archive = await dockerArchive([{ layers: [l1], tag: 'intake/held:1' }]);
  assert.match((await d.api('POST', '/images/load', archive, { 'Content-Type': 'application/x-tar' })).body.toString(), /Loaded image: intake\/held:1/);
  // The same archive again, slowly: half of it, then the image goes (its removal sweeps unused
  // blobs and layers, unless a load holds GC), then the rest.
  const done = new Promise<string>((res, rej) => {
    const req = http.request({ socketPath: d.sock, method: 'POST', path: '/images/load', agent: false, headers: { 'Content-Type': 'application/x-tar' } }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => res(Buffer.concat(chunks).toString()));
    });
    req.on('error', rej);
    req.write(archive.subarray(0, archive.length >> 1));
    setTimeout(() => {
      void d.api('DELETE', '/images/intake/held:1').then((x) => {
        assert.equal(x.status, 200, x.body.toString());
        req.end(archive.subarray(archive.length >> 1));
      }, rej);
    }, 300);
  });
  assert.match(await done, /Loaded image: intake\/held:1/);
  const ins = (await d.api('GET', '/images/intake/held:1/json')).json();
  assert.ok(existsSync(join(d.dataRoot, 'content', 'blobs', 'sha256', sha(l1))), 'the layer blob is in the store');
  assert.deepEqual(ins.RootFS.Layers, [`sha256:${sha(l1)}`]);
  assert.equal((await d.api('GET', '/images/intake/held:1/get')).status, 200);
});

test('load: berthd killed (-9) while a layer unpacks from the stream leaves only debris that the next start sweeps', async () => {
  const st0 = await everything();
  const big = await tarOf([{ name: 'big', body: Buffer.alloc(16 << 20, 0x62) }]);
  const archive = await dockerArchive([{ layers: [big], tag: 'intake/killed:1' }]);
  const tmpLayers = () => readdirSync(join(d.dataRoot, 'overlay', 'l')).filter((n) => n.startsWith('.tmp-'));
  const req = http.request({ socketPath: d.sock, method: 'POST', path: '/images/load', agent: false, headers: { 'Content-Type': 'application/x-tar' } });
  req.on('error', () => {}); // the daemon dies under it
  // Past the config and half-way into the layer: its blob is staged and its unpack under way.
  req.write(archive.subarray(0, archive.length >> 1));
  for (let i = 0; i < 100 && tmpLayers().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(tmpLayers().length, 1, 'the layer unpacks while it streams');
  assert.ok(readdirSync(join(d.dataRoot, 'load-staging')).length > 0);
  await d.restart({ kill9: true });
  req.destroy();
  assert.deepEqual(await everything(), st0);
});

test('load: one layer file used by several images and chains (gzip\'d, shared at the base, above another layer, and through a legacy symlink)', async () => {
  const shared = gzipSync(await layerTar({ 'shared/s': 's' }));
  const other = await layerTar({ 'other/o': 'o' });
  const diff = (b: Buffer) => `sha256:${sha(b)}`;
  const sharedDiff = `sha256:${sha(await layerTar({ 'shared/s': 's' }))}`;
  // OCI form: blobs/sha256/<hex> named once, used by three images.
  const r = await d.api('POST', '/images/load', await dockerArchive([
    { layers: [shared], diffIds: [sharedDiff], tag: 'intake/shared:a' },
    { layers: [shared, other], diffIds: [sharedDiff, diff(other)], tag: 'intake/shared:b' },
    { layers: [other, shared], diffIds: [diff(other), sharedDiff], tag: 'intake/shared:c' },
  ]), { 'Content-Type': 'application/x-tar' });
  for (const t of ['a', 'b', 'c']) assert.match(r.body.toString(), new RegExp(`Loaded image: intake/shared:${t}`), r.body.toString());
  assert.deepEqual((await d.api('GET', '/images/intake/shared:c/json')).json().RootFS.Layers, [diff(other), sharedDiff]);
  // Legacy form: <id>/layer.tar, the second image's copy a symlink to the first's.
  const cfg = (ids: string[]) => Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: ids } }));
  const c1 = cfg([diff(other), sharedDiff]);
  const c2 = cfg([sharedDiff]);
  const legacy = await tarOf([
    { name: 'l1/layer.tar', body: other },
    { name: 'l2/layer.tar', body: shared },
    { name: 'l3/layer.tar', type: 'symlink', linkname: '../l2/layer.tar' },
    { name: `${sha(c1)}.json`, body: c1 },
    { name: `${sha(c2)}.json`, body: c2 },
    { name: 'manifest.json', body: Buffer.from(JSON.stringify([
      { Config: `${sha(c1)}.json`, RepoTags: ['intake/legacy:1'], Layers: ['l1/layer.tar', 'l2/layer.tar'] },
      { Config: `${sha(c2)}.json`, RepoTags: ['intake/legacy:2'], Layers: ['l3/layer.tar'] },
    ])) },
  ]);
  await d.api('DELETE', '/images/intake/shared:a');
  await d.api('DELETE', '/images/intake/shared:b');
  await d.api('DELETE', '/images/intake/shared:c');
  const l = await d.api('POST', '/images/load', legacy, { 'Content-Type': 'application/x-tar' });
  assert.match(l.body.toString(), /Loaded image: intake\/legacy:1[\s\S]*Loaded image: intake\/legacy:2/, l.body.toString());
  assert.deepEqual((await d.api('GET', '/images/intake/legacy:2/json')).json().RootFS.Layers, [sharedDiff]);
});

test('save: a reader that goes away mid-archive does not take berthd down', async () => {
  const big = await tarOf([{ name: 'big', body: Buffer.alloc(16 << 20, 0x63) }]);
  const r = await d.api('POST', '/images/load', await dockerArchive([{ layers: [big], tag: 'intake/big:1' }]), { 'Content-Type': 'application/x-tar' });
  assert.match(r.body.toString(), /Loaded image: intake\/big:1/);
  await new Promise<void>((res, rej) => {
    const req = http.request({ socketPath: d.sock, path: '/images/intake/big:1/get', agent: false }, (res2) => {
      res2.once('data', () => { req.destroy(); setTimeout(res, 300); });
    });
    req.on('error', () => {}); // destroyed on purpose
    req.on('close', () => setTimeout(res, 300));
    req.end();
    setTimeout(() => rej(new Error('no data')), 10_000);
  });
  assert.equal((await d.api('GET', '/_ping')).status, 200);
  const again = await d.api('GET', '/images/intake/big:1/get');
  assert.equal(again.status, 200);
  assert.ok(again.body.length > 16 << 20);
});
