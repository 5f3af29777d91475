// Fuzz tests of what a pull does with a registry's manifest answer (see
// src/common/fuzz-testing.ts): image manifests and indexes in OCI and Docker form with every field
// wrong in turn (missing, null, a number, a nested list), mutated JSON, schema 1 documents, and
// any `--platform`. The answer is refused with an EngineError, or it has the shape the rest of
// the pull relies on (a config descriptor with a digest, layers with digests and sizes, index
// entries with digests and platforms), and a platform is picked from it or not.
import assert from 'node:assert/strict';
import { isEngineError } from '../common/errors.ts';
import { expectError, fc, fuzz, mutatedString } from '../common/fuzz-testing.ts';
import { MEDIA } from '../registry/client/client.ts';
import { parseManifest, parsePlatform, pickPlatform } from './pull.ts';

const engineError = (e: Error) => isEngineError(e);

const D = 'sha256:' + 'a'.repeat(64);
const junk = fc.oneof(fc.constantFrom(null, 1, -1, 1.5, '', 'x', true, [], {}, [null], { digest: 1 }), fc.jsonValue({ maxDepth: 2 })) as fc.Arbitrary<unknown>;
const field = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: good as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: junk });
const platform = fc.record({
  os: field(fc.constantFrom('linux', 'windows', 'unknown')),
  architecture: field(fc.constantFrom('amd64', 'arm64', 'arm', 's390x')),
  variant: field(fc.constantFrom('v7', 'v8', 'v6')),
  'os.version': field(fc.constantFrom('10.0.1')),
}, { requiredKeys: [] });
const descriptor = fc.record({
  mediaType: field(fc.constantFrom(MEDIA.ociManifest, MEDIA.dockerManifest, 'application/vnd.oci.image.layer.v1.tar+gzip')),
  digest: field(fc.constantFrom(D, 'sha256:' + 'b'.repeat(64), 'sha256:abc', 'md5:x')),
  size: field(fc.nat()),
  platform: field(platform),
  urls: field(fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 })),
}, { requiredKeys: [] });
const manifest = fc.record({
  schemaVersion: field(fc.constantFrom(2, 1)),
  mediaType: field(fc.constantFrom(MEDIA.ociManifest, MEDIA.ociIndex, MEDIA.dockerManifest, MEDIA.dockerList)),
  config: field(descriptor),
  layers: field(fc.array(field(descriptor), { maxLength: 3 })),
  manifests: field(fc.array(field(descriptor), { maxLength: 3 })),
}, { requiredKeys: [] }).map((m) => JSON.stringify(m));
const body = fc.oneof(
  { weight: 5, arbitrary: manifest },
  { weight: 1, arbitrary: mutatedString(manifest, '{}[]":,0 ', 4) },
  { weight: 1, arbitrary: junk.map((v) => JSON.stringify(v) ?? '') },
);
const mediaType = fc.constantFrom(...Object.values(MEDIA), 'application/json', '');
const platformFlag = fc.oneof(fc.constantFrom(undefined, 'linux', 'linux/amd64', 'linux/arm/v7', 'linux/arm64/v8', 'arm64', 'windows/amd64', 'a/b/c/d', 'LINUX/AMD64', '/'), fc.string({ maxLength: 10 }));

fuzz('pull: any manifest answer is refused with an EngineError or has the shape the pull relies on', fc.tuple(body, mediaType, platformFlag), ([text, mt, p]) => {
  const m = expectError(() => parseManifest({ body: Buffer.from(text), mediaType: mt, digest: D }), engineError);
  if (!m) return;
  if (m.manifests) {
    assert.ok(Array.isArray(m.manifests));
    for (const d of m.manifests) {
      assert.equal(typeof d.digest, 'string');
      assert.ok(d.platform === undefined || (typeof d.platform === 'object' && d.platform !== null));
    }
    const want = expectError(() => parsePlatform(p), (e) => isEngineError(e, 'InvalidParameter'));
    if (!want) return;
    const pick = pickPlatform(m, want);
    if (pick) assert.ok(m.manifests.includes(pick));
    return;
  }
  assert.equal(typeof m.config?.digest, 'string');
  assert.ok(Array.isArray(m.layers));
  for (const l of m.layers) {
    assert.equal(typeof l.digest, 'string');
    assert.ok(l.size === undefined || (Number.isSafeInteger(l.size) && l.size >= 0));
    assert.ok(l.mediaType === undefined || typeof l.mediaType === 'string');
  }
}, { runs: 3000 });
