import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifest, parsePlatform, pickPlatform, pullReference, translatePullError } from './pull.ts';
import { MEDIA } from '../registry/client/client.ts';
import { RegistryHttpError, RegistryTransportError } from '../registry/client/client.ts';
import { EngineError } from '../common/errors.ts';

const D = 'sha256:' + 'a'.repeat(64);

test('the create request\'s reference: tag= may be a tag or a digest', () => {
  assert.equal(pullReference('busybox', 'latest').full(), 'docker.io/library/busybox:latest');
  assert.equal(pullReference('busybox', undefined).full(), 'docker.io/library/busybox');
  assert.equal(pullReference('busybox:1', '2').full(), 'docker.io/library/busybox:2');
  assert.equal(pullReference('localhost:5000/a/b', D).full(), `localhost:5000/a/b@${D}`);
  assert.equal(pullReference(`x@${D}`, undefined).digest, D);
  assert.throws(() => pullReference('Bad', 'latest'), /invalid reference format/);
  assert.throws(() => pullReference('busybox', 'sha256:abc'), /invalid checksum digest length/);
  assert.throws(() => pullReference('busybox', 'bad tag'), /invalid tag format/);
});

test('platforms: default linux/amd64, aliases, arm64/v8 is arm64', () => {
  assert.deepEqual(parsePlatform(undefined), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64', variant: undefined });
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: undefined });
  assert.deepEqual(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.throws(() => parsePlatform('linux/a b'), /unknown operating system or architecture/);
});

test('registry errors become dockerd\'s pull errors', () => {
  const ref = pullReference('localhost:5000/team/app', 'v1');
  const e = (code: string, message: string) => translatePullError(new RegistryHttpError(404, [{ code, message }], message), ref) as EngineError;
  assert.equal(e('MANIFEST_UNKNOWN', 'manifest unknown').message, 'manifest for localhost:5000/team/app:v1 not found: manifest unknown: manifest unknown');
  assert.equal(e('MANIFEST_UNKNOWN', 'x').kind, 'NotFound');
  assert.equal(e('DENIED', 'requested access to the resource is denied').message,
    "pull access denied for localhost:5000/team/app, repository does not exist or may require 'docker login': denied: requested access to the resource is denied");
  assert.equal(e('NAME_UNKNOWN', 'repository name not known to registry').message, 'repository localhost:5000/team/app not found: name unknown: repository name not known to registry');
  assert.equal(e('UNAUTHORIZED', 'authentication required').kind, 'Unauthorized');
  const t = translatePullError(new RegistryTransportError('Get "x": refused', 'x'), ref) as EngineError;
  assert.equal(t.kind, 'System');
});

test('a registry\'s manifest answer is checked before the pull relies on it (found by the fuzz test)', () => {
  const parse = (body: string, mediaType: string = MEDIA.ociManifest) => parseManifest({ body: Buffer.from(body), mediaType, digest: D });
  const refused = (body: string, msg: RegExp) => assert.throws(() => parse(body), (e: unknown) => e instanceof EngineError && e.kind === 'System' && msg.test(e.message), body);
  // Each of these was a TypeError in parseManifest or in the pull after it.
  refused('null', /^unsupported manifest format$/);
  refused('{"manifests":[null]}', /^invalid manifest: manifests\[0\] is not a descriptor$/);
  refused('{"manifests":[{"digest":1}]}', /^invalid manifest: manifests\[0\] has no digest$/);
  refused(`{"manifests":[{"digest":"${D}","platform":"linux"}]}`, /has an invalid platform$/);
  refused('{"config":1,"layers":[]}', /^invalid manifest: config is not a descriptor$/);
  refused(`{"config":{"digest":"${D}"},"layers":[{"digest":"${D}","size":-1}]}`, /^invalid manifest: layers\[0\] has an invalid size$/);
  refused(`{"config":{"digest":"${D}"},"layers":[{"digest":"${D}","mediaType":[]}]}`, /has an invalid media type$/);
  // An image manifest with a stray `manifests` is not taken for an index.
  const img = parse(`{"config":{"digest":"${D}"},"layers":[],"manifests":{"digest":1}}`);
  assert.equal(img.manifests, undefined);
  const idx = parse(`{"manifests":[{"digest":"${D}","platform":{"os":"linux","architecture":"amd64"}}]}`, MEDIA.ociIndex);
  assert.ok(idx.manifests);
  assert.equal(pickPlatform(idx, parsePlatform(undefined))?.digest, D);
});
