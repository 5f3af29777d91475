// Fuzz tests of .dockerignore (see src/common/fuzz-testing.ts): files of pattern lines built from
// the glob syntax (`*`, `**`, `?`, classes, escapes, `!` exceptions, comments, `./`, `..`),
// mutated, and paths built from the same characters, long ones included. Every file gives a
// matcher or InvalidParameter ("syntax error in pattern", `illegal exclusion pattern`), and every
// path is answered in bounded time.
import assert from 'node:assert/strict';
import { isEngineError } from '../../common/errors.ts';
import { expectError, fc, fuzz, mutatedString } from '../../common/fuzz-testing.ts';
import { PatternMatcher, parseDockerignore, trimBuildFilesFromExcludes } from './dockerignore.ts';

const invalidParam = (e: Error) => isEngineError(e, 'InvalidParameter');

const globPiece = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9._-]{1,5}$/) },
  { weight: 3, arbitrary: fc.constantFrom('*', '**', '?', '/', '**/', '/**', 'a*', '*a', '*.log') },
  { weight: 1, arbitrary: fc.constantFrom('[a-z]', '[^a]', '[!a]', '[]a]', '[a-]', '[\\]]', '[', ']', '\\', '\\*', '\\[', '[^]', '[a-\\z]', '[\u00e9]', '.', '..', './') },
);
const pattern = fc.tuple(fc.constantFrom('', '', '!', '/', '#', ' ', '! '), fc.array(globPiece, { minLength: 1, maxLength: 8 })).map(([pre, ps]) => pre + ps.join(''));
// Many wildcards, matched against long names below: a backtracking matcher never returns.
// (No lone `*`: two in a row make `**`, which patternmatcher treats differently.)
const starry = fc.array(fc.constantFrom('*a', '*a', 'a', '?', '*b', '*?'), { minLength: 6, maxLength: 24, size: 'max' }).map((ps) => ps.join(''));
const file = fc.oneof(
  fc.array(fc.oneof({ weight: 4, arbitrary: pattern }, { weight: 1, arbitrary: starry }), { maxLength: 6 }).map((ls) => ls.join('\n')),
  mutatedString(fc.array(pattern, { maxLength: 4 }).map((ls) => ls.join('\n')), '*?[]^!\\/.\n# a', 5),
);
const component = fc.oneof(fc.stringMatching(/^[a-z0-9.\]\\[*?!^-]{1,6}$/), fc.constantFrom('.', '..', '', 'node_modules', 'a.log', '\u00e9', 'a\nb'));
const longName = fc.tuple(fc.constantFrom('a', 'ab', 'a/'), fc.integer({ min: 20, max: 120 }), fc.constantFrom('', 'c', '/c', '!')).map(([u, n, t]) => u.repeat(n) + t);
const path = fc.oneof(fc.array(component, { minLength: 1, maxLength: 5 }).map((cs) => cs.join('/')), longName);

fuzz('.dockerignore: any file gives a matcher or InvalidParameter, and any path a boolean in bounded time', fc.tuple(file, fc.array(path, { maxLength: 4 })), ([text, paths]) => {
  const patterns = parseDockerignore(text);
  for (const p of patterns) assert.equal(typeof p, 'string');
  const m = expectError(() => new PatternMatcher(patterns), invalidParam);
  const trimmed = trimBuildFilesFromExcludes(patterns, 'Dockerfile');
  if (!m) {
    assert.deepEqual(trimmed, patterns);
    return;
  }
  for (const p of paths) {
    assert.equal(typeof m.matches(p), 'boolean');
    assert.equal(typeof m.mayReinclude(p), 'boolean');
  }
  // The daemon always gets .dockerignore and the Dockerfile.
  const keep = new PatternMatcher(trimmed);
  assert.equal(keep.matches('.dockerignore'), false);
  assert.equal(keep.matches('Dockerfile'), false);
}, { runs: 2000, caseMs: 1000, hangMs: 15_000 });
