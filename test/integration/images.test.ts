// Images through the API: import (tar and gzip, changes), tag, list filters, inspect, history,
// rmi's untag/delete rules, reference normalisation, and garbage collection of layers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, busyboxRootfsTar, type Daemon } from './harness.ts';

let d: Daemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

const q = (o: unknown) => encodeURIComponent(JSON.stringify(o));

test('busybox is imported with its config; names normalise like docker', async () => {
  const i = await d.api('GET', '/images/busybox/json');
  assert.equal(i.status, 200);
  const img = i.json();
  assert.match(img.Id, /^sha256:[a-f0-9]{64}$/);
  assert.deepEqual(img.RepoTags, ['busybox:latest']);
  assert.deepEqual(img.Config.Cmd, ['sh']);
  assert.equal(img.RootFS.Layers.length, 1);
  assert.equal(img.Os, 'linux');
  for (const ref of ['busybox:latest', 'docker.io/library/busybox', 'docker.io/library/busybox:latest', 'library/busybox', img.Id, img.Id.slice(7, 19)]) {
    const r = await d.api('GET', `/images/${ref}/json`);
    assert.equal(r.status, 200, ref);
    assert.equal(r.json().Id, img.Id);
  }
  assert.equal((await d.api('GET', '/images/nosuch/json')).status, 404);
  assert.equal((await d.api('GET', '/images/NotLower/json')).status, 404);
});

test('import gzip with changes and message; image ID is the config digest', async () => {
  const r = await d.api('POST', `/images/create?fromSrc=-&repo=localhost:5000/team/app&tag=v1&message=hi&changes=${encodeURIComponent('ENV A=1 B=two')}&changes=${encodeURIComponent('ENTRYPOINT ["/bin/echo"]')}&changes=${encodeURIComponent('WORKDIR /tmp')}`, gzipSync(busyboxRootfsTar()), { 'Content-Type': 'application/x-tar' });
  assert.equal(r.status, 200);
  const id = JSON.parse(r.body.toString().trim().split('\n').pop()!).status;
  const img = (await d.api('GET', '/images/localhost:5000/team/app:v1/json')).json();
  assert.equal(img.Id, id);
  assert.ok(img.Config.Env.includes('A=1') && img.Config.Env.includes('B=two'));
  assert.deepEqual(img.Config.Entrypoint, ['/bin/echo']);
  assert.equal(img.Config.WorkingDir, '/tmp');
  assert.equal(img.Comment, 'hi');
  // Same layer content: the unpacked layer is shared (one layer dir for both images).
  const layers = readdirSync(join(d.dataRoot, 'overlay', 'l')).filter((n) => !n.startsWith('.'));
  assert.equal(layers.length, 1);
  const c = await d.api('POST', '/containers/create', { Image: 'localhost:5000/team/app:v1', Cmd: ['hello', 'world'] });
  assert.equal(c.status, 201);
  const cid = c.json().Id;
  await d.api('POST', `/containers/${cid}/start`);
  await d.api('POST', `/containers/${cid}/wait`);
  const logs = (await d.api('GET', `/containers/${cid}/logs?stdout=1`)).body;
  assert.equal(logs.subarray(8).toString(), 'hello world\n');
  await d.api('DELETE', `/containers/${cid}`);
});

test('tag, list filters, history, rmi rules and GC', async () => {
  assert.equal((await d.api('POST', '/images/busybox/tag?repo=mybox&tag=1')).status, 201);
  assert.equal((await d.api('POST', '/images/busybox/tag?repo=mybox&tag=2')).status, 201);
  const bad = await d.api('POST', '/images/busybox/tag?repo=Bad&tag=1');
  assert.equal(bad.status, 400);
  const list = (await d.api('GET', `/images/json?filters=${q({ reference: ['mybox'] })}`)).json() as any[];
  assert.equal(list.length, 1);
  assert.deepEqual(list[0].RepoTags.sort(), ['mybox:1', 'mybox:2']); // only the matching tags, as Docker
  const h = (await d.api('GET', '/images/mybox:1/history')).json() as any[];
  assert.equal(h.length, 1);
  assert.match(h[0].Comment, /Imported from/);
  // By ID while referenced in several repositories: 409 unless forced.
  const id = list[0].Id;
  const c409 = await d.api('DELETE', `/images/${id.slice(7, 19)}`);
  assert.equal(c409.status, 409);
  assert.match(c409.json().message, /referenced in multiple repositories/);
  // By name: untag only.
  const un = (await d.api('DELETE', '/images/mybox:1')).json();
  assert.deepEqual(un, [{ Untagged: 'mybox:1' }]);
  // An image used by a container: must force.
  await d.api('POST', '/images/create?fromSrc=-&repo=lonely', gzipSync(Buffer.concat([busyboxRootfsTar()])), { 'Content-Type': 'application/x-tar' });
  const lonely = (await d.api('GET', '/images/lonely/json')).json().Id;
  const cid = (await d.api('POST', '/containers/create', { Image: 'lonely', Cmd: ['true'] })).json().Id;
  const inUse = await d.api('DELETE', '/images/lonely');
  assert.equal(inUse.status, 409);
  assert.match(inUse.json().message, /must force/);
  await d.api('DELETE', `/containers/${cid}`);
  const del = (await d.api('DELETE', '/images/lonely')).json() as any[];
  assert.deepEqual(del, [{ Untagged: 'lonely:latest' }, { Deleted: lonely }]);
  assert.equal((await d.api('GET', `/images/${lonely}/json`)).status, 404);
  // Dangling filter.
  const dangling = (await d.api('GET', `/images/json?filters=${q({ dangling: ['true'] })}`)).json() as any[];
  assert.ok(dangling.every((i) => i.RepoTags.length === 0));
});

test('corrupt import (truncated tar) changes nothing', async () => {
  const before = (await d.api('GET', '/images/json')).json().length;
  const blobsBefore = readdirSync(join(d.dataRoot, 'content', 'blobs', 'sha256')).length;
  const tar = busyboxRootfsTar();
  const r = await d.api('POST', '/images/create?fromSrc=-&repo=broken', gzipSync(tar).subarray(0, 20000), { 'Content-Type': 'application/x-tar' });
  assert.match(r.body.toString(), /error/);
  assert.equal((await d.api('GET', '/images/json')).json().length, before);
  assert.equal((await d.api('GET', '/images/broken/json')).status, 404);
  assert.ok(readdirSync(join(d.dataRoot, 'overlay', 'l')).every((n) => !n.startsWith('.tmp')));
  assert.ok(readdirSync(join(d.dataRoot, 'content', 'blobs', 'sha256')).length <= blobsBefore + 1);
});

test('pull from an unreachable registry fails at once with a clear message', async () => {
  // (pull itself is tested in pull-push.test.ts; a closed loopback port keeps this off the network)
  const t0 = Date.now();
  const r = await d.api('POST', '/images/create?fromImage=127.0.0.1:9/alpine&tag=3');
  assert.ok(r.status >= 400);
  assert.match(r.json().message, /connection refused/);
  assert.ok(Date.now() - t0 < 2000);
});

test('API version prefixes /v1.24 to /v1.47 are served and gate image fields as moby does', async () => {
  for (const v of ['1.24', '1.25', '1.30', '1.41', '1.43', '1.44', '1.45', '1.47']) {
    const r = await d.api('GET', `/v${v}/images/busybox/json`);
    assert.equal(r.status, 200, v);
  }
  const old = await d.api('GET', '/v1.23/images/busybox/json');
  assert.equal(old.status, 400);
  assert.match(old.json().message, /client version 1.23 is too old\. Minimum supported API version is 1.24/);
  const neu = await d.api('GET', '/v1.48/images/busybox/json');
  assert.equal(neu.status, 400);
  assert.match(neu.json().message, /client version 1.48 is too new\. Maximum supported API version is 1.47/);

  const v43 = (await d.api('GET', '/v1.43/images/busybox/json')).json();
  const v44 = (await d.api('GET', '/v1.44/images/busybox/json')).json();
  const v47 = (await d.api('GET', '/v1.47/images/busybox/json')).json();
  // VirtualSize left the API in 1.44.
  assert.equal(v43.VirtualSize, v43.Size);
  assert.ok(!('VirtualSize' in v44) && !('VirtualSize' in v47));
  // ContainerConfig is there at every version (docker-compose 1.29 reads it, negotiating 1.47):
  // a zero container config for an imported image, in container.Config's shape.
  for (const img of [v43, v47]) {
    assert.equal(img.Container, '');
    assert.deepEqual(Object.keys(img.ContainerConfig), ['Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce', 'Env', 'Cmd', 'Image', 'Volumes', 'WorkingDir', 'Entrypoint', 'OnBuild', 'Labels']);
    assert.equal(img.ContainerConfig.Volumes, null);
  }
  // Config has every field Docker's container.Config marshals without omitempty.
  assert.deepEqual(v47.Config.Cmd, ['sh']);
  for (const k of ['Hostname', 'Domainname', 'User', 'AttachStdin', 'Tty', 'Env', 'Image', 'Volumes', 'WorkingDir', 'Entrypoint', 'OnBuild', 'Labels']) assert.ok(k in v47.Config, k);

  // A commit records the container and its config (ContainerConfig), as Docker's commit does.
  const cid = (await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], Volumes: { '/vol': {} }, Labels: { a: 'b' } })).json().Id;
  const com = await d.api('POST', `/commit?container=${cid}&repo=committed`, {});
  assert.equal(com.status, 201);
  const ci = (await d.api('GET', '/v1.41/images/committed/json')).json();
  assert.equal(ci.Container, cid);
  assert.deepEqual(ci.ContainerConfig.Volumes, { '/vol': {} });
  assert.deepEqual(ci.ContainerConfig.Cmd, ['true']);
  await d.api('DELETE', `/containers/${cid}?v=1`);
  await d.api('DELETE', '/images/committed');

  // Image lists: VirtualSize before 1.44; before 1.43 an untagged image is `<none>:<none>`.
  const cid2 = (await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'] })).json().Id;
  const dangling = (await d.api('POST', `/commit?container=${cid2}`, {})).json().Id;
  await d.api('DELETE', `/containers/${cid2}`);
  const l42 = ((await d.api('GET', '/v1.42/images/json')).json() as any[]).find((i) => i.Id === dangling);
  assert.deepEqual([l42.RepoTags, l42.RepoDigests, l42.VirtualSize], [['<none>:<none>'], ['<none>@<none>'], l42.Size]);
  const l43 = ((await d.api('GET', '/v1.43/images/json')).json() as any[]).find((i) => i.Id === dangling);
  assert.deepEqual([l43.RepoTags, l43.RepoDigests, l43.VirtualSize], [[], [], l43.Size]);
  const l47 = ((await d.api('GET', '/images/json')).json() as any[]).find((i) => i.Id === dangling);
  assert.ok(!('VirtualSize' in l47));
  // Containers: not counted in a list (-1, as dockerd before API 1.51); system df counts.
  assert.equal(l47.Containers, -1);
  assert.ok((await d.api('GET', '/system/df?type=image')).json().Images.every((i: { Containers: number }) => i.Containers >= 0));
  // system df's `type` is API 1.42's: an older client gets every kind.
  assert.deepEqual(Object.keys((await d.api('GET', '/v1.41/system/df?type=image')).json()).sort(), ['BuildCache', 'Containers', 'Images', 'LayersSize', 'Volumes']);
  assert.deepEqual(Object.keys((await d.api('GET', '/v1.42/system/df?type=image')).json()).sort(), ['Images', 'LayersSize']);
  const df43 = (await d.api('GET', '/v1.43/system/df?type=image')).json();
  assert.ok(df43.Images.every((i: { Size: number; VirtualSize: number }) => i.VirtualSize === i.Size));
  assert.ok((await d.api('GET', '/system/df?type=image')).json().Images.every((i: object) => !('VirtualSize' in i)));
  // API 1.24 clients send the reference glob as `filter`.
  const f24 = (await d.api('GET', '/v1.24/images/json?filter=busy*')).json() as any[];
  assert.deepEqual(f24.map((i) => i.RepoTags).flat(), ['busybox:latest']);
  await d.api('DELETE', `/images/${dangling}`);
});
