// Fuzz tests of image references (see src/common/fuzz-testing.ts): strings from the grammar's
// pieces (domains, ports, IPv6 hosts, path components and separators, tags, digests), mutated
// with the grammar's alphabet plus noise. Every string parses or is an InvalidParameter; a
// parsed reference prints back to itself.
import assert from 'node:assert/strict';
import { isEngineError } from './errors.ts';
import { expectError, fc, fuzz, mutatedString } from './fuzz-testing.ts';
import { normalizeTagged, parseDigest, parseReference, trimNamed, withDigest, withTag } from './reference.ts';

const invalidParam = (e: Error) => isEngineError(e, 'InvalidParameter');

const lower = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const sep = fc.constantFrom('.', '_', '__', '-', '--', '---');
const component = fc.tuple(lower, fc.array(fc.tuple(sep, lower), { maxLength: 3 })).map(([a, rest]) => a + rest.map(([s, c]) => s + c).join(''));
const domain = fc.oneof(
  fc.constantFrom('localhost', 'docker.io', 'index.docker.io', 'quay.io', '127.0.0.1', '[::1]', '[fe80::1]', 'Example.COM', 'a-b.c'),
  fc.tuple(fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9-]{0,6}[a-zA-Z0-9]$/), fc.stringMatching(/^[a-z]{2,4}$/)).map(([a, b]) => `${a}.${b}`),
);
const port = fc.option(fc.integer({ min: 0, max: 99999 }).map((p) => `:${p}`), { nil: '' });
const tag = fc.stringMatching(/^[\w][\w.-]{0,20}$/);
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const digest = fc.oneof(
  hex(64).map((h) => `sha256:${h}`),
  hex(128).map((h) => `sha512:${h}`),
  hex(32).map((h) => `md5:${h}`),
  fc.tuple(fc.constantFrom('sha256', 'SHA256', 'sha256+b64', 'x'), fc.stringMatching(/^[0-9a-fA-F]{30,70}$/)).map(([a, h]) => `${a}:${h}`),
);
const grammatical = fc.tuple(
  fc.option(fc.tuple(domain, port).map(([d, p]) => `${d}${p}/`), { nil: '' }),
  fc.array(component, { minLength: 1, maxLength: 4 }).map((cs) => cs.join('/')),
  fc.option(tag.map((t) => `:${t}`), { nil: '' }),
  fc.option(digest.map((d) => `@${d}`), { nil: '' }),
).map((p) => p.join(''));
// Long runs of one piece probe the regular expressions' backtracking.
const long = fc.tuple(fc.constantFrom('a', 'a-', 'a.', 'a/', 'a__', 'A', '0', ':1', '-'), fc.integer({ min: 50, max: 400 }), fc.constantFrom('', '!', ':', '@', '/', 'A', '-'))
  .map(([unit, n, tail]) => unit.repeat(n) + tail);
const ALPHABET = 'abcAZ09:/@._-[]%+ \t\n\u00e9\u0000';
const reference = fc.oneof(
  { weight: 4, arbitrary: mutatedString(grammatical, ALPHABET) },
  { weight: 1, arbitrary: long },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }) },
);

fuzz('reference: every string parses or is InvalidParameter, and a parsed one prints back to itself', reference, (s) => {
  const r = expectError(() => parseReference(s), invalidParam);
  if (!r) return;
  assert.equal(parseReference(r.full()).full(), r.full());
  // distribution's quirk, kept: `docker.io/a.b/c` prints as `a.b/c`, whose first component reads as a domain.
  const first = r.path.split('/')[0];
  if (r.domain !== 'docker.io' || !(/[.:]/.test(first) || first === 'localhost')) assert.equal(parseReference(r.familiar()).full(), r.full());
  assert.equal(normalizeTagged(s).name, r.name);
  assert.equal(trimNamed(r).full(), r.name);
}, { runs: 3000 });

fuzz('reference: withTag, withDigest and parseDigest take any string or refuse it with InvalidParameter', fc.tuple(fc.constantFrom('busybox', 'localhost:5000/a/b', '[::1]:5000/x', 'quay.io/x/y:1'), mutatedString(fc.oneof(tag, digest), ALPHABET)), ([ref, s]) => {
  const r = parseReference(ref);
  const t = expectError(() => withTag(r, s), invalidParam);
  if (t) assert.equal(parseReference(t.full()).tag, s);
  expectError(() => withDigest(r, s), invalidParam);
  const d = expectError(() => parseDigest(s), invalidParam);
  if (d !== undefined) assert.equal(d, s);
}, { runs: 2000 });
