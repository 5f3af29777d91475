// Fuzz tests of `docker load`'s reading of an archive (see src/common/fuzz-testing.ts): docker
// archives and OCI layouts whose manifest.json, index.json and image configs have every field
// wrong in turn, whose blobs are named by their real digests (so verification gets past the
// hashes), with links, escaping and absolute names, gzip'd or not, and mutated as bytes. The
// archive is streamed and verified, or refused with an EngineError; nothing is written outside the
// staging directory and the stores' temp dirs, and a refused archive leaves nothing behind.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { isEngineError } from '../common/errors.ts';
import { chunked, expectErrorAsync, fc, fuzzAsync } from '../common/fuzz-testing.ts';
import { LocalContentStore } from '../store/content/local.ts';
import { OverlaySnapshotter } from '../store/snapshots/overlay.ts';
import { prepareLoad, type ArchiveDeps } from './image-archive.ts';

const engineError = (e: Error) => isEngineError(e);

let parent: string;
let dataRoot: string;
let stores: Pick<ArchiveDeps, 'content' | 'snap' | 'hold'>;
before(async () => {
  parent = mkdtempSync(join(tmpdir(), 'berth-load-fuzz-'));
  dataRoot = join(parent, 'root');
  const content = new LocalContentStore(join(parent, 'stores', 'content'));
  await content.init();
  const snap = new OverlaySnapshotter(join(parent, 'stores', 'overlay'));
  await snap.init();
  stores = { content, snap, hold: () => () => {} };
});
after(() => rmSync(parent, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
interface Entry { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; linkname?: string; body?: Buffer }

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const e of entries) {
    await new Promise<void>((res, rej) => {
      const h = { name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: 0o644 };
      if ((e.type ?? 'file') === 'file') p.entry(h, e.body ?? Buffer.alloc(0), (err) => (err ? rej(err) : res()));
      else p.entry(h, (err) => (err ? rej(err) : res()));
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

const junk = fc.oneof(fc.constantFrom(null, 1, '', 'x', true, [], {}, [null], [1], { a: 1 }, '../x', '/etc/passwd'), fc.jsonValue({ maxDepth: 2 })) as fc.Arbitrary<unknown>;
const field = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: good as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: junk });
const diffId = fc.constantFrom('sha256:' + 'c'.repeat(64), 'sha256:short', 'md5:x');

/** An archive as a list of entries: blobs (config, layers, manifests) named by their digests, plus the top-level JSON files. */
const archive = fc.record({
  layers: fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 2 }),
  // A real layer tar first (unpacked while it streams, then discarded: prepareLoad commits nothing).
  tarLayer: fc.option(fc.constantFrom('plain', 'gzip', 'breakout'), { nil: undefined }),
  config: field(fc.record({ rootfs: field(fc.record({ type: fc.constant('layers'), diff_ids: field(fc.array(field(diffId), { maxLength: 3 })) })), architecture: fc.constant('amd64'), os: fc.constant('linux') })),
  repoTags: field(fc.array(field(fc.constantFrom('a:1', 'busybox:latest', 'Bad', 'x@sha256:1')), { maxLength: 2 })),
  form: fc.constantFrom('docker', 'oci', 'both'),
  indexRef: field(fc.constantFrom('docker.io/library/a:1', '1.0', 'bad ref')),
  nested: fc.boolean(),
  mutateManifest: fc.option(junk, { nil: undefined }),
  mutateIndex: fc.option(junk, { nil: undefined }),
  extra: fc.array(fc.record({
    name: fc.constantFrom('manifest.json', 'index.json', 'blobs/sha256/x', '../escape', '/abs', 'a/../../b', './manifest.json', 'blobs', 'link'),
    type: fc.constantFrom<'file' | 'directory' | 'symlink' | 'link'>('file', 'directory', 'symlink', 'link'),
    // (Not empty: tar-stream's pack never calls back for a link without a target.)
    linkname: fc.constantFrom('manifest.json', '../../etc/passwd', '/etc/passwd', 'link', 'blobs/sha256', '.'),
  }), { maxLength: 2 }),
});

async function build(a: Archive): Promise<Buffer> {
  const entries: Entry[] = [];
  const blob = (b: Buffer) => { const h = sha(b); entries.push({ name: `blobs/sha256/${h}`, body: b }); return `sha256:${h}`; };
  const layers: Buffer[] = a.layers.map((l) => Buffer.from(l));
  if (a.tarLayer) {
    const t = await tarOf(a.tarLayer === 'breakout'
      ? [{ name: 'a', type: 'symlink', linkname: '/' }, { name: 'a/etc/x', body: Buffer.from('x') }]
      : [{ name: 'etc/', type: 'directory' }, { name: 'etc/f', body: Buffer.from('f') }, { name: 'etc/.wh.g', body: Buffer.alloc(0) }]);
    layers.unshift(a.tarLayer === 'gzip' ? gzipSync(t) : t);
  }
  const layerDigests = layers.map((l) => ({ digest: blob(l), size: l.length }));
  const configBuf = Buffer.from(JSON.stringify(a.config));
  const configDigest = blob(configBuf);
  const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configBuf.length }, layers: layerDigests.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })) };
  const mBuf = Buffer.from(JSON.stringify(manifest));
  let top = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: blob(mBuf), size: mBuf.length };
  if (a.nested) {
    const idx = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [top] }));
    top = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: blob(idx), size: idx.length };
  }
  if (a.form !== 'oci') {
    const m = a.mutateManifest !== undefined ? a.mutateManifest : [{ Config: `blobs/sha256/${configDigest.slice(7)}`, RepoTags: a.repoTags, Layers: layerDigests.map((l) => `blobs/sha256/${l.digest.slice(7)}`) }];
    entries.push({ name: 'manifest.json', body: Buffer.from(JSON.stringify(m) ?? '') });
  }
  if (a.form !== 'docker') {
    const i = a.mutateIndex !== undefined ? a.mutateIndex : { schemaVersion: 2, manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': a.indexRef } }] };
    entries.push({ name: 'index.json', body: Buffer.from(JSON.stringify(i) ?? '') }, { name: 'oci-layout', body: Buffer.from('{"imageLayoutVersion":"1.0.0"}') });
  }
  for (const x of a.extra) entries.push({ name: x.name, type: x.type, linkname: x.linkname, body: Buffer.from('{}') });
  return tarOf(entries);
}

type Archive = typeof archive extends fc.Arbitrary<infer T> ? T : never;

const input = fc.record({
  archive,
  gzip: fc.boolean(),
  // Byte edits and a cut, applied to the tar (before gzip) or to the gzip stream.
  edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
  afterGzip: fc.boolean(),
  cuts: fc.array(fc.nat(), { maxLength: 4 }),
});

function mutate(b: Buffer, edits: [number, number][], cut: number | undefined): Buffer {
  const out = Buffer.from(b);
  for (const [at, v] of edits) if (out.length) out[at % out.length] = v;
  return cut === undefined || out.length === 0 ? out : out.subarray(0, cut % out.length);
}

fuzzAsync('load: any archive is streamed and verified, or refused with an EngineError, writing only under its staging directory and the stores\' temp dirs', input, async (v) => {
  let bytes = await build(v.archive);
  if (!v.afterGzip) bytes = mutate(bytes, v.edits, v.cut);
  if (v.gzip) bytes = gzipSync(bytes);
  if (v.afterGzip) bytes = mutate(bytes, v.edits, v.cut);
  const d = { dataRoot, ...stores } as ArchiveDeps;
  const prepared = await expectErrorAsync(() => prepareLoad(d, Readable.from(chunked(bytes, v.cuts))), engineError);
  // Only the data root (under load-staging) and the stores were written to, and no unpacked
  // layer (named or not) or blob is left in the stores: nothing was committed.
  assert.deepEqual(readdirSync(parent).filter((n) => n !== 'root'), ['stores']);
  const leftInStores = () => [...readdirSync(join(parent, 'stores', 'overlay', 'l')), ...readdirSync(join(parent, 'stores', 'content', 'blobs', 'sha256'))];
  if (!prepared) assert.deepEqual(leftInStores(), []);
  if (!prepared) {
    assert.deepEqual(readdirSync(dataRoot).filter((n) => n !== 'load-staging'), []);
    assert.deepEqual(readdirSync(dataRoot).includes('load-staging') ? readdirSync(join(dataRoot, 'load-staging')) : [], []);
    return;
  }
  await prepared.cleanup();
  assert.deepEqual(readdirSync(dataRoot).includes('load-staging') ? readdirSync(join(dataRoot, 'load-staging')) : [], []);
  assert.deepEqual(leftInStores(), []);
}, { runs: 300, caseMs: 5000 });
