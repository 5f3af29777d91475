import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefixEnd } from './client.ts';

const dec = (b64: string) => [...Buffer.from(b64, 'base64')];

test('prefixEnd increments the last byte below 0xff and drops trailing 0xff bytes', () => {
  assert.deepEqual(dec(prefixEnd('/t/')), [...Buffer.from('/t0')]);
  assert.deepEqual(dec(prefixEnd('a')), [0x62]);
  assert.deepEqual(dec(prefixEnd('a\u00ff')), [0x61, 0xc3, 0xc0]); // UTF-8 c3 bf: bf + 1
  assert.deepEqual(dec(prefixEnd(Buffer.from([0x61, 0xc3, 0xff, 0xff]))), [0x61, 0xc4]);
});

test('prefixEnd of an empty prefix is "\\0": every key', () => {
  assert.equal(prefixEnd(''), 'AA==');
});
