// Fuzz tests of COPY/ADD wildcard sources (see src/common/fuzz-testing.ts): patterns from Go's
// filepath.Match syntax (stars, ?, classes with ranges and negation, escapes) and runs of many
// wildcards, mutated, matched against names of the same characters and long ones. A pattern
// gives a Glob or InvalidParameter ("syntax error in pattern"), and any name a boolean in bounded
// time: the Dockerfile and the context's names both come from whoever sends the build.
import assert from 'node:assert/strict';
import { isEngineError } from '../common/errors.ts';
import { expectError, fc, fuzz, mutatedString } from '../common/fuzz-testing.ts';
import { sourceGlob } from './copy.ts';

const invalidParam = (e: Error) => isEngineError(e, 'InvalidParameter');

const piece = fc.constantFrom('a', 'b', '.txt', '*', '?', '/', '[ab]', '[^a]', '[!b]', '[a-c]', '[z-a]', '[]a]', '[', ']', '\\*', '\\', '-', '\u00e9', '\u{1F600}');
const pattern = fc.oneof(
  fc.array(piece, { minLength: 1, maxLength: 8 }).map((ps) => ps.join('')),
  fc.array(fc.constantFrom('*a', '*a', 'a', '?', '*b', '*?'), { minLength: 6, maxLength: 24, size: 'max' }).map((ps) => ps.join('')),
);
const name = fc.oneof(
  fc.array(fc.constantFrom('a', 'b', 'c', '/', '.', '-', ']', '\u00e9', '\u{1F600}', '\n'), { maxLength: 10 }).map((cs) => cs.join('')),
  fc.tuple(fc.constantFrom('a', 'ab'), fc.integer({ min: 20, max: 150 }), fc.constantFrom('', 'c', '!')).map(([u, n, t]) => u.repeat(n) + t),
);

fuzz('COPY wildcards: any pattern gives a matcher or InvalidParameter, and any name a boolean in bounded time', fc.tuple(mutatedString(pattern, '*?[]^!-\\/a', 3), fc.array(name, { maxLength: 4 })), ([p, names]) => {
  const g = expectError(() => sourceGlob(p), invalidParam);
  if (!g) return;
  for (const n of names) assert.equal(typeof g.matches(n), 'boolean');
}, { runs: 2000, caseMs: 1000, hangMs: 15_000 });
