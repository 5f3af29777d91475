import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlatform, pullReference, translatePullError } from './pull.ts';
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
