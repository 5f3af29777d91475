// The volumes router against a fake backend (src/api/inject.ts).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { conflict, notFound } from '../../../common/errors.ts';
import type { Filters } from '../../../common/filters.ts';
import type { CreateVolumeOptions, Volume } from '../../types/volume.ts';
import { injector } from '../../inject.ts';
import type { VolumesBackend } from './backend.ts';
import { volumeRoutes } from './routes.ts';

const vol = (Name: string): Volume => ({ Name, Driver: 'local', Mountpoint: `/v/${Name}/_data`, CreatedAt: '2026-01-01T00:00:00Z', Labels: null, Scope: 'local', Options: null });
const seen: { op: string; arg: unknown }[] = [];
const backend: VolumesBackend = {
  list: (f: Filters) => { seen.push({ op: 'list', arg: f.toJSON() }); return [vol('data')]; },
  get: (n) => { if (n !== 'data') throw notFound(`get ${n}: no such volume`); return vol(n); },
  create: async (o: CreateVolumeOptions) => { seen.push({ op: 'create', arg: o }); return vol(o.Name ?? 'anon'); },
  remove: async (n, o) => { if (n === 'used' && !o.force) throw conflict('remove used: volume is in use'); seen.push({ op: 'remove', arg: [n, o] }); },
  prune: async (f: Filters) => { seen.push({ op: 'prune', arg: f.toJSON() }); return { VolumesDeleted: [], SpaceReclaimed: 0 }; },
};

const api = await injector(volumeRoutes(backend));
after(() => api.close());

test('GET /volumes: the filters reach the engine parsed; unknown ones 400; Warnings null', async () => {
  seen.length = 0;
  let r = await api.request('GET', '/volumes?filters=' + encodeURIComponent('{"dangling":["true"],"label":["a=b"]}'));
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { Volumes: [vol('data')], Warnings: null });
  assert.deepEqual(seen, [{ op: 'list', arg: { dangling: { true: true }, label: { 'a=b': true } } }]);
  r = await api.request('GET', '/volumes?filters=' + encodeURIComponent('{"colour":["red"]}'));
  assert.equal(r.status, 400);
  assert.equal((await api.request('GET', '/volumes/data')).status, 200);
  assert.equal((await api.request('GET', '/volumes/nope')).status, 404);
});

test('POST /volumes/create: 201, an empty body allowed; wrong field types 400 with Go\'s texts', async () => {
  seen.length = 0;
  let r = await api.request('POST', '/volumes/create', { body: { Name: 'x', Labels: { a: 'b' } } });
  assert.equal(r.status, 201);
  assert.equal(r.json().Name, 'x');
  r = await api.request('POST', '/volumes/create');
  assert.equal(r.status, 201);
  assert.deepEqual(seen.map((s) => s.arg), [{ Name: 'x', Driver: undefined, DriverOpts: undefined, Labels: { a: 'b' } }, { Name: undefined, Driver: undefined, DriverOpts: undefined, Labels: undefined }]);
  r = await api.request('POST', '/volumes/create', { body: { Name: 5 } });
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { message: 'json: cannot unmarshal into Go struct field CreateOptions.Name of type string' });
  assert.equal((await api.request('POST', '/volumes/create', { body: { Labels: { a: 1 } } })).status, 400);
});

test('DELETE /volumes/{name}: 204; 409 in use unless force=1/true; 404 unknown', async () => {
  seen.length = 0;
  assert.equal((await api.request('DELETE', '/volumes/used')).status, 409);
  assert.equal((await api.request('DELETE', '/volumes/used?force=1')).status, 204);
  assert.equal((await api.request('DELETE', '/volumes/used?force=true')).status, 204);
  assert.equal((await api.request('DELETE', '/volumes/used?force=false')).status, 409);
  assert.deepEqual(seen.map((s) => s.arg), [['used', { force: true }], ['used', { force: true }]]);
});

test('POST /volumes/prune: before API 1.42 every unused volume (all=true added); from 1.42 as asked', async () => {
  seen.length = 0;
  assert.equal((await api.request('POST', '/v1.41/volumes/prune')).status, 200);
  assert.equal((await api.request('POST', '/v1.42/volumes/prune')).status, 200);
  assert.equal((await api.request('POST', '/v1.47/volumes/prune?filters=' + encodeURIComponent('{"label":["x"]}'))).status, 200);
  assert.deepEqual(seen.map((s) => s.arg), [{ all: { true: true } }, {}, { label: { x: true } }]);
  assert.equal((await api.request('POST', '/volumes/prune?filters=' + encodeURIComponent('{"dangling":["true"]}'))).status, 400);
});
