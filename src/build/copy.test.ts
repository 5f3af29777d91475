import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from '../common/errors.ts';
import { cleanSource, sourceGlob } from './copy.ts';

test('COPY wildcards: Go\'s filepath.Match (* and ? stay within a name, classes, escapes)', () => {
  const t: Array<[string, string, boolean]> = [
    ['*.txt', 'a.txt', true], ['*.txt', 'd/a.txt', false], ['*/*.txt', 'd/a.txt', true], ['a?c', 'abc', true], ['a?c', 'a/c', false],
    ['[ab]x', 'bx', true], ['[^ab]x', 'cx', true], ['[!ab]x', 'ax', false], ['[a-c]', 'b', true], ['[a-c]', 'd', false],
    ['\\*', '*', true], ['\\*', 'x', false], ['[a-]', '-', true], ['😀?', '😀😁', true], ['[z-a]', 'm', false],
  ];
  for (const [p, name, want] of t) assert.equal(sourceGlob(p).matches(name), want, `${p} ~ ${name}`);
  for (const bad of ['[', 'a[b', '[]a]', '[^]a]', '[!]']) {
    assert.throws(() => sourceGlob(bad), (e: unknown) => isEngineError(e, 'InvalidParameter') && /^syntax error in pattern/.test((e as Error).message), bad);
  }
});

test('COPY wildcards run in linear time: many stars against a long name (the bug the fuzz tests found in .dockerignore)', () => {
  // As a backtracking regular expression this never returned: a Dockerfile and a context file
  // name could hang the builder.
  const t0 = Date.now();
  assert.equal(sourceGlob('*a*a*a*a*a*a*a*a*a*a*b').matches('a'.repeat(200)), false);
  assert.equal(sourceGlob('*?*b*a*a*?*ba*a*a*a*a*?').matches('ab'.repeat(111)), true);
  assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
});

test('sources that climb above the context are refused', () => {
  assert.equal(cleanSource('./a/../b/'), 'b');
  assert.throws(() => cleanSource('../x'), /forbidden path outside the build context/);
});
