import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextFreeRange } from './userns.ts';

test('nextFreeRange: the first free 65536-ID block at or above 100000', () => {
  assert.equal(nextFreeRange(''), 100000);
  assert.equal(nextFreeRange('alice:100000:65536\n'), 165536);
  assert.equal(nextFreeRange('alice:165536:65536\nbob:100000:65536\n'), 231072);
  assert.equal(nextFreeRange('alice:300000:10\n'), 100000);
  assert.equal(nextFreeRange('alice:150000:10\n'), 150010);
  assert.equal(nextFreeRange('garbage\nalice:x:1\n'), 100000);
});
