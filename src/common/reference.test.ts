import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from './errors.ts';
import {
  parseReference, normalizeTagged, withTag, withDigest, trimNamed, isFullId, parseDigest, type ImageRef,
} from './reference.ts';

const HEX = 'e'.repeat(64);
const DIGEST = `sha256:${HEX}`;

function invalidWith(msg: string) {
  return (e: unknown) => isEngineError(e, 'InvalidParameter') && (e as Error).message === msg;
}

function parts(r: ImageRef) {
  return { domain: r.domain, path: r.path, tag: r.tag, digest: r.digest };
}

test('official images normalise to docker.io/library', () => {
  const r = parseReference('busybox');
  assert.deepEqual(parts(r), { domain: 'docker.io', path: 'library/busybox', tag: undefined, digest: undefined });
  assert.equal(r.name, 'docker.io/library/busybox');
  assert.equal(r.full(), 'docker.io/library/busybox');
  assert.equal(r.familiar(), 'busybox');
  assert.equal(r.familiarName(), 'busybox');
  assert.equal(String(r), 'docker.io/library/busybox');
  assert.equal(JSON.stringify({ r }), '{"r":"docker.io/library/busybox"}');
});

test('normalizeTagged adds latest only when there is neither tag nor digest', () => {
  assert.equal(normalizeTagged('busybox').full(), 'docker.io/library/busybox:latest');
  assert.equal(normalizeTagged('busybox').familiar(), 'busybox:latest');
  assert.equal(normalizeTagged('busybox:1.36').full(), 'docker.io/library/busybox:1.36');
  const d = normalizeTagged(`busybox@${DIGEST}`);
  assert.equal(d.tag, undefined);
  assert.equal(d.full(), `docker.io/library/busybox@${DIGEST}`);
});

test('user repositories on Docker Hub', () => {
  const r = parseReference('user/app');
  assert.deepEqual(parts(r), { domain: 'docker.io', path: 'user/app', tag: undefined, digest: undefined });
  assert.equal(r.familiar(), 'user/app');
  assert.equal(parseReference('user/app:v2').familiar(), 'user/app:v2');
  // "library/" is only dropped for single-level official names.
  assert.equal(parseReference('library/a/b').familiar(), 'library/a/b');
  assert.equal(parseReference('library/busybox').familiar(), 'busybox');
  assert.equal(parseReference('docker.io/busybox').full(), 'docker.io/library/busybox');
  assert.equal(parseReference('docker.io/library/busybox:1').familiar(), 'busybox:1');
  assert.equal(parseReference('index.docker.io/user/app').full(), 'docker.io/user/app');
  assert.equal(parseReference('index.docker.io/busybox').full(), 'docker.io/library/busybox');
});

test('domains: dot, colon, localhost, uppercase first component', () => {
  const l = parseReference('localhost:5000/x:1');
  assert.deepEqual(parts(l), { domain: 'localhost:5000', path: 'x', tag: '1', digest: undefined });
  assert.equal(l.familiar(), 'localhost:5000/x:1');
  assert.equal(parseReference('localhost/x').domain, 'localhost');
  const h = parseReference(`host.example:443/a/b@${DIGEST}`);
  assert.deepEqual(parts(h), { domain: 'host.example:443', path: 'a/b', tag: undefined, digest: DIGEST });
  assert.equal(h.familiar(), `host.example:443/a/b@${DIGEST}`);
  assert.equal(h.familiarName(), 'host.example:443/a/b');
  assert.equal(parseReference('quay.io/coreos/etcd').familiar(), 'quay.io/coreos/etcd');
  assert.equal(parseReference('[::1]:5000/x').domain, '[::1]:5000');
  assert.equal(parseReference('127.0.0.1:5000/x').domain, '127.0.0.1:5000');
  assert.equal(parseReference('myhost:5000/x').domain, 'myhost:5000');
  // Without '.', ':' or "localhost" the first component is a namespace, not a host.
  assert.equal(parseReference('myhost/x').full(), 'docker.io/myhost/x');
  // An uppercase first component cannot be a path, so distribution takes it as a host name.
  assert.equal(parseReference('Example/x').domain, 'Example');
  // Bare "localhost" or "example.com" are single components: official images (as docker does).
  assert.equal(parseReference('localhost').full(), 'docker.io/library/localhost');
  assert.equal(parseReference('example.com').full(), 'docker.io/library/example.com');
});

test('tag and digest together', () => {
  const r = parseReference(`busybox:1.36@${DIGEST}`);
  assert.equal(r.tag, '1.36');
  assert.equal(r.digest, DIGEST);
  assert.equal(r.full(), `docker.io/library/busybox:1.36@${DIGEST}`);
  assert.equal(r.familiar(), `busybox:1.36@${DIGEST}`);
  assert.equal(parseReference(`localhost:5000/x:y@${DIGEST}`).full(), `localhost:5000/x:y@${DIGEST}`);
});

test('tag grammar', () => {
  assert.equal(parseReference('a:Latest_1.0-rc').tag, 'Latest_1.0-rc');
  assert.equal(parseReference('a:_x').tag, '_x');
  assert.equal(parseReference(`a:${'t'.repeat(128)}`).tag, 't'.repeat(128));
  for (const bad of [`a:${'t'.repeat(129)}`, 'a:.x', 'a:-x', 'a:', 'a:x y', 'a:x/y']) {
    assert.throws(() => parseReference(bad), invalidWith('invalid reference format'), bad);
  }
});

test('path component grammar', () => {
  for (const ok of ['a', 'a.b', 'a_b', 'a__b', 'a-b', 'a---b', 'a0/b1/c2', 'x.y_z-w']) {
    assert.doesNotThrow(() => parseReference(ok), ok);
  }
  for (const bad of ['', 'a..b', 'a___b', '_a', 'a_', '-a', 'a-', 'a/', '/a', 'a//b', 'a b', 'a@b', 'a:b:c', ':tag', '@' + DIGEST]) {
    assert.throws(() => parseReference(bad), invalidWith('invalid reference format'), JSON.stringify(bad));
  }
});

test('uppercase repository names', () => {
  assert.throws(() => parseReference('Busybox'),
    invalidWith('invalid reference format: repository name (library/Busybox) must be lowercase'));
  assert.throws(() => parseReference('user/App:1'),
    invalidWith('invalid reference format: repository name (user/App) must be lowercase'));
  assert.throws(() => parseReference('localhost:5000/Foo'),
    invalidWith('invalid reference format: repository name (Foo) must be lowercase'));
  assert.throws(() => parseReference('quay.io/a/B'),
    invalidWith('invalid reference format: repository name (a/B) must be lowercase'));
});

test('64-hex strings are refused as repository names', () => {
  assert.throws(() => parseReference(HEX),
    invalidWith(`invalid repository name (${HEX}), cannot specify 64-byte hexadecimal strings`));
  // Only the exact 64-hex form is refused; with a tag or a namespace it is an ordinary name.
  assert.equal(parseReference(`${HEX}:1`).path, `library/${HEX}`);
  assert.equal(parseReference(`u/${HEX}`).path, `u/${HEX}`);
  assert.equal(parseReference('e'.repeat(63)).path, `library/${'e'.repeat(63)}`);
});

test('repository length limit applies to the path', () => {
  const long = 'a'.repeat(246); // "library/" + 246 = 254
  assert.equal(parseReference(long).path.length, 254);
  assert.equal(parseReference('a'.repeat(247)).path.length, 255);
  assert.throws(() => parseReference('a'.repeat(248)),
    invalidWith('repository name must not be more than 255 characters'));
});

test('digest validation', () => {
  assert.throws(() => parseReference(`a@sha256:${'e'.repeat(63)}`), invalidWith('invalid checksum digest length'));
  assert.throws(() => parseReference(`a@sha256:${'E'.repeat(64)}`), invalidWith('invalid checksum digest format'));
  assert.throws(() => parseReference(`a@md5:${'e'.repeat(32)}`), invalidWith('unsupported digest algorithm'));
  assert.throws(() => parseReference(`a@sha256:${'e'.repeat(31)}`), invalidWith('invalid reference format'));
  assert.equal(parseReference(`a@sha512:${'0'.repeat(128)}`).digest, `sha512:${'0'.repeat(128)}`);
  assert.equal(parseDigest(DIGEST), DIGEST);
  assert.throws(() => parseDigest(':abc'), invalidWith('invalid checksum digest format'));
  assert.throws(() => parseDigest('sha256:'), invalidWith('invalid checksum digest format'));
  assert.throws(() => parseDigest('Bad Algo:' + HEX), invalidWith('invalid checksum digest format'));
});

test('withTag, withDigest, trimNamed', () => {
  const r = parseReference('busybox');
  assert.equal(withTag(r, 'v1').full(), 'docker.io/library/busybox:v1');
  assert.throws(() => withTag(r, '-x'), invalidWith('invalid tag format'));
  assert.equal(withDigest(r, DIGEST).familiar(), `busybox@${DIGEST}`);
  assert.throws(() => withDigest(r, 'sha256:xyz'), invalidWith('invalid digest format'));
  assert.equal(withDigest(withTag(r, 'v1'), DIGEST).full(), `docker.io/library/busybox:v1@${DIGEST}`);
  assert.equal(trimNamed(parseReference(`busybox:1@${DIGEST}`)).full(), 'docker.io/library/busybox');
});

test('isFullId', () => {
  assert.equal(isFullId(HEX), true);
  assert.equal(isFullId('E'.repeat(64)), false);
  assert.equal(isFullId('e'.repeat(63)), false);
  assert.equal(isFullId(DIGEST), false);
});
