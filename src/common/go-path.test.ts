import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanPath } from './go-path.ts';

test('cleanPath is Go filepath.Clean', () => {
  const cases: Array<[string, string]> = [
    ['', '.'], ['.', '.'], ['./', '.'], ['a/', 'a'], ['./a', 'a'], ['a//b', 'a/b'], ['a/./b', 'a/b'],
    ['a/../b', 'b'], ['../a', '../a'], ['a/../..', '..'], ['/../a', '/a'], ['/', '/'], ['//a//', '/a'],
  ];
  for (const [i, want] of cases) assert.equal(cleanPath(i), want, i);
});
