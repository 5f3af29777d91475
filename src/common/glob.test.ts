import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DIRS, Glob, dot, lit, one, star } from './glob.ts';

const notSlash = (c: string) => c !== '/';
const cps = (s: string) => Array.from(s);

test('matches: whole strings, by code point', () => {
  const g = new Glob([star(notSlash), lit('.'), lit('g')]);
  assert.equal(g.matches('a.g'), true);
  assert.equal(g.matches('.g'), true);
  assert.equal(g.matches('a.gz'), false);
  assert.equal(g.matches('a/b.g'), false);
  assert.equal(new Glob([one(notSlash)]).matches('😀'), true, 'one character, not one UTF-16 unit');
  assert.equal(new Glob([]).matches(''), true);
  assert.equal(new Glob([]).matches('x'), false);
});

test('dirs: nothing, or anything ending in a slash', () => {
  const g = new Glob([DIRS, lit('f')]);
  for (const ok of ['f', 'a/f', 'a/b/c/f', '/f']) assert.equal(g.matches(ok), true, ok);
  for (const bad of ['xf', 'a/xf', 'a\n/f']) assert.equal(g.matches(bad), false, bad);
  assert.equal(new Glob([lit('a'), DIRS]).matches('a'), true);
  assert.equal(new Glob([lit('a'), DIRS]).matches('ab/'), true);
});

test('ends and search: every match from a start; leftmost, then longest', () => {
  const g = new Glob([star(dot), lit('a')]);
  assert.deepEqual(g.ends(cps('xaya'), 0), [2, 4]);
  assert.deepEqual(g.ends(cps('xaya'), 2), [4]);
  assert.deepEqual(g.ends(cps('xyz'), 0), []);
  assert.deepEqual(new Glob([lit('b'), star(dot)]).search(cps('abcb'), 0), [1, 4]);
  assert.deepEqual(new Glob([lit('b')]).search(cps('abcb'), 2), [3, 4]);
  assert.equal(new Glob([lit('z')]).search(cps('abc'), 0), undefined);
  assert.deepEqual(new Glob([star(dot)]).search(cps('ab'), 2), [2, 2], 'an empty match at the end');
});

test('linear time: many stars against a long string', () => {
  const steps = [];
  for (let i = 0; i < 12; i++) steps.push(star(dot), lit('a'));
  steps.push(lit('b'));
  const g = new Glob(steps);
  const s = 'a'.repeat(2000);
  const t0 = Date.now();
  assert.equal(g.matches(s), false);
  assert.deepEqual(g.ends(cps(s), 0), []);
  assert.equal(g.search(cps(s), 0), undefined);
  assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
});
