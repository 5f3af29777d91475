// Fuzz tests of what `berth registry serve` reads from a request before touching storage (see
// src/common/fuzz-testing.ts): repository names, tags and digests from the URL, Range and
// Content-Range headers, and manifest documents (descriptors with every field wrong in turn,
// mutated JSON). Each is accepted or refused with a RegistryError of the right code, never
// anything else; what is accepted fits the OCI Distribution Spec's grammar.
import assert from 'node:assert/strict';
import { expectError, fc, fuzz, mutatedString } from '../../common/fuzz-testing.ts';
import { RegistryError } from './errors.ts';
import { MAX_MANIFEST_SIZE, parseManifest } from './manifest.ts';
import { MANIFEST_TYPES, MT, checkDigest, checkName, isRepoName, isTag, parseReference } from './names.ts';
import { parseContentRange, parseRange } from './range.ts';

const registryError = (...codes: string[]) => (e: Error) => e instanceof RegistryError && codes.includes(e.code);

const lower = fc.stringMatching(/^[a-z0-9]{1,6}$/);
const component = fc.tuple(lower, fc.array(fc.tuple(fc.constantFrom('.', '_', '__', '-', '---', '___', '..'), lower), { maxLength: 3 }))
  .map(([a, rest]) => a + rest.map(([s, c]) => s + c).join(''));
const name = fc.array(component, { minLength: 1, maxLength: 4 }).map((cs) => cs.join('/'));
const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
const digest = fc.oneof(hex.map((h) => `sha256:${h}`), fc.constantFrom('sha512:' + 'a'.repeat(128), 'md5:abc', 'sha256:', ':x', 'sha256:' + 'A'.repeat(64), 'sha256+b64:abc='));
const tag = fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}$/);
const ALPHABET = 'aZ09._-/:@+= %\u00e9';
const urlPart = fc.oneof(mutatedString(fc.oneof(name, tag, digest), ALPHABET), fc.string({ maxLength: 20 }),
  fc.tuple(fc.constantFrom('a', 'a-', 'a.', 'a/', 'a__'), fc.integer({ min: 50, max: 300 }), fc.constantFrom('', '!', '_', '/', 'A')).map(([u, n, t]) => u.repeat(n) + t));

// The spec's grammar, written out independently of names.ts.
const SPEC_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;

fuzz('registry: names, tags, digests and references are accepted per the spec or refused with their code', urlPart, (s) => {
  const okName = expectError(() => { checkName(s); return true; }, registryError('NAME_INVALID'));
  assert.equal(okName === true, isRepoName(s));
  if (okName) {
    assert.ok(s.length <= 255);
    for (const c of s.split('/')) assert.match(c, SPEC_COMPONENT);
  }
  if (isTag(s)) assert.match(s, /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/);
  const d = expectError(() => checkDigest(s), registryError('DIGEST_INVALID', 'UNSUPPORTED'));
  if (d !== undefined) assert.match(d, /^sha256:[a-f0-9]{64}$/);
  const r = expectError(() => parseReference(s), registryError('DIGEST_INVALID', 'UNSUPPORTED', 'TAG_INVALID'));
  if (r) assert.ok(r.tag !== undefined ? isTag(r.tag) : /^sha256:[a-f0-9]{64}$/.test(r.digest));
}, { runs: 3000, caseMs: 500 });

const rangeHeader = fc.oneof(
  fc.tuple(fc.option(fc.nat(), { nil: undefined }), fc.option(fc.nat(), { nil: undefined })).map(([a, b]) => `bytes=${a ?? ''}-${b ?? ''}`),
  mutatedString(fc.constantFrom('bytes=0-9', 'bytes=-10', 'bytes=5-', 'bytes=0-1,5-6', '0-9', '10-19/100', 'bytes 0-9/*'), '0123456789-=,/* bytes', 4),
  fc.constant('bytes=' + '9'.repeat(400) + '-'),
);

fuzz('registry: Range and Content-Range headers give a range inside the blob, "unsatisfiable", or nothing', fc.tuple(rangeHeader, fc.nat({ max: 1000 })), ([h, size]) => {
  const r = parseRange(h, size);
  // A suffix range of an empty blob is [0, -1], as Go's http.ServeContent (distribution) has it.
  if (r !== undefined && r !== 'unsatisfiable' && size > 0) {
    assert.ok(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end), JSON.stringify(r));
    assert.ok(r.start >= 0 && r.start <= r.end && r.end < size, JSON.stringify(r));
  }
  const c = parseContentRange(h);
  if (c) assert.ok(Number.isSafeInteger(c.start) && c.start <= c.end);
}, { runs: 2000 });

const descriptor = fc.record({
  mediaType: fc.oneof(fc.constantFrom('application/vnd.oci.image.layer.v1.tar+gzip', MT.ociManifest, 'x'), fc.constantFrom('', 1, null) as fc.Arbitrary<unknown>),
  digest: fc.oneof(digest, fc.constantFrom(5, null, ['sha256:x']) as fc.Arbitrary<unknown>),
  size: fc.oneof(fc.nat(), fc.constantFrom(-1, 1.5, 2 ** 60, '3', null, Infinity) as fc.Arbitrary<unknown>),
  urls: fc.oneof(fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }), fc.constantFrom('u', [1]) as fc.Arbitrary<unknown>),
  annotations: fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }), fc.constantFrom(null, { a: 1 }) as fc.Arbitrary<unknown>),
  platform: fc.record({ os: fc.constantFrom('linux', 1), architecture: fc.constantFrom('amd64', null) }),
}, { requiredKeys: [] });
const jsonish = fc.jsonValue({ maxDepth: 2 });
const manifestDoc = fc.record({
  schemaVersion: fc.constantFrom(2, 2, 1, '2', null),
  mediaType: fc.oneof(fc.constantFrom(...MANIFEST_TYPES), fc.constantFrom('application/vnd.oci.image.config.v1+json', '', 7) as fc.Arbitrary<unknown>),
  config: fc.oneof(descriptor, jsonish),
  layers: fc.oneof(fc.array(fc.oneof({ weight: 4, arbitrary: descriptor }, { weight: 1, arbitrary: jsonish }), { maxLength: 3 }), jsonish),
  manifests: fc.oneof(fc.array(descriptor, { maxLength: 3 }), jsonish),
  subject: fc.oneof(descriptor, jsonish),
  artifactType: fc.oneof(fc.string({ maxLength: 8 }), jsonish),
  annotations: fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }), jsonish),
}, { requiredKeys: [] }).map((m) => JSON.stringify(m));
const manifestText = fc.oneof({ weight: 4, arbitrary: manifestDoc }, { weight: 1, arbitrary: mutatedString(manifestDoc, '{}[]":,0 ', 4) }, { weight: 1, arbitrary: jsonish.map((v) => JSON.stringify(v)) });
const contentType = fc.option(fc.oneof(fc.constantFrom(...MANIFEST_TYPES), fc.constantFrom('application/json', 'x; charset=utf-8', `${MT.ociIndex}; q=1`, '')), { nil: undefined });

fuzz('registry: any manifest document is parsed or refused with MANIFEST_INVALID', fc.tuple(manifestText, contentType), ([text, ct]) => {
  const body = Buffer.from(text);
  assert.ok(body.length < MAX_MANIFEST_SIZE);
  const m = expectError(() => parseManifest(body, ct), registryError('MANIFEST_INVALID'));
  if (!m) return;
  assert.ok(MANIFEST_TYPES.has(m.mediaType));
  for (const d of [...m.blobs, ...m.manifests, ...(m.subject ? [m.subject] : [])]) {
    assert.match(d.digest, /^sha256:[a-f0-9]{64}$/);
    assert.ok(Number.isSafeInteger(d.size) && d.size >= 0);
    assert.equal(typeof d.mediaType, 'string');
  }
}, { runs: 3000 });
