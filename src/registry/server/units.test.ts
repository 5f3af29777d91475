// Pure parts of the registry server: names, references, digests, ranges, manifests, htpasswd,
// tokens and config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { isRepoName, isTag, checkDigest, parseReference, MT } from './names.ts';
import { parseRange, parseContentRange, uploadRange } from './range.ts';
import { parseManifest } from './manifest.ts';
import { parseHtpasswd, HtpasswdVerifier, parseBasic } from './htpasswd.ts';
import { TokenSigner, parseScopes, allows, formatScope } from './token.ts';
import { parseConfig, mergeSettings } from './config.ts';
import { parseAddr } from './server.ts';
import { RegistryError } from './errors.ts';
import { parse as parseYaml } from 'yaml';

const D = 'sha256:' + 'a'.repeat(64);
const code = (fn: () => unknown) => {
  try { fn(); } catch (e) { return (e as RegistryError).code; }
  return 'none';
};

test('repository names follow the spec regex', () => {
  for (const ok of ['a', 'busybox', 'library/busybox', 'a/b/c', 'a.b', 'a_b', 'a__b', 'a--b', 'my-org/my.app_x', '0/1']) {
    assert.equal(isRepoName(ok), true, ok);
  }
  for (const bad of ['', 'A', 'a/', '/a', 'a//b', '_a', 'a_', 'a___b', 'a..b', '-a', 'a/_layers', 'a/../b', '..', 'a:b', 'a b', 'a'.repeat(256)]) {
    assert.equal(isRepoName(bad), false, bad);
  }
});

test('tags, digests and references', () => {
  assert.equal(isTag('latest'), true);
  assert.equal(isTag('v1.0_rc-2'), true);
  assert.equal(isTag('_x'), true);
  assert.equal(isTag('x'.repeat(128)), true);
  assert.equal(isTag('x'.repeat(129)), false);
  assert.equal(isTag('.x'), false);
  assert.equal(isTag('-x'), false);
  assert.equal(isTag('a/b'), false);
  assert.equal(checkDigest(D), D);
  assert.equal(code(() => checkDigest('sha256:abc')), 'DIGEST_INVALID');
  assert.equal(code(() => checkDigest('sha256:' + 'A'.repeat(64))), 'DIGEST_INVALID');
  assert.equal(code(() => checkDigest('sha512:' + 'a'.repeat(128))), 'UNSUPPORTED');
  assert.equal(code(() => checkDigest('nope')), 'DIGEST_INVALID');
  assert.deepEqual(parseReference('latest'), { tag: 'latest' });
  assert.deepEqual(parseReference(D), { digest: D });
  assert.equal(code(() => parseReference('-bad')), 'TAG_INVALID');
  assert.equal(code(() => parseReference('sha256:zz')), 'DIGEST_INVALID');
});

test('Range for blob GETs', () => {
  assert.equal(parseRange(undefined, 10), undefined);
  assert.deepEqual(parseRange('bytes=0-3', 10), { start: 0, end: 3 });
  assert.deepEqual(parseRange('bytes=5-', 10), { start: 5, end: 9 });
  assert.deepEqual(parseRange('bytes=5-100', 10), { start: 5, end: 9 });
  assert.deepEqual(parseRange('bytes=-3', 10), { start: 7, end: 9 });
  assert.deepEqual(parseRange('bytes=-30', 10), { start: 0, end: 9 });
  assert.equal(parseRange('bytes=10-', 10), 'unsatisfiable');
  assert.equal(parseRange('bytes=-0', 10), 'unsatisfiable');
  assert.equal(parseRange('bytes=0-1,3-4', 10), undefined);
  assert.equal(parseRange('items=0-1', 10), undefined);
  assert.equal(parseRange('bytes=5-2', 10), undefined);
});

test('Content-Range for upload chunks', () => {
  assert.deepEqual(parseContentRange('0-99'), { start: 0, end: 99 });
  assert.deepEqual(parseContentRange('bytes 100-199/*'), { start: 100, end: 199 });
  assert.deepEqual(parseContentRange('bytes=5-5'), { start: 5, end: 5 });
  assert.equal(parseContentRange('9-3'), undefined);
  assert.equal(parseContentRange('abc'), undefined);
  assert.equal(uploadRange(0), '0-0');
  assert.equal(uploadRange(1), '0-0');
  assert.equal(uploadRange(10), '0-9');
});

test('manifest parsing: types, references, subject, artifactType', () => {
  const cfg = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D, size: 2 };
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: 'sha256:' + 'b'.repeat(64), size: 3 };
  const body = (o: object) => Buffer.from(JSON.stringify(o));
  const m = parseManifest(body({ schemaVersion: 2, mediaType: MT.ociManifest, config: cfg, layers: [layer] }), undefined);
  assert.equal(m.mediaType, MT.ociManifest);
  assert.deepEqual(m.blobs.map((b) => b.digest), [cfg.digest, layer.digest]);
  assert.equal(m.artifactType, cfg.mediaType);
  // No mediaType field: the Content-Type says, else the shape.
  assert.equal(parseManifest(body({ schemaVersion: 2, config: cfg, layers: [] }), MT.ociManifest).mediaType, MT.ociManifest);
  assert.equal(parseManifest(body({ schemaVersion: 2, manifests: [] }), undefined).mediaType, MT.ociIndex);
  const idx = parseManifest(body({ schemaVersion: 2, mediaType: MT.dockerList, manifests: [{ ...cfg, mediaType: MT.dockerManifest }] }), MT.dockerList);
  assert.deepEqual(idx.manifests.map((x) => x.digest), [D]);
  const ref = parseManifest(body({ schemaVersion: 2, mediaType: MT.ociManifest, artifactType: 'application/x-sig', config: cfg, layers: [], subject: { mediaType: MT.ociManifest, digest: D, size: 9 } }), undefined);
  assert.equal(ref.subject?.digest, D);
  assert.equal(ref.artifactType, 'application/x-sig');

  const bad = (b: Buffer | string, ct?: string) => code(() => parseManifest(Buffer.from(b), ct));
  assert.equal(bad('{'), 'MANIFEST_INVALID');
  assert.equal(bad('[]'), 'MANIFEST_INVALID');
  assert.equal(bad(JSON.stringify({ schemaVersion: 1, config: cfg, layers: [] })), 'MANIFEST_INVALID');
  assert.equal(bad(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, layers: [] })), 'MANIFEST_INVALID');
  assert.equal(bad(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: { ...cfg, digest: 'sha256:x' }, layers: [] })), 'MANIFEST_INVALID');
  assert.equal(bad(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: cfg, layers: [] }), MT.dockerManifest), 'MANIFEST_INVALID');
  assert.equal(bad(JSON.stringify({ schemaVersion: 2, mediaType: 'application/x-other', config: cfg, layers: [] })), 'MANIFEST_INVALID');
});

test('htpasswd: bcrypt entries, comments, junk lines; verification is cached', async () => {
  const h2y = bcrypt.hashSync('secret', 4).replace(/^\$2b\$/, '$2y$');
  const h2a = bcrypt.hashSync('other', 4).replace(/^\$2b\$/, '$2a$');
  const parsed = parseHtpasswd(`# users\nalice:${h2y}\n\nbob:${h2a}\r\ncarol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\nnocolon\n`);
  assert.deepEqual([...parsed.users.keys()], ['alice', 'bob']);
  assert.deepEqual(parsed.skipped, [5, 6]);
  const v = new HtpasswdVerifier(parsed);
  assert.equal(await v.verify('alice', 'secret'), true);
  assert.equal(await v.verify('alice', 'secret'), true);
  assert.equal(await v.verify('alice', 'wrong'), false);
  assert.equal(await v.verify('bob', 'other'), true);
  assert.equal(await v.verify('carol', 'x'), false);
  assert.equal(await v.verify('nobody', 'x'), false);
  assert.deepEqual(parseBasic('Basic ' + Buffer.from('u:p:q').toString('base64')), { user: 'u', password: 'p:q' });
  assert.equal(parseBasic('Bearer x'), undefined);
  assert.equal(parseBasic(undefined), undefined);
});

test('scopes parse as distribution does', () => {
  assert.deepEqual(parseScopes('repository:a/b:pull,push'), [{ type: 'repository', name: 'a/b', actions: ['pull', 'push'] }]);
  assert.deepEqual(parseScopes('repository:localhost:5000/x:pull registry:catalog:*'), [
    { type: 'repository', name: 'localhost:5000/x', actions: ['pull'] },
    { type: 'registry', name: 'catalog', actions: ['*'] },
  ]);
  assert.deepEqual(parseScopes('repository(plugin):p:pull'), [{ type: 'repository', name: 'p', actions: ['pull'] }]);
  assert.deepEqual(parseScopes('garbage repository:x: :x:pull'), []);
  assert.equal(formatScope({ type: 'repository', name: 'a', actions: ['pull', 'push'] }), 'repository:a:pull,push');
  const acc = [{ type: 'repository', name: 'a', actions: ['pull'] }, { type: 'repository', name: 'b', actions: ['*'] }];
  assert.equal(allows(acc, 'repository', 'a', 'pull'), true);
  assert.equal(allows(acc, 'repository', 'a', 'push'), false);
  assert.equal(allows(acc, 'repository', 'b', 'push'), true);
  assert.equal(allows(acc, 'repository', 'c', 'pull'), false);
});

test('tokens: signed, scoped, expiring, bound to their signer and audience', () => {
  const s = new TokenSigner({ service: 'svc', ttl: 60 });
  const access = [{ type: 'repository', name: 'a', actions: ['pull'] }];
  const t = s.issue('alice', access, { now: 1_000_000_000 });
  assert.equal(t.expiresIn, 60);
  assert.equal(t.issuedAt, new Date(1_000_000_000).toISOString());
  const c = s.verify(t.token, { now: 1_000_000_000 + 30_000 });
  assert.equal(c?.sub, 'alice');
  assert.deepEqual(c?.access, access);
  assert.equal(s.verify(t.token, { now: 1_000_000_000 + 61_000 }), undefined, 'expired');
  assert.equal(new TokenSigner({ service: 'svc' }).verify(t.token, { now: 1_000_000_000 }), undefined, 'other key');
  assert.equal(s.verify(t.token, { now: 1_000_000_000, aud: 'other' }), undefined, 'other audience');
  // Tampering with the claims breaks the signature.
  const [h, p, sig] = t.token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  claims.access[0].actions.push('push');
  assert.equal(s.verify(`${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`, { now: 1_000_000_000 }), undefined);
  assert.equal(s.verify('a.b', {}), undefined);
  assert.equal(s.verify('', {}), undefined);
});

test('config: JSON and YAML, kebab or camel keys, flags win', () => {
  const y = parseConfig('addr: 0.0.0.0:5001\nroot: /srv\ntoken-auth: true\ntls_cert: c\nanonymousActions: [pull]\n', parseYaml);
  assert.deepEqual(y, { addr: '0.0.0.0:5001', root: '/srv', tokenAuth: true, tlsCert: 'c', anonymousActions: ['pull'] });
  assert.deepEqual(parseConfig('{"htpasswd":"h","maxBlobSize":10}', JSON.parse), { htpasswd: 'h', maxBlobSize: 10 });
  assert.throws(() => parseConfig('{"adr":"x"}', JSON.parse), /unknown setting "adr"/);
  assert.throws(() => parseConfig('{"tokenAuth":"yes"}', JSON.parse), /must be a boolean/);
  assert.deepEqual(mergeSettings({ addr: 'a:1', root: '/r' }, { addr: 'b:2', root: undefined, tokenAuth: false }), { addr: 'b:2', root: '/r' });
  assert.deepEqual(parseAddr('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseAddr('[::1]:5000'), { host: '::1', port: 5000 });
  assert.deepEqual(parseAddr(':5000'), { host: '0.0.0.0', port: 5000 });
  assert.throws(() => parseAddr('5000'));
});
