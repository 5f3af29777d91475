// Store behaviour end to end: garbage collection of unused layers and blobs (mark and sweep),
// path-safe import of a hostile tarball, and a full disk leaving nothing half-written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import tar from 'tar-stream';
import { startDaemon } from './harness.ts';

function makeTar(entries: { name: string; type?: 'file' | 'symlink' | 'directory'; body?: string; linkname?: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname });
    else if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory', mode: 0o755 });
    else pack.entry({ name: e.name, mode: 0o644 }, e.body ?? '');
  }
  pack.finalize();
  return new Promise((res, rej) => {
    const chunks: Buffer[] = [];
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    pack.on('end', () => res(Buffer.concat(chunks)));
    pack.on('error', rej);
  });
}

const layerDirs = (root: string) => readdirSync(join(root, 'overlay', 'l')).filter((n) => !n.startsWith('.'));
const blobs = (root: string) => readdirSync(join(root, 'content', 'blobs', 'sha256'));

test('removing the last image using a layer collects the layer and its blobs', async () => {
  const d = await startDaemon();
  try {
    const layers0 = layerDirs(d.dataRoot).length;
    const blobs0 = blobs(d.dataRoot).length;
    const t = await makeTar([{ name: 'hello.txt', body: 'unique content' }]);
    const r = await d.api('POST', '/images/create?fromSrc=-&repo=unique', t, { 'Content-Type': 'application/x-tar' });
    assert.equal(r.status, 200);
    assert.equal(layerDirs(d.dataRoot).length, layers0 + 1);
    assert.equal(blobs(d.dataRoot).length, blobs0 + 3); // layer, config, manifest
    const del = await d.api('DELETE', '/images/unique');
    assert.equal(del.status, 200);
    assert.equal(layerDirs(d.dataRoot).length, layers0);
    assert.equal(blobs(d.dataRoot).length, blobs0);
    // busybox's layer is untouched and still runs.
    const c = (await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'] })).json().Id;
    assert.equal((await d.api('POST', `/containers/${c}/start`)).status, 204);
    assert.equal((await d.api('POST', `/containers/${c}/wait`)).json().StatusCode, 0);
  } finally { await d.stop(); }
});

test('a hostile import (symlink breakout) is refused and leaves nothing', async () => {
  const d = await startDaemon({ importBusybox: false });
  try {
    const t = await makeTar([{ name: 'evil', type: 'symlink', linkname: '/' }, { name: 'evil/tmp/berth-pwned', body: 'x' }]);
    const r = await d.api('POST', '/images/create?fromSrc=-&repo=evil', t, { 'Content-Type': 'application/x-tar' });
    assert.match(r.body.toString(), /breakout/);
    assert.equal(existsSync('/tmp/berth-pwned'), false);
    assert.equal((await d.api('GET', '/images/evil/json')).status, 404);
    assert.deepEqual(layerDirs(d.dataRoot), []);
    assert.ok(readdirSync(join(d.dataRoot, 'overlay', 'l')).every((n) => !n.startsWith('.tmp')));
    // `..` paths are confined to the layer.
    const t2 = await makeTar([{ name: '../../../tmp/berth-dotdot', body: 'x' }]);
    const r2 = await d.api('POST', '/images/create?fromSrc=-&repo=dotdot', t2, { 'Content-Type': 'application/x-tar' });
    assert.doesNotMatch(r2.body.toString(), /error/);
    assert.equal(existsSync('/tmp/berth-dotdot'), false);
  } finally { await d.stop(); }
});

test('a full disk fails the import cleanly: clear error, no image, no partial layer or blob', async () => {
  const d = await startDaemon({ importBusybox: false, dataTmpfsMiB: 3 });
  try {
    const big = await makeTar(Array.from({ length: 8 }, (_, i) => ({ name: `f${i}`, body: 'x'.repeat(512 * 1024) })));
    const r = await d.api('POST', '/images/create?fromSrc=-&repo=toobig', big, { 'Content-Type': 'application/x-tar' });
    assert.match(r.body.toString(), /ENOSPC|no space left/i);
    assert.equal((await d.api('GET', '/images/toobig/json')).status, 404);
    assert.deepEqual(layerDirs(d.dataRoot), []);
    assert.deepEqual(blobs(d.dataRoot), []);
    assert.deepEqual(readdirSync(join(d.dataRoot, 'content', 'ingest')), []);
    // The daemon still works afterwards.
    assert.equal((await d.api('GET', '/_ping')).status, 200);
    const small = await makeTar([{ name: 'ok.txt', body: 'fits' }]);
    const r2 = await d.api('POST', '/images/create?fromSrc=-&repo=small', small, { 'Content-Type': 'application/x-tar' });
    assert.doesNotMatch(r2.body.toString(), /error/);
  } finally { await d.stop(); }
});

test('a client hanging up mid-import leaves the daemon running and nothing stored', async () => {
  const net = await import('node:net');
  const d = await startDaemon({ importBusybox: false });
  try {
    for (const gzip of [false, true]) {
      const sock = net.createConnection(d.sock);
      await new Promise((r) => sock.once('connect', r));
      sock.write(`POST /images/create?fromSrc=-&repo=aborted HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\nContent-Length: 10000000\r\n\r\n`);
      const head = gzip ? Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]) : Buffer.alloc(0);
      sock.write(Buffer.concat([head, Buffer.alloc(300_000, 0x61)]));
      await new Promise((r) => setTimeout(r, 200));
      sock.destroy();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(d.proc.exitCode, null, `daemon died: ${d.log().slice(-500)}`);
      assert.equal((await d.api('GET', '/_ping')).status, 200);
    }
    assert.equal((await d.api('GET', '/images/aborted/json')).status, 404);
    assert.deepEqual(layerDirs(d.dataRoot), []);
    assert.deepEqual(blobs(d.dataRoot), []);
  } finally { await d.stop(); }
});
