import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError } from './errors.ts';
import { PrefixIndex, resolveIdentifier } from './prefix-index.ts';

const A = '4e1f0c2b3a59' + 'a'.repeat(52);
const B = '4e9a77d1c0b2' + 'b'.repeat(52);
const C = 'b3c2d1e0f9a8' + 'c'.repeat(52);

function ambiguous(prefix: string) {
  return (e: unknown) => isEngineError(e, 'InvalidParameter')
    && (e as Error).message === `multiple IDs found with provided prefix: ${prefix}`;
}

test('exact IDs and unique prefixes resolve', () => {
  const ix = new PrefixIndex([A, B, C]);
  assert.equal(ix.resolve(A), A);
  assert.equal(ix.resolve(C), C);
  assert.equal(ix.resolve('b'), C);
  assert.equal(ix.resolve('4e1'), A);
  assert.equal(ix.resolve('4e9a77d1c0b2'), B);
});

test('no match is undefined; the empty prefix matches nothing', () => {
  const ix = new PrefixIndex([A, B, C]);
  assert.equal(ix.resolve('ff'), undefined);
  assert.equal(ix.resolve('4e2'), undefined);
  assert.equal(ix.resolve(A + '0'), undefined);
  assert.equal(ix.resolve('zzzz'), undefined);
  assert.equal(ix.resolve(''), undefined);
  assert.equal(new PrefixIndex().resolve('a'), undefined);
});

test('an ambiguous prefix throws docker\'s error', () => {
  const ix = new PrefixIndex([A, B, C]);
  assert.throws(() => ix.resolve('4'), ambiguous('4'));
  assert.throws(() => ix.resolve('4e'), ambiguous('4e'));
});

test('an exact ID wins over longer IDs that extend it', () => {
  const ix = new PrefixIndex(['abc', 'abcd', 'abce']);
  assert.equal(ix.resolve('abc'), 'abc');
  assert.throws(() => ix.resolve('ab'), ambiguous('ab'));
});

test('add, delete, has, size, ids', () => {
  const ix = new PrefixIndex();
  ix.add(C);
  ix.add(A);
  ix.add(A);
  assert.equal(ix.size, 2);
  assert.deepEqual(ix.ids(), [A, C]);
  assert.equal(ix.has(A), true);
  assert.equal(ix.has('4e1f'), false, 'has is exact');
  ix.add(B);
  assert.throws(() => ix.resolve('4e'), ambiguous('4e'));
  assert.equal(ix.delete(B), true);
  assert.equal(ix.delete(B), false);
  assert.equal(ix.resolve('4e'), A, 'unique again after the delete');
  assert.throws(() => ix.add(''), (e: unknown) => isEngineError(e, 'InvalidParameter'));
});

test('many IDs stay consistent with a linear scan', () => {
  const ix = new PrefixIndex();
  const all: string[] = [];
  for (let i = 0; i < 300; i++) {
    const id = ((i * 2654435761) >>> 0).toString(16).padStart(8, '0');
    ix.add(id);
    all.push(id);
  }
  for (const p of ['0', '1', 'a', 'ff', '9e37', '00000000', 'abc12345', '7']) {
    const matches = [...new Set(all)].filter((id) => id.startsWith(p));
    if (matches.length > 1 && !matches.includes(p)) assert.throws(() => ix.resolve(p), ambiguous(p));
    else assert.equal(ix.resolve(p), matches.includes(p) ? p : matches[0], p);
  }
});

test('resolveIdentifier: exact ID, then name, then prefix', () => {
  const ix = new PrefixIndex([A, B, C]);
  const names = new Map([['/web', C], ['/4e', A], [`/${B.slice(0, 12)}`, C]]);
  const byName = (n: string) => names.get(n.startsWith('/') ? n : `/${n}`);
  assert.equal(resolveIdentifier(A, ix, byName), A);
  assert.equal(resolveIdentifier('web', ix, byName), C);
  assert.equal(resolveIdentifier('/web', ix, byName), C);
  assert.equal(resolveIdentifier('4e', ix, byName), A, 'a name wins over an ambiguous prefix');
  assert.equal(resolveIdentifier(B.slice(0, 12), ix, byName), C, 'a name wins over an ID prefix');
  assert.equal(resolveIdentifier('4e9', ix, byName), B);
  assert.equal(resolveIdentifier('nope', ix, byName), undefined);
  assert.equal(resolveIdentifier('', ix, byName), undefined);
  assert.throws(() => resolveIdentifier('4', ix, byName), ambiguous('4'));
});
