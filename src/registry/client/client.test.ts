// The registry client's pure parts (credentials, challenges, insecure rules, docker's progress
// text) and the client itself against berth's registry in-process (no auth, basic, token).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import bcrypt from 'bcryptjs';
import { decodeRegistryAuth, parseChallenges, registryHostOf } from './auth.ts';
import { inCidr, isInsecureRegistry, validateInsecureEntry } from './insecure.ts';
import { humanSize, progressText, shortId } from './progress.ts';
import { RegistryClient, RegistryHttpError, RegistryTransportError, endpointsFor, readAll } from './client.ts';
import { startRegistry, type RunningRegistry } from '../server/server.ts';
import { digestOf, makeImage, pushImage, startTlsRegistry } from '../server/testing.ts';

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

test('X-Registry-Auth: base64url JSON, padded or not; {} / empty / junk are anonymous', () => {
  const a = { username: 'u', password: 'p?>', serveraddress: 'h:5000' };
  assert.deepEqual(decodeRegistryAuth(b64url(a)), a);
  assert.deepEqual(decodeRegistryAuth(Buffer.from(JSON.stringify(a)).toString('base64')), a);
  assert.deepEqual(decodeRegistryAuth(b64url({ identitytoken: 'tok', serveraddress: 'h' })), { identitytoken: 'tok', serveraddress: 'h' });
  // Field names in any case, as Go decodes them (docker-py sends IdentityToken, Username, Password).
  assert.deepEqual(decodeRegistryAuth(b64url({ IdentityToken: 'tok', ServerAddress: 'h' })), { identitytoken: 'tok', serveraddress: 'h' });
  assert.deepEqual(decodeRegistryAuth(b64url({ Username: 'u', Password: 'p', username: 'v' })), { username: 'v', password: 'p' });
  assert.deepEqual(decodeRegistryAuth(b64url({ auth: Buffer.from('bob:pw:x').toString('base64') })).password, 'pw:x');
  assert.deepEqual(decodeRegistryAuth(b64url({})), {});
  assert.deepEqual(decodeRegistryAuth(''), {});
  assert.deepEqual(decodeRegistryAuth(undefined), {});
  assert.deepEqual(decodeRegistryAuth('%%%not-base64'), {});
  assert.throws(() => decodeRegistryAuth('bm90IGpzb24', true), /invalid X-Registry-Auth/);
});

test('WWW-Authenticate challenges: quoted commas, several schemes, errors', () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } },
  ]);
  assert.deepEqual(parseChallenges(['Basic realm="berth-registry"']), [{ scheme: 'basic', params: { realm: 'berth-registry' } }]);
  assert.deepEqual(parseChallenges('Bearer realm="r",error="insufficient_scope", Basic realm=x')[1], { scheme: 'basic', params: { realm: 'x' } });
  assert.deepEqual(parseChallenges(undefined), []);
});

test('login addresses name registries as docker does', () => {
  assert.equal(registryHostOf(''), 'docker.io');
  assert.equal(registryHostOf('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(registryHostOf('registry-1.docker.io'), 'docker.io');
  assert.equal(registryHostOf('http://127.0.0.1:5000/v2/'), '127.0.0.1:5000');
  assert.equal(registryHostOf('Reg.Example:443'), 'reg.example:443');
});

test('insecure registries: loopback always, CIDRs and host:port from the config', () => {
  for (const h of ['127.0.0.1:5000', '127.3.4.5', 'localhost:5000', 'localhost', '[::1]:5000']) assert.ok(isInsecureRegistry(h, []), h);
  assert.equal(isInsecureRegistry('10.1.2.3:5000', []), false);
  assert.ok(isInsecureRegistry('10.1.2.3:5000', ['10.0.0.0/8']));
  assert.ok(isInsecureRegistry('reg.lan:5000', ['reg.lan:5000']));
  assert.equal(isInsecureRegistry('reg.lan:5001', ['reg.lan:5000']), false);
  assert.equal(isInsecureRegistry('docker.io', ['10.0.0.0/8']), false);
  assert.ok(inCidr('fd00::5', 'fd00::/8'));
  assert.equal(inCidr('10.0.0.1', 'fd00::/8'), false);
  assert.throws(() => validateInsecureEntry('http://x:5000'), /should not contain '\:\/\/'/);
  assert.throws(() => validateInsecureEntry('10.0.0.0/x'), /not valid/);
  assert.deepEqual(endpointsFor('docker.io'), [{ url: 'https://registry-1.docker.io', insecureTls: false }]);
  assert.deepEqual(endpointsFor('localhost:5000').map((e) => e.url), ['https://localhost:5000', 'http://localhost:5000']);
});

test('progress text is docker\'s (daemon side: bar drawn, no time left)', () => {
  assert.equal(progressText(49152, 4335400), '[>                                                  ]  49.15kB/4.335MB');
  assert.equal(progressText(1378626, 4335400), '[===============>                                   ]  1.379MB/4.335MB');
  assert.equal(progressText(821033, 11107850), '[===>                                               ]    821kB/11.11MB');
  assert.equal(progressText(4335400, 4335400), '[==================================================>]  4.335MB/4.335MB');
  assert.equal(progressText(0, 0), '');
  assert.equal(humanSize(512), '512B');
  assert.equal(humanSize(1000), '1kB');
  assert.equal(humanSize(210_000_000), '210MB');
  assert.equal(shortId('sha256:0123456789abcdef'), '0123456789ab');
});

describe('RegistryClient against berth\'s registry', () => {
  let root: string;
  let open: RunningRegistry;
  let token: RunningRegistry;
  const quiet = () => {};
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'berth-regclient-'));
    writeFileSync(join(root, 'htpasswd'), `bob:${bcrypt.hashSync('pw', 5)}\n`);
    open = await startRegistry({ root: join(root, 'open'), addr: '127.0.0.1:0', log: quiet });
    token = await startRegistry({ root: join(root, 'token'), addr: '127.0.0.1:0', htpasswd: join(root, 'htpasswd'), tokenAuth: true, log: quiet });
  });
  after(async () => {
    await open.close();
    await token.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('upload, mount, manifest, blob and tags over plain HTTP (loopback is insecure)', async () => {
    const host = new URL(open.url).host;
    const img = makeImage({ seed: 'client' });
    const c = await RegistryClient.connect({ host, repo: 'a/b', actions: ['pull', 'push'] });
    assert.equal(c.base.protocol, 'http:');
    for (const blob of [img.config, ...img.layers]) {
      const up = await c.startUpload();
      assert.equal(up.mounted, false);
      if (!up.mounted) await c.finishUpload(up.location, digestOf(blob), blob.length, () => Readable.from([blob]));
    }
    assert.equal(await c.headBlob(digestOf(img.layers[0])), img.layers[0].length);
    assert.equal(await c.headBlob(digestOf(Buffer.from('nope'))), undefined);
    assert.equal(await c.putManifest('v1', img.manifest, img.mediaType), img.digest);
    const m = await c.getManifest('v1');
    assert.deepEqual(m.body, img.manifest);
    assert.equal(m.digest, img.digest);
    assert.equal(m.mediaType, img.mediaType);
    assert.deepEqual((await readAll(await c.getBlob(digestOf(img.layers[1])), 1 << 20)), img.layers[1]);
    assert.deepEqual(await c.tags(), ['v1']);
    const other = await RegistryClient.connect({ host, repo: 'c/d', actions: ['pull', 'push'] });
    assert.deepEqual(await other.startUpload({ digest: digestOf(img.layers[0]), from: 'a/b' }), { mounted: true });
    await assert.rejects(c.getManifest('nope'), (e: unknown) => e instanceof RegistryHttpError && e.status === 404 && e.code === 'MANIFEST_UNKNOWN' && e.message === 'manifest unknown: manifest unknown');
  });

  test('token auth: credentials, anonymous (denied), refresh token from an offline login', async () => {
    const host = new URL(token.url).host;
    const img = makeImage({ seed: 'tok' });
    const rw = await RegistryClient.connect({ host, repo: 'p/q', actions: ['pull', 'push'], auth: { username: 'bob', password: 'pw' } });
    for (const blob of [img.config, ...img.layers]) {
      const up = await rw.startUpload();
      if (!up.mounted) await rw.finishUpload(up.location, digestOf(blob), blob.length, () => Readable.from([blob]));
    }
    await rw.putManifest('v1', img.manifest, img.mediaType);
    const anon = await RegistryClient.connect({ host, repo: 'p/q', actions: ['pull'] });
    await assert.rejects(anon.getManifest('v1'), (e: unknown) => e instanceof RegistryHttpError && e.code === 'DENIED');
    const login = await RegistryClient.connect({ host, repo: '', actions: [], auth: { username: 'bob', password: 'pw' }, offlineToken: true });
    await login.login();
    assert.ok(login.refreshToken);
    const viaRefresh = await RegistryClient.connect({ host, repo: 'p/q', actions: ['pull'], auth: { identitytoken: login.refreshToken } });
    assert.equal((await viaRefresh.getManifest('v1')).digest, img.digest);
    const bad = await RegistryClient.connect({ host, repo: '', actions: [], auth: { username: 'bob', password: 'no' } });
    await assert.rejects(bad.login(), (e: unknown) => e instanceof RegistryHttpError && e.message === 'unauthorized: incorrect username or password');
    await pushImage(open.url, 'x/y', 'v1', img);
  });

  test('blobs (the bulk reader): a 404, keep-alive reuse, a redirect off-host without credentials, a body cut short', async () => {
    const host = new URL(token.url).host;
    const img = makeImage({ seed: 'bulk' });
    const rw = await RegistryClient.connect({ host, repo: 'bulk/a', actions: ['pull', 'push'], auth: { username: 'bob', password: 'pw' } });
    for (const blob of [img.config, ...img.layers]) {
      const up = await rw.startUpload();
      if (!up.mounted) await rw.finishUpload(up.location, digestOf(blob), blob.length, () => Readable.from([blob]));
    }
    // Through the token: each blob, twice (the second on a kept-alive connection).
    for (let i = 0; i < 2; i++) for (const blob of img.layers) assert.deepEqual(await readAll(await rw.getBlob(digestOf(blob)), 1 << 20), blob);
    await assert.rejects(rw.getBlob(digestOf(Buffer.from('absent'))), (e: unknown) => e instanceof RegistryHttpError && e.status === 404 && e.code === 'BLOB_UNKNOWN');
    // With a sink (pull's way): the pieces are the blob, copied out as they come; the stream ends empty.
    for (const blob of img.layers) {
      const got: Buffer[] = [];
      const res = await rw.getBlob(digestOf(blob), undefined, (p) => got.push(Buffer.from(p)));
      assert.deepEqual(await readAll(res, 1 << 20), Buffer.alloc(0));
      assert.deepEqual(Buffer.concat(got), blob);
    }
    await assert.rejects(rw.getBlob(digestOf(Buffer.from('absent')), undefined, () => assert.fail('an error body is not sunk')), (e: unknown) => e instanceof RegistryHttpError && e.code === 'BLOB_UNKNOWN');

    // A registry that keeps its blobs elsewhere: the redirect is followed, without our
    // Authorization header on the other host; and a blob whose body stops short fails.
    const seen: (string | undefined)[] = [];
    const storage: Server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      if (req.url === '/short') { res.writeHead(200, { 'Content-Length': '100' }); res.write('only this', () => res.socket?.end()); return; }
      res.writeHead(200, { 'Content-Length': String(img.layers[0].length) });
      res.end(img.layers[0]);
    });
    const front: Server = createServer((req, res) => {
      if (req.url === '/v2/') { res.writeHead(200); res.end(); return; }
      const to = req.url!.includes(digestOf(img.layers[0])) ? '/blob' : '/short';
      res.writeHead(307, { Location: `http://localhost:${(storage.address() as { port: number }).port}${to}` });
      res.end();
    });
    await new Promise<void>((r) => storage.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    try {
      const c = await RegistryClient.connect({ host: `127.0.0.1:${(front.address() as { port: number }).port}`, repo: 'r/s', actions: ['pull'], auth: { username: 'bob', password: 'pw' } });
      assert.deepEqual(await readAll(await c.getBlob(digestOf(img.layers[0])), 1 << 20), img.layers[0]);
      assert.deepEqual(seen, [undefined]);
      const short = await c.getBlob(digestOf(img.layers[1]));
      await assert.rejects(readAll(short, 1 << 20), /unexpected EOF/);
    } finally {
      await new Promise((r) => front.close(r));
      await new Promise((r) => storage.close(r));
    }
  });

  test('blobs over HTTPS: an insecure registry\'s self-signed certificate is not checked', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-regclient-tls-'));
    try {
      const reg = await startTlsRegistry(dir);
      if (!reg) {
        t.skip('openssl not available');
        return;
      }
      try {
        const img = makeImage({ seed: 'tls' });
        const c = await RegistryClient.connect({ host: new URL(reg.url).host, repo: 't/u', actions: ['pull', 'push'] });
        assert.equal(c.base.protocol, 'https:');
        const up = await c.startUpload();
        if (!up.mounted) await c.finishUpload(up.location, digestOf(img.layers[0]), img.layers[0].length, () => Readable.from([img.layers[0]]));
        assert.deepEqual(await readAll(await c.getBlob(digestOf(img.layers[0])), 1 << 20), img.layers[0]);
        // A sink over TLS (no reused read buffer there: the pieces are the socket's own chunks).
        const got: Buffer[] = [];
        await readAll(await c.getBlob(digestOf(img.layers[0]), undefined, (p) => got.push(Buffer.from(p))), 1 << 20);
        assert.deepEqual(Buffer.concat(got), img.layers[0]);
      } finally {
        await reg.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a closed port fails at once with Go\'s words', async () => {
    const t0 = Date.now();
    await assert.rejects(RegistryClient.connect({ host: '127.0.0.1:9', repo: 'x', actions: ['pull'] }),
      (e: unknown) => e instanceof RegistryTransportError && e.message === 'Get "http://127.0.0.1:9/v2/": dial tcp 127.0.0.1:9: connect: connection refused');
    assert.ok(Date.now() - t0 < 2000);
  });
});
