// The registry over HTTP, in-process on 127.0.0.1:0 with a temp root: push (monolithic and
// chunked), pull, HEAD, Range, pagination, catalog, mount, referrers, delete, gc, verification
// failures, concurrent uploads, auth (basic and token) and TLS.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { exposureWarnings, startRegistry, type RunningRegistry } from './server.ts';
import { collectGarbage } from './gc.ts';
import { FsRegistryStorage } from './fs-storage.ts';
import { Readable } from 'node:stream';
import { call, digestOf, makeImage, pushImage, startTlsRegistry, type Reply } from './testing.ts';

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const quiet = () => {};
const errCode = (r: Reply) => r.json?.errors?.[0]?.code;
const blobFiles = (root: string) => readdirSync(join(root, 'content', 'blobs', 'sha256')).sort();

function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), 'berth-registry-'));
}

describe('registry without auth', () => {
  let reg: RunningRegistry;
  let root: string;
  let base: string;
  const img = makeImage({ seed: 'main' });
  const [layer1, layer2] = img.layers;

  before(async () => {
    root = tempRoot();
    reg = await startRegistry({ root, addr: '127.0.0.1:0', log: quiet });
    base = reg.url;
  });
  after(async () => {
    await reg.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('/v2/ answers with the API version header', async () => {
    const r = await call(base, 'GET', '/v2/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.deepEqual(r.json, {});
  });

  test('push: config monolithic, layer 1 chunked with Content-Range, layer 2 chunked without', async () => {
    const name = 'team/app';
    let r = await call(base, 'POST', `/v2/${name}/blobs/uploads/?digest=${digestOf(img.config)}`, { body: img.config });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.location, `/v2/${name}/blobs/${digestOf(img.config)}`);
    assert.equal(r.headers['docker-content-digest'], digestOf(img.config));

    r = await call(base, 'POST', `/v2/${name}/blobs/uploads/`);
    assert.equal(r.status, 202);
    assert.equal(r.headers.range, '0-0');
    const uuid = r.headers['docker-upload-uuid'] as string;
    let loc = r.headers.location as string;
    assert.equal(loc, `/v2/${name}/blobs/uploads/${uuid}`);
    const half = 500;
    r = await call(base, 'PATCH', loc, { body: layer1.subarray(0, half), headers: { 'Content-Range': `0-${half - 1}`, 'Content-Type': 'application/octet-stream' } });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.headers.range, `0-${half - 1}`);
    // Out of order: the registry has 500 bytes, this chunk claims to start at 600.
    r = await call(base, 'PATCH', loc, { body: layer1.subarray(600), headers: { 'Content-Range': `600-${layer1.length - 1}` } });
    assert.equal(r.status, 416);
    assert.equal(r.headers.range, `0-${half - 1}`);
    r = await call(base, 'GET', loc);
    assert.equal(r.status, 204);
    assert.equal(r.headers.range, `0-${half - 1}`);
    assert.equal(r.headers['docker-upload-uuid'], uuid);
    r = await call(base, 'PATCH', loc, { body: layer1.subarray(half), headers: { 'Content-Range': `${half}-${layer1.length - 1}` } });
    assert.equal(r.status, 202);
    r = await call(base, 'PUT', `${r.headers.location}?digest=${digestOf(layer1)}`);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers['docker-content-digest'], digestOf(layer1));

    r = await call(base, 'POST', `/v2/${name}/blobs/uploads/`);
    loc = r.headers.location as string;
    // Chunked transfer encoding, no Content-Range (docker's way), then the last piece in the PUT.
    r = await call(base, 'PATCH', loc, { body: [layer2.subarray(0, 100), layer2.subarray(100, 700)] });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.headers.range, '0-699');
    r = await call(base, 'PUT', `${loc}?digest=${encodeURIComponent(digestOf(layer2))}`, { body: layer2.subarray(700) });
    assert.equal(r.status, 201, r.text);

    r = await call(base, 'PUT', `/v2/${name}/manifests/v1`, { body: img.manifest, headers: { 'Content-Type': OCI } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers['docker-content-digest'], img.digest);
    assert.equal(r.headers.location, `/v2/${name}/manifests/${img.digest}`);
    assert.deepEqual(readdirSync(join(root, 'uploads')), [], 'finished uploads leave nothing behind');
  });

  test('pull: manifest by tag and digest, content negotiation, HEAD', async () => {
    let r = await call(base, 'GET', '/v2/team/app/manifests/v1', { headers: { Accept: `${DOCKER}, ${OCI}` } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, img.manifest);
    assert.equal(r.headers['content-type'], OCI);
    assert.equal(r.headers['docker-content-digest'], img.digest);
    assert.equal(Number(r.headers['content-length']), img.manifest.length);
    r = await call(base, 'GET', `/v2/team/app/manifests/${img.digest}`, { headers: { Accept: OCI } });
    assert.deepEqual(r.body, img.manifest);
    r = await call(base, 'HEAD', '/v2/team/app/manifests/v1', { headers: { Accept: OCI } });
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers['docker-content-digest'], img.digest);
    assert.equal(Number(r.headers['content-length']), img.manifest.length);
    // distribution's rule: an OCI manifest is not served to a client that does not accept it.
    r = await call(base, 'GET', '/v2/team/app/manifests/v1', { headers: { Accept: DOCKER } });
    assert.equal(r.status, 404);
    assert.equal(errCode(r), 'MANIFEST_UNKNOWN');
    assert.match(r.json.errors[0].message, /OCI manifest found/);
    r = await call(base, 'GET', '/v2/team/app/manifests/v1', { headers: { Accept: '*/*' } });
    assert.equal(r.status, 200);
    r = await call(base, 'GET', '/v2/team/app/manifests/nosuch', { headers: { Accept: OCI } });
    assert.equal(r.status, 404);
    assert.equal(errCode(r), 'MANIFEST_UNKNOWN');
    r = await call(base, 'HEAD', '/v2/team/app/manifests/nosuch');
    assert.equal(r.status, 404);
    assert.equal(r.body.length, 0);
  });

  test('pull: blobs, HEAD, Range', async () => {
    let r = await call(base, 'GET', `/v2/team/app/blobs/${digestOf(layer1)}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, layer1);
    assert.equal(r.headers['docker-content-digest'], digestOf(layer1));
    r = await call(base, 'HEAD', `/v2/team/app/blobs/${digestOf(layer2)}`);
    assert.equal(r.status, 200);
    assert.equal(Number(r.headers['content-length']), layer2.length);
    assert.equal(r.body.length, 0);
    r = await call(base, 'GET', `/v2/team/app/blobs/${digestOf(layer1)}`, { headers: { Range: 'bytes=10-19' } });
    assert.equal(r.status, 206);
    assert.deepEqual(r.body, layer1.subarray(10, 20));
    assert.equal(r.headers['content-range'], `bytes 10-19/${layer1.length}`);
    r = await call(base, 'GET', `/v2/team/app/blobs/${digestOf(layer1)}`, { headers: { Range: `bytes=${layer1.length}-` } });
    assert.equal(r.status, 416);
    assert.equal(r.headers['content-range'], `bytes */${layer1.length}`);
    r = await call(base, 'GET', `/v2/team/app/blobs/sha256:${'0'.repeat(64)}`);
    assert.equal(r.status, 404);
    assert.equal(errCode(r), 'BLOB_UNKNOWN');
    // A blob of another repository is not this one's (until mounted).
    r = await call(base, 'HEAD', `/v2/other/blobs/${digestOf(layer1)}`);
    assert.equal(r.status, 404);
    r = await call(base, 'GET', `/v2/team/app/blobs/not-a-digest`);
    assert.equal(r.status, 400);
    assert.equal(errCode(r), 'DIGEST_INVALID');
  });

  test('names: invalid is 400 NAME_INVALID, unknown is 404 NAME_UNKNOWN', async () => {
    let r = await call(base, 'GET', '/v2/Bad_Name/tags/list');
    assert.equal(r.status, 400);
    assert.equal(errCode(r), 'NAME_INVALID');
    r = await call(base, 'GET', '/v2/a/_x/tags/list');
    assert.equal(errCode(r), 'NAME_INVALID');
    r = await call(base, 'GET', '/v2/nosuch/repo/tags/list');
    assert.equal(r.status, 404);
    assert.equal(errCode(r), 'NAME_UNKNOWN');
    r = await call(base, 'PUT', '/v2/team/app/manifests/-bad', { body: img.manifest, headers: { 'Content-Type': OCI } });
    assert.equal(errCode(r), 'TAG_INVALID');
    r = await call(base, 'PATCH', '/v2/team/app/manifests/v1');
    assert.equal(r.status, 405);
    assert.equal(errCode(r), 'UNSUPPORTED');
  });

  test('manifest PUT checks references, the digest and the document', async () => {
    const other = makeImage({ seed: 'missing' });
    let r = await call(base, 'PUT', '/v2/team/app/manifests/missing', { body: other.manifest, headers: { 'Content-Type': OCI } });
    assert.equal(r.status, 400);
    assert.equal(errCode(r), 'MANIFEST_BLOB_UNKNOWN');
    r = await call(base, 'PUT', `/v2/team/app/manifests/sha256:${'1'.repeat(64)}`, { body: img.manifest, headers: { 'Content-Type': OCI } });
    assert.equal(errCode(r), 'DIGEST_INVALID');
    r = await call(base, 'PUT', '/v2/team/app/manifests/junk', { body: '{"schemaVersion":2', headers: { 'Content-Type': OCI } });
    assert.equal(errCode(r), 'MANIFEST_INVALID');
    r = await call(base, 'GET', '/v2/team/app/manifests/missing', { headers: { Accept: OCI } });
    assert.equal(r.status, 404);
    // An index over a stored manifest is fine; over an unknown one it is not.
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI, digest: img.digest, size: img.manifest.length, platform: { os: 'linux', architecture: 'amd64' } }] }));
    r = await call(base, 'PUT', '/v2/team/app/manifests/multi', { body: index, headers: { 'Content-Type': OCI_INDEX } });
    assert.equal(r.status, 201, r.text);
    r = await call(base, 'GET', '/v2/team/app/manifests/multi', { headers: { Accept: OCI } });
    assert.equal(errCode(r), 'MANIFEST_UNKNOWN', 'an index is not served to a client that does not accept indexes');
    r = await call(base, 'GET', '/v2/team/app/manifests/multi', { headers: { Accept: `${OCI}, ${OCI_INDEX}` } });
    assert.equal(r.headers['content-type'], OCI_INDEX);
    const badIndex = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI, digest: other.digest, size: 1 }] }));
    r = await call(base, 'PUT', '/v2/team/app/manifests/multi2', { body: badIndex, headers: { 'Content-Type': OCI_INDEX } });
    assert.equal(errCode(r), 'MANIFEST_BLOB_UNKNOWN');
  });

  test('a Docker manifest list asked for by tag without list support gives its linux/amd64 image', async () => {
    const d = makeImage({ seed: 'docker', docker: true });
    await pushImage(base, 'dock', 'img', d);
    const list = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_LIST, manifests: [{ mediaType: DOCKER, digest: d.digest, size: d.manifest.length, platform: { os: 'linux', architecture: 'amd64' } }] }));
    let r = await call(base, 'PUT', '/v2/dock/manifests/list', { body: list, headers: { 'Content-Type': DOCKER_LIST } });
    assert.equal(r.status, 201, r.text);
    r = await call(base, 'GET', '/v2/dock/manifests/list', { headers: { Accept: DOCKER } });
    assert.equal(r.headers['content-type'], DOCKER);
    assert.equal(r.headers['docker-content-digest'], d.digest);
    r = await call(base, 'GET', '/v2/dock/manifests/list', { headers: { Accept: `${DOCKER}, ${DOCKER_LIST}` } });
    assert.equal(r.headers['content-type'], DOCKER_LIST);
    // Schema 2 itself is served whatever the Accept says, as distribution does.
    r = await call(base, 'GET', '/v2/dock/manifests/img');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], DOCKER);
  });

  test('digest mismatch → DIGEST_INVALID and nothing stored', async () => {
    const before = blobFiles(root);
    const data = Buffer.from('these bytes are not what the digest says');
    let r = await call(base, 'POST', `/v2/team/app/blobs/uploads/?digest=sha256:${'2'.repeat(64)}`, { body: data });
    assert.equal(r.status, 400);
    assert.equal(errCode(r), 'DIGEST_INVALID');
    r = await call(base, 'POST', '/v2/team/app/blobs/uploads/');
    const loc = r.headers.location as string;
    r = await call(base, 'PATCH', loc, { body: data });
    assert.equal(r.status, 202);
    r = await call(base, 'PUT', `${loc}?digest=sha256:${'3'.repeat(64)}`);
    assert.equal(r.status, 400);
    assert.equal(errCode(r), 'DIGEST_INVALID');
    r = await call(base, 'GET', loc);
    assert.equal(errCode(r), 'BLOB_UPLOAD_UNKNOWN', 'a failed upload is over');
    assert.deepEqual(blobFiles(root), before);
    assert.deepEqual(readdirSync(join(root, 'content', 'ingest')), []);
    r = await call(base, 'HEAD', `/v2/team/app/blobs/${digestOf(data)}`);
    assert.equal(r.status, 404);
    r = await call(base, 'PUT', `${loc}x?digest=${digestOf(data)}`);
    assert.equal(errCode(r), 'BLOB_UPLOAD_UNKNOWN');
  });

  test('upload cancel, and uploads belong to their repository', async () => {
    let r = await call(base, 'POST', '/v2/team/app/blobs/uploads/');
    const loc = r.headers.location as string;
    const id = r.headers['docker-upload-uuid'] as string;
    r = await call(base, 'GET', `/v2/other/blobs/uploads/${id}`);
    assert.equal(errCode(r), 'BLOB_UPLOAD_UNKNOWN');
    r = await call(base, 'DELETE', loc);
    assert.equal(r.status, 204);
    r = await call(base, 'GET', loc);
    assert.equal(r.status, 404);
    assert.equal(errCode(r), 'BLOB_UPLOAD_UNKNOWN');
    r = await call(base, 'PUT', `${loc}?digest=${digestOf('')}`);
    assert.equal(errCode(r), 'BLOB_UPLOAD_UNKNOWN');
  });

  test('cross-repository mount: 201 when the source has it, else an ordinary upload', async () => {
    let r = await call(base, 'POST', `/v2/mirror/app/blobs/uploads/?mount=${digestOf(layer1)}&from=team/app`);
    assert.equal(r.status, 201);
    assert.equal(r.headers.location, `/v2/mirror/app/blobs/${digestOf(layer1)}`);
    r = await call(base, 'HEAD', `/v2/mirror/app/blobs/${digestOf(layer1)}`);
    assert.equal(r.status, 200);
    r = await call(base, 'POST', `/v2/mirror/app/blobs/uploads/?mount=${digestOf(layer2)}&from=nosuch`);
    assert.equal(r.status, 202);
    assert.ok(r.headers['docker-upload-uuid']);
    await call(base, 'DELETE', r.headers.location as string);
  });

  test('tags list with n/last pagination and Link', async () => {
    for (const t of ['b', 'a', 'd', 'c', 'e']) {
      const r = await call(base, 'PUT', `/v2/paged/manifests/${t}`, { body: img.manifest, headers: { 'Content-Type': OCI } });
      if (r.status === 400) {
        // First time round: the blobs must be in this repository.
        await pushImage(base, 'paged', t, img);
      }
    }
    let r = await call(base, 'GET', '/v2/paged/tags/list');
    assert.deepEqual(r.json, { name: 'paged', tags: ['a', 'b', 'c', 'd', 'e'] });
    assert.equal(r.headers.link, undefined);
    r = await call(base, 'GET', '/v2/paged/tags/list?n=2');
    assert.deepEqual(r.json.tags, ['a', 'b']);
    assert.equal(r.headers.link, '</v2/paged/tags/list?n=2&last=b>; rel="next"');
    r = await call(base, 'GET', '/v2/paged/tags/list?n=2&last=b');
    assert.deepEqual(r.json.tags, ['c', 'd']);
    r = await call(base, 'GET', '/v2/paged/tags/list?n=2&last=d');
    assert.deepEqual(r.json.tags, ['e']);
    assert.equal(r.headers.link, undefined);
    r = await call(base, 'GET', '/v2/paged/tags/list?n=0');
    assert.deepEqual(r.json.tags, []);
  });

  test('catalog with pagination', async () => {
    let r = await call(base, 'GET', '/v2/_catalog');
    assert.equal(r.status, 200);
    const all: string[] = r.json.repositories;
    assert.ok(all.includes('team/app') && all.includes('paged') && all.includes('mirror/app'), JSON.stringify(all));
    assert.deepEqual(all, [...all].sort());
    r = await call(base, 'GET', '/v2/_catalog?n=1');
    assert.deepEqual(r.json.repositories, [all[0]]);
    assert.equal(r.headers.link, `</v2/_catalog?n=1&last=${encodeURIComponent(all[0])}>; rel="next"`);
    r = await call(base, 'GET', `/v2/_catalog?n=100&last=${encodeURIComponent(all[0])}`);
    assert.deepEqual(r.json.repositories, all.slice(1));
  });

  test('referrers API: subject recorded, listed, filtered, dropped on delete', async () => {
    const empty = Buffer.from('{}');
    await call(base, 'POST', `/v2/team/app/blobs/uploads/?digest=${digestOf(empty)}`, { body: empty });
    const sig = Buffer.from('signature');
    await call(base, 'POST', `/v2/team/app/blobs/uploads/?digest=${digestOf(sig)}`, { body: sig });
    const mk = (artifactType: string) => Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI, artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(empty), size: 2 },
      layers: [{ mediaType: 'application/octet-stream', digest: digestOf(sig), size: sig.length }],
      subject: { mediaType: OCI, digest: img.digest, size: img.manifest.length },
      annotations: { 'org.example': artifactType },
    }));
    const a = mk('application/vnd.example.sig');
    const b = mk('application/vnd.example.sbom');
    let r = await call(base, 'PUT', `/v2/team/app/manifests/${digestOf(a)}`, { body: a, headers: { 'Content-Type': OCI } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers['oci-subject'], img.digest);
    r = await call(base, 'PUT', `/v2/team/app/manifests/${digestOf(b)}`, { body: b, headers: { 'Content-Type': OCI } });
    assert.equal(r.status, 201);
    r = await call(base, 'GET', `/v2/team/app/referrers/${img.digest}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], OCI_INDEX);
    assert.equal(r.json.mediaType, OCI_INDEX);
    assert.deepEqual(r.json.manifests.map((d: any) => d.digest).sort(), [digestOf(a), digestOf(b)].sort());
    const da = r.json.manifests.find((d: any) => d.digest === digestOf(a));
    assert.deepEqual(da, { mediaType: OCI, digest: digestOf(a), size: a.length, artifactType: 'application/vnd.example.sig', annotations: { 'org.example': 'application/vnd.example.sig' } });
    r = await call(base, 'GET', `/v2/team/app/referrers/${img.digest}?artifactType=application/vnd.example.sbom`);
    assert.equal(r.headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual(r.json.manifests.map((d: any) => d.digest), [digestOf(b)]);
    r = await call(base, 'GET', `/v2/team/app/referrers/sha256:${'4'.repeat(64)}`);
    assert.deepEqual(r.json.manifests, []);
    r = await call(base, 'DELETE', `/v2/team/app/manifests/${digestOf(b)}`);
    assert.equal(r.status, 202);
    r = await call(base, 'GET', `/v2/team/app/referrers/${img.digest}`);
    assert.deepEqual(r.json.manifests.map((d: any) => d.digest), [digestOf(a)]);
  });

  test('concurrent uploads of the same blob all succeed and store it once', async () => {
    const data = Buffer.alloc(256 * 1024, 7);
    const d = digestOf(data);
    const one = async (i: number) => {
      const name = `race/r${i % 3}`;
      let r = await call(base, 'POST', `/v2/${name}/blobs/uploads/`);
      const loc = r.headers.location as string;
      r = await call(base, 'PATCH', loc, { body: [data.subarray(0, 100_000), data.subarray(100_000)] });
      assert.equal(r.status, 202);
      return call(base, 'PUT', `${loc}?digest=${d}`);
    };
    const mono = (i: number) => call(base, 'POST', `/v2/race/r${i}/blobs/uploads/?digest=${d}`, { body: data });
    const rs = await Promise.all([...[0, 1, 2, 3, 4, 5].map(one), ...[0, 1, 2].map(mono)]);
    assert.deepEqual(rs.map((r) => r.status), Array(9).fill(201));
    assert.equal(blobFiles(root).filter((h) => `sha256:${h}` === d).length, 1);
    for (const i of [0, 1, 2]) {
      const r = await call(base, 'GET', `/v2/race/r${i}/blobs/${d}`);
      assert.deepEqual(r.body, data);
    }
  });

  test('delete: a tag, a manifest by digest (with its tags), a blob link', async () => {
    await pushImage(base, 'del/me', 'one', img);
    await pushImage(base, 'del/me', 'two', img);
    let r = await call(base, 'DELETE', '/v2/del/me/manifests/one');
    assert.equal(r.status, 202);
    r = await call(base, 'GET', '/v2/del/me/tags/list');
    assert.deepEqual(r.json.tags, ['two']);
    r = await call(base, 'DELETE', `/v2/del/me/manifests/${img.digest}`);
    assert.equal(r.status, 202);
    r = await call(base, 'GET', '/v2/del/me/tags/list');
    assert.deepEqual(r.json.tags, []);
    r = await call(base, 'GET', `/v2/del/me/manifests/${img.digest}`, { headers: { Accept: OCI } });
    assert.equal(errCode(r), 'MANIFEST_UNKNOWN');
    r = await call(base, 'DELETE', `/v2/del/me/manifests/${img.digest}`);
    assert.equal(r.status, 404);
    r = await call(base, 'DELETE', `/v2/del/me/blobs/${digestOf(layer1)}`);
    assert.equal(r.status, 202);
    r = await call(base, 'HEAD', `/v2/del/me/blobs/${digestOf(layer1)}`);
    assert.equal(r.status, 404);
    r = await call(base, 'DELETE', `/v2/del/me/blobs/${digestOf(layer1)}`);
    assert.equal(errCode(r), 'BLOB_UNKNOWN');
    // Other repositories keep theirs.
    r = await call(base, 'GET', `/v2/team/app/blobs/${digestOf(layer1)}`);
    assert.equal(r.status, 200);
  });

  test('gc removes unreferenced blobs and keeps every manifest\'s', async () => {
    const orphan = Buffer.from('nobody refers to me');
    let r = await call(base, 'POST', `/v2/team/app/blobs/uploads/?digest=${digestOf(orphan)}`, { body: orphan });
    assert.equal(r.status, 201);
    const dry = await collectGarbage(root, { dryRun: true });
    assert.ok(dry.removed.some((x) => x.digest === digestOf(orphan)));
    assert.ok(existsSync(join(root, 'content', 'blobs', 'sha256', digestOf(orphan).slice(7))), 'dry run removes nothing');
    const rep = await collectGarbage(root);
    const removed = rep.removed.map((x) => x.digest);
    assert.ok(removed.includes(digestOf(orphan)));
    // The race test's blob is linked but no manifest names it: gone too, as in distribution.
    for (const keep of [img.digest, digestOf(img.config), digestOf(layer1), digestOf(layer2)]) assert.ok(!removed.includes(keep), keep);
    r = await call(base, 'HEAD', `/v2/team/app/blobs/${digestOf(orphan)}`);
    assert.equal(r.status, 404);
    r = await call(base, 'GET', '/v2/team/app/manifests/v1', { headers: { Accept: OCI } });
    assert.equal(r.status, 200);
    for (const l of img.layers) {
      r = await call(base, 'GET', `/v2/team/app/blobs/${digestOf(l)}`);
      assert.deepEqual(r.body, l);
    }
    const again = await collectGarbage(root);
    assert.deepEqual(again.removed, []);
  });
});

describe('registry with htpasswd basic auth', () => {
  let reg: RunningRegistry;
  let root: string;
  const auth = (u: string, p: string) => ({ Authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });

  before(async () => {
    root = tempRoot();
    writeFileSync(join(root, 'htpasswd'), `alice:${bcrypt.hashSync('s3cret', 5).replace('$2b$', '$2y$')}\n`);
    reg = await startRegistry({ root: join(root, 'data'), addr: '127.0.0.1:0', htpasswd: join(root, 'htpasswd'), log: quiet });
  });
  after(async () => {
    await reg.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('401 with a Basic challenge without or with wrong credentials, 200 with right ones', async () => {
    let r = await call(reg.url, 'GET', '/v2/');
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Basic realm="berth-registry"');
    assert.equal(errCode(r), 'UNAUTHORIZED');
    r = await call(reg.url, 'GET', '/v2/', { headers: auth('alice', 'nope') });
    assert.equal(r.status, 401);
    r = await call(reg.url, 'GET', '/v2/', { headers: auth('alice', 's3cret') });
    assert.equal(r.status, 200);
    const img = makeImage({ seed: 'basic' });
    await assert.rejects(pushImage(reg.url, 'x', 'v1', img), /401/);
    await pushImage(reg.url, 'x', 'v1', img, auth('alice', 's3cret'));
    r = await call(reg.url, 'GET', '/v2/x/manifests/v1', { headers: { Accept: OCI, ...auth('alice', 's3cret') } });
    assert.deepEqual(r.body, img.manifest);
    r = await call(reg.url, 'GET', '/token');
    assert.equal(r.status, 404, 'no token endpoint in basic mode');
  });
});

describe('registry with token auth', () => {
  let reg: RunningRegistry;
  let root: string;
  const basic = (u: string, p: string) => ({ Authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });
  const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
  const token = async (scope: string[], creds?: Record<string, string>) => {
    const q = new URLSearchParams({ service: 'berth-registry' });
    for (const s of scope) q.append('scope', s);
    const r = await call(reg.url, 'GET', `/token?${q}`, { headers: creds });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.token, r.json.access_token);
    assert.equal(typeof r.json.expires_in, 'number');
    assert.ok(!Number.isNaN(Date.parse(r.json.issued_at)));
    return r.json.token as string;
  };

  before(async () => {
    root = tempRoot();
    writeFileSync(join(root, 'htpasswd'), `bob:${bcrypt.hashSync('pw', 5)}\n`);
    reg = await startRegistry({ root: join(root, 'data'), addr: '127.0.0.1:0', htpasswd: join(root, 'htpasswd'), tokenAuth: true, log: quiet });
  });
  after(async () => {
    await reg.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('bearer challenge → token → access, per repository and action', async () => {
    let r = await call(reg.url, 'GET', '/v2/');
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], `Bearer realm="${reg.url}/token",service="berth-registry"`);
    r = await call(reg.url, 'GET', '/v2/proj/app/manifests/v1');
    assert.equal(r.headers['www-authenticate'], `Bearer realm="${reg.url}/token",service="berth-registry",scope="repository:proj/app:pull"`);
    r = await call(reg.url, 'POST', '/v2/proj/app/blobs/uploads/');
    assert.equal(r.headers['www-authenticate'], `Bearer realm="${reg.url}/token",service="berth-registry",scope="repository:proj/app:pull,push"`);

    const login = await token([], basic('bob', 'pw'));
    r = await call(reg.url, 'GET', '/v2/', { headers: bearer(login) });
    assert.equal(r.status, 200);

    const rw = await token(['repository:proj/app:pull,push'], basic('bob', 'pw'));
    const img = makeImage({ seed: 'token' });
    await pushImage(reg.url, 'proj/app', 'v1', img, bearer(rw));
    r = await call(reg.url, 'GET', '/v2/proj/app/manifests/v1', { headers: { Accept: OCI, ...bearer(rw) } });
    assert.deepEqual(r.body, img.manifest);

    // Wrong scope: a token for another repository, or pull-only for a push.
    const other = await token(['repository:other:pull'], basic('bob', 'pw'));
    r = await call(reg.url, 'GET', '/v2/proj/app/manifests/v1', { headers: { Accept: OCI, ...bearer(other) } });
    assert.equal(r.status, 401);
    assert.match(r.headers['www-authenticate'] as string, /scope="repository:proj\/app:pull",error="insufficient_scope"/);
    const ro = await token(['repository:proj/app:pull'], basic('bob', 'pw'));
    r = await call(reg.url, 'HEAD', `/v2/proj/app/blobs/${digestOf(img.config)}`, { headers: bearer(ro) });
    assert.equal(r.status, 200);
    r = await call(reg.url, 'POST', '/v2/proj/app/blobs/uploads/', { headers: bearer(ro) });
    assert.equal(r.status, 401);
    assert.equal(errCode(r), 'UNAUTHORIZED');

    // Anonymous callers get a token with nothing in it.
    const anon = await token(['repository:proj/app:pull']);
    r = await call(reg.url, 'GET', '/v2/proj/app/manifests/v1', { headers: { Accept: OCI, ...bearer(anon) } });
    assert.equal(r.status, 401);
    // Wrong password at the token endpoint.
    r = await call(reg.url, 'GET', '/token?scope=repository:proj/app:pull', { headers: basic('bob', 'bad') });
    assert.equal(r.status, 401);
    // A forged or garbage token.
    r = await call(reg.url, 'GET', '/v2/', { headers: bearer(rw.slice(0, -2) + 'xx') });
    assert.equal(r.status, 401);

    // The catalog needs registry:catalog:*.
    r = await call(reg.url, 'GET', '/v2/_catalog', { headers: bearer(rw) });
    assert.equal(r.status, 401);
    assert.match(r.headers['www-authenticate'] as string, /scope="registry:catalog:\*"/);
    const cat = await token(['registry:catalog:*'], basic('bob', 'pw'));
    r = await call(reg.url, 'GET', '/v2/_catalog', { headers: bearer(cat) });
    assert.deepEqual(r.json.repositories, ['proj/app']);

    // A mount needs pull on the source: without it the POST becomes an ordinary upload.
    const tgt = await token(['repository:mnt:pull,push'], basic('bob', 'pw'));
    r = await call(reg.url, 'POST', `/v2/mnt/blobs/uploads/?mount=${digestOf(img.config)}&from=proj/app`, { headers: bearer(tgt) });
    assert.equal(r.status, 202);
    const both = await token(['repository:mnt:pull,push', 'repository:proj/app:pull'], basic('bob', 'pw'));
    r = await call(reg.url, 'POST', `/v2/mnt/blobs/uploads/?mount=${digestOf(img.config)}&from=proj/app`, { headers: bearer(both) });
    assert.equal(r.status, 201);
  });

  test('POST /token: OAuth2 password and refresh_token grants', async () => {
    const form = (o: Record<string, string>) => ({ body: new URLSearchParams(o).toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    let r = await call(reg.url, 'POST', '/token', form({ grant_type: 'password', username: 'bob', password: 'pw', service: 'berth-registry', scope: 'repository:proj/app:pull', client_id: 'docker', access_type: 'offline' }));
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.access_token && r.json.refresh_token);
    r = await call(reg.url, 'GET', '/v2/proj/app/tags/list', { headers: bearer(r.json.access_token) });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.tags, ['v1']);
    const login = await call(reg.url, 'POST', '/token', form({ grant_type: 'password', username: 'bob', password: 'pw', access_type: 'offline', client_id: 'x' }));
    r = await call(reg.url, 'POST', '/token', form({ grant_type: 'refresh_token', refresh_token: login.json.refresh_token, scope: 'repository:proj/app:pull', client_id: 'x' }));
    assert.equal(r.status, 200, r.text);
    r = await call(reg.url, 'GET', '/v2/proj/app/tags/list', { headers: bearer(r.json.access_token) });
    assert.equal(r.status, 200);
    r = await call(reg.url, 'POST', '/token', form({ grant_type: 'password', username: 'bob', password: 'no' }));
    assert.equal(r.status, 401);
    r = await call(reg.url, 'POST', '/token', form({ grant_type: 'refresh_token', refresh_token: 'junk' }));
    assert.equal(r.status, 401);
    // An access token is not a refresh token.
    const at = await token([], basic('bob', 'pw'));
    r = await call(reg.url, 'POST', '/token', form({ grant_type: 'refresh_token', refresh_token: at }));
    assert.equal(r.status, 401);
  });
});

describe('login hardening', () => {
  const basic = (u: string, p: string) => ({ Authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });
  const form = (o: Record<string, string>) => ({ body: new URLSearchParams(o).toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  let root: string;
  before(() => {
    root = tempRoot();
    // Cost 8: some 30 ms of bcrypt per check, far above a request's own cost on loopback.
    writeFileSync(join(root, 'htpasswd'), `alice:${bcrypt.hashSync('s3cret', 8).replace('$2b$', '$2y$')}\n`);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('an unknown user name takes as long to refuse as a known one with a wrong password', async () => {
    const reg = await startRegistry({ root: join(root, 'timing'), addr: '127.0.0.1:0', htpasswd: join(root, 'htpasswd'), loginThrottle: { failures: 1e9 }, log: quiet });
    try {
      const ms = { known: 0, unknown: 0 };
      // Interleaved, so a burst of load on the machine falls on both kinds alike.
      for (let i = 0; i < 16; i++) {
        for (const [kind, user] of [['known', 'alice'], ['unknown', `nobody${i}`]] as const) {
          const t0 = performance.now();
          const r = await call(reg.url, 'GET', '/v2/', { headers: basic(user, `guess${i}`) });
          ms[kind] += performance.now() - t0;
          assert.equal(r.status, 401);
        }
      }
      // Without a bcrypt for unknown names they answer some 20 times faster.
      assert.ok(ms.unknown >= 0.5 * ms.known, `unknown users ${ms.unknown.toFixed(0)} ms, known users ${ms.known.toFixed(0)} ms`);
    } finally {
      await reg.close();
    }
  });

  test('basic auth: past the limit a client gets 429 (right password or not), others do not; the window ends it', async () => {
    const windowMs = 3000;
    const reg = await startRegistry({ root: join(root, 'throttle'), addr: '127.0.0.1:0', htpasswd: join(root, 'htpasswd'), loginThrottle: { failures: 3, windowMs }, log: quiet });
    try {
      const get = (headers: Record<string, string>, localAddress = '127.0.0.1') => call(reg.url, 'GET', '/v2/', { headers, localAddress });
      const t0 = performance.now();
      for (let i = 0; i < 3; i++) assert.equal((await get(basic('alice', `wrong${i}`))).status, 401);
      for (const creds of [basic('alice', 'wrong'), basic('mallory', 'x'), basic('alice', 's3cret')]) {
        const r = await get(creds);
        assert.equal(r.status, 429);
        assert.equal(errCode(r), 'TOOMANYREQUESTS');
        assert.match(String(r.headers['retry-after']), /^[1-3]$/);
      }
      // Without credentials there is no login attempt to refuse: the usual challenge.
      assert.equal((await get({})).status, 401);
      // Another client: its own count.
      assert.equal((await get(basic('alice', 's3cret'), '127.0.0.2')).status, 200);
      assert.equal((await get(basic('alice', 'wrong'), '127.0.0.2')).status, 401);
      // Successful logins do not count (nor do the cached ones a push sends with every request).
      for (let i = 0; i < 5; i++) assert.equal((await get(basic('alice', 's3cret'), '127.0.0.3')).status, 200);
      assert.equal((await get(basic('alice', 'wrong1'), '127.0.0.3')).status, 401);
      for (let i = 0; i < 5; i++) assert.equal((await get(basic('alice', 's3cret'), '127.0.0.3')).status, 200);
      assert.equal((await get(basic('alice', 'wrong2'), '127.0.0.3')).status, 401);
      assert.equal((await get(basic('alice', 'wrong3'), '127.0.0.3')).status, 401);
      assert.equal((await get(basic('alice', 's3cret'), '127.0.0.3')).status, 429);
      // Recovery: the first client gets in once its window is over, not before.
      let status = 429;
      for (let i = 0; i < 100 && status === 429; i++) {
        await new Promise((r) => setTimeout(r, 200));
        status = (await get(basic('alice', 's3cret'))).status;
        if (status === 429) continue;
        assert.ok(performance.now() - t0 >= windowMs, 'not before the window ends');
      }
      assert.equal(status, 200);
      assert.equal((await get(basic('alice', 'wrong'))).status, 401);
    } finally {
      await reg.close();
    }
  });

  test('the token endpoint counts failed logins too (GET with Basic, POST password grant)', async () => {
    const reg = await startRegistry({ root: join(root, 'token'), addr: '127.0.0.1:0', htpasswd: join(root, 'htpasswd'), tokenAuth: true, loginThrottle: { failures: 3, windowMs: 60_000 }, log: quiet });
    try {
      assert.equal((await call(reg.url, 'GET', '/token?scope=repository:a:pull', { headers: basic('alice', 'x1') })).status, 401);
      assert.equal((await call(reg.url, 'POST', '/token', form({ grant_type: 'password', username: 'alice', password: 'x2' }))).status, 401);
      assert.equal((await call(reg.url, 'GET', '/token', { headers: basic('nobody', 'x3') })).status, 401);
      let r = await call(reg.url, 'GET', '/token', { headers: basic('alice', 's3cret') });
      assert.equal(r.status, 429);
      assert.equal(errCode(r), 'TOOMANYREQUESTS');
      r = await call(reg.url, 'POST', '/token', form({ grant_type: 'password', username: 'alice', password: 's3cret' }));
      assert.equal(r.status, 429);
      // Anonymous tokens are no login attempt; another client logs in.
      assert.equal((await call(reg.url, 'GET', '/token?scope=repository:a:pull')).status, 200);
      r = await call(reg.url, 'GET', '/token', { headers: basic('alice', 's3cret'), localAddress: '127.0.0.2' });
      assert.equal(r.status, 200, r.text);
    } finally {
      await reg.close();
    }
  });
});

describe('token auth without htpasswd', () => {
  let reg: RunningRegistry;
  let root: string;
  const img = makeImage({ seed: 'public' });
  const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
  const token = async (scope: string, headers: Record<string, string> = {}) => {
    const r = await call(reg.url, 'GET', `/token?service=berth-registry&scope=${scope}`, { headers });
    assert.equal(r.status, 200, r.text);
    return r.json.token as string;
  };

  before(async () => {
    root = tempRoot();
    // Seeded by an open registry on the same root: with token auth and no users, no one can push.
    const open = await startRegistry({ root, addr: '127.0.0.1:0', log: quiet });
    try { await pushImage(open.url, 'pub/app', 'v1', img); } finally { await open.close(); }
    reg = await startRegistry({ root, addr: '127.0.0.1:0', tokenAuth: true, log: quiet });
  });
  after(async () => {
    await reg.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('anonymous users may pull, but not push or delete', async () => {
    // What docker asks for a push: pull,push; it gets pull only.
    const t = await token('repository:pub/app:pull,push,delete', { Authorization: 'Basic ' + Buffer.from('anyone:anything').toString('base64') });
    let r = await call(reg.url, 'GET', '/v2/pub/app/manifests/v1', { headers: { Accept: OCI, ...bearer(t) } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, img.manifest);
    r = await call(reg.url, 'GET', `/v2/pub/app/blobs/${digestOf(img.layers[0])}`, { headers: bearer(t) });
    assert.deepEqual(r.body, img.layers[0]);

    const refused = (r: Reply) => {
      assert.equal(r.status, 401, r.text);
      assert.equal(errCode(r), 'UNAUTHORIZED');
      assert.match(r.headers['www-authenticate'] as string, /error="insufficient_scope"/);
    };
    const blob = Buffer.from('anonymous write');
    refused(await call(reg.url, 'POST', `/v2/pub/app/blobs/uploads/?digest=${digestOf(blob)}`, { body: blob, headers: bearer(t) }));
    refused(await call(reg.url, 'POST', '/v2/pub/new/blobs/uploads/', { headers: bearer(t) }));
    refused(await call(reg.url, 'PUT', '/v2/pub/app/manifests/v2', { body: img.manifest, headers: { 'Content-Type': img.mediaType, ...bearer(t) } }));
    refused(await call(reg.url, 'DELETE', `/v2/pub/app/manifests/${img.digest}`, { headers: bearer(t) }));
    refused(await call(reg.url, 'DELETE', `/v2/pub/app/blobs/${digestOf(img.config)}`, { headers: bearer(t) }));
    // A token asked for `*` gets nothing either; the catalog stays closed.
    const star = await token('repository:pub/app:*');
    refused(await call(reg.url, 'DELETE', `/v2/pub/app/manifests/${img.digest}`, { headers: bearer(star) }));
    refused(await call(reg.url, 'GET', '/v2/_catalog', { headers: bearer(await token('registry:catalog:*')) }));
    // Nothing changed.
    r = await call(reg.url, 'GET', '/v2/pub/app/tags/list', { headers: bearer(t) });
    assert.deepEqual(r.json.tags, ['v1']);
    r = await call(reg.url, 'HEAD', `/v2/pub/app/manifests/${img.digest}`, { headers: { Accept: OCI, ...bearer(t) } });
    assert.equal(r.status, 200);
    assert.equal(reg.auth, 'token (no users; anonymous: pull)');
  });
});

describe('start-up warnings', () => {
  test('listening beyond loopback without TLS or without users warns, naming what is missing', async () => {
    const dir = tempRoot();
    try {
      writeFileSync(join(dir, 'htpasswd'), `alice:${bcrypt.hashSync('pw', 4)}\n`);
      const start = async (o: Partial<Parameters<typeof startRegistry>[0]>) => {
        const lines: string[] = [];
        const reg = await startRegistry({ root: join(dir, 'data'), addr: '0.0.0.0:0', ...o, log: (l) => lines.push(l) });
        await reg.close();
        return { lines, port: new URL(reg.url).port };
      };
      let { lines, port } = await start({});
      assert.deepEqual(lines, [
        `warning: listening on 0.0.0.0:${port} without TLS (--tls-cert, --tls-key): credentials, tokens and images cross the network in clear text`,
        `warning: listening on 0.0.0.0:${port} without authentication (--htpasswd): anyone who can reach it may pull, push and delete`,
      ]);
      ({ lines, port } = await start({ htpasswd: join(dir, 'htpasswd') }));
      assert.deepEqual(lines, [`warning: listening on 0.0.0.0:${port} without TLS (--tls-cert, --tls-key): credentials, tokens and images cross the network in clear text`]);
      ({ lines, port } = await start({ tokenAuth: true }));
      assert.equal(lines.length, 2);
      assert.equal(lines[1], `warning: listening on 0.0.0.0:${port} with token auth but no users (--htpasswd): anyone who can reach it may pull`);
      assert.deepEqual((await start({ addr: '127.0.0.1:0' })).lines, [], 'loopback: no warning');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('exposureWarnings: TLS and users, each named when missing', () => {
    const w = (o: Partial<Parameters<typeof exposureWarnings>[0]>) =>
      exposureWarnings({ address: '192.0.2.1', listen: '192.0.2.1:5000', tls: true, mode: 'basic', users: true, anonymous: [], ...o });
    assert.deepEqual(w({}), []);
    assert.deepEqual(w({ address: '::1' }), []);
    assert.deepEqual(w({ address: '::ffff:127.0.0.1', tls: false, mode: 'none' }), []);
    assert.match(w({ tls: false }).join('\n'), /^warning: listening on 192\.0\.2\.1:5000 without TLS \(--tls-cert, --tls-key\)/);
    assert.deepEqual(w({ address: '::', mode: 'none' }), ['warning: listening on 192.0.2.1:5000 without authentication (--htpasswd): anyone who can reach it may pull, push and delete']);
    assert.deepEqual(w({ mode: 'token', users: true, anonymous: [] }), []);
    assert.deepEqual(w({ mode: 'token', users: true, anonymous: ['pull'] }), []);
    assert.deepEqual(w({ mode: 'token', users: true, anonymous: ['pull', 'push'] }), ['warning: listening on 192.0.2.1:5000: anonymous users may pull, push (anonymousActions)']);
    assert.deepEqual(w({ mode: 'token', users: false, anonymous: ['*'] }), ['warning: listening on 192.0.2.1:5000 with token auth but no users (--htpasswd): anyone who can reach it may pull, push, delete']);
  });
});

describe('registry over TLS', () => {
  test('serves HTTPS with the given certificate', async (t) => {
    const dir = tempRoot();
    try {
      const reg = await startTlsRegistry(dir);
      if (!reg) {
        t.skip('openssl not available');
        return;
      }
      try {
        assert.match(reg.url, /^https:\/\/127\.0\.0\.1:\d+$/);
        const ca = readFileSync(join(dir, 'cert.pem'));
        const r = await call(reg.url, 'GET', '/v2/', { ca });
        assert.equal(r.status, 200);
        await assert.rejects(call(reg.url, 'GET', '/v2/'), /self[- ]signed|unable to verify/i);
      } finally {
        await reg.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('upload storage across a restart', () => {
  test('an upload begun before a restart is verified by the content store\'s ingest', async () => {
    const root = tempRoot();
    try {
      const data = Buffer.alloc(70_000, 3);
      const a = new FsRegistryStorage(root);
      await a.init();
      const up = await a.startUpload('r');
      await a.appendUpload('r', up.id, Readable.from([data.subarray(0, 30_000)]), { start: 0 });
      // A new process: no running digest in memory, the spool file is all there is.
      const b = new FsRegistryStorage(root);
      await b.init();
      await b.appendUpload('r', up.id, Readable.from([data.subarray(30_000)]), { start: 30_000 });
      assert.equal((await b.getUpload('r', up.id)).size, data.length);
      await assert.rejects(b.finishUpload('r', up.id, `sha256:${'5'.repeat(64)}`), (e: any) => e.code === 'DIGEST_INVALID');
      const up2 = await a.startUpload('r');
      await a.appendUpload('r', up2.id, Readable.from([data]));
      const c = new FsRegistryStorage(root);
      const info = await c.finishUpload('r', up2.id, digestOf(data));
      assert.deepEqual(info, { digest: digestOf(data), size: data.length });
      assert.deepEqual((await c.statBlob('r', digestOf(data)))?.size, data.length);
      // And the fast path, for comparison: same result.
      const up3 = await c.startUpload('s');
      await c.appendUpload('s', up3.id, Readable.from([data]));
      assert.deepEqual(await c.finishUpload('s', up3.id, digestOf(data)), info);
      assert.deepEqual(readdirSync(join(root, 'uploads')), []);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
