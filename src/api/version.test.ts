import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmpVersion, versionBefore } from './version.ts';

test('API versions compare part by part, as Go\'s versions.compare', () => {
  assert.ok(cmpVersion('1.9', '1.24') < 0);
  assert.ok(cmpVersion('1.47', '1.47') === 0);
  assert.ok(cmpVersion('1.47', '1.41') > 0);
  assert.ok(cmpVersion('1', '1.24') < 0);
  assert.ok(cmpVersion('2', '1.47') > 0);
  assert.ok(cmpVersion('1.24.0', '1.24') === 0);
  assert.ok(cmpVersion('1.x', '1.0') === 0);
  assert.equal(versionBefore({ apiVersion: '1.41' }, '1.42'), true);
  assert.equal(versionBefore({ apiVersion: '1.42' }, '1.42'), false);
});
