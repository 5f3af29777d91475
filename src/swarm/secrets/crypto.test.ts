import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newDataKey, open, seal } from './crypto.ts';

test('seal → open round-trips, and the sealed text does not contain the plaintext', () => {
  const key = newDataKey();
  const plain = Buffer.from('correct horse battery staple');
  const sealed = seal(key, plain, 'secret/abc');
  assert.ok(sealed.startsWith('v1:'));
  assert.ok(!sealed.includes('horse'));
  assert.ok(!Buffer.from(sealed.slice(3), 'base64').includes(plain));
  assert.deepEqual(open(key, sealed, 'secret/abc'), plain);
});

test('each seal uses a fresh IV: the same data seals differently', () => {
  const key = newDataKey();
  assert.notEqual(seal(key, Buffer.from('x'), 'a'), seal(key, Buffer.from('x'), 'a'));
});

test('another key, another object (AAD) or a flipped byte does not open', () => {
  const key = newDataKey();
  const sealed = seal(key, Buffer.from('data'), 'secret/abc');
  assert.throws(() => open(newDataKey(), sealed, 'secret/abc'), /does not decrypt/);
  assert.throws(() => open(key, sealed, 'secret/xyz'), /does not decrypt/);
  assert.throws(() => open(key, sealed, 'config/abc'), /does not decrypt/);
  const raw = Buffer.from(sealed.slice(3), 'base64');
  raw[raw.length - 1] ^= 1;
  assert.throws(() => open(key, 'v1:' + raw.toString('base64'), 'secret/abc'), /does not decrypt/);
  assert.throws(() => open(key, 'plain', 'secret/abc'), /unknown format/);
  assert.throws(() => seal(Buffer.alloc(16), Buffer.from('x'), 'a'), /wrong length/);
});
