import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refMatches } from './routes.ts';

test('reference filter: a glob over the familiar name, with or without its tag', () => {
  const refs = ['docker.io/library/busybox:latest', 'quay.io/team/app:1.2'];
  for (const [p, want] of [['busybox', true], ['busy*', true], ['busybox:latest', true], ['*:latest', true], ['quay.io/*/app', true],
    ['quay.io/*', false], ['b?sybox', false], ['*box:1.2', false], ['docker.io/library/busybox:latest', true]] as const) {
    assert.equal(refMatches(p, refs), want, p);
  }
});

test('reference filter: many stars against a long name answer in linear time (the bug class the fuzz tests found)', () => {
  const t0 = Date.now();
  assert.equal(refMatches('*a*a*a*a*a*a*a*a*a*a*b', [`docker.io/library/${'a'.repeat(120)}:latest`]), false);
  assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
});

// ------------------------------------------------------------- the router over a fake backend

import { after } from 'node:test';
import { notFound, conflict } from '../../../common/errors.ts';
import type { ImageRecord } from '../../../engine/images.ts';
import type { ImageConfigFile } from '../../types/image.ts';
import { injector } from '../../inject.ts';
import type { ImagesBackend } from './backend.ts';
import { imageRoutes } from './routes.ts';

const TAGGED: ImageRecord = { id: 'sha256:' + '1'.repeat(64), manifest: 'sha256:m1', layers: [], size: 100 };
const DANGLING: ImageRecord = { id: 'sha256:' + '2'.repeat(64), manifest: 'sha256:m2', layers: [], size: 50 };
const configOf = (created: string): ImageConfigFile => ({ architecture: 'amd64', os: 'linux', created, rootfs: { type: 'layers', diff_ids: [] }, config: { Labels: { a: 'b' } } } as ImageConfigFile);
const pulls: string[] = [];
const imagesBackend = {
  all: () => [TAGGED, DANGLING],
  refsOf: (id: string) => (id === TAGGED.id ? ['docker.io/library/busybox:latest'] : []),
  config: async (id: string) => configOf(id === TAGGED.id ? '2026-01-02T00:00:00Z' : '2026-01-01T00:00:00Z'),
  resolve: (ref: string) => { if (ref === 'busybox') return TAGGED; throw notFound(`No such image: ${ref}`); },
  containersUsing: () => 0,
  tag: async (src: string) => { if (src !== 'busybox') throw notFound(`No such image: ${src}`); },
  remove: async (n: string, o: { force?: boolean }) => { if (!o.force) throw conflict(`conflict: unable to remove repository reference "${n}" (must force)`); return [{ Untagged: n }]; },
  // A pull that reports one layer, then fails: past the point of no return, the error is in the stream.
  pull: async (ref: string, _tag: string | undefined, onProgress: (m: Record<string, unknown>) => void) => {
    pulls.push(ref);
    if (ref === 'missing') throw notFound('manifest for missing:latest not found: manifest unknown');
    onProgress({ status: 'Pulling fs layer', id: 'abc' });
    throw new Error('unexpected EOF');
  },
} as Partial<ImagesBackend> as ImagesBackend;

const api = await injector(imageRoutes(imagesBackend));
after(() => api.close());

test('GET /images/json: dangling filter and its values; <none> tags and VirtualSize for old clients only', async () => {
  let r = await api.request('GET', '/v1.47/images/json?filters=' + encodeURIComponent('{"dangling":["true"]}'));
  assert.equal(r.status, 200);
  assert.deepEqual(r.json().map((i: { Id: string }) => i.Id), [DANGLING.id]);
  assert.deepEqual(r.json()[0].RepoTags, []);
  assert.equal('VirtualSize' in r.json()[0], false);
  r = await api.request('GET', '/v1.42/images/json?filters=' + encodeURIComponent('{"dangling":["1"]}'));
  assert.deepEqual(r.json()[0].RepoTags, ['<none>:<none>']);
  assert.equal(r.json()[0].VirtualSize, 50);
  r = await api.request('GET', '/images/json?filters=' + encodeURIComponent('{"dangling":["maybe"]}'));
  assert.equal(r.status, 400);
  assert.equal((await api.request('GET', '/images/json?filters=' + encodeURIComponent('{"colour":["red"]}'))).status, 400);
  // Newest first; API 1.24's `filter` is a reference filter.
  r = await api.request('GET', '/images/json');
  assert.deepEqual(r.json().map((i: { Id: string }) => i.Id), [TAGGED.id, DANGLING.id]);
  r = await api.request('GET', '/v1.24/images/json?filter=busy*');
  assert.deepEqual(r.json().map((i: { RepoTags: string[] }) => i.RepoTags), [['busybox:latest']]);
  r = await api.request('GET', '/v1.47/images/json?filter=busy*');
  assert.equal(r.json().length, 2);
  assert.equal((await api.request('GET', '/images/json?filters=' + encodeURIComponent('{"since":["nope"]}'))).status, 404);
});

test('POST /images/{name}/tag 201, DELETE /images/{name} 200 (409 without force), 404 unknown', async () => {
  assert.equal((await api.request('POST', '/images/busybox/tag?repo=me/box&tag=1')).status, 201);
  assert.equal((await api.request('POST', '/images/busybox/tag')).status, 400);
  assert.equal((await api.request('POST', '/images/nope/tag?repo=x')).status, 404);
  assert.equal((await api.request('DELETE', '/images/busybox')).status, 409);
  const r = await api.request('DELETE', '/images/busybox?force=true');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), [{ Untagged: 'busybox' }]);
});

test('POST /images/create: 400 without a source or with a bad reference; an error before any progress is an HTTP error, after it a message in the stream', async () => {
  assert.equal((await api.request('POST', '/images/create')).status, 400);
  assert.equal((await api.request('POST', '/images/create?fromImage=UPPER')).status, 400);
  let r = await api.request('POST', '/images/create?fromImage=missing');
  assert.equal(r.status, 404);
  assert.deepEqual(r.json(), { message: 'manifest for missing:latest not found: manifest unknown' });
  r = await api.request('POST', '/images/create?fromImage=busybox&tag=latest');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.deepEqual(r.lines(), [{ status: 'Pulling fs layer', id: 'abc' }, { errorDetail: { message: 'unexpected EOF' }, error: 'unexpected EOF' }]);
  assert.deepEqual(pulls, ['missing', 'busybox']);
});
