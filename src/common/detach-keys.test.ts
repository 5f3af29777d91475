import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DetachScanner, parseDetachKeys } from './detach-keys.ts';

test('detach keys parse as docker spells them', () => {
  assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [16, 17]);
  assert.deepEqual([...parseDetachKeys('ctrl-@,ctrl-[,ctrl-_,a,DEL')], [0, 27, 31, 97, 127]);
  assert.throws(() => parseDetachKeys('ctrl-1'), /Unknown character: 'ctrl-1'/);
  assert.throws(() => parseDetachKeys('abc'), /Unknown character/);
});

test('the detach sequence is held back, detected across chunks, and released when broken', () => {
  const s = new DetachScanner([16, 17]);
  assert.deepEqual(s.push(Buffer.from('ab\x10')), { forward: Buffer.from('ab'), detached: false });
  assert.deepEqual(s.push(Buffer.from('x')), { forward: Buffer.from('\x10x'), detached: false });
  assert.deepEqual(s.push(Buffer.from('\x10\x10')), { forward: Buffer.from('\x10'), detached: false });
  assert.deepEqual(s.push(Buffer.from('\x11rest')), { forward: Buffer.from(''), detached: true });
  const one = new DetachScanner([3]);
  assert.deepEqual(one.push(Buffer.from('a\x03')), { forward: Buffer.from('a'), detached: true });
  // No keys: Docker's default, ctrl-p ctrl-q.
  assert.deepEqual(new DetachScanner([]).push(Buffer.from('x\x10\x11')), { forward: Buffer.from('x'), detached: true });
});
